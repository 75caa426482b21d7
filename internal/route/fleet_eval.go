package route

import "math"

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
}

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

// arcs fills ad and at with the legs of seq on vehicle k: ad[i] leads to
// seq[i] (from Start when i is 0) and ad[len(seq)] from the last visit to End.
func (m *fleetModel) arcs(k int, seq []int32, ad, at []float64) ([]float64, []float64) {
	ad, at = ad[:0], at[:0]
	prev := int32(-1)
	for _, v := range seq {
		d, t := m.arc(k, prev, v)
		ad, at = append(ad, d), append(at, t)
		prev = v
	}
	d, t := m.arc(k, prev, -1)
	return append(ad, d), append(at, t)
}

// scheduler times visit sequences. It owns scratch space, so one per
// goroutine.
type scheduler struct {
	m     *fleetModel
	g     []float64 // g[j]: cheapest detours for seq[:j] with an unload right after seq[j-1]
	pred  []int32
	dq    []int32
	pre   []float64 // prefix loads
	fpick []int32   // facility of the cheapest detour at each boundary
	unl   []bool
}

func newScheduler(m *fleetModel) *scheduler { return &scheduler{m: m} }

func (s *scheduler) grow(n int) {
	if cap(s.g) < n {
		s.g = make([]float64, n)
		s.pred = make([]int32, n)
		s.dq = make([]int32, n)
		s.pre = make([]float64, n)
		s.fpick = make([]int32, n)
		s.unl = make([]bool, n)
	}
	s.g, s.pred, s.dq, s.pre, s.fpick, s.unl = s.g[:n], s.pred[:n], s.dq[:n], s.pre[:n], s.fpick[:n], s.unl[:n]
}

// detour is the extra cost of driving from visit a to a facility and on
// to next (a visit, or -1 for End) instead of straight there, and the
// facility that achieves it (-1 if the vehicle may use none).
func (s *scheduler) detour(k int, a, next int32, direct float64) (float64, int32) {
	m := s.m
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

// placeUnloads chooses after which visits of seq vehicle k unloads: the
// cheapest set of detours that keeps every trip within capacity and
// leaves the truck empty at the end. It is a shortest path over the
// boundaries between visits, linear with a sliding-window minimum since
// a trip may start at any boundary whose load since is within capacity.
// It fills s.unl and s.fpick and reports false when a single visit does
// not fit or a load cannot be unloaded.
func (s *scheduler) placeUnloads(k int, seq []int32, ad, at []float64) bool {
	m := s.m
	v := &m.veh[k]
	nseq := len(seq)
	s.grow(nseq + 1)
	s.pre[0] = 0
	for j, c := range seq {
		d := m.vis[c].dem
		if d > v.cap {
			return false
		}
		s.pre[j+1] = s.pre[j] + d
		s.unl[j+1] = false
	}
	s.unl[0] = false
	if s.pre[nseq] == 0 {
		return true
	}
	if len(v.facs) == 0 {
		return false
	}
	g, pred, dq := s.g, s.pred, s.dq
	g[0] = 0
	head, tail := 0, 0
	lo := 0
	for j := 1; j <= nseq; j++ {
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
		next := int32(-1)
		if j < nseq {
			next = seq[j]
		}
		det, f := s.detour(k, seq[j-1], next, m.dc*ad[j]+m.tc*at[j])
		g[j] = det + g[dq[head]]
		pred[j] = dq[head]
		s.fpick[j] = f
	}
	// The last unload may come before a tail of empty-handed visits.
	end := nseq
	for j := nseq - 1; j >= 1 && s.pre[j] == s.pre[nseq]; j-- {
		if g[j] < g[end] {
			end = j
		}
	}
	for j := end; j > 0; j = int(pred[j]) {
		s.unl[j] = true
	}
	return true
}

// eval times seq (visit indexes) on vehicle k, with the legs ad and at
// from arcs, and returns its cost (DistCost*distance + TimeCost*duration)
// and whether every constraint holds. With out nil it stops at the first
// violation; otherwise it times the whole route into out.
func (s *scheduler) eval(k int, seq []int32, ad, at []float64, out *FleetRoute) (float64, bool) {
	if len(seq) == 0 {
		if out != nil {
			*out = FleetRoute{}
		}
		return 0, true
	}
	if !s.placeUnloads(k, seq, ad, at) {
		return math.Inf(1), false
	}
	m := s.m
	v := &m.veh[k]
	nv := len(m.vis)
	ok := true
	t := v.ss
	dist := 0.0
	load := 0.0
	brk := v.brk == 0
	var stops []FleetStop
	if out != nil {
		stops = out.Stops[:0]
	}
	takeBreak := func() {
		if !brk && t >= v.breakAt {
			brk = true
			if out != nil {
				stops = append(stops, FleetStop{Kind: StopBreak, Index: -1, Arrive: t, Start: t, Depart: t + v.brk, LoadBefore: load, LoadAfter: load})
			}
			t += v.brk
		}
	}
	takeBreak()
	var fromFac int32 = -1 // the facility just left, if any
	for j, c := range seq {
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
		takeBreak()
		if !s.unl[j+1] {
			continue
		}
		f := s.fpick[j+1]
		if fc := m.fac[f]; max(t+m.toFT[int(c)*m.nf+int(f)], fc.Open) > fc.Close+1e-9 {
			// The cheapest facility is closed by then: take the cheapest open one.
			f = s.openFacility(k, c, int32(j+1), seq, t)
			if f < 0 {
				ok = false
				if out == nil {
					return math.Inf(1), false
				}
				f = s.fpick[j+1]
			}
		}
		fc := m.fac[f]
		i := int(c)*m.nf + int(f)
		arrive = t + m.toFT[i]
		start = max(arrive, fc.Open)
		dist += m.toFD[i]
		t = start + fc.Unload
		if out != nil {
			stops = append(stops, FleetStop{Kind: StopFacility, Index: int(f), Arrive: arrive, Start: start, Depart: t,
				LoadBefore: load, Distance: m.toFD[i]})
		}
		load = 0
		fromFac = f
		takeBreak()
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
	ad, at := m.arcs(vehicle, seq, nil, nil)
	var r FleetRoute
	_, feasible := s.eval(vehicle, seq, ad, at, &r)
	return r, ok && feasible
}
