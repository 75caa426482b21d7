package route

import (
	"math"
	"math/rand/v2"
	"sort"
)

// lsNode is a customer or one end of a route in the local search's linked
// representation.
type lsNode struct {
	c          int32
	depot      bool
	pos        int // 0 for the start depot, 1.. for customers, nc+1 for the end depot
	r          *lsRoute
	next, prev *lsNode
	lastTested int // move counter when its neighbourhood was last explored

	// Prefix measures from the start depot up to and including this node.
	cumLoad int
	cumDist float64 // forward distance
	cumRev  float64 // distance travelled backwards (for reversals)
	cumSvc  float64
	fw, bw  tseg // time segments depot..node and node..depot (timed problems)
	// Time segments of the route's customers visited backwards: from this
	// node back to the first customer, and from the last customer back to
	// this node (customers only; for reversing 2-opt*).
	rpre, rsuf tseg

	// The neighbours the prefix and suffix measures were computed with:
	// while a route's links from its start (or end) up to a node are the
	// ones its measures were computed with, update keeps them.
	fwPrev, bwNext *lsNode

	delRemoval float64 // SWAP*: distance (and time penalty) saved by removing the node
	exWithout  float64 // SWAP*, time windows: time excess of the route without the node
}

// lsRoute is one route of the local search.
type lsRoute struct {
	idx          int
	depot, end   lsNode
	nc           int
	load         int
	dist, svc    float64
	loadPen      float64
	timePen      float64
	penalty      float64 // loadPen + timePen
	lastModified int
	lastSwapStar int
	sec          sector
	angle        float64 // polar angle of the barycentre, to order routes
}

// insertTop3 caches the three cheapest insertion positions of a customer in
// a route (SWAP*).
type insertTop3 struct {
	cost [3]float64
	at   [3]*lsNode
	when int
}

func (e *insertTop3) reset(when int) {
	e.cost = [3]float64{farAway, farAway, farAway}
	e.at = [3]*lsNode{}
	e.when = when
}

func (e *insertTop3) add(c float64, at *lsNode) {
	switch {
	case c >= e.cost[2]:
	case c >= e.cost[1]:
		e.cost[2], e.at[2] = c, at
	case c >= e.cost[0]:
		e.cost[2], e.at[2] = e.cost[1], e.at[1]
		e.cost[1], e.at[1] = c, at
	default:
		e.cost[2], e.at[2] = e.cost[1], e.at[1]
		e.cost[1], e.at[1] = e.cost[0], e.at[0]
		e.cost[0], e.at[0] = c, at
	}
}

// localSearch improves an individual with granular RELOCATE, SWAP, 2-OPT,
// 2-OPT* and SWAP* moves, first improvement, until no move improves. One
// localSearch belongs to one search thread; its memory is reused.
type localSearch struct {
	in        *instance
	n         int
	dist      []float64
	rng       *rand.Rand
	w         penalties
	nodes     []lsNode
	routes    []*lsRoute
	nR        int // routes in use this run
	order     []int32
	neighbors [][]int32
	nMoves    int
	done      bool
	ins       []insertTop3 // [route*n + customer]
	bufA      []*lsNode
	bufB      []*lsNode
	seq       []int32
	seq2      []int32

	u, x, pu, v, y, pv *lsNode
	ru, rv             *lsRoute
}

func newLocalSearch(in *instance, rng *rand.Rand) *localSearch {
	ls := &localSearch{in: in, n: in.n, dist: in.dist, rng: rng}
	ls.nodes = make([]lsNode, in.n)
	for i := range ls.nodes {
		ls.nodes[i].c = int32(i)
	}
	ls.order = make([]int32, 0, in.nc)
	for c := 1; c <= in.nc; c++ {
		ls.order = append(ls.order, int32(c))
	}
	ls.neighbors = make([][]int32, in.n)
	for c := 1; c <= in.nc; c++ {
		ls.neighbors[c] = append([]int32(nil), in.neighbors[c]...)
	}
	return ls
}

func (ls *localSearch) d(a, b *lsNode) float64 { return ls.dist[int(a.c)*ls.n+int(b.c)] }

func (ls *localSearch) loadPen(load int) float64 {
	if load > ls.in.capacity {
		return ls.w.load * float64(load-ls.in.capacity)
	}
	return 0
}

