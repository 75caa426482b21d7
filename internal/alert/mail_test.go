package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/storetest"
)

func TestSendMail(t *testing.T) {
	srv := startSMTP(t)
	clk := storetest.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	n := notifier(openStore(t, clk), clk, srv.ln.Addr().String())
	if err := n.SendMail(context.Background(), "ann@example.org", "Your report 12 is closed", "Fixed.\nThanks."); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-srv.msgs:
		if len(m.to) != 1 || m.to[0] != "ann@example.org" || !strings.Contains(string(m.data), "Subject: Your report 12 is closed") ||
			!strings.Contains(string(m.data), "Fixed.\nThanks.") {
			t.Errorf("message to %v: %s", m.to, m.data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message arrived")
	}
	if err := n.SendMail(context.Background(), "ann@example.org\r\nBcc: x@y", "s", "b"); err == nil {
		t.Error("a header injection was sent")
	}
}
