package route

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInsertGreedyClosedMatchesReference: without opening routes, the
// greedy repair puts each customer, in turn, where the plain reference
// (the penalised cost of the route simulated before and after) says is
// cheapest among the positions next to its placed granular neighbours, or
// among all positions when none is placed; it never opens a route and
// leaves every customer served once.
func TestInsertGreedyClosedMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 60; trial++ {
		o := []randOpts{{}, {dur: true}, {tw: true}}[trial%3]
		p := randomProblem(rng, 8+rng.IntN(30), o)
		in := newInstance(p)
		s := newSrexer(in)
		w := penalties{load: 0.5 + 10*rng.Float64(), time: 0.2 + 5*rng.Float64()}
		perm := rng.Perm(in.nc)
		nMissing := 1 + rng.IntN(in.nc/2)
		missing := make([]int32, nMissing)
		for i := range missing {
			missing[i] = int32(perm[i] + 1)
		}
		if trial%2 == 1 {
			// Neighbours among the missing only: the first has no placed
			// neighbour and goes wherever it is cheapest.
			for _, c := range missing {
				in.neighbors[c] = slices.DeleteFunc(slices.Clone(in.neighbors[c]), func(v int32) bool {
					return !slices.Contains(missing, v)
				})
			}
		}
		routes := cutRoutes(rng, perm[nMissing:], in.nc)

		// The reference, one customer at a time.
		want := make([][]int32, len(routes))
		for k, r := range routes {
			want[k] = slices.Clone(r)
		}
		for _, c := range missing {
			placed := map[int32][2]int{}
			for k, r := range want {
				for i, v := range r {
					placed[v] = [2]int{k, i}
				}
			}
			bestK, bestQ, best := -1, 0, math.Inf(1)
			try := func(k, q int) {
				r := want[k]
				d := routeCost(p, w, slices.Insert(slices.Clone(r), q, c)) - routeCost(p, w, r)
				if d < best-1e-9 {
					bestK, bestQ, best = k, q, d
				}
			}
			for _, v := range in.neighbors[c] {
				if at, ok := placed[v]; ok {
					try(at[0], at[1])
					try(at[0], at[1]+1)
				}
			}
			if bestK < 0 {
				for k, r := range want {
					for q := 0; q <= len(r); q++ {
						try(k, q)
					}
				}
			}
			want[bestK] = slices.Insert(want[bestK], bestQ, c)
		}

		got := make([][]int32, len(routes))
		for k, r := range routes {
			got[k] = slices.Clone(r)
		}
		got = s.insertGreedyOpen(got, slices.Clone(missing), w, false)
		if len(got) != len(routes) {
			t.Fatalf("trial %d (%+v): %d routes after the repair, want %d (no route opened)", trial, o, len(got), len(routes))
		}
		// Ties between positions of equal cost may go either way; compare
		// the total penalised cost, and the customers served.
		var gotCost, wantCost float64
		seen := make([]int, in.n)
		for k := range got {
			gotCost += routeCost(p, w, got[k])
			wantCost += routeCost(p, w, want[k])
			for _, c := range got[k] {
				seen[c]++
			}
		}
		for c := 1; c <= in.nc; c++ {
			if seen[c] != 1 {
				t.Fatalf("trial %d: customer %d served %d times", trial, c, seen[c])
			}
		}
		if math.Abs(gotCost-wantCost) > 1e-6*max(1, wantCost) {
			t.Fatalf("trial %d (%+v): repaired cost %v, reference %v\n got %v\nwant %v", trial, o, gotCost, wantCost, got, want)
		}
	}
}

// TestDropRoute: the child is the best individual without one of its three
// shortest routes, whose customers are all back in the other routes; those
// keep their customers in their order.
func TestDropRoute(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for trial := 0; trial < 40; trial++ {
		p := randomProblem(rng, 20+rng.IntN(40), randOpts{tw: true})
		in := newInstance(p)
		g := newSearch(in, uint64(trial), &shared{bestCost: math.Inf(1), bestInfCost: math.Inf(1)}, false)
		perm := rng.Perm(in.nc)
		best := newIndividual(in)
		best.routes = cutRoutes(rng, perm, 12)
		if len(best.routes) < 2 {
			continue
		}
		g.pop.best = best
		if !g.dropRoute() {
			t.Fatalf("trial %d: no child from a best of %d routes", trial, len(best.routes))
		}
		child := g.child.routes
		if len(child) != len(best.routes)-1 {
			t.Fatalf("trial %d: child has %d routes, best %d", trial, len(child), len(best.routes))
		}
		// The dropped route is the one of the customers put back; every
		// other route of the best is a child route less those customers.
		back := make(map[int32]bool, len(g.missing))
		for _, c := range g.missing {
			back[c] = true
		}
		lengths := make([]int, len(best.routes))
		for k, r := range best.routes {
			lengths[k] = len(r)
		}
		slices.Sort(lengths)
		var kept [][]int32
		for _, cr := range child {
			kept = append(kept, slices.DeleteFunc(slices.Clone(cr), func(c int32) bool { return back[c] }))
		}
		dropped := -1
		for k, r := range best.routes {
			if len(r) == len(back) && !slices.ContainsFunc(r, func(c int32) bool { return !back[c] }) {
				dropped = k
				continue
			}
			if !slices.ContainsFunc(kept, func(x []int32) bool { return slices.Equal(x, r) }) {
				t.Fatalf("trial %d: route %v of the best is in no child route in its order", trial, r)
			}
		}
		if dropped < 0 || len(best.routes[dropped]) > lengths[min(2, len(lengths)-1)] {
			t.Fatalf("trial %d: customers put back %v are not one of the three shortest routes %v", trial, g.missing, lengths)
		}
		seen := make([]int, in.n)
		for _, r := range child {
			for _, c := range r {
				seen[c]++
			}
		}
		for c := 1; c <= in.nc; c++ {
			if seen[c] != 1 {
				t.Fatalf("trial %d: customer %d served %d times", trial, c, seen[c])
			}
		}
	}
}

