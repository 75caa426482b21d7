package route

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// routeCost is the plain reference: the penalised cost of one route,
// recomputed by simulating it (Problem.Evaluate), not by segments.
func routeCost(p *Problem, w penalties, r []int32) float64 {
	if len(r) == 0 {
		return 0
	}
	rr := make([]int, len(r))
	for i, c := range r {
		rr[i] = int(c)
	}
	st := p.Evaluate(rr)
	c := st.Dist + w.time*st.TimeWarp
	if p.MaxDuration > 0 && st.Duration > p.MaxDuration {
		c += w.time * (st.Duration - p.MaxDuration)
	}
	if st.Load > p.Capacity {
		c += w.load * float64(st.Load-p.Capacity)
	}
	return c
}

// cutRoutes cuts the customers of perm (numbered from 0) into routes of
// random lengths of at most maxLen, in perm's order.
func cutRoutes(rng *rand.Rand, perm []int, maxLen int) [][]int32 {
	var routes [][]int32
	for rest := perm; len(rest) > 0; {
		k := 1 + rng.IntN(min(len(rest), maxLen))
		r := make([]int32, k)
		for i := range r {
			r[i] = int32(rest[i] + 1)
		}
		routes = append(routes, r)
		rest = rest[k:]
	}
	return routes
}

// TestSrexInsertCostMatchesReference: the O(1) insertion cost SREX's repair
// uses equals the cost recomputed by simulating the route before and after.
func TestSrexInsertCostMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 60; trial++ {
		o := []randOpts{{}, {dur: true}, {tw: true}}[trial%3]
		p := randomProblem(rng, 6+rng.IntN(20), o)
		in := newInstance(p)
		s := newSrexer(in)
		w := penalties{load: 0.5 + 10*rng.Float64(), time: 0.2 + 5*rng.Float64()}
		perm := rng.Perm(in.nc)
		c := int32(perm[0] + 1)
		routes := cutRoutes(rng, perm[1:], in.nc)
		for k := range routes {
			s.prepare(routes, k)
		}
		for k, r := range routes {
			for q := 0; q <= len(r); q++ {
				got := s.insertCost(routes, k, q, c, w)
				want := routeCost(p, w, slices.Insert(slices.Clone(r), q, c)) - routeCost(p, w, r)
				if math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
					t.Fatalf("trial %d (%+v): insert %d at %d of %v: cost %v, reference %v", trial, o, c, q, r, got, want)
				}
			}
		}
	}
}

// TestSrexChildIsComplete: SREX children of random parents serve every
// customer exactly once in non-empty routes, and the child is the cheaper
// of its two candidates.
func TestSrexChildIsComplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 40; trial++ {
		o := []randOpts{{}, {dur: true}, {tw: true}}[trial%3]
		p := randomProblem(rng, 5+rng.IntN(40), o)
		if trial%5 == 0 {
			p.X, p.Y = nil, nil // routes taken in the order given
		}
		in := newInstance(p)
		w := penalties{load: 1 + 10*rng.Float64(), time: 0.5 + 3*rng.Float64()}
		sp := newSplitter(in)
		parent := func() *individual {
			ind := newIndividual(in)
			for i := range ind.tour {
				ind.tour[i] = int32(i + 1)
			}
			rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
			ind.routes = sp.split(ind.tour, w, nil)
			return ind
		}
		a, b := parent(), parent()
		s := newSrexer(in)
		child := s.cross(a, b, w, rng.IntN, nil)
		seen := make([]int, in.n)
		cost := 0.0
		for _, r := range child {
			if len(r) == 0 {
				t.Fatalf("trial %d: empty route in %v", trial, child)
			}
			for _, c := range r {
				seen[c]++
			}
			cost += routeCost(p, w, r)
		}
		for c := 1; c <= in.nc; c++ {
			if seen[c] != 1 {
				t.Fatalf("trial %d: customer %d served %d times in %v", trial, c, seen[c], child)
			}
		}
		for k := range s.cand {
			other := 0.0
			for _, r := range s.cand[k] {
				other += routeCost(p, w, r)
			}
			if other < cost-1e-6 {
				t.Fatalf("trial %d: kept a child of cost %v, candidate %d costs %v", trial, cost, k, other)
			}
		}
	}
}

// TestSwapStarEstimatesMatchReference: with time windows, SWAP*'s removal
// gains and cached best insertions equal the penalised cost changes
// recomputed by simulating the routes (load aside, which SWAP* adds
// separately).
func TestSwapStarEstimatesMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for trial := 0; trial < 40; trial++ {
		p := randomProblem(rng, 8+rng.IntN(12), randOpts{tw: true})
		in := newInstance(p)
		ls := newLocalSearch(in, rng)
		ind := newIndividual(in)
		for i := range ind.tour {
			ind.tour[i] = int32(i + 1)
		}
		rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
		w := penalties{load: 5, time: 0.2 + 5*rng.Float64()}
		ind.routes = newSplitter(in).split(ind.tour, w, nil)
		ls.w = w
		ls.load(ind)
		if ls.nR < 2 || ls.routes[0].nc == 0 || ls.routes[1].nc == 0 {
			continue
		}
		ra, rb := ls.routes[0], ls.routes[1]
		ls.preprocess(ra, rb)
		s := lsState(ls)
		noLoad := penalties{time: w.time}
		for i, u := range s[0] {
			without := slices.Delete(slices.Clone(s[0]), i, i+1)
			want := routeCost(p, noLoad, without) - routeCost(p, noLoad, s[0])
			if got := ls.nodes[u].delRemoval; math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
				t.Fatalf("trial %d: removal of %d: %v, reference %v", trial, u, got, want)
			}
			best := math.Inf(1)
			for q := 0; q <= len(s[1]); q++ {
				best = min(best, routeCost(p, noLoad, slices.Insert(slices.Clone(s[1]), q, u))-routeCost(p, noLoad, s[1]))
			}
			if got := ls.ins[rb.idx*ls.n+int(u)].cost[0]; math.Abs(got-best) > 1e-6*max(1, math.Abs(best)) {
				t.Fatalf("trial %d: best insertion of %d: %v, reference %v", trial, u, got, best)
			}
		}
	}
}

// TestDecomposeTimeWindows runs one decomposition round (two groups) on
// 200 customers of a Gehring–Homberger instance: every window is kept and
// the best never gets worse.
func TestDecomposeTimeWindows(t *testing.T) {
	full := loadInstance(t, "vrptw/R1_10_2", RoundAuto)
	p := subProblem(full, 201)
	g := newTestSearch(p, 1)
	in := g.in
	g.subIters = 1
	savingsStart(t, g, in)
	before := g.pop.best.dist
	g.decompose(context.Background(), time.Time{})
	if g.pop.best.dist > before {
		t.Fatalf("decomposition worsened the best: %v -> %v", before, g.pop.best.dist)
	}
	s := &Solution{Routes: g.sh.best.routesOut(), Cost: g.sh.best.dist}
	if err := checkSolution(p, s); err != nil {
		t.Fatal(err)
	}
}

// savingsStart gives g's population a savings solution (feasible: its
// merges keep every window), cut back into its routes by a split that
// forbids any excess, as its best.
func savingsStart(t *testing.T, g *search, in *instance) {
	t.Helper()
	c := g.child
	g.cons.savingsTour(c.tour, 0, g.rng.Float64)
	c.routes = g.sp.split(c.tour, penalties{load: 1e6, time: 1e6}, c.routes)
	c.evaluate(in, g.pop.w)
	g.pop.add(c)
	if g.pop.best == nil {
		t.Fatal("no feasible initial solution")
	}
}
