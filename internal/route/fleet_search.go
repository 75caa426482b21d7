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

// Tuning of the ruin-and-recreate search (Christiaens and Vanden Berghe
// 2020, "Slack induction by string removals for vehicle routing problems").
const (
	fleetNeighbors   = 30   // granular neighbourhood of a visit
	fleetAvgRemoved  = 10   // c̄: mean visits removed per iteration
	fleetMaxString   = 10   // L^max: longest string removed
	fleetBlink       = 0.01 // probability of skipping an insertion position
	fleetRouteRuin   = 0.02 // probability of also emptying a short route
	fleetExactTries  = 12   // positions timed exactly per insertion, best estimates first
	fleetExactGood   = 4    // stop timing once this many feasible positions are found
	fleetTempStart   = 5    // start and end temperatures, in mean cost per visit
	fleetTempEnd     = 0.05
	fleetDefaultIter = 20000
	fleetEpochs      = 20 // with several threads, how often they meet
	// Route elimination: every fleetElimEvery iterations, once a tenth of
	// the budget is spent, the search tries to do without its smallest
	// route for at most fleetElimIters iterations.
	fleetElimEvery = 4000
	fleetElimIters = 1500
)

// froute is one vehicle's visits, their cost, the arrival at End and the
// time spent waiting: a route cannot take a visit that would make it end
// after its shift even if all the waiting were saved.
type froute struct {
	legs
	cost, end, wait float64
	// dep, slack, wsuf, brkB and lastChk are as the scheduler records
	// them.
	dep, slack, wsuf []float64
	brkB             int32
	lastChk          float64
	// lastDem: the last visit carries a load, so the last unload is
	// right after it. through[i] (0 < i < len(seq)) is the cheapest
	// unload plan that unloads at boundary i, less that unload's detour;
	// set when lastDem and the route carries a load.
	lastDem   bool
	through   []float64
	throughOK bool // through is up to date (set on demand by quickInsert)
	sc        schedCache
	// room[i] is how much more the trip an insertion at position i joins
	// can take under the current unloads, split[i] what an extra unload
	// would cost if it cannot: insertion estimates count it.
	room, split []float64
}

func (r *froute) copyFrom(o *froute) {
	r.legs.copyFrom(&o.legs)
	r.cost, r.end, r.wait = o.cost, o.end, o.wait
	r.dep = append(r.dep[:0], o.dep...)
	r.slack = append(r.slack[:0], o.slack...)
	r.wsuf = append(r.wsuf[:0], o.wsuf...)
	r.throughOK = o.throughOK
	if o.throughOK {
		r.through = append(r.through[:0], o.through...)
	}
	r.brkB, r.lastChk, r.lastDem = o.brkB, o.lastChk, o.lastDem
	r.sc.copyFrom(&o.sc)
	r.room = append(r.room[:0], o.room...)
	r.split = append(r.split[:0], o.split...)
}

// setCost times r again, recording its timing profile, and reports
// whether it is feasible (it should be: only feasible routes are kept).
func (r *froute) setCost(k int, sch *scheduler) bool { return r.setCostFrom(k, sch, 0) }

// setCostFrom is setCost for a route whose visits changed only from
// position from on: they agree with those r was last timed for on the
// first from visits and the boundaries between them. The unloads'
// shortest path is then computed again only from there; the timing runs
// over the whole route, since it records the route's profile.
func (r *froute) setCostFrom(k int, sch *scheduler, from int) bool {
	var base *schedCache
	if from > 0 && r.sc.valid {
		base = &r.sc
	}
	sch.rec = true
	cost, ok := sch.evalFrom(k, &r.legs, base, from, nil)
	sch.rec = false
	if !ok {
		return false
	}
	r.cost = cost
	r.end, r.wait = sch.end, sch.wait
	r.dep = append(r.dep[:0], sch.dep...)
	r.slack = append(r.slack[:0], sch.slack...)
	r.wsuf = append(r.wsuf[:0], sch.wsuf...)
	r.brkB, r.lastChk = sch.brkB, sch.lastChk
	r.lastDem = len(r.seq) > 0 && sch.m.vis[r.seq[len(r.seq)-1]].dem > 0
	if len(r.seq) > 0 {
		sch.record(len(r.seq), &r.sc)
	} else {
		r.sc.valid = false
	}
	r.setTrips(sch.m.veh[k].cap)
	r.throughOK = false
	return true
}

// setThrough fills r.through from the forward shortest path r.sc.g (g[j]:
// the cheapest unloads up to one at boundary j, that one included) and a
// backward one, h[j]: the cheapest unloads after one at boundary j, the
// least det[b] + h[b] over the boundaries b a trip from j reaches (a
// sliding-window minimum again), with h[n] 0.
func (r *froute) setThrough(capacity float64, dq []int32) {
	n := len(r.seq)
	pre, g := r.sc.pre, r.sc.g
	h := slices.Grow(r.through[:0], n+1)[:n+1]
	h[n] = 0
	dq = slices.Grow(dq[:0], n+1)[:n+1]
	head, tail := 0, 0
	hi := n
	for j := n - 1; j >= 0; j-- {
		b := j + 1
		for tail > head && r.det[dq[tail-1]]+h[dq[tail-1]] >= r.det[b]+h[b] {
			tail--
		}
		dq[tail] = int32(b)
		tail++
		for pre[hi]-pre[j] > capacity+1e-9 {
			hi--
		}
		for int(dq[head]) > hi {
			head++
		}
		h[j] = r.det[dq[head]] + h[dq[head]]
	}
	for j := 1; j < n; j++ {
		h[j] += g[j] - r.det[j]
	}
	r.through = h
}