func (ls *localSearch) ensureRoutes(k int) {
	for len(ls.routes) < k {
		r := &lsRoute{idx: len(ls.routes)}
		r.depot = lsNode{depot: true, r: r}
		r.end = lsNode{depot: true, r: r}
		ls.routes = append(ls.routes, r)
	}
	if need := len(ls.routes) * ls.n; len(ls.ins) < need {
		old := len(ls.ins)
		ls.ins = append(ls.ins, make([]insertTop3, need-old)...)
		for i := old; i < need; i++ {
			ls.ins[i].when = -1
		}
	}
}

// slots is the number of routes the search may use for an individual with
// k routes: enough to add routes when that pays, as in HGS.
func (ls *localSearch) slots(k int) int {
	in := ls.in
	est := int(math.Ceil(1.3*float64(in.totalDemand)/float64(in.capacity))) + 3
	nR := max(est, k+1)
	if in.vehicles > 0 {
		nR = max(min(nR, in.vehicles), k)
	}
	return min(nR, max(in.nc, k))
}

func (ls *localSearch) load(ind *individual) {
	ls.nMoves++
	ls.nR = ls.slots(len(ind.routes))
	ls.ensureRoutes(ls.nR)
	for i := range ls.nodes {
		ls.nodes[i].fwPrev, ls.nodes[i].bwNext = nil, nil
	}
	for _, r := range ls.routes {
		r.end.fwPrev, r.depot.bwNext = nil, nil
	}
	for i := 0; i < ls.nR; i++ {
		r := ls.routes[i]
		prev := &r.depot
		if i < len(ind.routes) {
			for _, c := range ind.routes[i] {
				w := &ls.nodes[c]
				prev.next, w.prev, w.r = w, prev, r
				prev = w
			}
		}
		prev.next, r.end.prev = &r.end, prev
		ls.update(r)
	}
}

// export writes the routes back into ind, ordered by polar angle when
// coordinates are known (it keeps crossover segments spatially coherent).
func (ls *localSearch) export(ind *individual) {
	rs := ls.bufA[:0]
	for _, r := range ls.routes[:ls.nR] {
		if r.nc > 0 {
			rs = append(rs, &r.depot)
		}
	}
	if ls.in.hasCoords {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].r.angle < rs[j].r.angle })
	}
	for cap(ind.routes) < len(rs) {
		ind.routes = append(ind.routes[:cap(ind.routes)], nil)
	}
	ind.routes = ind.routes[:len(rs)]
	for i, dn := range rs {
		out := ind.routes[i][:0]
		for w := dn.next; !w.depot; w = w.next {
			out = append(out, w.c)
		}
		ind.routes[i] = out
	}
	ls.bufA = rs[:0]
}

// update recomputes a route's measures after a change. The measures of the
// nodes before the first changed link, and the suffix measures of those
// after the last, are kept: a move changes a route in one place or two, and
// with long routes under time windows recomputing all of them took a
// quarter of the search's time.
func (ls *localSearch) update(r *lsRoute) {
	in := ls.in
	r.lastModified = ls.nMoves
	dp := &r.depot
	dp.pos, dp.cumLoad, dp.cumDist, dp.cumRev, dp.cumSvc = 0, 0, 0, 0, 0
	if in.timed {
		dp.fw = in.nodeSeg(0)
	}
	var sx, sy float64
	k := 0
	prev := dp
	kept := true // the links from the start depot to prev are unchanged
	for w := dp.next; ; w = w.next {
		k++
		// While the links from the start depot up to w are the ones w's
		// measures were computed with, they still hold.
		if !kept || w.fwPrev != prev || w.r != r {
			kept = false
			ls.prefix(w, prev, k, r)
		}
		if w.depot {
			break
		}
		if in.hasCoords {
			if k == 1 {
				r.sec.init(in.polar[w.c])
			} else {
				r.sec.extend(in.polar[w.c])
			}
			sx += in.x[w.c]
			sy += in.y[w.c]
		}
		prev = w
	}
	e := &r.end
	r.nc = k - 1
	r.load, r.dist, r.svc = e.cumLoad, e.cumDist, e.cumSvc
	if in.timed {
		e.bw = in.nodeSeg(0)
		kept := true // the links from w.next to the end depot are unchanged
		for w := e.prev; ; w = w.prev {
			if kept && w.bwNext == w.next { // w's suffix measures still hold
				if w.depot {
					break
				}
				continue
			}
			kept = false
			w.bwNext = w.next
			w.bw = in.merge(in.nodeSeg(w.c), w.next.bw)
			if w.depot {
				break
			}
			w.rsuf = in.nodeSeg(w.c)
			if !w.next.depot {
				w.rsuf = in.merge(w.next.rsuf, w.rsuf)
			}
		}
		r.timePen = ls.w.time * in.timeExcess(e.fw)
	} else {
		r.timePen = ls.w.time * in.simpleTimeExcess(r.dist, r.svc)
	}
	r.loadPen = ls.loadPen(r.load)
	r.penalty = r.loadPen + r.timePen
	if in.hasCoords && r.nc > 0 {
		f := float64(r.nc)
		r.angle = math.Atan2(sy/f-in.y[0], sx/f-in.x[0])
	}
}

