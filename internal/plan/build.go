package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/route"
)

// DefaultDetourM is the default detour budget of a may-go bin, in metres
// (see BuildInput.DetourM).
const DefaultDetourM = 2000

// BuildInput is what Build turns into one stream's routing problem.
type BuildInput struct {
	Day    Day
	Stream civic.Stream
	// Decisions are Decide's verdicts; must-go and may-go bins of Stream
	// become visits, the rest is ignored.
	Decisions  []civic.BinDecision
	Bins       []civic.Bin
	Trucks     []civic.Truck // active trucks of Stream take part
	Depots     []civic.Depot
	Facilities []civic.Facility // active facilities accepting Stream take part
	Settings   civic.PlanSettings
	// DetourM prices may-go bins: a may-go visit's prize is its expected
	// fill fraction times DetourM metres, so a bin expected 80 % full is
	// worth adding when it lengthens the route by less than 0.8 × DetourM.
	// Emptying it now spares a separate trip in the coming days, and in a
	// city the detour such a trip adds to some route is of the order of a
	// couple of kilometres. ≤ 0 means DefaultDetourM.
	DetourM float64
	// Pins puts bins on given trucks (bin id → truck id): a supervisor
	// moved them there. A pinned bin is mandatory.
	Pins map[string]string
}

// VisitRef ties a visit of the routing problem to its bin.
type VisitRef struct {
	Bin      civic.Bin
	Decision civic.BinDecision
	// DueByForecast: the visit's Due is the forecast's full time (see
	// Build), which RelaxForecastDues lifts.
	DueByForecast bool
}

// RelaxForecastDues lifts the Due that Build set from a forecast on every
// visit of p, and reports whether there was one.
func (p *Problem) RelaxForecastDues() bool {
	found := false
	for i := range p.Visits {
		if p.Visits[i].DueByForecast {
			p.Fleet.Visits[i].Due = 0
			p.Visits[i].DueByForecast = false
			found = true
		}
	}
	return found
}

// Problem is one stream's routing problem together with what the solver's
// indexes stand for. Nodes are laid out depots first, then facilities,
// then bins; Fleet.Dist and Fleet.Time are left nil for the caller to
// fill from a Matrix over Points (see SetMatrix).
type Problem struct {
	Day    Day
	Stream civic.Stream
	Fleet  route.FleetProblem
	// Points are the nodes' positions, in node order.
	Points []LatLon
	// Visits[i] is Fleet.Visits[i]'s bin, Trucks[k] Fleet.Vehicles[k]'s
	// truck, Facilities[f] Fleet.Facilities[f]'s facility, and Depots[n]
	// the depot at node n (n < len(Depots)).
	Visits     []VisitRef
	Trucks     []civic.Truck
	Facilities []civic.Facility
	Depots     []civic.Depot
	// Unplanned are must-go bins that could not become visits at all (no
	// truck or facility for the stream, or a bin bigger than every
	// truck), with the reason.
	Unplanned []civic.BinDecision
}

// SetMatrix installs the travel distances and times between Points.
func (p *Problem) SetMatrix(dist, time []float64) {
	p.Fleet.Dist, p.Fleet.Time = dist, time
}