// setTrips fills r.room and r.split from the unloads r.sc records.
func (r *froute) setTrips(capacity float64) {
	n := len(r.seq)
	r.room = slices.Grow(r.room[:0], n+1)[:n+1]
	r.split = slices.Grow(r.split[:0], n+1)[:n+1]
	if !r.sc.valid {
		// No load: any insertion with some needs an unload.
		for i := range r.room {
			r.room[i] = 0
			r.split[i] = 0
		}
		if n > 0 {
			r.split[0] = math.Inf(1)
			for _, d := range r.det[1:] {
				r.split[0] = min(r.split[0], d)
			}
			for i := range r.split {
				r.split[i] = r.split[0]
			}
		}
		return
	}
	// Trips run between unload boundaries a < b; positions a+1..b-1
	// join the trip, a either neighbour (the roomier is counted). After
	// the last unload comes a tail that carries nothing: what joins it
	// needs another.
	a := 0
	prevRoom, prevSplit := math.Inf(-1), math.Inf(1)
	for b := 1; b <= n+1; b++ {
		if b <= n && !r.sc.unl[b] {
			continue
		}
		room, split := 0.0, r.det[min(b, n)]
		if b <= n {
			room = capacity - (r.sc.pre[b] - r.sc.pre[a])
		}
		for j := a + 1; j < b; j++ {
			split = min(split, r.det[j])
		}
		if prevRoom >= room {
			r.room[a], r.split[a] = prevRoom, prevSplit
		} else {
			r.room[a], r.split[a] = room, split
		}
		for j := a + 1; j < b; j++ {
			r.room[j], r.split[j] = room, split
		}
		prevRoom, prevSplit = room, split
		a = b
	}
}

// fsol is a search state. obj is the penalised objective: route costs,
// plus for each unassigned visit its prize (optional) or a penalty larger
// than any gain (mandatory). Prizes of served visits are thus counted as
// forfeits avoided, which keeps obj non-negative.
type fsol struct {
	routes     []froute
	unassigned []int32
	obj        float64
}

func (s *fsol) copyFrom(o *fsol) {
	s.routes = slices.Grow(s.routes[:0], len(o.routes))[:len(o.routes)]
	for i := range o.routes {
		s.routes[i].copyFrom(&o.routes[i])
	}
	s.unassigned = append(s.unassigned[:0], o.unassigned...)
	s.obj = o.obj
}

type fcand struct {
	r, i   int32
	est    float64
	d1, t1 float64 // leg from the previous stop to the visit
	d2, t2 float64 // leg from the visit to the next stop
	exact  float64
}

type fleetSearch struct {
	m   *fleetModel
	sch *scheduler
	rng *rand.Rand
	nb  [][]int32
	// The costs and times of the legs from each visit to its neighbours
	// and back, as fleetModel.costArc gives them.
	nbTo, nbFrom [][][2]float64
	// nbSlot[v] is v's place in the neighbour list of the visit being
	// inserted, -1 if it is not there.
	nbSlot []int32
	pen    []float64 // forfeit when unassigned
	// skipSave[v] is what leaving visit v out saved in legs when it was
	// last checked between the neighbours skipKey[v] (previous, next,
	// route), for dropUnprofitable.
	skipKey  [][3]int32
	skipSave []float64
	far      []float64 // distance from the nearest depot, for the insertion order
	bigM     float64

	cur, cand, best fsol
	posR, posI      []int32 // where each visit is in cand; posR -1 when unassigned
	touched         []int32
	isTouched       []bool

	removedMark []bool
	insertList  []int32
	cands       []fcand // the best estimates, in order
	scratch     legs
	drop        []bool
	temp        float64
	building    bool
	// noQuick makes bestInsertion time every position in full.
	noQuick bool
	// noFill builds the first plan without fill, opening a truck wherever
	// that is cheapest (for tests that need a plan with routes to spare).
	noFill bool
	// barred is the vehicle a route elimination is doing without (-1:
	// none), for elimLeft more iterations; saved is the state it started
	// from, restored when it fails. sinceElim counts the iterations since
	// the last one ended; elimWon the eliminations that served every
	// mandatory visit without the route.
	barred              int32
	elimLeft, sinceElim int
	saved               fsol
	elimWon             int
	// mayEliminate is set by the search loop while eliminations may
	// start: past a tenth of the budget and before nine tenths.
	mayEliminate bool
}

func newFleetSearch(m *fleetModel, seed int64) *fleetSearch {
	nv := len(m.vis)
	s := &fleetSearch{
		m:           m,
		sch:         newScheduler(m),
		rng:         rand.New(rand.NewPCG(uint64(seed), 0x0f1ee7)),
		pen:         make([]float64, nv),
		far:         make([]float64, nv),
		posR:        make([]int32, nv),
		posI:        make([]int32, nv),
		isTouched:   make([]bool, len(m.veh)),
		removedMark: make([]bool, nv),
		barred:      -1,
	}
	// The penalty of a mandatory visit exceeds every prize and any cost a
	// route could have, so serving one more always wins.
	maxD, maxT := 0.0, 0.0
	for _, d := range m.p.Dist {
		maxD = max(maxD, d)
	}
	for _, t := range m.p.Time {
		maxT = max(maxT, t)
	}
	bound := 0.0
	for _, v := range m.vis {
		bound += v.prize + 3*(m.dc*maxD+m.tc*(maxT+v.svc))
	}
	for _, v := range m.veh {
		bound += m.tc*(v.se-v.ss) + m.dc*maxD*2
	}
	s.bigM = 10 * (bound + 1)
	for i, v := range m.vis {
		s.pen[i] = v.prize
		if !v.optional {
			s.pen[i] = s.bigM
		}
		s.far[i] = math.Inf(1)
		for _, k := range m.veh {
			s.far[i] = min(s.far[i], m.p.Dist[int(k.start)*m.n+int(v.node)])
		}
	}
	s.buildNeighbors()
	s.skipKey, s.skipSave = make([][3]int32, nv), make([]float64, nv)
	for i := range s.skipKey {
		s.skipKey[i] = [3]int32{-2, -2, -2}
	}
	s.nbSlot = make([]int32, nv)
	for i := range s.nbSlot {
		s.nbSlot[i] = -1
	}
	return s
}

