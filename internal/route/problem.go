// Package route solves capacitated vehicle routing problems, with optional
// route-duration limits, time windows and fleet-size limits, by hybrid
// genetic search (Vidal 2022, "Hybrid genetic search for the CVRP:
// open-source implementation and SWAP* neighborhood").
//
// The package is pure algorithm: the caller supplies the distance (and
// optionally travel-time) matrix, so no geometry is assumed. Coordinates, when
// given, only guide the search: SWAP* route pairs, the ordering of routes,
// cache-friendly renumbering and decomposition of large instances. The only
// I/O is the CVRPLIB / TSPLIB95 reader and the solution writer, which work on
// io.Reader and io.Writer.
//
// The search follows the paper: giant-tour ordered crossover, optimal split
// (linear when only capacity applies), granular local search (relocations of
// one or two customers, swaps of one or two, 2-opt, both 2-opt* variants and
// SWAP*), adaptive penalties for capacity and time, a feasible and an
// infeasible subpopulation with biased fitness over broken-pairs distance,
// and restarts. With time windows (Vidal et al. 2013, "A hybrid genetic
// algorithm with adaptive diversity management for a large class of vehicle
// routing problems with time-windows"): lateness is time warp, penalised
// with an adaptive weight; moves are evaluated by concatenating time
// segments (forward, backward and, for the reversing 2-opt*, reversed);
// the granular neighbourhood weighs waiting and time warp; SWAP*'s
// estimates include time-warp penalties; and the children come from
// selective route exchange (SREX, as in Kool et al. 2022, and PyVRP's
// default) instead of ordered crossover. Departures from it, for short time
// budgets and large instances: initial individuals from randomised savings
// instead of random tours when there are more than 100 customers or time
// windows (with time windows and more than 100 customers, always), a smaller
// initial population for large instances, SWAP* only once the simpler moves
// are exhausted (and not at all under time windows with long routes),
// renumbering of customers along a Hilbert curve, decomposition rounds from
// 300 customers on (routes grouped by polar angle into sub-problems of about
// 160 customers, each solved by a short search seeded with its current
// routes; a round every 60 iterations, under time windows every fifth, or
// with short routes every one), and, with long routes under time windows, every 20th child made
// from the best solution without one of its shortest routes.
//
// SolveFleet plans a city's collection day, which is richer than CVRP:
// several depots, a heterogeneous fleet, disposal facilities visited
// whenever a truck fills and before it goes home (multi-trip), optional
// visits with prizes, pinned visits, time windows, shifts and breaks. It is
// ruin and recreate (Christiaens and Vanden Berghe 2020, "Slack induction
// by string removals"): string and split-string removals around a random
// visit, greedy reinsertion with blinks at granular positions (next to the
// nearest visits) ranked by a leg estimate and filtered by each route's
// recorded departures and forward slack, the best few timed exactly, and
// simulated-annealing acceptance; every 4,000 iterations it tries to do
// without its smallest route (after the paper's fleet minimisation: the
// route's visits must find room elsewhere within 1,500 iterations, or the
// search goes back). Timing a visit order places the unloads by a linear
// shortest path over the boundaries between visits (the cheapest detours
// that keep every trip within capacity), then simulates
// windows, facility hours, the break and the shift. Mandatory visits always
// outweigh prizes; optional ones are inserted only when their prize pays
// for them and dropped when it no longer does.
//
// Limits: the CVRP search has one depot; without coordinates SWAP* and
// decomposition are skipped; decomposition groups routes by polar angle
// only, also with time windows. SolveFleet is single-threaded, trucks leave at ShiftStart
// (no delayed departure to save waiting), unload placement ignores time
// (a window can make a costlier placement the only feasible one), and the
// dense N*N matrices limit it to a few thousand locations.
package route

