package server

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

// TestDecodeJSONFieldPath: a value of the wrong type is named by its JSON
// path as the client wrote it, through embedded structs (whose Go names
// encoding/json puts in the path), nested objects and arrays.
func TestDecodeJSONFieldPath(t *testing.T) {
	type Inner struct {
		Risk float64 `json:"risk"`
	}
	type Deep struct {
		Inner
	}
	type item struct {
		Fill float64 `json:"fill"`
		Deep
	}
	type body struct {
		Name string `json:"name"`
		Inner
		Nested struct {
			Deep
			Days int `json:"days"`
		} `json:"nested"`
		Items []item `json:"items"`
		Plain int
	}
	for _, c := range []struct{ in, field string }{
		{`{"risk":"high"}`, "risk"},
		{`{"nested":{"risk":"high"}}`, "nested.risk"},
		{`{"nested":{"days":"two"}}`, "nested.days"},
		{`{"items":[{"fill":"full"}]}`, "items.fill"},
		{`{"items":[{"risk":true}]}`, "items.risk"},
		{`{"Plain":"x"}`, "Plain"},
		{`{"name":1}`, "name"},
	} {
		var b body
		err := decodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(c.in)), &b)
		var ce *civic.Error
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s: %v (field %q), want the field %q", c.in, err, civic.FieldOf(err), c.field)
		}
	}
}
