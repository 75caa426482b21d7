package plan

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/civic-city/civic/internal/route"
)

// Insertion is a SolveFunc that builds routes by cheapest insertion: the
// required visits first, then the optional ones whose insertion costs less
// than their prize, each where it adds the least distance, keeping the
// warm start's visits where they are. It ignores the time limit: it is one
// quick pass, with no improvement search: civic serve and civic plan use
// route.SolveFleet, the real search; tests and the simulator may use this
// one for speed.
func Insertion(ctx context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error) {
	start := time.Now()
	if err := p.Validate(); err != nil {
		return route.FleetSolution{}, err
	}
	seqs := make([][]int, len(p.Vehicles))
	placed := make([]bool, len(p.Visits))
	if o.Initial != nil {
		for k, r := range o.Initial.Routes {
			for _, s := range r.Stops {
				if s.Kind == route.StopVisit {
					seqs[k] = append(seqs[k], s.Index)
					placed[s.Index] = true
				}
			}
		}
	}
	cost := make([]float64, len(p.Vehicles))
	for k := range seqs {
		r, _ := p.Schedule(k, seqs[k])
		cost[k] = r.Distance
	}
	var order []int
	for _, optional := range []bool{false, true} {
		for i, v := range p.Visits {
			if v.Optional == optional && !placed[i] {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		v := p.Visits[i]
		bestK, bestPos, best := -1, 0, math.Inf(1)
		for k := range p.Vehicles {
			if v.Vehicle > 0 && k != v.Vehicle-1 {
				continue
			}
			for pos := 0; pos <= len(seqs[k]); pos++ {
				try := slices.Insert(slices.Clone(seqs[k]), pos, i)
				if r, ok := p.Schedule(k, try); ok && r.Distance-cost[k] < best {
					bestK, bestPos, best = k, pos, r.Distance-cost[k]
				}
			}
		}
		if bestK < 0 || (v.Optional && best >= v.Prize) {
			continue
		}
		seqs[bestK] = slices.Insert(seqs[bestK], bestPos, i)
		cost[bestK] += best
		placed[i] = true
	}
	sol := route.FleetSolution{Routes: make([]route.FleetRoute, len(p.Vehicles)), Feasible: true}
	for k := range seqs {
		r, ok := p.Schedule(k, seqs[k])
		if len(seqs[k]) == 0 {
			r = route.FleetRoute{}
		}
		sol.Routes[k] = r
		sol.Feasible = sol.Feasible && ok
		sol.Distance += r.Distance
		sol.Duration += r.Duration
	}
	for i, ok := range placed {
		if !ok {
			sol.Unvisited = append(sol.Unvisited, i)
			sol.Feasible = sol.Feasible && p.Visits[i].Optional
		} else if p.Visits[i].Optional {
			sol.Prize += p.Visits[i].Prize
		}
	}
	sol.Objective = sol.Distance - sol.Prize
	sol.Elapsed = time.Since(start)
	return sol, ctx.Err()
}
