package route

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPopulationSelectsAtItsOwnSizes: a population whose sizes are set (as a
// decomposition sub-search sets them) selects survivors once a subpopulation
// passes mu+lambda, keeps mu of them, never loses its cheapest member, and
// keeps only individuals it was given, sorted by penalised cost.
func TestPopulationSelectsAtItsOwnSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := 0; trial < 20; trial++ {
		p := randomProblem(rng, 12+rng.IntN(30), randOpts{tw: trial%2 == 0})
		in := newInstance(p)
		pop := newPopulation(in, rng)
		pop.mu, pop.lambda = 2+rng.IntN(6), 3+rng.IntN(10)
		ind := newIndividual(in)
		given := map[float64]bool{}
		selections := 0
		for k := 0; k < 200; k++ {
			ind.routes = cutRoutes(rng, rng.Perm(in.nc), 1+rng.IntN(in.nc))
			ind.evaluate(in, pop.w)
			given[ind.cost] = true
			sub := &pop.infeas
			if ind.feasible {
				sub = &pop.feas
			}
			before := len(*sub)
			cheapest := ind.cost
			if before > 0 {
				cheapest = min(cheapest, (*sub)[0].cost)
			}
			pop.add(ind)
			switch after := len(*sub); {
			case before+1 > pop.mu+pop.lambda:
				selections++
				if after != pop.mu {
					t.Fatalf("trial %d: %d members after selection, want mu = %d", trial, after, pop.mu)
				}
			case after != before+1:
				t.Fatalf("trial %d: %d members after adding to %d below mu+lambda = %d", trial, after, before, pop.mu+pop.lambda)
			}
			if (*sub)[0].cost != cheapest {
				t.Fatalf("trial %d: cheapest member %v, want %v kept", trial, (*sub)[0].cost, cheapest)
			}
			for _, s := range [][]*individual{pop.feas, pop.infeas} {
				if len(s) > pop.mu+pop.lambda {
					t.Fatalf("trial %d: %d members, more than mu+lambda = %d", trial, len(s), pop.mu+pop.lambda)
				}
				if !slices.IsSortedFunc(s, func(a, b *individual) int { return cmp.Compare(a.cost, b.cost) }) {
					t.Fatalf("trial %d: subpopulation not sorted by cost", trial)
				}
				for _, m := range s {
					if !given[m.cost] {
						t.Fatalf("trial %d: member of cost %v was never added", trial, m.cost)
					}
				}
			}
		}
		if selections == 0 {
			t.Fatalf("trial %d: 200 additions and no selection at mu %d, lambda %d", trial, pop.mu, pop.lambda)
		}
	}
}
