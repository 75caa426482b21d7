package route

import (
	"cmp"
	"math"
	"slices"
)

// fleetModel is a FleetProblem laid out for the evaluator: visits and
// vehicles in flat structs, and the facility legs of every visit
// precomputed so that timing a route reads the big matrices only for the
// arcs between consecutive visits, which routes cache.
type fleetModel struct {
	p      *FleetProblem
	n      int
	dc, tc float64
	vis    []fvisit
	veh    []fvehicle
	fac    []Facility
	nf     int
	// toF*[v*nf+f] are the legs from visit v to facility f, fromF*[f*nv+v]
	// from facility f to visit v, endF*[k*nf+f] from facility f to vehicle
	// k's End.
	toFD, toFT, fromFD, fromFT, endFD, endFT []float64
	// The insertion estimates read, for each leg, DistCost*Dist +
	// TimeCost*Time and then Time, in single precision: one memory access
	// per leg. Legs between visits are in out (by leaving visit) and in
	// (by reached visit; nil beyond fleetTransposeMax visits), whose rows
	// and columns follow rank, a Hilbert order of the visits when they
	// have coordinates: a visit's legs to and from those near it, which
	// insertions read, then share cache lines and pages. startCT and endCT hold the legs from each
	// vehicle's Start and to its End, by visit.
	rank                    []int32
	out, in, startCT, endCT []float32
}

// fleetTransposeMax is the most visits for which the model keeps in, the
// transposed copy of out: beyond it the memory (8 bytes per pair of
// visits) outweighs the faster reads, and the legs into a visit are read
// from out.
const fleetTransposeMax = 4000

type fvisit struct {
	node       int32
	veh        int32 // -1: any
	dem, svc   float64
	ready, due float64 // due +Inf when no window
	prize      float64
	optional   bool
}

type fvehicle struct {
	start, end   int32
	cap, ss, se  float64
	breakAt, brk float64 // break due once the clock passes breakAt (ShiftStart+BreakAfter); brk 0: none
	facs         []int32
}

func newFleetModel(p *FleetProblem) *fleetModel {
	m := &fleetModel{p: p, n: p.N, dc: p.DistCost, tc: p.TimeCost, fac: p.Facilities, nf: len(p.Facilities)}
	if m.dc == 0 && m.tc == 0 {
		m.dc = 1
	}
	nv, nf, n := len(p.Visits), m.nf, p.N
	m.rank = hilbertRanks(p)
	m.out = make([]float32, 2*nv*nv)
	if nv <= fleetTransposeMax {
		m.in = make([]float32, 2*nv*nv)
	}
	for a, va := range p.Visits {
		ra := int(m.rank[a])
		for b, vb := range p.Visits {
			i := va.Node*n + vb.Node
			c, t := float32(m.dc*p.Dist[i]+m.tc*p.Time[i]), float32(p.Time[i])
			o := 2 * (ra*nv + int(m.rank[b]))
			m.out[o], m.out[o+1] = c, t
		}
	}
	for b, vb := range p.Visits {
		if m.in == nil {
			break
		}
		rb := int(m.rank[b])
		for a, va := range p.Visits {
			i := va.Node*n + vb.Node
			o := 2 * (rb*nv + int(m.rank[a]))
			m.in[o], m.in[o+1] = float32(m.dc*p.Dist[i]+m.tc*p.Time[i]), float32(p.Time[i])
		}
	}
	m.startCT, m.endCT = make([]float32, 2*len(p.Vehicles)*nv), make([]float32, 2*len(p.Vehicles)*nv)
	for k, v := range p.Vehicles {
		for c, vc := range p.Visits {
			i, j, o := v.Start*n+vc.Node, vc.Node*n+v.End, 2*(k*nv+c)
			m.startCT[o], m.startCT[o+1] = float32(m.dc*p.Dist[i]+m.tc*p.Time[i]), float32(p.Time[i])
			m.endCT[o], m.endCT[o+1] = float32(m.dc*p.Dist[j]+m.tc*p.Time[j]), float32(p.Time[j])
		}
	}
	m.vis = make([]fvisit, nv)
	for i, v := range p.Visits {
		due := v.Due
		if due == 0 {
			due = math.Inf(1)
		}
		m.vis[i] = fvisit{node: int32(v.Node), veh: int32(v.Vehicle - 1), dem: v.Demand, svc: v.Service,
			ready: v.Ready, due: due, prize: v.Prize, optional: v.Optional}
	}
	m.veh = make([]fvehicle, len(p.Vehicles))
	for k, v := range p.Vehicles {
		fv := fvehicle{start: int32(v.Start), end: int32(v.End), cap: v.Capacity, ss: v.ShiftStart, se: v.ShiftEnd,
			breakAt: v.ShiftStart + v.BreakAfter, brk: v.BreakLength}
		if v.Facilities == nil {
			for f := range nf {
				fv.facs = append(fv.facs, int32(f))
			}
		} else {
			for _, f := range v.Facilities {
				fv.facs = append(fv.facs, int32(f))
			}
		}
		m.veh[k] = fv
	}
	m.toFD, m.toFT = make([]float64, nv*nf), make([]float64, nv*nf)
	m.fromFD, m.fromFT = make([]float64, nv*nf), make([]float64, nv*nf)
	for f, fc := range p.Facilities {
		for i, v := range p.Visits {
			m.toFD[i*nf+f] = p.Dist[v.Node*n+fc.Node]
			m.toFT[i*nf+f] = p.Time[v.Node*n+fc.Node]
			m.fromFD[f*nv+i] = p.Dist[fc.Node*n+v.Node]
			m.fromFT[f*nv+i] = p.Time[fc.Node*n+v.Node]
		}
	}
	m.endFD, m.endFT = make([]float64, len(p.Vehicles)*nf), make([]float64, len(p.Vehicles)*nf)
	for k, v := range p.Vehicles {
		for f, fc := range p.Facilities {
			m.endFD[k*nf+f] = p.Dist[fc.Node*n+v.End]
			m.endFT[k*nf+f] = p.Time[fc.Node*n+v.End]
		}
	}
	return m
}

