package route

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Options control a search.
type Options struct {
	// TimeLimit bounds the wall-clock time of the search; 0 means no limit
	// (then MaxIterations, or a run of non-improving iterations, ends it).
	TimeLimit time.Duration
	// Seed makes the search reproducible: with Threads = 1 and a
	// MaxIterations budget, the same seed gives the same solution.
	Seed int64
	// Threads is the number of independent searches run in parallel; they
	// share their best solutions. 0 or 1 means one.
	Threads int
	// MaxIterations bounds the genetic iterations of each thread; 0 means
	// no bound.
	MaxIterations int
	// Progress, if set, is called each time the best feasible solution
	// improves (never concurrently).
	Progress func(Progress)
	// Clock is the time source of TimeLimit and of the reported durations;
	// nil means time.Now. ProcessCPUClock makes limits count CPU time, which
	// keeps measurements fair on a busy machine.
	Clock func() time.Time
}

// Progress reports an improvement of the best solution.
type Progress struct {
	Elapsed   time.Duration
	Cost      float64
	Routes    int
	Iteration int
}

// Tuning of the genetic loop.
const (
	maxNonImproving = 20000 // iterations without improvement before a restart
	penaltyEvery    = 100   // iterations between penalty adaptations
	subPenaltyEvery = 10    // the same in a decomposition sub-problem with short routes under time windows
	shareEvery      = 200   // iterations between looks at the other threads' best
	dropRouteEvery  = 20    // with long routes under time windows, iterations between route removals (see dropRoute)
	dropShortEvery  = 10    // the same with short routes (see dropEvery)
)

// Solve searches for a low-cost feasible solution of p until the time limit,
// the iteration budget or ctx ends the search, and returns the best solution
// found. If no feasible solution was found the returned Solution has
// Feasible false. Errors: a civic Invalid error when p is malformed; ctx's
// error never (cancellation returns the best so far).
func Solve(ctx context.Context, p *Problem, opt Options) (*Solution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	clock := opt.Clock
	if clock == nil {
		clock = time.Now
	}
	start := clock()
	perm := localityOrder(p)
	if perm != nil {
		p = permute(p, perm)
	}
	in := newInstance(p)
	threads := max(opt.Threads, 1)
	var deadline time.Time
	if opt.TimeLimit > 0 {
		deadline = start.Add(opt.TimeLimit)
	}
	sh := &shared{start: start, clock: clock, progress: opt.Progress, bestCost: math.Inf(1), bestInfCost: math.Inf(1)}
	var wg sync.WaitGroup
	iters := make([]int, threads)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			seed := uint64(opt.Seed) + uint64(t)*0x9e3779b97f4a7c15
			g := newSearch(in, seed, sh, threads > 1)
			iters[t] = g.run(ctx, deadline, opt.MaxIterations)
		}(t)
	}
	wg.Wait()
	sol := &Solution{Elapsed: clock().Sub(start)}
	for _, k := range iters {
		sol.Iterations += k
	}
	best := sh.best
	sol.Feasible = best != nil
	if best == nil {
		best = sh.bestInf
	}
	if best != nil {
		sol.Routes = best.routesOut()
		if perm != nil {
			for _, r := range sol.Routes {
				for i, c := range r {
					r[i] = perm[c]
				}
			}
		}
		sol.Cost = best.dist
		sol.TimeToBest = sh.when
	}
	return sol, nil
}

// shared is what the search threads publish: the best solutions so far.
type shared struct {
	mu          sync.Mutex
	start       time.Time
	clock       func() time.Time
	progress    func(Progress)
	best        *individual // best feasible
	bestCost    float64
	when        time.Duration
	version     int
	bestInf     *individual // best infeasible, reported when nothing is feasible
	bestInfCost float64
}

