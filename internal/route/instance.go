package route

import (
	"math"
	"sort"
)

// farAway stands for "no time window": large enough never to bind, small
// enough that sums and differences stay finite.
const farAway = 1e300

// eps is the smallest cost change the search treats as an improvement.
const eps = 1e-6

// instance is a validated Problem prepared for the search: defaults filled
// in, neighbour lists and polar angles computed. It is read-only once built
// and shared by every search thread.
type instance struct {
	n, nc       int // nodes (depot included), customers
	dist, tm    []float64
	demand      []int
	service     []float64
	ready, due  []float64
	capacity    int
	maxDur      float64 // 0 = none
	vehicles    int     // 0 = unlimited
	hasDur      bool
	hasTW       bool
	timed       bool // time is evaluated with segments (time windows, or a separate Time matrix with a duration limit)
	totalDemand int
	maxDist     float64
	maxDemand   int
	// neighbors[c] lists the customers correlated with customer c (the
	// granular neighbourhood), symmetric: j is in neighbors[i] iff i is in
	// neighbors[j].
	neighbors [][]int32
	symmetric bool // Dist[i][j] == Dist[j][i] for all i, j
	hasCoords bool
	polar     []int32 // angle around the depot in [0, 65536)
	x, y      []float64
}

// granularity is the number of nearest customers each customer is correlated
// with (Γ in the paper).
const granularity = 20

func newInstance(p *Problem) *instance {
	n := p.N
	in := &instance{
		n: n, nc: n - 1,
		dist:     p.Dist,
		tm:       p.Time,
		demand:   p.Demand,
		service:  p.Service,
		capacity: p.Capacity,
		maxDur:   p.MaxDuration,
		vehicles: p.Vehicles,
		hasDur:   p.MaxDuration > 0,
		hasTW:    p.Ready != nil,
	}
	if in.tm == nil {
		in.tm = p.Dist
	}
	in.service = make([]float64, n)
	if p.Service != nil {
		copy(in.service[1:], p.Service[1:]) // the depot serves nobody
	}
	in.timed = in.hasTW || (in.hasDur && p.Time != nil)
	in.ready, in.due = make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		if in.hasTW {
			in.ready[i], in.due[i] = p.Ready[i], p.Due[i]
		} else {
			in.ready[i], in.due[i] = 0, farAway
		}
	}
	for i := 1; i < n; i++ {
		in.totalDemand += p.Demand[i]
		in.maxDemand = max(in.maxDemand, p.Demand[i])
	}
	for _, d := range p.Dist {
		in.maxDist = max(in.maxDist, d)
	}
	in.symmetric = true
	for i := 0; i < n && in.symmetric; i++ {
		for j := 0; j < i; j++ {
			if p.Dist[i*n+j] != p.Dist[j*n+i] {
				in.symmetric = false
				break
			}
		}
	}
	if p.X != nil {
		in.hasCoords = true
		in.x, in.y = p.X, p.Y
		in.polar = make([]int32, n)
		for i := 0; i < n; i++ {
			in.polar[i] = polarAngle(p.X[i]-p.X[0], p.Y[i]-p.Y[0])
		}
	}
	in.buildNeighbors()
	return in
}

func polarAngle(dx, dy float64) int32 {
	a := int32(32768 * math.Atan2(dy, dx) / math.Pi)
	return positiveMod(a)
}

func (in *instance) d(a, b int32) float64 { return in.dist[int(a)*in.n+int(b)] }

// proximity is the correlation measure of the granular neighbourhood: the
// distance, plus with time windows the waiting and lateness that visiting j
// right after i implies (Vidal et al. 2013).
func (in *instance) proximity(i, j int) float64 {
	d := in.dist[i*in.n+j]
	if !in.hasTW {
		return d
	}
	t := in.tm[i*in.n+j]
	wait := max(in.ready[j]-t-in.service[i]-in.due[i], 0)
	late := max(in.ready[i]+in.service[i]+t-in.due[j], 0)
	return d + 0.2*wait + late
}

func (in *instance) buildNeighbors() {
	nc := in.nc
	g := min(granularity, nc-1)
	sets := make([]map[int32]struct{}, in.n)
	for i := 1; i <= nc; i++ {
		sets[i] = make(map[int32]struct{}, 2*g)
	}
	type cand struct {
		p float64
		j int32
	}
	cands := make([]cand, 0, nc)
	for i := 1; i <= nc; i++ {
		cands = cands[:0]
		for j := 1; j <= nc; j++ {
			if j != i {
				cands = append(cands, cand{in.proximity(i, j), int32(j)})
			}
		}
		sort.Slice(cands, func(a, b int) bool {
			if cands[a].p != cands[b].p {
				return cands[a].p < cands[b].p
			}
			return cands[a].j < cands[b].j
		})
		for _, c := range cands[:g] {
			sets[i][c.j] = struct{}{}
			sets[c.j][int32(i)] = struct{}{}
		}
	}
	in.neighbors = make([][]int32, in.n)
	for i := 1; i <= nc; i++ {
		l := make([]int32, 0, len(sets[i]))
		for j := range sets[i] {
			l = append(l, j)
		}
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		in.neighbors[i] = l
	}
}