// prefix computes w's measures from the start depot, prev being the node
// before w at position k of route r.
func (ls *localSearch) prefix(w, prev *lsNode, k int, r *lsRoute) {
	in := ls.in
	w.fwPrev = prev
	w.pos = k
	w.r = r
	w.cumLoad = prev.cumLoad + in.demand[w.c]
	w.cumDist = prev.cumDist + ls.d(prev, w)
	w.cumRev = prev.cumRev + ls.d(w, prev)
	w.cumSvc = prev.cumSvc + in.service[w.c]
	if in.timed {
		w.fw = in.merge(prev.fw, in.nodeSeg(w.c))
		if !w.depot {
			w.rpre = in.nodeSeg(w.c)
			if !prev.depot {
				w.rpre = in.merge(w.rpre, prev.rpre)
			}
		}
	}
}

// run improves ind in place under the penalty weights w.
func (ls *localSearch) run(ind *individual, w penalties) {
	ls.w = w
	ls.load(ind)
	rng := ls.rng
	rng.Shuffle(len(ls.order), func(i, j int) { ls.order[i], ls.order[j] = ls.order[j], ls.order[i] })
	for c := 1; c <= ls.in.nc; c++ {
		if rng.IntN(granularity) == 0 {
			l := ls.neighbors[c]
			rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		}
	}
	ls.done = false
	swapLoop := 0
	swap := swapStarWanted(ls.in, len(ind.routes))
	for loop := 0; !ls.done; loop++ {
		ls.done = true
		for _, uc := range ls.order {
			u := &ls.nodes[uc]
			lastTested := u.lastTested
			u.lastTested = ls.nMoves
			for _, vc := range ls.neighbors[uc] {
				v := &ls.nodes[vc]
				if loop > 0 && max(u.r.lastModified, v.r.lastModified) <= lastTested {
					continue
				}
				ls.setU(u)
				ls.setV(v)
				if ls.move1() || ls.move2() || ls.move3() {
					continue
				}
				if u.c < v.c && ls.move4() {
					continue
				}
				if ls.move5() {
					continue
				}
				if u.c < v.c && ls.move6() {
					continue
				}
				if ls.ru == ls.rv {
					if ls.move7() {
						continue
					}
				} else if ls.move8() || ls.move9() {
					continue
				}
				if v.prev.depot {
					ls.setV(v.prev)
					if ls.move1() || ls.move2() || ls.move3() {
						continue
					}
					if ls.ru != ls.rv && (ls.move8() || ls.move9()) {
						continue
					}
				}
			}
			// Moves into an empty route, not in the first loop to keep the
			// fleet from growing needlessly.
			if loop > 0 {
				if r := ls.emptyRoute(); r != nil {
					ls.setU(u)
					ls.setV(&r.depot)
					_ = ls.move1() || ls.move2() || ls.move3() || ls.move9()
				}
			}
		}
		// SWAP* once the cheaper moves are exhausted: its preprocessing is
		// the dominant cost on large instances, and is wasted on routes the
		// next pass of simple moves would change anyway.
		if ls.done && ls.in.hasCoords && swap {
			ls.swapStarLoop(swapLoop)
			swapLoop++
		}
	}
	ls.export(ind)
}

