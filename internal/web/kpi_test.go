package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// TestKPIPage checks the KPI dashboard over a demo-like history: who may
// see it, that its figures are not empty, and the CSV.
func TestKPIPage(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 40, planning: true})
	f.addHistory(10)
	analyst := f.client("analyst1")

	res, body := f.get(analyst, "/kpi")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /kpi as an analyst: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{`id="kpi-tiles"`, `id="kpi-zones"`, `id="kpi-weeks"`, `id="kpi-data"`, `href="/kpi"`,
		`href="/simulations"`, "collections avoided", "311 requests on time", "311 is off on this server", "km per bin stop"} {
		if !strings.Contains(body, want) {
			t.Errorf("the KPI page lacks %q", want)
		}
	}
	for _, nope := range []string{`<strong id="kpi-collections">0</strong>`, `<strong id="kpi-avoided">–</strong>`, `<strong id="kpi-overflows">0</strong>`} {
		if strings.Contains(body, nope) {
			t.Errorf("the KPI page shows %s", nope)
		}
	}
	if res, _ := f.get(analyst, "/kpi?from=2026-02-30"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad date: %d, want 400", res.StatusCode)
	}
	zone := f.city.Zones[0]
	if res, body := f.get(analyst, "/kpi?zone="+zone.ID); res.StatusCode != http.StatusOK || !strings.Contains(body, zone.Name+", ") {
		t.Errorf("one zone: %d, want 200 naming %s", res.StatusCode, zone.Name)
	}

	// The week civic's records begin in says so when they begin after its
	// Monday: its fixed-schedule figure counts only the days from then.
	first := civic.DayOf(f.now, time.UTC).AddDate(0, 0, -10) // addHistory's first day
	monday, next := civic.WeekOf(first), civic.WeekOf(first).AddDate(0, 0, 7)
	_, body = f.get(analyst, "/kpi?from="+monday.Format(time.DateOnly))
	note := ` <span class="meta records">records from ` + first.Format(time.DateOnly) + `</span></th>`
	row := func(week time.Time) string {
		i := strings.Index(body, `<th scope="row">`+week.Format(time.DateOnly))
		if i < 0 {
			t.Fatalf("the weeks table lacks the week of %s", week.Format(time.DateOnly))
		}
		return body[i : i+strings.Index(body[i:], "</th>")+len("</th>")]
	}
	if got, want := strings.HasSuffix(row(monday), note), !first.Equal(monday); got != want {
		t.Errorf("the week of %s, records from %s: row head %q, want the note %v", monday.Format(time.DateOnly), first.Format(time.DateOnly), row(monday), want)
	}
	if strings.Contains(row(next), "records from") {
		t.Errorf("the week after the records began says they begin: %q", row(next))
	}

	res, body = f.get(analyst, "/kpi.csv")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET /kpi.csv: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 4 || rows[0][0] != "scope" || rows[0][5] != "baseline_visits" {
		t.Fatalf("CSV %q", rows)
	}
	total := rows[len(rows)-1]
	if total[0] != "total" || total[4] == "0" || total[5] == "0" || total[7] == "" {
		t.Errorf("CSV total row %q: want collections, baseline and the share avoided", total)
	}

	// Crews work from the map: not theirs. Anonymous callers sign in first.
	crew := f.client("crew1")
	for _, path := range []string{"/kpi", "/kpi.csv", "/simulations"} {
		if res, _ := f.get(crew, path); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as crew: %d, want 403", path, res.StatusCode)
		}
	}
	if _, body := f.get(crew, "/"); strings.Contains(body, `href="/kpi"`) {
		t.Error("crews see the KPI link")
	}
	if res, _ := f.get(f.client(""), "/kpi"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /kpi anonymous: %d, want 303 to sign in", res.StatusCode)
	}
}