import (
	"math"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Problem is one vehicle routing instance. Node 0 is the depot; nodes 1..N-1
// are customers. Matrices are flat and row-major: the entry from i to j is at
// index i*N+j.
type Problem struct {
	Name string
	// N is the number of nodes, depot included.
	N int
	// Demand is the load each node adds to its vehicle; Demand[0] must be 0.
	Demand []int
	// Service is the time spent at each node; nil means zero everywhere.
	Service []float64
	// Capacity is the load limit of every vehicle.
	Capacity int
	// MaxDuration limits each route's duration (travel, service and, with
	// time windows, waiting time); 0 means no limit.
	MaxDuration float64
	// Vehicles limits the number of routes; 0 means unlimited.
	Vehicles int
	// Dist is the N*N distance matrix; the solver minimises its sum over the
	// arcs used.
	Dist []float64
	// Time is the N*N travel-time matrix; nil means Time equals Dist.
	Time []float64
	// Ready and Due are the time windows: service at node i must start in
	// [Ready[i], Due[i]] (arriving early means waiting). For the depot they
	// bound the departure and the return. Both nil means no time windows.
	Ready, Due []float64
	// X and Y are optional coordinates, used only to guide the search.
	X, Y []float64
}

// Solution is a set of routes. Routes list customer nodes in visiting order;
// the depot at both ends is implicit.
type Solution struct {
	Routes [][]int
	// Cost is the total distance of the routes.
	Cost float64
	// Feasible reports whether every constraint holds.
	Feasible bool
	// Iterations is the number of genetic iterations the search ran.
	Iterations int
	// Elapsed is the time the search took and TimeToBest when it found
	// Cost, both measured with Options.Clock.
	Elapsed, TimeToBest time.Duration
}

// Validate checks p and returns a civic Invalid error naming the first
// offending field.
func (p *Problem) Validate() error {
	n := p.N
	switch {
	case n < 2:
		return civic.FieldError("N", "need a depot and at least one customer, got N=%d", n)
	case len(p.Demand) != n:
		return civic.FieldError("Demand", "length %d, want N=%d", len(p.Demand), n)
	case p.Service != nil && len(p.Service) != n:
		return civic.FieldError("Service", "length %d, want N=%d", len(p.Service), n)
	case p.Capacity <= 0:
		return civic.FieldError("Capacity", "must be positive, got %d", p.Capacity)
	case p.MaxDuration < 0 || math.IsNaN(p.MaxDuration) || math.IsInf(p.MaxDuration, 0):
		return civic.FieldError("MaxDuration", "must be finite and >= 0, got %v", p.MaxDuration)
	case p.Vehicles < 0:
		return civic.FieldError("Vehicles", "must be >= 0, got %d", p.Vehicles)
	case len(p.Dist) != n*n:
		return civic.FieldError("Dist", "length %d, want N*N=%d", len(p.Dist), n*n)
	case p.Time != nil && len(p.Time) != n*n:
		return civic.FieldError("Time", "length %d, want N*N=%d", len(p.Time), n*n)
	case (p.Ready == nil) != (p.Due == nil):
		return civic.FieldError("Ready", "Ready and Due must be given together")
	case p.Ready != nil && len(p.Ready) != n:
		return civic.FieldError("Ready", "length %d, want N=%d", len(p.Ready), n)
	case p.Due != nil && len(p.Due) != n:
		return civic.FieldError("Due", "length %d, want N=%d", len(p.Due), n)
	case (p.X == nil) != (p.Y == nil):
		return civic.FieldError("X", "X and Y must be given together")
	case p.X != nil && (len(p.X) != n || len(p.Y) != n):
		return civic.FieldError("X", "X and Y must have length N=%d", n)
	}
	if p.Demand[0] != 0 {
		return civic.FieldError("Demand[0]", "the depot's demand must be 0, got %d", p.Demand[0])
	}
	for i := 1; i < n; i++ {
		if d := p.Demand[i]; d < 0 || d > p.Capacity {
			return civic.FieldError(fieldIndex("Demand", i), "must be in [0, Capacity=%d], got %d", p.Capacity, d)
		}
		if p.Service != nil {
			if s := p.Service[i]; s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				return civic.FieldError(fieldIndex("Service", i), "must be finite and >= 0, got %v", s)
			}
		}
	}
	if err := checkMatrix("Dist", p.Dist, n); err != nil {
		return err
	}
	if p.Time != nil {
		if err := checkMatrix("Time", p.Time, n); err != nil {
			return err
		}
	}
	for i := 0; i < n && p.Ready != nil; i++ {
		r, d := p.Ready[i], p.Due[i]
		if math.IsNaN(r) || math.IsNaN(d) || math.IsInf(r, 0) || r > d {
			return civic.FieldError(fieldIndex("Due", i), "time window [%v, %v] is empty or not finite", r, d)
		}
	}
	if p.X != nil {
		for i := 0; i < n; i++ {
			if math.IsNaN(p.X[i]) || math.IsNaN(p.Y[i]) || math.IsInf(p.X[i], 0) || math.IsInf(p.Y[i], 0) {
				return civic.FieldError(fieldIndex("X", i), "coordinates must be finite")
			}
		}
	}
	return nil
}

func checkMatrix(field string, m []float64, n int) error {
	for k, v := range m {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return civic.FieldError(fieldIndex(field, k), "entry (%d,%d) must be finite and >= 0, got %v", k/n, k%n, v)
		}
	}
	return nil
}

func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// RouteStats is what Evaluate measures of one route.
type RouteStats struct {
	Dist     float64 // travel distance, depot to depot
	Load     int     // total demand
	Duration float64 // travel, service and waiting time (waiting only with time windows)
	// TimeWarp is how much the route is late in total against the time
	// windows: the sum of the amounts by which service starts after a Due.
	TimeWarp float64
}

// Evaluate measures one route (customers only; the depot is implicit) by
// simulating it: leave the depot at its Ready time, wait when early, and
// count lateness as time warp.
func (p *Problem) Evaluate(route []int) RouteStats {
	var st RouteStats
	n := p.N
	tm := p.Time
	if tm == nil {
		tm = p.Dist
	}
	prev := 0
	t := 0.0
	if p.Ready != nil {
		t = p.Ready[0]
	}
	start := t
	for _, c := range route {
		st.Dist += p.Dist[prev*n+c]
		st.Load += p.Demand[c]
		t += tm[prev*n+c]
		if p.Ready != nil {
			if t < p.Ready[c] {
				t = p.Ready[c]
			}
			if t > p.Due[c] {
				st.TimeWarp += t - p.Due[c]
				t = p.Due[c]
			}
		}
		if p.Service != nil {
			t += p.Service[c]
		}
		prev = c
	}
	st.Dist += p.Dist[prev*n]
	t += tm[prev*n]
	if p.Ready != nil && t > p.Due[0] {
		st.TimeWarp += t - p.Due[0]
		t = p.Due[0]
	}
	st.Duration = t - start
	return st
}