// arc returns the distance and time from a to b, where -1 stands for
// vehicle k's Start (as a) or End (as b).
func (m *fleetModel) arc(k int, a, b int32) (float64, float64) {
	var na, nb int
	if a < 0 {
		na = int(m.veh[k].start)
	} else {
		na = int(m.vis[a].node)
	}
	if b < 0 {
		nb = int(m.veh[k].end)
	} else {
		nb = int(m.vis[b].node)
	}
	i := na*m.n + nb
	return m.p.Dist[i], m.p.Time[i]
}

// costArc is the cost and the time of the leg from a to b in single
// precision, with -1 standing for vehicle k's Start (as a) or End (as b).
// It reads the row of the visit `at` (a or b), which the caller keeps the
// same over many calls.
func (m *fleetModel) costArc(k int, a, b int32, at int32) (float64, float64) {
	nv := len(m.vis)
	var i int
	switch {
	case a < 0:
		i = 2 * (k*nv + int(b))
		return float64(m.startCT[i]), float64(m.startCT[i+1])
	case b < 0:
		i = 2 * (k*nv + int(a))
		return float64(m.endCT[i]), float64(m.endCT[i+1])
	case at == b && m.in != nil:
		i = 2 * (int(m.rank[b])*nv + int(m.rank[a]))
		return float64(m.in[i]), float64(m.in[i+1])
	}
	i = 2 * (int(m.rank[a])*nv + int(m.rank[b]))
	return float64(m.out[i]), float64(m.out[i+1])
}

// hilbertRanks orders p's visits along a Hilbert curve over their
// coordinates (by index without them; see locality.go): rank[v] is v's
// place.
func hilbertRanks(p *FleetProblem) []int32 {
	nv := len(p.Visits)
	rank := make([]int32, nv)
	order := make([]int32, nv)
	for i := range order {
		order[i] = int32(i)
	}
	if p.X != nil && nv > 0 {
		minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, v := range p.Visits {
			minX, maxX = min(minX, p.X[v.Node]), max(maxX, p.X[v.Node])
			minY, maxY = min(minY, p.Y[v.Node]), max(maxY, p.Y[v.Node])
		}
		const side = 1 << 16
		scale := (side - 1) / max(maxX-minX, maxY-minY, 1e-9)
		key := make([]uint64, nv)
		for i, v := range p.Visits {
			key[i] = hilbert(side, uint32((p.X[v.Node]-minX)*scale), uint32((p.Y[v.Node]-minY)*scale))
		}
		slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(key[a], key[b]) })
	}
	for r, v := range order {
		rank[v] = int32(r)
	}
	return rank
}

