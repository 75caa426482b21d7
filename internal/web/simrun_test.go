package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/civic"
)

// TestSimulationRun: an analyst simulates the city's own bins from the
// simulations page: the form starts a run in the background, its page
// follows it while it runs and shows its report once done, and the list
// names it. Bad values are refused naming the field; crews may not run
// one; a server without a simulator shows no form and refuses the post.
func TestSimulationRun(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 12, planning: true, simulator: true})
	analyst := f.client("analyst1")
	res, body := f.get(analyst, "/simulations")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<form method="post" action="/simulations" id="runsim"`) {
		t.Fatalf("GET /simulations: %d, without the form:\n%s", res.StatusCode, body)
	}
	// The assumptions, closed, hold the city's settings and civic's
	// figures.
	if !strings.Contains(body, `<details class="simassume" id="simassume">`) {
		t.Errorf("the form has no closed Assumptions disclosure:\n%s", body)
	}
	for name, value := range map[string]string{"overflow_risk": "0.1", "hygiene_days": "7", "hygiene_days_compost": "3", "threshold": "0.8",
		"fuel_l_per_km": "0.35", "co2_kg_per_l": "2.68", "crew_eur_h": "60", "truck_eur_km": "0.9", "fuel_eur_l": "1.6"} {
		if !strings.Contains(body, `name="`+name+`" value="`+value+`"`) {
			t.Errorf("the form's %s is not %s", name, value)
		}
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"days": {"30"}, "history_days": {"28"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, bad := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"days": {"abc"}, "history_days": {"28"}}, "days"},
		{url.Values{"days": {"3"}, "history_days": {"28"}}, "days"},
		{url.Values{"days": {"400"}, "history_days": {"28"}}, "days"},
		{url.Values{"days": {"30"}, "history_days": {"0"}}, "history_days"},
		{url.Values{"days": {"30"}}, "history_days"},
		{form("name", strings.Repeat("n", 201)), "name"},
		{form("overflow_risk", "0.7"), "overflow_risk"},
		{form("overflow_risk", "ten"), "overflow_risk"},
		{form("hygiene_days", "-1"), "hygiene_days"},
		{form("hygiene_days_compost", "400"), "hygiene_days_compost"},
		{form("threshold", "NaN"), "threshold"},
		{form("threshold", "1.5"), "threshold"},
		{form("fuel_l_per_km", "-0.35"), "fuel_l_per_km"},
		{form("co2_kg_per_l", "Inf"), "co2_kg_per_l"},
		{form("crew_eur_h", "1e400"), "crew_eur_h"},
		{form("truck_eur_km", "-0,9"), "truck_eur_km"},
		{form("fuel_eur_l", "160"), "fuel_eur_l"},
	} {
		code, body := f.post(analyst, "/simulations", bad.form)
		if code != http.StatusBadRequest || !strings.Contains(body, `id="form-error"`) || !strings.Contains(body, "("+bad.field+")") {
			t.Errorf("POST /simulations %v: %d, want 400 naming %s:\n%s", bad.form, code, bad.field, body)
			continue
		}
		// The form again, as posted, the field marked, the assumptions
		// open when it is one of them.
		if !strings.Contains(body, `id="runsim"`) || !regexp.MustCompile(`name="`+bad.field+`"[^>]*aria-invalid="true"`).MatchString(body) {
			t.Errorf("POST /simulations %v: the form is not shown again with %s marked:\n%s", bad.form, bad.field, body)
		}
		if v := bad.form.Get(bad.field); bad.field != "days" && !strings.Contains(body, `value="`+template.HTMLEscapeString(v)+`"`) {
			t.Errorf("POST /simulations %v: the form lost the value %q", bad.form, v)
		}
		if open := strings.Contains(body, `id="simassume" open>`); open != !slices.Contains([]string{"days", "history_days", "name"}, bad.field) {
			t.Errorf("POST /simulations %v: assumptions open %v", bad.form, open)
		}
	}
	if code, _ := f.post(f.client("crew1"), "/simulations", url.Values{"days": {"30"}, "history_days": {"28"}}); code != http.StatusForbidden {
		t.Errorf("POST /simulations as crew: %d, want 403", code)
	}
	if _, body := f.get(analyst, "/simulations"); strings.Contains(body, `class="simlist"`) {
		t.Errorf("refused posts stored a run:\n%s", body)
	}

	// A run under other assumptions; a decimal comma reads as a point.
	res, err := analyst.PostForm(f.srv.URL+"/simulations", url.Values{"days": {"7"}, "history_days": {"28"}, "name": {"A week of our bins"}, "perfect": {"1"},
		"overflow_risk": {"0.3"}, "hygiene_days": {"5"}, "hygiene_days_compost": {"0"}, "threshold": {" 0.6 "},
		"fuel_l_per_km": {"0.42"}, "co2_kg_per_l": {"2.5"}, "crew_eur_h": {"48"}, "truck_eur_km": {""}, "fuel_eur_l": {"1,85"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	page := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(page, "/simulations/sim-") {
		t.Fatalf("POST /simulations: %d to %q, want 303 to the run's page", res.StatusCode, page)
	}
	sawRunning := false
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, body := f.get(analyst, page)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", page, res.StatusCode)
		}
		if strings.Contains(body, `id="simreport"`) {
			if strings.Contains(body, `http-equiv="refresh"`) {
				t.Error("a finished run's page still refreshes itself")
			}
			if !strings.Contains(body, "<h1>A week of our bins</h1>") || !strings.Contains(body, `class="simsummary">sim: collections`) {
				t.Errorf("finished run's page lacks its name or summary:\n%s", body)
			}
			if _, report := f.get(analyst, page+"/report"); !strings.Contains(report, "<td>Perfect forecasts</td>") {
				t.Errorf("the run asked for perfect forecasts; its report has no row for them:\n%s", report)
			}
			for _, w := range []string{"<dd>30 %</dd>", "<dd>5 days</dd>", "<dd>no limit</dd>", "<dd>60 % full</dd>", "<dd>0.42 L per km</dd>",
				"<dd>2.5 kg per litre</dd>", "<dd>€48 per hour</dd>", "<dd>€0.90 per km</dd>", "<dd>€1.85 per litre</dd>"} {
				if !strings.Contains(body, w) {
					t.Errorf("the run's page does not show %s among its assumptions", w)
				}
			}
			break
		}
		if strings.Contains(body, "Running: ") {
			sawRunning = true
			if !strings.Contains(body, `<meta http-equiv="refresh" content="3">`) || !strings.Contains(body, "<progress max=\"100\"") {
				t.Errorf("a running run's page neither refreshes nor shows its progress:\n%s", body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish in 2 minutes:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawRunning {
		t.Log("the run ended before its page was first read as running")
	}
	_, body = f.get(analyst, "/simulations")
	if !strings.Contains(body, `<a href="`+page+`"><strong>A week of our bins</strong></a>`) || strings.Contains(body, "simstate") {
		t.Errorf("the list does not show the finished run:\n%s", body)
	}
	res, report := f.get(analyst, page+"/report")
	if res.StatusCode != http.StatusOK || !strings.Contains(report, "A simulation of the city's own 12 bins") {
		t.Errorf("GET %s/report: %d, without the city's own bins", page, res.StatusCode)
	}
	for _, w := range []string{"at most a 30% chance of filling up", "no bin goes more than 5 days, compost no limit", "at least 60% full",
		"Fuel: 0.42 litres", "CO2: 2.50 kg", "a crew costs 48 per hour of route, a truck 0.90 per kilometre besides fuel, diesel 1.85 per litre"} {
		if !strings.Contains(report, w) {
			t.Errorf("the report does not say %q", w)
		}
	}
	run, err := f.st.Simulation(context.Background(), strings.TrimPrefix(page, "/simulations/"))
	if a := run.Assumptions; err != nil || a == nil || a.OverflowRisk != 0.3 || *a.HygieneDays != 5 || *a.HygieneDaysCompost != 0 || a.Threshold != 0.6 ||
		a.FuelLPerKm != 0.42 || a.CO2KgPerL != 2.5 || a.CrewEURH != 48 || a.TruckEURKm != 0.9 || a.FuelEURL != 1.85 {
		t.Errorf("the stored run's assumptions: %+v (%v)", a, err)
	}

	plain := newFixture(t, fixtureOpts{bins: 4})
	if _, body := plain.get(plain.client("analyst1"), "/simulations"); strings.Contains(body, `id="runsim"`) {
		t.Error("a server without a simulator shows the form")
	}
	if code, body := plain.post(plain.client("analyst1"), "/simulations", url.Values{"days": {"30"}, "history_days": {"28"}}); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "civic simulate") {
		t.Errorf("POST /simulations without a simulator: %d, want 503 pointing to civic simulate:\n%s", code, body)
	}
}

// TestBrowserSimulationRun: in Chromium, an analyst fills the simulations
// page's form and lands on the run's page, which follows the run until its
// report shows; on a phone the form and the run's page fit the screen.
func TestBrowserSimulationRun(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 12, vendor: true, planning: true, simulator: true})
	dir := artifacts(t)
	failDir = dir
	ctx := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do(t, ctx, "sign in",
		chromedp.EmulateViewport(1366, 900),
		signInSteps(f, "/simulations", "analyst1", `#runsim`),
	)
	screenshot(t, ctx, dir, "simulations-form")
	// The assumptions open without a script, filled in; a changed one
	// reaches the run.
	do(t, ctx, "assumptions",
		chromedp.Click(css(`#simassume summary`)),
		chromedp.WaitVisible(css(`#runsim input[name=crew_eur_h]`)),
	)
	if v := val(t, ctx, "crew cost", chromedp.Evaluate[string](`document.querySelector("#runsim input[name=crew_eur_h]").value`)); v != "60" {
		t.Errorf("the crew's cost is filled in with %q, want 60", v)
	}
	screenshot(t, ctx, dir, "simulations-assumptions")
	do(t, ctx, "run",
		chromedp.SetValue(css(`#runsim select[name=days]`), "30"),
		chromedp.SendKeys(css(`#runsim input[name=name]`), "A month of our bins"),
		chromedp.SetValue(css(`#runsim input[name=crew_eur_h]`), "55"),
		chromedp.Click(css(`#runsim-go`)),
		chromedp.WaitVisible(css(`nav.crumbs`)),
	)
	if s := val(t, ctx, "assumed", chromedp.Text(css(`#simassumed`))); !strings.Contains(s, "€55 per hour") || !strings.Contains(s, "80 % full") {
		t.Errorf("the run's page shows its assumptions as %q, want the crew's €55 per hour and the 80 %% threshold", s)
	}
	// The page reloads itself every 3 s until the run ends.
	do(t, ctx, "report", chromedp.WaitVisible(css(`#simreport`)))
	if path := val(t, ctx, "path", chromedp.Evaluate[string](`location.pathname`)); !strings.HasPrefix(path, "/simulations/sim-") {
		t.Errorf("after Run the browser is at %q, want the run's page", path)
	}
	if h1 := val(t, ctx, "title", chromedp.Text(css(`h1`))); h1 != "A month of our bins" {
		t.Errorf("run page title %q", h1)
	}
	if s := val(t, ctx, "summary", chromedp.Text(css(`.simsummary`))); !strings.HasPrefix(s, "sim: collections") {
		t.Errorf("run page summary %q", s)
	}
	screenshot(t, ctx, dir, "simulation-run")
	path := val(t, ctx, "path", chromedp.Evaluate[string](`location.pathname`))

	phone := phoneTab(t, ctx)
	do(t, phone, "phone form",
		chromedp.Navigate(f.srv.URL+"/simulations"),
		chromedp.WaitVisible(css(`#runsim`)),
		chromedp.Click(css(`#simassume summary`)),
		chromedp.WaitVisible(css(`#runsim input[name=fuel_eur_l]`)),
	)
	if overflow := val(t, phone, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); overflow > 0 {
		t.Errorf("phone: the simulations page scrolls sideways by %d px", overflow)
	}
	screenshot(t, phone, dir, "phone-simulations-form")

	// Deleting the run from its page leaves the list empty.
	do(t, phone, "delete",
		chromedp.Navigate(f.srv.URL+path),
		chromedp.WaitVisible(css(`.simdelete summary`)),
		chromedp.Click(css(`.simdelete summary`)),
		chromedp.WaitVisible(css(`#simdelete-go`)),
	)
	screenshot(t, phone, dir, "phone-simulation-delete")
	do(t, phone, "deleted",
		chromedp.Click(css(`#simdelete-go`)),
		chromedp.WaitVisible(css(`#runsim`)),
	)
	if n := val(t, phone, "runs", chromedp.Evaluate[int](`document.querySelectorAll("#simulations li").length`)); n != 0 {
		t.Errorf("%d runs listed after the delete, want none", n)
	}
}

