package route

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// lineProblem puts nodes on a line at the given positions (metres; travel
// at 1 m/s).
func lineProblem(pos []float64) *FleetProblem {
	n := len(pos)
	p := &FleetProblem{N: n, Dist: make([]float64, n*n), Time: make([]float64, n*n)}
	for i := range n {
		for j := range n {
			p.Dist[i*n+j] = math.Abs(pos[i] - pos[j])
			p.Time[i*n+j] = p.Dist[i*n+j]
		}
	}
	return p
}

// TestFleetTinyOptimum: four bins of 60 litres at 1..4 km from the depot,
// a 150-litre truck and a facility at 10 km. Two trips are needed; the
// best plan collects bins 1 and 2, unloads, collects 3 and 4, unloads and
// goes home: 10+14+10 = 34 km. An optional bin on the way pays its prize;
// one behind the facility does not.
func TestFleetTinyOptimum(t *testing.T) {
	p := lineProblem([]float64{0, 10000, 1000, 2000, 3000, 4000, 500, 20000})
	p.Facilities = []Facility{{Node: 1, Open: 0, Close: 86400, Unload: 60}}
	p.Vehicles = []Vehicle{{Start: 0, End: 0, Capacity: 150, ShiftStart: 0, ShiftEnd: 86400}}
	for i := 2; i <= 5; i++ {
		p.Visits = append(p.Visits, Visit{Node: i, Demand: 60, Service: 10})
	}
	p.Visits = append(p.Visits, Visit{Node: 6, Optional: true, Prize: 5}, Visit{Node: 7, Demand: 10, Optional: true, Prize: 50})
	for seed := range int64(3) {
		s, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 300, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFleet(p, &s); err != nil {
			t.Fatal(err)
		}
		if s.Distance != 34000 || s.Prize != 5 || s.Objective != 34000-5 {
			t.Errorf("seed %d: distance %v prize %v objective %v, want 34000, 5, 33995", seed, s.Distance, s.Prize, s.Objective)
		}
		facilities := 0
		for _, st := range s.Routes[0].Stops {
			if st.Kind == StopFacility {
				facilities++
			}
		}
		if facilities != 2 {
			t.Errorf("seed %d: %d unloads, want 2 (one trip between, one before going home)", seed, facilities)
		}
	}
}

func TestFleetValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(p *FleetProblem)
	}{
		{"Dist", func(p *FleetProblem) { p.Dist = p.Dist[1:] }},
		{"Time[3]", func(p *FleetProblem) { p.Time[3] = math.NaN() }},
		{"Vehicles", func(p *FleetProblem) { p.Vehicles = nil }},
		{"Vehicles[0].Capacity", func(p *FleetProblem) { p.Vehicles[0].Capacity = 0 }},
		{"Vehicles[1].ShiftEnd", func(p *FleetProblem) { p.Vehicles[1].ShiftEnd = 0 }},
		{"Vehicles[0].Facilities[0]", func(p *FleetProblem) { p.Vehicles[0].Facilities = []int{7} }},
		{"Facilities[1].Close", func(p *FleetProblem) { p.Facilities[1].Close = 1 }},
		{"Visits[2].Node", func(p *FleetProblem) { p.Visits[2].Node = -1 }},
		{"Visits[2].Due", func(p *FleetProblem) { p.Visits[2].Ready, p.Visits[2].Due = 50000, 40000 }},
		{"Visits[3].Vehicle", func(p *FleetProblem) { p.Visits[3].Vehicle = 9 }},
		{"Visits[4].Demand", func(p *FleetProblem) { p.Visits[4].Demand = 1e9 }},
		{"TimeCost", func(p *FleetProblem) { p.TimeCost = -1 }},
	} {
		p := GenerateFleet(1, FleetGen{Mandatory: 10, Optional: 2, Vehicles: 3})
		if err := p.Validate(); err != nil {
			t.Fatalf("generated problem: %v", err)
		}
		tc.edit(p)
		err := p.Validate()
		var ce *civic.Error
		if !errors.As(err, &ce) || ce.Kind != civic.Invalid || ce.Field != tc.field {
			t.Errorf("%s: got %v, want an Invalid error on that field", tc.field, err)
		}
	}
}

