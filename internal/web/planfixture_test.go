package web

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/plan"
	solver "github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/store"
)

// addPlanning gives the fixture's city its fleet — the generated depots,
// trucks and crews (crew1 joins the first crew), and a facility that takes
// every stream — and returns the real planner over the store.
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
	f.plans = &planStore{Store: f.st, f: f, reports: map[string]civic.Stop{}, stops: map[string]civic.Stop{}}
	svc, err := plan.NewService(plan.ServiceOptions{Assets: f.st, States: f.st, Alerts: f.st, Plans: f.plans,
		Now: f.clock, Logger: slog.New(slog.DiscardHandler), TimeLimit: 2 * time.Second, Solve: insertionSolve})
	if err != nil {
		f.t.Fatalf("plan.NewService: %v", err)
	}
	return svc, f.plans
}

// date is the planning fixture's service day.
func (f *fixture) date() string { return f.now.Format(time.DateOnly) }

// planStore is the store as a civic.PlanStore until the store keeps stop
// reports and collections itself: it keeps them in memory and lays the
// reported outcomes over the routes the store returns. A collected bin's
// live fill becomes 0 through a reading, as the store's ReportStop would
// set it.
type planStore struct {
	*store.Store
	f *fixture

	mu      sync.Mutex
	reports map[string]civic.Stop // client id -> the stop as reported
	stops   map[string]civic.Stop // stop id -> the stop as reported
	colls   []civic.Collection
}

func (s *planStore) overlay(rt *civic.Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range rt.Stops {
		if r, ok := s.stops[st.ID]; ok {
			rt.Stops[i] = r
		}
	}
}

func (s *planStore) Plan(ctx context.Context, id string) (civic.Plan, error) {
	p, err := s.Store.Plan(ctx, id)
	for i := range p.Routes {
		s.overlay(&p.Routes[i])
	}
	return p, err
}

func (s *planStore) Route(ctx context.Context, id string) (civic.Route, error) {
	r, err := s.Store.Route(ctx, id)
	s.overlay(&r)
	return r, err
}

func (s *planStore) RoutesFor(ctx context.Context, date, crewID string) ([]civic.Route, error) {
	rs, err := s.Store.RoutesFor(ctx, date, crewID)
	for i := range rs {
		s.overlay(&rs[i])
	}
	return rs, err
}

func (s *planStore) ReportStop(ctx context.Context, r *civic.StopReport) (civic.Stop, *civic.Collection, bool, error) {
	s.mu.Lock()
	if st, ok := s.reports[r.ClientID]; ok {
		s.mu.Unlock()
		return st, nil, false, nil
	}
	s.mu.Unlock()
	i := strings.LastIndex(r.StopID, "-s")
	if i < 0 {
		return civic.Stop{}, nil, false, civic.Errorf(civic.NotFound, "no stop %s", r.StopID)
	}
	rt, err := s.Route(ctx, r.StopID[:i])
	if err != nil {
		return civic.Stop{}, nil, false, err
	}
	k := slices.IndexFunc(rt.Stops, func(st civic.Stop) bool { return st.ID == r.StopID })
	if k < 0 {
		return civic.Stop{}, nil, false, civic.Errorf(civic.NotFound, "no stop %s", r.StopID)
	}
	st := rt.Stops[k]
	at := r.At
	st.Status, st.DoneAt, st.SkipReason, st.FillSeen = r.Status, &at, r.SkipReason, r.FillSeen
	if v, err := s.Bin(ctx, st.BinID); err == nil && v.State != nil {
		st.FillAtArrival = v.State.Fill
	}
	var c *civic.Collection
	if r.Status == civic.StopCollected {
		c = &civic.Collection{ID: "c-" + r.ClientID, BinID: st.BinID, Time: at, StopID: st.ID, RouteID: rt.ID, PlanID: rt.PlanID,
			TruckID: rt.TruckID, CrewID: rt.CrewID, By: r.By, FillSeen: r.FillSeen, FillBefore: st.FillAtArrival, Source: "crew"}
		for _, d := range s.f.city.Devices {
			if d.BinID == st.BinID {
				zero := 0.0
				if _, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: d.ID, Bin: d.BinID, Time: at, Fill: &zero}}}); err != nil {
					return civic.Stop{}, nil, false, err
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports[r.ClientID] = st
	s.stops[st.ID] = st
	if c != nil {
		s.colls = append(s.colls, *c)
	}
	return st, c, true, nil
}

func (s *planStore) RecordCollection(ctx context.Context, c *civic.Collection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.colls = append(s.colls, *c)
	return nil
}

func (s *planStore) ListCollections(ctx context.Context, f civic.CollectionFilter) ([]civic.Collection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []civic.Collection
	for _, c := range s.colls {
		if (f.BinID == "" || c.BinID == f.BinID) && (f.PlanID == "" || c.PlanID == f.PlanID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *planStore) LastCollections(ctx context.Context) (map[string]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	for _, c := range s.colls {
		if c.Time.After(out[c.BinID]) {
			out[c.BinID] = c.Time
		}
	}
	return out, nil
}

func (s *planStore) StopPhoto(ctx context.Context, stopID string) ([]byte, string, error) {
	return nil, "", civic.Errorf(civic.NotFound, "no photo")
}

// insertionSolve stands in for route.SolveFleet until the route solver
// lands: cheapest insertion with solver.FleetProblem.Schedule, mandatory
// visits first, optional ones when their detour costs less than their
// prize, starting from o.Initial when given (a copy of internal/plan's
// test solver).
func insertionSolve(_ context.Context, p *solver.FleetProblem, o solver.FleetOptions) (solver.FleetSolution, error) {
	if err := p.Validate(); err != nil {
		return solver.FleetSolution{}, err
	}
	seqs := make([][]int, len(p.Vehicles))
	placed := make([]bool, len(p.Visits))
	if o.Initial != nil {
		for k, r := range o.Initial.Routes {
			for _, s := range r.Stops {
				if s.Kind == solver.StopVisit {
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
	sol := solver.FleetSolution{Routes: make([]solver.FleetRoute, len(p.Vehicles)), Feasible: true, Elapsed: time.Millisecond}
	for k := range seqs {
		r, ok := p.Schedule(k, seqs[k])
		if len(seqs[k]) == 0 {
			r = solver.FleetRoute{}
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
