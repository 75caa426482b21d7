package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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
	svc := f.service()
	name := html.EscapeString(svc.Name)
	if i := strings.Index(body, `<table id="kpi-services">`); i < 0 {
		t.Error("the KPI page has no table by service")
	} else if row := `<tr><th scope="row">` + name + `</th><td>4</td><td>33 % <span class="meta">1 / 3</span></td><td>2</td><td>1</td><td>21 h</td><td class="weekly">`; !strings.Contains(body[i:], row) {
		t.Errorf("the table by service lacks %s", row)
	} else {
		// Week by week: a value for every week of the report, the
		// weeks with requests due as percentages.
		table := body[i : i+strings.Index(body[i:], "</table>")]
		weeks := strings.Count(body[strings.Index(body, `<table id="kpi-weeks">`):], `<tr><th scope="row">`)
		if n := strings.Count(table, `<span title="week of `); n != weeks || weeks < 1 {
			t.Errorf("the service's row has %d weekly values, the report %d weeks", n, weeks)
		}
		if !regexp.MustCompile(`received, [0-9]+ of [1-9] due closed on time">[0-9]+ %</span>`).MatchString(table) {
			t.Error("no week of the service shows its share on time")
		}
	}
	// A supervisor, who may open the 311 queue, gets each service linked
	// to its requests there; the analyst above did not.
	// to its requests of the report's period there (the one received
	// before it left out); the analyst above did not.
	to := civic.DayOf(f.now, time.UTC).AddDate(0, 0, -1) // the report's default period, in the fixture's zone
	from := civic.WeekOf(to).AddDate(0, 0, -49)
	query := "status=all&service=" + url.QueryEscape(svc.Code) + "&from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly) + "&hidden=no"
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
	if sv := byScope["service"]; sv["key"] != svc.Code || sv["collections"] != "" || sv["days"] != byScope["total"]["days"] {
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

// service returns the first active 311 service of the fixture's catalogue.
func (f *fixture) service() civic.Service {
	f.t.Helper()
	svcs, err := f.st.ListServices(context.Background(), false)
	if err != nil || len(svcs) == 0 {
		f.t.Fatalf("services: %v %v", svcs, err)
	}
	return svcs[0]
}

// addRequest stores a 311 request that came in ageH hours before f.now,
// promised promiseH hours later, and closed closeH hours after it came
// in (open when closeH is negative).
func (f *fixture) addRequest(ageH, promiseH, closeH float64) string {
	f.t.Helper()
	ctx := context.Background()
	svc := f.service()
	hours := func(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }
	in := f.now.Add(-hours(ageH))
	due := in.Add(hours(promiseH))
	f.requests++
	req := civic.ServiceRequest{Token: fmt.Sprintf("kpi-%d", f.requests), ServiceCode: svc.Code, Status: civic.StatusSubmitted,
		Address: "1 Main St", RequestedAt: in, ExpectedAt: &due}
	if closeH >= 0 {
		closed := in.Add(hours(closeH))
		req.Status, req.CloseReason, req.ClosedAt = civic.StatusClosed, civic.CloseFixed, &closed
	}
	if f.requestAt != nil {
		req.Lat, req.Long = &f.requestAt[0], &f.requestAt[1]
	}
	if err := f.st.CreateServiceRequest(ctx, &req, nil, nil); err != nil {
		f.t.Fatal(err)
	}
	return req.ID
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

// binsInTwoZones returns the fixture city's first bin and a bin of
// another zone.
func (f *fixture) binsInTwoZones() (a, b civic.Bin) {
	f.t.Helper()
	a = f.city.Bins[0]
	for _, x := range f.city.Bins {
		if x.ZoneID != "" && x.ZoneID != a.ZoneID {
			b = x
			break
		}
	}
	if a.ZoneID == "" || b.ID == "" {
		f.t.Fatalf("want bins in two zones; have %q and %q", a.ZoneID, b.ZoneID)
	}
	return a, b
}

// TestKPI311ZoneLink: with a zone filter the table by service counts that
// zone's requests, and a service's link opens those requests in the
// queue, with the zone as its filter: the zone of the bin a request is
// about wins over its location, and a located request without a bin
// counts in the first zone containing it.
func TestKPI311ZoneLink(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 40, open311: true})
	ctx := context.Background()
	svc := f.service()
	zones, err := f.st.ListZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.binsInTwoZones()
	firstZone := func(lon, lat float64) string {
		for _, z := range zones {
			if z.Boundary.Contains(lon, lat) {
				return z.ID
			}
		}
		return ""
	}
	due := f.now.Add(24 * time.Hour)
	add := func(token, object string, at civic.Bin) string {
		lat, lon := at.Lat, at.Lon
		r := civic.ServiceRequest{Token: token, ServiceCode: svc.Code, Status: civic.StatusSubmitted, Address: "2 Bin St",
			Lat: &lat, Long: &lon, RequestedAt: f.now.Add(-50 * time.Hour), ExpectedAt: &due}
		if token == "hidden" {
			r.Moderation, r.ModerationReason = civic.ModHidden, "abuse"
		}
		if object != "" {
			r.ObjectType, r.ObjectID = "bin", object
		}
		if err := f.st.CreateServiceRequest(ctx, &r, nil, nil); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	aboutA := add("about-a", a.ID, b)   // about a bin of A, located in B: A's
	aboutB := add("about-b", b.ID, a)   // about a bin of B, located in A: B's
	locatedA := add("located-a", "", a) // no bin: the first zone containing it
	hidden := add("hidden", a.ID, a)    // hidden by a moderator: in neither
	want := map[string]bool{aboutA: true}
	if firstZone(a.Lon, a.Lat) == a.ZoneID {
		want[locatedA] = true
	}

	super := f.client("super")
	_, body := f.get(super, "/kpi?zone="+url.QueryEscape(a.ZoneID))
	m := regexp.MustCompile(`<a href="(/queue\?[^"]*)" title="This service's requests in ([^"]*) received in the period in the 311 queue">` +
		regexp.QuoteMeta(html.EscapeString(svc.Name)) + `</a></th><td>(\d+)</td>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the report of zone %s lacks the service's link", a.ZoneID)
	}
	if n, _ := strconv.Atoi(m[3]); n != len(want) {
		t.Errorf("zone %s counts %d requests, want %d", a.ZoneID, n, len(want))
	}
	link := html.UnescapeString(m[1])
	if !strings.Contains(link, "zone="+url.QueryEscape(a.ZoneID)) {
		t.Errorf("link %s does not carry the zone", link)
	}
	res, queue := f.get(super, link)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", link, res.StatusCode)
	}
	got := map[string]bool{}
	for _, q := range regexp.MustCompile(`<tr class="[^"]*" id="q-([0-9]+)">`).FindAllStringSubmatch(queue, -1) {
		got[q[1]] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("the link opens requests %v, want %v (about B's bin: %s, hidden: %s)", got, want, aboutB, hidden)
	}
	if !strings.Contains(queue, `name="hidden" value="no" checked`) {
		t.Errorf("the queue's form does not keep hidden reports left out")
	}
	// The city's report links without a zone and opens all three.
	if _, body := f.get(super, "/kpi"); !strings.Contains(body, `title="This service's requests received in the period in the 311 queue">`) {
		t.Errorf("the city's report lacks the service's link without a zone")
	}
	if res, body := f.get(super, "/queue?status=all&zone=nowhere"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<p>zone: ") {
		t.Errorf("GET /queue?zone=nowhere: %d, want 400 naming zone", res.StatusCode)
	}
}