func (s *shared) offer(in *instance, ind *individual, iter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ind.feasible {
		if s.best == nil && ind.cost < s.bestInfCost {
			if s.bestInf == nil {
				s.bestInf = newIndividual(in)
			}
			s.bestInf.copyFrom(ind)
			s.bestInfCost = ind.cost
		}
		return
	}
	if ind.dist >= s.bestCost-eps {
		return
	}
	if s.best == nil {
		s.best = newIndividual(in)
	}
	s.best.copyFrom(ind)
	s.bestCost = ind.dist
	s.when = s.clock().Sub(s.start)
	s.version++
	if s.progress != nil {
		s.progress(Progress{Elapsed: s.when, Cost: ind.dist, Routes: len(ind.routes), Iteration: iter})
	}
}

// search is one thread of hybrid genetic search.
type search struct {
	in    *instance
	rng   *rand.Rand
	pop   *population
	ls    *localSearch
	sp    *splitter
	sh    *shared
	share bool
	seen  int // shared.version last imported
	child *individual
	marks []bool
	// missing is dropRoute's buffer.
	missing []int32
	cons    *constructor
	srex    *srexer
	// initSize overrides the initial population size; seed, if set, joins
	// every initial population (decomposition uses both).
	initSize   int
	seed       *individual
	subIters   int // genetic iterations per decomposition sub-problem
	adaptEvery int // iterations between penalty adaptations
	rounds     int // decomposition rounds with long routes under time windows
	// With short routes under time windows: whether a polar round has
	// gained under staleGain of the cost, and the rounds since.
	polarStale  bool
	staleRounds int
	// sub marks a decomposition sub-search; parentShort then says whether
	// the search it serves had short routes under time windows.
	sub, parentShort bool
	iter             int
}

func newSearch(in *instance, seed uint64, sh *shared, share bool) *search {
	rng := rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))
	return &search{
		in:    in,
		rng:   rng,
		pop:   newPopulation(in, rng),
		ls:    newLocalSearch(in, rng),
		sp:    newSplitter(in),
		sh:    sh,
		share: share,
		child: newIndividual(in),
		marks: make([]bool, in.n),
		cons:  newConstructor(in),
		srex:  newSrexer(in),

		subIters:   decomposeIters,
		adaptEvery: penaltyEvery,
	}
}

// educate runs the local search on the child, adds it to the population,
// and repairs it half of the time when infeasible. It reports whether the
// population's best improved.
func (g *search) educate() bool {
	c, p := g.child, g.pop
	g.ls.run(c, p.w)
	c.evaluate(g.in, p.w)
	p.record(c)
	better := p.add(c)
	g.sh.offer(g.in, c, g.iter)
	if !c.feasible && g.rng.IntN(2) == 0 {
		g.ls.run(c, penalties{p.w.load * 10, p.w.time * 10})
		c.evaluate(g.in, p.w)
		if !c.feasible {
			g.ls.run(c, penalties{p.w.load * 100, p.w.time * 100})
			c.evaluate(g.in, p.w)
		}
		if c.feasible {
			better = p.add(c) || better
			g.sh.offer(g.in, c, g.iter)
		}
	}
	return better
}

// initialSize is the number of individuals built at (re)start: HGS uses
// 4*mu; large instances start smaller so the genetic search starts sooner.
func (g *search) initialSize() int {
	if g.initSize > 0 {
		return g.initSize
	}
	switch nc := g.in.nc; {
	case nc <= 100:
		return 4 * popMu
	case nc <= 600:
		return 2 * popMu
	default:
		return 16
	}
}

func (g *search) initialPopulation(ctx context.Context, deadline time.Time) {
	in := g.in
	size := g.initialSize()
	for i := 0; i < size; i++ {
		if g.stop(ctx, deadline) {
			return
		}
		c := g.child
		switch {
		case (in.nc > 100 || in.hasTW) && i%4 != 3:
			g.cons.savingsTour(c.tour, 0.02+0.08*g.rng.Float64(), g.rng.Float64)
		case in.hasTW && in.nc > 100:
			// A random tour split under time windows makes hundreds of
			// routes (and a costly fleet-limited split); strongly
			// perturbed savings give the diversity instead.
			g.cons.savingsTour(c.tour, 0.2+0.3*g.rng.Float64(), g.rng.Float64)
		default:
			for k := range c.tour {
				c.tour[k] = int32(k + 1)
			}
			g.rng.Shuffle(len(c.tour), func(a, b int) { c.tour[a], c.tour[b] = c.tour[b], c.tour[a] })
		}
		c.routes = g.sp.split(c.tour, g.pop.w, c.routes)
		g.educate()
	}
	if g.seed != nil {
		g.child.copyFrom(g.seed)
		g.child.rescore(g.pop.w)
		g.pop.add(g.child)
		g.sh.offer(in, g.child, g.iter)
	}
}