// legs is a visit sequence on one vehicle with what timing it needs from
// the matrices, cached so that a change reads them only where it changes
// the sequence: ad[i] and at[i] lead to seq[i] (from Start when i is 0) and
// ad[len(seq)] from the last visit to End; det[j] is the cheapest detour
// through a facility at the boundary after seq[j-1], by facility fpk[j]
// (det[0] is unused).
type legs struct {
	seq    []int32
	ad, at []float64
	det    []float64
	fpk    []int32
}

func (l *legs) copyFrom(o *legs) {
	l.seq = append(l.seq[:0], o.seq...)
	l.ad = append(l.ad[:0], o.ad...)
	l.at = append(l.at[:0], o.at...)
	l.det = append(l.det[:0], o.det...)
	l.fpk = append(l.fpk[:0], o.fpk...)
}

// build fills l's caches for l.seq on vehicle k.
func (m *fleetModel) build(k int, l *legs) {
	l.ad, l.at, l.det, l.fpk = l.ad[:0], l.at[:0], l.det[:0], l.fpk[:0]
	prev := int32(-1)
	for _, v := range l.seq {
		d, t := m.arc(k, prev, v)
		l.ad, l.at = append(l.ad, d), append(l.at, t)
		prev = v
	}
	d, t := m.arc(k, prev, -1)
	l.ad, l.at = append(l.ad, d), append(l.at, t)
	l.det, l.fpk = append(l.det, 0), append(l.fpk, -1)
	for j := 1; j <= len(l.seq); j++ {
		next := int32(-1)
		if j < len(l.seq) {
			next = l.seq[j]
		}
		det, f := m.detour(k, l.seq[j-1], next, m.dc*l.ad[j]+m.tc*l.at[j])
		l.det, l.fpk = append(l.det, det), append(l.fpk, f)
	}
}

// filter makes dst src without the visits at the positions drop marks,
// reading the matrices only for the legs that change.
func (m *fleetModel) filter(k int, src *legs, drop []bool, dst *legs) {
	dst.seq, dst.ad, dst.at, dst.det, dst.fpk = dst.seq[:0], dst.ad[:0], dst.at[:0], dst.det[:0], dst.fpk[:0]
	dst.det, dst.fpk = append(dst.det, 0), append(dst.fpk, -1)
	last := -1 // old position of the last visit kept
	for i, c := range src.seq {
		if drop[i] {
			continue
		}
		if last == i-1 {
			dst.ad, dst.at = append(dst.ad, src.ad[i]), append(dst.at, src.at[i])
		} else {
			prev := int32(-1)
			if last >= 0 {
				prev = src.seq[last]
			}
			d, t := m.arc(k, prev, c)
			dst.ad, dst.at = append(dst.ad, d), append(dst.at, t)
		}
		if last >= 0 {
			m.appendDetour(k, src, dst, last, i)
		}
		dst.seq = append(dst.seq, c)
		last = i
	}
	n := len(src.seq)
	if last == n-1 {
		dst.ad, dst.at = append(dst.ad, src.ad[n]), append(dst.at, src.at[n])
	} else {
		prev := int32(-1)
		if last >= 0 {
			prev = src.seq[last]
		}
		d, t := m.arc(k, prev, -1)
		dst.ad, dst.at = append(dst.ad, d), append(dst.at, t)
	}
	if last >= 0 {
		m.appendDetour(k, src, dst, last, n)
	}
}

// appendDetour appends to dst the detour between src's visits at old
// positions a and b (b past the end for End), whose direct leg is dst's
// last.
func (m *fleetModel) appendDetour(k int, src, dst *legs, a, b int) {
	if b == a+1 {
		dst.det, dst.fpk = append(dst.det, src.det[b]), append(dst.fpk, src.fpk[b])
		return
	}
	next := int32(-1)
	if b < len(src.seq) {
		next = src.seq[b]
	}
	j := len(dst.ad) - 1
	det, f := m.detour(k, src.seq[a], next, m.dc*dst.ad[j]+m.tc*dst.at[j])
	dst.det, dst.fpk = append(dst.det, det), append(dst.fpk, f)
}

