package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
)

// fixture is a server over a fresh SQLite store with a small city in it:
// one zone, depot, transfer station, truck and crew, two bins with a
// device each (B1 full, with an open full alert), a planner, users of
// every role (logged in) and API keys of the main scopes.
type fixture struct {
	t        testing.TB
	store    *store.Store
	ingester *ingest.Writer
	auth     *auth.Service
	srv      *server.Server
	planner  civic.Planner
	h        http.Handler
	logBuf   *syncBuffer
	now      time.Time

	users    map[string]civic.User // by role name
	sessions map[string]string     // role name → session token
	keys     map[string]string     // "key:<scope>" → secret
	keyIDs   map[string]string     // "key:<scope>" → id
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var testNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, cfg server.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return testNow }
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "civic.db"), store.Options{Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Now: now})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Close(ctx)
		st.Close()
	})
	a := auth.New(st, auth.Options{Now: now, Params: auth.TestParams})
	// As civic serve does: a changed device leaves ingest's cache at once.
	st.OnChange(func(f store.Forget) {
		if f.Kind == store.ForgetDevice {
			w.ForgetDevice(f.ID)
		}
	})
	logBuf := &syncBuffer{}
	planner, err := plan.NewService(plan.ServiceOptions{
		Assets: st, States: st, Alerts: st, Plans: st, Now: now, Solve: plan.Insertion, TimeLimit: time.Second,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(cfg, server.Deps{
		Store: st, Ingester: w, Auth: a, Now: now, Pages: testPages(), Planner: planner,
		Logger: slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	f := &fixture{
		t: t, store: st, ingester: w, auth: a, srv: srv, planner: planner, h: srv.Handler(), logBuf: logBuf, now: testNow,
		users: map[string]civic.User{}, sessions: map[string]string{}, keys: map[string]string{}, keyIDs: map[string]string{},
	}
	f.seed(ctx)
	return f
}

func (f *fixture) seed(ctx context.Context) {
	t := f.t
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleCrew, civic.RoleAnalyst} {
		u, err := f.auth.CreateUser(ctx, string(role)+"1", role, "password for "+string(role))
		must(err)
		f.users[string(role)] = u
		tok, _, _, err := f.auth.Login(ctx, u.Name, "password for "+string(role))
		must(err)
		f.sessions[string(role)] = tok
	}
	for _, sc := range []civic.Scope{civic.ScopeIngest, civic.ScopeRead, civic.ScopeAdmin} {
		secret, k, err := f.auth.CreateAPIKey(ctx, string(sc)+" key", []civic.Scope{sc}, "test")
		must(err)
		f.keys["key:"+string(sc)] = secret
		f.keyIDs["key:"+string(sc)] = k.ID
	}
	must(f.store.CreateZone(ctx, &civic.Zone{ID: "Z1", Name: "Downtown", Boundary: civic.MultiPolygon{{{
		{-71.10, 42.34}, {-71.04, 42.34}, {-71.04, 42.38}, {-71.10, 42.38}, {-71.10, 42.34},
	}}}}))
	must(f.store.CreateDepot(ctx, &civic.Depot{ID: "D1", Name: "North depot", Lat: 42.37, Lon: -71.06}))
	fac := civic.Facility{ID: "F1", Name: "Transfer station", Lat: 42.35, Lon: -71.05}
	fac.Normalize()
	must(f.store.CreateFacility(ctx, &fac))
	tr := civic.Truck{ID: "T1", Name: "Truck 1", DepotID: "D1", CapacityL: 20000}
	tr.Normalize()
	must(f.store.CreateTruck(ctx, &tr))
	must(f.store.CreateCrew(ctx, &civic.Crew{ID: "C1", Name: "Crew 1", DepotID: "D1", TruckID: "T1", Members: []string{"crew1"}}))
	for _, b := range []civic.Bin{
		{ID: "B1", Name: "Main St & 1st", Lat: 42.36, Lon: -71.06, CapacityL: 120, Stream: civic.StreamTrash},
		{ID: "B2", Name: "Harbor walk", Lat: 42.30, Lon: -71.00, CapacityL: 240, Stream: civic.StreamRecycling},
	} {
		b.Normalize()
		must(f.store.CreateBin(ctx, &b))
	}
	for _, d := range []civic.Device{{ID: "S1", BinID: "B1"}, {ID: "S2", BinID: "B2", FillScale: civic.ScalePercent}} {
		d.Normalize()
		must(f.store.CreateDevice(ctx, &d))
	}
	fill := func(v float64) *float64 { return &v }
	_, err := f.store.WriteReadings(ctx, [][]civic.Reading{{
		{Device: "S1", Bin: "B1", Time: testNow.Add(-3 * time.Hour), Fill: fill(0.2)},
		{Device: "S1", Bin: "B1", Time: testNow.Add(-2 * time.Hour), Fill: fill(0.5)},
		{Device: "S1", Bin: "B1", Time: testNow.Add(-1 * time.Hour), Fill: fill(0.8)},
	}})
	must(err)
	_, _, err = f.store.OpenAlert(ctx, &civic.Alert{BinID: "B1", Rule: civic.RuleFull, Severity: civic.RuleFull.DefaultSeverity(),
		Message: "B1 is full", OpenedAt: testNow.Add(-time.Hour), LastSeenAt: testNow.Add(-time.Hour)})
	must(err)
}

// testPages stands in for the web dashboard: it tells who is calling.
func testPages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>page "+r.Method+" "+r.URL.Path+" for "+civic.PrincipalFrom(r.Context()).Name+"</p>")
	})
}

