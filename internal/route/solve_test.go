package route

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// solveChecked solves p and verifies the result with the independent
// checker.
func solveChecked(t *testing.T, p *Problem, opt Options) *Solution {
	t.Helper()
	s, err := Solve(context.Background(), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if s.Feasible {
		if err := checkSolution(p, s); err != nil {
			t.Fatalf("%s: solver says feasible, checker says: %v", p.Name, err)
		}
	}
	return s
}

// TestSolveSmallToOptimality is the CI-sized quality check: two classic
// instances with proven optima, about a second of CPU each.
func TestSolveSmallToOptimality(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  float64
	}{{"A-n32-k5", 784}, {"E-n51-k5", 521}} {
		p := loadInstance(t, tc.name, RoundNearest)
		limit := time.Second
		if raceEnabled {
			limit = 5 * time.Second / 2 // the race detector slows the search ~10x
		}
		// CPU time, so a busy CI machine does not starve the search.
		s := solveChecked(t, p, Options{TimeLimit: limit, Seed: 1, Clock: ProcessCPUClock})
		if !s.Feasible {
			t.Fatalf("%s: no feasible solution", tc.name)
		}
		tol := 0.0
		if raceEnabled {
			tol = 0.01
		}
		if s.Cost > tc.opt*(1+tol)+1e-9 {
			t.Errorf("%s: cost %v, optimum %v", tc.name, s.Cost, tc.opt)
		}
		t.Logf("%s: %v in %v (%d iterations)", tc.name, s.Cost, s.TimeToBest, s.Iterations)
	}
}

func TestSolveDurationLimit(t *testing.T) {
	p := loadInstance(t, "CMT6", RoundNone)
	s := solveChecked(t, p, Options{TimeLimit: time.Second, Seed: 2, Clock: ProcessCPUClock})
	if !s.Feasible {
		t.Fatal("CMT6: no feasible solution")
	}
	if s.Cost > 555.43*1.02 {
		t.Errorf("CMT6: cost %v, best known 555.43", s.Cost)
	}
}

// TestSolveTimeWindows solves the first 60 customers of C1_10_1 (a subset
// of a feasible instance stays feasible) and checks every window.
func TestSolveTimeWindows(t *testing.T) {
	full := loadInstance(t, "vrptw/C1_10_1", RoundAuto)
	p := subProblem(full, 61)
	s := solveChecked(t, p, Options{MaxIterations: 50, Seed: 3})
	if !s.Feasible {
		t.Fatalf("no feasible solution (cost %v)", s.Cost)
	}
	t.Logf("C1_10_1[:60]: %v, %d routes", s.Cost, len(s.Routes))
}

func subProblem(p *Problem, n int) *Problem {
	q := &Problem{Name: p.Name + "-sub", N: n, Capacity: p.Capacity, MaxDuration: p.MaxDuration, Vehicles: p.Vehicles}
	q.Demand = slices.Clone(p.Demand[:n])
	q.Service = slices.Clone(p.Service[:n])
	q.Ready, q.Due = slices.Clone(p.Ready[:n]), slices.Clone(p.Due[:n])
	q.X, q.Y = slices.Clone(p.X[:n]), slices.Clone(p.Y[:n])
	q.Dist = make([]float64, n*n)
	for i := 0; i < n; i++ {
		copy(q.Dist[i*n:(i+1)*n], p.Dist[i*p.N:i*p.N+n])
	}
	return q
}

// TestSolveAlwaysFeasible is the property test: on random instances with
// every kind of constraint, what Solve calls feasible passes the checker, and
// satisfiable instances are solved feasibly.
func TestSolveAlwaysFeasible(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := 12
	if raceEnabled {
		trials = 4 // same assertions, fewer random instances
	}
	for trial := 0; trial < trials; trial++ {
		o := randOpts{tw: trial%3 == 1, dur: trial%3 == 2}
		p := randomProblem(rng, 5+rng.IntN(30), o)
		if trial%4 == 0 {
			p.Vehicles = 1 + p.N/2 // a loose fleet limit
		}
		if trial%5 == 0 {
			p.X, p.Y = nil, nil // no coordinates: no SWAP*
		}
		s := solveChecked(t, p, Options{MaxIterations: 100, Seed: int64(trial)})
		if !s.Feasible {
			// One customer per route is always feasible for these instances.
			t.Errorf("trial %d (%+v, n=%d): no feasible solution", trial, o, p.N)
		}
	}
}

