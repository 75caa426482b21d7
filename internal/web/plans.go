package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The plans pages: pick a date and make its plan, see the routes on a map
// with each route's load over the day and why every bin is in it, move a
// bin to another route or drop it, lock the plan for the crews, print a
// route sheet, export GPX, GeoJSON and CSV.

// routeColours tell routes apart on the map, the charts and the lists; a
// route's colour is routeColours[(Seq-1) % len]. The same list is in
// static/plan.js.
var routeColours = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"}

func routeColour(seq int) string {
	if seq < 1 {
		seq = 1
	}
	return routeColours[(seq-1)%len(routeColours)]
}

// plansEnabled fails with Unavailable when the server has no plan store.
func (u *UI) plansEnabled() error {
	if u.deps.Plans == nil {
		return civic.Errorf(civic.Unavailable, "Collection planning is not enabled on this server.")
	}
	return nil
}

// plannerEnabled is plansEnabled for the pages that change plans.
func (u *UI) plannerEnabled() error {
	if err := u.plansEnabled(); err != nil {
		return err
	}
	if u.deps.Planner == nil {
		return civic.Errorf(civic.Unavailable, "The planner is not running on this server.")
	}
	return nil
}

// today is the service day now, in the city's zone.
func (u *UI) today() string { return u.now().In(u.cfg.Location).Format(time.DateOnly) }

// clock shows a time of day in the city's zone.
func (u *UI) clock(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(u.cfg.Location).Format("15:04")
}

// who names the caller in plans and reports.
func who(p civic.Principal) string {
	if p.KeyID != "" {
		return "key:" + p.KeyID
	}
	return p.Name
}

// plansData is the plans list's model.
type plansData struct {
	Date       string
	Plans      []civic.Plan
	CanOperate bool
	Error      string
	// Before is the day the list ends before ("" for the newest);
	// OlderURL links the plans before the oldest shown, if any.
	Before, OlderURL string
}

// plansPageSize is how many plans a page of the list shows.
const plansPageSize = 60

