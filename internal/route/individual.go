package route

// individual is one member of the population: a giant tour (the chromosome
// crossover works on) and its routes.
type individual struct {
	tour   []int32   // every customer once
	routes [][]int32 // non-empty routes, in tour order
	succ   []int32   // successor of each customer (0 = depot)
	pred   []int32   // predecessor of each customer (0 = depot)

	dist       float64 // total distance
	excessLoad float64 // total load beyond capacity
	excessTime float64 // total time warp and duration beyond the limit
	cost       float64 // penalised cost under the population's weights
	feasible   bool

	fitness float64     // biased fitness, set by the population
	prox    []proxEntry // other members of the subpopulation, nearest first
}

type proxEntry struct {
	d   float64
	ind *individual
}

func newIndividual(in *instance) *individual {
	return &individual{
		tour: make([]int32, in.nc),
		succ: make([]int32, in.n),
		pred: make([]int32, in.n),
	}
}

// evaluate recomputes the measures from routes, and the tour, successors and
// predecessors.
func (ind *individual) evaluate(in *instance, w penalties) {
	ind.dist, ind.excessLoad, ind.excessTime = 0, 0, 0
	k := 0
	for _, r := range ind.routes {
		if len(r) == 0 {
			continue
		}
		d, load, ex := in.routeMeasure(r)
		ind.dist += d
		if load > in.capacity {
			ind.excessLoad += float64(load - in.capacity)
		}
		ind.excessTime += ex
		prev := int32(0)
		for i, c := range r {
			ind.tour[k] = c
			k++
			ind.pred[c] = prev
			if i+1 < len(r) {
				ind.succ[c] = r[i+1]
			} else {
				ind.succ[c] = 0
			}
			prev = c
		}
	}
	ind.feasible = ind.excessLoad == 0 && ind.excessTime < eps
	ind.rescore(w)
}

func (ind *individual) rescore(w penalties) {
	ind.cost = ind.dist + w.load*ind.excessLoad + w.time*ind.excessTime
}

// copyFrom makes ind a copy of o (without the population links).
func (ind *individual) copyFrom(o *individual) {
	copy(ind.tour, o.tour)
	copy(ind.succ, o.succ)
	copy(ind.pred, o.pred)
	for cap(ind.routes) < len(o.routes) {
		ind.routes = append(ind.routes[:cap(ind.routes)], nil)
	}
	ind.routes = ind.routes[:len(o.routes)]
	for i, r := range o.routes {
		ind.routes[i] = append(ind.routes[i][:0], r...)
	}
	ind.dist, ind.excessLoad, ind.excessTime = o.dist, o.excessLoad, o.excessTime
	ind.cost, ind.feasible = o.cost, o.feasible
}

// brokenPairs is the broken-pairs distance between two individuals: the
// fraction of customers whose neighbours differ.
func brokenPairs(a, b *individual, nc int) float64 {
	diff := 0
	for j := 1; j <= nc; j++ {
		sa, pa := a.succ[j], a.pred[j]
		sb, pb := b.succ[j], b.pred[j]
		if sa != sb && sa != pb {
			diff++
		}
		if pa == 0 && pb != 0 && sb != 0 {
			diff++
		}
	}
	return float64(diff) / float64(nc)
}

// avgProx is the mean distance to the k nearest other members.
func (ind *individual) avgProx(k int) float64 {
	k = min(k, len(ind.prox))
	if k == 0 {
		return 0
	}
	s := 0.0
	for _, e := range ind.prox[:k] {
		s += e.d
	}
	return s / float64(k)
}

// routesOut copies the routes out as []int for a Solution.
func (ind *individual) routesOut() [][]int {
	out := make([][]int, 0, len(ind.routes))
	for _, r := range ind.routes {
		if len(r) == 0 {
			continue
		}
		rr := make([]int, len(r))
		for i, c := range r {
			rr[i] = int(c)
		}
		out = append(out, rr)
	}
	return out
}
