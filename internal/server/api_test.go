package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/storetest"
)

// scenario is one API call against a fresh fixture, with what must come
// back.
type scenario struct {
	name   string
	cfg    func(*server.Config)       // adjusts the server's configuration
	before []request                  // calls made first, unchecked
	setup  func(*testing.T, *fixture) // more preparation
	req    request
	status int
	want   []string // substrings of the body
	nope   []string // strings the body must not contain
	field  string   // expected error.field
	after  func(*testing.T, *fixture, *httptest.ResponseRecorder)
}

const binBody = `{"id":"B9","name":"Park gate","lat":42.35,"lon":-71.07,"capacity_l":120}`

func ingestBody(fills ...string) string {
	var rs []string
	for i, f := range fills {
		t := testNow.Add(-time.Duration(10+i) * time.Minute).Format(time.RFC3339)
		rs = append(rs, `{"device":"S1","time":"`+t+`","fill":`+f+`}`)
	}
	return `{"readings":[` + strings.Join(rs, ",") + `]}`
}

// runScenarios runs every scenario on a fresh fixture, on each engine.
func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	storetest.Engines(t, func(t *testing.T, engine string) {
		for _, sc := range scenarios {
			runScenario(t, engine, sc)
		}
	})
}

func runScenario(t *testing.T, engine string, sc scenario) {
	t.Helper()
	t.Run(sc.name, func(t *testing.T) {
		var cfg server.Config
		if sc.cfg != nil {
			sc.cfg(&cfg)
		}
		f := newFixtureOn(t, cfg, engine)
		for _, b := range sc.before {
			f.do(b)
		}
		if sc.setup != nil {
			sc.setup(t, f)
		}
		rec := f.do(sc.req)
		if rec.Code != sc.status {
			t.Fatalf("%s %s: status %d, want %d\n%s", sc.req.method, sc.req.url, rec.Code, sc.status, rec.Body.String())
		}
		body := rec.Body.String()
		for _, w := range sc.want {
			if !strings.Contains(body, f.expand(w)) {
				t.Errorf("body lacks %q:\n%s", w, body)
			}
		}
		for _, n := range sc.nope {
			if strings.Contains(body, n) {
				t.Errorf("body contains %q:\n%s", n, body)
			}
		}
		if rec.Code >= 400 {
			code, _, field := errorOf(t, rec)
			if code == "" {
				t.Errorf("error without a code: %s", body)
			}
			if field != sc.field {
				t.Errorf("error field %q, want %q (%s)", field, sc.field, body)
			}
		}
		if sc.after != nil {
			sc.after(t, f, rec)
		}
	})
}