// buildNeighbors lists, for each visit, the nearest other visits by cost.
func (s *fleetSearch) buildNeighbors() {
	m := s.m
	nv := len(m.vis)
	k := min(fleetNeighbors, nv-1)
	s.nb = make([][]int32, nv)
	costs := make([]float64, 0, k+1)
	for a := range nv {
		list := make([]int32, 0, k+1)
		costs = costs[:0]
		row := int(m.vis[a].node) * m.n
		for b := range nv {
			if b == a {
				continue
			}
			c := m.dc*m.p.Dist[row+int(m.vis[b].node)] + m.tc*m.p.Time[row+int(m.vis[b].node)]
			if len(list) == k && c >= costs[k-1] {
				continue
			}
			i := len(list)
			if i == k {
				i--
			} else {
				list, costs = append(list, 0), append(costs, 0)
			}
			for i > 0 && costs[i-1] > c {
				list[i], costs[i] = list[i-1], costs[i-1]
				i--
			}
			list[i], costs[i] = int32(b), c
		}
		s.nb[a] = list
	}
	s.nbTo, s.nbFrom = make([][][2]float64, nv), make([][][2]float64, nv)
	for a, list := range s.nb {
		for _, b := range list {
			var to, from [2]float64
			to[0], to[1] = m.costArc(0, int32(a), b, int32(a))
			from[0], from[1] = m.costArc(0, b, int32(a), int32(a))
			s.nbTo[a] = append(s.nbTo[a], to)
			s.nbFrom[a] = append(s.nbFrom[a], from)
		}
	}
}

// allowed reports whether visit c may ride on vehicle k.
func (s *fleetSearch) allowed(c int32, k int) bool {
	v := &s.m.vis[c]
	if v.veh >= 0 && int(v.veh) != k || int32(k) == s.barred {
		return false
	}
	veh := &s.m.veh[k]
	return v.dem <= veh.cap && (v.dem == 0 || len(veh.facs) > 0)
}

func (s *fleetSearch) touch(r int32) {
	if !s.isTouched[r] {
		s.isTouched[r] = true
		s.touched = append(s.touched, r)
	}
}

func (s *fleetSearch) reindex(r int32) {
	for i, c := range s.cand.routes[r].seq {
		s.posR[c], s.posI[c] = r, int32(i)
	}
}

// SolveFleet searches for a low-objective plan of p until the time limit,
// the iteration budget or ctx ends the search, and returns the best plan
// found. Mandatory visits come first: a plan that serves more of them is
// always preferred, whatever the prizes and costs. Errors: a civic Invalid
// error when p is malformed; ctx's error never (cancellation returns the
// best so far).
func SolveFleet(ctx context.Context, p *FleetProblem, o FleetOptions) (FleetSolution, error) {
	if err := p.Validate(); err != nil {
		return FleetSolution{}, err
	}
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	start := clock()
	m := newFleetModel(p)
	threads := max(1, o.Threads)
	// Each search builds its own first plan, in random orders of its
	// own, so the threads start apart.
	searches := make([]*fleetSearch, threads)
	var wg sync.WaitGroup
	for i := range searches {
		wg.Go(func() {
			searches[i] = newFleetSearch(m, o.Seed+int64(i)*0x9e3779b9)
			searches[i].initial(o.Initial)
		})
	}
	wg.Wait()
	maxIter := o.MaxIterations
	if maxIter == 0 && o.TimeLimit == 0 {
		maxIter = fleetDefaultIter
	}
	s := searches[0]
	served := 0
	for _, r := range s.cur.routes {
		served += len(r.seq)
	}
	costs := 0.0
	for _, r := range s.cur.routes {
		costs += r.cost
	}
	perVisit := costs / float64(max(served, 1))
	if perVisit == 0 {
		perVisit = 1
	}
	t0, t1 := fleetTempStart*perVisit, fleetTempEnd*perVisit
	lead := s // the search holding the best plan
	for _, x := range searches[1:] {
		if x.best.obj < lead.best.obj {
			lead = x
		}
	}
	bestReported := math.Inf(1)
	report := func(elapsed time.Duration) {
		if o.Progress != nil && lead.best.obj < bestReported {
			bestReported = lead.best.obj
			o.Progress(elapsed, lead.objective(&lead.best))
		}
	}
	report(clock().Sub(start))
	// run anneals x from iteration it until the epoch ends (its
	// iteration bound, or the clock passes until), the budget runs out
	// or ctx is done; it returns the next iteration and whether the
	// search is over. The schedule follows whichever budget runs out
	// first; per thread, an iteration budget is split between threads.
	perThread := maxIter
	if maxIter > 0 {
		perThread = max(1, maxIter/threads)
	}
	run := func(x *fleetSearch, it, itEnd int, until time.Duration, rep func(time.Duration)) (int, bool) {
		var elapsed time.Duration
		for ; perThread == 0 || it < perThread; it++ {
			if it >= itEnd {
				return it, false
			}
			if it%8 == 0 {
				elapsed = clock().Sub(start)
				if o.TimeLimit > 0 && elapsed >= o.TimeLimit {
					return it, true
				}
				if until > 0 && elapsed >= until {
					return it, false
				}
				if it%64 == 0 {
					if ctx.Err() != nil {
						return it, true
					}
					if rep != nil {
						rep(elapsed)
					}
				}
			}
			frac := 0.0
			if o.TimeLimit > 0 {
				frac = float64(elapsed) / float64(o.TimeLimit)
			}
			if perThread > 0 {
				frac = max(frac, float64(it)/float64(perThread))
			}
			x.temp = t0 * math.Pow(t1/t0, min(frac, 1))
			x.mayEliminate = frac >= 0.1 && frac < 0.9
			x.iterate()
		}
		return it, true
	}
	iter := 0
	if threads == 1 {
		iter, _ = run(s, 0, math.MaxInt, 0, report)
	} else {
		// Cooperative annealing: the threads search apart for an
		// epoch, then all continue from the best plan found.
		its := make([]int, threads)
		done := make([]bool, threads)
		for epoch := 1; ; epoch++ {
			until, itEnd := time.Duration(0), math.MaxInt
			if o.TimeLimit > 0 {
				until = o.TimeLimit * time.Duration(epoch) / fleetEpochs
			}
			if perThread > 0 {
				itEnd = perThread * epoch / fleetEpochs
			}
			for i, x := range searches {
				wg.Go(func() { its[i], done[i] = run(x, its[i], itEnd, until, nil) })
			}
			wg.Wait()
			for _, x := range searches {
				if x.best.obj < lead.best.obj {
					lead = x
				}
			}
			report(clock().Sub(start))
			if slices.Contains(done, true) {
				break
			}
			lead.polish(&lead.best)
			for _, x := range searches {
				if x != lead {
					x.adopt(&lead.best)
				}
			}
		}
		for _, it := range its {
			iter += it
		}
	}
	lead.polish(&lead.best)
	elapsed := clock().Sub(start)
	report(elapsed)
	sol := lead.output(&lead.best)
	sol.Iterations = iter
	sol.Elapsed = elapsed
	return sol, nil
}

