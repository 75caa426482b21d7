package route

import (
	"math"
	"sort"
)

// Selective route exchange crossover (SREX; Nagata and Kobayashi 2010, as
// used for time windows by Kool et al. 2022): a run of routes of parent A,
// adjacent in polar order, is replaced by the run of parent B's routes that
// overlaps it most. Two children are built: one drops from B's routes the
// customers A's other routes already visit, the other drops them from A's
// routes; in both, customers of A's run that B's run lacks are put back by
// greedy insertion next to their granular neighbours. The cheaper child is
// kept. Unlike ordered crossover and split, SREX keeps whole routes, which
// with time windows are hard to rebuild from a giant tour, and the child
// stays close to its parents, so its local search converges quickly.

// srexer holds SREX's buffers; one belongs to a search thread.
type srexer struct {
	in      *instance
	inA     []bool // customer is in A's selected routes
	inB     []bool // customer is in B's selected routes
	routeOf []int32
	posOf   []int32
	fw, bw  [][]tseg
	load    []int
	missing []int32
	cand    [2][][]int32
	orderA  []int
	orderB  []int
	angle   []float64
}

func newSrexer(in *instance) *srexer {
	return &srexer{
		in:      in,
		inA:     make([]bool, in.n),
		inB:     make([]bool, in.n),
		routeOf: make([]int32, in.n),
		posOf:   make([]int32, in.n),
	}
}

// polarOrder returns the indices of routes sorted by the polar angle of
// their barycentre (their order when there are no coordinates).
func (s *srexer) polarOrder(routes [][]int32, buf []int) []int {
	in := s.in
	buf = buf[:0]
	s.angle = s.angle[:0]
	for i, r := range routes {
		buf = append(buf, i)
		a := float64(i)
		if in.hasCoords && len(r) > 0 {
			var sx, sy float64
			for _, c := range r {
				sx += in.x[c]
				sy += in.y[c]
			}
			f := float64(len(r))
			a = math.Atan2(sy/f-in.y[0], sx/f-in.x[0])
		}
		s.angle = append(s.angle, a)
	}
	sort.SliceStable(buf, func(i, j int) bool { return s.angle[buf[i]] < s.angle[buf[j]] })
	return buf
}

// cross builds the child of a and b into routes and returns it. pick draws
// uniform integers in [0, n); w weighs the penalties of the greedy
// insertion and of the choice between the two children.
func (s *srexer) cross(a, b *individual, w penalties, pick func(n int) int, routes [][]int32) [][]int32 {
	in := s.in
	ra := nonEmpty(a.routes)
	rb := nonEmpty(b.routes)
	s.orderA = s.polarOrder(ra, s.orderA)
	s.orderB = s.polarOrder(rb, s.orderB)
	nA, nB := len(ra), len(rb)
	if nA == 0 || nB == 0 {
		return copyRoutes(routes, ra)
	}
	moved := 1 + pick(min(nA, nB))
	startA, startB := pick(nA), pick(nB)
	for c := range s.inA {
		s.inA[c], s.inB[c] = false, false
	}
	for k := 0; k < moved; k++ {
		for _, c := range ra[s.orderA[(startA+k)%nA]] {
			s.inA[c] = true
		}
	}
	// Slide B's run while that shrinks the symmetric difference.
	diff := func(start int) int {
		d := 0
		for k := 0; k < moved; k++ {
			for _, c := range rb[s.orderB[(start+k)%nB]] {
				if !s.inA[c] {
					d++
				} else {
					d--
				}
			}
		}
		return d // |B \ A| - |A ∩ B|, the difference up to a constant
	}
	best := diff(startB)
	for _, step := range []int{nB - 1, 1} {
		for tries := 0; tries < nB; tries++ {
			next := (startB + step) % nB
			d := diff(next)
			if d >= best {
				break
			}
			best, startB = d, next
		}
	}
	for k := 0; k < moved; k++ {
		for _, c := range rb[s.orderB[(startB+k)%nB]] {
			s.inB[c] = true
		}
	}
	selA := func(i int) bool { return (i-startA+nA)%nA < moved } // i is a position in orderA
	bestCost := math.Inf(1)
	bestK := 0
	for k := 0; k < 2; k++ {
		out := s.cand[k][:0]
		// A's routes outside the run; candidate 1 drops B's extra
		// customers from them.
		for i := 0; i < nA; i++ {
			if selA(i) {
				continue
			}
			var r []int32
			for _, c := range ra[s.orderA[i]] {
				if k == 1 && s.inB[c] {
					continue
				}
				r = append(r, c)
			}
			if len(r) > 0 {
				out = append(out, r)
			}
		}
		// B's run; candidate 0 keeps only the customers A's run has.
		for m := 0; m < moved; m++ {
			var r []int32
			for _, c := range rb[s.orderB[(startB+m)%nB]] {
				if k == 0 && !s.inA[c] {
					continue
				}
				r = append(r, c)
			}
			if len(r) > 0 {
				out = append(out, r)
			}
		}
		s.missing = s.missing[:0]
		for i := 0; i < moved; i++ {
			for _, c := range ra[s.orderA[(startA+i)%nA]] {
				if !s.inB[c] {
					s.missing = append(s.missing, c)
				}
			}
		}
		// Candidate 1 also lost B's extra customers from A's other routes,
		// but B's run still has them: nothing else is missing.
		out = s.insertGreedy(out, s.missing, w)
		s.cand[k] = out
		cost := 0.0
		for _, r := range out {
			d, load, ex := in.routeMeasure(r)
			cost += d + w.time*ex
			if load > in.capacity {
				cost += w.load * float64(load-in.capacity)
			}
		}
		if cost < bestCost {
			bestCost, bestK = cost, k
		}
	}
	return copyRoutes(routes, s.cand[bestK])
}