// TestQueueZoneReadOnce: the queue filtered by zone shows that zone's
// requests, and each page reads the zones once, though its form lists
// them and both its page of requests and its count filter by them.
func TestQueueZoneReadOnce(t *testing.T) {
	var reads atomic.Int64
	f := newFixture(t, fixtureOpts{bins: 40, open311: true, deps: func(d *Deps) {
		d.Store = zoneReadsStore{d.Store, &reads}
		d.ServiceDesk = zoneReadsDesk{d.ServiceDesk, &reads}
	}})
	ctx := context.Background()
	svc := f.service()
	a, b := f.binsInTwoZones()
	about := func(bin civic.Bin, ageH int) string {
		r := civic.ServiceRequest{Token: fmt.Sprintf("%s-%d", bin.ID, ageH), ServiceCode: svc.Code, Status: civic.StatusSubmitted,
			Address: "3 Zone St", Lat: &bin.Lat, Long: &bin.Lon, ObjectType: "bin", ObjectID: bin.ID,
			RequestedAt: f.now.Add(-time.Duration(ageH) * time.Hour)}
		if err := f.st.CreateServiceRequest(ctx, &r, nil, nil); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	newA, oldA, inB := about(a, 1), about(a, 2), about(b, 3)

	super := f.client("super")
	rows := regexp.MustCompile(`<tr class="[^"]*" id="q-([0-9]+)">`)
	zone := "&zone=" + url.QueryEscape(a.ZoneID)
	for _, c := range []struct {
		query string
		want  []string // newest first
	}{
		{"", []string{newA, oldA, inB}},
		{zone, []string{newA, oldA}},
		{zone + "&offset=1", []string{oldA}}, // a later page: counted too
	} {
		reads.Store(0)
		res, body := f.get(super, "/queue?status=all"+c.query)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /queue?status=all%s: %d", c.query, res.StatusCode)
		}
		var got []string
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("GET /queue?status=all%s: requests %v, want %v", c.query, got, c.want)
		}
		if n := reads.Load(); n != 1 {
			t.Errorf("GET /queue?status=all%s read the zones %d times, want once", c.query, n)
		}
	}
}