// adopt makes x the search's current, candidate and best state.
func (s *fleetSearch) adopt(x *fsol) {
	s.barred, s.elimLeft = -1, 0
	s.best.copyFrom(x)
	s.resume(x)
}

// resume makes x the search's current and candidate state.
func (s *fleetSearch) resume(x *fsol) {
	s.cur.copyFrom(x)
	s.cand.copyFrom(x)
	for _, u := range x.unassigned {
		s.posR[u] = -1
	}
	for r := range s.cand.routes {
		s.reindex(int32(r))
	}
}

// objective is the reported objective of x: costs minus prizes collected.
func (s *fleetSearch) objective(x *fsol) float64 {
	obj := 0.0
	for _, r := range x.routes {
		obj += r.cost
	}
	for _, v := range s.m.vis {
		if v.optional {
			obj -= v.prize
		}
	}
	for _, u := range x.unassigned {
		if s.m.vis[u].optional {
			obj += s.m.vis[u].prize
		}
	}
	return obj
}

// initial builds the first state: the warm start's orders where feasible,
// then every other visit inserted.
func (s *fleetSearch) initial(init *FleetSolution) {
	m := s.m
	nv := len(m.vis)
	s.cand.routes = make([]froute, len(m.veh))
	for i := range s.posR {
		s.posR[i] = -1
	}
	if init != nil {
		used := make([]bool, nv)
		for k := range min(len(init.Routes), len(m.veh)) {
			r := &s.cand.routes[k]
			for _, st := range init.Routes[k].Stops {
				c := int32(st.Index)
				if st.Kind != StopVisit || st.Index < 0 || st.Index >= nv || used[c] || !s.allowed(c, k) {
					continue
				}
				l := &s.scratch
				l.seq = append(append(l.seq[:0], r.seq...), c)
				m.build(k, l)
				if _, ok := s.sch.eval(k, l, nil); ok {
					used[c] = true
					r.legs.copyFrom(l)
					r.setCost(k, s.sch)
				}
			}
			s.reindex(int32(k))
		}
	}
	for k := range s.cand.routes {
		r := &s.cand.routes[k]
		if len(r.seq) == 0 {
			m.build(k, &r.legs)
			r.setCost(k, s.sch)
		}
		s.cand.obj += r.cost
	}
	var list []int32
	for i := range nv {
		if s.posR[i] < 0 {
			list = append(list, int32(i))
		}
	}
	s.rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	slices.SortStableFunc(list, func(a, b int32) int { return cmp.Compare(s.pen[b], s.pen[a]) })
	s.cand.unassigned = s.cand.unassigned[:0]
	s.building = true
	s.recreate(list)
	s.building = false
	s.touched = s.touched[:0]
	clear(s.isTouched)
	s.cur.copyFrom(&s.cand)
	s.best.copyFrom(&s.cand)
}

// iterate is one ruin-and-recreate step with simulated-annealing
// acceptance.
func (s *fleetSearch) iterate() {
	if s.barred < 0 && s.mayEliminate && s.sinceElim >= fleetElimEvery {
		s.startElimination()
	}
	s.sinceElim++
	list := s.ruin()
	s.order(list)
	s.recreate(list)
	s.dropUnprofitable()
	if s.cand.obj < s.cur.obj-s.temp*math.Log(s.rng.Float64()) {
		s.keepCandidate()
		if s.cur.obj < s.best.obj-1e-9 {
			s.best.copyFrom(&s.cur)
		}
	} else {
		for _, r := range s.touched {
			s.cand.routes[r].copyFrom(&s.cur.routes[r])
			s.isTouched[r] = false
		}
		s.cand.unassigned = append(s.cand.unassigned[:0], s.cur.unassigned...)
		s.cand.obj = s.cur.obj
		for _, u := range s.cand.unassigned {
			s.posR[u] = -1
		}
		for _, r := range s.touched {
			s.reindex(r)
		}
	}
	s.touched = s.touched[:0]
	if s.barred >= 0 {
		s.elimLeft--
		if !slices.ContainsFunc(s.cur.unassigned, func(c int32) bool { return !s.m.vis[c].optional }) {
			// Every mandatory visit found room without the route: the
			// search goes on from there, the vehicle free again (the
			// annealing decides whether a route is worth adding back).
			s.elimWon++
			s.barred, s.sinceElim = -1, 0
		} else if s.elimLeft <= 0 {
			s.barred, s.sinceElim = -1, 0
			s.resume(&s.saved)
		}
	}
}