func TestAuthAndPermissions(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "anonymous read", req: request{method: "GET", url: "/api/v1/bins"}, status: 401, want: []string{`"code":"unauthorized"`}},
		{name: "anonymous ingest", req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5")}, status: 401},
		{name: "bad key", req: request{method: "GET", url: "/api/v1/bins", header: map[string]string{"Authorization": "Bearer civic_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}, status: 401, want: []string{"invalid or revoked API key"}},
		{name: "basic auth", req: request{method: "GET", url: "/api/v1/bins", header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}}, status: 401, want: []string{"Bearer"}},
		{name: "expired session cookie is anonymous", req: request{method: "GET", url: "/api/v1/me", header: map[string]string{"Cookie": "civic_session=nope"}}, status: 401,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, "civic_session=;") || !strings.Contains(c, "Max-Age=0") {
					t.Errorf("Set-Cookie = %q; want the cookie cleared", c)
				}
			}},
		{name: "revoked key", before: []request{{method: "DELETE", url: "/api/v1/keys/{key:read}", as: "admin"}},
			req: request{method: "GET", url: "/api/v1/bins", as: "key:read"}, status: 401},
		{name: "analyst cannot write", req: request{method: "POST", url: "/api/v1/bins", body: binBody, as: "analyst"}, status: 403, want: []string{`"code":"forbidden"`, "write assets"}},
		{name: "crew cannot write", req: request{method: "DELETE", url: "/api/v1/bins/B1", as: "crew"}, status: 403},
		{name: "read key cannot write", req: request{method: "PUT", url: "/api/v1/depots/D1", body: `{"name":"x","lat":42.3,"lon":-71}`, as: "key:read"}, status: 403},
		{name: "read key cannot ingest", req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5"), as: "key:read"}, status: 403},
		{name: "ingest key cannot read", req: request{method: "GET", url: "/api/v1/bins", as: "key:ingest"}, status: 403},
		{name: "supervisor cannot list users", req: request{method: "GET", url: "/api/v1/users", as: "supervisor"}, status: 403},
		{name: "supervisor cannot make keys", req: request{method: "POST", url: "/api/v1/keys", body: `{"name":"x","scopes":["admin"]}`, as: "supervisor"}, status: 403},
		{name: "analyst cannot read audit", req: request{method: "GET", url: "/api/v1/audit", as: "analyst"}, status: 403},
		{name: "admin key manages users", req: request{method: "GET", url: "/api/v1/users", as: "key:admin"}, status: 200, want: []string{`"analyst1"`}, nope: []string{"argon2", "password"}},
		{name: "disabled user's session ends", before: []request{{method: "PATCH", url: "/api/v1/users/{analyst}", body: `{"disabled":true}`, as: "admin"}},
			req: request{method: "GET", url: "/api/v1/bins", as: "analyst"}, status: 401},
		{name: "admin cannot demote self", req: request{method: "PATCH", url: "/api/v1/users/{admin}", body: `{"role":"analyst"}`, as: "admin"}, status: 400, field: "role"},
	})
}

