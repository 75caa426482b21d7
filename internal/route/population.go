package route

import (
	"math/rand/v2"
	"sort"
)

// Population parameters of HGS (Vidal 2022, table 1).
const (
	popMu          = 25   // minimum subpopulation size
	popLambda      = 40   // generation size: survivors are selected past mu+lambda
	popElite       = 4    // elite individuals protected by the biased fitness
	popClose       = 5    // neighbours averaged in the diversity contribution
	targetFeasible = 0.2  // aimed fraction of feasible local-search outputs
	historyLen     = 100  // local-search outputs remembered for penalty control
	penaltyMin     = 0.1  // bounds of the adaptive penalty weights
	penaltyMax     = 1e5  //
	penaltyUp      = 1.2  // factor when too few outputs are feasible
	penaltyDown    = 0.85 // factor when too many are
)

// population holds the feasible and infeasible subpopulations, each sorted by
// penalised cost, and the adaptive penalty weights.
type population struct {
	in     *instance
	rng    *rand.Rand
	w      penalties
	feas   []*individual
	infeas []*individual
	free   []*individual

	loadHist, timeHist []bool
	histPos            int

	best *individual // best feasible since the last restart; nil if none
	rank []rankEntry

	// mu and lambda are this population's minimum subpopulation size and
	// generation size: popMu and popLambda, but smaller in the short
	// searches of decomposition (see subPopMu).
	mu, lambda int
}

type rankEntry struct {
	div float64
	idx int
}

func newPopulation(in *instance, rng *rand.Rand) *population {
	p := &population{in: in, rng: rng, mu: popMu, lambda: popLambda}
	p.w.load = max(penaltyMin, min(1000, in.maxDist/float64(max(in.maxDemand, 1))))
	// HGS starts the duration penalty at 1; time windows need a firmer
	// start or the first generations are all late.
	p.w.time = 1
	if in.hasTW {
		p.w.time = 50
	}
	return p
}

func (p *population) alloc() *individual {
	if k := len(p.free); k > 0 {
		ind := p.free[k-1]
		p.free = p.free[:k-1]
		return ind
	}
	return newIndividual(p.in)
}

func (p *population) recycle(ind *individual) {
	ind.prox = ind.prox[:0]
	p.free = append(p.free, ind)
}

// record remembers whether a fresh local-search output met each constraint.
func (p *population) record(ind *individual) {
	if len(p.loadHist) < historyLen {
		p.loadHist = append(p.loadHist, ind.excessLoad == 0)
		p.timeHist = append(p.timeHist, ind.excessTime < eps)
		return
	}
	p.loadHist[p.histPos] = ind.excessLoad == 0
	p.timeHist[p.histPos] = ind.excessTime < eps
	p.histPos = (p.histPos + 1) % historyLen
}

// add inserts a copy of ind and reports whether it is a new best feasible
// solution since the last restart.
func (p *population) add(ind *individual) bool {
	c := p.alloc()
	c.copyFrom(ind)
	sub := &p.infeas
	if c.feasible {
		sub = &p.feas
	}
	for _, o := range *sub {
		d := brokenPairs(c, o, p.in.nc)
		o.prox = insertProx(o.prox, proxEntry{d, c})
		c.prox = insertProx(c.prox, proxEntry{d, o})
	}
	k := sort.Search(len(*sub), func(i int) bool { return (*sub)[i].cost > c.cost })
	*sub = append(*sub, nil)
	copy((*sub)[k+1:], (*sub)[k:])
	(*sub)[k] = c
	if len(*sub) > p.mu+p.lambda {
		for len(*sub) > p.mu {
			p.removeWorst(sub)
		}
	}
	if c.feasible && (p.best == nil || c.dist < p.best.dist-eps) {
		if p.best == nil {
			p.best = newIndividual(p.in)
		}
		p.best.copyFrom(c)
		return true
	}
	return false
}

