package route

import (
	"context"
	"math"
	"sort"
	"time"
)

// Decomposition (Santini, Schneider, Vidal and Vigo 2023) for large
// instances: the routes of the best solution are grouped by polar angle into
// sub-problems of a few hundred customers; each is solved by a short hybrid
// genetic search seeded with its current routes, and improvements are put
// back. Sub-problems converge far faster than the whole, which matters when
// the time budget allows only a few hundred iterations on the whole.
//
// With long routes under time windows some rounds cut regions of time and
// space instead of route groups (regions): the routes through a region keep
// their visits outside it as frozen runs, each of which the sub-problem
// treats as one visit, so that many routes can trade the customers they
// serve in one place at one time.

var debugDecompose = false

const (
	decomposeMin   = 300 // customers from which decomposition is used
	decomposeSize  = 160 // target customers per sub-problem
	shortSize      = 120 // the same with short routes under time windows
	decomposeIters = 150 // genetic iterations per sub-problem
	decomposeEvery = 60  // main iterations between decomposition rounds
	longTWEvery    = 5   // the same under time windows with long routes
	longRoutes     = 20  // mean customers per route from which routes count as long
	regionEvery    = 3   // with long routes under time windows, every third round is by regions
	subPopMu       = 8   // minimum subpopulation size of a sub-search
	subPopLambda   = 16  // its generation size
)

// staleGain is the gain, a fraction of the cost, under which a polar round
// with short routes under time windows is stale (see nextRound).
const staleGain = 5e-4

// decomposeEvery is the number of main iterations between decomposition
// rounds. Under time windows the rounds do most of the improving: with
// short routes the main iterations on the whole problem have not been
// seen to improve the best solution within benchmark budgets (every
// improvement came from a round), so a round follows every main
// iteration; with long routes (the long horizons) every fifth. There a
// round every 60 iterations left 60 s runs still improving at each round
// when time ran out; every fifth brought the mean gap over eight
// Gehring-Homberger 1,000-customer long-horizon instances from 2.53%,
// 2.46% and 2.42% to 1.75%, 1.87% and 1.96% (seeds 1 to 3), better in 21
// of the 24 runs; a round after every iteration did less well (1.98% at
// seed 1), worse on the clustered C2_10_5 and on R2_10_1, where the
// crossovers on the whole still count.
func (g *search) decomposeEvery() int {
	switch {
	case g.shortTW():
		return 1
	case g.longTW():
		return longTWEvery
	}
	return decomposeEvery
}

// decompose runs one round on the population's best solution and adds the
// result to the population. It reports whether the best improved.
func (g *search) decompose(ctx context.Context, deadline time.Time) bool {
	in := g.in
	best := g.pop.best
	if best == nil || len(best.routes) < 2 {
		return false
	}
	routes := make([][]int32, len(best.routes))
	copy(routes, best.routes)
	if in.hasCoords {
		angle := func(r []int32) float64 {
			var sx, sy float64
			for _, c := range r {
				sx += in.x[c]
				sy += in.y[c]
			}
			f := float64(len(r))
			return math.Atan2(sy/f-in.y[0], sx/f-in.x[0])
		}
		sort.SliceStable(routes, func(a, b int) bool { return angle(routes[a]) < angle(routes[b]) })
	}
	// Start the groups at a random route so boundaries move between rounds.
	off := g.rng.IntN(len(routes))
	routes = append(routes[off:], routes[:off]...)
	before := best.dist
	short := g.shortTW()
	switch g.nextRound() {
	case regionRound:
		size := decomposeSize
		if short {
			size = shortSize
		}
		return g.addRound(g.regions(ctx, deadline, best.routes, size))
	case linkRound:
		routes = g.linkOrder(routes)
	}
	// Short routes under time windows: smaller sub-problems, whose
	// searches converge within their iterations and leave time for more
	// rounds (R1_10_2 at 60 s: 240 customers were far worse, 80 about as
	// good as 120).
	target := decomposeSize
	if short {
		target = shortSize
	}
	var out [][]int32
	for start := 0; start < len(routes); {
		end, size := start, 0
		for end < len(routes) && (size < target || len(routes)-end < 2) {
			size += len(routes[end])
			end++
		}
		group := routes[start:end]
		start = end
		if g.stop(ctx, deadline) || len(group) < 2 {
			out = append(out, group...)
			continue
		}
		out = append(out, g.solveGroup(ctx, deadline, group, len(routes)-len(group))...)
	}
	better := g.addRound(out)
	if short && g.pop.best.dist > before*(1-staleGain) {
		g.polarStale = true
	}
	return better
}