func (g *search) stop(ctx context.Context, deadline time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	return !deadline.IsZero() && !g.sh.clock().Before(deadline)
}

// crossover builds the child's giant tour by ordered crossover (OX) of two
// parents, then splits it.
func (g *search) crossover(a, b *individual) {
	nc := g.in.nc
	c := g.child
	if nc == 1 {
		c.tour[0] = a.tour[0]
	} else {
		for i := range g.marks {
			g.marks[i] = false
		}
		start := g.rng.IntN(nc)
		end := g.rng.IntN(nc)
		for end == start {
			end = g.rng.IntN(nc)
		}
		j := start
		for j%nc != (end+1)%nc {
			v := a.tour[j%nc]
			c.tour[j%nc] = v
			g.marks[v] = true
			j++
		}
		for i := 1; i <= nc; i++ {
			v := b.tour[(end+i)%nc]
			if !g.marks[v] {
				c.tour[j%nc] = v
				j++
			}
		}
	}
	c.routes = g.sp.split(c.tour, g.pop.w, c.routes)
}

// longRoutesTW reports time windows and a solution of the given number of
// routes with longRoutes customers a route or more on average: the long
// horizons. It is the one test of the shape that SWAP*, route dropping,
// decomposition and its sub-searches go by.
func (in *instance) longRoutesTW(routes int) bool {
	return in.hasTW && in.nc >= longRoutes*routes
}

// shortTW reports time windows and a best solution with routes shorter
// than longRoutes customers on average: the narrow routes of tight
// windows. longTW is the rest under time windows, including the time
// before there is a best solution: until then the search counts the
// routes as long.
func (g *search) shortTW() bool {
	b := g.pop.best
	return g.in.hasTW && b != nil && !g.in.longRoutesTW(len(b.routes))
}

func (g *search) longTW() bool { return g.in.hasTW && !g.shortTW() }

// run is the genetic loop; it returns the number of iterations done.
func (g *search) run(ctx context.Context, deadline time.Time, maxIter int) int {
	p := g.pop
	g.initialPopulation(ctx, deadline)
	nonImproving := 0
	for ; !g.stop(ctx, deadline) && (maxIter == 0 || g.iter < maxIter); g.iter++ {
		if p.size() == 0 {
			g.initialPopulation(ctx, deadline)
			continue
		}
		a, b := p.tournament(), p.tournament()
		switch {
		case g.dropDue() && g.dropRoute():
			// The child is the best without one of its routes.
		case g.in.hasTW:
			g.child.routes = g.srex.cross(a, b, p.w, g.rng.IntN, g.child.routes)
		default:
			g.crossover(a, b)
		}
		if g.educate() {
			nonImproving = 0
		} else {
			nonImproving++
		}
		if g.iter%g.adaptEvery == g.adaptEvery-1 {
			p.managePenalties()
		}
		if g.in.hasCoords && g.in.nc >= decomposeMin && g.iter%g.decomposeEvery() == 0 && g.decompose(ctx, deadline) {
			nonImproving = 0
		}
		if g.share && g.iter%shareEvery == shareEvery-1 {
			g.importShared()
		}
		if nonImproving >= maxNonImproving {
			if deadline.IsZero() && maxIter == 0 {
				break
			}
			p.clear()
			g.polarStale = false
			g.initialPopulation(ctx, deadline)
			nonImproving = 0
		}
	}
	return g.iter
}