// startElimination tries to do without a route, as the fleet
// minimisation of Christiaens and Vanden Berghe does: string removals
// alone seldom empty a long route, since its visits cost more anywhere
// else while it runs. It empties the route with the fewest visits (none
// pinned to its vehicle), bars the vehicle and lets the next iterations
// place the visits elsewhere; every unassigned mandatory visit is
// reinserted at every iteration and weighs more than any cost, so the
// search takes every step that serves one more. iterate ends the attempt
// when they are all served, or after fleetElimIters iterations, then
// going back to the state before it. While a truck is idle the visits may
// go to it, and the elimination is then a large ruin more than a smaller
// fleet (on the plan benchmark a better one than none: docs/benchmarks.md,
// 2026-12-06 22:07); fill makes the first plan use few trucks instead.
func (s *fleetSearch) startElimination() {
	s.sinceElim = 0
	x := &s.cand
	r, used := int32(-1), 0
	for k := range x.routes {
		rt := &x.routes[k]
		if len(rt.seq) == 0 {
			continue
		}
		used++
		if slices.ContainsFunc(rt.seq, func(c int32) bool { return s.m.vis[c].veh >= 0 }) {
			continue
		}
		if r < 0 || len(rt.seq) < len(x.routes[r].seq) {
			r = int32(k)
		}
	}
	if used < 2 || r < 0 {
		return
	}
	s.saved.copyFrom(&s.cur)
	s.barred, s.elimLeft = r, fleetElimIters
	list := s.removeString(r, 0, len(x.routes[r].seq), s.insertList[:0])
	for _, c := range list {
		s.removedMark[c] = false
		x.unassigned = append(x.unassigned, c)
		x.obj += s.pen[c]
	}
	s.insertList = list[:0]
	// The attempt starts here, whatever the annealing would say.
	s.keepCandidate()
	s.touched = s.touched[:0]
}

// keepCandidate makes the candidate the current state: the routes
// touched since the last iteration, the unassigned visits and the
// objective (the caller empties touched).
func (s *fleetSearch) keepCandidate() {
	for _, r := range s.touched {
		s.cur.routes[r].copyFrom(&s.cand.routes[r])
		s.isTouched[r] = false
	}
	s.cur.unassigned = append(s.cur.unassigned[:0], s.cand.unassigned...)
	s.cur.obj = s.cand.obj
}

// ruin removes strings of visits from routes near a random visit and
// returns what to reinsert: them, the unassigned mandatory visits and the
// unassigned neighbours of the seed.
func (s *fleetSearch) ruin() []int32 {
	x := &s.cand
	served, used := 0, 0
	for _, r := range x.routes {
		if len(r.seq) > 0 {
			served += len(r.seq)
			used++
		}
	}
	list := s.insertList[:0]
	nv := int32(len(s.m.vis))
	seed := int32(s.rng.IntN(int(nv)))
	if used > 1 && s.rng.Float64() < fleetRouteRuin {
		// Now and then empty a short route, the shorter of two drawn:
		// string removals alone seldom free a truck.
		r := s.drawRoute()
		if r2 := s.drawRoute(); len(x.routes[r2].seq) < len(x.routes[r].seq) {
			r = r2
		}
		list = s.removeString(r, 0, len(x.routes[r].seq), list)
	}
	if served > 0 {
		avg := float64(served) / float64(used)
		lsMax := math.Min(fleetMaxString, avg)
		ksMax := 4*fleetAvgRemoved/(1+lsMax) - 1
		ks := int(s.rng.Float64()*ksMax) + 1
		ruined := 0
		for j := -1; j < len(s.nb[seed]) && ruined < ks; j++ {
			c := seed
			if j >= 0 {
				c = s.nb[seed][j]
			}
			r := s.posR[c]
			if r < 0 || s.isTouched[r] {
				continue
			}
			l := 1 + s.rng.IntN(int(math.Min(lsMax, float64(len(x.routes[r].seq)))))
			list = s.removeString(r, s.posI[c], l, list)
			ruined++
		}
	}
	// Unassigned visits near the seed, and every unassigned mandatory one.
	for _, c := range s.nb[seed] {
		if s.posR[c] < 0 && s.m.vis[c].optional && !s.removedMark[c] {
			s.removedMark[c] = true
			list = append(list, c)
		}
	}
	if s.posR[seed] < 0 && !s.removedMark[seed] {
		s.removedMark[seed] = true
		list = append(list, seed)
	}
	for _, c := range x.unassigned {
		if !s.m.vis[c].optional && !s.removedMark[c] {
			s.removedMark[c] = true
			list = append(list, c)
		}
	}
	// Reinserted visits leave the unassigned list; recreate puts back
	// those it cannot place.
	k := 0
	for _, c := range x.unassigned {
		if s.removedMark[c] {
			x.obj -= s.pen[c]
		} else {
			x.unassigned[k] = c
			k++
		}
	}
	x.unassigned = x.unassigned[:k]
	for _, c := range list {
		s.removedMark[c] = false
	}
	s.insertList = list
	return list
}

// drawRoute returns a random non-empty route of cand; there must be one.
func (s *fleetSearch) drawRoute() int32 {
	for {
		if r := s.rng.IntN(len(s.cand.routes)); len(s.cand.routes[r].seq) > 0 {
			return int32(r)
		}
	}
}

// removeString removes l visits around position at of route r: a plain
// string, or half the time a split string that keeps a run in its middle.
func (s *fleetSearch) removeString(r, at int32, l int, list []int32) []int32 {
	x := &s.cand
	rt := &x.routes[r]
	n := len(rt.seq)
	keep := 0
	if l >= 2 && n > l && s.rng.IntN(2) == 0 {
		keep = 1 + s.rng.IntN(min(n-l, l))
	}
	w := l + keep
	lo := max(0, int(at)-w+1)
	hi := min(int(at), n-w)
	first := lo + s.rng.IntN(hi-lo+1)
	keepAt := first + 1 + s.rng.IntN(max(1, l-1))
	if keep == 0 {
		keepAt = first + w
	}
	s.touch(r)
	drop := slices.Grow(s.drop[:0], n)[:n]
	for i, c := range rt.seq {
		drop[i] = i >= first && i < first+w && (i < keepAt || i >= keepAt+keep)
		if drop[i] {
			list = append(list, c)
			s.removedMark[c] = true
			s.posR[c] = -1
		}
	}
	s.drop = drop
	s.m.filter(int(r), &rt.legs, drop, &s.scratch)
	rt.legs, s.scratch = s.scratch, rt.legs
	old := rt.cost
	if !rt.setCostFrom(int(r), s.sch, first) {
		// Rare (a break or an unload moved): empty the route.
		for _, c := range rt.seq {
			list = append(list, c)
			s.removedMark[c] = true
			s.posR[c] = -1
		}
		rt.seq = rt.seq[:0]
		s.m.build(int(r), &rt.legs)
		rt.setCost(int(r), s.sch)
	}
	x.obj += rt.cost - old
	s.reindex(r)
	return list
}