func (u *UI) plansPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.plansEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	d := plansData{Date: u.today(), CanOperate: p.Can(civic.PermOperate) && u.deps.Planner != nil}
	if v := r.URL.Query().Get("date"); validDate(v) {
		d.Date = v
	}
	f := civic.PlanFilter{Limit: plansPageSize + 1}
	if d.Before = r.URL.Query().Get("before"); d.Before != "" {
		day, err := time.Parse(time.DateOnly, d.Before)
		if err != nil {
			u.fail(w, r, civic.FieldError("before", "must be a date YYYY-MM-DD"))
			return
		}
		f.To = day.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	plans, err := u.deps.Plans.ListPlans(r.Context(), f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	slices.SortFunc(plans, func(a, b civic.Plan) int { return cmp.Compare(b.Date, a.Date) })
	if len(plans) > plansPageSize {
		// A day has one plan: the next page is the days before the
		// oldest shown.
		plans = plans[:plansPageSize]
		d.OlderURL = "/plans?" + url.Values{"before": {plans[len(plans)-1].Date}}.Encode()
	}
	d.Plans = plans
	u.render(w, r, http.StatusOK, "plans", "", pageData{Title: "Plans", Active: "/plans", Principal: p, Data: d})
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// planForm checks a supervisor's plan form before it is acted on: the
// caller may operate plans, the server plans, and the form parses.
func (u *UI) planForm(w http.ResponseWriter, r *http.Request, p civic.Principal) error {
	if err := p.Require(civic.PermOperate); err != nil {
		return err
	}
	if err := u.plannerEnabled(); err != nil {
		return err
	}
	return parseForm(w, r)
}

// makePlan plans the form's date and shows the new plan. Planning takes
// seconds to a minute: the page's script shows a busy state meanwhile.
func (u *UI) makePlan(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.planForm(w, r, p); err != nil {
		u.fail(w, r, err)
		return
	}
	date := r.PostFormValue("date")
	if !validDate(date) {
		u.fail(w, r, civic.Errorf(civic.Invalid, "Pick a date to plan."))
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		u.makePlanStream(w, r, date, who(p))
		return
	}
	plan, err := u.deps.Planner.MakePlan(r.Context(), date, who(p), nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/plans/"+url.PathEscape(plan.ID), http.StatusSeeOther)
}

// makePlanStream makes the plan for a page script that asked for Server-
// Sent Events: "progress" events ({stage, done} with done 0..1) while the
// planner works, then "done" ({url} of the plan) or "error" ({message}).
func (u *UI) makePlanStream(w http.ResponseWriter, r *http.Request, date, by string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	var mu sync.Mutex
	send := func(event string, v any) {
		b, _ := json.Marshal(v)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		rc.Flush()
	}
	var (
		pmu       sync.Mutex // the planner may report from its solver's goroutines
		last      time.Time
		lastStage string
	)
	progress := func(stage string, done float64) {
		pmu.Lock()
		defer pmu.Unlock()
		// The solver reports often: a few updates a second are plenty.
		if now := time.Now(); stage != lastStage || now.Sub(last) >= 250*time.Millisecond {
			last, lastStage = now, stage
			send("progress", map[string]any{"stage": stage, "done": math.Round(done*100) / 100})
		}
	}
	send("progress", map[string]any{"stage": "start", "done": 0})
	plan, err := u.deps.Planner.MakePlan(r.Context(), date, by, progress)
	if err != nil {
		if civic.KindOf(err) == civic.Internal {
			u.log.Error("web: making a plan", "date", date, "err", err)
		}
		send("error", map[string]string{"message": civic.MessageOf(err)})
		return
	}
	send("done", map[string]string{"url": "/plans/" + url.PathEscape(plan.ID)})
}

func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return civic.Errorf(civic.Invalid, "The form could not be read.")
	}
	return nil
}

// routeView is a route as the plan page shows it.
type routeView struct {
	civic.Route
	Colour     string
	TruckName  string
	CrewName   string
	DepotName  string
	Bins       int
	Disposals  int
	Km         string
	Duration   string
	StartEnd   string
	LoadJSON   string // [[unix s...], [litres...]] for the load chart
	Stops      []stopView
	Collected  int
	Skipped    int
	Pending    int
	StreamName string
}

// stopView is a stop as lists show it.
type stopView struct {
	civic.Stop
	ETAText    string
	DoneText   string
	Label      string // the marker's label: the bin's number in the route, "D", "F"
	Km         string
	LoadPct    int // load after the stop, percent of the truck
	MoveChoice []routeChoice
}

// routeChoice is a route a bin may move to.
type routeChoice struct {
	ID, Label string
}

// planView is the plan page's model.
type planView struct {
	Plan       civic.Plan
	Routes     []routeView
	Unplanned  []civic.BinDecision
	CanEdit    bool // a draft, and the caller may operate
	CanLock    bool
	CanUnlock  bool
	Km         string
	Duration   string
	GeoJSONURL string
	TileURL    string
	TileAttr   string
	Moved      string // a notice after an edit
	// NotPlanned are the bins the plan decided on that no route visits
	// (skipped, dropped, or may-go bins the solver left out), fullest
	// first: the answer to "why was this bin not emptied?". At most
	// notPlannedShown of them; NotPlannedAll counts them all.
	NotPlanned    []notPlannedView
	NotPlannedAll int
}

// notPlannedShown bounds the bins not in a plan that its page lists (the
// fullest): a large city skips thousands on most days, and the rest are
// in the plan's decisions in the API.
var notPlannedShown = 300

// notPlannedView is a bin of the plan's decisions that no route visits.
type notPlannedView struct {
	civic.BinDecision
	Name      string // "" when the bin is gone from the registry
	FullAt    string // when the forecast has it full, "" without one
	AddChoice []routeChoice
}

func km(m float64) string { return fmt.Sprintf("%.1f km", m/1000) }

func duration(s float64) string {
	d := time.Duration(s) * time.Second
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

// names are the display names of the assets a plan refers to.
type names struct {
	trucks, crews, depots map[string]string
	crewList              []civic.Crew
	// loc is the city's time zone, for the times of the CSV and GeoJSON
	// exports (GPX keeps UTC, as its format expects); UTC when nil.
	loc *time.Location
}

// localTime is t as RFC 3339 with the city's offset, or "" when zero.
func (n names) localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := n.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.RFC3339)
}