// withInsert makes dst src with c inserted at position i, where d1, t1
// lead to c and d2, t2 on from it.
func (m *fleetModel) withInsert(k int, src *legs, i int, c int32, d1, t1, d2, t2 float64, dst *legs) {
	dst.seq = append(append(append(dst.seq[:0], src.seq[:i]...), c), src.seq[i:]...)
	dst.ad = append(append(append(dst.ad[:0], src.ad[:i]...), d1, d2), src.ad[i+1:]...)
	dst.at = append(append(append(dst.at[:0], src.at[:i]...), t1, t2), src.at[i+1:]...)
	next := int32(-1)
	if i < len(src.seq) {
		next = src.seq[i]
	}
	det1, f1 := 0.0, int32(-1)
	if i > 0 {
		det1, f1 = m.detour(k, src.seq[i-1], c, m.dc*d1+m.tc*t1)
	}
	det2, f2 := m.detour(k, c, next, m.dc*d2+m.tc*t2)
	dst.det = append(append(append(dst.det[:0], src.det[:i]...), det1, det2), src.det[i+1:]...)
	dst.fpk = append(append(append(dst.fpk[:0], src.fpk[:i]...), f1, f2), src.fpk[i+1:]...)
}

// withRemove makes dst src without the visit at position i; d, t lead
// from its predecessor to its successor.
func (m *fleetModel) withRemove(k int, src *legs, i int, d, t float64, dst *legs) {
	dst.seq = append(append(dst.seq[:0], src.seq[:i]...), src.seq[i+1:]...)
	dst.ad = append(append(append(dst.ad[:0], src.ad[:i]...), d), src.ad[i+2:]...)
	dst.at = append(append(append(dst.at[:0], src.at[:i]...), t), src.at[i+2:]...)
	det, f := 0.0, int32(-1)
	if i > 0 {
		next := int32(-1)
		if i+1 < len(src.seq) {
			next = src.seq[i+1]
		}
		det, f = m.detour(k, src.seq[i-1], next, m.dc*d+m.tc*t)
	}
	dst.det = append(append(append(dst.det[:0], src.det[:i]...), det), src.det[i+2:]...)
	dst.fpk = append(append(append(dst.fpk[:0], src.fpk[:i]...), f), src.fpk[i+2:]...)
}

// scheduler times visit sequences. It owns scratch space, so one per
// goroutine.
type scheduler struct {
	m    *fleetModel
	g    []float64 // g[j]: cheapest detours for seq[:j] with an unload right after seq[j-1]
	pred []int32
	dq   []int32
	pre  []float64 // prefix loads
	unl  []bool
	// end and wait are the last route eval timed: its arrival at End and
	// the time it spent waiting for windows and opening hours.
	end, wait float64
	// With rec set, eval also records, for each position i of the
	// sequence, dep[i]: when the truck leaves the visit before it (Start
	// at ShiftStart for 0), and slack[i]: how much later it could reach
	// the next stop without breaking a window, the facility hours or the
	// shift (unloads and the break held where they are).
	rec        bool
	dep, slack []float64
	stW, stL   []float64 // per stop: waiting, and room before the latest start
	after      []int32   // first stop after dep[i]
	dpDone     bool      // the last placeUnloads ran the shortest path
	// With rec set, eval also records at each unload boundary j (the
	// unload after seq[j-1]) the state once the truck leaves the facility
	// (and takes the break if due there): the clock, the waiting and the
	// distance so far, whether the break is behind, the facility. A
	// route changed only from some position on is then timed again only
	// from the last unload both versions share (evalFrom).
	uT, uWait, uDist []float64
	uBrk             []bool
	uFac             []int32
	// With rec set, eval also records where the break was taken: at
	// boundary brkB (-1: not taken), after leaving the visit before it
	// or the unload there; lastChk is the latest clock at which the break
	// was not yet due (-Inf if none), and wsuf[i] the waiting at the stops
	// after dep[i], all of them: a delay reaching them is absorbed up to
	// that much before the arrival at End.
	brkB    int32
	lastChk float64
	wsuf    []float64
}