// roundKind is how a decomposition round cuts the best solution.
type roundKind int

const (
	polarRound  roundKind = iota // consecutive routes by polar angle
	linkRound                    // routes grown by their links (see linkOrder)
	regionRound                  // regions of time and space (see regions)
)

func (k roundKind) String() string {
	switch k {
	case linkRound:
		return "link"
	case regionRound:
		return "region"
	}
	return "polar"
}

// nextRound counts a decomposition round and says how it cuts.
//
// Long routes under time windows (long horizons) sweep wide angles, so
// routes close in angle may serve the same area at different times and
// have nothing to exchange: every other round groups them by their links
// in the granular neighbourhood instead, whose proximity counts waiting
// and lateness. Every third round cuts regions instead: on five
// Gehring-Homberger 1,000-customer long horizons (R2_10_3, R2_10_4,
// R2_10_8, RC2_10_3, RC2_10_4) the mean gap at 60 s went from 3.40% and
// 3.99% to 3.12% and 3.32% (seeds 1 and 3, one machine). Every other round
// did no better, with the polar rounds or with the link rounds instead.
//
// Short routes stay in narrow sectors, where the polar grouping keeps
// neighbours together and makes the early gains. Once a polar round gains
// under staleGain of the cost (polarStale), every other round cuts
// regions, which take in every route through a place at about one time,
// whatever their angles. On RC1_10_2 at seed 1 the polar rounds went stale
// after 34 s of 60 and the rounds after gained 414 in 26 s, against 4 in
// the round before; R1_10_2's polar rounds still gained 0.1% or more each
// at 60 s, and that run stayed polar. Regions from the start, or mixed in
// by each kind's last gain, had helped the RC1 instances and hurt the R1
// ones. On four Gehring-Homberger short horizons (R1_10_2, R1_10_5,
// RC1_10_2, RC1_10_6) the mean gap at 60 s over seeds 1 to 5 went from
// 1.82% to 1.73% (one machine), RC1_10_2's worst from 2.15% to 1.91% (see
// docs/benchmarks.md).
func (g *search) nextRound() roundKind {
	switch {
	case g.longTW():
		g.rounds++
		switch {
		case g.rounds%regionEvery == 0:
			return regionRound
		case g.rounds%2 == 0:
			return linkRound
		}
	case g.shortTW() && g.polarStale:
		g.staleRounds++
		if g.staleRounds%2 == 0 {
			return regionRound
		}
	}
	return polarRound
}

// addRound adds the routes a decomposition round made to the population and
// reports whether the best improved.
func (g *search) addRound(routes [][]int32) bool {
	c := g.child
	c.routes = c.routes[:0]
	for _, r := range routes {
		c.routes = append(c.routes, append([]int32(nil), r...))
	}
	c.evaluate(g.in, g.pop.w)
	better := g.pop.add(c)
	g.sh.offer(g.in, c, g.iter)
	return better
}

// solveGroup improves the routes of one group and returns the new routes (in
// the instance's numbering). others is the number of routes outside the
// group, which counts against a fleet limit.
func (g *search) solveGroup(ctx context.Context, deadline time.Time, group [][]int32, others int) [][]int32 {
	nodes := [][]int32{nil}
	seed := make([][]int32, len(group))
	for i, r := range group {
		seed[i] = make([]int32, len(r))
		for k := range r {
			seed[i][k] = int32(len(nodes))
			nodes = append(nodes, r[k:k+1])
		}
	}
	if res := g.solveSub(ctx, deadline, nodes, seed, others); res != nil {
		return res
	}
	return group
}

