package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The access-control test: every route the running server registers (the
// JSON API, the operations endpoints, the pages, the live streams, the
// exports) is called by every principal (anonymous, a user of each role,
// an API key of each scope) against the real wiring of civic serve on a
// real port, and each answer is compared with the table in
// access_table_test.go. A registered route without a row fails, naming it;
// so does a row whose route is gone.

// principals are the callers, in the order of the columns of an
// expectation.
var principals = []string{"anonymous", "admin", "supervisor", "crew", "analyst", "key:ingest", "key:read", "key:open311", "key:admin"}

// accessNode is civic serve over a fresh SQLite folder with a small city,
// a locked plan with a route for each of two crews, and a session or key
// for every principal.
type accessNode struct {
	t       *testing.T
	n       *node
	base    string
	cookies map[string]string // role → session token
	keys    map[string]string // "key:scope" → secret
}

func startAccessNode(t *testing.T) *accessNode {
	t.Helper()
	ctx := context.Background()
	var c config
	fs := newFlagSet("serve")
	serveFlags(fs, &c, func(string) string { return "" })
	if err := fs.Parse([]string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--mqtt-addr", "", "--plan-at", "", "--plan-time", "2s"}); err != nil {
		t.Fatal(err)
	}
	if err := c.finishServe(); err != nil {
		t.Fatal(err)
	}
	c.TTNSecret, c.ChirpStackSecret = "ttn-secret-123", "cs-secret-123"
	var stdout bytes.Buffer
	e := &env{stdout: &stdout, stderr: io.Discard, getenv: func(string) string { return "" }}
	n, err := openNode(ctx, e, &c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := &accessNode{t: t, n: n, cookies: map[string]string{}, keys: map[string]string{}}
	a.seed(ctx)
	if err := n.start(ctx); err != nil {
		n.close()
		t.Fatal(err)
	}
	t.Cleanup(n.close)
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no listen line in %q", stdout.String())
	}
	a.base = m[1]
	return a
}

func (a *accessNode) seed(ctx context.Context) {
	t := a.t
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	st, au := a.n.app.store, a.n.app.auth
	for _, role := range []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleCrew, civic.RoleAnalyst} {
		_, err := au.CreateUser(ctx, string(role), role, "password for "+string(role))
		must(err)
		tok, _, _, err := au.Login(ctx, string(role), "password for "+string(role))
		must(err)
		a.cookies[string(role)] = tok
	}
	_, err := au.CreateUser(ctx, "crew2", civic.RoleCrew, "password for crew2")
	must(err)
	for _, sc := range []civic.Scope{civic.ScopeIngest, civic.ScopeRead, civic.ScopeOpen311, civic.ScopeAdmin} {
		secret, _, err := au.CreateAPIKey(ctx, string(sc)+" key", []civic.Scope{sc}, "test")
		must(err)
		a.keys["key:"+string(sc)] = secret
	}
	must(st.CreateZone(ctx, &civic.Zone{ID: "Z1", Name: "Downtown", Boundary: civic.MultiPolygon{{{
		{-71.10, 42.34}, {-71.04, 42.34}, {-71.04, 42.38}, {-71.10, 42.38}, {-71.10, 42.34},
	}}}}))
	must(st.CreateDepot(ctx, &civic.Depot{ID: "D1", Name: "North depot", Lat: 42.37, Lon: -71.06}))
	fac := civic.Facility{ID: "F1", Name: "Transfer station", Lat: 42.35, Lon: -71.05}
	fac.Normalize()
	must(st.CreateFacility(ctx, &fac))
	for _, id := range []string{"T1", "T2"} {
		tr := civic.Truck{ID: id, Name: "Truck " + id, DepotID: "D1", CapacityL: 20000}
		tr.Normalize()
		must(st.CreateTruck(ctx, &tr))
	}
	must(st.CreateCrew(ctx, &civic.Crew{ID: "C1", Name: "Crew 1", DepotID: "D1", TruckID: "T1", Members: []string{"crew"}}))
	must(st.CreateCrew(ctx, &civic.Crew{ID: "C2", Name: "Crew 2", DepotID: "D1", TruckID: "T2", Members: []string{"crew2"}}))
	for i, b := range []civic.Bin{
		{ID: "B1", Name: "Main St", Lat: 42.36, Lon: -71.06, CapacityL: 240, Stream: civic.StreamTrash},
		{ID: "B2", Name: "Harbor walk", Lat: 42.35, Lon: -71.05, CapacityL: 240, Stream: civic.StreamTrash},
	} {
		b.Normalize()
		must(st.CreateBin(ctx, &b))
		d := civic.Device{ID: fmt.Sprintf("S%d", i+1), BinID: b.ID}
		d.Normalize()
		must(st.CreateDevice(ctx, &d))
	}
	now := time.Now().UTC()
	fill := 0.9
	_, err = st.WriteReadings(ctx, [][]civic.Reading{{
		{Device: "S1", Bin: "B1", Time: now.Add(-time.Hour), Fill: &fill},
		{Device: "S2", Bin: "B2", Time: now.Add(-time.Hour), Fill: &fill},
	}})
	must(err)
	_, _, err = st.OpenAlert(ctx, &civic.Alert{BinID: "B1", Rule: civic.RuleFull, Severity: civic.RuleFull.DefaultSeverity(),
		Message: "B1 is full", OpenedAt: now.Add(-time.Hour), LastSeenAt: now.Add(-time.Hour)})
	must(err)
	// Today's plan, locked: route R1 for crew C1 (the user "crew"), R2
	// for crew C2.
	date := now.Format(time.DateOnly)
	route := func(id, crew, truck, bin string, seq int) civic.Route {
		return civic.Route{ID: id, PlanID: "P1", Seq: seq, TruckID: truck, CrewID: crew, DepotID: "D1", Stream: civic.StreamTrash,
			Start: now, End: now.Add(time.Hour), CapacityL: 60000,
			Stops: []civic.Stop{{ID: id + "-s1", RouteID: id, Seq: 1, Kind: civic.StopBin, BinID: bin, Lat: 42.36, Lon: -71.06,
				ETA: now.Add(10 * time.Minute), Depart: now.Add(12 * time.Minute)}}}
	}
	p := civic.Plan{ID: "P1", Date: date, Status: civic.PlanLocked, CreatedBy: "test",
		Routes: []civic.Route{route("R1", "C1", "T1", "B1", 1), route("R2", "C2", "T2", "B2", 2)}}
	must(a.n.app.store.SavePlan(ctx, &p))
}

