package route

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// simulateRun is the time warp of a run of customers started at its first
// customer's ready time, the least any start gives, and its inner distance.
func simulateRun(p *Problem, run []int32) (warp, inner float64) {
	tm := p.Time
	if tm == nil {
		tm = p.Dist
	}
	t := p.Ready[run[0]]
	for k, c := range run {
		if k > 0 {
			prev := int(run[k-1])
			inner += p.Dist[prev*p.N+int(c)]
			t += tm[prev*p.N+int(c)]
		}
		t = max(t, p.Ready[c])
		if t > p.Due[c] {
			warp += t - p.Due[c]
			t = p.Due[c]
		}
		t += p.Service[c]
	}
	return warp, inner
}

// TestSubProblemRunsActAsVisits: a route of a sub-problem whose nodes stand
// for runs of customers measures, simulated by Problem.Evaluate, as the
// route of the whole it stands for: the same load and time warp, and the
// same distance less the runs' inner legs. A run late on its own makes no
// sub-problem.
func TestSubProblemRunsActAsVisits(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	built, refused := 0, 0
	for trial := 0; trial < 400; trial++ {
		nc := 6 + rng.IntN(15)
		p := randomProblem(rng, nc, randOpts{tw: true})
		if trial%3 == 2 { // asymmetric, with its own travel times
			p.Time = make([]float64, len(p.Dist))
			for i := range p.Dist {
				p.Dist[i] *= 1 + 0.01*float64(i%7)
				p.Time[i] = p.Dist[i] * (0.5 + 0.1*float64(i%5))
			}
		}
		in := newInstance(p)
		perm := rng.Perm(nc)
		nodes := [][]int32{nil}
		inner := []float64{0}
		late := false
		for k := 0; k < nc; {
			l := min(1+rng.IntN(4), nc-k)
			run := make([]int32, l)
			for i := range run {
				run[i] = int32(perm[k+i] + 1)
			}
			k += l
			if trial%4 != 0 { // by ready time, mostly on time
				slices.SortFunc(run, func(a, b int32) int { return cmp.Compare(p.Ready[a], p.Ready[b]) })
			}
			w, d := simulateRun(p, run)
			late = late || w > 1e-9
			nodes = append(nodes, run)
			inner = append(inner, d)
		}
		sub := in.subProblem(nodes, 0)
		if late {
			if sub != nil {
				t.Fatalf("trial %d: a run late on its own gave a sub-problem", trial)
			}
			refused++
			continue
		}
		if sub == nil {
			t.Fatalf("trial %d: no sub-problem for runs on time", trial)
		}
		built++
		for arrangement := 0; arrangement < 5; arrangement++ {
			order := rng.Perm(len(nodes) - 1)
			for len(order) > 0 {
				l := 1 + rng.IntN(len(order))
				var sr, whole []int
				var in float64
				for _, k := range order[:l] {
					sr = append(sr, k+1)
					for _, c := range nodes[k+1] {
						whole = append(whole, int(c))
					}
					in += inner[k+1]
				}
				order = order[l:]
				s, w := sub.Evaluate(sr), p.Evaluate(whole)
				if s.Load != w.Load || math.Abs(s.TimeWarp-w.TimeWarp) > 1e-6 || math.Abs(s.Dist+in-w.Dist) > 1e-6 {
					t.Fatalf("trial %d: sub-problem route %v measures %+v (+%v inside runs), the whole's %v %+v", trial, sr, s, in, whole, w)
				}
			}
		}
	}
	if built < 50 || refused < 20 {
		t.Fatalf("only %d sub-problems built and %d refused: the trials test too little", built, refused)
	}
}