// refSchedule is the plain reference for Schedule: every set of unload
// points and every facility choice, the one of least distance that keeps
// each trip within capacity and the truck empty at the end, timed stop by
// stop.
func refSchedule(p *FleetProblem, k int, seq []int) (dist float64, ok bool) {
	v := p.Vehicles[k]
	m := len(seq)
	allowed := v.Facilities
	if allowed == nil {
		for f := range p.Facilities {
			allowed = append(allowed, f)
		}
	}
	best := math.Inf(1)
	var bestPlan []int // facility after each visit, -1 none
	plan := make([]int, m)
	var try func(j int, load float64)
	try = func(j int, load float64) {
		if j == m {
			if load > 0 {
				return
			}
			d, prev := 0.0, v.Start
			for i, c := range seq {
				d += p.Dist[prev*p.N+p.Visits[c].Node]
				prev = p.Visits[c].Node
				if plan[i] >= 0 {
					d += p.Dist[prev*p.N+p.Facilities[plan[i]].Node]
					prev = p.Facilities[plan[i]].Node
				}
			}
			d += p.Dist[prev*p.N+v.End]
			if d < best {
				best, bestPlan = d, append([]int(nil), plan...)
			}
			return
		}
		load += p.Visits[seq[j]].Demand
		if load > v.Capacity {
			return
		}
		plan[j] = -1
		try(j+1, load)
		for _, f := range allowed {
			plan[j] = f
			try(j+1, 0)
		}
	}
	try(0, 0)
	if bestPlan == nil {
		return 0, false
	}
	// Time it.
	t, prev, ok := v.ShiftStart, v.Start, true
	taken := v.BreakLength == 0
	brk := func() {
		if !taken && t-v.ShiftStart >= v.BreakAfter {
			t += v.BreakLength
			taken = true
		}
	}
	brk()
	for i, c := range seq {
		vis := p.Visits[c]
		t = max(t+p.Time[prev*p.N+vis.Node], vis.Ready)
		if vis.Due > 0 && t > vis.Due {
			ok = false
		}
		t += vis.Service
		prev = vis.Node
		brk()
		if f := bestPlan[i]; f >= 0 {
			fc := p.Facilities[f]
			t = max(t+p.Time[prev*p.N+fc.Node], fc.Open)
			if t > fc.Close {
				ok = false
			}
			t += fc.Unload
			prev = fc.Node
			brk()
		}
	}
	t += p.Time[prev*p.N+v.End]
	return best, ok && t <= v.ShiftEnd
}

// TestFleetScheduleReference compares Schedule with the brute-force
// reference on random short sequences, and checks its stops.
func TestFleetScheduleReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	agree := 0
	for trial := range 300 {
		nb := 2 + rng.IntN(6)
		pos := []float64{rng.Float64() * 5000, -3000 - rng.Float64()*2000, 9000 + rng.Float64()*3000}
		for range nb {
			pos = append(pos, rng.Float64()*8000)
		}
		p := lineProblem(pos)
		for i := range p.Dist {
			p.Dist[i] *= 1 + 0.01*float64(i%7) // break ties, keep it asymmetric
			p.Time[i] /= 5
		}
		p.Facilities = []Facility{{Node: 1, Close: 86400, Unload: 300}, {Node: 2, Close: 86400, Unload: 200}}
		p.Vehicles = []Vehicle{{Start: 0, End: 0, Capacity: 1000, ShiftStart: 21600, ShiftEnd: 21600 + 5000 + rng.Float64()*30000,
			BreakAfter: rng.Float64() * 20000, BreakLength: 1800}}
		if rng.IntN(3) == 0 {
			p.Vehicles[0].Facilities = []int{rng.IntN(2)}
		}
		seq := rng.Perm(nb)
		for i := range nb {
			v := Visit{Node: 3 + i, Demand: float64(100 + rng.IntN(900)), Service: 60}
			if rng.IntN(4) == 0 {
				v.Ready = 21600 + rng.Float64()*20000
				v.Due = v.Ready + rng.Float64()*10000
			}
			p.Visits = append(p.Visits, v)
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		r, ok := p.Schedule(0, seq)
		wantDist, wantOK := refSchedule(p, 0, seq)
		if ok != wantOK {
			t.Fatalf("trial %d: feasible %v, reference %v\n%+v\n%+v\n%v %v", trial, ok, wantOK, p.Vehicles, p.Visits, r, wantDist)
		}
		if !ok {
			continue
		}
		agree++
		if math.Abs(r.Distance-wantDist) > 1e-6 {
			t.Fatalf("trial %d: distance %v, reference %v", trial, r.Distance, wantDist)
		}
		s := FleetSolution{Routes: []FleetRoute{r}, Distance: r.Distance, Duration: r.Duration, Objective: r.Distance, Feasible: true}
		if err := checkFleet(p, &s); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
	}
	t.Logf("%d of 300 sequences feasible", agree)
	if agree < 50 {
		t.Errorf("only %d feasible trials: the test exercises too little", agree)
	}
}