func TestValidation(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "missing name", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B9","lat":42.35,"lon":-71.07,"capacity_l":120}`, as: "supervisor"}, status: 400, field: "name"},
		{name: "bad stream", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B9","name":"x","lat":42.35,"lon":-71.07,"capacity_l":120,"stream":"glass"}`, as: "supervisor"}, status: 400, field: "stream"},
		{name: "latitude out of range", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B9","name":"x","lat":142.35,"lon":-71.07,"capacity_l":120}`, as: "supervisor"}, status: 400, field: "lat"},
		{name: "bad id", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"no spaces","name":"x","lat":42.35,"lon":-71.07,"capacity_l":120}`, as: "supervisor"}, status: 400, field: "id"},
		{name: "unknown field", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B9","colour":"green"}`, as: "supervisor"}, status: 400, field: "colour", want: []string{"unknown field"}},
		{name: "wrong type", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B9","capacity_l":"big"}`, as: "supervisor"}, status: 400, field: "capacity_l", want: []string{"a number"}},
		{name: "malformed JSON", req: request{method: "POST", url: "/api/v1/depots", body: `{"id":`, as: "supervisor"}, status: 400},
		{name: "empty body", req: request{method: "POST", url: "/api/v1/depots", as: "supervisor"}, status: 400, want: []string{"empty"}},
		{name: "trailing data", req: request{method: "POST", url: "/api/v1/depots", body: `{"id":"D9","name":"x","lat":42.3,"lon":-71} {}`, as: "supervisor"}, status: 400},
		{name: "id differs from URL", req: request{method: "PUT", url: "/api/v1/depots/D1", body: `{"id":"D2","name":"x","lat":42.3,"lon":-71}`, as: "supervisor"}, status: 400, field: "id"},
		{name: "truck shift", req: request{method: "PATCH", url: "/api/v1/trucks/T1", body: `{"shift_end":"05:00"}`, as: "supervisor"}, status: 400, field: "shift_end"},
		{name: "device EUI", req: request{method: "POST", url: "/api/v1/devices", body: `{"id":"S9","dev_eui":"xyz"}`, as: "supervisor"}, status: 400, field: "dev_eui"},
		{name: "zone ring not closed", req: request{method: "POST", url: "/api/v1/zones", body: `{"id":"Z9","name":"x","boundary":{"type":"Polygon","coordinates":[[[-71,42],[-70,42],[-70,43],[-71,43]]]}}`, as: "supervisor"}, status: 400, field: "boundary.coordinates"},
		{name: "zone geometry type", req: request{method: "POST", url: "/api/v1/zones", body: `{"id":"Z9","name":"x","boundary":{"type":"Point","coordinates":[1,2]}}`, as: "supervisor"}, status: 400, field: "boundary.type"},
		{name: "min_fill", req: request{method: "GET", url: "/api/v1/bins?min_fill=2", as: "analyst"}, status: 400, field: "min_fill"},
		{name: "bbox", req: request{method: "GET", url: "/api/v1/bins?bbox=1,2,3", as: "analyst"}, status: 400, field: "bbox"},
		{name: "limit", req: request{method: "GET", url: "/api/v1/bins?limit=0", as: "analyst"}, status: 400, field: "limit"},
		{name: "stream filter", req: request{method: "GET", url: "/api/v1/bins?stream=glass", as: "analyst"}, status: 400, field: "stream"},
		{name: "format", req: request{method: "GET", url: "/api/v1/bins?format=kml", as: "analyst"}, status: 400, field: "format"},
		{name: "history step too fine", req: request{method: "GET", url: "/api/v1/bins/B1/readings?step=1s", as: "analyst"}, status: 400, field: "step"},
		{name: "history too many points", req: request{method: "GET", url: "/api/v1/bins/B1/readings?from=2020-01-01T00:00:00Z&step=1m", as: "analyst"}, status: 400, field: "step"},
		{name: "history from after to", req: request{method: "GET", url: "/api/v1/bins/B1/readings?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", as: "analyst"}, status: 400, field: "from"},
		{name: "history bad time", req: request{method: "GET", url: "/api/v1/bins/B1/readings?to=yesterday", as: "analyst"}, status: 400, field: "to"},
		{name: "history to at year 0", req: request{method: "GET", url: "/api/v1/bins/B1/readings?to=0000-01-01T00:00:00%2B01:00", as: "analyst"}, status: 400, field: "to"},
		{name: "history in year 0", req: request{method: "GET", url: "/api/v1/bins/B1/readings?to=0000-01-03T00:00:00Z", as: "analyst"}, status: 200},
		{name: "short password", req: request{method: "POST", url: "/api/v1/users", body: `{"name":"zoe","role":"crew","password":"short"}`, as: "admin"}, status: 400, field: "password"},
		{name: "bad role", req: request{method: "POST", url: "/api/v1/users", body: `{"name":"zoe","role":"boss","password":"long enough password"}`, as: "admin"}, status: 400, field: "role"},
		{name: "bad scope", req: request{method: "POST", url: "/api/v1/keys", body: `{"name":"x","scopes":["root"]}`, as: "admin"}, status: 400, field: "scopes"},
		{name: "audit since", req: request{method: "GET", url: "/api/v1/audit?since=today", as: "admin"}, status: 400, field: "since"},
		{name: "body too large", cfg: func(c *server.Config) { c.MaxBodyBytes = 64 },
			req: request{method: "POST", url: "/api/v1/bins", body: binBody, as: "supervisor"}, status: 413, want: []string{`"code":"too_large"`}},
	})
}

