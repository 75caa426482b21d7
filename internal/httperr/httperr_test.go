package httperr_test

import (
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/httperr"
)

func TestStatus(t *testing.T) {
	for k, want := range map[civic.Kind]int{
		civic.Invalid: 400, civic.Unauthorized: 401, civic.Forbidden: 403, civic.NotFound: 404,
		civic.Conflict: 409, civic.TooLarge: 413, civic.Internal: 500, civic.Unavailable: 503, "": 500,
	} {
		if got := httperr.Status(k); got != want {
			t.Errorf("Status(%q) = %d, want %d", k, got, want)
		}
	}
}
