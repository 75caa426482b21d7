package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// makePlan makes the fixture day's plan as the supervisor c and returns it.
func (f *fixture) makePlan(c *http.Client) civic.Plan {
	f.t.Helper()
	res, err := c.PostForm(f.srv.URL+"/plans", url.Values{"date": {f.date()}})
	if err != nil {
		f.t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/plans/") {
		f.t.Fatalf("POST /plans: %d to %q, want 303 to the plan", res.StatusCode, loc)
	}
	pl, err := f.plans.Plan(f.t.Context(), strings.TrimPrefix(loc, "/plans/"))
	if err != nil {
		f.t.Fatal(err)
	}
	if len(pl.Routes) == 0 {
		f.t.Fatalf("the plan has no routes: %+v", pl.Stats)
	}
	return pl
}

func post(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 400 {
		b, _ := io.ReadAll(res.Body)
		t.Logf("POST %s: %d %s", u, res.StatusCode, b)
	}
	return res
}

// firstBin is the first bin stop of the plan's first route with bins.
func firstBin(t *testing.T, pl civic.Plan) (civic.Route, civic.Stop) {
	t.Helper()
	for _, rt := range pl.Routes {
		for _, s := range rt.Stops {
			if s.Kind == civic.StopBin {
				return rt, s
			}
		}
	}
	t.Fatal("no bin stop in the plan")
	return civic.Route{}, civic.Stop{}
}

