package server_test

import (
	"fmt"
	"testing"

	"github.com/civic-city/civic/internal/server"
)

// TestWebhookTargets: webhook subscriptions to loopback, private and
// link-local addresses (literal or by name) are refused naming the url,
// unless the server allows internal webhooks.
func TestWebhookTargets(t *testing.T) {
	internal := []string{"http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data", "https://10.0.0.5/hook",
		"http://[::1]/hook", "http://localhost:9000/hook", "http://[fd00::7]/hook"}
	f := newFixture(t, server.Config{})
	withAlerts(t, f)
	for i, u := range internal {
		body := fmt.Sprintf(`{"id":"s%d","kind":"webhook","url":%q}`, i, u)
		rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: body, as: "admin"})
		if _, msg, field := errorOf(t, rec); rec.Code != 400 || field != "url" {
			t.Errorf("%s: %d field %q %s, want 400 naming url", u, rec.Code, field, msg)
		}
	}
	if rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: `{"id":"pub","kind":"webhook","url":"https://93.184.216.34/hook"}`, as: "admin"}); rec.Code != 201 {
		t.Errorf("a public address: %d %s", rec.Code, rec.Body)
	}

	allowed := newFixture(t, server.Config{})
	allowed.srv = server.New(server.Config{AllowInternalWebhooks: true}, server.Deps{Store: allowed.store, Auth: allowed.auth, Alerts: allowed.store})
	allowed.h = allowed.srv.Handler()
	for i, u := range internal {
		body := fmt.Sprintf(`{"id":"s%d","kind":"webhook","url":%q}`, i, u)
		if rec := allowed.do(request{method: "POST", url: "/api/v1/subscriptions", body: body, as: "admin"}); rec.Code != 201 {
			t.Errorf("%s with internal webhooks allowed: %d %s", u, rec.Code, rec.Body)
		}
	}
}