// schedCache is what eval recorded for a route, for evalFrom: the prefix
// loads, the unload shortest path (g, pred, unl) and the states after the
// unloads, all indexed by boundary.
type schedCache struct {
	pre, g           []float64
	pred             []int32
	unl              []bool
	uT, uWait, uDist []float64
	uBrk             []bool
	uFac             []int32
	valid            bool // g and pred hold (a route with any load)
}

func (c *schedCache) copyFrom(o *schedCache) {
	c.pre = append(c.pre[:0], o.pre...)
	c.g = append(c.g[:0], o.g...)
	c.pred = append(c.pred[:0], o.pred...)
	c.unl = append(c.unl[:0], o.unl...)
	c.uT = append(c.uT[:0], o.uT...)
	c.uWait = append(c.uWait[:0], o.uWait...)
	c.uDist = append(c.uDist[:0], o.uDist...)
	c.uBrk = append(c.uBrk[:0], o.uBrk...)
	c.uFac = append(c.uFac[:0], o.uFac...)
	c.valid = o.valid
}

// record saves what the last eval, run with rec, found.
func (s *scheduler) record(n int, c *schedCache) {
	c.pre = append(c.pre[:0], s.pre[:n+1]...)
	c.g = append(c.g[:0], s.g[:n+1]...)
	c.pred = append(c.pred[:0], s.pred[:n+1]...)
	c.unl = append(c.unl[:0], s.unl[:n+1]...)
	c.uT = append(c.uT[:0], s.uT[:n+1]...)
	c.uWait = append(c.uWait[:0], s.uWait[:n+1]...)
	c.uDist = append(c.uDist[:0], s.uDist[:n+1]...)
	c.uBrk = append(c.uBrk[:0], s.uBrk[:n+1]...)
	c.uFac = append(c.uFac[:0], s.uFac[:n+1]...)
	c.valid = s.dpDone
}

func newScheduler(m *fleetModel) *scheduler { return &scheduler{m: m} }

func (s *scheduler) grow(n int) {
	if cap(s.g) < n {
		s.g = make([]float64, n)
		s.pred = make([]int32, n)
		s.dq = make([]int32, n)
		s.pre = make([]float64, n)
		s.unl = make([]bool, n)
		s.uT, s.uWait, s.uDist = make([]float64, n), make([]float64, n), make([]float64, n)
		s.uBrk, s.uFac = make([]bool, n), make([]int32, n)
	}
	s.g, s.pred, s.dq, s.pre, s.unl = s.g[:n], s.pred[:n], s.dq[:n], s.pre[:n], s.unl[:n]
}

// detour is the extra cost of driving from visit a to a facility and on
// to next (a visit, or -1 for End) instead of straight there, and the
// facility that achieves it (-1 if the vehicle may use none).
func (m *fleetModel) detour(k int, a, next int32, direct float64) (float64, int32) {
	best, bf := math.Inf(1), int32(-1)
	nv := len(m.vis)
	for _, f := range m.veh[k].facs {
		i := int(a)*m.nf + int(f)
		var d, t float64
		if next < 0 {
			j := k*m.nf + int(f)
			d, t = m.toFD[i]+m.endFD[j], m.toFT[i]+m.endFT[j]
		} else {
			j := int(f)*nv + int(next)
			d, t = m.toFD[i]+m.fromFD[j], m.toFT[i]+m.fromFT[j]
		}
		if c := m.dc*d + m.tc*(t+m.fac[f].Unload); c < best {
			best, bf = c, f
		}
	}
	return best - direct, bf
}