// TestPlanPages walks a day through the pages: make the plan, read it,
// export it, drop a bin, lock it, report a stop from the crew page
// without JavaScript, and read planned versus actual.
func TestPlanPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 40, planning: true})
	super := f.client("super")
	pl := f.makePlan(super)
	base := f.srv.URL + "/plans/" + pl.ID

	res, body := f.get(super, "/plans")
	if res.StatusCode != 200 || !strings.Contains(body, pl.Date) || !strings.Contains(body, `id="makeplan"`) {
		t.Fatalf("GET /plans: %d, plan listed %v", res.StatusCode, strings.Contains(body, pl.Date))
	}
	res, body = f.get(super, "/plans/"+pl.ID)
	if res.StatusCode != 200 {
		t.Fatalf("GET plan: %d", res.StatusCode)
	}
	for _, want := range []string{"Route 1", `class="loadchart"`, `id="lock"`, `name="to_route"`, "must go", "Route sheet"} {
		if !strings.Contains(body, want) {
			t.Errorf("plan page lacks %q", want)
		}
	}

	// Exports.
	stops := 0
	for _, rt := range pl.Routes {
		stops += len(rt.Stops)
	}
	_, gpxBody := f.get(super, "/plans/"+pl.ID+"/export/gpx")
	var gpx struct {
		XMLName xml.Name
		Version string `xml:"version,attr"`
		Routes  []struct {
			Points []struct {
				Lat  float64 `xml:"lat,attr"`
				Lon  float64 `xml:"lon,attr"`
				Name string  `xml:"name"`
			} `xml:"rtept"`
		} `xml:"rte"`
	}
	if err := xml.Unmarshal([]byte(gpxBody), &gpx); err != nil {
		t.Fatalf("GPX is not XML: %v", err)
	}
	pts := 0
	for _, r := range gpx.Routes {
		pts += len(r.Points)
	}
	if gpx.XMLName.Local != "gpx" || gpx.XMLName.Space != "http://www.topografix.com/GPX/1/1" || gpx.Version != "1.1" || len(gpx.Routes) != len(pl.Routes) || pts != stops {
		t.Errorf("GPX: %v version %q, %d routes, %d points; want 1.1, %d routes, %d points", gpx.XMLName, gpx.Version, len(gpx.Routes), pts, len(pl.Routes), stops)
	}
	res, geoBody := f.get(super, "/plans/"+pl.ID+"/export/geojson")
	var fc struct {
		Type     string
		Features []struct {
			Geometry struct {
				Type        string
				Coordinates json.RawMessage
			}
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(geoBody), &fc); err != nil {
		t.Fatalf("GeoJSON: %v", err)
	}
	lines, points := 0, 0
	for _, ft := range fc.Features {
		switch ft.Geometry.Type {
		case "LineString":
			lines++
		case "Point":
			points++
		}
	}
	if fc.Type != "FeatureCollection" || lines != len(pl.Routes) || points != stops || res.Header.Get("Content-Type") != "application/geo+json" {
		t.Errorf("GeoJSON: %s with %d lines and %d points (%s), want %d and %d", fc.Type, lines, points, res.Header.Get("Content-Type"), len(pl.Routes), stops)
	}
	_, csvBody := f.get(super, "/plans/"+pl.ID+"/export/csv")
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) != stops+1 {
		t.Errorf("CSV: %d rows (%v), want %d", len(rows), err, stops+1)
	}
	rt, stop := firstBin(t, pl)
	for _, p := range []string{"/routes/" + rt.ID + "/export/gpx", "/routes/" + rt.ID + "/export/geojson", "/routes/" + rt.ID + "/export/csv", "/routes/" + rt.ID + "/sheet"} {
		if res, _ := f.get(super, "/plans/"+pl.ID+p); res.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	if res, _ := f.get(super, "/plans/"+pl.ID+"/export/kml"); res.StatusCode != 400 {
		t.Errorf("unknown format: %d, want 400", res.StatusCode)
	}
	if res, _ := f.get(super, "/plans/"+pl.ID+"/routes/nope/sheet"); res.StatusCode != 404 {
		t.Errorf("unknown route: %d, want 404", res.StatusCode)
	}

	// An analyst reads but does not edit; a crew member neither edits.
	analystName := "ana"
	if _, err := f.auth.CreateUser(t.Context(), analystName, civic.RoleAnalyst, testPassword); err != nil {
		t.Fatal(err)
	}
	ana := f.client(analystName)
	if res, body := f.get(ana, "/plans/"+pl.ID); res.StatusCode != 200 || strings.Contains(body, `id="lock"`) {
		t.Errorf("analyst: %d, lock button shown %v", res.StatusCode, strings.Contains(body, `id="lock"`))
	}
	if res := post(t, ana, base+"/status", url.Values{"to": {"locked"}}); res.StatusCode != 403 {
		t.Errorf("analyst locks: %d, want 403", res.StatusCode)
	}

	// Drop a bin: the plan is re-optimised without it.
	_, drop := firstBin(t, pl)
	if res := post(t, super, base+"/moves", url.Values{"bin_id": {drop.BinID}, "to_route": {"-"}}); res.StatusCode != 303 {
		t.Fatalf("drop: %d", res.StatusCode)
	}
	pl2, _ := f.plans.Plan(t.Context(), pl.ID)
	for _, r := range pl2.Routes {
		for _, s := range r.Stops {
			if s.BinID == drop.BinID {
				t.Errorf("bin %s still in route %d after being dropped", drop.BinID, r.Seq)
			}
		}
	}

	// Lock; the crew sees its route and reports a stop with the form.
	if res := post(t, super, base+"/status", url.Values{"to": {"locked"}}); res.StatusCode != 303 {
		t.Fatalf("lock: %d", res.StatusCode)
	}
	pl2, _ = f.plans.Plan(t.Context(), pl.ID)
	if pl2.Status != civic.PlanLocked {
		t.Fatalf("status %s after lock", pl2.Status)
	}
	crew := f.client("crew1")
	res, body = f.get(crew, "/crew")
	var mine *civic.Route
	for i, r := range pl2.Routes {
		if c := f.city.Crews[0]; r.CrewID == c.ID || r.CrewID == "" && r.TruckID == c.TruckID {
			mine = &pl2.Routes[i]
		}
	}
	if mine == nil {
		t.Fatalf("the first crew has no route in this plan (crews %v)", pl2.Routes)
	}
	_, stop = firstBin(t, civic.Plan{Routes: []civic.Route{*mine}})
	if res.StatusCode != 200 || !strings.Contains(body, `data-stop="`+stop.ID+`"`) || !strings.Contains(body, "Collected") {
		t.Fatalf("crew page: %d, next stop %s shown %v", res.StatusCode, stop.ID, strings.Contains(body, stop.ID))
	}
	form := url.Values{"client_id": {"t-1"}, "status": {"collected"}, "fill_set": {"1"}, "fill_pct": {"80"}}
	for range 2 { // a resend is applied once
		if res := post(t, crew, f.srv.URL+"/crew/stops/"+stop.ID, form); res.StatusCode != 303 {
			t.Fatalf("report: %d", res.StatusCode)
		}
	}
	if res := post(t, crew, f.srv.URL+"/crew/stops/"+stop.ID, url.Values{"client_id": {"t-2"}, "status": {"skipped"}}); res.StatusCode != 400 {
		t.Errorf("skip without a reason: %d, want 400", res.StatusCode)
	}
	if res := post(t, ana, f.srv.URL+"/crew/stops/"+stop.ID, form); res.StatusCode != 403 {
		t.Errorf("analyst reports: %d, want 403", res.StatusCode)
	}
	got, _ := f.plans.Route(t.Context(), mine.ID)
	for _, s := range got.Stops {
		if s.ID == stop.ID && (s.Status != civic.StopCollected || s.FillSeen == nil || *s.FillSeen != 0.8) {
			t.Errorf("stop after report: %s fill seen %v", s.Status, s.FillSeen)
		}
	}

	// A supervisor picks the crew.
	if res, body := f.get(super, "/crew?crew="+f.city.Crews[0].ID); res.StatusCode != 200 || !strings.Contains(body, `class="crewpick"`) || !strings.Contains(body, `data-route="`+mine.ID+`"`) {
		t.Errorf("supervisor's crew view: %d, route %s shown %v", res.StatusCode, mine.ID, strings.Contains(body, mine.ID))
	}

	// A skip with a photo, as the page's script sends it when the API is
	// not there: multipart, answered in JSON.
	var second civic.Stop
	for _, s := range mine.Stops {
		if s.Kind == civic.StopBin && s.ID != stop.ID {
			second = s
			break
		}
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range map[string]string{"client_id": "t-3", "status": "skipped", "skip_reason": "blocked", "at": f.clock().Add(-time.Minute).Format(time.RFC3339)} {
		mw.WriteField(k, v)
	}
	pw, _ := mw.CreateFormFile("photo", "bin.png")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	pw.Write(png)
	mw.Close()
	req, _ := http.NewRequest("POST", f.srv.URL+"/crew/stops/"+second.ID, &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	res, err = crew.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Stop    civic.Stop `json:"stop"`
		Applied bool       `json:"applied"`
	}
	json.NewDecoder(res.Body).Decode(&answer)
	res.Body.Close()
	if res.StatusCode != 200 || !answer.Applied || answer.Stop.Status != civic.StopSkipped || answer.Stop.SkipReason != civic.SkipBlocked {
		t.Errorf("multipart skip: %d %+v", res.StatusCode, answer)
	}
	if b, ct, err := f.plans.StopPhoto(t.Context(), second.ID); err != nil || ct != "image/png" || !bytes.Equal(b, png) {
		t.Errorf("stop photo: %d bytes %q, %v", len(b), ct, err)
	}

	// Planned versus actual.
	res, body = f.get(super, "/plans/"+pl.ID+"/report")
	if res.StatusCode != 200 || !strings.Contains(body, "Planned versus actual") {
		t.Fatalf("report: %d", res.StatusCode)
	}
	_, csvBody = f.get(super, "/plans/"+pl.ID+"/report.csv")
	rows, err = csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) != len(pl2.Routes)+2 {
		t.Fatalf("report CSV: %d rows, %v", len(rows), err)
	}
	total := rows[len(rows)-1]
	if total[3] != "1" || total[4] != "1" || total[6] != "1" {
		t.Errorf("report CSV total collected %q, skipped %q (blocked %q), want 1, 1, 1: %v", total[3], total[4], total[6], total)
	}
}

