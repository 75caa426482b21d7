package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/server"
)

// FuzzQueries sends made-up query strings to the API's list, history and
// forecast endpoints: whatever the query, the answer is a 2xx or a 4xx with
// a JSON body, never a 5xx.
func FuzzQueries(f *testing.F) {
	fx := newFixture(f, server.Config{})
	desk := with311(f, fx)
	// No rate limit: a 429 would hide the handlers from the fuzzer.
	h := server.New(server.Config{KeyRate: rate.Inf}, server.Deps{
		Store: fx.store, Auth: fx.auth, Now: func() time.Time { return testNow }, Pages: testPages(),
		Alerts: fx.store, DeviceHealth: fx.store, Logger: slog.New(slog.DiscardHandler), Planner: fx.planner,
		ServiceDesk: desk,
	}).Handler()
	paths := []string{
		"/api/v1/bins", "/api/v1/bins/B1/readings", "/api/v1/bins/B2/readings", "/api/v1/devices",
		"/api/v1/devices/S1/events", "/api/v1/alerts", "/api/v1/audit", "/api/v1/zones", "/api/v1/keys",
		"/api/v1/subscriptions", "/api/v1/plans", "/api/v1/me/routes", "/api/v1/collections", "/api/v1/facilities",
		"/api/v1/kpi", "/api/v1/service-requests",
	}
	for i, q := range []string{
		"zone=Z1&stream=trash&status=active&min_fill=0.2&max_fill=0.9&bbox=-71.1,42.3,-71.0,42.4&limit=5&offset=1",
		"format=geojson&min_fill=2",
		"from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&step=1h",
		"raw=true&limit=10&from=2026-03-02T00:00:00Z",
		"bbox=1,2,3", "step=0s", "step=-5m&from=x", "limit=-1&offset=abc", "limit=99999999999999999999",
		"status=open&bin=B1&rule=fire", "since=2026-03-01T00:00:00Z", "offline=true&limit=0",
		"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "%zz", "a=1&a=2&zone=",
		"from=2026-03-01&to=2026-03-05&status=draft", "date=2026-03-03&crew=C1", "bin=B1&format=fiware&limit=5", "date=2026-02-30&status=open",
		"from=2026-02-01&to=2026-03-01&zone=Z1", "from=2025-01-01&to=2026-03-01", "to=2099-12-31&zone=",
	} {
		f.Add(uint8(i), q)
	}
	for _, q := range []string{"zone=Z1&moderation=held&status=open&limit=5&offset=1", "moderation=visible&zone=%00",
		"bin=B1&overdue=true&service=a,b&limit=1000&offset=999999"} {
		f.Add(uint8(len(paths)-1), q) // the service requests
	}
	secret := fx.keys["key:admin"]
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		path := paths[int(which)%len(paths)]
		r, err := http.NewRequest(http.MethodGet, "http://civic.test"+path+"?"+query, nil)
		if err != nil {
			return // not a URL a client could send
		}
		r.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("GET %s?%s: %d %s", path, query, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("GET %s?%s: %d, body is not JSON: %q", path, query, rec.Code, rec.Body)
		}
	})
}

// FuzzBodies sends made-up JSON bodies to the API's writes: whatever the
// body, the answer is a 2xx or a 4xx with a JSON body, never a 5xx.
func FuzzBodies(f *testing.F) {
	fx := newFixture(f, server.Config{})
	h := server.New(server.Config{KeyRate: rate.Inf}, server.Deps{
		Store: fx.store, Ingester: fx.ingester, Auth: fx.auth, Now: func() time.Time { return testNow }, Pages: testPages(),
		Alerts: fx.store, DeviceHealth: fx.store, Logger: slog.New(slog.DiscardHandler), Planner: fx.planner,
	}).Handler()
	targets := []struct{ method, path string }{
		{"POST", "/api/v1/bins"}, {"PUT", "/api/v1/bins/B1"}, {"PATCH", "/api/v1/bins/B2"},
		{"POST", "/api/v1/devices"}, {"PATCH", "/api/v1/devices/S1"},
		{"POST", "/api/v1/zones"}, {"PATCH", "/api/v1/zones/Z1"},
		{"POST", "/api/v1/depots"}, {"POST", "/api/v1/trucks"}, {"PATCH", "/api/v1/crews/C1"},
		{"POST", "/api/v1/readings"}, {"POST", "/api/v1/users"}, {"POST", "/api/v1/keys"},
		{"POST", "/api/v1/subscriptions"}, {"PUT", "/api/v1/alert-rules"},
		{"POST", "/api/v1/facilities"}, {"POST", "/api/v1/plans"}, {"POST", "/api/v1/plans/plan-2026-03-03/moves"},
		{"POST", "/api/v1/stops/plan-2026-03-03-r1-s1/report"},
	}
	for i, b := range []string{
		`{"id":"B9","name":"New","lat":42.3,"lon":-71,"stream":"trash","capacity_l":240}`,
		`{"name":"Renamed","capacity_l":-1}`, `{"status":"inactive"}`, `{"id":"S9","bin_id":"B1","fill_scale":"percent"}`,
		`{"id":"Z9","name":"Z","boundary":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`,
		`{"boundary":{"type":"MultiPolygon","coordinates":[]}}`, `{"id":"D9","name":"Depot","lat":91,"lon":0}`,
		`{"id":"T9","depot_id":"D1","capacity_l":1e400}`, `{"members":null}`,
		`{"readings":[{"device":"S1","time":"2026-03-02T11:00:00Z","fill":0.5}]}`, `{"readings":[{}]}`,
		`{"name":"x","role":"root","password":""}`, `{"name":"k","scopes":["read","nope"]}`, `{"email":"a@b"}`,
		`{"full":{"threshold":2}}`, `[]`, `null`, `{"id":`, `{"lat":"north"}`,
		`{"id":"F9","name":"Yard","lat":42.3,"lon":-71,"streams":["trash"],"opens":"06:00","closes":"05:00"}`,
		`{"date":"2026-03-03"}`, `{"date":"2026-13-01"}`, `{"moves":[{"bin_id":"B1","to_route":"plan-2026-03-03-r1"},{"bin_id":"B2"}]}`,
		`{"client_id":"c1","status":"collected","fill_seen":0.5}`, `{"client_id":"c2","status":"skipped","skip_reason":"blocked"}`,
	} {
		f.Add(uint8(i), b)
	}
	secret := fx.keys["key:admin"]
	ingest := fx.keys["key:ingest"]
	// The keys can write (a fuzzer refused at the door would test nothing).
	for _, c := range []struct{ path, key, body string }{
		{"/api/v1/depots", secret, `{"id":"D-seed","name":"Seed depot","lat":42.3,"lon":-71}`},
		{"/api/v1/readings", ingest, `{"readings":[{"device":"S1","time":"2026-03-02T10:00:00Z","fill":0.4}]}`},
		{"/api/v1/plans", secret, `{"date":"2026-03-03"}`},
	} {
		r := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
		r.Header.Set("Authorization", "Bearer "+c.key)
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusAccepted {
			f.Fatalf("POST %s: %d %s, want it stored", c.path, rec.Code, rec.Body)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		tg := targets[int(which)%len(targets)]
		r := httptest.NewRequest(tg.method, tg.path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		key := secret
		if tg.path == "/api/v1/readings" {
			key = ingest
		}
		r.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, r); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%s %s %q: no answer in 10 s; goroutines:\n%s", tg.method, tg.path, body, buf[:n])
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, rec.Code, rec.Body)
		}
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: %d, body is not JSON: %q", tg.method, tg.path, body, rec.Code, rec.Body)
		}
	})
}