func nonEmpty(routes [][]int32) [][]int32 {
	out := routes[:0:0]
	for _, r := range routes {
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func copyRoutes(dst, src [][]int32) [][]int32 {
	for cap(dst) < len(src) {
		dst = append(dst[:cap(dst)], nil)
	}
	dst = dst[:len(src)]
	for i, r := range src {
		dst[i] = append(dst[i][:0], r...)
	}
	return dst
}

// prepare records route k's positions, load and time segments.
func (s *srexer) prepare(routes [][]int32, k int) {
	in := s.in
	r := routes[k]
	for len(s.fw) <= k {
		s.fw = append(s.fw, nil)
		s.bw = append(s.bw, nil)
		s.load = append(s.load, 0)
	}
	fw, bw := s.fw[k][:0], s.bw[k][:0]
	load := 0
	seg := in.nodeSeg(0)
	fw = append(fw, seg)
	for i, c := range r {
		s.routeOf[c], s.posOf[c] = int32(k), int32(i)
		load += in.demand[c]
		if in.timed {
			seg = in.merge(seg, in.nodeSeg(c))
			fw = append(fw, seg)
		}
	}
	if in.timed {
		bw = append(bw[:0], make([]tseg, len(r)+1)...)
		seg = in.nodeSeg(0)
		bw[len(r)] = seg
		for i := len(r) - 1; i >= 0; i-- {
			seg = in.merge(in.nodeSeg(r[i]), seg)
			bw[i] = seg
		}
	}
	s.fw[k], s.bw[k], s.load[k] = fw, bw, load
}

// insertCost is the change of penalised cost when c goes at position p of
// route k (before the customer now there).
func (s *srexer) insertCost(routes [][]int32, k, p int, c int32, w penalties) float64 {
	in := s.in
	r := routes[k]
	prev, next := int32(0), int32(0)
	if p > 0 {
		prev = r[p-1]
	}
	if p < len(r) {
		next = r[p]
	}
	dd := in.d(prev, c) + in.d(c, next) - in.d(prev, next)
	d := dd
	load := s.load[k]
	if over := load + in.demand[c] - in.capacity; over > 0 {
		d += w.load * float64(min(over, in.demand[c]))
	}
	if in.timed {
		old := in.timeExcess(in.merge(s.fw[k][len(r)], in.nodeSeg(0)))
		nw := in.timeExcess(in.merge(in.merge(s.fw[k][p], in.nodeSeg(c)), s.bw[k][p]))
		d += w.time * (nw - old)
	} else if in.hasDur {
		dist, _, ex := in.routeMeasure(r)
		svc := 0.0
		for _, x := range r {
			svc += in.service[x]
		}
		d += w.time * (in.simpleTimeExcess(dist+dd, svc+in.service[c]) - ex)
	}
	return d
}

// insertGreedy puts each customer of missing at its cheapest position next
// to one of its granular neighbours already placed, or alone in a new route
// when that is cheaper.
func (s *srexer) insertGreedy(routes [][]int32, missing []int32, w penalties) [][]int32 {
	return s.insertGreedyOpen(routes, missing, w, true)
}

// insertGreedyOpen is insertGreedy; without open it opens no route: a
// customer goes next to the cheapest of its placed neighbours, or, with
// none placed, at the cheapest position of any route (routes must not be
// empty).
func (s *srexer) insertGreedyOpen(routes [][]int32, missing []int32, w penalties, open bool) [][]int32 {
	in := s.in
	for c := range s.routeOf {
		s.routeOf[c] = -1
	}
	for k := range routes {
		s.prepare(routes, k)
	}
	for _, c := range missing {
		bestK, bestP := -1, 0
		best := math.Inf(1)
		if open {
			best = in.d(0, c) + in.d(c, 0)
			if in.timed {
				best += w.time * in.timeExcess(in.merge(in.merge(in.nodeSeg(0), in.nodeSeg(c)), in.nodeSeg(0)))
			}
		}
		for _, v := range in.neighbors[c] {
			k := s.routeOf[v]
			if k < 0 {
				continue
			}
			p := int(s.posOf[v])
			for _, q := range [2]int{p, p + 1} {
				if cost := s.insertCost(routes, int(k), q, c, w); cost < best {
					best, bestK, bestP = cost, int(k), q
				}
			}
		}
		if bestK < 0 && !open {
			for k := range routes {
				for q := 0; q <= len(routes[k]); q++ {
					if cost := s.insertCost(routes, k, q, c, w); cost < best {
						best, bestK, bestP = cost, k, q
					}
				}
			}
		}
		if bestK < 0 {
			routes = append(routes, []int32{c})
			s.prepare(routes, len(routes)-1)
			continue
		}
		r := routes[bestK]
		r = append(r, 0)
		copy(r[bestP+1:], r[bestP:])
		r[bestP] = c
		routes[bestK] = r
		s.prepare(routes, bestK)
	}
	return routes
}