// Build lays out the routing problem of one stream: the active trucks of
// the stream (capacity in loose litres: body volume × compaction ratio, the
// settings' ratio when the truck has none; the shift and break from the
// truck and the settings), their depots, the active facilities accepting the
// stream (opening hours, unloading time), and a visit for every must-go
// (mandatory) and may-go (optional, with a prize; see BuildInput.DetourM)
// bin: its expected load, its service time by kind and its access window.
// A must-go bin without an access window whose forecast says full during
// the shifts, at least two hours after the first starts, must be served
// by then (its Due): the truck comes before it overflows, not at whatever
// time suits the route. Plan lifts those Dues again (RelaxForecastDues)
// when the fleet cannot keep them all.
//
// It fails with an Invalid error naming the field when a truck's depot is
// unknown, a clock time does not parse, a decision names an unknown bin, or
// a pin names a truck that is not in the stream's fleet.
func Build(in BuildInput) (*Problem, error) {
	if err := in.Day.check(); err != nil {
		return nil, err
	}
	p := &Problem{Day: in.Day, Stream: in.Stream}
	set := &in.Settings
	depotByID := map[string]civic.Depot{}
	for _, d := range in.Depots {
		depotByID[d.ID] = d
	}
	depotNode := map[string]int{}
	type truckRow struct {
		t          civic.Truck
		start, end float64
	}
	var trucks []truckRow
	for i, t := range in.Trucks {
		if t.Status != civic.StatusActive || t.Stream != in.Stream {
			continue
		}
		d, ok := depotByID[t.DepotID]
		if !ok {
			return nil, civic.FieldError(fmt.Sprintf("trucks[%d].depot_id", i), "unknown depot %q", t.DepotID)
		}
		ss, err := civic.ParseClock(t.ShiftStart)
		if err != nil {
			return nil, civic.FieldError(fmt.Sprintf("trucks[%d].shift_start", i), "must be a time HH:MM")
		}
		se, err := civic.ParseClock(t.ShiftEnd)
		if err != nil || se <= ss {
			return nil, civic.FieldError(fmt.Sprintf("trucks[%d].shift_end", i), "must be a time HH:MM after shift_start")
		}
		if _, ok := depotNode[d.ID]; !ok {
			depotNode[d.ID] = len(p.Depots)
			p.Depots = append(p.Depots, d)
			p.Points = append(p.Points, LatLon{d.Lat, d.Lon})
		}
		trucks = append(trucks, truckRow{t, float64(ss) * 60, float64(se) * 60})
	}
	slices.SortFunc(trucks, func(a, b truckRow) int { return strings.Compare(a.t.ID, b.t.ID) })
	for i, f := range in.Facilities {
		if f.Status != civic.StatusActive || !f.Accepts(in.Stream) {
			continue
		}
		op, err := civic.ParseClock(f.Opens)
		if err != nil {
			return nil, civic.FieldError(fmt.Sprintf("facilities[%d].opens", i), "must be a time HH:MM")
		}
		cl, err := civic.ParseClock(f.Closes)
		if err != nil || cl < op {
			return nil, civic.FieldError(fmt.Sprintf("facilities[%d].closes", i), "must be a time HH:MM after opens")
		}
		p.Fleet.Facilities = append(p.Fleet.Facilities, route.Facility{
			Node: len(p.Points), Open: float64(op) * 60, Close: float64(cl) * 60, Unload: f.UnloadMin * 60})
		p.Facilities = append(p.Facilities, f)
		p.Points = append(p.Points, LatLon{f.Lat, f.Lon})
	}
	truckIndex := map[string]int{}
	maxCap := 0.0
	for k, tr := range trucks {
		ratio := tr.t.CompactionRatio
		if !(ratio > 0) {
			ratio = set.CompactionRatio
		}
		if !(ratio > 0) {
			ratio = 1
		}
		node := depotNode[tr.t.DepotID]
		v := route.Vehicle{Start: node, End: node, Capacity: tr.t.CapacityL * ratio,
			ShiftStart: tr.start, ShiftEnd: tr.end}
		if set.BreakMin > 0 {
			v.BreakAfter, v.BreakLength = set.BreakAfterMin*60, set.BreakMin*60
		}
		p.Fleet.Vehicles = append(p.Fleet.Vehicles, v)
		p.Trucks = append(p.Trucks, tr.t)
		truckIndex[tr.t.ID] = k
		maxCap = max(maxCap, v.Capacity)
	}

	bins := make(map[string]*civic.Bin, len(in.Bins))
	for i := range in.Bins {
		bins[in.Bins[i].ID] = &in.Bins[i]
	}
	detour := in.DetourM
	if !(detour > 0) {
		detour = DefaultDetourM
	}
	for i, d := range in.Decisions {
		if d.Stream != in.Stream || (d.Decision != civic.MustGo && d.Decision != civic.MayGo) {
			continue
		}
		b, ok := bins[d.BinID]
		if !ok {
			return nil, civic.FieldError(fmt.Sprintf("decisions[%d].bin_id", i), "unknown bin %q", d.BinID)
		}
		pin := 0
		if tid, ok := in.Pins[b.ID]; ok {
			k, ok := truckIndex[tid]
			if !ok {
				return nil, civic.FieldError("pins."+b.ID, "truck %q does not collect %s today", tid, in.Stream)
			}
			pin = k + 1
			d.Decision = civic.MustGo
		}
		why := ""
		switch {
		case len(p.Trucks) == 0:
			why = fmt.Sprintf("no active truck collects %s", in.Stream.Label())
		case len(p.Facilities) == 0 && d.LoadL > 0:
			why = fmt.Sprintf("no active facility accepts %s", in.Stream.Label())
		case d.LoadL > maxCap:
			why = fmt.Sprintf("%.0f l is more than any truck holds", d.LoadL)
		case pin > 0 && d.LoadL > p.Fleet.Vehicles[pin-1].Capacity:
			why = fmt.Sprintf("%.0f l is more than truck %s holds", d.LoadL, p.Trucks[pin-1].ID)
		}
		if why != "" {
			if d.Decision == civic.MustGo {
				p.Unplanned = append(p.Unplanned, unplanned(d, why))
			}
			continue
		}
		service := set.BasketServiceMin * 60
		if b.Compacting {
			service = set.CompactingServiceMin * 60
		}
		v := route.Visit{Node: len(p.Points), Demand: d.LoadL, Service: service, Vehicle: pin}
		byForecast := false
		if b.AccessWindow != "" {
			from, to, err := civic.ParseWindow(b.AccessWindow)
			if err != nil {
				return nil, civic.FieldError(fmt.Sprintf("bins[%s].access_window", b.ID), "must be a time range HH:MM-HH:MM")
			}
			// Service must end inside the window.
			v.Ready, v.Due = float64(from)*60, max(float64(to)*60-service, float64(from)*60)
		}
		if v.Due == 0 && d.Decision == civic.MustGo && d.FullAt != nil {
			// Forecast full during the shift: served before then, when
			// the trucks have time to get there.
			full := d.FullAt.Sub(in.Day.at(0, 0)).Seconds()
			first, last := math.Inf(1), math.Inf(-1)
			for _, t := range trucks {
				first, last = min(first, t.start), max(last, t.end)
			}
			if full >= first+2*3600 && full < last {
				v.Due, byForecast = full, true
			}
		}
		if d.Decision == civic.MayGo {
			fill := 0.0
			if b.CapacityL > 0 {
				fill = math.Min(d.LoadL/b.CapacityL, 1)
			}
			v.Optional, v.Prize = true, fill*detour
		}
		p.Fleet.Visits = append(p.Fleet.Visits, v)
		p.Visits = append(p.Visits, VisitRef{Bin: *b, Decision: d, DueByForecast: byForecast})
		p.Points = append(p.Points, LatLon{b.Lat, b.Lon})
	}
	p.Fleet.N = len(p.Points)
	p.Fleet.DistCost = 1
	p.Fleet.X, p.Fleet.Y = project(p.Points)
	return p, nil
}