// TestMakePlanStream: a script that asks for events hears the planner's
// progress and then where the plan is.
func TestMakePlanStream(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 20, planning: true})
	c := f.client("super")
	req, _ := http.NewRequest("POST", f.srv.URL+"/plans", strings.NewReader(url.Values{"date": {f.date()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	if res.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(body, "event: progress\ndata: {\"done\":0,\"stage\":\"start\"}") ||
		!strings.Contains(body, `"stage":"solve"`) || !strings.Contains(body, "event: done\ndata: {\"url\":\"/plans/") {
		t.Errorf("stream %s:\n%s", res.Header.Get("Content-Type"), body)
	}
	// A bad date is an error event, not a broken stream.
	req, _ = http.NewRequest("POST", f.srv.URL+"/plans", strings.NewReader("date=2026-02-30"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/event-stream")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("bad date: %d, want 400", res.StatusCode)
	}
}

// TestPlansPages: the list shows the newest plansPageSize plans and links
// the older ones, a day's plan on one page only.
func TestPlansPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 20, planning: true})
	f.addHistory(75) // a plan a day but Sundays: 64 or 65 plans
	plans, err := f.st.ListPlans(context.Background(), civic.PlanFilter{})
	if err != nil || len(plans) <= plansPageSize {
		t.Fatalf("%d plans, %v; want more than %d", len(plans), err, plansPageSize)
	}
	super := f.client("super")
	row := regexp.MustCompile(`<td><a href="/plans/([^"]+)">(\d{4}-\d\d-\d\d)</a></td>`)
	seen := map[string]int{}
	next, pages := "/plans", 0
	for next != "" {
		res, body := f.get(super, next)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", next, res.StatusCode)
		}
		pages++
		rows := row.FindAllStringSubmatch(body, -1)
		if len(rows) == 0 || len(rows) > plansPageSize {
			t.Fatalf("GET %s: %d plans", next, len(rows))
		}
		for i, r := range rows {
			seen[r[1]]++
			if i > 0 && r[2] >= rows[i-1][2] {
				t.Errorf("GET %s: %s after %s, want newest first", next, r[2], rows[i-1][2])
			}
		}
		if pages > 1 && !strings.Contains(body, `href="/plans">← Newest</a>`) {
			t.Errorf("GET %s lacks the link to the newest plans", next)
		}
		next = ""
		if m := regexp.MustCompile(`<a class="button" href="([^"]+)" rel="next">Older`).FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	if pages != 2 || len(seen) != len(plans) {
		t.Errorf("%d pages showed %d of %d plans", pages, len(seen), len(plans))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("plan %s shown %d times", id, n)
		}
	}
	if res, body := f.get(super, "/plans?before=soon"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<p>before: ") {
		t.Errorf("GET /plans?before=soon: %d, want 400 naming before", res.StatusCode)
	}
	if _, body := f.get(super, "/plans?before=2000-01-01"); !strings.Contains(body, "No plans before 2000-01-01.") {
		t.Errorf("a day before every plan does not say there are none")
	}
}