// placeUnloadsFrom chooses after which visits of seq vehicle k unloads: the
// cheapest set of detours that keeps every trip within capacity and
// leaves the truck empty at the end. It is a shortest path over the
// boundaries between visits, linear with a sliding-window minimum since
// a trip may start at any boundary whose load since is within capacity.
// It fills s.unl and reports false when a single visit does not fit or a
// load cannot be unloaded. With base, it serves a sequence that agrees with the
// one base was recorded for on its first from visits and the boundaries
// between them: the shortest path is computed again only from there. It
// also returns the last unload boundary (0 for the start) before from
// that both sequences' plans share, from where timing may resume.
func (s *scheduler) placeUnloadsFrom(k int, l *legs, base *schedCache, from int) (bool, int) {
	m := s.m
	seq := l.seq
	v := &m.veh[k]
	nseq := len(seq)
	s.grow(nseq + 1)
	s.dpDone = false
	if base == nil || !base.valid || from < 1 {
		from = 0
		base = nil
	}
	if base != nil {
		copy(s.pre[:from+1], base.pre[:from+1])
	} else {
		s.pre[0] = 0
	}
	for j := from; j < nseq; j++ {
		d := m.vis[seq[j]].dem
		if d > v.cap {
			return false, 0
		}
		s.pre[j+1] = s.pre[j] + d
	}
	clear(s.unl[:nseq+1])
	if s.pre[nseq] == 0 {
		return true, 0
	}
	if len(v.facs) == 0 {
		return false, 0
	}
	g, pred, dq := s.g, s.pred, s.dq
	g[0] = 0
	head, tail := 0, 0
	lo := 0
	first := 1
	if base != nil {
		// g and pred hold up to boundary from-1; rebuild the window
		// of trip starts that boundary from sees, but its last.
		first = from
		copy(g[:from], base.g[:from])
		copy(pred[:from], base.pred[:from])
		lo = from - 1
		for lo > 0 && s.pre[from]-s.pre[lo-1] <= v.cap+1e-9 {
			lo--
		}
		for b := lo; b < from-1; b++ {
			for tail > head && g[dq[tail-1]] >= g[b] {
				tail--
			}
			dq[tail] = int32(b)
			tail++
		}
	}
	for j := first; j <= nseq; j++ {
		// candidate trip starts: boundaries lo..j-1
		for tail > head && g[dq[tail-1]] >= g[j-1] {
			tail--
		}
		dq[tail] = int32(j - 1)
		tail++
		for s.pre[j]-s.pre[lo] > v.cap+1e-9 {
			lo++
		}
		for int(dq[head]) < lo {
			head++
		}
		g[j] = l.det[j] + g[dq[head]]
		pred[j] = dq[head]
	}
	s.dpDone = true
	// The last unload may come before a tail of empty-handed visits.
	end := nseq
	for j := nseq - 1; j >= 1 && s.pre[j] == s.pre[nseq]; j-- {
		if g[j] < g[end] {
			end = j
		}
	}
	j := end
	for ; j > 0; j = int(pred[j]) {
		if j < from && base.unl[j] {
			// From here down the plans agree.
			copy(s.unl[:j+1], base.unl[:j+1])
			return true, j
		}
		s.unl[j] = true
	}
	return true, 0
}

// eval times l's visits on vehicle k and returns its cost (DistCost*distance + TimeCost*duration)
// and whether every constraint holds. With out nil it stops at the first
// violation; otherwise it times the whole route into out.
func (s *scheduler) eval(k int, l *legs, out *FleetRoute) (float64, bool) {
	return s.evalFrom(k, l, nil, 0, out)
}