// request describes one call to the server.
type request struct {
	method, url, body string
	as                string            // "" anonymous, a role name (session cookie) or "key:<scope>"
	header            map[string]string // extra headers
}

// expand replaces {admin}, {analyst}, ... with user ids and {key:read}, ...
// with key ids.
func (f *fixture) expand(s string) string {
	var pairs []string
	for role, u := range f.users {
		pairs = append(pairs, "{"+role+"}", u.ID)
	}
	for k, id := range f.keyIDs {
		pairs = append(pairs, "{"+k+"}", id)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// do sends req and checks the response against the OpenAPI document.
func (f *fixture) do(req request) *httptest.ResponseRecorder {
	f.t.Helper()
	url := f.expand(req.url)
	body := f.expand(req.body)
	r := httptest.NewRequest(req.method, url, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	switch {
	case req.as == "":
	case strings.HasPrefix(req.as, "key:"):
		secret, ok := f.keys[req.as]
		if !ok {
			f.t.Fatalf("no key %q", req.as)
		}
		r.Header.Set("Authorization", "Bearer "+secret)
	default:
		tok, ok := f.sessions[req.as]
		if !ok {
			f.t.Fatalf("no session for %q", req.as)
		}
		r.AddCookie(&http.Cookie{Name: "civic_session", Value: tok})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	checkOpenAPI(f.t, req.method, url, body, r.Header, rec)
	return rec
}

// The OpenAPI document, loaded once, and the operations the tests saw
// succeed, for the coverage check.
var (
	docOnce  sync.Once
	doc      *openapi3.T
	docRoute routers.Router
	docErr   error

	coveredMu sync.Mutex
	covered   = map[string]bool{} // "GET /api/v1/bins" → answered 2xx
)

func loadDoc(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	d, r := loadDocNoT()
	if docErr != nil {
		t.Fatalf("openapi.json: %v", docErr)
	}
	return d, r
}

func loadDocNoT() (*openapi3.T, routers.Router) {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, docErr = loader.LoadFromData(server.OpenAPIDocument())
		if docErr != nil {
			return
		}
		if docErr = doc.Validate(loader.Context); docErr != nil {
			return
		}
		docRoute, docErr = legacy.NewRouter(doc)
	})
	return doc, docRoute
}

// checkOpenAPI validates a response (and, for successful calls, the
// request) against the document. Every status must be documented.
func checkOpenAPI(t testing.TB, method, url, body string, h http.Header, rec *httptest.ResponseRecorder) {
	t.Helper()
	_, router := loadDoc(t)
	r := httptest.NewRequest(method, "http://civic.test"+url, strings.NewReader(body))
	r.Header = h.Clone()
	route, params, err := router.FindRoute(r)
	if err != nil && !isDocumentedPath(r.URL.Path) {
		return // a page
	}
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: answered %d but is not in openapi.json: %v", method, url, rec.Code, err)
		}
		return
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if rec.Code < 300 {
		coveredMu.Lock()
		covered[method+" "+route.Path] = true
		coveredMu.Unlock()
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: request does not match openapi.json: %v", method, url, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: response %d does not match openapi.json: %v\n%s", method, url, rec.Code, err, rec.Body.String())
	}
}

// isDocumentedPath reports whether path belongs to what openapi.json
// describes: the API and the operations endpoints, not the pages.
func isDocumentedPath(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// errorOf decodes an error body.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) (code, msg, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return e.Error.Code, e.Error.Message, e.Error.Field
}