// smallFleet is a random small day with a few pinned visits.
func smallFleet(seed int64) *FleetProblem {
	p := GenerateFleet(seed, FleetGen{Mandatory: 40, Optional: 20, Vehicles: 4})
	for i := 0; i < 40; i += 13 {
		p.Visits[i].Vehicle = 1 + int(seed+int64(i))%4
	}
	return p
}

// TestFleetSolveChecked solves random small days and checks every plan
// with the independent checker; the same seed gives the same plan.
func TestFleetSolveChecked(t *testing.T) {
	iters := 2000
	if raceEnabled {
		iters = 400
	}
	for seed := range int64(6) {
		p := smallFleet(seed)
		s, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: iters, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFleet(p, &s); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		again, _ := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: iters, Seed: seed})
		if again.Objective != s.Objective {
			t.Errorf("seed %d: objective %v then %v with the same seed", seed, s.Objective, again.Objective)
		}
		t.Logf("seed %d: objective %.2f, %d unvisited optional", seed, s.Objective, len(s.Unvisited))
	}
}

// TestFleetWarmStart moves a stop as a supervisor would and re-optimises
// the rest from there.
func TestFleetWarmStart(t *testing.T) {
	p := smallFleet(11)
	s, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 500, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	from, to := -1, -1
	for k, r := range s.Routes {
		if len(r.Stops) > 2 && from < 0 {
			from = k
		} else if to < 0 {
			to = k
		}
	}
	if from < 0 || to < 0 {
		t.Fatal("no two routes to move a stop between: the fixed instance changed")
	}
	moved := s.Routes[from].Stops[0]
	s.Routes[to].Stops = append([]FleetStop{moved}, s.Routes[to].Stops...)
	s.Routes[from].Stops = s.Routes[from].Stops[1:]
	var warm FleetSolution
	warm, err = SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 100, Seed: 2, Initial: &s})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFleet(p, &warm); err != nil {
		t.Fatal(err)
	}
	if warm.Objective > s.Objective*1.05+1 {
		t.Errorf("warm start %v, much worse than the plan it started from %v", warm.Objective, s.Objective)
	}
}

// TestFleetInfeasibleMandatory: a mandatory visit no shift can reach is
// reported unvisited and the plan infeasible, the others served.
func TestFleetInfeasibleMandatory(t *testing.T) {
	p := lineProblem([]float64{0, 1000, 2000, 50000})
	p.Facilities = []Facility{{Node: 1, Close: 86400}}
	p.Vehicles = []Vehicle{{Capacity: 100, ShiftEnd: 20000}}
	p.Visits = []Visit{{Node: 2, Demand: 10}, {Node: 3, Demand: 10}}
	s, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 50})
	if err != nil {
		t.Fatal(err)
	}
	if s.Feasible || len(s.Unvisited) != 1 || s.Unvisited[0] != 1 || len(s.Routes[0].Stops) != 3 {
		t.Errorf("feasible %v, unvisited %v, stops %v", s.Feasible, s.Unvisited, s.Routes[0].Stops)
	}
}

// TestFleetGap measures the benchmark instance (2,000 mandatory and 1,000
// optional bins, 30 trucks): CIVIC_FLEET_BENCH is the time limit (e.g.
// 40s) and CIVIC_FLEET_REF, if set, the limit of the reference run the
// gap is measured against (e.g. 10m). Both count CPU time.
// CIVIC_FLEET_SEED picks another generated day (default 1).
func TestFleetGap(t *testing.T) {
	limit, err := time.ParseDuration(os.Getenv("CIVIC_FLEET_BENCH"))
	if err != nil {
		t.Skip("set CIVIC_FLEET_BENCH=40s (and CIVIC_FLEET_REF=10m) to measure")
	}
	seed := int64(1)
	if v := os.Getenv("CIVIC_FLEET_SEED"); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("CIVIC_FLEET_SEED: %v", err)
		}
	}
	p := GenerateFleet(seed, FleetGen{Mandatory: 2000, Optional: 1000, Vehicles: 30})
	solve := func(limit time.Duration) FleetSolution {
		wall := time.Now()
		s, err := SolveFleet(context.Background(), p, FleetOptions{TimeLimit: limit, Seed: 1, Clock: ProcessCPUClock})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFleet(p, &s); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v CPU (%v wall): objective %.2f, distance %.0f m, duration %.0f s, prize %.2f, %d unvisited, %d iterations",
			limit, time.Since(wall).Round(time.Millisecond), s.Objective, s.Distance, s.Duration, s.Prize, len(s.Unvisited), s.Iterations)
		return s
	}
	s := solve(limit)
	if ref, err := time.ParseDuration(os.Getenv("CIVIC_FLEET_REF")); err == nil {
		r := solve(ref)
		t.Logf("gap %.2f%%", 100*(s.Objective-r.Objective)/math.Abs(r.Objective))
	}
}