// order sorts the visits to reinsert: randomly, by decreasing demand, far
// from the depots first or near first (weights 4, 4, 2, 1), mandatory
// before optional.
func (s *fleetSearch) order(list []int32) {
	switch w := s.rng.IntN(11); {
	case w < 4:
		s.rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	case w < 8:
		slices.SortFunc(list, func(a, b int32) int { return cmp.Compare(s.m.vis[b].dem, s.m.vis[a].dem) })
	case w < 10:
		slices.SortFunc(list, func(a, b int32) int { return cmp.Compare(s.far[b], s.far[a]) })
	default:
		slices.SortFunc(list, func(a, b int32) int { return cmp.Compare(s.far[a], s.far[b]) })
	}
	slices.SortStableFunc(list, func(a, b int32) int {
		return cmp.Compare(boolInt(s.m.vis[a].optional), boolInt(s.m.vis[b].optional))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// recreate inserts each visit of list at its cheapest feasible position
// (optional ones only when their prize pays for it); what cannot be placed
// goes to the unassigned list. While building the first plan it fills the
// routes already open before it opens another (see fill).
func (s *fleetSearch) recreate(list []int32) {
	x := &s.cand
	for _, c := range list {
		if s.building && !s.noFill && s.fill(c) {
			continue
		}
		cd, ok := s.bestInsertion(c, false, true)
		// Looking everywhere is costly: always while building, else
		// now and then.
		if !ok && !s.m.vis[c].optional && (s.building || s.rng.IntN(50) == 0) {
			cd, ok = s.bestInsertion(c, true, true)
		}
		if ok && (!s.m.vis[c].optional || cd.exact < s.m.vis[c].prize) {
			if s.insert(c, cd) {
				continue
			}
			// The quick timing missed a change in the unloads or the
			// break (a tie): time every position in full.
			s.noQuick = true
			cd, ok = s.bestInsertion(c, !s.m.vis[c].optional, true)
			s.noQuick = false
			if ok && (!s.m.vis[c].optional || cd.exact < s.m.vis[c].prize) && s.insert(c, cd) {
				continue
			}
		}
		x.unassigned = append(x.unassigned, c)
		x.obj += s.pen[c]
	}
}

// fill inserts c at its cheapest feasible position in a route already
// open, looking everywhere in them if none next to its neighbours will do,
// and reports whether it did. The first plan is built this way so that
// the search starts with about as few trucks as the shifts and
// capacities allow, a truck opened only for a visit no open route can
// take: routes are far easier to open than to close. String removals and
// recreations seldom empty a route whose trucks' shifts are full, and an
// elimination (startElimination) lets its visits go to an idle truck
// while there is one. On the plan benchmark's largest stream a first plan
// with a truck per neighbourhood (24) ended at 13 or 14 routes where this
// one ends at 12, and the day's plan cost 1.2% less on average
// (docs/benchmarks.md, 2026-12-06 22:07).
func (s *fleetSearch) fill(c int32) bool {
	cd, ok := s.bestInsertion(c, false, false)
	if !ok {
		cd, ok = s.bestInsertion(c, true, false)
	}
	return ok && (!s.m.vis[c].optional || cd.exact < s.m.vis[c].prize) && s.insert(c, cd)
}

// insert puts c where cd says and reports whether the route stays
// feasible; if not, nothing changes.
func (s *fleetSearch) insert(c int32, cd fcand) bool {
	rt := &s.cand.routes[cd.r]
	s.m.withInsert(int(cd.r), &rt.legs, int(cd.i), c, cd.d1, cd.t1, cd.d2, cd.t2, &s.scratch)
	rt.legs, s.scratch = s.scratch, rt.legs
	old := rt.cost
	if !rt.setCostFrom(int(cd.r), s.sch, int(cd.i)) {
		rt.legs, s.scratch = s.scratch, rt.legs
		return false
	}
	s.cand.obj += rt.cost - old
	s.touch(cd.r)
	s.reindex(cd.r)
	return true
}

// bestInsertion returns the cheapest feasible position for c. Positions
// are those next to c's routed neighbours, in empty routes and, for a
// pinned visit, anywhere on its vehicle (every position of every allowed
// route when wide); they are ranked by the change in the legs and the
// best few timed exactly. Without open, empty routes are left out.
func (s *fleetSearch) bestInsertion(c int32, wide, open bool) (fcand, bool) {
	m := s.m
	s.cands = s.cands[:0]
	pinned := m.vis[c].veh
	if wide {
		for r := range s.cand.routes {
			if s.allowed(c, r) && s.roomFor(c, int32(r)) && (open || len(s.cand.routes[r].seq) > 0) {
				for i := range len(s.cand.routes[r].seq) + 1 {
					s.consider(c, int32(r), int32(i), 0, [2]float64{})
				}
			}
		}
	} else {
		for j, nb := range s.nb[c] {
			s.nbSlot[nb] = int32(j)
		}
		defer func() {
			for _, nb := range s.nb[c] {
				s.nbSlot[nb] = -1
			}
		}()
		for j, nb := range s.nb[c] {
			r := s.posR[nb]
			if r < 0 || r == pinned || !s.allowed(c, int(r)) || !s.roomFor(c, r) {
				continue
			}
			s.consider(c, r, s.posI[nb], legOut, s.nbTo[c][j])
			s.consider(c, r, s.posI[nb]+1, legIn, s.nbFrom[c][j])
		}
		if pinned >= 0 && s.allowed(c, int(pinned)) && s.roomFor(c, pinned) {
			for i := range len(s.cand.routes[pinned].seq) + 1 {
				s.consider(c, pinned, int32(i), 0, [2]float64{})
			}
		}
		for r := range s.cand.routes {
			if open && len(s.cand.routes[r].seq) == 0 && s.allowed(c, r) {
				s.consider(c, int32(r), 0, 0, [2]float64{})
			}
		}
	}
	best := fcand{exact: math.Inf(1)}
	found := 0
	for j := range s.cands {
		cd := &s.cands[j]
		// The estimate all but bounds the exact cost from below: stop
		// when it cannot beat the best found.
		if found == fleetExactGood || cd.est >= best.exact {
			break
		}
		rt := &s.cand.routes[cd.r]
		prev, next := int32(-1), int32(-1)
		if cd.i > 0 {
			prev = rt.seq[cd.i-1]
		}
		if int(cd.i) < len(rt.seq) {
			next = rt.seq[cd.i]
		}
		cd.d1, cd.t1 = m.arc(int(cd.r), prev, c)
		cd.d2, cd.t2 = m.arc(int(cd.r), c, next)
		delta, ok, known := 0.0, false, false
		if !s.noQuick {
			delta, ok, known = s.quickInsert(c, cd)
		}
		if !known {
			m.withInsert(int(cd.r), &rt.legs, int(cd.i), c, cd.d1, cd.t1, cd.d2, cd.t2, &s.scratch)
			var cost float64
			cost, ok = s.sch.evalFrom(int(cd.r), &s.scratch, &rt.sc, int(cd.i), nil)
			delta = cost - rt.cost
		}
		if !ok {
			continue
		}
		found++
		if delta < best.exact {
			best = *cd
			best.exact = delta
		}
	}
	return best, found > 0
}

// quickInsert times inserting c at the position cd names (its legs set)
// in constant time, from the route's recorded profile, when the insertion
// provably leaves the route's unloads and its break where they are: it
// returns the change in the route's cost and whether the route stays
// feasible, and known false when it cannot tell (then time the route).
//
// The unloads stay: c fits in the trip it joins, and each plan that
// unloads next to c costs more than one of the route without c that
// unloads there instead (their detours are dearer than the one c splits),
// which costs at least the route's. The break stays: it was taken before
// c, or c and every stop up to the break still leave before it is due.
// Then every later stop is reached δ later, less the waiting on the way:
// feasible when δ is within the slack, and the route ends max(0, δ -
// waiting) later.
func (s *fleetSearch) quickInsert(c int32, cd *fcand) (delta float64, ok, known bool) {
	m := s.m
	k, i := int(cd.r), int(cd.i)
	rt := &s.cand.routes[cd.r]
	vc := &m.vis[c]
	veh := &m.veh[k]
	n := len(rt.seq)
	if i >= n || !rt.sc.valid || !rt.lastDem || vc.dem <= 0 || vc.dem > rt.room[i] || rt.sc.unl[i] {
		return 0, false, false
	}
	if !rt.throughOK {
		rt.setThrough(veh.cap, s.sch.dq)
		rt.throughOK = true
	}
	// The cheapest plan (g[n]) must stay strictly cheaper than any that
	// unloads next to c.
	best := rt.sc.g[n] + 1e-7*(1+math.Abs(rt.sc.g[n]))
	dn2, _ := m.detour(k, c, rt.seq[i], m.dc*cd.d2+m.tc*cd.t2)
	if i == 0 {
		if !(rt.sc.g[n]+dn2 > best) {
			return 0, false, false
		}
	} else {
		dn1, _ := m.detour(k, rt.seq[i-1], c, m.dc*cd.d1+m.tc*cd.t1)
		if !(rt.through[i]+min(dn1, dn2, dn1+dn2) > best) {
			return 0, false, false
		}
	}
	dep := rt.dep[i]
	if rt.brkB == cd.i {
		dep += veh.brk
	}
	start := max(dep+cd.t1, vc.ready)
	if start > vc.due+1e-9 {
		return 0, false, true
	}
	leave := start + vc.svc
	late := leave + cd.t2 - (dep + rt.at[i])
	if late < 0 {
		// Earlier: the break might come later.
		return 0, false, false
	}
	if veh.brk > 0 && (rt.brkB < 0 || rt.brkB > cd.i) && (leave >= veh.breakAt || rt.lastChk+late >= veh.breakAt) {
		return 0, false, false
	}
	if late > rt.slack[i]+1e-9 {
		return 0, false, true
	}
	return m.dc*(cd.d1+cd.d2-rt.ad[i]) + m.tc*max(0, late-rt.wsuf[i]), true, true
}

// roomFor reports whether route r's shift could fit visit c's service if
// all its waiting were saved.
func (s *fleetSearch) roomFor(c, r int32) bool {
	rt := &s.cand.routes[r]
	return rt.end-rt.wait+s.m.vis[c].svc <= s.m.veh[r].se
}

// Which leg of an insertion the caller already knows.
const (
	legIn  = 1 // from the previous stop to the visit
	legOut = 2 // from the visit to the next stop
)

// consider estimates inserting c at position i of route r from the change
// in the legs and keeps it if it is among the fleetExactTries best so far.
// known (legIn, legOut or 0) says whether kc is the cost and time of one of
// the legs. Positions that would end the route after its shift, were all
// its waiting saved, are dropped.
func (s *fleetSearch) consider(c, r, i int32, known int, kc [2]float64) {
	if s.rng.Float64() < fleetBlink {
		return
	}
	m := s.m
	rt := &s.cand.routes[r]
	vc := &m.vis[c]
	est := m.tc*vc.svc - (m.dc*rt.ad[i] + m.tc*rt.at[i])
	prev, next := int32(-1), int32(-1)
	if i > 0 {
		prev = rt.seq[i-1]
	}
	if int(i) < len(rt.seq) {
		next = rt.seq[i]
	}
	// Legs to and from c's neighbours are cached: the matrix is read
	// only for the others.
	var l1, l2 [2]float64
	switch {
	case known == legIn:
		l1 = kc
	case prev >= 0 && s.nbSlot[prev] >= 0:
		l1 = s.nbFrom[c][s.nbSlot[prev]]
	default:
		l1[0], l1[1] = m.costArc(int(r), prev, c, c)
	}
	switch {
	case known == legOut:
		l2 = kc
	case next >= 0 && s.nbSlot[next] >= 0:
		l2 = s.nbTo[c][s.nbSlot[next]]
	default:
		l2[0], l2[1] = m.costArc(int(r), c, next, c)
	}
	// Would c be late, or delay what follows beyond its slack?
	arrive := rt.dep[i] + l1[1]
	if arrive > vc.due+1 || max(arrive, vc.ready)+vc.svc+l2[1]-rt.dep[i]-rt.at[i] > rt.slack[i]+1 {
		return
	}
	est += l1[0] + l2[0]
	if vc.dem > rt.room[i]+1e-9 {
		est += rt.split[i]
	}
	n := len(s.cands)
	if n == fleetExactTries && est >= s.cands[n-1].est {
		return
	}
	for j := range s.cands {
		if s.cands[j].r == r && s.cands[j].i == i {
			return
		}
	}
	if n < fleetExactTries {
		s.cands = append(s.cands, fcand{})
	} else {
		n--
	}
	for n > 0 && s.cands[n-1].est > est {
		s.cands[n] = s.cands[n-1]
		n--
	}
	s.cands[n] = fcand{r: r, i: i, est: est}
}

// dropUnprofitable removes, from the routes changed this iteration, the
// optional visits that cost more than their prize.
func (s *fleetSearch) dropUnprofitable() {
	m := s.m
	x := &s.cand
	for ti := 0; ti < len(s.touched); ti++ {
		r := s.touched[ti]
		rt := &x.routes[r]
		for i := 0; i < len(rt.seq); i++ {
			c := rt.seq[i]
			v := &m.vis[c]
			if !v.optional {
				continue
			}
			prev, next := int32(-1), int32(-1)
			if i > 0 {
				prev = rt.seq[i-1]
			}
			if i+1 < len(rt.seq) {
				next = rt.seq[i+1]
			}
			// The saving depends only on the neighbours: most visits of a
			// touched route kept theirs, and the matrix is read only for
			// the others.
			key := [3]int32{prev, next, r}
			if s.skipKey[c] == key && s.skipSave[c] < 0.7*v.prize {
				continue
			}
			d, t := m.arc(int(r), prev, next)
			saving := m.dc*(rt.ad[i]+rt.ad[i+1]-d) + m.tc*(rt.at[i]+rt.at[i+1]-t+v.svc)
			s.skipKey[c], s.skipSave[c] = key, saving
			if saving < 0.7*v.prize {
				continue
			}
			m.withRemove(int(r), &rt.legs, i, d, t, &s.scratch)
			cost, ok := s.sch.evalFrom(int(r), &s.scratch, &rt.sc, i, nil)
			if !ok || rt.cost-cost <= v.prize {
				continue
			}
			rt.legs.copyFrom(&s.scratch)
			x.obj += cost - rt.cost + v.prize
			rt.setCostFrom(int(r), s.sch, i)
			s.posR[c] = -1
			x.unassigned = append(x.unassigned, c)
			s.reindex(r)
			i--
		}
	}
}

// output times x's routes into a FleetSolution.
func (s *fleetSearch) output(x *fsol) FleetSolution {
	m := s.m
	sol := FleetSolution{Routes: make([]FleetRoute, len(m.veh)), Feasible: true}
	for k := range x.routes {
		rt := &x.routes[k]
		_, ok := s.sch.eval(k, &rt.legs, &sol.Routes[k])
		sol.Feasible = sol.Feasible && ok
		sol.Distance += sol.Routes[k].Distance
		sol.Duration += sol.Routes[k].Duration
		for _, c := range rt.seq {
			sol.Prize += m.vis[c].prize
		}
	}
	for _, c := range x.unassigned {
		sol.Unvisited = append(sol.Unvisited, int(c))
		if !m.vis[c].optional {
			sol.Feasible = false
		}
	}
	slices.Sort(sol.Unvisited)
	sol.Objective = m.dc*sol.Distance + m.tc*sol.Duration - sol.Prize
	return sol
}

// polish shortens x's routes by reversing stretches of them (2-opt),
// which removing and reinserting visits one by one cannot do: for each
// route, as long as some reversal's change in the legs promises a gain,
// the route is timed with it and kept if it stays feasible and costs
// less. It keeps x.obj up to date.
func (s *fleetSearch) polish(x *fsol) {
	m := s.m
	l := &s.scratch
	for k := range x.routes {
		rt := &x.routes[k]
		// Timing is what costs: at most a few times per visit.
		timed, limit := 0, 4*len(rt.seq)+16
	route:
		for improved := true; improved; {
			improved = false
			n := len(rt.seq)
			for a := 0; a < n-1 && !improved; a++ {
				prev := int32(-1)
				if a > 0 {
					prev = rt.seq[a-1]
				}
				// fwd and rev: the legs inside seq[a..b], forwards and
				// reversed (they differ on asymmetric matrices).
				fwd, rev := 0.0, 0.0
				for b := a + 1; b < n; b++ {
					d, t := m.arc(k, rt.seq[b-1], rt.seq[b])
					fwd += m.dc*d + m.tc*t
					d, t = m.arc(k, rt.seq[b], rt.seq[b-1])
					rev += m.dc*d + m.tc*t
					next := int32(-1)
					if b+1 < n {
						next = rt.seq[b+1]
					}
					d1, t1 := m.arc(k, prev, rt.seq[b])
					d2, t2 := m.arc(k, rt.seq[a], next)
					gain := m.dc*(rt.ad[a]+rt.ad[b+1]-d1-d2) + m.tc*(rt.at[a]+rt.at[b+1]-t1-t2) + fwd - rev
					if gain <= 1e-6*(1+rt.cost) {
						continue
					}
					l.seq = append(l.seq[:0], rt.seq...)
					slices.Reverse(l.seq[a : b+1])
					m.build(k, l)
					timed++
					cost, ok := s.sch.eval(k, l, nil)
					if !ok || cost >= rt.cost-1e-9*(1+rt.cost) {
						if timed >= limit {
							break route
						}
						continue
					}
					old := rt.cost
					rt.legs, s.scratch = s.scratch, rt.legs
					l = &s.scratch
					rt.setCost(k, s.sch)
					x.obj += rt.cost - old
					improved = timed < limit
					break
				}
			}
		}
	}
}
