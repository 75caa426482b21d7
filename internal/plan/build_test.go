package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/route"
)

// greedy is a small stand-in for route.SolveFleet: cheapest insertion
// with route.FleetProblem.Schedule, mandatory visits first, optional ones
// when their detour costs less than their prize. It starts from
// o.Initial when given.
func greedy(_ context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error) {
	if err := p.Validate(); err != nil {
		return route.FleetSolution{}, err
	}
	seqs := make([][]int, len(p.Vehicles))
	placed := make([]bool, len(p.Visits))
	if o.Initial != nil {
		for k, r := range o.Initial.Routes {
			for _, s := range r.Stops {
				if s.Kind == route.StopVisit {
					seqs[k] = append(seqs[k], s.Index)
					placed[s.Index] = true
				}
			}
		}
	}
	cost := make([]float64, len(p.Vehicles))
	for k := range seqs {
		r, _ := p.Schedule(k, seqs[k])
		cost[k] = r.Distance
	}
	var order []int
	for _, optional := range []bool{false, true} {
		for i, v := range p.Visits {
			if v.Optional == optional && !placed[i] {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		v := p.Visits[i]
		bestK, bestPos, best := -1, 0, math.Inf(1)
		for k := range p.Vehicles {
			if v.Vehicle > 0 && k != v.Vehicle-1 {
				continue
			}
			for pos := 0; pos <= len(seqs[k]); pos++ {
				try := slices.Insert(slices.Clone(seqs[k]), pos, i)
				if r, ok := p.Schedule(k, try); ok && r.Distance-cost[k] < best {
					bestK, bestPos, best = k, pos, r.Distance-cost[k]
				}
			}
		}
		if bestK < 0 || (v.Optional && best >= v.Prize) {
			continue
		}
		seqs[bestK] = slices.Insert(seqs[bestK], bestPos, i)
		cost[bestK] += best
		placed[i] = true
	}
	sol := route.FleetSolution{Routes: make([]route.FleetRoute, len(p.Vehicles)), Feasible: true, Elapsed: time.Millisecond}
	for k := range seqs {
		r, ok := p.Schedule(k, seqs[k])
		if len(seqs[k]) == 0 {
			r = route.FleetRoute{}
		}
		sol.Routes[k] = r
		sol.Feasible = sol.Feasible && ok
		sol.Distance += r.Distance
		sol.Duration += r.Duration
	}
	for i, ok := range placed {
		if !ok {
			sol.Unvisited = append(sol.Unvisited, i)
			sol.Feasible = sol.Feasible && p.Visits[i].Optional
		} else if p.Visits[i].Optional {
			sol.Prize += p.Visits[i].Prize
		}
	}
	sol.Objective = sol.Distance - sol.Prize
	return sol, nil
}

// city is the fleet of the tests: one depot, two trash trucks (one with
// its own compaction ratio) and an inactive one, a recycling truck, a
// facility for trash and recycling, one for compost only and a closed one.
func city() ([]civic.Depot, []civic.Truck, []civic.Facility) {
	depots := []civic.Depot{{ID: "d1", Name: "Depot", Lat: 47.37, Lon: 8.50}}
	trucks := []civic.Truck{
		{ID: "t2", Name: "T2", DepotID: "d1", CapacityL: 10000, CompactionRatio: 2, Stream: civic.StreamTrash, ShiftStart: "07:00", ShiftEnd: "15:00", Status: civic.StatusActive},
		{ID: "t1", Name: "T1", DepotID: "d1", CapacityL: 10000, Stream: civic.StreamTrash, ShiftStart: "06:00", ShiftEnd: "14:00", Status: civic.StatusActive},
		{ID: "t9", Name: "T9", DepotID: "d1", CapacityL: 10000, Stream: civic.StreamTrash, ShiftStart: "06:00", ShiftEnd: "14:00", Status: civic.StatusMaintenance},
		{ID: "r1", Name: "R1", DepotID: "d1", CapacityL: 8000, Stream: civic.StreamRecycling, ShiftStart: "06:00", ShiftEnd: "14:00", Status: civic.StatusActive},
	}
	facs := []civic.Facility{
		{ID: "f1", Name: "Transfer", Lat: 47.36, Lon: 8.48, Streams: []civic.Stream{civic.StreamTrash, civic.StreamRecycling}, Opens: "05:00", Closes: "20:00", UnloadMin: 15, Status: civic.StatusActive},
		{ID: "f2", Name: "Compost", Lat: 47.35, Lon: 8.47, Streams: []civic.Stream{civic.StreamCompost}, Opens: "05:00", Closes: "20:00", UnloadMin: 10, Status: civic.StatusActive},
		{ID: "f3", Name: "Closed", Lat: 47.35, Lon: 8.47, Streams: []civic.Stream{civic.StreamTrash}, Opens: "05:00", Closes: "20:00", UnloadMin: 10, Status: civic.StatusInactive},
	}
	return depots, trucks, facs
}

func cityBins() []civic.Bin {
	mk := func(id string, lat, lon float64, s civic.Stream) civic.Bin {
		b := testBin(id)
		b.Lat, b.Lon, b.Stream = lat, lon, s
		return b
	}
	bins := []civic.Bin{
		mk("a", 47.375, 8.51, civic.StreamTrash),
		mk("b", 47.378, 8.52, civic.StreamTrash),
		mk("c", 47.372, 8.53, civic.StreamTrash),
		mk("p", 47.371, 8.52, civic.StreamPaper),
		mk("r", 47.374, 8.515, civic.StreamRecycling),
	}
	bins[1].Compacting = true
	bins[2].AccessWindow = "10:00-12:00"
	return bins
}

func decision(id string, s civic.Stream, d civic.Decision, load float64) civic.BinDecision {
	return civic.BinDecision{BinID: id, Stream: s, Decision: d, Reason: "because " + id, LoadL: load}
}

func TestBuild(t *testing.T) {
	depots, trucks, facs := city()
	in := BuildInput{Day: friday, Stream: civic.StreamTrash, Bins: cityBins(), Trucks: trucks, Depots: depots,
		Facilities: facs, Settings: civic.DefaultPlanSettings(),
		Decisions: []civic.BinDecision{
			decision("a", civic.StreamTrash, civic.MustGo, 900),
			decision("b", civic.StreamTrash, civic.MayGo, 700),
			decision("c", civic.StreamTrash, civic.MustGo, 500),
			decision("p", civic.StreamPaper, civic.MustGo, 500),
			decision("r", civic.StreamRecycling, civic.MustGo, 500),
		}}
	p, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{p.Trucks[0].ID, p.Trucks[1].ID}; len(p.Trucks) != 2 || got[0] != "t1" || got[1] != "t2" {
		t.Fatalf("trucks %v, want the active trash trucks t1, t2", p.Trucks)
	}
	wantVeh := []route.Vehicle{
		{Start: 0, End: 0, Capacity: 30000, ShiftStart: 6 * 3600, ShiftEnd: 14 * 3600, BreakAfter: 4 * 3600, BreakLength: 1800},
		{Start: 0, End: 0, Capacity: 20000, ShiftStart: 7 * 3600, ShiftEnd: 15 * 3600, BreakAfter: 4 * 3600, BreakLength: 1800},
	}
	for k, want := range wantVeh {
		if got := p.Fleet.Vehicles[k]; got.Start != want.Start || got.End != want.End || got.Capacity != want.Capacity ||
			got.ShiftStart != want.ShiftStart || got.ShiftEnd != want.ShiftEnd || got.BreakAfter != want.BreakAfter ||
			got.BreakLength != want.BreakLength || got.Facilities != nil {
			t.Errorf("vehicle %d = %+v, want %+v", k, p.Fleet.Vehicles[k], want)
		}
	}
	if len(p.Facilities) != 1 || p.Facilities[0].ID != "f1" {
		t.Fatalf("facilities %v, want f1 only", p.Facilities)
	}
	if got, want := p.Fleet.Facilities[0], (route.Facility{Node: 1, Open: 5 * 3600, Close: 20 * 3600, Unload: 900}); got != want {
		t.Errorf("facility = %+v, want %+v", got, want)
	}
	wantVisits := []route.Visit{
		{Node: 2, Demand: 900, Service: 60},
		{Node: 3, Demand: 700, Service: 120, Optional: true, Prize: 0.7 * DefaultDetourM},
		{Node: 4, Demand: 500, Service: 60, Ready: 10 * 3600, Due: 12*3600 - 60},
	}
	if !slices.Equal(p.Fleet.Visits, wantVisits) {
		t.Errorf("visits\n got %+v\nwant %+v", p.Fleet.Visits, wantVisits)
	}
	if p.Fleet.N != 5 || len(p.Points) != 5 || len(p.Fleet.X) != 5 || p.Points[4] != (LatLon{47.372, 8.53}) {
		t.Errorf("N = %d, points %v", p.Fleet.N, p.Points)
	}
	if len(p.Unplanned) != 0 {
		t.Errorf("unplanned %v, want none", p.Unplanned)
	}

	// Paper has no truck: its must-go bin is unplanned.
	in.Stream = civic.StreamPaper
	p, err = Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unplanned) != 1 || p.Unplanned[0].Reason != "not planned: no active truck collects paper (because p)" {
		t.Errorf("unplanned %+v", p.Unplanned)
	}
}

func TestBuildUnplanned(t *testing.T) {
	depots, trucks, facs := city()
	tests := []struct {
		name   string
		stream civic.Stream
		facs   []civic.Facility
		load   float64
		want   string
	}{
		{"no facility", civic.StreamTrash, facs[1:], 500, "not planned: no active facility accepts trash (because a)"},
		{"too big", civic.StreamTrash, facs, 40000, "not planned: 40000 l is more than any truck holds (because a)"},
		{"no truck", civic.StreamCompost, facs, 500, "not planned: no active truck collects compost (because a)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(BuildInput{Day: friday, Stream: tt.stream, Bins: cityBins(), Trucks: trucks, Depots: depots,
				Facilities: tt.facs, Settings: civic.DefaultPlanSettings(),
				Decisions: []civic.BinDecision{decision("a", tt.stream, civic.MustGo, tt.load), decision("b", tt.stream, civic.MayGo, tt.load)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Visits) != 0 || len(p.Unplanned) != 1 || p.Unplanned[0].Reason != tt.want {
				t.Errorf("visits %d, unplanned %+v; want only %q", len(p.Visits), p.Unplanned, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	depots, trucks, facs := city()
	tests := []struct {
		name  string
		edit  func(*BuildInput)
		field string
	}{
		{"unknown depot", func(in *BuildInput) { in.Trucks[1].DepotID = "nowhere" }, "trucks[1].depot_id"},
		{"bad shift", func(in *BuildInput) { in.Trucks[1].ShiftEnd = "05:00" }, "trucks[1].shift_end"},
		{"bad hours", func(in *BuildInput) { in.Facilities[0].Opens = "5 am" }, "facilities[0].opens"},
		{"unknown bin", func(in *BuildInput) {
			in.Decisions = append(in.Decisions, decision("zz", civic.StreamTrash, civic.MustGo, 1))
		}, "decisions[1].bin_id"},
		{"pin to another stream's truck", func(in *BuildInput) { in.Pins = map[string]string{"a": "r1"} }, "pins.a"},
		{"bad date", func(in *BuildInput) { in.Day.Date = "4.12.2026" }, "date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := BuildInput{Day: friday, Stream: civic.StreamTrash, Bins: cityBins(), Trucks: slices.Clone(trucks),
				Depots: depots, Facilities: slices.Clone(facs), Settings: civic.DefaultPlanSettings(),
				Decisions: []civic.BinDecision{decision("a", civic.StreamTrash, civic.MustGo, 1)}}
			tt.edit(&in)
			_, err := Build(in)
			var ce *civic.Error
			if !errors.As(err, &ce) || ce.Kind != civic.Invalid || ce.Field != tt.field {
				t.Errorf("err = %v, want Invalid on %s", err, tt.field)
			}
		})
	}
}

func TestAssemble(t *testing.T) {
	depots, trucks, facs := city()
	p, err := Build(BuildInput{Day: friday, Stream: civic.StreamTrash, Bins: cityBins(), Trucks: trucks, Depots: depots,
		Facilities: facs, Settings: civic.DefaultPlanSettings(),
		Decisions: []civic.BinDecision{
			decision("a", civic.StreamTrash, civic.MustGo, 900),
			decision("b", civic.StreamTrash, civic.MayGo, 700),
			decision("c", civic.StreamTrash, civic.MustGo, 500),
		}})
	if err != nil {
		t.Fatal(err)
	}
	d, tm, _ := Haversine{Circuity: 1.35, SpeedKmh: 25}.Table(context.Background(), p.Points)
	p.SetMatrix(d, tm)
	sol, err := greedy(context.Background(), &p.Fleet, route.FleetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	routes, unpl, st := Assemble(p, sol)
	if len(unpl) != 0 || st.Planned != 3 || len(routes) == 0 {
		t.Fatalf("routes %d, planned %d, unplanned %v", len(routes), st.Planned, unpl)
	}
	r := routes[0]
	if r.TruckID != "t1" || r.Seq != 1 || r.DepotID != "d1" || r.Stream != civic.StreamTrash || r.CapacityL != 30000 {
		t.Errorf("route %+v", r)
	}
	if want := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC); !r.Start.Equal(want) || r.Start.Location() != time.UTC {
		t.Errorf("start %v, want %v (06:00 CET in UTC)", r.Start, want)
	}
	first, last := r.Stops[0], r.Stops[len(r.Stops)-1]
	if first.Kind != civic.StopDepot || first.Seq != 0 || last.Kind != civic.StopDepot || !last.ETA.Equal(r.End) {
		t.Errorf("route must run depot to depot: first %+v, last %+v", first, last)
	}
	var kinds []string
	var dist float64
	for i, s := range r.Stops {
		kinds = append(kinds, string(s.Kind)+":"+s.BinID+s.FacilityID)
		if s.Seq != i || (i > 0 && s.ETA.Before(r.Stops[i-1].Depart)) || s.Depart.Before(s.ETA) {
			t.Errorf("stop %d: seq %d, eta %v, depart %v after previous departure %v", i, s.Seq, s.ETA, s.Depart, r.Stops[max(i-1, 0)].Depart)
		}
		if s.Kind == civic.StopBin {
			if s.Reason != "because "+s.BinID || s.LoadAfter <= s.LoadBefore {
				t.Errorf("bin stop %+v: want its decision's reason and a load growing", s)
			}
		}
		if s.BinID == "c" && (s.Window != "10:00-12:00" || s.Depart.Before(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))) {
			t.Errorf("stop c %+v: want its window kept and served from 10:00 CET", s)
		}
		dist += s.DistanceM
	}
	if !slices.Contains(kinds, "disposal:f1") || math.Abs(dist-r.DistanceM) > 1e-6 || r.DistanceM != st.DistanceM {
		t.Errorf("stops %v: want an unload at f1; legs sum %.1f, route %.1f, stats %.1f", kinds, dist, r.DistanceM, st.DistanceM)
	}
	if last.LoadAfter != 0 {
		t.Errorf("truck back with %.0f l, want empty", last.LoadAfter)
	}

	// A mandatory visit the solver left out is unplanned, with the reason.
	sol.Routes = make([]route.FleetRoute, len(sol.Routes))
	sol.Unvisited = []int{0, 1, 2}
	routes, unpl, st = Assemble(p, sol)
	if len(routes) != 0 || len(unpl) != 2 || st.Unassigned != 2 ||
		unpl[0].Reason != "not planned: no truck could fit it into its shift (because a)" || unpl[1].BinID != "c" {
		t.Errorf("routes %d, unplanned %+v", len(routes), unpl)
	}
}

func planInput() PlanInput {
	depots, trucks, facs := city()
	in := PlanInput{Day: Day{Date: "2026-12-04", Loc: cet}, Bins: cityBins(), Trucks: trucks, Depots: depots,
		Facilities: facs, Settings: civic.DefaultPlanSettings(), LastCollected: map[string]time.Time{}}
	for _, b := range in.Bins {
		in.LastCollected[b.ID] = at(-48)
	}
	in.States = []civic.BinState{
		{BinID: "a", Fill: ptr(0.95), Time: at(-1)},
		{BinID: "b", Fill: ptr(0.7), Time: at(-1)},
		{BinID: "c", Fill: ptr(0.2), Time: at(-1)},
		{BinID: "p", Fill: ptr(0.95), Time: at(-1)},
		{BinID: "r", Fill: ptr(0.92), Time: at(-1)},
	}
	in.Alerts = []civic.Alert{{BinID: "c", Rule: civic.RuleFull, Status: civic.AlertOpen, OpenedAt: at(-1), LastSeenAt: at(-1)}}
	return in
}

func TestPlan(t *testing.T) {
	in := planInput()
	var stages []string
	var fractions []float64
	in.Progress = func(stage string, f float64) {
		stages = append(stages, stage)
		fractions = append(fractions, f)
	}
	pl, err := Plan(context.Background(), in, greedy)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Date != "2026-12-04" || pl.Status != civic.PlanDraft || pl.Stats.Matrix != "haversine" {
		t.Errorf("plan %s %s matrix %q", pl.Date, pl.Status, pl.Stats.Matrix)
	}
	if got, want := [3]int{pl.Stats.MustGo, pl.Stats.MayGo, pl.Stats.Skipped}, [3]int{4, 1, 0}; got != want {
		t.Errorf("must/may/skip %v, want %v", got, want)
	}
	var trucks []string
	for i, r := range pl.Routes {
		if r.Seq != i+1 {
			t.Errorf("route %d has seq %d", i, r.Seq)
		}
		trucks = append(trucks, r.TruckID)
	}
	if !slices.Equal(trucks, []string{"t1", "r1"}) || pl.Stats.Planned != 4 {
		t.Errorf("routes by %v with %d bins, want t1 (a, b, c) and r1 (r)", trucks, pl.Stats.Planned)
	}
	if len(pl.Unplanned) != 1 || pl.Unplanned[0].BinID != "p" || pl.Stats.Unassigned != 1 ||
		!strings.HasPrefix(pl.Unplanned[0].Reason, "not planned: no active truck collects paper") {
		t.Errorf("unplanned %+v, want paper bin p", pl.Unplanned)
	}
	if !slices.IsSorted(fractions) || fractions[len(fractions)-1] != 1 || !slices.Contains(stages, "solve") || !slices.Contains(stages, "matrix") {
		t.Errorf("progress %v %v: want rising to 1 through every stage", stages, fractions)
	}
	// Day.Start defaults to the earliest shift: 06:00.
	if r := pl.Routes[0]; r.Start.Hour() != 5 {
		t.Errorf("route starts %v, want 05:00 UTC", r.Start)
	}
}

type failingMatrix struct{}

func (failingMatrix) Name() string { return "osrm" }
func (failingMatrix) Table(context.Context, []LatLon) ([]float64, []float64, error) {
	return nil, nil, errors.New("connection refused")
}

func TestPlanMatrixFallback(t *testing.T) {
	in := planInput()
	in.Matrix = failingMatrix{}
	_, err := Plan(context.Background(), in, greedy)
	if civic.KindOf(err) != civic.Unavailable {
		t.Errorf("err = %v, want Unavailable", err)
	}
	in.Fallback = Haversine{}
	pl, err := Plan(context.Background(), in, greedy)
	if err != nil || pl.Stats.Matrix != "haversine (osrm failed)" || pl.Stats.Planned != 4 {
		t.Errorf("err %v, matrix %q, planned %d", err, pl.Stats.Matrix, pl.Stats.Planned)
	}
}

func TestPlanSharesTheBudget(t *testing.T) {
	in := planInput()
	in.TimeLimit = 8 * time.Second
	limits := map[int]time.Duration{}
	solve := func(ctx context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error) {
		limits[len(p.Visits)] = o.TimeLimit
		return greedy(ctx, p, o)
	}
	if _, err := Plan(context.Background(), in, solve); err != nil {
		t.Fatal(err)
	}
	// Trash has 3 visits, recycling 1: shares as visits^1.5, 3^1.5 to 1.
	w3 := math.Pow(3, 1.5)
	want3 := time.Duration(float64(8*time.Second) * w3 / (w3 + 1))
	if d := limits[3] - want3; d < -time.Millisecond || d > time.Millisecond || limits[3]+limits[1] < 8*time.Second-time.Millisecond {
		t.Errorf("limits %v, want %v for trash and the rest of 8 s for recycling", limits, want3)
	}
}

func TestReoptimise(t *testing.T) {
	in := planInput()
	// Two trash trucks share the work once both have room: give t2 a route.
	pl, err := Plan(context.Background(), in, greedy)
	if err != nil {
		t.Fatal(err)
	}
	pl.ID = "plan-1"
	var initial *route.FleetSolution
	solve := func(ctx context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error) {
		if len(p.Visits) == 2 {
			initial = o.Initial
		}
		return greedy(ctx, p, o)
	}
	// t1 has route 1; route 2 is r1's. Pin b (on route 2) to t1 and drop
	// a; the edit without a name is "a supervisor"'s.
	out, err := Reoptimise(context.Background(), pl, []Edit{{BinID: "a", Route: 0, By: "ana"}, {BinID: "b", Route: 1}}, in, solve)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != "plan-1" || out.Status != civic.PlanDraft {
		t.Errorf("plan %s %s", out.ID, out.Status)
	}
	where := map[string]string{}
	for _, r := range out.Routes {
		for _, s := range r.Stops {
			if s.Kind == civic.StopBin {
				where[s.BinID] = r.TruckID
				if s.BinID == "b" && (s.Decision != civic.MustGo || s.Reason != "moved to route 1 by a supervisor") {
					t.Errorf("stop b: %s %q", s.Decision, s.Reason)
				}
			}
		}
		if r.PlanID != "plan-1" {
			t.Errorf("route %d has plan %q", r.Seq, r.PlanID)
		}
	}
	if _, ok := where["a"]; ok || where["b"] != "t1" || where["c"] != "t1" {
		t.Errorf("bins on trucks %v, want a dropped, b and c on t1", where)
	}
	for _, d := range out.Decisions {
		if d.BinID == "a" && (d.Decision != civic.Skip || d.Reason != "dropped by ana") {
			t.Errorf("decision a: %s %q", d.Decision, d.Reason)
		}
	}
	if initial == nil || len(initial.Routes) != 2 || len(initial.Routes[0].Stops) == 0 {
		t.Fatalf("want a warm start with t1's route, got %+v", initial)
	}

	tests := []struct {
		name  string
		plan  func(*civic.Plan)
		edits []Edit
		kind  civic.Kind
	}{
		{"locked", func(p *civic.Plan) { p.Status = civic.PlanLocked }, nil, civic.Conflict},
		{"unknown bin", nil, []Edit{{BinID: "zz", Route: 1}}, civic.Invalid},
		{"no such route", nil, []Edit{{BinID: "a", Route: 9}}, civic.Invalid},
		{"route of another stream", nil, []Edit{{BinID: "a", Route: 2}}, civic.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pl
			if tt.plan != nil {
				tt.plan(&p)
			}
			if _, err := Reoptimise(context.Background(), p, tt.edits, in, greedy); civic.KindOf(err) != tt.kind {
				t.Errorf("err = %v, want %s", err, tt.kind)
			}
		})
	}
}

// benchCity is civic bench plan's city: 10,000 bins over 10 × 10 km in
// five streams, a fifth of them due (a tenth must-go, a tenth may-go, and
// compost bins half full), 30
// trucks, two depots and two facilities.
func benchCity() PlanInput {
	depots, _, facs := city()
	depots = append(depots, civic.Depot{ID: "d2", Name: "East", Lat: 47.36, Lon: 8.60})
	facs[0].Streams = civic.Streams
	in := PlanInput{Day: friday, Depots: depots, Facilities: facs, Settings: civic.DefaultPlanSettings(),
		LastCollected: map[string]time.Time{}}
	pts := cityPoints(10000)
	for i, p := range pts {
		b := testBin(fmt.Sprintf("bin-%05d", i))
		b.Lat, b.Lon, b.Stream = p.Lat, p.Lon, civic.Streams[i%len(civic.Streams)]
		in.Bins = append(in.Bins, b)
		fill := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.3, 0.2, 0.7, 0.95}[(i/5)%10]
		in.States = append(in.States, civic.BinState{BinID: b.ID, Fill: ptr(fill), Time: at(-1)})
		in.LastCollected[b.ID] = at(-48)
	}
	for k := range 30 {
		in.Trucks = append(in.Trucks, civic.Truck{ID: fmt.Sprintf("t%02d", k), Name: "T", DepotID: depots[k%2].ID,
			CapacityL: 12000, Stream: civic.Streams[k%len(civic.Streams)], ShiftStart: "06:00", ShiftEnd: "14:00",
			Status: civic.StatusActive})
	}
	return in
}

