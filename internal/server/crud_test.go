package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/storetest"
)

// TestMain checks, after a full run, that the tests made every documented
// operation succeed at least once: the OpenAPI validation then covers the
// whole document.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missing := uncovered(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "openapi.json operations no test made succeed:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

func uncovered() []string {
	doc, _ := loadDocNoT()
	if doc == nil {
		return []string{"openapi.json does not load"}
	}
	var missing []string
	coveredMu.Lock()
	defer coveredMu.Unlock()
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func TestAssetsCRUD(t *testing.T) {
	type asset struct {
		plural, id, create, put, patch, want string
	}
	zone := `{"type":"Polygon","coordinates":[[[-71.2,42.2],[-71.15,42.2],[-71.15,42.25],[-71.2,42.2]]]}`
	for _, a := range []asset{
		{"bins", "B9", binBody, `{"name":"Park gate west","lat":42.35,"lon":-71.08,"capacity_l":240,"stream":"paper"}`, `{"compacting":true}`, `"compacting":true`},
		{"devices", "S9", `{"id":"S9","bin_id":"B1","dev_eui":"00:11:22:33:44:55:66:77","fill_scale":"percent"}`, `{"kind":"laser","bin_id":"B2"}`, `{"firmware":"2.1"}`, `"firmware":"2.1"`},
		{"zones", "Z9", `{"id":"Z9","name":"Harbor","boundary":` + zone + `}`, `{"name":"Harbor East","boundary":` + zone + `}`, `{"name":"Harbor Far East"}`, `"Harbor Far East"`},
		{"depots", "D9", `{"id":"D9","name":"South depot","lat":42.30,"lon":-71.05}`, `{"name":"South yard","lat":42.31,"lon":-71.05}`, `{"address":"1 Yard Rd"}`, `"address":"1 Yard Rd"`},
		{"trucks", "T9", `{"id":"T9","name":"Truck 9","depot_id":"D1","capacity_l":15000}`, `{"name":"Truck 9b","depot_id":"D1","capacity_l":16000,"shift_start":"05:00","shift_end":"13:00"}`, `{"status":"maintenance"}`, `"status":"maintenance"`},
		{"facilities", "F9", `{"id":"F9","name":"Transfer station","lat":42.32,"lon":-71.05,"streams":["trash","recycling"]}`, `{"name":"Transfer south","kind":"recycling_centre","lat":42.32,"lon":-71.05,"streams":["recycling"]}`, `{"closes":"18:30"}`, `"closes":"18:30"`},
		{"crews", "C9", `{"id":"C9","name":"Crew 9","depot_id":"D1","members":["crew1"]}`, `{"name":"Crew 9b","truck_id":"T1","members":[]}`, `{"name":"Night crew"}`, `"Night crew"`},
	} {
		t.Run(a.plural, func(t *testing.T) {
			storetest.Engines(t, func(t *testing.T, engine string) {
				f := newFixtureOn(t, server.Config{}, engine)
				base := "/api/v1/" + a.plural
				one := base + "/" + a.id
				steps := []struct {
					req    request
					status int
					want   string
				}{
					{request{method: "GET", url: base, as: "analyst"}, 200, `"items":[`},
					{request{method: "POST", url: base, body: a.create, as: "supervisor"}, 201, `"id":"` + a.id + `"`},
					{request{method: "GET", url: one, as: "key:read"}, 200, `"id":"` + a.id + `"`},
					{request{method: "PUT", url: one, body: a.put, as: "supervisor"}, 200, `"id":"` + a.id + `"`},
					{request{method: "PATCH", url: one, body: a.patch, as: "key:admin"}, 200, a.want},
					{request{method: "GET", url: base, as: "crew"}, 200, `"id":"` + a.id + `"`},
					{request{method: "DELETE", url: one, as: "admin"}, 204, ""},
					{request{method: "GET", url: one, as: "analyst"}, 404, "not_found"},
				}
				for _, st := range steps {
					rec := f.do(st.req)
					if rec.Code != st.status || !strings.Contains(rec.Body.String(), st.want) {
						t.Fatalf("%s %s: %d %s; want %d with %q", st.req.method, st.req.url, rec.Code, rec.Body.String(), st.status, st.want)
					}
					if st.status == 201 && rec.Header().Get("Location") != one {
						t.Errorf("Location = %q, want %q", rec.Header().Get("Location"), one)
					}
				}
				// Each change is audited with its actor.
				rec := f.do(request{method: "GET", url: "/api/v1/audit?limit=10", as: "admin"})
				var audit struct{ Items []civic.AuditEntry }
				json.Unmarshal(rec.Body.Bytes(), &audit)
				var got []string
				for _, e := range audit.Items {
					if strings.HasSuffix(e.Target, "/"+a.id) {
						got = append(got, e.Actor+" "+e.Action+" "+e.Target)
					}
				}
				single := strings.TrimSuffix(a.plural, "s")
				if a.plural == "facilities" {
					single = "facility"
				}
				want := []string{
					"admin1 " + single + ".delete " + single + "/" + a.id,
					"key:" + f.keyIDs["key:admin"] + " " + single + ".update " + single + "/" + a.id,
					"supervisor1 " + single + ".update " + single + "/" + a.id,
					"supervisor1 " + single + ".create " + single + "/" + a.id,
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		})
	}
}

func TestBinsReadAPI(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "list with state", req: request{method: "GET", url: "/api/v1/bins", as: "analyst"}, status: 200,
			want: []string{`"id":"B1"`, `"id":"B2"`, `"state":{"bin_id":"B1"`, `"fill":0.8`}},
		{name: "bin with zone and state", req: request{method: "GET", url: "/api/v1/bins/B1", as: "analyst"}, status: 200,
			want: []string{`"zone_id":"Z1"`, `"state":{`, `"fill":0.8`}},
		{name: "filter stream", req: request{method: "GET", url: "/api/v1/bins?stream=recycling", as: "analyst"}, status: 200,
			want: []string{`"id":"B2"`}, nope: []string{`"id":"B1"`}},
		{name: "filter zone", req: request{method: "GET", url: "/api/v1/bins?zone=Z1", as: "analyst"}, status: 200,
			want: []string{`"id":"B1"`}, nope: []string{`"id":"B2"`}},
		{name: "filter fill", req: request{method: "GET", url: "/api/v1/bins?min_fill=0.7&max_fill=1", as: "analyst"}, status: 200,
			want: []string{`"id":"B1"`}, nope: []string{`"id":"B2"`}},
		{name: "filter bbox", req: request{method: "GET", url: "/api/v1/bins?bbox=-71.02,42.29,-70.99,42.31", as: "analyst"}, status: 200,
			want: []string{`"id":"B2"`}, nope: []string{`"id":"B1"`}},
		{name: "limit and offset", req: request{method: "GET", url: "/api/v1/bins?limit=1&offset=1&status=active", as: "analyst"}, status: 200,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				var l struct{ Items []civic.BinView }
				json.Unmarshal(rec.Body.Bytes(), &l)
				if len(l.Items) != 1 {
					t.Errorf("got %d bins, want 1", len(l.Items))
				}
			}},
		{name: "geojson", req: request{method: "GET", url: "/api/v1/bins?format=geojson", as: "analyst"}, status: 200,
			want: []string{`"type":"FeatureCollection"`, `"coordinates":[-71.06,42.36]`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if ct := rec.Header().Get("Content-Type"); ct != "application/geo+json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var fc struct {
					Features []struct {
						ID         string
						Properties map[string]any
					}
				}
				json.Unmarshal(rec.Body.Bytes(), &fc)
				if len(fc.Features) != 2 || fc.Features[0].Properties["name"] == nil {
					t.Errorf("features = %+v", fc.Features)
				}
			}},
		{name: "history", req: request{method: "GET", url: "/api/v1/bins/B1/readings?step=1h", as: "analyst"}, status: 200,
			want: []string{`"step_s":3600`, `"count":1`, `"fill":0.5`}},
		{name: "history default step", req: request{method: "GET", url: "/api/v1/bins/B1/readings", as: "analyst"}, status: 200,
			want: []string{`"step_s":1800`, `"from":"2026-02-23T12:00:00Z"`, `"to":"2026-03-02T12:00:00Z"`}},
		{name: "history in days", req: request{method: "GET", url: "/api/v1/bins/B1/readings?from=2026-02-01T00:00:00Z&to=2026-03-03T00:00:00Z&step=1d", as: "analyst"}, status: 200,
			want: []string{`"step_s":86400`, `"count":3`}},
		{name: "history of an empty bin", req: request{method: "GET", url: "/api/v1/bins/B2/readings", as: "analyst"}, status: 200,
			want: []string{`"points":[]`}},
		{name: "raw readings", req: request{method: "GET", url: "/api/v1/bins/B1/readings?raw=true&limit=2", as: "analyst"}, status: 200,
			want: []string{`"readings":[{"device":"S1"`, `"fill":0.2`}, nope: []string{`"fill":0.8`}},
	})
}