// emptyRoute returns an empty route, opening a new one when all are in use
// and the fleet allows it; nil if none.
func (ls *localSearch) emptyRoute() *lsRoute {
	for _, r := range ls.routes[:ls.nR] {
		if r.nc == 0 {
			return r
		}
	}
	if v := ls.in.vehicles; (v > 0 && ls.nR >= v) || ls.nR >= ls.in.nc {
		return nil
	}
	ls.ensureRoutes(ls.nR + 1)
	r := ls.routes[ls.nR]
	ls.nR++
	r.depot.next, r.end.prev = &r.end, &r.depot
	ls.update(r)
	return r
}

func (ls *localSearch) setU(u *lsNode) { ls.u, ls.pu, ls.x, ls.ru = u, u.prev, u.next, u.r }
func (ls *localSearch) setV(v *lsNode) { ls.v, ls.pv, ls.y, ls.rv = v, v.prev, v.next, v.r }

// applied records a move that changed routes a and b.
func (ls *localSearch) applied(a, b *lsRoute) {
	ls.nMoves++
	ls.done = false
	ls.update(a)
	if b != a {
		ls.update(b)
	}
}

func unlink(w *lsNode) {
	w.prev.next = w.next
	w.next.prev = w.prev
}

// insertAfter moves w right after at.
func insertAfter(w, at *lsNode) {
	unlink(w)
	w.prev, w.next = at, at.next
	at.next.prev = w
	at.next = w
	w.r = at.r
}

// swapNodes exchanges two non-adjacent customers.
func swapNodes(a, b *lsNode) {
	ap, an, bp, bn := a.prev, a.next, b.prev, b.next
	ar, br := a.r, b.r
	ap.next, an.prev, bp.next, bn.prev = b, b, a, a
	a.prev, a.next, b.prev, b.next = bp, bn, ap, an
	a.r, b.r = br, ar
}

// relink makes r visit list, in order.
func relink(r *lsRoute, list []*lsNode) {
	prev := &r.depot
	for _, w := range list {
		prev.next, w.prev, w.r = w, prev, r
		prev = w
	}
	prev.next, r.end.prev = &r.end, prev
}

// interPenalty completes the evaluation of a move between two routes whose
// distance change is dd: it adds the new penalties, minus the old ones, and
// reports whether the move can still improve. exU and exV compute the new
// routes' time excess, needed only for timed problems.
func (ls *localSearch) interDelta(dd float64, loadU, loadV int, distU, distV, svcU, svcV float64, exU, exV func() float64) (float64, bool) {
	ru, rv := ls.ru, ls.rv
	delta := dd - ru.penalty - rv.penalty
	if delta > -eps {
		return 0, false
	}
	delta += ls.loadPen(loadU) + ls.loadPen(loadV)
	if delta > -eps {
		return 0, false
	}
	in := ls.in
	if in.timed {
		delta += ls.w.time * exU()
		if delta > -eps {
			return 0, false
		}
		delta += ls.w.time * exV()
	} else if in.hasDur {
		delta += ls.w.time * (in.simpleTimeExcess(distU, svcU) + in.simpleTimeExcess(distV, svcV))
	}
	return delta, delta < -eps
}

// span is a run of consecutive nodes of a route, from a to b, visited
// forwards, or backwards (from a back to b) when rev.
type span struct {
	a, b *lsNode
	rev  bool
}

// intraDelta completes the evaluation of a move within route ru whose
// distance change is dd: the load is unchanged, only time penalties move.
// The rearranged route visits the route's nodes up to from, then the spans
// in order, then the nodes from to on: only the spans are merged node by
// node, the rest is read from the route's time segments.
func (ls *localSearch) intraDelta(dd float64, from, to *lsNode, spans ...span) bool {
	in := ls.in
	if !in.timed && !in.hasDur {
		return dd < -eps
	}
	r := ls.ru
	delta := dd - r.timePen
	if delta > -eps {
		return false
	}
	if in.timed {
		seg := from.fw
		for _, sp := range spans {
			for w := sp.a; ; {
				seg = in.merge(seg, in.nodeSeg(w.c))
				if w == sp.b {
					break
				}
				if sp.rev {
					w = w.prev
				} else {
					w = w.next
				}
			}
		}
		delta += ls.w.time * in.excess2(&seg, &to.bw)
	} else {
		delta += ls.w.time * in.simpleTimeExcess(r.dist+dd, r.svc)
	}
	return delta < -eps
}