// FuzzSimulationForm: whatever the simulations form holds, it is read
// into a request within bounds or refused as invalid naming a field; a
// blank assumption takes the default, any other is within its range.
func FuzzSimulationForm(f *testing.F) {
	blank := [9]string{}
	for _, seed := range [][3]string{{"90", "28", ""}, {"7", "1", "x"}, {"365", "90", "A year"}, {"abc", "28", ""},
		{"3", "0", ""}, {" 30 ", "28", "\x00"}, {"99999999999999999999", "-1", strings.Repeat("é", 150)}} {
		f.Add(seed[0], seed[1], seed[2], blank[0], blank[1], blank[2], blank[3], blank[4], blank[5], blank[6], blank[7], blank[8])
	}
	for _, a := range [][9]string{
		{"0.1", "7", "3", "0.8", "0.35", "2.68", "60", "0.9", "1.6"},
		{"0.5", "0", "0", "1", "5", "10", "1000", "100", "100"},
		{"0,3", " 5 ", "", "0.6", "0,42", "", "48", "", "1,85"},
		{"0.7", "-1", "366", "NaN", "-0.35", "Inf", "1e400", "-0", "0x1p-2"},
		{"ten", "1e-400", "+Inf", "0.005", "1_000", "", "0.", ".5", "5e-1"},
	} {
		f.Add("30", "28", "", a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8])
	}
	f.Fuzz(func(t *testing.T, days, history, name, risk, hygiene, compost, threshold, fuel, co2, crew, truck, price string) {
		form := url.Values{"days": {days}, "history_days": {history}, "name": {name}, "overflow_risk": {risk}, "hygiene_days": {hygiene},
			"hygiene_days_compost": {compost}, "threshold": {threshold}, "fuel_l_per_km": {fuel}, "co2_kg_per_l": {co2},
			"crew_eur_h": {crew}, "truck_eur_km": {truck}, "fuel_eur_l": {price}}
		req, err := simulationRequest(form, "analyst1")
		if err != nil {
			var ce *civic.Error
			if !errors.As(err, &ce) || ce.Kind != civic.Invalid || ce.Field == "" {
				t.Fatalf("%v: %v, want invalid naming a field", form, err)
			}
			return
		}
		if req.Days < 7 || req.Days > 365 || req.HistoryDays < 1 || req.HistoryDays > 90 || len(req.Name) > 200 ||
			strings.ContainsRune(req.Name, 0) || req.By != "analyst1" {
			t.Fatalf("%v accepted as %+v", form, req)
		}
		for _, g := range simulationAssumptions {
			for _, a := range g.fields {
				v := a.get(&req.Assumptions)
				given := strings.TrimSpace(form.Get(a.Name)) != ""
				switch {
				case !given && v != nil && *v != 0:
					t.Fatalf("%s blank, read as %v", a.Name, *v)
				case v == nil || *v == 0 && !strings.HasPrefix(a.Name, "hygiene_days"):
					continue
				}
				lo, hi, _ := civic.SimulationAssumptionRange(a.Name)
				if !(*v >= lo && *v <= hi) {
					t.Fatalf("%s %q accepted as %v, out of [%g, %g]", a.Name, form.Get(a.Name), *v, lo, hi)
				}
			}
		}
	})
}