// call sends one request as who and returns the answer (not following
// redirects). Each call comes from its own loopback address so that the
// per-address limits of anonymous callers and logins do not interfere; a
// 429 from the per-user limit is waited out.
func (a *accessNode) call(who, method, path, ctype, body string) (*http.Response, string) {
	a.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	for try := 0; ; try++ {
		req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
		if err != nil {
			a.t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		switch {
		case who == "anonymous":
		case strings.HasPrefix(who, "key:"):
			req.Header.Set("Authorization", "Bearer "+a.keys[who])
		default:
			req.AddCookie(&http.Cookie{Name: "civic_session", Value: a.cookies[who]})
		}
		if strings.HasSuffix(path, "events") {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req = req.WithContext(ctx)
		}
		res, err := client.Do(req)
		if err != nil {
			a.t.Fatalf("%s %s as %s: %v", method, path, who, err)
		}
		var b []byte
		if res.Header.Get("Content-Type") == "text/event-stream" {
			b = []byte("(stream)")
		} else {
			b, _ = io.ReadAll(io.LimitReader(res.Body, 4<<10))
		}
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests && try < 250 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return res, string(b)
	}
}

// outcome names an answer the way the table does: "ok" (past the access
// check: any status but 401, 403 and 5xx, and not the login page), "401",
// "403", "login" (a page redirecting to the login page), "5xx:CODE".
func outcome(res *http.Response) string {
	switch s := res.StatusCode; {
	case s == http.StatusUnauthorized:
		return "401"
	case s == http.StatusForbidden:
		return "403"
	case s >= 500:
		return fmt.Sprintf("5xx:%d", s)
	case s == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login"):
		return "login"
	}
	return "ok"
}

func TestAccessControl(t *testing.T) {
	a := startAccessNode(t)
	registered := map[string]bool{}
	for _, p := range a.n.api.Patterns() {
		if p == "/" { // the pages, listed by the dashboard itself
			continue
		}
		registered[p] = true
	}
	for _, p := range a.n.ui.Routes() {
		registered["page "+p] = true
	}
	covered := map[string]bool{}
	for _, row := range accessTable {
		covered[row.route] = true
		if !registered[row.route] {
			t.Errorf("the table has a row for %q, which the server does not register", row.route)
		}
	}
	var missing []string
	for p := range registered {
		if !covered[p] {
			missing = append(missing, p)
		}
	}
	slices.Sort(missing)
	for _, p := range missing {
		t.Errorf("route %q is registered but has no row in accessTable (cmd/civic/access_table_test.go): add one with the answer each principal must get", p)
	}

	// A crew member reading a plan sees their own crew's route only.
	for _, path := range []string{"/api/v1/plans/P1", "/api/v1/plans"} {
		res, text := a.call("crew", http.MethodGet, path, "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(text, `"R1"`) || strings.Contains(text, `"R2"`) {
			t.Errorf("GET %s as crew: %d %s, want route R1 and not R2", path, res.StatusCode, text)
		}
		res, text = a.call("analyst", http.MethodGet, path, "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(text, `"R2"`) {
			t.Errorf("GET %s as analyst: %d %s, want every route", path, res.StatusCode, text)
		}
	}

	// Rows that end the caller's session run last.
	rows := slices.Clone(accessTable)
	slices.SortStableFunc(rows, func(x, y accessRow) int {
		return boolInt(x.endsSession) - boolInt(y.endsSession)
	})
	checked := 0
	for _, row := range rows {
		want := strings.Fields(row.want)
		if len(want) != len(principals) {
			t.Errorf("%s: expectation %q has %d columns, want %d (%s)", row.route, row.want, len(want), len(principals), strings.Join(principals, " "))
			continue
		}
		method, _, found := strings.Cut(strings.TrimPrefix(row.route, "page "), " ")
		if !found {
			// A pattern without a method (a whole tree, like /open311/v2/)
			// is called with GET.
			method = http.MethodGet
		}
		ctype, body := "", row.body
		switch {
		case method == http.MethodGet || method == http.MethodDelete:
		case strings.HasPrefix(row.route, "page "):
			ctype = "application/x-www-form-urlencoded"
		default:
			ctype = "application/json"
			if body == "" {
				body = "{}"
			}
		}
		for i, who := range principals {
			res, text := a.call(who, method, row.url, ctype, strings.ReplaceAll(body, "{principal}", who))
			checked++
			got := outcome(res)
			if want[i] == "404" && res.StatusCode == http.StatusNotFound {
				got = "404"
			}
			if got != want[i] {
				t.Errorf("%s (%s) as %s: %s (%d %.200s), want %s", row.route, row.url, who, got, res.StatusCode, text, want[i])
			}
		}
	}
	t.Logf("%d routes × %d principals: %d calls checked", len(rows), len(principals), checked)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