// move1 relocates u after v.
func (ls *localSearch) move1() bool {
	u, x, pu, v, y := ls.u, ls.x, ls.pu, ls.v, ls.y
	if v == pu || v == u {
		return false
	}
	in := ls.in
	dU := ls.d(pu, x) - ls.d(pu, u) - ls.d(u, x)
	dV := ls.d(v, u) + ls.d(u, y) - ls.d(v, y)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dem, svc := in.demand[u.c], in.service[u.c]
		if _, ok := ls.interDelta(dU+dV, ru.load-dem, rv.load+dem, ru.dist+dU, rv.dist+dV, ru.svc-svc, rv.svc+svc,
			func() float64 { return in.excess2(&pu.fw, &x.bw) },
			func() float64 { return in.excessInsert(&v.fw, u.c, &y.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, y, span{a: x, b: v}, span{a: u, b: u}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, v, x, span{a: u, b: u}, span{a: y, b: pu}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	insertAfter(u, v)
	ls.applied(ru, rv)
	return true
}

// move2 relocates the pair (u, x) after v.
func (ls *localSearch) move2() bool {
	u, x, pu, v, y := ls.u, ls.x, ls.pu, ls.v, ls.y
	if x.depot || v == pu || v == u || v == x {
		return false
	}
	in := ls.in
	xx := x.next
	dU := ls.d(pu, xx) - ls.d(pu, u) - ls.d(x, xx)
	dV := ls.d(v, u) + ls.d(x, y) - ls.d(v, y)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dem, svc := in.demand[u.c]+in.demand[x.c], in.service[u.c]+in.service[x.c]
		if _, ok := ls.interDelta(dU+dV, ru.load-dem, rv.load+dem, ru.dist+dU-ls.d(u, x), rv.dist+dV+ls.d(u, x), ru.svc-svc, rv.svc+svc,
			func() float64 { return in.excess2(&pu.fw, &xx.bw) },
			func() float64 { m := in.merge(v.fw, in.nodeSeg(u.c)); return in.excessInsert(&m, x.c, &y.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, y, span{a: xx, b: v}, span{a: u, b: x}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, v, xx, span{a: u, b: x}, span{a: y, b: pu}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	insertAfter(u, v)
	insertAfter(x, u)
	ls.applied(ru, rv)
	return true
}

// move3 relocates the pair (u, x) after v as (x, u).
func (ls *localSearch) move3() bool {
	u, x, pu, v, y := ls.u, ls.x, ls.pu, ls.v, ls.y
	if x.depot || v == pu || v == u || v == x {
		return false
	}
	in := ls.in
	xx := x.next
	dU := ls.d(pu, xx) - ls.d(pu, u) - ls.d(u, x) - ls.d(x, xx)
	dV := ls.d(v, x) + ls.d(x, u) + ls.d(u, y) - ls.d(v, y)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dem, svc := in.demand[u.c]+in.demand[x.c], in.service[u.c]+in.service[x.c]
		if _, ok := ls.interDelta(dU+dV, ru.load-dem, rv.load+dem, ru.dist+dU, rv.dist+dV, ru.svc-svc, rv.svc+svc,
			func() float64 { return in.excess2(&pu.fw, &xx.bw) },
			func() float64 { m := in.merge(v.fw, in.nodeSeg(x.c)); return in.excessInsert(&m, u.c, &y.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, y, span{a: xx, b: v}, span{a: x, b: u, rev: true}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, v, xx, span{a: x, b: u, rev: true}, span{a: y, b: pu}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	insertAfter(x, v)
	insertAfter(u, x)
	ls.applied(ru, rv)
	return true
}

// move4 swaps u and v.
func (ls *localSearch) move4() bool {
	u, x, pu, v, y, pv := ls.u, ls.x, ls.pu, ls.v, ls.y, ls.pv
	if v.depot || v == u || v == pu || v == x {
		return false
	}
	in := ls.in
	dU := ls.d(pu, v) + ls.d(v, x) - ls.d(pu, u) - ls.d(u, x)
	dV := ls.d(pv, u) + ls.d(u, y) - ls.d(pv, v) - ls.d(v, y)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dl := in.demand[v.c] - in.demand[u.c]
		ds := in.service[v.c] - in.service[u.c]
		if _, ok := ls.interDelta(dU+dV, ru.load+dl, rv.load-dl, ru.dist+dU, rv.dist+dV, ru.svc+ds, rv.svc-ds,
			func() float64 { return in.excessInsert(&pu.fw, v.c, &x.bw) },
			func() float64 { return in.excessInsert(&pv.fw, u.c, &y.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, y, span{a: v, b: v}, span{a: x, b: pv}, span{a: u, b: u}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, pv, x, span{a: u, b: u}, span{a: y, b: pu}, span{a: v, b: v}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	swapNodes(u, v)
	ls.applied(ru, rv)
	return true
}

// move5 swaps the pair (u, x) with v.
func (ls *localSearch) move5() bool {
	u, x, pu, v, y, pv := ls.u, ls.x, ls.pu, ls.v, ls.y, ls.pv
	if x.depot || v.depot || v == u || v == x || v == pu || v == x.next {
		return false
	}
	in := ls.in
	xx := x.next
	dU := ls.d(pu, v) + ls.d(v, xx) - ls.d(pu, u) - ls.d(x, xx)
	dV := ls.d(pv, u) + ls.d(x, y) - ls.d(pv, v) - ls.d(v, y)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dl := in.demand[v.c] - in.demand[u.c] - in.demand[x.c]
		ds := in.service[v.c] - in.service[u.c] - in.service[x.c]
		dux := ls.d(u, x)
		if _, ok := ls.interDelta(dU+dV, ru.load+dl, rv.load-dl, ru.dist+dU-dux, rv.dist+dV+dux, ru.svc+ds, rv.svc-ds,
			func() float64 { return in.excessInsert(&pu.fw, v.c, &xx.bw) },
			func() float64 { m := in.merge(pv.fw, in.nodeSeg(u.c)); return in.excessInsert(&m, x.c, &y.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, y, span{a: v, b: v}, span{a: xx, b: pv}, span{a: u, b: x}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, pv, xx, span{a: u, b: x}, span{a: y, b: pu}, span{a: v, b: v}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	swapNodes(u, v)
	insertAfter(x, u)
	ls.applied(ru, rv)
	return true
}

// move6 swaps the pairs (u, x) and (v, y).
func (ls *localSearch) move6() bool {
	u, x, pu, v, y, pv := ls.u, ls.x, ls.pu, ls.v, ls.y, ls.pv
	if x.depot || v.depot || y.depot || v == u || v == x || v == pu || v == x.next || y == pu || y == u {
		return false
	}
	in := ls.in
	xx, yy := x.next, y.next
	dU := ls.d(pu, v) + ls.d(y, xx) - ls.d(pu, u) - ls.d(x, xx)
	dV := ls.d(pv, u) + ls.d(x, yy) - ls.d(pv, v) - ls.d(y, yy)
	if ls.ru != ls.rv {
		ru, rv := ls.ru, ls.rv
		dl := in.demand[v.c] + in.demand[y.c] - in.demand[u.c] - in.demand[x.c]
		ds := in.service[v.c] + in.service[y.c] - in.service[u.c] - in.service[x.c]
		dux, dvy := ls.d(u, x), ls.d(v, y)
		if _, ok := ls.interDelta(dU+dV, ru.load+dl, rv.load-dl, ru.dist+dU-dux+dvy, rv.dist+dV+dux-dvy, ru.svc+ds, rv.svc-ds,
			func() float64 { m := in.merge(pu.fw, in.nodeSeg(v.c)); return in.excessInsert(&m, y.c, &xx.bw) },
			func() float64 { m := in.merge(pv.fw, in.nodeSeg(u.c)); return in.excessInsert(&m, x.c, &yy.bw) }); !ok {
			return false
		}
	} else if u.pos < v.pos {
		if !ls.intraDelta(dU+dV, pu, yy, span{a: v, b: y}, span{a: xx, b: pv}, span{a: u, b: x}) {
			return false
		}
	} else if !ls.intraDelta(dU+dV, pv, xx, span{a: u, b: x}, span{a: yy, b: pu}, span{a: v, b: y}) {
		return false
	}
	ru, rv := ls.ru, ls.rv
	swapNodes(u, v)
	swapNodes(x, y)
	ls.applied(ru, rv)
	return true
}

// move7 is 2-OPT within a route: reverse x..v (u before v).
func (ls *localSearch) move7() bool {
	u, x, v, y := ls.u, ls.x, ls.v, ls.y
	if v.depot || u.pos >= v.pos || x == v {
		return false
	}
	dd := ls.d(u, v) + ls.d(x, y) - ls.d(u, x) - ls.d(v, y) + (v.cumRev - x.cumRev) - (v.cumDist - x.cumDist)
	if !ls.intraDelta(dd, u, y, span{a: v, b: x, rev: true}) {
		return false
	}
	// Reverse the links between x and v.
	w := x.next
	x.prev, x.next = w, y
	for w != v {
		nx := w.next
		w.next, w.prev = w.prev, nx
		w = nx
	}
	v.next, v.prev = v.prev, u
	u.next = v
	y.prev = x
	ls.applied(ls.ru, ls.ru)
	return true
}

// move8 is 2-OPT* joining u to v reversed: routes become depot..u,v..depot
// (reversed prefix of v) and depot..x (reversed suffix of u),y..depot.
func (ls *localSearch) move8() bool {
	u, x, v, y := ls.u, ls.x, ls.v, ls.y
	ru, rv := ls.ru, ls.rv
	in := ls.in
	newA := u.cumDist + ls.d(u, v) + v.cumRev
	newB := (ru.end.cumRev - x.cumRev) + ls.d(x, y) + (rv.dist - y.cumDist)
	dd := newA + newB - ru.dist - rv.dist
	if _, ok := ls.interDelta(dd, u.cumLoad+v.cumLoad, ru.load-u.cumLoad+rv.load-v.cumLoad,
		newA, newB, u.cumSvc+v.cumSvc, ru.svc-u.cumSvc+rv.svc-v.cumSvc,
		func() float64 { // depot..u, v..first customer, depot
			end := in.nodeSeg(0)
			if v.depot {
				return in.excess2(&u.fw, &end)
			}
			m := in.merge(u.fw, v.rpre)
			return in.excess2(&m, &end)
		},
		func() float64 { // depot, last customer..x, y..depot
			if x.depot {
				start := in.nodeSeg(0)
				return in.excess2(&start, &y.bw)
			}
			m := in.merge(in.nodeSeg(0), x.rsuf)
			return in.excess2(&m, &y.bw)
		}); !ok {
		return false
	}
	a, b := ls.bufA[:0], ls.bufB[:0]
	for w := ru.depot.next; w != x; w = w.next {
		a = append(a, w)
	}
	for w := v; !w.depot; w = w.prev {
		a = append(a, w)
	}
	for w := ru.end.prev; w != u; w = w.prev {
		b = append(b, w)
	}
	for w := y; !w.depot; w = w.next {
		b = append(b, w)
	}
	relink(ru, a)
	relink(rv, b)
	ls.bufA, ls.bufB = a[:0], b[:0]
	ls.applied(ru, rv)
	return true
}

// move9 is 2-OPT*: routes become depot..u,y..depot and depot..v,x..depot.
func (ls *localSearch) move9() bool {
	u, x, v, y := ls.u, ls.x, ls.v, ls.y
	ru, rv := ls.ru, ls.rv
	in := ls.in
	newA := u.cumDist + ls.d(u, y) + rv.dist - y.cumDist
	newB := v.cumDist + ls.d(v, x) + ru.dist - x.cumDist
	dd := newA + newB - ru.dist - rv.dist
	if _, ok := ls.interDelta(dd, u.cumLoad+rv.load-v.cumLoad, v.cumLoad+ru.load-u.cumLoad,
		newA, newB, u.cumSvc+rv.svc-v.cumSvc, v.cumSvc+ru.svc-u.cumSvc,
		func() float64 { return in.excess2(&u.fw, &y.bw) },
		func() float64 { return in.excess2(&v.fw, &x.bw) }); !ok {
		return false
	}
	a, b := ls.bufA[:0], ls.bufB[:0]
	for w := ru.depot.next; w != x; w = w.next {
		a = append(a, w)
	}
	for w := y; !w.depot; w = w.next {
		a = append(a, w)
	}
	for w := rv.depot.next; w != y; w = w.next {
		b = append(b, w)
	}
	for w := x; !w.depot; w = w.next {
		b = append(b, w)
	}
	relink(ru, a)
	relink(rv, b)
	ls.bufA, ls.bufB = a[:0], b[:0]
	ls.applied(ru, rv)
	return true
}
