package route

import (
	"math"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// FleetProblem is one day's collection for one waste stream: several depots,
// a heterogeneous fleet, disposal facilities visited whenever a truck fills
// (multi-trip), optional visits with prizes, time windows, shifts and
// breaks. Times are seconds from the day's midnight; distances metres.
type FleetProblem struct {
	// N is the number of nodes: every location (depots, facilities, bins).
	// Nodes index the matrices.
	N int
	// Dist and Time are N*N row-major matrices, in metres and seconds; they
	// may be asymmetric.
	Dist, Time []float64
	// X and Y are optional coordinates, used only to guide the search.
	X, Y       []float64
	Visits     []Visit
	Vehicles   []Vehicle
	Facilities []Facility
	// DistCost and TimeCost weigh distance (per metre) and route duration
	// (per second) in the objective; both 0 means DistCost 1.
	DistCost, TimeCost float64
}

// Visit is one bin to empty.
type Visit struct {
	Node int
	// Demand is the volume the truck takes on, in litres (already divided
	// by compaction where relevant).
	Demand float64
	// Service is the time spent at the bin, in seconds.
	Service float64
	// Ready and Due bound the start of service; Due 0 means no window.
	// Arriving before Ready means waiting.
	Ready, Due float64
	// Optional visits may be left out; then Prize is forfeited.
	Optional bool
	// Prize is what visiting an optional visit gains, in objective units.
	Prize float64
	// Vehicle 0 lets any vehicle serve the visit; k > 0 pins it to
	// Vehicles[k-1].
	Vehicle int
}

// Vehicle is one truck and its crew's shift.
type Vehicle struct {
	// Start and End are the depot nodes the route leaves and returns to.
	Start, End int
	// Capacity is the volume, in litres, the truck holds between unloads.
	Capacity float64
	// The truck leaves Start at ShiftStart and must be back at End by
	// ShiftEnd.
	ShiftStart, ShiftEnd float64
	// A break of BreakLength seconds is taken at the first stop boundary
	// (the departure from a bin or a facility) once BreakAfter seconds of
	// the shift have elapsed. BreakLength 0 means no break. A truck back at
	// End before that boundary takes no break: its shift is over.
	BreakAfter, BreakLength float64
	// Facilities lists the indexes into FleetProblem.Facilities this truck
	// may unload at; nil means all.
	Facilities []int
}

// Facility is a disposal site: a transfer station, an incinerator, a
// sorting plant.
type Facility struct {
	Node int
	// Unloading must start in [Open, Close].
	Open, Close float64
	// Unload is the time unloading takes, in seconds.
	Unload float64
}

// StopKind says what a FleetStop is.
type StopKind int

const (
	// StopVisit empties a bin: Index is the visit.
	StopVisit StopKind = iota
	// StopFacility unloads the truck: Index is the facility.
	StopFacility
	// StopBreak is the crew's break, at the previous stop's location.
	StopBreak
	// StopEnd is the arrival at the vehicle's End depot.
	StopEnd
)

func (k StopKind) String() string {
	switch k {
	case StopVisit:
		return "visit"
	case StopFacility:
		return "facility"
	case StopBreak:
		return "break"
	case StopEnd:
		return "end"
	}
	return "StopKind(?)"
}

// FleetStop is one step of a route, timed.
type FleetStop struct {
	Kind StopKind
	// Index is the visit (StopVisit) or facility (StopFacility) index; -1
	// for StopBreak and StopEnd.
	Index int
	// Arrive, Start and Depart are seconds from midnight; Start is when
	// service, unloading or the break begins.
	Arrive, Start, Depart float64
	// LoadBefore and LoadAfter are the truck's load in litres.
	LoadBefore, LoadAfter float64
	// Distance is the distance driven from the previous stop (from Start
	// for the first).
	Distance float64
}

// FleetRoute is one vehicle's day. An empty route (no stops) means the
// truck stays at its depot.
type FleetRoute struct {
	Stops []FleetStop
	// Distance is the total driven; Duration runs from ShiftStart to the
	// arrival at End.
	Distance, Duration float64
}

// FleetSolution is one route per vehicle: Routes[k] is Vehicles[k]'s.
type FleetSolution struct {
	Routes []FleetRoute
	// Unvisited lists the visit indexes not served, in increasing order.
	Unvisited []int
	// Distance and Duration are the fleet's totals, Prize the prizes of the
	// optional visits served, and Objective DistCost*Distance +
	// TimeCost*Duration - Prize.
	Distance, Duration, Prize, Objective float64
	// Feasible reports whether every constraint holds and every mandatory
	// visit is served.
	Feasible   bool
	Iterations int
	Elapsed    time.Duration
}

// FleetOptions control SolveFleet.
type FleetOptions struct {
	// TimeLimit bounds the search, measured with Clock; 0 means no limit
	// (then MaxIterations ends it).
	TimeLimit time.Duration
	// MaxIterations bounds the ruin-and-recreate iterations; 0 means no
	// bound. With MaxIterations and no TimeLimit the search is fully
	// deterministic for a Seed: the annealing schedule then follows the
	// iterations instead of the clock. Both 0 means 20000 iterations.
	MaxIterations int
	Seed          int64
	// Clock is the time source; nil means time.Now. ProcessCPUClock makes
	// the limit count CPU time.
	Clock func() time.Time
	// Initial, if set, is a warm start (a supervisor moved a stop:
	// re-optimise the rest). Its routes' visit orders are kept as far as
	// they are feasible; facility and break stops are recomputed.
	Initial *FleetSolution
	// Progress, if set, is called each time the best objective improves.
	Progress func(elapsed time.Duration, best float64)
	// Threads is how many searches run at once (0 means 1). They start
	// from different first plans, anneal apart for a twentieth of the
	// budget and then all continue from the best plan found. With more
	// than one the result depends on timing, even with MaxIterations;
	// an iteration budget is split between them.
	Threads int
}

// Validate checks p and returns a civic Invalid error naming the first
// offending field.
func (p *FleetProblem) Validate() error {
	n := p.N
	switch {
	case n < 1:
		return civic.FieldError("N", "need at least one node, got N=%d", n)
	case len(p.Dist) != n*n:
		return civic.FieldError("Dist", "length %d, want N*N=%d", len(p.Dist), n*n)
	case len(p.Time) != n*n:
		return civic.FieldError("Time", "length %d, want N*N=%d", len(p.Time), n*n)
	case (p.X == nil) != (p.Y == nil):
		return civic.FieldError("X", "X and Y must be given together")
	case p.X != nil && (len(p.X) != n || len(p.Y) != n):
		return civic.FieldError("X", "X and Y must have length N=%d", n)
	case len(p.Vehicles) == 0:
		return civic.FieldError("Vehicles", "need at least one vehicle")
	case !finite(p.DistCost) || p.DistCost < 0:
		return civic.FieldError("DistCost", "must be finite and >= 0, got %v", p.DistCost)
	case !finite(p.TimeCost) || p.TimeCost < 0:
		return civic.FieldError("TimeCost", "must be finite and >= 0, got %v", p.TimeCost)
	}
	if err := checkMatrix("Dist", p.Dist, n); err != nil {
		return err
	}
	if err := checkMatrix("Time", p.Time, n); err != nil {
		return err
	}
	for i := 0; i < n && p.X != nil; i++ {
		if !finite(p.X[i]) || !finite(p.Y[i]) {
			return civic.FieldError(fieldIndex("X", i), "coordinates must be finite")
		}
	}
	node := func(v int) bool { return v >= 0 && v < n }
	for i, f := range p.Facilities {
		field := fieldIndex("Facilities", i)
		switch {
		case !node(f.Node):
			return civic.FieldError(field+".Node", "node %d out of range [0, %d)", f.Node, n)
		case !finite(f.Open) || !finite(f.Close) || f.Open > f.Close:
			return civic.FieldError(field+".Close", "opening hours [%v, %v] are empty or not finite", f.Open, f.Close)
		case !finite(f.Unload) || f.Unload < 0:
			return civic.FieldError(field+".Unload", "must be finite and >= 0, got %v", f.Unload)
		}
	}
	for k, v := range p.Vehicles {
		field := fieldIndex("Vehicles", k)
		switch {
		case !node(v.Start):
			return civic.FieldError(field+".Start", "node %d out of range [0, %d)", v.Start, n)
		case !node(v.End):
			return civic.FieldError(field+".End", "node %d out of range [0, %d)", v.End, n)
		case !finite(v.Capacity) || v.Capacity <= 0:
			return civic.FieldError(field+".Capacity", "must be finite and positive, got %v", v.Capacity)
		case !finite(v.ShiftStart) || !finite(v.ShiftEnd) || v.ShiftStart > v.ShiftEnd:
			return civic.FieldError(field+".ShiftEnd", "shift [%v, %v] is empty or not finite", v.ShiftStart, v.ShiftEnd)
		case !finite(v.BreakAfter) || v.BreakAfter < 0:
			return civic.FieldError(field+".BreakAfter", "must be finite and >= 0, got %v", v.BreakAfter)
		case !finite(v.BreakLength) || v.BreakLength < 0:
			return civic.FieldError(field+".BreakLength", "must be finite and >= 0, got %v", v.BreakLength)
		}
		for j, f := range v.Facilities {
			if f < 0 || f >= len(p.Facilities) {
				return civic.FieldError(fieldIndex(field+".Facilities", j), "facility %d out of range [0, %d)", f, len(p.Facilities))
			}
		}
	}
	for i, v := range p.Visits {
		field := fieldIndex("Visits", i)
		switch {
		case !node(v.Node):
			return civic.FieldError(field+".Node", "node %d out of range [0, %d)", v.Node, n)
		case !finite(v.Demand) || v.Demand < 0:
			return civic.FieldError(field+".Demand", "must be finite and >= 0, got %v", v.Demand)
		case !finite(v.Service) || v.Service < 0:
			return civic.FieldError(field+".Service", "must be finite and >= 0, got %v", v.Service)
		case !finite(v.Ready) || !finite(v.Due) || v.Due < 0 || (v.Due > 0 && v.Ready > v.Due):
			return civic.FieldError(field+".Due", "time window [%v, %v] is empty or not finite", v.Ready, v.Due)
		case !finite(v.Prize) || v.Prize < 0:
			return civic.FieldError(field+".Prize", "must be finite and >= 0, got %v", v.Prize)
		case v.Vehicle < 0 || v.Vehicle > len(p.Vehicles):
			return civic.FieldError(field+".Vehicle", "must be in [0, %d], got %d", len(p.Vehicles), v.Vehicle)
		}
		if v.Optional {
			continue
		}
		// A mandatory visit needs a vehicle that can carry it and unload.
		ok := false
		for k, veh := range p.Vehicles {
			if v.Vehicle > 0 && k != v.Vehicle-1 {
				continue
			}
			if v.Demand <= veh.Capacity && (v.Demand == 0 || p.canUnload(veh)) {
				ok = true
				break
			}
		}
		if !ok {
			return civic.FieldError(field+".Demand", "no allowed vehicle can carry %v litres and unload them", v.Demand)
		}
	}
	return nil
}

func (p *FleetProblem) canUnload(v Vehicle) bool {
	if v.Facilities == nil {
		return len(p.Facilities) > 0
	}
	return len(v.Facilities) > 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
