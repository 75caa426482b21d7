package open311_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
)

// TestMailer checks the reporter hears of a public status change, with a
// link to the status page, and of nothing internal.
func TestMailer(t *testing.T) {
	var mu sync.Mutex
	var got []string
	m := open311.NewMailer(func(_ context.Context, to, subject, body string) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, to+"|"+subject+"|"+body)
		return nil
	}, "https://civic.city.example/", nil)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := civic.ServiceRequest{ID: "12", ServiceName: "Overflowing bin", Status: civic.StatusClosed, CloseReason: civic.CloseFixed,
		Contact: civic.Contact{Email: "ann@example.org"}}
	m.StatusChanged(context.Background(), r, civic.RequestNote{Public: true, Text: "Emptied."})
	m.StatusChanged(context.Background(), r, civic.RequestNote{Public: false, Text: "internal"})
	anon := r
	anon.Contact = civic.Contact{}
	m.StatusChanged(context.Background(), anon, civic.RequestNote{Public: true, Text: "Emptied."})
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "ann@example.org|Your report 12: closed|") ||
		!strings.Contains(got[0], "Reason: Fixed") || !strings.Contains(got[0], "Emptied.") ||
		!strings.Contains(got[0], "https://civic.city.example/requests/12") {
		t.Errorf("mails = %q", got)
	}
}