// zoneReadsStore counts the zones read through a store.
type zoneReadsStore struct {
	civic.Store
	reads *atomic.Int64
}

func (s zoneReadsStore) ListZones(ctx context.Context) ([]civic.Zone, error) {
	s.reads.Add(1)
	return s.Store.ListZones(ctx)
}

// zoneReadsDesk counts the zones the store reads for a desk's listing or
// count: when filtered by zone without the zones
// (civic.ServiceRequestFilter.Zones).
type zoneReadsDesk struct {
	civic.ServiceDesk
	reads *atomic.Int64
}

func (d zoneReadsDesk) Requests(ctx context.Context, f civic.ServiceRequestFilter) ([]civic.ServiceRequest, error) {
	d.count(f)
	return d.ServiceDesk.Requests(ctx, f)
}

func (d zoneReadsDesk) CountRequests(ctx context.Context, f civic.ServiceRequestFilter) (int, error) {
	d.count(f)
	return d.ServiceDesk.CountRequests(ctx, f)
}

func (d zoneReadsDesk) count(f civic.ServiceRequestFilter) {
	if f.Zone != "" && f.Zones == nil {
		d.reads.Add(1)
	}
}

// TestQueuePages: the queue shows queuePageSize requests a page, says
// where it is and links the pages; "held" finds a held request however
// many newer ones there are.
func TestQueuePages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 2, open311: true})
	ctx := context.Background()
	svc := f.service()
	held := civic.ServiceRequest{Token: "held", ServiceCode: svc.Code, Status: civic.StatusSubmitted,
		Address: "9 Held Rd", RequestedAt: f.now.Add(-1000 * time.Hour), Moderation: civic.ModHeld}
	if err := f.st.CreateServiceRequest(ctx, &held, nil, nil); err != nil {
		t.Fatal(err)
	}
	const n = queuePageSize + 5
	for i := range n {
		f.addRequest(float64(n-i), 24, -1)
	}
	super := f.client("super")
	rows := regexp.MustCompile(`<tr class="[^"]*" id="q-([0-9]+)">`)
	_, body := f.get(super, "/queue?status=all&service="+url.QueryEscape(svc.Code))
	if got := len(rows.FindAllString(body, -1)); got != queuePageSize {
		t.Errorf("the first page shows %d requests, want %d", got, queuePageSize)
	}
	if !strings.Contains(body, fmt.Sprintf(`>1–%d of %d requests<`, queuePageSize, n+1)) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("the first page does not say it is the first of several")
	}
	m := regexp.MustCompile(`<a class="button" href="([^"]+)" rel="next">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the first page has no link to the next")
	}
	next := html.UnescapeString(m[1])
	if !strings.Contains(next, "offset="+strconv.Itoa(queuePageSize)) || !strings.Contains(next, "service="+url.QueryEscape(svc.Code)) {
		t.Errorf("next page link %s", next)
	}
	_, body = f.get(super, next)
	if got := len(rows.FindAllString(body, -1)); got != n+1-queuePageSize {
		t.Errorf("the second page shows %d requests, want %d", got, n+1-queuePageSize)
	}
	if !strings.Contains(body, fmt.Sprintf(`>%d–%d of %d requests<`, queuePageSize+1, n+1, n+1)) || !strings.Contains(body, `rel="prev"`) ||
		strings.Contains(body, `rel="next"`) || !strings.Contains(body, "9 Held Rd") {
		t.Errorf("the second page does not say it is the last, or lacks the oldest request")
	}
	_, body = f.get(super, "/queue?status=all&offset=1000")
	if !strings.Contains(body, fmt.Sprintf(`id="queue-count">0 requests on this page, %d in all</p>`, n+1)) || !strings.Contains(body, `rel="prev"`) {
		t.Errorf("a page past the end does not say how many there are, or cannot go back")
	}
	_, body = f.get(super, "/queue?status=held")
	if got := rows.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][1] != held.ID {
		t.Errorf("status held lists %v, want only request %s", got, held.ID)
	}
	if !strings.Contains(body, `id="queue-count">1 request</p>`) {
		t.Errorf("a page of one request does not say \"1 request\"")
	}
}

// TestRequestsShown: the public map and list of open requests show
// requestsShown at a time, newest first, count them all and page through
// them; a request on no page is none on the map either.
func TestRequestsShown(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 2, open311: true})
	anon := &http.Client{}
	f.requestAt = &[2]float64{52.1, 4.3} // the oldest is on the map
	first := f.addRequest(48, 24, -1)
	f.requestAt = nil
	if _, body := f.get(anon, "/requests"); !strings.Contains(body, `<p class="count" id="reqcount">1 open request.</p>`) {
		t.Errorf("one open request: the page does not count it")
	}
	for i := range requestsShown + 20 {
		f.addRequest(float64(i)/100, 24, -1)
	}
	total := requestsShown + 21
	ids := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<tr><td><a href="/requests/([^"]+)">`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	_, body := f.get(anon, "/requests")
	page1 := ids(body)
	if len(page1) != requestsShown {
		t.Errorf("the first page lists %d requests, want %d", len(page1), requestsShown)
	}
	if want := fmt.Sprintf(`Open requests 1–%d of %d, newest first.`, requestsShown, total); !strings.Contains(body, want) {
		t.Errorf("the first page does not say %q", want)
	}
	next := fmt.Sprintf(`href="/requests?offset=%d" rel="next"`, requestsShown)
	if !strings.Contains(body, next) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("the first page links to the next (%v) or to a previous one (%v)", strings.Contains(body, next), strings.Contains(body, `rel="prev"`))
	}
	if slices.Contains(page1, first) {
		t.Errorf("the oldest request %s is on the first page", first)
	}
	_, body = f.get(anon, fmt.Sprintf("/requests?offset=%d", requestsShown))
	page2 := ids(body)
	if len(page2) != 21 || !slices.Contains(page2, first) {
		t.Errorf("the second page lists %d requests (want 21), the oldest among them: %v", len(page2), slices.Contains(page2, first))
	}
	for _, id := range page2 {
		if slices.Contains(page1, id) {
			t.Errorf("request %s is on both pages", id)
		}
	}
	if want := fmt.Sprintf(`Open requests %d–%d of %d, newest first.`, requestsShown+1, total, total); !strings.Contains(body, want) {
		t.Errorf("the second page does not say %q", want)
	}
	if !strings.Contains(body, `href="/requests" rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("the last page does not link back to the first, or links to a next one")
	}
	if !strings.Contains(html.UnescapeString(body), `"id":"`+first+`"`) {
		t.Errorf("the second page's map does not hold the oldest request %s", first)
	}
	if _, body = f.get(anon, "/requests?offset=5000"); !strings.Contains(body, fmt.Sprintf(`No open requests on this page, %d in all.`, total)) {
		t.Errorf("a page past the end does not say so")
	}
}
