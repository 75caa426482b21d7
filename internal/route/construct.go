package route

import (
	"math"
	"sort"
)

// constructor builds initial giant tours cheaper than the local search would
// make of a random one: randomised Clarke–Wright savings restricted to the
// granular neighbourhood. Large instances start from these (the issue with
// HGS's random initial population is the time its local search takes).
type constructor struct {
	in      *instance
	cands   []saving
	routeOf []int32
	next    []int32
	hasPred []bool
	first   []int32
	last    []int32
	load    []int
	dist    []float64
	svc     []float64
	seg     []tseg // customers only, for timed problems
	heads   []headAngle
	members []int32
	// symmetric reports Dist symmetric and no time windows: routes may be
	// reversed while merging.
	symmetric bool
}

type saving struct {
	s    float64
	i, j int32
}

type headAngle struct {
	a    float64
	head int32
}

func newConstructor(in *instance) *constructor {
	n := in.n
	k := &constructor{
		in:      in,
		routeOf: make([]int32, n),
		next:    make([]int32, n),
		hasPred: make([]bool, n),
		first:   make([]int32, n),
		last:    make([]int32, n),
		load:    make([]int, n),
		dist:    make([]float64, n),
		svc:     make([]float64, n),
		seg:     make([]tseg, n),
	}
	k.symmetric = !in.timed && in.symmetric
	return k
}

// reverse turns route r around.
func (k *constructor) reverse(r int32) {
	k.members = k.members[:0]
	for w := k.first[r]; w != 0; w = k.next[w] {
		k.members = append(k.members, w)
	}
	m := k.members
	for a := len(m) - 1; a >= 0; a-- {
		k.hasPred[m[a]] = a != len(m)-1
		if a > 0 {
			k.next[m[a]] = m[a-1]
		} else {
			k.next[m[a]] = 0
		}
	}
	k.first[r], k.last[r] = m[len(m)-1], m[0]
}

// savingsTour fills tour with the routes of a savings solution, joined in
// polar order. noise in [0, 1) perturbs each saving by up to ±noise/2 of
// its value, so repeated calls give different solutions.
func (k *constructor) savingsTour(tour []int32, noise float64, rnd func() float64) {
	in := k.in
	k.cands = k.cands[:0]
	for i := 1; i <= in.nc; i++ {
		for _, j := range in.neighbors[i] {
			s := in.d(int32(i), 0) + in.d(0, j) - in.d(int32(i), j)
			if s <= 0 {
				continue
			}
			s *= 1 + noise*(rnd()-0.5)
			k.cands = append(k.cands, saving{s, int32(i), j})
		}
	}
	sort.Slice(k.cands, func(a, b int) bool {
		ca, cb := k.cands[a], k.cands[b]
		if ca.s != cb.s {
			return ca.s > cb.s
		}
		if ca.i != cb.i {
			return ca.i < cb.i
		}
		return ca.j < cb.j
	})
	for c := int32(1); c <= int32(in.nc); c++ {
		k.routeOf[c], k.next[c], k.hasPred[c] = c, 0, false
		k.first[c], k.last[c] = c, c
		k.load[c] = in.demand[c]
		k.dist[c] = 0
		k.svc[c] = in.service[c]
		if in.timed {
			k.seg[c] = in.nodeSeg(c)
		}
	}
	for _, cd := range k.cands {
		i, j := cd.i, cd.j
		ri, rj := k.routeOf[i], k.routeOf[j]
		if ri == rj || k.load[ri]+k.load[rj] > in.capacity {
			continue
		}
		if k.last[ri] != i || k.first[rj] != j {
			// With symmetric distances a route may be turned around.
			if !k.symmetric || (k.last[ri] != i && k.first[ri] != i) || (k.first[rj] != j && k.last[rj] != j) {
				continue
			}
			if k.last[ri] != i {
				k.reverse(ri)
			}
			if k.first[rj] != j {
				k.reverse(rj)
			}
		}
		d := k.dist[ri] + in.d(i, j) + k.dist[rj]
		var seg tseg
		if in.timed {
			seg = in.merge(k.seg[ri], k.seg[rj])
			full := in.merge(in.merge(in.nodeSeg(0), seg), in.nodeSeg(0))
			if in.timeExcess(full) > eps {
				continue
			}
		} else if in.hasDur {
			full := d + in.d(0, k.first[ri]) + in.d(k.last[rj], 0)
			if in.simpleTimeExcess(full, k.svc[ri]+k.svc[rj]) > eps {
				continue
			}
		}
		k.next[i] = j
		k.hasPred[j] = true
		for c := j; c != 0; c = k.next[c] {
			k.routeOf[c] = ri
		}
		k.last[ri] = k.last[rj]
		k.load[ri] += k.load[rj]
		k.dist[ri] = d
		k.svc[ri] += k.svc[rj]
		k.seg[ri] = seg
	}
	k.heads = k.heads[:0]
	for c := int32(1); c <= int32(in.nc); c++ {
		if k.hasPred[c] {
			continue
		}
		a := float64(c)
		if in.hasCoords {
			var sx, sy float64
			m := 0
			for w := c; w != 0; w = k.next[w] {
				sx += in.x[w]
				sy += in.y[w]
				m++
			}
			a = math.Atan2(sy/float64(m)-in.y[0], sx/float64(m)-in.x[0])
		}
		k.heads = append(k.heads, headAngle{a, c})
	}
	sort.Slice(k.heads, func(a, b int) bool { return k.heads[a].a < k.heads[b].a })
	p := 0
	for _, h := range k.heads {
		for w := h.head; w != 0; w = k.next[w] {
			tour[p] = w
			p++
		}
	}
}