// evalFrom is eval for a sequence that agrees with the one base was
// recorded for on its first from visits and the boundaries between them
// (base nil: none): it places the unloads again only from from, and times
// the route again only from the last unload the two share. With out it
// does both over the whole route; with rec it times the whole route.
func (s *scheduler) evalFrom(k int, l *legs, base *schedCache, from int, out *FleetRoute) (float64, bool) {
	if out != nil {
		base = nil
	}
	seq, ad, at := l.seq, l.ad, l.at
	if len(seq) == 0 {
		if out != nil {
			*out = FleetRoute{}
		}
		s.end, s.wait = s.m.veh[k].ss, 0
		if s.rec {
			s.dep, s.slack = append(s.dep[:0], s.end), append(s.slack[:0], s.m.veh[k].se-s.end)
			s.wsuf = append(s.wsuf[:0], 0)
			s.brkB, s.lastChk = -1, math.Inf(-1)
		}
		return 0, true
	}
	ok, resume := s.placeUnloadsFrom(k, l, base, from)
	if !ok {
		return math.Inf(1), false
	}
	if s.rec {
		resume = 0 // the profile is recorded from the start
	}
	m := s.m
	v := &m.veh[k]
	nv := len(m.vis)
	t := v.ss
	wait := 0.0
	dist := 0.0
	load := 0.0
	brk := v.brk == 0
	var stops []FleetStop
	if out != nil {
		stops = out.Stops[:0]
	}
	rec := s.rec
	bnd := int32(0) // the boundary the truck is at
	if rec {
		s.dep, s.slack, s.stW, s.stL, s.after = s.dep[:0], s.slack[:0], s.stW[:0], s.stL[:0], s.after[:0]
		s.dep, s.after = append(s.dep, t), append(s.after, 0)
		s.brkB, s.lastChk = -1, math.Inf(-1)
	}
	takeBreak := func() {
		if !brk && rec && t < v.breakAt {
			s.lastChk = t
		}
		if !brk && t >= v.breakAt {
			brk = true
			if rec {
				s.stW, s.stL = append(s.stW, 0), append(s.stL, math.Inf(1))
				s.brkB = bnd
			}
			if out != nil {
				stops = append(stops, FleetStop{Kind: StopBreak, Index: -1, Arrive: t, Start: t, Depart: t + v.brk, LoadBefore: load, LoadAfter: load})
			}
			t += v.brk
		}
	}
	var fromFac int32 = -1 // the facility just left, if any
	if resume > 0 {
		t, wait, dist, brk, fromFac = base.uT[resume], base.uWait[resume], base.uDist[resume], base.uBrk[resume], base.uFac[resume]
	} else {
		takeBreak()
	}
	for j := resume; j < len(seq); j++ {
		c := seq[j]
		vc := &m.vis[c]
		var d, tt float64
		if fromFac >= 0 {
			i := int(fromFac)*nv + int(c)
			d, tt = m.fromFD[i], m.fromFT[i]
		} else {
			d, tt = ad[j], at[j]
		}
		arrive := t + tt
		start := max(arrive, vc.ready)
		wait += start - arrive
		if rec {
			s.stW, s.stL = append(s.stW, start-arrive), append(s.stL, vc.due-start)
		}
		if start > vc.due+1e-9 {
			ok = false
			if out == nil {
				return math.Inf(1), false
			}
		}
		dist += d
		t = start + vc.svc
		if out != nil {
			stops = append(stops, FleetStop{Kind: StopVisit, Index: int(c), Arrive: arrive, Start: start, Depart: t,
				LoadBefore: load, LoadAfter: load + vc.dem, Distance: d})
		}
		load += vc.dem
		fromFac = -1
		if rec {
			s.dep, s.after = append(s.dep, t), append(s.after, int32(len(s.stW)))
		}
		bnd = int32(j + 1)
		takeBreak()
		if !s.unl[j+1] {
			continue
		}
		f := l.fpk[j+1]
		if fc := m.fac[f]; max(t+m.toFT[int(c)*m.nf+int(f)], fc.Open) > fc.Close+1e-9 {
			// The cheapest facility is closed by then: take the cheapest open one.
			f = s.openFacility(k, c, int32(j+1), seq, t)
			if f < 0 {
				ok = false
				if out == nil {
					return math.Inf(1), false
				}
				f = l.fpk[j+1]
			}
		}
		fc := m.fac[f]
		i := int(c)*m.nf + int(f)
		arrive = t + m.toFT[i]
		start = max(arrive, fc.Open)
		wait += start - arrive
		if rec {
			s.stW, s.stL = append(s.stW, start-arrive), append(s.stL, fc.Close-start)
		}
		dist += m.toFD[i]
		t = start + fc.Unload
		if out != nil {
			stops = append(stops, FleetStop{Kind: StopFacility, Index: int(f), Arrive: arrive, Start: start, Depart: t,
				LoadBefore: load, Distance: m.toFD[i]})
		}
		load = 0
		fromFac = f
		takeBreak()
		if rec {
			s.uT[j+1], s.uWait[j+1], s.uDist[j+1], s.uBrk[j+1], s.uFac[j+1] = t, wait, dist, brk, f
		}
	}
	var d, tt float64
	if fromFac >= 0 {
		i := k*m.nf + int(fromFac)
		d, tt = m.endFD[i], m.endFT[i]
	} else {
		d, tt = ad[len(seq)], at[len(seq)]
	}
	dist += d
	t += tt
	if t > v.se+1e-9 {
		ok = false
	}
	if out != nil {
		stops = append(stops, FleetStop{Kind: StopEnd, Index: -1, Arrive: t, Start: t, Depart: t, LoadBefore: load, LoadAfter: load, Distance: d})
		*out = FleetRoute{Stops: stops, Distance: dist, Duration: t - v.ss}
	}
	if !ok {
		return math.Inf(1), false
	}
	s.end, s.wait = t, wait
	if rec {
		// Backwards: a delay reaching a stop is absorbed by its waiting,
		// and what is left must fit its window and everything after.
		s.stW, s.stL = append(s.stW, 0), append(s.stL, v.se-t)
		room, w := math.Inf(1), 0.0
		for j := len(s.stW) - 1; j >= 0; j-- {
			room = s.stW[j] + min(s.stL[j], room)
			s.stL[j] = room
			w += s.stW[j]
			s.stW[j] = w
		}
		s.wsuf = s.wsuf[:0]
		for _, a := range s.after {
			s.slack = append(s.slack, s.stL[a])
			s.wsuf = append(s.wsuf, s.stW[a])
		}
	}
	return m.dc*dist + m.tc*(t-v.ss), true
}