func TestNotFoundAndConflict(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "get bin", req: request{method: "GET", url: "/api/v1/bins/NOPE", as: "analyst"}, status: 404, want: []string{`"code":"not_found"`}},
		{name: "delete device", req: request{method: "DELETE", url: "/api/v1/devices/NOPE", as: "supervisor"}, status: 404},
		{name: "patch crew", req: request{method: "PATCH", url: "/api/v1/crews/NOPE", body: `{"name":"x"}`, as: "supervisor"}, status: 404},
		{name: "put zone", req: request{method: "PUT", url: "/api/v1/zones/NOPE", body: `{"name":"x","boundary":{"type":"Polygon","coordinates":[[[-71,42],[-70,42],[-70,43],[-71,42]]]}}`, as: "supervisor"}, status: 404},
		{name: "history of unknown bin", req: request{method: "GET", url: "/api/v1/bins/NOPE/readings", as: "analyst"}, status: 404},
		{name: "revoke unknown key", req: request{method: "DELETE", url: "/api/v1/keys/0123456789abcdef", as: "admin"}, status: 404},
		{name: "unknown user", req: request{method: "GET", url: "/api/v1/users/nobody", as: "admin"}, status: 404},
		{name: "unknown endpoint", req: request{method: "GET", url: "/api/v1/nothing", as: "admin"}, status: 404, want: []string{`"code":"not_found"`}},
		{name: "wrong method", req: request{method: "POST", url: "/api/v1/me", as: "admin"}, status: 405, want: []string{`"code":"method_not_allowed"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if a := rec.Header().Get("Allow"); !strings.Contains(a, "GET") {
					t.Errorf("Allow = %q", a)
				}
			}},
		{name: "pages get the principal", req: request{method: "GET", url: "/fleet", as: "crew"}, status: 200, want: []string{"page GET /fleet for crew1"}},
		{name: "API paths never reach pages", req: request{method: "GET", url: "/api/v2/bins", as: "admin"}, status: 404, want: []string{`"code":"not_found"`}, nope: []string{"page"}},
		{name: "wrong method with pages mounted", req: request{method: "POST", url: "/api/v1/bins/B1", as: "admin"}, status: 405,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if a := rec.Header().Get("Allow"); a != "GET, PUT, PATCH, DELETE" {
					t.Errorf("Allow = %q", a)
				}
			}},
		{name: "bin exists", req: request{method: "POST", url: "/api/v1/bins", body: `{"id":"B1","name":"x","lat":42.35,"lon":-71.07,"capacity_l":120}`, as: "supervisor"}, status: 409, want: []string{`"code":"conflict"`}},
		{name: "depot exists", req: request{method: "POST", url: "/api/v1/depots", body: `{"id":"D1","name":"x","lat":42.35,"lon":-71.07}`, as: "supervisor"}, status: 409},
		{name: "user name taken", req: request{method: "POST", url: "/api/v1/users", body: `{"name":"crew1","role":"crew","password":"long enough password"}`, as: "admin"}, status: 409},
	})
}

func TestIngest(t *testing.T) {
	storedS1 := func(want int) func(*testing.T, *fixture, *httptest.ResponseRecorder) {
		return func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
			rs, err := f.store.Readings(context.Background(), civic.ReadingQuery{Device: "S1", From: testNow.Add(-24 * time.Hour), To: testNow.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != want {
				t.Errorf("S1 has %d readings stored, want %d", len(rs), want)
			}
		}
	}
	runScenarios(t, []scenario{
		{name: "accepted", req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5", "0.6"), as: "key:ingest"}, status: 202,
			want: []string{`"accepted":2`, `"duplicates":0`}, after: storedS1(5)},
		{name: "resend counts duplicates", before: []request{{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5", "0.6"), as: "key:ingest"}},
			req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5", "0.6", "0.7"), as: "key:ingest"}, status: 202,
			want: []string{`"accepted":1`, `"duplicates":2`}, after: storedS1(6)},
		{name: "bad reading stores nothing", req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.5", "7"), as: "key:ingest"}, status: 400,
			field: "readings[1].fill", after: storedS1(3)},
		{name: "bad type names the reading", req: request{method: "POST", url: "/api/v1/readings", body: `{"readings":[{"device":"S1","time":"2026-03-02T10:00:00Z","fill":"full"}]}`, as: "key:ingest"}, status: 400,
			field: "readings[0].fill", after: storedS1(3)},
		{name: "unknown device", req: request{method: "POST", url: "/api/v1/readings", body: `[{"device":"S9","time":"2026-03-02T10:00:00Z","fill":0.3}]`, as: "key:ingest"}, status: 400,
			field: "readings[0].device"},
		{name: "admin session may ingest", req: request{method: "POST", url: "/api/v1/readings", body: `{"device":"S2","time":"2026-03-02T10:00:00Z","fill":40}`, as: "admin"}, status: 202,
			want: []string{`"accepted":1`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				v, err := f.store.Bin(context.Background(), "B2")
				if err != nil || v.State == nil || v.State.Fill == nil || *v.State.Fill != 0.4 {
					t.Errorf("B2 state after 40%% reading = %+v, %v", v.State, err)
				}
			}},
		{name: "too large", cfg: func(c *server.Config) { c.MaxIngestBytes = 100 },
			req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.1", "0.2", "0.3"), as: "key:ingest"}, status: 413, after: storedS1(3)},
	})
}

func TestLimitsAndProtection(t *testing.T) {
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	runScenarios(t, []scenario{
		{name: "anonymous rate limit", cfg: func(c *server.Config) { c.AnonymousRate, c.AnonymousBurst = 0.001, 2 },
			before: []request{{method: "GET", url: "/healthz"}, {method: "GET", url: "/healthz"}},
			req:    request{method: "GET", url: "/healthz"}, status: 429, want: []string{`"code":"rate_limited"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			}},
		{name: "key rate limit", cfg: func(c *server.Config) { c.KeyRate, c.KeyBurst = 0.001, 1 },
			before: []request{{method: "GET", url: "/api/v1/bins", as: "key:read"}},
			req:    request{method: "GET", url: "/api/v1/bins", as: "key:read"}, status: 429},
		{name: "key limit is per key", cfg: func(c *server.Config) { c.KeyRate, c.KeyBurst = 0.001, 1 },
			before: []request{{method: "GET", url: "/api/v1/bins", as: "key:read"}},
			req:    request{method: "GET", url: "/api/v1/bins", as: "key:admin"}, status: 200},
		{name: "bad keys spend the address's tokens", cfg: func(c *server.Config) { c.AnonymousRate, c.AnonymousBurst = 0.001, 1 },
			before: []request{{method: "GET", url: "/api/v1/bins", header: map[string]string{"Authorization": "Bearer guess"}}},
			req:    request{method: "GET", url: "/api/v1/bins", header: map[string]string{"Authorization": "Bearer guess2"}}, status: 429},
		{name: "login rate limit", cfg: func(c *server.Config) { c.LoginRate, c.LoginBurst = 0.001, 2 },
			before: []request{
				{method: "POST", url: "/api/v1/session", body: `{"name":"admin1","password":"guess one!"}`},
				{method: "POST", url: "/api/v1/session", body: `{"name":"admin1","password":"guess two!"}`},
			},
			req: request{method: "POST", url: "/api/v1/session", body: `{"name":"admin1","password":"password for admin"}`}, status: 429},
		{name: "cross-site cookie write", req: request{method: "POST", url: "/api/v1/bins", body: binBody, as: "supervisor", header: crossSite}, status: 403,
			want: []string{"cross-origin"}, after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if _, err := f.store.Bin(context.Background(), "B9"); !civic.IsKind(err, civic.NotFound) {
					t.Errorf("bin stored despite the cross-site request: %v", err)
				}
			}},
		{name: "cross-origin cookie delete", req: request{method: "DELETE", url: "/api/v1/bins/B1", as: "supervisor", header: map[string]string{"Origin": "https://evil.example"}}, status: 403},
		{name: "cross-site login", req: request{method: "POST", url: "/api/v1/session", body: `{"name":"admin1","password":"password for admin"}`, header: crossSite}, status: 403},
		{name: "same-origin cookie write", req: request{method: "POST", url: "/api/v1/bins", body: binBody, as: "supervisor", header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, status: 201},
		{name: "cross-site read with cookie", req: request{method: "GET", url: "/api/v1/bins/B1", as: "analyst", header: crossSite}, status: 200},
		{name: "key write needs no origin check", req: request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.3"), as: "key:ingest", header: crossSite}, status: 202},
		{name: "cross-site form login on a page", req: request{method: "POST", url: "/login", body: "name=admin1", header: crossSite}, status: 403},
		{name: "page login rate limit", cfg: func(c *server.Config) { c.LoginRate, c.LoginBurst = 0.001, 1 },
			before: []request{{method: "POST", url: "/login", body: "name=admin1"}},
			req:    request{method: "POST", url: "/login", body: "name=admin1"}, status: 429},
		{name: "cross-origin bypass", cfg: func(c *server.Config) { c.CrossOriginBypass = []string{"POST /open311/"} },
			req: request{method: "POST", url: "/open311/requests", body: "x=1", header: crossSite}, status: 200, want: []string{"page POST /open311/requests for anonymous"}},
		{name: "proxy address trusted", cfg: func(c *server.Config) { c.TrustProxy, c.AnonymousRate, c.AnonymousBurst = true, 0.001, 1 },
			before: []request{{method: "GET", url: "/healthz", header: map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}}},
			req:    request{method: "GET", url: "/healthz", header: map[string]string{"X-Forwarded-For": "198.51.100.2"}}, status: 200},
		{name: "proxy address ignored by default", cfg: func(c *server.Config) { c.AnonymousRate, c.AnonymousBurst = 0.001, 1 },
			before: []request{{method: "GET", url: "/healthz", header: map[string]string{"X-Forwarded-For": "198.51.100.1"}}},
			req:    request{method: "GET", url: "/healthz", header: map[string]string{"X-Forwarded-For": "198.51.100.2"}}, status: 429},
		{name: "trusted origin", cfg: func(c *server.Config) { c.TrustedOrigins = []string{"https://ops.city.example"} },
			req: request{method: "DELETE", url: "/api/v1/bins/B2", as: "supervisor", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://ops.city.example"}}, status: 204},
	})
}