// TestRegionsKeepEveryCustomer: a round of regions returns every customer
// once, feasible routes, and no more distance than it started with; over
// the trials it finds something shorter.
func TestRegionsKeepEveryCustomer(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	gained := 0
	for trial := 0; trial < 6; trial++ {
		p := randomProblem(rng, 80, randOpts{tw: true})
		g := startSearch(t, p, uint64(trial), 30)
		best := g.pop.best
		before := checkPartition(t, p, best.routes)
		after := checkPartition(t, p, g.regions(t.Context(), time.Time{}, best.routes, 20))
		if after > before+1e-6 {
			t.Fatalf("trial %d: %v after the round, %v before", trial, after, before)
		}
		if after < before-1e-6 {
			gained++
		}
	}
	if gained == 0 {
		t.Fatal("no round shortened the routes")
	}
}

// TestRoundKinds follows the decomposition schedule (nextRound): with long
// routes under time windows a region round every third and a link round
// every other; with short routes polar rounds until one goes stale, then
// every other round a region round; without time windows polar rounds.
func TestRoundKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	kinds := func(g *search, k int) []roundKind {
		var out []roundKind
		for i := 0; i < k; i++ {
			out = append(out, g.nextRound())
		}
		return out
	}
	search := func(tw bool, capacity int) *search {
		p := randomProblem(rng, 60, randOpts{tw: tw})
		p.Capacity = capacity
		if tw {
			for i := 1; i < p.N; i++ { // windows that never bind
				p.Ready[i], p.Due[i] = 0, 1e6
			}
			p.Due[0] = 1e6
		}
		return startSearch(t, p, 1, decomposeIters)
	}
	P, L, R := polarRound, linkRound, regionRound

	long := search(true, 1000) // one or two routes of 60
	if !long.longTW() {
		t.Fatalf("%d routes of 60 customers: not long", len(long.pop.best.routes))
	}
	long.polarStale = true // no effect with long routes
	if got, want := kinds(long, 6), []roundKind{P, L, R, L, P, R}; !slices.Equal(got, want) {
		t.Errorf("long routes: rounds %v, want %v", got, want)
	}

	short := search(true, 15) // routes of two or three
	if !short.shortTW() {
		t.Fatalf("%d routes of 60 customers: not short", len(short.pop.best.routes))
	}
	if got, want := kinds(short, 3), []roundKind{P, P, P}; !slices.Equal(got, want) {
		t.Errorf("short routes before a stale round: %v, want %v", got, want)
	}
	short.polarStale = true
	if got, want := kinds(short, 4), []roundKind{P, R, P, R}; !slices.Equal(got, want) {
		t.Errorf("short routes after a stale round: %v, want %v", got, want)
	}

	plain := search(false, 15)
	plain.polarStale = true
	if got, want := kinds(plain, 3), []roundKind{P, P, P}; !slices.Equal(got, want) {
		t.Errorf("without time windows: %v, want %v", got, want)
	}
}

// TestShortRoundsGoStale runs decomposition rounds on short routes under
// time windows: each keeps every customer once in feasible routes and never
// lengthens the best; a polar round that gains under staleGain of the cost
// sets polarStale, one that gains more does not; and the runs reach the
// region rounds.
func TestShortRoundsGoStale(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	regions := 0
	for trial := 0; trial < 4; trial++ {
		p := randomProblem(rng, 120, randOpts{tw: true})
		g := startSearch(t, p, uint64(trial), 20)
		if !g.shortTW() {
			t.Fatalf("trial %d: %d routes of 120 customers: not short", trial, len(g.pop.best.routes))
		}
		for round := 0; round < 10; round++ {
			before, wasStale, staleRounds := g.pop.best.dist, g.polarStale, g.staleRounds
			g.decompose(t.Context(), time.Time{})
			after := g.pop.best.dist
			if after > before+eps {
				t.Fatalf("trial %d round %d: best %v after, %v before", trial, round, after, before)
			}
			if !wasStale {
				if stale := after > before*(1-staleGain); g.polarStale != stale {
					t.Fatalf("trial %d round %d: gain %v of %v, polarStale %v", trial, round, before-after, before, g.polarStale)
				}
			} else if g.staleRounds != staleRounds+1 {
				t.Fatalf("trial %d round %d: stale rounds %d after %d", trial, round, g.staleRounds, staleRounds)
			} else if g.staleRounds%2 == 0 {
				regions++
			}
			checkPartition(t, p, g.pop.best.routes)
		}
	}
	if regions == 0 {
		t.Fatal("no run reached a region round")
	}
}

