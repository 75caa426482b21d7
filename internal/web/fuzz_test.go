package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPageQueries sends made-up query strings to the pages and data
// endpoints a signed-in supervisor uses: whatever the query, the answer is
// never a 5xx.
func FuzzPageQueries(f *testing.F) {
	fx := newFixture(f, fixtureOpts{bins: 20, planning: true, open311: true})
	fx.addHistory(3)
	fx.addSimulation("sim-1", "Sensors on every bin")
	bin := fx.city.Bins[0].ID
	pl := fx.makePlan(fx.client("super"))
	plan, rt := "/plans/"+pl.ID, "/plans/"+pl.ID+"/routes/"+pl.Routes[0].ID
	paths := []string{"/", "/map/list", "/map/bins.json", "/bins/" + bin, "/bins/" + bin + "/history.json",
		"/fleet", "/fleet.csv", "/alerts", "/plans", plan, plan + "/export/gpx", plan + "/export/geojson", plan + "/export/csv",
		rt + "/sheet", rt + "/export/gpx", plan + "/report", plan + "/report.csv", "/crew", "/map/plan.json",
		"/kpi", "/kpi.csv", "/simulations", "/simulations/sim-1", "/simulations/sim-1/report", "/simulations/sim-1/result.json",
		"/queue", "/requests"}
	for i, q := range []string{
		"zone=Z-1&stream=trash&status=full&q=main", "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z",
		"from=x&to=", "range=7d", "range=-1h", "sort=fill&dir=desc&limit=5", "status=open&page=999999999999",
		"min_fill=1e309", "%zz", "a=1&a=2", "date=2026-02-30", "date=2026-03-01&crew=C-01", "crew=nope&done=collected&name=%3Cb%3E",
		"moved=B-1+dropped", "download=0",
		"from=2026-01-05&to=2026-03-01&zone=Z-1", "from=2020-01-01&to=2026-03-01", "to=2099-12-31&zone=nope", "from=2026-03-05&to=2026-03-01",
		"status=all&service=overflow&from=2026-03-01&to=2026-03-01", "status=held&overdue=true&department=%00&assigned_to=crew:C1",
		"status=all&zone=Z-1&offset=200", "zone=%00&offset=-5", "offset=99999999999999999999&zone=Z-2",
	} {
		f.Add(uint8(i), q)
	}
	// The session cookie of a signed-in supervisor.
	c := fx.client("super")
	base, _ := http.NewRequest(http.MethodGet, fx.srv.URL+"/", nil)
	cookies := c.Jar.Cookies(base.URL)
	if len(cookies) == 0 {
		f.Fatal("no session cookie after login")
	}
	h := fx.srv.Config.Handler
	// Signed in, the pages answer (a fuzzer bounced to /login would test
	// nothing).
	for _, path := range paths {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			f.Fatalf("GET %s signed in: %d, want 200", path, rec.Code)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		path := paths[int(which)%len(paths)]
		r, err := http.NewRequest(http.MethodGet, "http://civic.test"+path+"?"+query, nil)
		if err != nil {
			return // not a URL a browser could send
		}
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("GET %s?%s: %d %s", path, query, rec.Code, rec.Body)
		}
	})
}