func TestPanicIsInternalError(t *testing.T) {
	f := newFixture(t, server.Config{})
	f.srv.HandleTest("GET /api/v1/boom", func(w http.ResponseWriter, r *http.Request) error {
		panic("secret detail: db password hunter2")
	})
	f.srv.HandleTest("GET /api/v1/fail", func(w http.ResponseWriter, r *http.Request) error {
		return civic.Wrap(civic.Internal, errors.New("disk on fire"), "should not show")
	})
	for _, url := range []string{"/api/v1/boom", "/api/v1/fail"} {
		r := httptest.NewRequest("GET", url, nil)
		r.AddCookie(&http.Cookie{Name: "civic_session", Value: f.sessions["admin"]})
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		if rec.Code != 500 {
			t.Fatalf("%s: status %d", url, rec.Code)
		}
		code, msg, _ := errorOf(t, rec)
		if code != "internal" || msg != "internal error" || strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "should not") {
			t.Errorf("%s: body %s", url, rec.Body.String())
		}
	}
	logs := f.logBuf.String()
	if n := strings.Count(logs, "hunter2"); n != 1 {
		t.Errorf("panic detail logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, `"msg":"internal error"`); n != 1 {
		t.Errorf("internal error logged %d times, want once:\n%s", n, logs)
	}
	// The server still serves.
	if rec := f.do(request{method: "GET", url: "/healthz"}); rec.Code != 200 {
		t.Errorf("after panic: /healthz %d", rec.Code)
	}
}

// TestRoutesDocumented checks that openapi.json and the route table agree:
// every API and operations route is documented and every documented
// operation is served.
func TestRoutesDocumented(t *testing.T) {
	doc, _ := loadDoc(t)
	f := newFixture(t, server.Config{})
	served := map[string]bool{}
	for _, p := range f.srv.RoutePatterns() {
		method, path, _ := strings.Cut(p, " ")
		served[method+" "+path] = true
		if !isDocumentedPath(path) {
			continue // pages are not part of the API
		}
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in openapi.json", p)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which no route serves", method, path)
			}
		}
	}
}