// openFacility returns the cheapest facility vehicle k may use that is
// open when the truck, leaving visit c at time t, gets there; -1 if none.
func (s *scheduler) openFacility(k int, c, boundary int32, seq []int32, t float64) int32 {
	m := s.m
	next := int32(-1)
	if int(boundary) < len(seq) {
		next = seq[boundary]
	}
	nv := len(m.vis)
	best, bf := math.Inf(1), int32(-1)
	for _, f := range m.veh[k].facs {
		i := int(c)*m.nf + int(f)
		fc := m.fac[f]
		if max(t+m.toFT[i], fc.Open) > fc.Close+1e-9 {
			continue
		}
		var d, tt float64
		if next < 0 {
			j := k*m.nf + int(f)
			d, tt = m.toFD[i]+m.endFD[j], m.toFT[i]+m.endFT[j]
		} else {
			j := int(f)*nv + int(next)
			d, tt = m.toFD[i]+m.fromFD[j], m.toFT[i]+m.fromFT[j]
		}
		if cost := m.dc*d + m.tc*(tt+fc.Unload); cost < best {
			best, bf = cost, f
		}
	}
	return bf
}

// Schedule times the given visits, in this order, on vehicle k (an index
// into Vehicles): it leaves Start at ShiftStart, waits at bins that are
// not ready yet, unloads at facilities so that no bin overflows the truck
// (at the cheapest points that achieve it) and once more before going back
// to End empty, and takes the break at the first stop boundary once it is
// due. It reports false, with the route timed as far as possible, when a
// constraint does not hold: a window, the facility hours, the shift end, a
// visit pinned to another vehicle, a repeated visit or a bin larger than
// the truck. p must be valid (see Validate).
func (p *FleetProblem) Schedule(vehicle int, visits []int) (FleetRoute, bool) {
	if vehicle < 0 || vehicle >= len(p.Vehicles) {
		return FleetRoute{}, false
	}
	seen := make(map[int]bool, len(visits))
	seq := make([]int32, len(visits))
	ok := true
	for i, v := range visits {
		if v < 0 || v >= len(p.Visits) {
			return FleetRoute{}, false
		}
		if seen[v] || (p.Visits[v].Vehicle > 0 && p.Visits[v].Vehicle-1 != vehicle) {
			ok = false
		}
		seen[v] = true
		seq[i] = int32(v)
	}
	m := newFleetModel(p)
	s := newScheduler(m)
	l := &legs{seq: seq}
	m.build(vehicle, l)
	var r FleetRoute
	_, feasible := s.eval(vehicle, l, &r)
	return r, ok && feasible
}