// TestFleetEvalFrom checks that timing a changed route only from its
// first change (evalFrom) agrees with timing it whole.
func TestFleetEvalFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	checked := 0
	for trial := range 200 {
		p := GenerateFleet(int64(trial), FleetGen{Mandatory: 60, Optional: 0, Vehicles: 2})
		m := newFleetModel(p)
		sch := newScheduler(m)
		k := rng.IntN(2)
		n := 5 + rng.IntN(40)
		var r froute
		for _, v := range rng.Perm(len(p.Visits))[:n] {
			if m.vis[v].veh < 0 || int(m.vis[v].veh) == k {
				r.seq = append(r.seq, int32(v))
			}
		}
		m.build(k, &r.legs)
		if _, ok := sch.eval(k, &r.legs, nil); !ok {
			continue
		}
		r.setCost(k, sch)
		var l legs
		for range 20 {
			i := rng.IntN(len(r.seq) + 1)
			if rng.IntN(2) == 0 && len(r.seq) > 1 {
				i = min(i, len(r.seq)-1)
				l.seq = slices.Delete(slices.Clone(r.seq), i, i+1)
			} else {
				l.seq = slices.Insert(slices.Clone(r.seq), i, int32(rng.IntN(len(p.Visits))))
			}
			m.build(k, &l)
			want, wantOK := sch.eval(k, &l, nil)
			got, gotOK := sch.evalFrom(k, &l, &r.sc, i, nil)
			if gotOK != wantOK || (wantOK && got != want) {
				t.Fatalf("trial %d, change at %d: evalFrom %v %v, eval %v %v", trial, i, got, gotOK, want, wantOK)
			}
			checked++
		}
	}
	if checked < 500 {
		t.Errorf("only %d changes checked", checked)
	}
}

// TestFleetThreads: searches on several threads meet at every epoch and
// continue from the best plan; what comes out passes the checker, is no
// worse than the best of the threads' first plans, and uses the
// iteration budget split between them.
func TestFleetThreads(t *testing.T) {
	iters := 2000
	if raceEnabled {
		iters = 400
	}
	for seed := range int64(3) {
		p := smallFleet(seed)
		first, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 1, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		s, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: iters, Seed: seed, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFleet(p, &s); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if s.Iterations != iters {
			t.Errorf("seed %d: %d iterations, want %d", seed, s.Iterations, iters)
		}
		if s.Objective > first.Objective+1e-9 {
			t.Errorf("seed %d: objective %v with two threads, worse than one thread's first plan %v", seed, s.Objective, first.Objective)
		}
	}
}

// TestFleetCostArcLayouts: the legs read from the transposed copy and,
// without it (a model beyond fleetTransposeMax visits), from out agree
// with the matrices.
func TestFleetCostArcLayouts(t *testing.T) {
	p := GenerateFleet(4, FleetGen{Mandatory: 80, Optional: 40, Vehicles: 3})
	m := newFleetModel(p)
	for _, transposed := range []bool{true, false} {
		if !transposed {
			m.in = nil
		}
		for k := range p.Vehicles {
			for a := int32(-1); a < int32(len(p.Visits)); a++ {
				for b := int32(-1); b < int32(len(p.Visits)); b++ {
					if a < 0 && b < 0 {
						continue
					}
					d, tm := m.arc(k, a, b)
					want := float64(float32(m.dc*d + m.tc*tm))
					for _, at := range []int32{a, b} {
						c, tt := m.costArc(k, a, b, at)
						if c != want || tt != float64(float32(tm)) {
							t.Fatalf("transposed %v, vehicle %d, %d→%d read at %d: %v %v, want %v %v", transposed, k, a, b, at, c, tt, want, float64(float32(tm)))
						}
					}
				}
			}
		}
	}
}