// newTestSearch is a one-thread search of p with nothing built yet.
func newTestSearch(p *Problem, seed uint64) *search {
	sh := &shared{start: time.Now(), clock: time.Now, bestCost: math.Inf(1), bestInfCost: math.Inf(1)}
	return newSearch(newInstance(p), seed, sh, false)
}

// startSearch is a search of p whose first population is built, with
// subIters genetic iterations per decomposition sub-problem.
func startSearch(t *testing.T, p *Problem, seed uint64, subIters int) *search {
	t.Helper()
	g := newTestSearch(p, seed)
	g.subIters = subIters
	g.initialPopulation(t.Context(), time.Time{})
	if g.pop.best == nil {
		t.Fatal("no feasible solution to start from")
	}
	return g
}

// checkPartition fails the test unless the independent checker
// (checkSolution) accepts routes as a solution of p: every customer once,
// each route within the capacity and its windows. It returns their
// distance.
func checkPartition(t *testing.T, p *Problem, routes [][]int32) float64 {
	t.Helper()
	s := &Solution{}
	for _, r := range routes {
		out := make([]int, len(r))
		for k, c := range r {
			out[k] = int(c)
			if k > 0 {
				s.Cost += p.Dist[int(r[k-1])*p.N+int(c)]
			}
		}
		if len(r) > 0 {
			s.Cost += p.Dist[int(r[0])] + p.Dist[int(r[len(r)-1])*p.N]
		}
		s.Routes = append(s.Routes, out)
	}
	if err := checkSolution(p, s); err != nil {
		t.Fatal(err)
	}
	return s.Cost
}

// TestSubSearch: a decomposition sub-search knows it is one and whether
// the search it serves has short routes under time windows, which sets its
// route removals (dropEvery) and its penalty pace; its population keeps
// the sub-search sizes.
func TestSubSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	sin := newInstance(randomProblem(rng, 30, randOpts{tw: true}))
	for _, tc := range []struct {
		name   string
		tw     bool
		routes int // of the parent's best, over 1,000 customers
		short  bool
		adapt  int
	}{
		{"short routes", true, 100, true, subPenaltyEvery},
		{"long routes", true, 20, false, penaltyEvery},
		{"no time windows", false, 100, false, penaltyEvery},
	} {
		parent := newTestSearch(randomProblem(rng, 30, randOpts{tw: tc.tw}), 1)
		parent.in.nc = 1000
		parent.pop.best = &individual{routes: make([][]int32, tc.routes)}
		sg := parent.subSearch(sin, parent.sh)
		if !sg.sub || sg.parentShort != tc.short {
			t.Errorf("%s: sub %v, parent short %v, want true, %v", tc.name, sg.sub, sg.parentShort, tc.short)
		}
		if sg.adaptEvery != tc.adapt {
			t.Errorf("%s: penalties adapted every %d iterations, want %d", tc.name, sg.adaptEvery, tc.adapt)
		}
		if sg.pop.mu != subPopMu || sg.pop.lambda != subPopLambda || sg.initSize != 4 {
			t.Errorf("%s: population %d+%d from %d, want %d+%d from 4", tc.name, sg.pop.mu, sg.pop.lambda, sg.initSize, subPopMu, subPopLambda)
		}
		// An empty sub-search counts as long routes until it has a best.
		want := 0
		switch {
		case tc.short:
			want = dropShortEvery
		case sin.hasTW:
			want = dropRouteEvery
		}
		if got := sg.dropEvery(); got != want {
			t.Errorf("%s: route removal every %d iterations, want %d", tc.name, got, want)
		}
	}
}
