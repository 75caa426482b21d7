package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	// No rate limit: a 429 would hide the handlers from the fuzzer.
	h := server.New(server.Config{KeyRate: rate.Inf}, server.Deps{
		Store: fx.store, Auth: fx.auth, Now: func() time.Time { return testNow }, Pages: testPages(),
		Alerts: fx.store, DeviceHealth: fx.store, Logger: slog.New(slog.DiscardHandler),
	}).Handler()
	paths := []string{
		"/api/v1/bins", "/api/v1/bins/B1/readings", "/api/v1/bins/B2/readings", "/api/v1/devices",
		"/api/v1/devices/S1/events", "/api/v1/alerts", "/api/v1/audit", "/api/v1/zones", "/api/v1/keys",
		"/api/v1/subscriptions",
	}
	for i, q := range []string{
		"zone=Z1&stream=trash&status=active&min_fill=0.2&max_fill=0.9&bbox=-71.1,42.3,-71.0,42.4&limit=5&offset=1",
		"format=geojson&min_fill=2",
		"from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&step=1h",
		"raw=true&limit=10&from=2026-03-02T00:00:00Z",
		"bbox=1,2,3", "step=0s", "step=-5m&from=x", "limit=-1&offset=abc", "limit=99999999999999999999",
		"status=open&bin=B1&rule=fire", "since=2026-03-01T00:00:00Z", "offline=true&limit=0",
		"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "%zz", "a=1&a=2&zone=",
	} {
		f.Add(uint8(i), q)
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