func TestAccessAPI(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "create user", req: request{method: "POST", url: "/api/v1/users", body: `{"name":"zoe","role":"crew","password":"long enough password","email":"zoe@city.example"}`, as: "admin"}, status: 201,
			want: []string{`"name":"zoe"`, `"role":"crew"`}, nope: []string{"password", "argon2"},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if _, _, _, err := f.auth.Login(context.Background(), "zoe", "long enough password"); err != nil {
					t.Errorf("new user cannot log in: %v", err)
				}
			}},
		{name: "get user", req: request{method: "GET", url: "/api/v1/users/{crew}", as: "admin"}, status: 200, want: []string{`"name":"crew1"`}},
		{name: "change role and password", req: request{method: "PATCH", url: "/api/v1/users/{crew}", body: `{"role":"supervisor","password":"new password 123"}`, as: "admin"}, status: 200,
			want: []string{`"role":"supervisor"`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if _, _, _, err := f.auth.Login(context.Background(), "crew1", "new password 123"); err != nil {
					t.Errorf("login with the new password: %v", err)
				}
				rec := f.do(request{method: "GET", url: "/api/v1/audit?action=user.update", as: "admin"})
				if !strings.Contains(rec.Body.String(), `"detail":"role supervisor, password"`) || strings.Contains(rec.Body.String(), "new password 123") {
					t.Errorf("audit: %s", rec.Body.String())
				}
			}},
		{name: "create key shows the secret once", req: request{method: "POST", url: "/api/v1/keys", body: `{"name":"gateway","scopes":["ingest"]}`, as: "admin"}, status: 201,
			want: []string{`"secret":"civic_`, `"created_by":"admin1"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				var ck struct {
					Key    civic.APIKey
					Secret string
				}
				json.Unmarshal(rec.Body.Bytes(), &ck)
				list := f.do(request{method: "GET", url: "/api/v1/keys", as: "admin"})
				if list.Code != 200 || !strings.Contains(list.Body.String(), ck.Key.ID) || strings.Contains(list.Body.String(), ck.Secret) {
					t.Errorf("key list: %s", list.Body.String())
				}
				f.keys["key:new"] = ck.Secret
				if rec := f.do(request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.4"), as: "key:new"}); rec.Code != 202 {
					t.Errorf("new key cannot ingest: %d %s", rec.Code, rec.Body.String())
				}
			}},
		{name: "get key", before: []request{{method: "GET", url: "/api/v1/me", as: "key:read"}}, req: request{method: "GET", url: "/api/v1/keys/{key:read}", as: "admin"}, status: 200, want: []string{`"name":"read key"`, `"last_used_at"`}, nope: []string{"hash"}},
		{name: "revoke key", req: request{method: "DELETE", url: "/api/v1/keys/{key:ingest}", as: "admin"}, status: 204,
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if rec := f.do(request{method: "POST", url: "/api/v1/readings", body: ingestBody("0.4"), as: "key:ingest"}); rec.Code != 401 {
					t.Errorf("revoked key: %d", rec.Code)
				}
				if rec := f.do(request{method: "GET", url: "/api/v1/keys/{key:ingest}", as: "admin"}); !strings.Contains(rec.Body.String(), `"revoked_at"`) {
					t.Errorf("revoked key: %s", rec.Body.String())
				}
			}},
		{name: "audit filters", before: []request{{method: "POST", url: "/api/v1/bins", body: binBody, as: "supervisor"}},
			req: request{method: "GET", url: "/api/v1/audit?actor=supervisor1&action=bin.create&since=2026-03-01T00:00:00Z", as: "admin"}, status: 200,
			want: []string{`"target":"bin/B9"`, `"remote":"192.0.2.1"`}},
		{name: "me as user", req: request{method: "GET", url: "/api/v1/me", as: "supervisor"}, status: 200,
			want: []string{`"kind":"user"`, `"role":"supervisor"`, `"write_assets"`}, nope: []string{"manage_access"}},
		{name: "me as key", req: request{method: "GET", url: "/api/v1/me", as: "key:ingest"}, status: 200,
			want: []string{`"kind":"key"`, `"scopes":["ingest"]`, `"permissions":["ingest"]`}},
		{name: "login", req: request{method: "POST", url: "/api/v1/session", body: `{"name":"analyst1","password":"password for analyst"}`}, status: 200,
			want: []string{`"name":"analyst1"`, `"expires_at":"2026-03-02T14:00:00Z"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				c := rec.Result().Cookies()
				if len(c) != 1 || c[0].Name != "civic_session" || !c[0].HttpOnly || c[0].Value == "" || c[0].MaxAge != 12*3600 {
					t.Fatalf("cookies = %+v", c)
				}
				f.sessions["new"] = c[0].Value
				if rec := f.do(request{method: "GET", url: "/api/v1/me", as: "new"}); rec.Code != 200 || !strings.Contains(rec.Body.String(), "analyst1") {
					t.Errorf("me with the new session: %d %s", rec.Code, rec.Body.String())
				}
			}},
		{name: "secure cookie", cfg: func(c *server.Config) { c.SecureCookies = true },
			req: request{method: "POST", url: "/api/v1/session", body: `{"name":"analyst1","password":"password for analyst"}`}, status: 200,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, "Secure") || !strings.Contains(c, "SameSite=Lax") {
					t.Errorf("Set-Cookie = %q", c)
				}
			}},
		{name: "wrong password", req: request{method: "POST", url: "/api/v1/session", body: `{"name":"analyst1","password":"not the password"}`}, status: 401,
			want: []string{"invalid name or password"}},
		{name: "unknown user, same answer", req: request{method: "POST", url: "/api/v1/session", body: `{"name":"nobody","password":"not the password"}`}, status: 401,
			want: []string{"invalid name or password"}},
		{name: "logout", req: request{method: "DELETE", url: "/api/v1/session", as: "analyst"}, status: 204,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
					t.Errorf("Set-Cookie = %q", c)
				}
				if rec := f.do(request{method: "GET", url: "/api/v1/me", as: "analyst"}); rec.Code != 401 {
					t.Errorf("me after logout: %d", rec.Code)
				}
			}},
		{name: "device secret", req: request{method: "POST", url: "/api/v1/devices/S1/secret", as: "supervisor"}, status: 201,
			want: []string{`"device":"S1"`, `"secret":"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				var ds struct{ Secret string }
				json.Unmarshal(rec.Body.Bytes(), &ds)
				d, err := f.store.Device(context.Background(), "S1")
				if err != nil || d.SecretHash == "" || d.SecretHash == ds.Secret {
					t.Fatalf("device = %+v, %v", d, err)
				}
				// A PUT of the device keeps the secret.
				if rec := f.do(request{method: "PUT", url: "/api/v1/devices/S1", body: `{"bin_id":"B1"}`, as: "supervisor"}); rec.Code != 200 || strings.Contains(rec.Body.String(), "secret") {
					t.Fatalf("put: %d %s", rec.Code, rec.Body.String())
				}
				if d2, _ := f.store.Device(context.Background(), "S1"); d2.SecretHash != d.SecretHash {
					t.Errorf("PUT dropped the device secret")
				}
			}},
	})
}

func TestOperationsEndpoints(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "healthz", req: request{method: "GET", url: "/healthz"}, status: 200, want: []string{`"status":"ok"`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("X-Request-ID") == "" {
					t.Error("no X-Request-ID")
				}
			}},
		{name: "request id kept", req: request{method: "GET", url: "/healthz", header: map[string]string{"X-Request-ID": "abc-123"}}, status: 200,
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
					t.Errorf("X-Request-ID = %q", got)
				}
				if !strings.Contains(f.logBuf.String(), `"request_id":"abc-123"`) {
					t.Errorf("access log lacks the request id:\n%s", f.logBuf.String())
				}
			}},
		{name: "readyz", req: request{method: "GET", url: "/readyz"}, status: 200, want: []string{`"status":"ready"`}},
		{name: "readyz without database", setup: func(t *testing.T, f *fixture) { f.store.Close() },
			req: request{method: "GET", url: "/readyz"}, status: 503, want: []string{`"code":"unavailable"`}},
		{name: "metrics", before: []request{{method: "GET", url: "/api/v1/bins/B1", as: "analyst"}},
			req: request{method: "GET", url: "/metrics"}, status: 200,
			want: []string{`civic_http_requests_total{code="200",method="GET",route="GET /api/v1/bins/{id}"} 1`, "civic_http_request_duration_seconds"}},
		{name: "openapi", req: request{method: "GET", url: "/api/openapi.json"}, status: 200, want: []string{`"openapi": "3.1.0"`}},
		{name: "access log", before: []request{{method: "GET", url: "/api/v1/bins/NOPE", as: "analyst"}},
			req: request{method: "GET", url: "/healthz"}, status: 200,
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				logs := f.logBuf.String()
				for _, w := range []string{`"msg":"http request"`, `"route":"GET /api/v1/bins/{id}"`, `"status":404`, `"principal":"analyst1"`, `"error":"not_found"`} {
					if !strings.Contains(logs, w) {
						t.Errorf("access log lacks %s:\n%s", w, logs)
					}
				}
			}},
	})
}