// dropEvery is the number of iterations between route removals (see
// dropRoute) under time windows, and 0 without them.
//
// Long routes (long horizons): every dropRouteEvery.
//
// Short routes: every dropShortEvery, in the main search and in the
// decomposition sub-searches it runs, which do nearly all the iterations
// (the main search does a few dozen in a minute). A sub-search of a search
// with long routes keeps its own shape's rule: a region may hold short
// routes. As for the other rules, the shape is the best solution's at the
// time, so the first rounds of a long horizon whose first best has short
// routes count as short. Why: with short routes the search ended two to
// five routes above the clustered best known solutions, whose routes are
// nearly all full (C1_10_9 at 60 s: 95 routes, 2.63%, against 90 of which
// 85 carry the full 200), and a route of ten customers seldom empties one
// customer at a time. With the removals, on six clustered short horizons
// (C1_10_2, C1_10_3, C1_10_4, C1_10_6, C1_10_8, C1_10_9) the mean gap at
// 60 s went from 1.46% and 1.35% to 1.14% and 1.01% (seeds 1 and 2),
// C1_10_9 to 93 routes at both; on the R1 and RC1 instances the change
// stayed within the spread between runs (docs/benchmarks.md).
func (g *search) dropEvery() int {
	switch {
	case !g.in.hasTW:
		return 0
	case g.sub && g.parentShort, !g.sub && g.shortTW():
		return dropShortEvery
	case g.longTW():
		return dropRouteEvery
	}
	return 0
}

// dropDue reports whether this iteration's child is a route removal.
func (g *search) dropDue() bool {
	k := g.dropEvery()
	return k > 0 && g.iter%k == k-1
}

// dropRoute makes the child the population's best feasible individual
// without one of its three shortest routes, whose customers go back, in
// random order, at their cheapest places next to their granular neighbours
// in the other routes under the current penalties (a new route is never
// opened); educate then repairs what it can. It reports false, leaving the
// child alone, when there is no best with two routes or more.
//
// With long routes under time windows (long horizons) the search ended
// with many more routes than the best known solutions (R2_10_3 at 60 s:
// 31 against 24), and the moves of the local search, one or two customers
// at a time, seldom empty a route of thirty. A child that has one route
// fewer and pays for it in time warp lets the infeasible subpopulation and
// the repair find such solutions. With short routes the same holds of
// full routes (see dropEvery).
func (g *search) dropRoute() bool {
	best := g.pop.best
	if best == nil || len(best.routes) < 2 {
		return false
	}
	// The three shortest, the first in the order of routes among equals.
	short := make([]int, len(best.routes))
	for k := range short {
		short[k] = k
	}
	slices.SortStableFunc(short, func(a, b int) int { return cmp.Compare(len(best.routes[a]), len(best.routes[b])) })
	drop := short[g.rng.IntN(min(3, len(short)))]
	c := g.child
	c.routes = copyRoutes(c.routes, best.routes)
	g.missing = append(g.missing[:0], c.routes[drop]...)
	last := len(c.routes) - 1
	c.routes[drop], c.routes[last] = c.routes[last], c.routes[drop]
	c.routes = c.routes[:last]
	g.rng.Shuffle(len(g.missing), func(a, b int) { g.missing[a], g.missing[b] = g.missing[b], g.missing[a] })
	c.routes = g.srex.insertGreedyOpen(c.routes, g.missing, g.pop.w, false)
	return true
}

// importShared copies the threads' best solution into this population when
// it beats this thread's own.
func (g *search) importShared() {
	sh := g.sh
	sh.mu.Lock()
	if sh.version == g.seen || sh.best == nil {
		sh.mu.Unlock()
		return
	}
	g.seen = sh.version
	c := g.child
	c.copyFrom(sh.best)
	sh.mu.Unlock()
	if g.pop.best == nil || c.dist < g.pop.best.dist-eps {
		c.rescore(g.pop.w)
		g.pop.add(c)
	}
}
