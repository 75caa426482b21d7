package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
	"github.com/civic-city/civic/internal/whatif"
)

const testPassword = "correct horse battery staple"

// fixture is a dashboard over a real SQLite store with a small generated
// city, its readings and two users, served by an httptest.Server behind a
// minimal session middleware like the server's.
type fixture struct {
	// requests counts the 311 requests addRequest stored; requestAt, if
	// set, is where the next ones are (latitude, longitude).
	requests  int
	requestAt *[2]float64
	t         testing.TB
	st        *store.Store
	auth      *auth.Service
	ui        *UI
	srv       *httptest.Server
	city      *sim.City
	now       time.Time
	// started is when a planning fixture's clock (clock) started at now.
	started time.Time
	plans   *store.Store // the planning fixture's plan store: st
}

// clock is the planning fixture's time: now, moving on with the wall clock.
func (f *fixture) clock() time.Time { return f.now.Add(time.Since(f.started)) }

type fixtureOpts struct {
	bins   int
	config Config
	vendor bool // the pages need the vendor assets (browser tests)
	// planning adds the fleet (depots, trucks, crews with crew1 in the
	// first, a facility) and the real planner over the store.
	planning bool
	// api serves the pages behind the real HTTP server (its
	// authentication, cross-origin protection and JSON API) rather than
	// the test's session middleware.
	api bool
	// alerts gives the pages the store as their AlertStore; admin adds
	// the admin pages' account hooks (adminfixture_test.go).
	alerts, admin bool
	// open311 gives the pages a 311 desk over the store, its services
	// seeded (the staff pages' own tests use with311, behind the server).
	open311 bool
	// simulator runs simulations of the fixture's city from the
	// simulations page (whatif.Jobs over the store; needs planning for
	// the fleet).
	simulator bool
	// deps, if set, changes the pages' dependencies before they are
	// built: a test's wrappers around the store or the desk.
	deps func(*Deps)
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.EngineSQLite, store.Options{})
	f := &fixture{t: t, st: st, now: time.Now().UTC().Truncate(time.Second)}
	if o.planning {
		// Plans are for a service day (civic's default: Monday to
		// Saturday), and a day's shifts run from 06:00: the fixture's
		// clock is the last such morning, whatever day and time the test
		// runs (on a Sunday, Saturday's).
		day := time.Date(f.now.Year(), f.now.Month(), f.now.Day(), 6, 30, 0, 0, time.UTC)
		if day.After(f.now) {
			day = day.AddDate(0, 0, -1)
		}
		if day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, -1)
		}
		f.now = day
		f.started = time.Now()
	}
	f.auth = auth.New(st, auth.Options{Params: auth.TestParams})
	for _, u := range []struct {
		name string
		role civic.Role
	}{{"super", civic.RoleSupervisor}, {"crew1", civic.RoleCrew}, {"analyst1", civic.RoleAnalyst}} {
		if _, err := f.auth.CreateUser(ctx, u.name, u.role, testPassword); err != nil {
			t.Fatalf("CreateUser %s: %v", u.name, err)
		}
	}
	f.city = sim.GenerateCity(sim.CityParams{Bins: o.bins, Seed: 7, Zones: 4})
	for i := range f.city.Zones {
		if err := st.CreateZone(ctx, &f.city.Zones[i]); err != nil {
			t.Fatalf("CreateZone: %v", err)
		}
	}
	if err := st.ImportBins(ctx, f.city.Bins); err != nil {
		t.Fatalf("ImportBins: %v", err)
	}
	for i := range f.city.Devices {
		if err := st.CreateDevice(ctx, &f.city.Devices[i]); err != nil {
			t.Fatalf("CreateDevice: %v", err)
		}
	}
	// Two days of half-hourly readings for every bin but the last, which
	// stays without data: fill rising from a per-bin start.
	var rs []civic.Reading
	for i, d := range f.city.Devices[:len(f.city.Devices)-1] {
		start := float64(i%10) / 10
		for k := 0; k < 96; k++ {
			fill := min(1, start+float64(k)*0.004)
			temp := 10 + float64(k%48)/4
			batt := 0.9 - float64(i%5)*0.2 + 0.05
			rssi := -80 - float64(i%30)
			rs = append(rs, civic.Reading{Device: d.ID, Bin: d.BinID, Time: f.now.Add(-time.Duration(95-k) * 30 * time.Minute),
				Fill: &fill, TemperatureC: &temp, Battery: &batt, RSSI: &rssi})
		}
	}
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
		t.Fatalf("WriteReadings: %v", err)
	}
	cfg := o.config
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 50 * time.Millisecond
	}
	var planner civic.Planner
	var plans civic.PlanStore
	var nowFn func() time.Time
	if o.planning {
		planner, plans = f.addPlanning()
		nowFn = f.clock
	}
	var alerts civic.AlertStore
	if o.alerts || o.admin {
		alerts = st
	}
	var desk civic.ServiceDesk
	if o.open311 {
		d := open311.NewDesk(open311.Options{Store: st})
		if err := d.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		desk = d
	}
	var simulator civic.Simulator
	if o.simulator {
		jobs := whatif.NewJobs(whatif.JobsOptions{City: st, Runs: st, Settings: st.PlanSettings, Location: time.UTC,
			PlanTime: 20 * time.Millisecond, Every: 50 * time.Millisecond})
		t.Cleanup(func() { jobs.Close(context.Background()) })
		simulator = jobs
	}
	deps := Deps{
		Simulator:   simulator,
		ServiceDesk: desk,
		Alerts:      alerts,
		Admin:       f.adminDeps(o.admin),
		Planner:     planner,
		Plans:       plans,
		Store:       st,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			tok, sess, _, err := f.auth.Login(ctx, name, password)
			return tok, sess.ExpiresAt, err
		},
		Logout: f.auth.Logout,
		Now:    nowFn,
	}
	if o.deps != nil {
		o.deps(&deps)
	}
	f.ui = New(cfg, deps)
	if o.vendor {
		useVendorAssets(t, f.ui)
	}
	var h http.Handler = sessionMiddleware(f.auth, f.ui.cfg.SessionCookie, f.ui.Handler())
	if o.api {
		h = server.New(server.Config{CookieName: f.ui.cfg.SessionCookie}, server.Deps{Store: st, Auth: f.auth, Pages: f.ui.Handler(),
			Logger: slog.New(slog.DiscardHandler), Now: nowFn, Alerts: st, Plans: plans, Planner: planner}).Handler()
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		f.ui.Close(context.Background())
		f.srv.Close()
	})
	return f
}