func insertProx(l []proxEntry, e proxEntry) []proxEntry {
	k := sort.Search(len(l), func(i int) bool { return l[i].d > e.d })
	l = append(l, proxEntry{})
	copy(l[k+1:], l[k:])
	l[k] = e
	return l
}

func (p *population) updateFitness(sub []*individual) {
	n := len(sub)
	if n == 0 {
		return
	}
	if n == 1 {
		sub[0].fitness = 0
		return
	}
	p.rank = p.rank[:0]
	for i, ind := range sub {
		p.rank = append(p.rank, rankEntry{-ind.avgProx(popClose), i})
	}
	sort.SliceStable(p.rank, func(a, b int) bool { return p.rank[a].div < p.rank[b].div })
	for pos, r := range p.rank {
		divRank := float64(pos) / float64(n-1)
		fitRank := float64(r.idx) / float64(n-1)
		if n <= popElite {
			sub[r.idx].fitness = fitRank
		} else {
			sub[r.idx].fitness = fitRank + (1-float64(popElite)/float64(n))*divRank
		}
	}
}

// removeWorst drops the member with the worst biased fitness, clones first;
// the best member is never removed.
func (p *population) removeWorst(sub *[]*individual) {
	s := *sub
	p.updateFitness(s)
	worst, worstClone, worstFit := -1, false, -1.0
	for i := 1; i < len(s); i++ {
		clone := len(s[i].prox) > 0 && s[i].prox[0].d < eps
		if (clone && !worstClone) || (clone == worstClone && s[i].fitness > worstFit) {
			worst, worstClone, worstFit = i, clone, s[i].fitness
		}
	}
	w := s[worst]
	copy(s[worst:], s[worst+1:])
	s = s[:len(s)-1]
	for _, o := range s {
		for k, e := range o.prox {
			if e.ind == w {
				o.prox = append(o.prox[:k], o.prox[k+1:]...)
				break
			}
		}
	}
	*sub = s
	p.recycle(w)
}

// tournament picks a parent by binary tournament on biased fitness over both
// subpopulations.
func (p *population) tournament() *individual {
	p.updateFitness(p.feas)
	p.updateFitness(p.infeas)
	total := len(p.feas) + len(p.infeas)
	pick := func() *individual {
		i := p.rng.IntN(total)
		if i < len(p.feas) {
			return p.feas[i]
		}
		return p.infeas[i-len(p.feas)]
	}
	a, b := pick(), pick()
	if b.fitness < a.fitness {
		return b
	}
	return a
}

func (p *population) size() int { return len(p.feas) + len(p.infeas) }

// managePenalties adapts the weights towards the target fraction of
// feasible local-search outputs, then re-sorts the infeasible members.
func (p *population) managePenalties() {
	adapt := func(w float64, hist []bool) float64 {
		if len(hist) == 0 {
			return w
		}
		ok := 0
		for _, b := range hist {
			if b {
				ok++
			}
		}
		f := float64(ok) / float64(len(hist))
		switch {
		case f < targetFeasible-0.05 && w < penaltyMax:
			return min(w*penaltyUp, penaltyMax)
		case f > targetFeasible+0.05 && w > penaltyMin:
			return max(w*penaltyDown, penaltyMin)
		}
		return w
	}
	p.w.load = adapt(p.w.load, p.loadHist)
	if p.in.hasDur || p.in.timed {
		p.w.time = adapt(p.w.time, p.timeHist)
	}
	for _, ind := range p.infeas {
		ind.rescore(p.w)
	}
	sort.SliceStable(p.infeas, func(a, b int) bool { return p.infeas[a].cost < p.infeas[b].cost })
}

// clear empties the population for a restart.
func (p *population) clear() {
	for _, ind := range p.feas {
		p.recycle(ind)
	}
	for _, ind := range p.infeas {
		p.recycle(ind)
	}
	p.feas, p.infeas = p.feas[:0], p.infeas[:0]
	p.best = nil
}