// subProblem is the problem whose node k > 0 stands for the run of
// customers nodes[k] (see solveSub), or nil when a run breaks its own
// windows. others is the number of routes left out of it.
func (in *instance) subProblem(nodes [][]int32, others int) *Problem {
	m := len(nodes)
	entry, exit := make([]int, m), make([]int, m)
	sub := &Problem{N: m, Capacity: in.capacity, MaxDuration: in.maxDur, Demand: make([]int, m), Service: make([]float64, m)}
	if in.vehicles > 0 {
		sub.Vehicles = max(in.vehicles-others, 1)
	}
	if in.hasTW {
		sub.Ready, sub.Due = make([]float64, m), make([]float64, m)
		sub.Ready[0], sub.Due[0] = in.ready[0], in.due[0]
	}
	if in.hasCoords {
		sub.X, sub.Y = make([]float64, m), make([]float64, m)
		sub.X[0], sub.Y[0] = in.x[0], in.y[0]
	}
	for k := 1; k < m; k++ {
		run := nodes[k]
		entry[k], exit[k] = int(run[0]), int(run[len(run)-1])
		for _, c := range run {
			sub.Demand[k] += in.demand[c]
		}
		s := in.nodeSeg(run[0])
		for _, c := range run[1:] {
			s = in.merge(s, in.nodeSeg(c))
		}
		if s.warp > eps {
			return nil // a late run is no single visit
		}
		sub.Service[k] = s.dur
		if in.hasTW {
			sub.Ready[k], sub.Due[k] = s.early, s.late
		}
		if in.hasCoords {
			mid := run[len(run)/2]
			sub.X[k], sub.Y[k] = in.x[mid], in.y[mid]
		}
	}
	sub.Dist = make([]float64, m*m)
	var tm []float64
	if in.timed {
		tm = make([]float64, m*m)
		sub.Time = tm
	}
	for a := 0; a < m; a++ {
		from := exit[a] * in.n
		for b := 0; b < m; b++ {
			sub.Dist[a*m+b] = in.dist[from+entry[b]]
			if tm != nil {
				tm[a*m+b] = in.tm[from+entry[b]]
			}
		}
	}
	return sub
}

// solveSub builds a sub-problem whose node k > 0 stands for the run of
// customers nodes[k], visited in that order (a single customer, or a frozen
// piece of a route), solves it by a short genetic search from the routes
// seed (lists of nodes), and returns the improved routes in the instance's
// numbering, or nil when the search found nothing shorter. A run behaves as
// one visit: reached at its first customer, left from its last, its service
// the run's duration and its window the span of start times that keep the
// run's own windows (the segment summary of Vidal et al. 2013), so a
// solution of the sub-problem is one of the whole with the same distance
// but for the runs' inner legs, which do not change. The runs must respect
// their windows. others is the number of routes left out, which counts
// against a fleet limit.
func (g *search) solveSub(ctx context.Context, deadline time.Time, nodes [][]int32, seedRoutes [][]int32, others int) [][]int32 {
	sub := g.in.subProblem(nodes, others)
	if sub == nil {
		return nil
	}
	sin := newInstance(sub)
	seed := newIndividual(sin)
	for _, r := range seedRoutes {
		seed.routes = append(seed.routes, append([]int32(nil), r...))
	}
	sh := &shared{start: g.sh.clock(), clock: g.sh.clock, bestCost: math.Inf(1), bestInfCost: math.Inf(1)}
	sg := g.subSearch(sin, sh)
	seed.evaluate(sin, sg.pop.w)
	before := seed.dist
	sg.seed = seed
	t0 := time.Now()
	sg.run(ctx, deadline, g.subIters)
	if debugDecompose {
		b := math.Inf(1)
		if sh.best != nil {
			b = sh.best.dist
		}
		println("group", len(nodes)-1, "routes", len(seedRoutes), "before", int(before), "after", int(b), "in", time.Since(t0).String())
	}
	if sh.best == nil || sh.best.dist >= before-eps {
		return nil
	}
	res := make([][]int32, 0, len(sh.best.routes))
	for _, r := range sh.best.routes {
		if len(r) == 0 {
			continue
		}
		var gr []int32
		for _, k := range r {
			gr = append(gr, nodes[k]...)
		}
		res = append(res, gr)
	}
	return res
}

// subSearch is the short genetic search solveSub runs on the sub-problem
// sin, publishing to sh.
func (g *search) subSearch(sin *instance, sh *shared) *search {
	sg := newSearch(sin, g.rng.Uint64(), sh, false)
	sg.initSize = 4
	sg.sub, sg.parentShort = true, g.shortTW()
	// HGS's population sizes (25 survivors, selection past 65) suit a
	// search of thousands of iterations. A sub-search of 150 selected its
	// survivors about once in each subpopulation and ended with some 45
	// individuals in each (R1_10_2), so a binary tournament seldom drew one
	// of the few best. With 8 and 16 it selects four to six times and
	// keeps the best few: on four Gehring-Homberger short horizons
	// (R1_10_2, R1_10_5, RC1_10_2, RC1_10_6) the mean gap at 60 s fell
	// from 1.81%, 1.99% and 1.81% to 1.55%, 1.62% and 1.52% (seeds 1 to
	// 3), and on five long horizons (R2_10_3, R2_10_4, R2_10_8, RC2_10_3,
	// RC2_10_4) from 3.10% to 2.92% (seed 1).
	sg.pop.mu, sg.pop.lambda = subPopMu, subPopLambda
	// A sub-problem runs decomposeIters iterations from fresh weights: a
	// single adaptation at the usual pace. With short routes under time
	// windows the time-warp weight then stays where it started, too firm
	// (well over half of the local-search outputs are feasible against the
	// aimed fifth), and the sub-search hardly visits the infeasible
	// solutions that lead to better routes.
	if sg.parentShort {
		sg.adaptEvery = subPenaltyEvery
	}
	return sg
}