func TestSolveInfeasibleInstance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := randomProblem(rng, 10, randOpts{tw: true})
	p.Due[3] = 0.001 // unreachable in time
	p.Ready[3] = 0
	s, err := Solve(context.Background(), p, Options{MaxIterations: 50})
	if err != nil {
		t.Fatal(err)
	}
	if s.Feasible {
		t.Fatal("an impossible window was reported feasible")
	}
	if err := checkSolution(p, s); err == nil {
		t.Fatal("checker accepted an impossible window")
	}
	n := 0
	for _, r := range s.Routes {
		n += len(r)
	}
	if n != 10 {
		t.Errorf("infeasible solution serves %d of 10 customers", n)
	}
}

func TestSolveDeterministic(t *testing.T) {
	p := loadInstance(t, "A-n32-k5", RoundNearest)
	a := solveChecked(t, p, Options{MaxIterations: 60, Seed: 42})
	b := solveChecked(t, p, Options{MaxIterations: 60, Seed: 42})
	if a.Cost != b.Cost || !slices.EqualFunc(a.Routes, b.Routes, slices.Equal[[]int]) {
		t.Errorf("same seed, different solutions: %v vs %v", a.Cost, b.Cost)
	}
}

func TestSolveThreads(t *testing.T) {
	p := loadInstance(t, "A-n32-k5", RoundNearest)
	calls := 0
	last := math.Inf(1)
	s := solveChecked(t, p, Options{TimeLimit: 500 * time.Millisecond, Threads: 2, Seed: 1, Progress: func(pr Progress) {
		calls++
		if pr.Cost >= last {
			t.Errorf("progress reported %v after %v", pr.Cost, last)
		}
		last = pr.Cost
	}})
	if !s.Feasible || calls == 0 || s.Cost != last {
		t.Errorf("feasible %v, %d progress calls, cost %v, last reported %v", s.Feasible, calls, s.Cost, last)
	}
}

func TestSolveCancel(t *testing.T) {
	p := loadInstance(t, "X-n101-k25", RoundNearest)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := Solve(ctx, p, Options{TimeLimit: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancelled search returned after %v", el)
	}
	if len(s.Routes) == 0 {
		t.Error("cancelled search returned no routes")
	}
}

func TestValidateNamesField(t *testing.T) {
	good := func() *Problem {
		return &Problem{N: 2, Demand: []int{0, 1}, Capacity: 1, Dist: []float64{0, 1, 1, 0}}
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		mod   func(p *Problem)
	}{
		{"N", func(p *Problem) { p.N = 1 }},
		{"Demand", func(p *Problem) { p.Demand = []int{0} }},
		{"Demand[1]", func(p *Problem) { p.Demand[1] = 5 }},
		{"Capacity", func(p *Problem) { p.Capacity = 0 }},
		{"Dist", func(p *Problem) { p.Dist = p.Dist[:3] }},
		{"Dist[1]", func(p *Problem) { p.Dist[1] = math.NaN() }},
		{"Due[1]", func(p *Problem) { p.Ready, p.Due = []float64{0, 5}, []float64{10, 4} }},
		{"Ready", func(p *Problem) { p.Ready = []float64{0, 0} }},
		{"MaxDuration", func(p *Problem) { p.MaxDuration = -1 }},
		{"Service", func(p *Problem) { p.Service = []float64{0} }},
	} {
		p := good()
		tc.mod(p)
		err := p.Validate()
		if civic.FieldOf(err) != tc.field || !civic.IsKind(err, civic.Invalid) {
			t.Errorf("%s: got %v", tc.field, err)
		}
		if _, err := Solve(context.Background(), p, Options{MaxIterations: 1}); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Solve with bad %s: %v", tc.field, err)
		}
	}
}

// TestSolveRenumbered covers the locality renumbering of large instances:
// the routes must come back in the caller's numbering. One iteration ends
// the search; the time limit is only a backstop, wide enough for a loaded
// CI machine (2 s failed there under load).
func TestSolveRenumbered(t *testing.T) {
	p := loadInstance(t, "X-n401-k29", RoundNearest)
	if localityOrder(p) == nil {
		t.Fatal("X-n401-k29 is not renumbered")
	}
	s := solveChecked(t, p, Options{MaxIterations: 1, TimeLimit: 30 * time.Second, Seed: 1})
	if !s.Feasible {
		t.Fatal("no feasible solution")
	}
}