// TestCrewPageNoRoute checks what the crew page says on a day without a
// route for the crew: before the day's plan is locked, that a route shows
// once it is; after, with no route for the crew (a day without service),
// that there is nothing to collect.
func TestCrewPageNoRoute(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10, planning: true})
	crew := f.client("crew1")
	date := f.now.UTC().Format(time.DateOnly) // the fixture's city keeps UTC
	res, body := f.get(crew, "/crew")
	if res.StatusCode != 200 || !strings.Contains(body, "A route shows here once the day") {
		t.Fatalf("no plan: %d\n%s", res.StatusCode, body)
	}
	pl := &civic.Plan{ID: "plan-" + date, Date: date, CreatedBy: "scheduler"}
	if err := f.st.SavePlan(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SetPlanStatus(t.Context(), pl.ID, civic.PlanDraft, civic.PlanLocked); err != nil {
		t.Fatal(err)
	}
	res, body = f.get(crew, "/crew")
	if res.StatusCode != 200 || !strings.Contains(body, "Nothing to collect: the plan for "+date+" (locked) has no route for") {
		t.Fatalf("a locked plan without the crew's route: %d\n%s", res.StatusCode, body)
	}
}

// TestPlanNotPlanned: the plan page lists the bins no route visits, the
// fullest first, with why; a supervisor adds one to a route of its stream
// and the re-optimised plan visits it; an analyst sees the list without
// the form.
func TestPlanNotPlanned(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 40, planning: true})
	super := f.client("super")
	pl := f.makePlan(super)
	visited := map[string]bool{}
	streams := map[civic.Stream]bool{}
	for _, rt := range pl.Routes {
		streams[rt.Stream] = true
		for _, s := range rt.Stops {
			visited[s.BinID] = true
		}
	}
	var out []civic.BinDecision
	for _, d := range pl.Decisions {
		if !visited[d.BinID] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("every one of the %d bins is in the plan: nothing to list", len(pl.Decisions))
	}
	_, body := f.get(super, "/plans/"+pl.ID)
	i := strings.Index(body, `id="not-planned"`)
	if i < 0 {
		t.Fatal("the plan page has no section of the bins not in the plan")
	}
	section := body[i:]
	if rows := strings.Count(section, `<a href="/bins/`); rows != len(out) {
		t.Errorf("%d bins listed as not in the plan, want %d", rows, len(out))
	}
	for _, v := range pl.Routes[0].Stops {
		if v.Kind == civic.StopBin && strings.Contains(section, `href="/bins/`+v.BinID+`"`) {
			t.Errorf("bin %s is in route 1 and listed as not in the plan", v.BinID)
		}
	}
	// The fullest first (no fill known: last), each with its reason.
	listed := slices.Clone(out)
	at := func(d civic.BinDecision) int { return strings.Index(section, `href="/bins/`+d.BinID+`"`) }
	slices.SortFunc(listed, func(a, b civic.BinDecision) int { return cmp.Compare(at(a), at(b)) })
	fill := func(d civic.BinDecision) float64 {
		if d.Fill == nil {
			return -1
		}
		return *d.Fill
	}
	for k, d := range listed {
		if k > 0 && fill(d) > fill(listed[k-1])+1e-9 {
			t.Errorf("bin %s (fill %.2f) listed after bin %s (fill %.2f)", d.BinID, fill(d), listed[k-1].BinID, fill(listed[k-1]))
		}
		if !strings.Contains(section[at(d):], html.EscapeString(d.Reason)) {
			t.Errorf("bin %s listed without its reason %q", d.BinID, d.Reason)
		}
	}

	// Each bin's page says where it stands in today's plan.
	rt, stop := firstBin(t, pl)
	if _, body := f.get(super, "/bins/"+stop.BinID); !strings.Contains(body, `id="bin-plan"`) ||
		!strings.Contains(body, fmt.Sprintf("route %d · ", rt.Seq)) || !strings.Contains(body, "stop 1 of ") {
		t.Errorf("bin %s's page does not give its place in route %d, stop 1", stop.BinID, rt.Seq)
	}
	if _, body := f.get(super, "/bins/"+listed[0].BinID); !strings.Contains(body, "#not-planned\">not in it</a>") ||
		!strings.Contains(body, html.EscapeString(listed[0].Reason)) {
		t.Errorf("bin %s's page does not say it is not in today's plan, and why (%q)", listed[0].BinID, listed[0].Reason)
	}
	if res, body := f.get(f.client("crew1"), "/bins/"+stop.BinID); res.StatusCode != 200 || strings.Contains(body, `id="bin-plan"`) {
		t.Errorf("a crew member's bin page: %d, shows the plan %v", res.StatusCode, strings.Contains(body, `id="bin-plan"`))
	}

	// Add one to a route of its stream.
	var add civic.BinDecision
	for _, d := range out {
		if streams[d.Stream] {
			add = d
			break
		}
	}
	if add.BinID == "" {
		t.Fatal("no bin left out has a route of its stream")
	}
	var to civic.Route
	for _, rt := range pl.Routes {
		if rt.Stream == add.Stream {
			to = rt
			break
		}
	}
	if !strings.Contains(section, `aria-label="Add `+add.BinID+` to"`) {
		t.Errorf("bin %s has no add form", add.BinID)
	}
	res := post(t, super, f.srv.URL+"/plans/"+pl.ID+"/moves", url.Values{"bin_id": {add.BinID}, "to_route": {to.ID}})
	if loc := res.Header.Get("Location"); res.StatusCode != 303 || !strings.Contains(loc, "added") {
		t.Fatalf("add %s to route %d: %d to %q, want 303 saying added", add.BinID, to.Seq, res.StatusCode, loc)
	}
	got, err := f.plans.Plan(t.Context(), pl.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, rt := range got.Routes {
		for _, s := range rt.Stops {
			if s.BinID == add.BinID {
				in = rt.Seq
			}
		}
	}
	if in != to.Seq {
		t.Errorf("bin %s is in route %d after being added to route %d", add.BinID, in, to.Seq)
	}
	if _, body := f.get(super, "/plans/"+pl.ID); strings.Contains(body[strings.Index(body, `id="not-planned"`):], `href="/bins/`+add.BinID+`"`) {
		t.Errorf("bin %s still listed as not in the plan after being added", add.BinID)
	}

	// A city skipping more bins than the page lists: the fullest, and how
	// many there are.
	defer func(n int) { notPlannedShown = n }(notPlannedShown)
	notPlannedShown = 3
	_, body = f.get(super, "/plans/"+pl.ID)
	section = body[strings.Index(body, `id="not-planned"`):]
	if rows := strings.Count(section, `<a href="/bins/`); rows != 3 || !strings.Contains(section, fmt.Sprintf("the 3 fullest of %d", len(out)-1)) {
		t.Errorf("with room for 3: %d bins listed, summary says 3 of %d: %v", rows, len(out)-1, strings.Contains(section, fmt.Sprintf("the 3 fullest of %d", len(out)-1)))
	}
	notPlannedShown = 300

	// An analyst reads the list, without the form.
	if _, err := f.auth.CreateUser(t.Context(), "ana", civic.RoleAnalyst, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(f.client("ana"), "/plans/"+pl.ID); !strings.Contains(body, `id="not-planned"`) || strings.Contains(body, `aria-label="Add `) {
		t.Errorf("analyst: list shown %v, add form shown %v", strings.Contains(body, `id="not-planned"`), strings.Contains(body, `aria-label="Add `))
	}
}

// TestPlanNothingToCollect: a plan for a day without service has no
// routes; the list says there is nothing to collect, and the plan page
// says why for each bin and draws no empty map.
func TestPlanNothingToCollect(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 20, planning: true})
	super := f.client("super")
	sunday := f.now
	for sunday.Weekday() != time.Sunday {
		sunday = sunday.AddDate(0, 0, 1)
	}
	date := sunday.Format(time.DateOnly)
	res := post(t, super, f.srv.URL+"/plans", url.Values{"date": {date}})
	if res.StatusCode != 303 {
		t.Fatalf("POST /plans for %s: %d", date, res.StatusCode)
	}
	pl, err := f.plans.PlanForDate(t.Context(), date)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Routes) != 0 || pl.Stats.MustGo+pl.Stats.MayGo != 0 {
		t.Fatalf("a Sunday plan has %d routes, %d must-go and %d may-go bins; the fixture's streams have no Sunday service", len(pl.Routes), pl.Stats.MustGo, pl.Stats.MayGo)
	}
	_, body := f.get(super, "/plans")
	i := strings.Index(body, `href="/plans/`+pl.ID+`"`)
	if i < 0 {
		t.Fatalf("the plans list does not list %s", pl.ID)
	}
	row, _, _ := strings.Cut(body[i:], "</tr>")
	if !strings.Contains(row, "(nothing to collect)") {
		t.Errorf("the plans list's row for %s does not say there is nothing to collect: %s", date, row)
	}
	_, body = f.get(super, "/plans/"+pl.ID)
	i = strings.Index(body, `id="not-planned"`)
	if i < 0 {
		t.Fatal("the plan page of a day without routes does not list its bins")
	}
	if !strings.Contains(body, "no bin needs a truck on this day") || strings.Contains(body, `id="planmap"`) ||
		strings.Count(body[i:], `<a href="/bins/`) != len(pl.Decisions) {
		t.Errorf("the plan page of a day without routes: says why %v, draws a map %v",
			strings.Contains(body, "no bin needs a truck on this day"), strings.Contains(body, `id="planmap"`))
	}
}