// tseg summarises a sequence of visits for time-window and duration
// evaluation (the concatenation scheme of Vidal et al. 2013): the minimum
// duration, the minimum time warp, and the window of start times achieving
// them.
type tseg struct {
	first, last int32
	dur, warp   float64
	early, late float64
}

func (in *instance) nodeSeg(c int32) tseg {
	return tseg{first: c, last: c, dur: in.service[c], early: in.ready[c], late: in.due[c]}
}

// merge concatenates a then b.
func (in *instance) merge(a, b tseg) tseg {
	edge := in.tm[int(a.last)*in.n+int(b.first)]
	delta := a.dur - a.warp + edge
	wait := max(b.early-delta-a.late, 0)
	warp := max(a.early+delta-b.late, 0)
	return tseg{
		first: a.first, last: b.last,
		dur:   a.dur + b.dur + edge + wait,
		warp:  a.warp + b.warp + warp,
		early: max(b.early-delta, a.early) - wait,
		late:  min(b.late-delta, a.late) + warp,
	}
}

// excess2 is timeExcess(merge(a, b)) computed without building the merged
// segment: the local search evaluates far more concatenations than it keeps.
// It follows merge's arithmetic exactly, so both give the same result.
func (in *instance) excess2(a, b *tseg) float64 {
	edge := in.tm[int(a.last)*in.n+int(b.first)]
	delta := a.dur - a.warp + edge
	e := a.warp + b.warp + max(a.early+delta-b.late, 0)
	if in.hasDur {
		wait := max(b.early-delta-a.late, 0)
		if dur := a.dur + b.dur + edge + wait; dur > in.maxDur {
			e += dur - in.maxDur
		}
	}
	return e
}

// excessInsert is timeExcess(merge(merge(a, nodeSeg(c)), b)), the time
// excess of a route made of a, customer c and b, without building segments.
func (in *instance) excessInsert(a *tseg, c int32, b *tseg) float64 {
	n := in.n
	ready, due := in.ready[c], in.due[c]
	edge := in.tm[int(a.last)*n+int(c)]
	delta := a.dur - a.warp + edge
	wait := max(ready-delta-a.late, 0)
	warp := max(a.early+delta-due, 0)
	m := tseg{
		last:  c,
		dur:   a.dur + in.service[c] + edge + wait,
		warp:  a.warp + warp,
		early: max(ready-delta, a.early) - wait,
		late:  min(due-delta, a.late) + warp,
	}
	return in.excess2(&m, b)
}

// timeExcess is the time infeasibility of a whole route (depot to depot):
// time warp plus duration beyond the limit.
func (in *instance) timeExcess(s tseg) float64 {
	e := s.warp
	if in.hasDur && s.dur > in.maxDur {
		e += s.dur - in.maxDur
	}
	return e
}

// simpleTimeExcess is the duration excess of a route without time windows,
// where time equals distance: travel plus service beyond the limit.
func (in *instance) simpleTimeExcess(dist, svc float64) float64 {
	if in.hasDur && dist+svc > in.maxDur {
		return dist + svc - in.maxDur
	}
	return 0
}

// routeMeasure measures a route given as customers (the depot implicit).
func (in *instance) routeMeasure(r []int32) (dist float64, load int, excess float64) {
	if len(r) == 0 {
		return 0, 0, 0
	}
	prev := int32(0)
	svc := 0.0
	for _, c := range r {
		dist += in.d(prev, c)
		load += in.demand[c]
		svc += in.service[c]
		prev = c
	}
	dist += in.d(prev, 0)
	if in.timed {
		s := in.nodeSeg(0)
		for _, c := range r {
			s = in.merge(s, in.nodeSeg(c))
		}
		s = in.merge(s, in.nodeSeg(0))
		excess = in.timeExcess(s)
	} else {
		excess = in.simpleTimeExcess(dist, svc)
	}
	return dist, load, excess
}

// penalties are the weights of the soft constraints.
type penalties struct {
	load, time float64
}

// sector is an arc of polar angles covering a route's customers (used to
// pick the route pairs SWAP* tries).
type sector struct{ start, end int32 }

func positiveMod(a int32) int32 { return (a%65536 + 65536) % 65536 }

func (s *sector) init(a int32) { s.start, s.end = a, a }

func (s *sector) encloses(a int32) bool {
	return positiveMod(a-s.start) <= positiveMod(s.end-s.start)
}

func (s *sector) extend(a int32) {
	if s.encloses(a) {
		return
	}
	if positiveMod(a-s.end) <= positiveMod(s.start-a) {
		s.end = a
	} else {
		s.start = a
	}
}

func overlap(a, b sector) bool {
	return positiveMod(b.start-a.start) <= positiveMod(a.end-a.start) ||
		positiveMod(a.start-b.start) <= positiveMod(b.end-b.start)
}