// TestDropEvery: how often a child is a route removal, by the kind of
// problem, the best solution's routes and, in a decomposition sub-search,
// the routes of the search it serves.
func TestDropEvery(t *testing.T) {
	routes := func(n int) *individual { return &individual{routes: make([][]int32, n)} }
	for _, tc := range []struct {
		name             string
		tw               bool
		best             *individual
		sub, parentShort bool
		want             int
	}{
		{"CVRP", false, routes(100), false, false, 0},
		{"CVRP sub-search", false, routes(100), true, true, 0},
		{"time windows, short routes", true, routes(100), false, false, dropShortEvery},
		{"time windows, long routes", true, routes(20), false, false, dropRouteEvery},
		{"time windows, no solution yet", true, nil, false, false, dropRouteEvery},
		{"sub-search of short routes", true, routes(100), true, true, dropShortEvery},
		{"sub-search of short routes, its own long", true, routes(20), true, true, dropShortEvery},
		{"sub-search of long routes, its own short", true, routes(100), true, false, 0},
		{"sub-search of long routes, its own long", true, routes(20), true, false, dropRouteEvery},
	} {
		g := &search{in: &instance{hasTW: tc.tw, nc: 1000}, pop: &population{best: tc.best}, sub: tc.sub, parentShort: tc.parentShort}
		if got := g.dropEvery(); got != tc.want {
			t.Errorf("%s: a route removal every %d iterations, want %d", tc.name, got, tc.want)
		}
		for g.iter = 0; g.iter < 2*max(tc.want, 1); g.iter++ {
			if want := tc.want > 0 && g.iter%tc.want == tc.want-1; g.dropDue() != want {
				t.Errorf("%s: iteration %d: removal %v, want %v", tc.name, g.iter, !want, want)
			}
		}
	}
}

// TestSwapStarWanted: SWAP* is left out only under time windows with long
// routes.
func TestSwapStarWanted(t *testing.T) {
	for _, tc := range []struct {
		tw         bool
		nc, routes int
		want       bool
	}{
		{false, 1000, 20, true}, // CVRP, long routes
		{true, 1000, 100, true}, // time windows, 10 customers a route
		{true, 1000, 51, true},  // just under longRoutes
		{true, 1000, 50, false}, // longRoutes customers a route
		{true, 1000, 20, false}, // long horizons
		{true, 160, 5, false},   // a decomposition sub-problem of long routes
	} {
		in := &instance{hasTW: tc.tw, nc: tc.nc}
		if got := swapStarWanted(in, tc.routes); got != tc.want {
			t.Errorf("time windows %v, %d customers, %d routes: %v, want %v", tc.tw, tc.nc, tc.routes, got, tc.want)
		}
	}
}

// TestDecomposeEvery: how often decomposition rounds come, by the kind of
// problem and the best solution's routes.
func TestDecomposeEvery(t *testing.T) {
	routes := func(n int) *individual { return &individual{routes: make([][]int32, n)} }
	for _, tc := range []struct {
		name string
		tw   bool
		best *individual
		want int
	}{
		{"CVRP", false, routes(20), decomposeEvery},
		{"CVRP, short routes", false, routes(100), decomposeEvery},
		{"time windows, short routes", true, routes(100), 1},
		{"time windows, long routes", true, routes(20), longTWEvery},
		{"time windows, no solution yet", true, nil, longTWEvery},
	} {
		g := &search{in: &instance{hasTW: tc.tw, nc: 1000}, pop: &population{best: tc.best}}
		if got := g.decomposeEvery(); got != tc.want {
			t.Errorf("%s: a round every %d iterations, want %d", tc.name, got, tc.want)
		}
	}
}

// TestRouteShape: the search's two views of the shape (short routes under
// time windows, long ones) agree with the instance's test on the best
// solution's routes, exclude each other, and count no solution yet as long.
func TestRouteShape(t *testing.T) {
	routes := func(n int) *individual { return &individual{routes: make([][]int32, n)} }
	for _, tc := range []struct {
		name        string
		tw          bool
		best        *individual
		short, long bool
	}{
		{"CVRP", false, routes(20), false, false},
		{"CVRP, no solution yet", false, nil, false, false},
		{"time windows, 10 customers a route", true, routes(100), true, false},
		{"time windows, just under longRoutes", true, routes(51), true, false},
		{"time windows, longRoutes customers a route", true, routes(50), false, true},
		{"time windows, no solution yet", true, nil, false, true},
	} {
		g := &search{in: &instance{hasTW: tc.tw, nc: 1000}, pop: &population{best: tc.best}}
		if got := g.shortTW(); got != tc.short {
			t.Errorf("%s: shortTW %v, want %v", tc.name, got, tc.short)
		}
		if got := g.longTW(); got != tc.long {
			t.Errorf("%s: longTW %v, want %v", tc.name, got, tc.long)
		}
		if tc.best != nil && g.longTW() != g.in.longRoutesTW(len(tc.best.routes)) {
			t.Errorf("%s: longTW and longRoutesTW disagree", tc.name)
		}
	}
}