// TestQueueItemPlan: a 311 request about a bin in today's plan shows staff
// where the bin stands in it.
func TestQueueItemPlan(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 30, planning: true, open311: true})
	super := f.client("super")
	pl := f.makePlan(super)
	rt, stop := firstBin(t, pl)
	var b civic.Bin
	for _, x := range f.city.Bins {
		if x.ID == stop.BinID {
			b = x
		}
	}
	form := url.Values{"service_code": {"overflowing-bin"}, "attribute[bin_kind]": {"litter"},
		"lat": {ftoa(b.Lat)}, "long": {ftoa(b.Lon)}, "description": {"Overflowing"}}
	res := postReport(t, f.client(""), f.srv.URL, form)
	loc := res.Header.Get("Location")
	readBody(t, res)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/") {
		t.Fatalf("report: %d to %q", res.StatusCode, loc)
	}
	id := strings.TrimPrefix(strings.TrimSuffix(loc, "?new=1"), "/requests/")
	_, body := f.get(super, "/queue/"+id)
	if !strings.Contains(body, `id="request-plan"`) || !strings.Contains(body, fmt.Sprintf("route %d · ", rt.Seq)) {
		t.Errorf("the request about bin %s does not show its place in route %d", b.ID, rt.Seq)
	}
	// The bin's page lists the request, linked to the queue for staff.
	_, body = f.get(super, "/bins/"+b.ID)
	i := strings.Index(body, `id="bin-requests"`)
	if i < 0 || !strings.Contains(body[i:], `href="/queue/`+id+`"`) || !strings.Contains(body[i:], "Overflowing bin") {
		t.Errorf("bin %s's page does not list request %s about it (section found %v)", b.ID, id, i >= 0)
	}
	other := f.city.Bins[0]
	if other.ID == b.ID {
		other = f.city.Bins[1]
	}
	if _, body = f.get(super, "/bins/"+other.ID); !strings.Contains(body, "No 311 request is about this bin.") {
		t.Errorf("bin %s, without requests, does not say so", other.ID)
	}
}
