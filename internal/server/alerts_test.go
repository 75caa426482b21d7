package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
)

// withAlerts rebuilds f's server with the store as its AlertStore and opens
// two alerts: a full alert on B1 and a fire alert on B2, whose ids it
// returns.
func withAlerts(t *testing.T, f *fixture) (full, fire string) {
	t.Helper()
	f.srv = server.New(server.Config{}, server.Deps{
		Store: f.store, Auth: f.auth, Now: func() time.Time { return testNow }, Pages: testPages(), Alerts: f.store,
		Logger: slog.New(slog.NewJSONHandler(f.logBuf, nil)),
	})
	f.h = f.srv.Handler()
	ctx := context.Background()
	a, _, err := f.store.OpenAlert(ctx, &civic.Alert{BinID: "B1", Device: "S1", Rule: civic.RuleFull, Message: "B1 is 95 % full", Value: ptr(0.95), OpenedAt: testNow.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := f.store.OpenAlert(ctx, &civic.Alert{BinID: "B2", Rule: civic.RuleFire, Message: "B2: temperature 85 °C", OpenedAt: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, b.ID
}

func ptr[T any](v T) *T { return &v }

func TestAlertsAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	if rec := f.do(request{method: "GET", url: "/api/v1/alerts", as: "analyst"}); rec.Code != 503 {
		t.Fatalf("without an AlertStore: %d, want 503", rec.Code)
	}
	full, fire := withAlerts(t, f)
	steps := []struct {
		req    request
		status int
		want   []string
		nope   []string
	}{
		{request{method: "GET", url: "/api/v1/alerts", as: "analyst"}, 200, []string{`"id":"` + fire + `"`, `"id":"` + full + `"`, `"severity":"critical"`, `"value":0.95`}, nil},
		{request{method: "GET", url: "/api/v1/alerts?status=unresolved&rule=fire&bin=B2&limit=5", as: "key:read"}, 200, []string{fire}, []string{full}},
		{request{method: "GET", url: "/api/v1/alerts?status=closed", as: "analyst"}, 400, []string{`"field":"status"`}, nil},
		{request{method: "GET", url: "/api/v1/alerts?rule=smoke", as: "analyst"}, 400, []string{`"field":"rule"`}, nil},
		{request{method: "GET", url: "/api/v1/alerts"}, 401, nil, nil},
		{request{method: "GET", url: "/api/v1/alerts/" + full, as: "crew"}, 200, []string{`"status":"open"`, `"rule":"full"`}, nil},
		{request{method: "GET", url: "/api/v1/alerts/nope", as: "analyst"}, 404, nil, nil},
		// Severity first by default; paging with offset and next_offset.
		{request{method: "GET", url: "/api/v1/alerts?status=all&limit=1", as: "analyst"}, 200, []string{fire, `"next_offset":1`}, []string{full}},
		{request{method: "GET", url: "/api/v1/alerts?status=all&limit=1&offset=1", as: "analyst"}, 200, []string{full}, []string{fire, "next_offset"}},
		{request{method: "GET", url: "/api/v1/alerts?sort=loudest", as: "analyst"}, 400, []string{`"field":"sort"`}, nil},
		{request{method: "GET", url: "/api/v1/alerts?offset=-1", as: "analyst"}, 400, []string{`"field":"offset"`}, nil},
		{request{method: "POST", url: "/api/v1/alerts/ack", body: `{"ids":[]}`, as: "supervisor"}, 400, []string{`"field":"ids"`}, nil},
		{request{method: "POST", url: "/api/v1/alerts/ack", body: `{"ids":["x"]}`, as: "analyst"}, 403, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/ack", body: `{"ids":["` + full + `","nope"]}`, as: "supervisor"}, 200,
			[]string{`"status":"acknowledged"`, `"failed":[{"id":"nope"`}, nil},

		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/ack", as: "analyst"}, 403, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/ack", as: "key:read"}, 403, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/ack", as: "supervisor"}, 200, []string{`"status":"acknowledged"`, `"acked_by":"supervisor1"`}, nil},
		{request{method: "POST", url: "/api/v1/alerts/nope/ack", as: "supervisor"}, 404, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/resolve", body: `{"note":"put out by the fire brigade"}`, as: "supervisor"}, 200,
			[]string{`"status":"resolved"`, `"resolved_by":"supervisor1"`, `"note":"put out by the fire brigade"`}, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/resolve", as: "supervisor"}, 409, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + fire + "/ack", as: "supervisor"}, 409, nil, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + full + "/resolve", body: `{"notes":"x"}`, as: "supervisor"}, 400, []string{`"field":"notes"`}, nil},
		{request{method: "POST", url: "/api/v1/alerts/" + full + "/resolve", as: "key:admin"}, 200, []string{`"status":"resolved"`, `"resolved_by":"key:`}, nil},
		{request{method: "GET", url: "/api/v1/alerts?status=resolved", as: "analyst"}, 200, []string{fire, full}, nil},
		{request{method: "GET", url: "/api/v1/audit?action=alert.resolve", as: "admin"}, 200, []string{"alert/" + fire, "put out by the fire brigade"}, nil},
	}
	for _, s := range steps {
		rec := f.do(s.req)
		if rec.Code != s.status {
			t.Fatalf("%s %s as %q: %d, want %d\n%s", s.req.method, s.req.url, s.req.as, rec.Code, s.status, rec.Body)
		}
		for _, w := range s.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s %s: body lacks %q:\n%s", s.req.method, s.req.url, w, rec.Body)
			}
		}
		for _, n := range s.nope {
			if strings.Contains(rec.Body.String(), n) {
				t.Errorf("%s %s: body has %q:\n%s", s.req.method, s.req.url, n, rec.Body)
			}
		}
	}
}

func TestSubscriptionsAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	withAlerts(t, f)
	hook := `{"name":"ops hook","kind":"webhook","url":"https://hooks.example.net/civic","rules":["fire"],"min_severity":"warning","zones":["Z1"],"events":["opened","resolved"]}`
	if rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: hook, as: "supervisor"}); rec.Code != 403 {
		t.Fatalf("supervisor created a subscription: %d", rec.Code)
	}
	rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: hook, as: "admin"})
	if rec.Code != 201 {
		t.Fatalf("create webhook: %d\n%s", rec.Code, rec.Body)
	}
	var created civic.Subscription
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if len(created.Secret) != 64 || !strings.HasPrefix(created.ID, "sub_") || created.CreatedBy != "admin1" ||
		rec.Header().Get("Location") != "/api/v1/subscriptions/"+created.ID {
		t.Fatalf("created %+v, Location %q", created, rec.Header().Get("Location"))
	}
	mail := `{"id":"leads","kind":"email","email":"leads@city.example","digest_minutes":60}`
	if rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: mail, as: "key:admin"}); rec.Code != 201 || strings.Contains(rec.Body.String(), `"secret"`) {
		t.Fatalf("create e-mail: %d\n%s", rec.Code, rec.Body)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"kind":"webhook","url":"ftp://x"}`, "url"},
		{`{"kind":"sms"}`, "kind"},
		{`{"kind":"email","email":"not an address"}`, "email"},
		{`{"kind":"email","email":"a@b.example","rules":["smoke"]}`, "rules[0]"},
	} {
		rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: bad.body, as: "admin"})
		if code, _, field := errorOf(t, rec); rec.Code != 400 || field != bad.field {
			t.Errorf("POST %s: %d %s %q, want 400 field %q", bad.body, rec.Code, code, field, bad.field)
		}
	}
	if rec := f.do(request{method: "POST", url: "/api/v1/subscriptions", body: mail, as: "admin"}); rec.Code != 409 {
		t.Errorf("duplicate id: %d, want 409", rec.Code)
	}
	rec = f.do(request{method: "GET", url: "/api/v1/subscriptions", as: "admin"})
	if rec.Code != 200 || strings.Contains(rec.Body.String(), created.Secret) || !strings.Contains(rec.Body.String(), `"leads"`) {
		t.Fatalf("list: %d\n%s", rec.Code, rec.Body)
	}
	if rec := f.do(request{method: "GET", url: "/api/v1/subscriptions", as: "analyst"}); rec.Code != 403 {
		t.Errorf("analyst listed subscriptions: %d", rec.Code)
	}
	rec = f.do(request{method: "GET", url: "/api/v1/subscriptions/" + created.ID, as: "admin"})
	if rec.Code != 200 || strings.Contains(rec.Body.String(), created.Secret) || !strings.Contains(rec.Body.String(), `"ops hook"`) {
		t.Fatalf("get: %d\n%s", rec.Code, rec.Body)
	}
	if rec := f.do(request{method: "DELETE", url: "/api/v1/subscriptions/leads", as: "admin"}); rec.Code != 204 {
		t.Errorf("delete: %d", rec.Code)
	}
	if rec := f.do(request{method: "DELETE", url: "/api/v1/subscriptions/leads", as: "admin"}); rec.Code != 404 {
		t.Errorf("delete again: %d", rec.Code)
	}
}

func TestAlertRulesAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	withAlerts(t, f)
	rec := f.do(request{method: "GET", url: "/api/v1/alert-rules", as: "analyst"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"low_battery":0.3`) || !strings.Contains(rec.Body.String(), `"overrides":[]`) {
		t.Fatalf("defaults: %d\n%s", rec.Code, rec.Body)
	}
	body := `{"defaults":{"tilt_deg":30,"overflow_hours":6},"overrides":[{"scope":"stream","target":"recycling","settings":{"fire_temp_c":60}},{"scope":"bin","target":"B1","settings":{"disabled":["offline"]}}]}`
	if rec := f.do(request{method: "PUT", url: "/api/v1/alert-rules", body: body, as: "analyst"}); rec.Code != 403 {
		t.Errorf("analyst changed rules: %d", rec.Code)
	}
	rec = f.do(request{method: "PUT", url: "/api/v1/alert-rules", body: body, as: "supervisor"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"tilt_deg":30`) || !strings.Contains(rec.Body.String(), `"updated_by":"supervisor1"`) {
		t.Fatalf("put: %d\n%s", rec.Code, rec.Body)
	}
	rec = f.do(request{method: "PUT", url: "/api/v1/alert-rules", body: `{"defaults":{"low_battery":3},"overrides":[]}`, as: "supervisor"})
	if code, _, field := errorOf(t, rec); rec.Code != 400 || field != "defaults.low_battery" {
		t.Errorf("invalid rules: %d %s %q", rec.Code, code, field)
	}
	rec = f.do(request{method: "GET", url: "/api/v1/alert-rules", as: "key:read"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"target":"recycling"`) {
		t.Fatalf("after put: %d\n%s", rec.Code, rec.Body)
	}
}