// TestDecompose runs one decomposition round on a mid-sized instance: the
// result must stay feasible, serve everyone once, and never be worse.
func TestDecompose(t *testing.T) {
	p := loadInstance(t, "X-n200-k36", RoundNearest)
	g := newTestSearch(p, 1)
	g.initSize, g.subIters = 2, 10
	g.initialPopulation(context.Background(), time.Time{})
	if g.pop.best == nil {
		t.Fatal("no feasible initial solution")
	}
	before := g.pop.best.dist
	g.decompose(context.Background(), time.Time{})
	if g.pop.best.dist > before {
		t.Fatalf("decomposition worsened the best: %v -> %v", before, g.pop.best.dist)
	}
	s := &Solution{Routes: g.sh.best.routesOut(), Cost: g.sh.best.dist}
	if err := checkSolution(p, s); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v -> %v", before, g.pop.best.dist)
}

// TestLinkOrder: linkOrder is a permutation of the routes that starts with
// the first and, on a problem made of separate clusters, never puts a route
// of another cluster inside a run while a route linked to the run is left.
func TestLinkOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	// Four clusters of 60 customers far apart: granular neighbours stay
	// within a cluster, routes of 10 customers never mix clusters.
	const clusters, per = 4, 60
	n := clusters*per + 1
	p := &Problem{Name: "clusters", N: n, Capacity: 100, Demand: make([]int, n), X: make([]float64, n), Y: make([]float64, n)}
	p.X[0], p.Y[0] = 500, 500
	cluster := make([]int, n)
	for i := 1; i < n; i++ {
		k := (i - 1) / per
		cluster[i] = k
		p.X[i] = float64(k%2)*1000 + rng.Float64()*50
		p.Y[i] = float64(k/2)*1000 + rng.Float64()*50
		p.Demand[i] = 1
	}
	p.Dist = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p.Dist[i*n+j] = math.Hypot(p.X[i]-p.X[j], p.Y[i]-p.Y[j])
		}
	}
	g := newTestSearch(p, 1)
	var routes [][]int32
	for i := 1; i < n; i += 10 {
		var r []int32
		for c := i; c < i+10; c++ {
			r = append(r, int32(c))
		}
		routes = append(routes, r)
	}
	rng.Shuffle(len(routes), func(a, b int) { routes[a], routes[b] = routes[b], routes[a] })
	first := routes[0][0]
	out := g.linkOrder(append([][]int32(nil), routes...))
	if len(out) != len(routes) || out[0][0] != first {
		t.Fatalf("got %d routes starting with %d, want %d starting with %d", len(out), out[0][0], len(routes), first)
	}
	seen := map[int32]bool{}
	for _, r := range out {
		if seen[r[0]] {
			t.Fatalf("route of %d twice", r[0])
		}
		seen[r[0]] = true
	}
	// Clusters come out whole: the cluster changes exactly clusters-1 times.
	changes := 0
	for i := 1; i < len(out); i++ {
		if cluster[out[i][0]] != cluster[out[i-1][0]] {
			changes++
		}
	}
	if changes != clusters-1 {
		t.Fatalf("clusters interleaved: %d changes of cluster along the order", changes)
	}
}

// TestDecomposeTW: decomposition rounds on a time-window problem with long
// routes, polar then linked, keep the best feasible and never worsen it.
func TestDecomposeTW(t *testing.T) {
	p := subProblem(loadInstance(t, "vrptw/RC2_10_1", RoundAuto), 401)
	// Loose windows: the savings routes fill the vehicles and are long.
	for i := 1; i < p.N; i++ {
		p.Ready[i], p.Due[i] = 0, p.Due[0]/2
	}
	g := newTestSearch(p, 1)
	in := g.in
	g.subIters = 20
	savingsStart(t, g, in)
	start := g.pop.best.dist
	for round := 1; round <= 2; round++ {
		before := g.pop.best.dist
		if k := len(g.pop.best.routes); in.nc < longRoutes*k {
			t.Fatalf("round %d: %d routes are not long", round, k)
		}
		g.decompose(context.Background(), time.Time{})
		if g.pop.best.dist > before {
			t.Fatalf("round %d worsened the best: %v -> %v", round, before, g.pop.best.dist)
		}
		if g.rounds != round {
			t.Fatalf("round %d counted as %d", round, g.rounds)
		}
	}
	if g.pop.best.dist >= start {
		t.Fatalf("two rounds did not improve the savings solution (%v)", start)
	}
	s := &Solution{Routes: g.sh.best.routesOut(), Cost: g.sh.best.dist}
	if err := checkSolution(p, s); err != nil {
		t.Fatal(err)
	}
}