// TestKPI311 checks the 311 tile, table column and CSV columns with 311
// on: three requests due (one closed in time, one closed late, one still
// open past its promised time) and one open and not yet due.
func TestKPI311(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10, open311: true})
	f.addRequest(72, 24, 12)   // closed in time
	f.addRequest(72, 24, -1)   // open past its promised time: late
	f.addRequest(60, 24, 30)   // closed late
	f.addRequest(50, 120, -1)  // open, not yet due
	f.addRequest(24*70, 24, 2) // received before the report's period
	analyst := f.client("analyst1")
	res, body := f.get(analyst, "/kpi")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /kpi: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{`<strong id="kpi-sla">33 %</strong> 311 requests on time`, "1 of 3 due", "1 open, not yet due", "4 received", "closed in 21 h (median)",
		"<th>311 on time</th>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the KPI page lacks %q", want)
		}
	}
	// By service: the fixture's requests are all of its first service.
	svcs, err := f.st.ListServices(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	name := html.EscapeString(svcs[0].Name)
	if i := strings.Index(body, `<table id="kpi-services">`); i < 0 {
		t.Error("the KPI page has no table by service")
	} else if row := `<tr><th scope="row">` + name + `</th><td>4</td><td>33 % <span class="meta">1 / 3</span></td><td>2</td><td>1</td><td>21 h</td></tr>`; !strings.Contains(body[i:], row) {
		t.Errorf("the table by service lacks %s", row)
	}
	// A supervisor, who may open the 311 queue, gets each service linked
	// to its requests there; the analyst above did not.
	// to its requests of the report's period there (the one received
	// before it left out); the analyst above did not.
	to := civic.DayOf(f.now, time.UTC).AddDate(0, 0, -1) // the report's default period, in the fixture's zone
	from := civic.WeekOf(to).AddDate(0, 0, -49)
	query := "status=all&service=" + url.QueryEscape(svcs[0].Code) + "&from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	link := `<a href="/queue?` + strings.ReplaceAll(query, "&", "&amp;") + `"`
	if strings.Contains(body, `<a href="/queue?`) {
		t.Error("an analyst, who may not open the queue, is offered a link to it")
	}
	super := f.client("super")
	if _, sbody := f.get(super, "/kpi"); !strings.Contains(sbody, link+` title="This service's requests received in the period in the 311 queue">`+name+`</a>`) {
		t.Errorf("a supervisor's table by service lacks the link %s", link)
	} else if res, qbody := f.get(super, "/queue?"+query); res.StatusCode != http.StatusOK ||
		strings.Count(qbody, "1 Main St") != 4 {
		t.Errorf("the queue the link opens: %d, %d of the service's 4 requests in the period", res.StatusCode, strings.Count(qbody, "1 Main St"))
	}
	if _, qbody := f.get(super, "/queue?status=all"); strings.Count(qbody, "1 Main St") != 5 {
		t.Errorf("the queue of every period lists %d of the 5 requests", strings.Count(qbody, "1 Main St"))
	}
	_, body = f.get(analyst, "/kpi.csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byScope := map[string]map[string]string{}
	for _, r := range rows[1:] {
		got := map[string]string{}
		for i, h := range rows[0] {
			got[h] = r[i]
		}
		byScope[r[0]] = got
	}
	for _, scope := range []string{"total", "service"} {
		got := byScope[scope]
		if got["requests"] != "4" || got["sla_met"] != "1" || got["sla_missed"] != "2" || got["sla_open"] != "1" || got["sla_met_pct"] != "0.3333" ||
			got["close_hours_median"] != "21.00" {
			t.Errorf("CSV %s %v", scope, got)
		}
	}
	if sv := byScope["service"]; sv["key"] != svcs[0].Code || sv["collections"] != "" || sv["days"] != byScope["total"]["days"] {
		t.Errorf("CSV service row %v", sv)
	}
}

// TestSimulationPages checks the stored simulations: the list, a run's
// page, its report served as stored under a sandboxing policy, its result.
func TestSimulationPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10})
	analyst := f.client("analyst1")
	if _, body := f.get(analyst, "/simulations"); !strings.Contains(body, "No simulation is stored yet") {
		t.Error("the empty list does not say so")
	}
	run := f.addSimulation("sim-1", "Sensors on every bin <90 days>")
	f.addSimulation("sim-2", "Half the fleet")

	res, body := f.get(analyst, "/simulations")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `href="/simulations/sim-1"`) ||
		!strings.Contains(body, "Sensors on every bin &lt;90 days&gt;") || !strings.Contains(body, "sim: collections -42% km -37%") ||
		strings.Index(body, "sim-2") > strings.Index(body, "sim-1") {
		t.Errorf("list: %d\n%s", res.StatusCode, body)
	}
	res, body = f.get(analyst, "/simulations/sim-1")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<iframe class="simreport" id="simreport" title="Simulation report" sandbox src="/simulations/sim-1/report">`) ||
		!strings.Contains(body, `href="/simulations"`) || !strings.Contains(body, "/simulations/sim-1/result.json") {
		t.Errorf("run page: %d\n%s", res.StatusCode, body)
	}
	res, body = f.get(analyst, "/simulations/sim-1/report")
	if res.StatusCode != http.StatusOK || body != string(run.Report) {
		t.Errorf("report: %d, body not as stored:\n%s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"sandbox", "default-src 'none'", "style-src 'unsafe-inline'", "img-src data:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("report CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "allow-") {
		t.Errorf("report CSP %q lets something run", csp)
	}
	res, body = f.get(analyst, "/simulations/sim-1/result.json")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"sensors"`) {
		t.Errorf("result: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	for _, path := range []string{"/simulations/nope", "/simulations/nope/report"} {
		if res, _ := f.get(analyst, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	if res, body := f.get(analyst, "/simulations/nope/result.json"); res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("missing result: %d %s", res.StatusCode, body)
	}
	crew := f.client("crew1")
	for _, path := range []string{"/simulations/sim-1", "/simulations/sim-1/report", "/simulations/sim-1/result.json"} {
		if res, _ := f.get(crew, path); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as crew: %d, want 403", path, res.StatusCode)
		}
	}
}