// sessionMiddleware is the test stand-in for the server's authentication:
// the session cookie becomes the request's principal.
func sessionMiddleware(a *auth.Service, cookie string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(cookie); err == nil {
			if p, err := a.SessionPrincipal(r.Context(), c.Value); err == nil {
				r = r.WithContext(civic.WithPrincipal(r.Context(), p))
			}
		}
		h.ServeHTTP(w, r)
	})
}

// client returns an HTTP client that does not follow redirects, logged in
// as user unless user is empty.
func (f *fixture) client(user string) *http.Client {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if user == "" {
		return c
	}
	res, err := c.PostForm(f.srv.URL+"/login", url.Values{"name": {user}, "password": {testPassword}})
	if err != nil {
		f.t.Fatalf("login: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("login %s: status %d, want 303", user, res.StatusCode)
	}
	return c
}

// get fetches path and returns the response and its body.
func (f *fixture) get(c *http.Client, path string, header ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return res, string(b)
}

// commit stores a reading for bin and publishes it, as the ingest writer's
// commit hook would.
func (f *fixture) commit(binIdx int, fill float64, at time.Time) civic.Reading {
	f.t.Helper()
	d := f.city.Devices[binIdx]
	r := civic.Reading{Device: d.ID, Bin: d.BinID, Time: at, Fill: &fill}
	if _, err := f.st.WriteReadings(context.Background(), [][]civic.Reading{{r}}); err != nil {
		f.t.Fatalf("WriteReadings: %v", err)
	}
	f.ui.Publish([]civic.Reading{r})
	return r
}

func (f *fixture) binID(i int) string { return f.city.Devices[i].BinID }
