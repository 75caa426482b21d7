package plan

import (
	"context"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/route"
)

// TestServiceWindows plans a Friday with a morning and an evening truck:
// a bin forecast full at 15:00 that, emptied before noon, would be full
// again before Saturday's trucks can reach it (08:00) is served between
// noon and 15:00; a bin that fills in 8 hours and is full already is
// served twice, first thing and again in the evening.
func TestServiceWindows(t *testing.T) {
	depots := []civic.Depot{{ID: "d1", Name: "Depot", Lat: 47.37, Lon: 8.50}}
	trucks := []civic.Truck{
		{ID: "m", Name: "Morning", DepotID: "d1", CapacityL: 20000, Stream: civic.StreamTrash, ShiftStart: "06:00", ShiftEnd: "14:30", Status: civic.StatusActive},
		{ID: "e", Name: "Evening", DepotID: "d1", CapacityL: 20000, Stream: civic.StreamTrash, ShiftStart: "14:00", ShiftEnd: "22:00", Status: civic.StatusActive},
	}
	facs := []civic.Facility{{ID: "f1", Name: "Transfer", Lat: 47.36, Lon: 8.48, Streams: []civic.Stream{civic.StreamTrash},
		Opens: "05:00", Closes: "23:00", UnloadMin: 15, Status: civic.StatusActive}}
	mk := func(id string, lat, lon float64) civic.Bin {
		b := testBin(id)
		b.Lat, b.Lon = lat, lon
		return b
	}
	bins := []civic.Bin{mk("steady", 47.375, 8.51), mk("fast", 47.378, 8.52), mk("slow", 47.372, 8.53)}
	fc := func(id string, fill, rate float64, full time.Time) civic.Forecast {
		return civic.Forecast{BinID: id, Now: at(-1), Fill: fill, Threshold: 0.9, RatePerHour: rate,
			FullAt: &full, FullAtLow: &full, HorizonHours: 72, Confidence: 0.8, Samples: 200}
	}
	in := PlanInput{Day: friday, Bins: bins, Trucks: trucks, Depots: depots, Facilities: facs,
		Settings: civic.DefaultPlanSettings(),
		Forecasts: map[string]civic.Forecast{
			"steady": fc("steady", 0.45, 0.045, at(9)), // full 15:00; refills in 20 h
			"fast":   fc("fast", 0.95, 0.1125, at(-1)), // full now; refills in 8 h
			"slow":   fc("slow", 0.2, 0.005, at(24*5)), // left
		},
		LastCollected: map[string]time.Time{"steady": at(-48), "fast": at(-20), "slow": at(-48)},
		Options:       route.FleetOptions{MaxIterations: 300, Seed: 1},
	}
	pl, err := Plan(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, pl civic.Plan) {
		t.Helper()
		etas := map[string][]time.Time{}
		for _, r := range pl.Routes {
			for _, s := range r.Stops {
				if s.Kind == civic.StopBin {
					etas[s.BinID] = append(etas[s.BinID], s.ETA)
				}
			}
		}
		if len(pl.Unplanned) > 0 {
			t.Fatalf("%s: unplanned %+v", what, pl.Unplanned)
		}
		for _, e := range etas {
			slices.SortFunc(e, time.Time.Compare)
		}
		if got := etas["steady"]; len(got) != 1 || got[0].Before(at(6)) || got[0].After(at(9)) {
			t.Errorf("%s: steady served at %v, want once between 12:00 and 15:00", what, got)
		}
		if got := etas["fast"]; len(got) != 2 || got[0].After(at(2)) || got[1].Before(at(13)) {
			t.Errorf("%s: fast served at %v, want by 08:00 and again from 19:00", what, got)
		}
		if got := etas["slow"]; len(got) != 0 {
			t.Errorf("%s: slow served at %v, want left", what, got)
		}
	}
	check("plan", pl)

	// A supervisor's edit re-solves the plan with the same windows and
	// second visits (they were dropped once: the re-optimised plan served
	// steady at 06:00, to be full again before Saturday's trucks).
	re, err := Reoptimise(context.Background(), pl, []Edit{{BinID: "slow", By: "ana"}}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("re-optimised", re)

	// The same fast bin whose rate is its zone's average (no history of
	// its own yet) is visited once.
	young := in
	young.Forecasts = maps.Clone(in.Forecasts)
	f := young.Forecasts["fast"]
	f.Confidence, f.Samples = 0, 1
	young.Forecasts["fast"] = f
	pl, err = Plan(context.Background(), young, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stops(pl, "fast"); got != 1 {
		t.Errorf("fast without history of its own is served %d times, want once", got)
	}

	// Route (decisions made elsewhere, the simulator's schedules) and a
	// plan without forecasts keep Build's windows: one visit at any time.
	in.Forecasts = nil
	in.States = []civic.BinState{{BinID: "fast", Fill: ptr(0.95), Time: at(-1)}}
	pl, err = Plan(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := stops(pl, "fast"); n != 1 {
		t.Errorf("without a forecast, fast is served %d times, want once", n)
	}
}

// TestServiceWindowsLifted: a fleet that cannot keep the windows (one
// truck on a short morning shift, eight full bins far apart that it
// cannot all reach by 08:00) still serves every must-go bin: the windows
// are dropped.
func TestServiceWindowsLifted(t *testing.T) {
	depots := []civic.Depot{{ID: "d1", Name: "Depot", Lat: 47.37, Lon: 8.50}}
	trucks := []civic.Truck{{ID: "m", Name: "Morning", DepotID: "d1", CapacityL: 20000, Stream: civic.StreamTrash,
		ShiftStart: "06:00", ShiftEnd: "11:00", Status: civic.StatusActive}}
	facs := []civic.Facility{{ID: "f1", Name: "Transfer", Lat: 47.36, Lon: 8.48, Streams: []civic.Stream{civic.StreamTrash},
		Opens: "05:00", Closes: "23:00", UnloadMin: 15, Status: civic.StatusActive}}
	var bins []civic.Bin
	fcs := map[string]civic.Forecast{}
	for i := range 8 {
		b := testBin(string(rune('a' + i)))
		b.Lat, b.Lon = 47.37+0.06*math.Sin(float64(i)*math.Pi/4), 8.50+0.08*math.Cos(float64(i)*math.Pi/4)
		bins = append(bins, b)
		full := at(-1)
		fcs[b.ID] = civic.Forecast{BinID: b.ID, Now: at(-1), Fill: 0.95, Threshold: 0.9, RatePerHour: 0.1,
			FullAt: &full, FullAtLow: &full, HorizonHours: 72, Confidence: 0.8, Samples: 200}
	}
	in := PlanInput{Day: friday, Bins: bins, Trucks: trucks, Depots: depots, Facilities: facs,
		Settings: civic.DefaultPlanSettings(), Forecasts: fcs,
		Options: route.FleetOptions{MaxIterations: 300, Seed: 1}}
	pl, err := Plan(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Unplanned) > 0 {
		t.Fatalf("unplanned %+v", pl.Unplanned)
	}
	served := map[string]int{}
	late := false
	for _, r := range pl.Routes {
		for _, s := range r.Stops {
			if s.Kind == civic.StopBin {
				served[s.BinID]++
				late = late || s.ETA.After(at(2))
			}
		}
	}
	for _, b := range bins {
		if served[b.ID] < 1 {
			t.Errorf("bin %s not served", b.ID)
		}
	}
	if !late {
		t.Errorf("every bin served by 08:00: the test's fleet was meant not to manage that")
	}
}

// stops counts the plan's visits to bin.
func stops(pl civic.Plan, bin string) int {
	n := 0
	for _, r := range pl.Routes {
		for _, s := range r.Stops {
			if s.Kind == civic.StopBin && s.BinID == bin {
				n++
			}
		}
	}
	return n
}

// TestEaseLeftOut: when the solver leaves out must-go visits, only their
// windows go: a left-out second visit becomes optional (worth a may-go
// bin's detour, so it is still made when it fits), a left-out first visit
// loses its window, and every other visit keeps what serviceWindows set.
func TestEaseLeftOut(t *testing.T) {
	p := &Problem{Fleet: route.FleetProblem{Visits: []route.Visit{
		{Ready: 3600, Due: 7200},         // 0: timed, served
		{Ready: 3600, Due: 7200},         // 1: timed, left out
		{Ready: 30000},                   // 2: a second visit, left out
		{Optional: true, Prize: 5},       // 3: may-go, left out
		{Ready: 40000},                   // 4: a second visit, served
		{Due: 9000, Vehicle: 1, Node: 7}, // 5: not timed by serviceWindows, left out
	}}}
	tm := timing{windows: []int{0, 1}, seconds: []int{2, 4}}
	sol := route.FleetSolution{Unvisited: []int{1, 2, 3, 5}}
	if !easeLeftOut(p, tm, sol, 0) {
		t.Fatal("nothing eased")
	}
	want := []route.Visit{
		{Ready: 3600, Due: 7200},
		{},
		{Ready: 30000, Optional: true, Prize: DefaultDetourM},
		{Optional: true, Prize: 5},
		{Ready: 40000},
		{Due: 9000, Vehicle: 1, Node: 7},
	}
	for i := range want {
		if p.Fleet.Visits[i] != want[i] {
			t.Errorf("visit %d = %+v, want %+v", i, p.Fleet.Visits[i], want[i])
		}
	}
	if easeLeftOut(p, tm, route.FleetSolution{Unvisited: []int{3, 5}}, 0) {
		t.Error("eased again with only an optional visit and an untimed one left out")
	}
}