// crewOf names the crew of a route: the one it is assigned to or, when
// it names none, the crew of its truck.
func (n names) crewOf(rt civic.Route) string {
	if rt.CrewID != "" {
		return cmp.Or(n.crews[rt.CrewID], rt.CrewID)
	}
	for _, c := range n.crewList {
		if c.TruckID != "" && c.TruckID == rt.TruckID {
			return c.Name
		}
	}
	return ""
}

func (u *UI) assetNames(r *http.Request) (names, error) {
	ctx := r.Context()
	n := names{trucks: map[string]string{}, crews: map[string]string{}, depots: map[string]string{}, loc: u.cfg.Location}
	trucks, err := u.deps.Store.ListTrucks(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range trucks {
		n.trucks[t.ID] = t.Name
	}
	crews, err := u.deps.Store.ListCrews(ctx)
	if err != nil {
		return n, err
	}
	n.crewList = crews
	for _, c := range crews {
		n.crews[c.ID] = c.Name
	}
	depots, err := u.deps.Store.ListDepots(ctx)
	if err != nil {
		return n, err
	}
	for _, d := range depots {
		n.depots[d.ID] = d.Name
	}
	return n, nil
}

// routeViews turns a plan's routes into what the pages show; choices lists,
// for a draft, the routes each bin may move to (same stream).
func (u *UI) routeViews(pl civic.Plan, n names, choices bool) []routeView {
	out := make([]routeView, 0, len(pl.Routes))
	for _, rt := range pl.Routes {
		v := routeView{Route: rt, Colour: routeColour(rt.Seq), TruckName: cmp.Or(n.trucks[rt.TruckID], rt.TruckID),
			CrewName: n.crewOf(rt), DepotName: cmp.Or(n.depots[rt.DepotID], rt.DepotID),
			Km: km(rt.DistanceM), Duration: duration(rt.DurationS),
			StartEnd: u.clock(rt.Start) + "–" + u.clock(rt.End), StreamName: streamLabel(rt.Stream)}
		var others []routeChoice
		if choices {
			for _, o := range pl.Routes {
				if o.ID != rt.ID && o.Stream == rt.Stream {
					others = append(others, routeChoice{ID: o.ID, Label: fmt.Sprintf("Route %d · %s", o.Seq, cmp.Or(n.trucks[o.TruckID], o.TruckID))})
				}
			}
		}
		ts, loads := []int64{}, []float64{}
		for _, s := range rt.Stops {
			sv := stopView{Stop: s, ETAText: u.clock(s.ETA), Km: km(s.DistanceM)}
			if s.DoneAt != nil {
				sv.DoneText = u.clock(*s.DoneAt)
			}
			if rt.CapacityL > 0 {
				sv.LoadPct = int(s.LoadAfter / rt.CapacityL * 100)
			}
			switch s.Kind {
			case civic.StopBin:
				v.Bins++
				sv.Label = fmt.Sprint(v.Bins)
				sv.MoveChoice = others
				switch s.Status {
				case civic.StopCollected:
					v.Collected++
				case civic.StopSkipped:
					v.Skipped++
				default:
					v.Pending++
				}
			case civic.StopDisposal:
				v.Disposals++
				sv.Label = "F"
			case civic.StopDepot:
				sv.Label = "D"
			case civic.StopBreak:
				sv.Label = "☕"
			}
			v.Stops = append(v.Stops, sv)
			// The load rises at a bin while the crew empties it and drops
			// to nothing at a facility: a point at arrival and one at
			// departure draw both.
			if !s.ETA.IsZero() {
				ts = append(ts, s.ETA.Unix())
				loads = append(loads, s.LoadBefore)
			}
			if !s.Depart.IsZero() && s.Depart.After(s.ETA) {
				ts = append(ts, s.Depart.Unix())
				loads = append(loads, s.LoadAfter)
			}
		}
		b, _ := json.Marshal([]any{ts, loads})
		v.LoadJSON = string(b)
		out = append(out, v)
	}
	return out
}

func (u *UI) planPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.plansEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	pl, err := u.deps.Plans.Plan(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	n, err := u.assetNames(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	operate := p.Can(civic.PermOperate) && u.deps.Planner != nil
	d := planView{Plan: pl, Unplanned: pl.Unplanned,
		CanEdit:    operate && pl.Status == civic.PlanDraft,
		CanLock:    operate && pl.Status.CanBecome(civic.PlanLocked),
		CanUnlock:  operate && pl.Status == civic.PlanLocked,
		Km:         km(pl.Stats.DistanceM),
		Duration:   duration(pl.Stats.DurationS),
		GeoJSONURL: "/plans/" + url.PathEscape(pl.ID) + "/export/geojson",
		TileURL:    u.cfg.TileURL, TileAttr: u.cfg.TileAttribution,
		Moved: r.URL.Query().Get("moved"),
	}
	d.Routes = u.routeViews(pl, n, d.CanEdit)
	if d.NotPlanned, err = u.notPlanned(r.Context(), pl, n, d.CanEdit); err != nil {
		u.fail(w, r, err)
		return
	}
	d.NotPlannedAll = len(d.NotPlanned)
	if len(d.NotPlanned) > notPlannedShown {
		d.NotPlanned = d.NotPlanned[:notPlannedShown]
	}
	u.render(w, r, http.StatusOK, "plan", "", pageData{Title: "Plan " + pl.Date, Active: "/plans", Principal: p, Data: d})
}

// notPlanned lists the bins pl decided on that none of its routes visits,
// except the must-go bins it lists as unplanned, fullest first (then by
// id), with their names and, on a draft the caller may edit (choices),
// the routes of their stream to add them to.
func (u *UI) notPlanned(ctx context.Context, pl civic.Plan, n names, choices bool) ([]notPlannedView, error) {
	visited := map[string]bool{} // or listed as must-go unplanned
	for _, d := range pl.Unplanned {
		visited[d.BinID] = true
	}
	for _, rt := range pl.Routes {
		for _, s := range rt.Stops {
			if s.Kind == civic.StopBin {
				visited[s.BinID] = true
			}
		}
	}
	if err := u.cache.ensure(ctx); err != nil {
		return nil, err
	}
	var out []notPlannedView
	for _, d := range pl.Decisions {
		if visited[d.BinID] {
			continue
		}
		v := notPlannedView{BinDecision: d}
		if e := u.cache.entry(d.BinID); e != nil {
			v.Name = e.bin.Name
		}
		switch {
		case d.FullAt == nil:
		case !d.FullAt.After(pl.CreatedAt):
			v.FullAt = "full when planned"
		default:
			v.FullAt = d.FullAt.In(u.cfg.Location).Format("Mon 15:04")
		}
		if choices {
			for _, rt := range pl.Routes {
				if rt.Stream == d.Stream {
					v.AddChoice = append(v.AddChoice, routeChoice{ID: rt.ID, Label: fmt.Sprintf("Route %d · %s", rt.Seq, cmp.Or(n.trucks[rt.TruckID], rt.TruckID))})
				}
			}
		}
		out = append(out, v)
	}
	fill := func(v notPlannedView) float64 {
		if v.Fill == nil {
			return -1
		}
		return *v.Fill
	}
	slices.SortStableFunc(out, func(a, b notPlannedView) int {
		return cmp.Or(cmp.Compare(fill(b), fill(a)), strings.Compare(a.BinID, b.BinID))
	})
	return out, nil
}

// movePlanStop applies one supervisor's edit (bin_id to to_route, or out
// of the plan when to_route is empty) and re-optimises the draft.
func (u *UI) movePlanStop(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.planForm(w, r, p); err != nil {
		u.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	// "-" is the form's "drop from the plan"; an empty choice is none.
	move := civic.StopMove{BinID: r.PostFormValue("bin_id"), ToRoute: r.PostFormValue("to_route")}
	switch move.ToRoute {
	case "":
		u.fail(w, r, civic.FieldError("to_route", "Pick a route to move the bin to, or drop it."))
		return
	case "-":
		move.ToRoute = ""
	}
	if err := civic.ValidateID("bin_id", move.BinID); err != nil {
		u.fail(w, r, err)
		return
	}
	out, err := u.deps.Planner.Reoptimise(r.Context(), id, []civic.StopMove{move}, who(p))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	note := "moved"
	if move.ToRoute == "" {
		note = "dropped"
	} else {
		for _, d := range out.Decisions {
			if d.BinID == move.BinID && strings.Contains(d.Reason, "added to route") {
				note = "added"
			}
		}
	}
	http.Redirect(w, r, "/plans/"+url.PathEscape(id)+"?moved="+url.QueryEscape(move.BinID+" "+note), http.StatusSeeOther)
}

// setPlanStatus locks a draft for the crews or unlocks it for editing.
func (u *UI) setPlanStatus(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := u.planForm(w, r, p); err != nil {
		u.fail(w, r, err)
		return
	}
	to := civic.PlanStatus(r.PostFormValue("to"))
	if to != civic.PlanLocked && to != civic.PlanDraft {
		u.fail(w, r, civic.Errorf(civic.Invalid, "A plan can be locked or unlocked here."))
		return
	}
	id := r.PathValue("id")
	if _, err := u.deps.Planner.SetStatus(r.Context(), id, to, who(p)); err != nil {
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/plans/"+url.PathEscape(id), http.StatusSeeOther)
}

// planRoute reads the plan and one of its routes named by the path.
func (u *UI) planRoute(r *http.Request) (civic.Plan, civic.Route, error) {
	if err := u.plansEnabled(); err != nil {
		return civic.Plan{}, civic.Route{}, err
	}
	pl, err := u.deps.Plans.Plan(r.Context(), r.PathValue("id"))
	if err != nil {
		return pl, civic.Route{}, err
	}
	rid := r.PathValue("rid")
	for _, rt := range pl.Routes {
		if rt.ID == rid {
			return pl, rt, nil
		}
	}
	return pl, civic.Route{}, civic.Errorf(civic.NotFound, "Plan %s has no route %s.", pl.ID, rid)
}

// sheetData is a printable route sheet.
type sheetData struct {
	Plan  civic.Plan
	Route routeView
}

func (u *UI) routeSheet(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	pl, rt, err := u.planRoute(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	n, err := u.assetNames(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	one := pl
	one.Routes = []civic.Route{rt}
	d := sheetData{Plan: pl, Route: u.routeViews(one, n, false)[0]}
	u.render(w, r, http.StatusOK, "sheet", "", pageData{Title: fmt.Sprintf("Route %d · %s", rt.Seq, pl.Date), Active: "/plans", Principal: p, Data: d})
}

// exportName is a download's file name: civic-plan-DATE[-route-N].EXT.
func exportName(pl civic.Plan, rt *civic.Route, ext string) string {
	name := "civic-plan-" + pl.Date
	if rt != nil {
		name += fmt.Sprintf("-route-%d", rt.Seq)
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, name) + "." + ext
}
