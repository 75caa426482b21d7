package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/plan"
	solver "github.com/civic-city/civic/internal/route"
)

// addPlanning gives the fixture's city its fleet — the generated depots,
// trucks and crews (crew1 joins the first crew), and a facility that takes
// every stream — and returns the real planner (plan.Service with
// route.SolveFleet, a second per plan) over the store.
func (f *fixture) addPlanning() (civic.Planner, civic.PlanStore) {
	f.t.Helper()
	ctx := context.Background()
	for i := range f.city.Depots {
		if err := f.st.CreateDepot(ctx, &f.city.Depots[i]); err != nil {
			f.t.Fatalf("CreateDepot: %v", err)
		}
	}
	for i := range f.city.Trucks {
		if err := f.st.CreateTruck(ctx, &f.city.Trucks[i]); err != nil {
			f.t.Fatalf("CreateTruck: %v", err)
		}
	}
	for i := range f.city.Crews {
		c := &f.city.Crews[i]
		if i == 0 {
			c.Members = append(c.Members, "crew1")
		}
		if err := f.st.CreateCrew(ctx, c); err != nil {
			f.t.Fatalf("CreateCrew: %v", err)
		}
	}
	d := f.city.Depots[0]
	fac := civic.Facility{ID: "F-1", Name: "North transfer station", Kind: civic.FacilityTransfer, Lat: d.Lat + 0.01, Lon: d.Lon - 0.012,
		Address: "1 Quarry Road", Streams: civic.Streams}
	fac.Normalize()
	if err := f.st.CreateFacility(ctx, &fac); err != nil {
		f.t.Fatalf("CreateFacility: %v", err)
	}
	f.plans = f.st
	svc, err := plan.NewService(plan.ServiceOptions{Assets: f.st, States: f.st, Alerts: f.st, Plans: f.st,
		Now: f.clock, Logger: slog.New(slog.DiscardHandler), TimeLimit: time.Second, Solve: solver.SolveFleet,
		// As cmd/civic wires it: a collected bin's new state reaches the map at once.
		OnCollected: func(id string) { f.ui.RefreshBins(context.Background(), id) }})
	if err != nil {
		f.t.Fatalf("plan.NewService: %v", err)
	}
	return svc, f.plans
}

// date is the planning fixture's service day.
func (f *fixture) date() string { return f.now.Format(time.DateOnly) }