// linkOrder reorders routes so that the consecutive runs decompose cuts
// (decomposeSize customers) are routes strongly linked in the granular
// neighbourhood: each run starts from a route and grows by the route with
// the most neighbour pairs with the run so far; the next run starts from the
// route most linked with the previous one. routes[0] starts the first run.
func (g *search) linkOrder(routes [][]int32) [][]int32 {
	in := g.in
	k := len(routes)
	owner := make([]int32, in.n)
	for i, r := range routes {
		for _, c := range r {
			owner[c] = int32(i)
		}
	}
	links := make([]int32, k*k)
	for i, r := range routes {
		for _, c := range r {
			for _, v := range in.neighbors[c] {
				if j := int(owner[v]); j != i {
					links[i*k+j]++
				}
			}
		}
	}
	out := make([][]int32, 0, k)
	used := make([]bool, k)
	score := make([]int32, k) // links with the current run
	prev := make([]int32, k)  // links with the previous run
	cur, size := 0, 0
	for len(out) < k {
		used[cur] = true
		out = append(out, routes[cur])
		size += len(routes[cur])
		row := links[cur*k : (cur+1)*k]
		for j := range score {
			score[j] += row[j]
		}
		if size >= decomposeSize {
			size = 0
			copy(prev, score)
			clear(score)
		}
		from := score
		if size == 0 {
			from = prev
		}
		next, best := -1, int32(-1)
		for j := 0; j < k; j++ {
			if !used[j] && from[j] > best {
				next, best = j, from[j]
			}
		}
		if next < 0 {
			break
		}
		cur = next
	}
	return out
}

// regions runs a decomposition round by regions of time and space: each
// region is grown from a random customer through the granular neighbourhood
// (whose proximity counts waiting and lateness) up to target customers; the
// routes through it keep their visits outside it as frozen runs, and the
// sub-problem of the region's customers and those runs is solved as usual.
// Unlike route groups, a region takes in every route that passes through it
// at about the same time, which with long routes under time windows are
// many routes far apart elsewhere.
func (g *search) regions(ctx context.Context, deadline time.Time, routes [][]int32, target int) [][]int32 {
	in := g.in
	routes = append([][]int32(nil), routes...)
	owner := make([]int32, in.n) // route of each customer in routes
	setOwners := func() {
		for i, r := range routes {
			for _, c := range r {
				owner[c] = int32(i)
			}
		}
	}
	setOwners()
	taken := make([]bool, in.n)
	free := make([]bool, in.n)
	var region []int32
	for _, s0 := range g.rng.Perm(in.nc) {
		s := int32(s0 + 1)
		if taken[s] {
			continue
		}
		if g.stop(ctx, deadline) {
			break
		}
		region = append(region[:0], s)
		taken[s] = true
		for h := 0; h < len(region) && len(region) < target; h++ {
			for _, v := range in.neighbors[region[h]] {
				if !taken[v] {
					taken[v] = true
					region = append(region, v)
					if len(region) >= target {
						break
					}
				}
			}
		}
		if len(region) < target/2 {
			continue
		}
		inRegion := make([]bool, len(routes)) // routes through the region
		var touched []int
		for _, c := range region {
			free[c] = true
			if o := owner[c]; !inRegion[o] {
				inRegion[o] = true
				touched = append(touched, int(o))
			}
		}
		nodes := [][]int32{nil}
		seed := make([][]int32, 0, len(touched))
		for _, i := range touched {
			r := routes[i]
			var sr []int32
			for k := 0; k < len(r); {
				e := k + 1
				if !free[r[k]] {
					for e < len(r) && !free[r[e]] {
						e++
					}
				}
				sr = append(sr, int32(len(nodes)))
				nodes = append(nodes, r[k:e])
				k = e
			}
			seed = append(seed, sr)
		}
		for _, c := range region {
			free[c] = false
		}
		if len(touched) < 2 {
			continue
		}
		res := g.solveSub(ctx, deadline, nodes, seed, len(routes)-len(touched))
		if res == nil {
			continue
		}
		kept := make([][]int32, 0, len(routes)-len(touched)+len(res))
		for i, r := range routes {
			if !inRegion[i] {
				kept = append(kept, r)
			}
		}
		routes = append(kept, res...)
		setOwners()
	}
	return routes
}