func unplanned(d civic.BinDecision, why string) civic.BinDecision {
	d.Reason = "not planned: " + why + " (" + d.Reason + ")"
	return d
}

// project maps points to metres on a plane tangent at their centre, for
// the solver's geometric guidance.
func project(pts []LatLon) (x, y []float64) {
	if len(pts) == 0 {
		return nil, nil
	}
	var lat0, lon0 float64
	for _, p := range pts {
		lat0 += p.Lat
		lon0 += p.Lon
	}
	lat0 /= float64(len(pts))
	lon0 /= float64(len(pts))
	k := earthRadiusM * math.Pi / 180
	c := math.Cos(lat0 * math.Pi / 180)
	x, y = make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		x[i], y[i] = (p.Lon-lon0)*k*c, (p.Lat-lat0)*k
	}
	return x, y
}

// Assemble turns the solver's answer into the stream's routes, in truck
// order (Seq 1.. within the stream; Plan renumbers across streams), the
// must-go bins left out (those Build could not place, and mandatory visits
// the solver could not serve) and the figures of the stream. A truck with
// an empty route stays at its depot and gets no route. Times are absolute,
// from the service day's wall clock in the city's zone, in UTC.
func Assemble(p *Problem, sol route.FleetSolution) ([]civic.Route, []civic.BinDecision, civic.PlanStats) {
	var routes []civic.Route
	var st civic.PlanStats
	abs := func(sec float64) time.Time { return p.Day.at(0, sec).UTC() }
	for k, r := range sol.Routes {
		if k >= len(p.Trucks) || !hasVisit(r) {
			continue
		}
		t, veh := p.Trucks[k], p.Fleet.Vehicles[k]
		start, end := p.Depots[veh.Start], p.Depots[veh.End]
		rt := civic.Route{Seq: len(routes) + 1, TruckID: t.ID, DepotID: start.ID, Stream: p.Stream,
			Status: civic.RoutePlanned, Start: abs(veh.ShiftStart), DistanceM: r.Distance,
			DurationS: r.Duration, CapacityL: veh.Capacity}
		rt.Stops = append(rt.Stops, civic.Stop{Seq: 0, Kind: civic.StopDepot, Name: start.Name,
			Address: start.Address, Lat: start.Lat, Lon: start.Lon, ETA: rt.Start, Depart: rt.Start,
			Status: civic.StopPending})
		ended := false
		for _, fs := range r.Stops {
			// ETA is when work at the stop starts: a truck early for a
			// bin's window or a facility's opening waits before it, and
			// the crew's list should show the time they are to be there.
			s := civic.Stop{Seq: len(rt.Stops), ETA: abs(fs.Start), Depart: abs(fs.Depart),
				LoadBefore: fs.LoadBefore, LoadAfter: fs.LoadAfter, DistanceM: fs.Distance, Status: civic.StopPending}
			prev := rt.Stops[len(rt.Stops)-1]
			switch fs.Kind {
			case route.StopVisit:
				v := p.Visits[fs.Index]
				s.Kind, s.BinID, s.Name, s.Address = civic.StopBin, v.Bin.ID, v.Bin.Name, v.Bin.Address
				s.Lat, s.Lon, s.Window = v.Bin.Lat, v.Bin.Lon, v.Bin.AccessWindow
				s.Decision, s.Reason = v.Decision.Decision, v.Decision.Reason
				st.Planned++
			case route.StopFacility:
				f := p.Facilities[fs.Index]
				s.Kind, s.FacilityID, s.Name, s.Address, s.Lat, s.Lon = civic.StopDisposal, f.ID, f.Name, f.Address, f.Lat, f.Lon
				st.Disposals++
			case route.StopBreak:
				s.Kind, s.Name, s.Lat, s.Lon = civic.StopBreak, "break", prev.Lat, prev.Lon
			case route.StopEnd:
				s.Kind, s.Name, s.Address, s.Lat, s.Lon = civic.StopDepot, end.Name, end.Address, end.Lat, end.Lon
				s.Depart = s.ETA
				ended = true
			}
			rt.Stops = append(rt.Stops, s)
		}
		if !ended {
			// A solver that does not report the return: it ends the
			// route's duration after the shift's start.
			at := abs(veh.ShiftStart + r.Duration)
			rt.Stops = append(rt.Stops, civic.Stop{Seq: len(rt.Stops), Kind: civic.StopDepot, Name: end.Name,
				Address: end.Address, Lat: end.Lat, Lon: end.Lon, ETA: at, Depart: at, Status: civic.StopPending})
		}
		rt.End = rt.Stops[len(rt.Stops)-1].ETA
		st.DistanceM += r.Distance
		st.DurationS += r.Duration
		routes = append(routes, rt)
	}
	out := slices.Clone(p.Unplanned)
	served := make([]bool, len(p.Visits))
	for _, r := range sol.Routes {
		for _, s := range r.Stops {
			if s.Kind == route.StopVisit && s.Index >= 0 && s.Index < len(served) {
				served[s.Index] = true
			}
		}
	}
	for i, v := range p.Fleet.Visits {
		if !v.Optional && !served[i] {
			why := "no truck could fit it into its shift"
			if v.Vehicle > 0 {
				why = "truck " + p.Trucks[v.Vehicle-1].ID + " could not fit it into its shift"
			}
			out = append(out, unplanned(p.Visits[i].Decision, why))
		}
	}
	slices.SortFunc(out, func(a, b civic.BinDecision) int { return strings.Compare(a.BinID, b.BinID) })
	st.Objective = sol.Objective
	for _, v := range p.Fleet.Visits {
		if v.Optional {
			st.Prizes += v.Prize
		}
	}
	st.Unassigned = len(out)
	st.SolveS = sol.Elapsed.Seconds()
	return routes, out, st
}

func hasVisit(r route.FleetRoute) bool {
	for _, s := range r.Stops {
		if s.Kind == route.StopVisit {
			return true
		}
	}
	return false
}