// addRequest stores a 311 request that came in ageH hours before f.now,
// promised promiseH hours later, and closed closeH hours after it came
// in (open when closeH is negative).
func (f *fixture) addRequest(ageH, promiseH, closeH float64) {
	f.t.Helper()
	ctx := context.Background()
	svcs, err := f.st.ListServices(ctx, false)
	if err != nil || len(svcs) == 0 {
		f.t.Fatalf("services: %v %v", svcs, err)
	}
	hours := func(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }
	in := f.now.Add(-hours(ageH))
	due := in.Add(hours(promiseH))
	f.requests++
	req := civic.ServiceRequest{Token: fmt.Sprintf("kpi-%d", f.requests), ServiceCode: svcs[0].Code, Status: civic.StatusSubmitted,
		Address: "1 Main St", RequestedAt: in, ExpectedAt: &due}
	if closeH >= 0 {
		closed := in.Add(hours(closeH))
		req.Status, req.CloseReason, req.ClosedAt = civic.StatusClosed, civic.CloseFixed, &closed
	}
	if err := f.st.CreateServiceRequest(ctx, &req, nil, nil); err != nil {
		f.t.Fatal(err)
	}
}

// TestQueueReceivedDays: the 311 queue's from and to bound the day a
// request came in, both days included, in the city's time zone; a bad
// date is a 400 naming the field.
func TestQueueReceivedDays(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 2, open311: true})
	day := func(daysAgo int) string { return f.now.AddDate(0, 0, -daysAgo).Format(time.DateOnly) }
	// Three requests on three days: 10, 5 and 2 days ago, each at the
	// fixture's time of day.
	for _, age := range []float64{240, 120, 48} {
		f.addRequest(age, 24, -1)
	}
	super := f.client("super")
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", 3},
		{"&from=" + day(5), 2},
		{"&to=" + day(5), 2},
		{"&from=" + day(5) + "&to=" + day(5), 1},
		{"&from=" + day(9) + "&to=" + day(3), 1},
		{"&to=" + day(11), 0},
	} {
		res, body := f.get(super, "/queue?status=all"+c.query)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /queue?status=all%s: %d", c.query, res.StatusCode)
		}
		if got := strings.Count(body, "1 Main St"); got != c.want {
			t.Errorf("GET /queue?status=all%s: %d requests, want %d", c.query, got, c.want)
		}
		if strings.Contains(c.query, day(5)) && !strings.Contains(body, `value="`+day(5)+`"`) {
			t.Errorf("GET /queue?status=all%s: the form does not keep the day", c.query)
		}
	}
	for _, c := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=" + day(2) + "&to=" + day(5), "from"},
	} {
		res, body := f.get(super, "/queue?"+c.query)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<p>"+c.field+": ") {
			t.Errorf("GET /queue?%s: %d %q, want 400 naming %s", c.query, res.StatusCode, body, c.field)
		}
	}
}

// TestKPI311ZoneLink: with a zone filter the table by service counts that
// zone's requests, but the queue has no zone filter, so a service's link
// says it opens the whole city's requests of the period.
func TestKPI311ZoneLink(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10, open311: true})
	ctx := context.Background()
	svcs, err := f.st.ListServices(ctx, false)
	if err != nil || len(svcs) == 0 {
		t.Fatalf("services: %v %v", svcs, err)
	}
	bin := f.city.Bins[0]
	due := f.now.Add(24 * time.Hour)
	req := civic.ServiceRequest{Token: "kpi-zone", ServiceCode: svcs[0].Code, Status: civic.StatusSubmitted,
		Address: "2 Bin St", ObjectType: "bin", ObjectID: bin.ID, RequestedAt: f.now.Add(-50 * time.Hour), ExpectedAt: &due}
	if err := f.st.CreateServiceRequest(ctx, &req, nil, nil); err != nil {
		t.Fatal(err)
	}
	super := f.client("super")
	anchor := `in the 311 queue">` + html.EscapeString(svcs[0].Name) + `</a>`
	if _, body := f.get(super, "/kpi"); !strings.Contains(body, `title="This service's requests received in the period `+anchor) {
		t.Errorf("the city's report lacks the link %s", anchor)
	}
	if _, body := f.get(super, "/kpi?zone="+url.QueryEscape(bin.ZoneID)); !strings.Contains(body, `title="This service's requests received in the period, in the whole city, `+anchor) {
		t.Errorf("the report of zone %s lacks a link that says it opens the whole city's requests", bin.ZoneID)
	}
}