// BenchmarkPlanWithoutSolving is everything Plan does for civic bench
// plan's city but the search: Decide, Build, the matrices and Assemble,
// with a solver that returns at once.
func BenchmarkPlanWithoutSolving(b *testing.B) {
	in := benchCity()
	none := func(_ context.Context, p *route.FleetProblem, _ route.FleetOptions) (route.FleetSolution, error) {
		return route.FleetSolution{Routes: make([]route.FleetRoute, len(p.Vehicles))}, nil
	}
	for b.Loop() {
		pl, err := Plan(context.Background(), in, none)
		if err != nil {
			b.Fatal(err)
		}
		if pl.Stats.MustGo != 1000 || pl.Stats.MayGo < 1000 {
			b.Fatalf("must %d, may %d", pl.Stats.MustGo, pl.Stats.MayGo)
		}
	}
}

// TestPlanWithSolveFleet runs the pipeline with the real solver (nil
// SolveFunc) on 250 bins of the bench city: every must-go bin is
// planned or explained, every route runs depot to depot within its
// truck's shift and never carries more than the truck holds.
func TestPlanWithSolveFleet(t *testing.T) {
	in := benchCity()
	in.Bins, in.States = in.Bins[:250], in.States[:250]
	in.Options = route.FleetOptions{MaxIterations: 200, Seed: 1}
	// Small trucks on short shifts, so that each stream needs several.
	for i := range in.Trucks {
		in.Trucks[i].CapacityL, in.Trucks[i].ShiftEnd = 700, "08:30"
	}
	pl, err := Plan(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Stats.MustGo != 25 || pl.Stats.Planned < 25 || pl.Stats.Unassigned != 0 || len(pl.Routes) == 0 {
		t.Fatalf("stats %+v, routes %d: want the 25 must-go bins planned", pl.Stats, len(pl.Routes))
	}
	planned := map[string]bool{}
	for _, r := range pl.Routes {
		first, last := r.Stops[0], r.Stops[len(r.Stops)-1]
		if first.Kind != civic.StopDepot || last.Kind != civic.StopDepot || last.LoadAfter != 0 {
			t.Errorf("route %d: want depot to depot, back empty", r.Seq)
		}
		if end := time.Date(2026, 12, 4, 7, 30, 0, 0, time.UTC); r.End.After(end) {
			t.Errorf("route %d ends %v, after the 08:30 CET shift end", r.Seq, r.End)
		}
		for _, s := range r.Stops {
			if s.LoadAfter > r.CapacityL+1e-6 {
				t.Errorf("route %d stop %d carries %.0f l of %.0f", r.Seq, s.Seq, s.LoadAfter, r.CapacityL)
			}
			if s.Kind == civic.StopBin {
				if planned[s.BinID] {
					t.Errorf("bin %s planned twice", s.BinID)
				}
				planned[s.BinID] = true
			}
		}
	}
	for _, d := range pl.Decisions {
		if d.Decision == civic.MustGo && !planned[d.BinID] {
			t.Errorf("must-go bin %s not planned", d.BinID)
		}
	}

	// A supervisor moves a bin of one trash route to another trash route
	// and drops one: the solver, warm-started, keeps both edits.
	var trash []civic.Route
	for _, r := range pl.Routes {
		if r.Stream == civic.StreamTrash {
			trash = append(trash, r)
		}
	}
	if len(trash) < 2 {
		t.Fatalf("want two trash routes to move a bin between, got %d", len(trash))
	}
	moved, dropped := trash[0].Stops[1].BinID, trash[0].Stops[2].BinID
	if moved == "" || dropped == "" {
		t.Fatalf("route %d starts %+v", trash[0].Seq, trash[0].Stops[:3])
	}
	out, err := Reoptimise(context.Background(), pl, []Edit{{BinID: moved, Route: trash[1].Seq}, {BinID: dropped}}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Routes {
		for _, s := range r.Stops {
			if s.BinID == moved && r.TruckID != trash[1].TruckID {
				t.Errorf("moved bin %s on %s, want %s", moved, r.TruckID, trash[1].TruckID)
			}
			if s.BinID == dropped {
				t.Errorf("dropped bin %s still on route %d", dropped, r.Seq)
			}
		}
	}
	if out.Stats.Unassigned != 0 {
		t.Errorf("unplanned after the edit: %+v", out.Unplanned)
	}
}

// TestBuildDueByForecast: a must-go bin forecast full during the shifts
// (at least two hours after the first starts) must be served by then; one
// forecast full earlier or after the shifts, a may-go bin and a bin with an
// access window keep their windows as they were.
func TestBuildDueByForecast(t *testing.T) {
	depots, trucks, facs := city()
	full := func(d civic.BinDecision, h float64) civic.BinDecision {
		d.FullAt = ptr(at(h)) // hours after Friday 06:00
		return d
	}
	bins := append(cityBins(), testBin("d"), testBin("e"))
	in := BuildInput{Day: friday, Stream: civic.StreamTrash, Bins: bins, Trucks: trucks, Depots: depots,
		Facilities: facs, Settings: civic.DefaultPlanSettings(),
		Decisions: []civic.BinDecision{
			full(decision("a", civic.StreamTrash, civic.MustGo, 900), 3.5),  // 09:30: due then
			full(decision("b", civic.StreamTrash, civic.MayGo, 700), 3.5),   // may-go: no window
			full(decision("c", civic.StreamTrash, civic.MustGo, 500), 3.5),  // access window kept
			full(decision("d", civic.StreamTrash, civic.MustGo, 500), 1.5),  // 07:30: too soon to promise
			full(decision("e", civic.StreamTrash, civic.MustGo, 500), 10.0), // 16:00: after the shifts
		}}
	p, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{"a": {0, 9.5 * 3600}, "b": {0, 0}, "c": {10 * 3600, 12*3600 - 60*civic.DefaultPlanSettings().BasketServiceMin}, "d": {0, 0}, "e": {0, 0}}
	if len(p.Visits) != len(want) {
		t.Fatalf("%d visits, want %d", len(p.Visits), len(want))
	}
	for i, v := range p.Fleet.Visits {
		id := p.Visits[i].Bin.ID
		if w := want[id]; math.Abs(v.Ready-w[0]) > 1e-6 || math.Abs(v.Due-w[1]) > 1e-6 {
			t.Errorf("bin %s: window [%v, %v], want [%v, %v]", id, v.Ready, v.Due, w[0], w[1])
		}
	}
}

// TestPlanRelaxesForecastDues: a bin forecast full at 08:00 but 40 km
// out cannot be reached by then; rather than leave a must-go bin out, Plan
// solves again without the forecasts' Dues and serves it late.
func TestPlanRelaxesForecastDues(t *testing.T) {
	depots, trucks, facs := city()
	far := testBin("far")
	far.Lat += 0.4
	in := PlanInput{Day: Day{Date: "2026-12-04", Loc: cet}, Bins: []civic.Bin{far}, Trucks: trucks,
		Depots: depots, Facilities: facs, Settings: civic.DefaultPlanSettings()}
	d := decision("far", civic.StreamTrash, civic.MustGo, 300)
	d.FullAt = ptr(at(2))
	p, err := Build(BuildInput{Day: Day{Date: "2026-12-04", Loc: cet, Start: "06:00"}, Stream: civic.StreamTrash,
		Decisions: []civic.BinDecision{d}, Bins: in.Bins, Trucks: trucks, Depots: depots, Facilities: facs, Settings: in.Settings})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Visits) != 1 || !p.Visits[0].DueByForecast || p.Fleet.Visits[0].Due != 8*3600 {
		t.Fatalf("visits %+v: want the bin due at 08:00 by its forecast", p.Fleet.Visits)
	}
	solves := 0
	count := func(ctx context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error) {
		solves++
		return greedy(ctx, p, o)
	}
	pl, err := Route(context.Background(), in, []civic.BinDecision{d}, count)
	if err != nil {
		t.Fatal(err)
	}
	if solves != 2 || pl.Stats.Planned != 1 || len(pl.Unplanned) != 0 || pl.Stats.Unassigned != 0 {
		t.Errorf("%d solves, %d planned, unplanned %+v: want the bin served after a second solve without its Due",
			solves, pl.Stats.Planned, pl.Unplanned)
	}
}