// TestSimulationDelete: a finished or failed run, or one whose server
// stopped (interrupted), can be deleted from its page; a run under way
// cannot; crews may not delete.
func TestSimulationDelete(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 4})
	ctx := context.Background()
	now := time.Now()
	for _, r := range []civic.SimulationRun{
		{ID: "sim-done", Name: "done", CreatedAt: now.Add(-time.Hour)},
		{ID: "sim-running", Name: "running", Status: civic.SimulationRunning, CreatedAt: now},
		{ID: "sim-stale", Name: "stale", Status: civic.SimulationRunning, CreatedAt: now.Add(-10 * time.Minute)},
	} {
		if err := f.st.SaveSimulation(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	analyst := f.client("analyst1")
	if _, body := f.get(analyst, "/simulations/sim-running"); strings.Contains(body, "/delete") {
		t.Error("a run under way offers to be deleted")
	}
	if _, body := f.get(analyst, "/simulations/sim-stale"); !strings.Contains(body, `action="/simulations/sim-stale/delete"`) ||
		!strings.Contains(body, "Interrupted") {
		t.Errorf("an interrupted run's page neither says so nor offers to delete it:\n%s", body)
	}
	if code, _ := f.post(f.client("crew1"), "/simulations/sim-done/delete", url.Values{}); code != http.StatusForbidden {
		t.Errorf("crew deletes: %d, want 403", code)
	}
	if code, body := f.post(analyst, "/simulations/sim-running/delete", url.Values{}); code != http.StatusConflict || !strings.Contains(body, "still running") {
		t.Errorf("delete a run under way: %d, want 409:\n%s", code, body)
	}
	for _, id := range []string{"sim-done", "sim-stale"} {
		res, err := analyst.PostForm(f.srv.URL+"/simulations/"+id+"/delete", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/simulations" {
			t.Errorf("delete %s: %d to %q, want 303 to the list", id, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if code, _ := f.post(analyst, "/simulations/sim-done/delete", url.Values{}); code != http.StatusNotFound {
		t.Errorf("delete again: %d, want 404", code)
	}
	runs, err := f.st.ListSimulations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "sim-running" {
		t.Errorf("left: %+v, want only the run under way", runs)
	}
	entries, err := f.st.ListAudit(ctx, civic.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, e := range entries {
		if e.Action == "simulation.delete" && e.Actor == "analyst1" {
			deleted++
		}
	}
	if deleted != 2 {
		t.Errorf("audit log: %d deletes by analyst1, want 2: %+v", deleted, entries)
	}
}