// TestFleetQuickInsert checks the constant-time insertion timing against
// timing the route whole: wherever quickInsert answers, it agrees on
// feasibility and cost, on routes with breaks, several trips, windows and
// costs of both distance and time.
func TestFleetQuickInsert(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	known, feasible, total := 0, 0, 0
	for trial := range 300 {
		p := GenerateFleet(int64(trial), FleetGen{Mandatory: 80, Optional: 20, Vehicles: 2})
		if trial%3 == 0 {
			p.TimeCost = 0 // as the planner sets it
		}
		m := newFleetModel(p)
		s := newFleetSearch(m, int64(trial))
		s.cand.routes = make([]froute, len(p.Vehicles))
		k := rng.IntN(2)
		r := &s.cand.routes[k]
		in := make([]bool, len(p.Visits))
		for _, v := range rng.Perm(len(p.Visits))[:10+rng.IntN(60)] {
			if m.vis[v].veh < 0 || int(m.vis[v].veh) == k {
				r.seq = append(r.seq, int32(v))
				in[v] = true
			}
		}
		m.build(k, &r.legs)
		if _, ok := s.sch.eval(k, &r.legs, nil); !ok {
			continue
		}
		r.setCost(k, s.sch)
		var l legs
		for range 40 {
			c := int32(rng.IntN(len(p.Visits)))
			if in[c] || (m.vis[c].veh >= 0 && int(m.vis[c].veh) != k) {
				continue
			}
			cd := fcand{r: int32(k), i: int32(rng.IntN(len(r.seq) + 1))}
			prev, next := int32(-1), int32(-1)
			if cd.i > 0 {
				prev = r.seq[cd.i-1]
			}
			if int(cd.i) < len(r.seq) {
				next = r.seq[cd.i]
			}
			cd.d1, cd.t1 = m.arc(k, prev, c)
			cd.d2, cd.t2 = m.arc(k, c, next)
			total++
			delta, ok, isKnown := s.quickInsert(c, &cd)
			if !isKnown {
				continue
			}
			known++
			l.seq = slices.Insert(slices.Clone(r.seq), int(cd.i), c)
			m.build(k, &l)
			want, wantOK := s.sch.eval(k, &l, nil)
			if ok != wantOK || (ok && math.Abs(want-r.cost-delta) > 1e-6*max(1, math.Abs(want))) {
				t.Fatalf("trial %d, visit %d at %d of %d: quick %v %v, timed %v %v", trial, c, cd.i, len(r.seq), delta, ok, want-r.cost, wantOK)
			}
			if ok {
				feasible++
			}
		}
	}
	t.Logf("%d insertions, %d answered quickly, %d of them feasible", total, known, feasible)
	if known < total/3 || feasible < known/4 {
		t.Errorf("only %d of %d insertions answered quickly, %d feasible", known, total, feasible)
	}
}

// TestFleetPolish: a route that doubles back is straightened by a
// reversal, and polishing solved plans keeps them feasible and never
// makes them dearer.
func TestFleetPolish(t *testing.T) {
	p := lineProblem([]float64{0, 1000, 2000, 3000, 4000, 5000, 6000})
	p.Facilities = []Facility{{Node: 0, Close: 86400}}
	p.Vehicles = []Vehicle{{Capacity: 1000, ShiftEnd: 86400}}
	for n := 1; n <= 6; n++ {
		p.Visits = append(p.Visits, Visit{Node: n, Demand: 10})
	}
	m := newFleetModel(p)
	s := newFleetSearch(m, 1)
	x := &fsol{routes: make([]froute, 1)}
	x.routes[0].seq = []int32{0, 1, 4, 3, 2, 5}
	m.build(0, &x.routes[0].legs)
	if !x.routes[0].setCost(0, s.sch) {
		t.Fatal("the doubling-back route is infeasible")
	}
	x.obj = x.routes[0].cost
	s.polish(x)
	if want := []int32{0, 1, 2, 3, 4, 5}; !slices.Equal(x.routes[0].seq, want) || x.obj != 12000 {
		t.Errorf("polished to %v, cost %v; want %v, 12000", x.routes[0].seq, x.obj, want)
	}

	for seed := range int64(4) {
		p := smallFleet(seed)
		sol, err := SolveFleet(context.Background(), p, FleetOptions{MaxIterations: 50, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		m := newFleetModel(p)
		s := newFleetSearch(m, seed)
		s.initial(&sol)
		before := s.best.obj
		s.polish(&s.best)
		sum := 0.0
		for _, r := range s.best.routes {
			sum += r.cost
		}
		for _, u := range s.best.unassigned {
			sum += s.pen[u]
		}
		if s.best.obj > before+1e-9 || math.Abs(sum-s.best.obj) > 1e-6*(1+sum) {
			t.Errorf("seed %d: objective %v before polishing, %v after, routes and forfeits add to %v", seed, before, s.best.obj, sum)
		}
		out := s.output(&s.best)
		if err := checkFleet(p, &out); err != nil {
			t.Errorf("seed %d: polished plan: %v", seed, err)
		}
	}
}
