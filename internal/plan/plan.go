package plan

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/route"
)

// SolveFunc solves one routing problem; route.SolveFleet is one, and the
// default when Plan or Reoptimise is given nil. Plan sets
// the options' TimeLimit (the stream's share of the budget), Seed,
// Initial and Progress, keeping the rest as given in PlanInput.Options.
type SolveFunc func(ctx context.Context, p *route.FleetProblem, o route.FleetOptions) (route.FleetSolution, error)

// Progress reports how far planning is: the stage ("decide", "matrix",
// "solve", "assemble") and the fraction of the whole run done, 0..1.
type Progress func(stage string, fraction float64)

// PlanInput is everything Plan needs for one service day.
type PlanInput struct {
	// Day is the service day; an empty Day.Start means the earliest shift
	// start of the active trucks.
	Day           Day
	Bins          []civic.Bin
	States        []civic.BinState
	Forecasts     map[string]civic.Forecast
	Alerts        []civic.Alert
	LastCollected map[string]time.Time
	Requests      []Request
	Trucks        []civic.Truck
	Depots        []civic.Depot
	Facilities    []civic.Facility
	Settings      civic.PlanSettings
	// Matrix computes travel times; nil means Haversine with the
	// settings' circuity and speed. Wrap it in a Memo kept with the plan
	// so that re-optimisations reuse the tables.
	Matrix Matrix
	// Fallback, if set, is used when Matrix fails (an OSRM server down at
	// five in the morning): a plan on estimated distances beats no plan.
	// The plan's Stats.Matrix then says so.
	Fallback Matrix
	// TimeLimit is the solver's budget for the whole day, shared between
	// the streams in proportion to their number of visits; 0 leaves each
	// solve to Options.
	TimeLimit time.Duration
	Options   route.FleetOptions
	DetourM   float64 // see BuildInput.DetourM
	Progress  Progress
}

// Plan plans one service day: it decides which bins to empty, builds one
// routing problem per stream, times the must-go visits by their forecasts
// (see serviceWindows: not so early that the bin fills up again before
// its next chance, not after it is forecast full, twice for a bin that
// fills faster than once a day; dropped again when the fleet cannot keep
// them all), computes its travel times, solves it with
// solve and assembles a draft civic.Plan (routes numbered 1.. across the
// streams, in stream order). The plan has no ID and no creation time: the
// caller stores it. It fails with Invalid for a bad day or fleet (see
// Build), Unavailable when the travel times cannot be computed and there
// is no fallback, and with the solver's or the context's error.
func Plan(ctx context.Context, in PlanInput, solve SolveFunc) (civic.Plan, error) {
	prog := in.Progress
	if prog == nil {
		prog = func(string, float64) {}
	}
	if in.Day.Start == "" {
		in.Day.Start = earliestShift(in.Trucks)
	}
	if in.Day.End == "" {
		in.Day.End = latestShiftEnd(in.Trucks)
	}
	if err := in.Day.check(); err != nil {
		return civic.Plan{}, err
	}
	prog("decide", 0)
	decisions := Decide(DecideInput{Day: in.Day, Bins: in.Bins, States: in.States, Forecasts: in.Forecasts,
		Alerts: in.Alerts, LastCollected: in.LastCollected, Requests: in.Requests, Settings: in.Settings})
	prog("decide", 0.05)
	pl, err := run(ctx, in, decisions, nil, nil, solve)
	if err != nil {
		return civic.Plan{}, err
	}
	return pl, nil
}

// run builds, solves and assembles every stream with due bins.
// pins and initial (bin id → truck id, and each truck's current bin
// order) come from a re-optimisation. Must-go bins get the service
// windows their forecasts (in.Forecasts) ask for (serviceWindows).
func run(ctx context.Context, in PlanInput, decisions []civic.BinDecision, pins map[string]string, initial map[string][]string, solve SolveFunc) (civic.Plan, error) {
	prog := in.Progress
	if prog == nil {
		prog = func(string, float64) {}
	}
	if solve == nil {
		solve = route.SolveFleet
	}
	m := in.Matrix
	if m == nil {
		m = Haversine{Circuity: in.Settings.Circuity, SpeedKmh: in.Settings.SpeedKmh}
	}
	pl := civic.Plan{Date: in.Day.Date, Status: civic.PlanDraft, Decisions: decisions, Routes: []civic.Route{}}
	for _, d := range decisions {
		switch d.Decision {
		case civic.MustGo:
			pl.Stats.MustGo++
		case civic.MayGo:
			pl.Stats.MayGo++
		default:
			pl.Stats.Skipped++
		}
	}
	var probs []*Problem
	for _, s := range civic.Streams {
		p, err := Build(BuildInput{Day: in.Day, Stream: s, Decisions: decisions, Bins: in.Bins, Trucks: in.Trucks,
			Depots: in.Depots, Facilities: in.Facilities, Settings: in.Settings, DetourM: in.DetourM, Pins: pins})
		if err != nil {
			return civic.Plan{}, err
		}
		if len(p.Visits) > 0 || len(p.Unplanned) > 0 {
			probs = append(probs, p)
		}
	}

	// Travel times: 5-25 % of the progress bar.
	matrixName := m.Name()
	for i, p := range probs {
		if len(p.Visits) == 0 {
			continue
		}
		d, t, err := m.Table(ctx, p.Points)
		if err != nil && in.Fallback != nil && ctx.Err() == nil {
			matrixName = in.Fallback.Name() + " (" + m.Name() + " failed)"
			m = in.Fallback
			d, t, err = m.Table(ctx, p.Points)
		}
		if err != nil {
			if ctx.Err() != nil {
				return civic.Plan{}, ctx.Err()
			}
			return civic.Plan{}, civic.Wrap(civic.Unavailable, err, "travel times are unavailable")
		}
		p.SetMatrix(d, t)
		prog("matrix", 0.05+0.2*float64(i+1)/float64(len(probs)))
	}
	pl.Stats.Matrix = matrixName

	// Solving: 25-95 %, shared by the streams as the budget is. A
	// stream's share grows as its visits to the power 1.5: the search's
	// work grows faster than the number of visits (each move looks at more
	// routes and longer ones), while a one-truck stream of a hundred bins
	// converges in a second or two.
	weight := func(p *Problem) float64 { return math.Pow(float64(len(p.Visits)), 1.5) }
	total := 0.0
	for _, p := range probs {
		if len(p.Fleet.Vehicles) > 0 {
			total += weight(p)
		}
	}
	done := 0.0
	for _, p := range probs {
		var sol route.FleetSolution
		if len(p.Visits) > 0 && len(p.Fleet.Vehicles) > 0 {
			share := weight(p) / total
			base := 0.25 + 0.7*done/total
			o := in.Options
			if in.TimeLimit > 0 {
				o.TimeLimit = time.Duration(float64(in.TimeLimit) * share)
			}
			if o.TimeLimit > 0 {
				limit := o.TimeLimit
				o.Progress = func(elapsed time.Duration, _ float64) {
					prog("solve", base+0.7*share*min(float64(elapsed)/float64(limit), 1))
				}
			}
			if initial != nil {
				o.Initial = warmStart(p, initial)
			}
			windows := serviceWindows(p, in)
			prog("solve", base)
			var err error
			sol, err = solve(ctx, &p.Fleet, o)
			if err != nil {
				return civic.Plan{}, fmt.Errorf("plan: solving %s: %w", p.Stream, err)
			}
			// A solve again starts from the last answer and takes half the
			// budget: at most two of them, so a day's plan takes at most
			// twice its budget.
			o.TimeLimit /= 2
			if leftOut(p, sol) && easeLeftOut(p, windows, sol, in.DetourM) {
				// The windows of the must-go visits left out cost the
				// fleet those bins: they go, the other windows stay.
				o.Initial = &sol
				if sol, err = solve(ctx, &p.Fleet, o); err != nil {
					return civic.Plan{}, fmt.Errorf("plan: solving %s: %w", p.Stream, err)
				}
			}
			if leftOut(p, sol) && (liftWindows(p, windows) || p.RelaxForecastDues()) {
				p.RelaxForecastDues()
				// Bins due early by their forecasts cost the fleet a
				// must-go bin: served late beats not served.
				o.Initial = &sol
				if sol, err = solve(ctx, &p.Fleet, o); err != nil {
					return civic.Plan{}, fmt.Errorf("plan: solving %s: %w", p.Stream, err)
				}
			}
			done += weight(p)
		}
		routes, unpl, st := Assemble(p, sol)
		pl.Routes = append(pl.Routes, routes...)
		pl.Unplanned = append(pl.Unplanned, unpl...)
		pl.Stats.Planned += st.Planned
		pl.Stats.DistanceM += st.DistanceM
		pl.Stats.DurationS += st.DurationS
		pl.Stats.SolveS += st.SolveS
		pl.Stats.Objective += st.Objective
		pl.Stats.Prizes += st.Prizes
		pl.Stats.Disposals += st.Disposals
		pl.Stats.Unassigned += st.Unassigned
	}
	prog("assemble", 0.95)
	for i := range pl.Routes {
		pl.Routes[i].Seq = i + 1
	}
	slices.SortFunc(pl.Unplanned, func(a, b civic.BinDecision) int { return strings.Compare(a.BinID, b.BinID) })
	prog("assemble", 1)
	return pl, nil
}

// serviceWindows times the must-go visits of p whose bins have a
// forecast (in.Forecasts) and no access window. A bin emptied too early
// in the day fills up again before the next service day's trucks can
// reach it (nextChance); emptied too late, it is full before the truck
// comes (its forecast full time, the Due Build set). So the visit starts
// no earlier than the time that makes the emptied bin last, at its
// forecast's average rate, until that next chance, and no later than its
// full time. A bin that cannot be made to last that long (it fills faster
// than once a day) is served twice: as soon as it is full (or the trucks
// can get there), and again late enough to last until the next chance,
// or as late as the shifts allow. It returns the changes; liftWindows
// undoes them when the fleet cannot keep them all.
func serviceWindows(p *Problem, in PlanInput) timing {
	var tm timing
	if len(in.Forecasts) == 0 || len(p.Fleet.Vehicles) == 0 {
		return tm
	}
	first, last := math.Inf(1), math.Inf(-1)
	for _, v := range p.Fleet.Vehicles {
		first, last = min(first, v.ShiftStart), max(last, v.ShiftEnd)
	}
	lead := DueLead.Seconds()
	midnight := in.Day.at(0, 0)
	d := decider{day: in.Day, set: &in.Settings, start: in.Day.at(0, float64(in.Day.startMin())*60)}
	secs := func(t time.Time) float64 { return t.Sub(midnight).Seconds() }
	n := len(p.Visits)
	for i := range n {
		v, ref := &p.Fleet.Visits[i], p.Visits[i]
		fc, ok := in.Forecasts[ref.Bin.ID]
		if v.Optional || v.Vehicle > 0 || ref.Bin.AccessWindow != "" || ref.Decision.Decision != civic.MustGo ||
			!ok || !(fc.RatePerHour > 0) {
			continue
		}
		pol := in.Settings.Policy(ref.Bin.ZoneID, ref.Bin.Stream)
		thr := pol.MustGoLine(&ref.Bin)
		next := secs(d.nextChance(&ref.Bin, d.nextService(pol)))
		lasts := next - thr/fc.RatePerHour*3600 // emptied from then on, it lasts
		full := math.Inf(1)
		switch {
		case v.Due > 0:
			full = v.Due
		case ref.Decision.FullAt != nil:
			full = secs(*ref.Decision.FullAt)
		}
		latest := last - v.Service - lead // late enough for a truck to get there
		// A second visit needs the bin's own history to say it fills that
		// fast (SecondVisitConfidence): a bin whose rate is still mostly
		// its zone's average, a new one say, is visited once.
		if soon := max(full, first+lead); lasts > soon+lead && latest > soon+lead && fc.Confidence >= SecondVisitConfidence {
			// Twice: as soon as it is full, and again later.
			tm.windows = append(tm.windows, i)
			v.Due = soon
			second := *v
			second.Ready, second.Due = min(lasts, latest), 0
			second.Demand = math.Min(v.Demand, thr*ref.Bin.CapacityL)
			p.Fleet.Visits = append(p.Fleet.Visits, second)
			ref.Decision.Reason += "; fills faster than once a day: a second visit"
			p.Visits = append(p.Visits, ref)
			tm.seconds = append(tm.seconds, len(p.Fleet.Visits)-1)
			continue
		}
		ready, due := v.Ready, v.Due
		if lasts <= full {
			ready = max(ready, lasts)
		} else {
			ready, due = max(ready, full), lasts
		}
		// Windows the shifts cannot honour are no windows.
		if ready <= first+lead || ready >= latest {
			ready = v.Ready
		}
		if due >= last-v.Service || due <= first+lead {
			due = v.Due
		}
		if due > 0 && ready > due {
			continue
		}
		if ready != v.Ready || due != v.Due {
			v.Ready, v.Due = ready, due
			tm.windows = append(tm.windows, i)
		}
	}
	return tm
}

// SecondVisitConfidence is the least forecast confidence (the weight of a
// bin's own history against its zone's and stream's average) at which a
// bin that fills faster than once a day is given a second visit.
const SecondVisitConfidence = 0.5

// timing is what serviceWindows changed: the visits it gave windows and
// the second visits it added.
type timing struct{ windows, seconds []int }

// liftWindows drops the windows serviceWindows set on p (and Build's
// forecast dues with them) and makes its second visits optional, worth
// nothing; it reports whether there was anything to lift.
func liftWindows(p *Problem, tm timing) bool {
	for _, i := range tm.windows {
		p.Fleet.Visits[i].Ready, p.Fleet.Visits[i].Due = 0, 0
	}
	for _, i := range tm.seconds {
		p.Fleet.Visits[i].Ready, p.Fleet.Visits[i].Due = 0, 0
		p.Fleet.Visits[i].Optional, p.Fleet.Visits[i].Prize = true, 0
	}
	return len(tm.windows)+len(tm.seconds) > 0
}

// easeLeftOut eases what serviceWindows set on the mandatory visits sol
// leaves out: a second visit becomes optional, worth a may-go bin's
// detour (detourM, DefaultDetourM when 0), so that it is made when it
// fits; a first or only visit loses its window. The other visits keep
// theirs: on a Saturday, say, the late visits that make bins last until
// Monday. It reports whether it eased anything; when that is not enough,
// liftWindows drops every window.
func easeLeftOut(p *Problem, tm timing, sol route.FleetSolution, detourM float64) bool {
	if !(detourM > 0) {
		detourM = DefaultDetourM
	}
	timed := map[int]bool{}
	for _, i := range tm.windows {
		timed[i] = true
	}
	second := map[int]bool{}
	for _, i := range tm.seconds {
		second[i] = true
	}
	eased := false
	for _, i := range sol.Unvisited {
		v := &p.Fleet.Visits[i]
		switch {
		case v.Optional:
		case second[i]:
			v.Optional, v.Prize = true, detourM
			eased = true
		case timed[i]:
			v.Ready, v.Due = 0, 0
			eased = true
		}
	}
	return eased
}

// leftOut reports whether sol leaves out a mandatory visit of p.
func leftOut(p *Problem, sol route.FleetSolution) bool {
	for _, i := range sol.Unvisited {
		if !p.Fleet.Visits[i].Optional {
			return true
		}
	}
	return false
}

// latestShiftEnd is the latest shift end of the active trucks, or "".
func latestShiftEnd(trucks []civic.Truck) string {
	best, s := -1, ""
	for _, t := range trucks {
		if t.Status != civic.StatusActive {
			continue
		}
		if m, err := civic.ParseClock(t.ShiftEnd); err == nil && m > best {
			best, s = m, t.ShiftEnd
		}
	}
	return s
}

// earliestShift is the earliest shift start of the active trucks, or "".
func earliestShift(trucks []civic.Truck) string {
	best, s := -1, ""
	for _, t := range trucks {
		if t.Status != civic.StatusActive {
			continue
		}
		if m, err := civic.ParseClock(t.ShiftStart); err == nil && (best < 0 || m < best) {
			best, s = m, t.ShiftStart
		}
	}
	return s
}

// Edit is a supervisor's change to a draft plan: move bin BinID to the
// route numbered Route (its Seq), or, with Route 0, drop it from the plan.
// By names the supervisor in the bin's new reason ("dropped by ana");
// "a supervisor" when empty.
type Edit struct {
	BinID string
	Route int
	By    string
}

// Reoptimise applies a supervisor's edits to a draft plan and re-solves
// it. A moved bin is pinned to its route's truck (and becomes a must-go,
// even if it was skipped), its reason saying so ("moved to route 2 by
// ana", or "added to ..." for a bin no route held); a dropped bin becomes
// a skip "dropped by ana". The result's Decisions carry those changes:
// store them with the routes. The rest is
// solved again, warm-started from the current routes (without the edited
// bins), so that routes change only where the edit or a real improvement
// asks for it. in supplies the bins, fleet, settings, matrix and budget as
// for Plan, and in.Day the zone and collection start (the date is the
// plan's); its readings and alerts are not used: the plan's decisions
// stand. Its forecasts, when given, time the must-go visits as Plan does
// (serviceWindows: a bin served late enough to last until its next
// chance, twice when it fills faster than once a day); a moved bin is the
// supervisor's to time. The result keeps the plan's ID, date and status.
//
// It fails with Conflict when the plan is not a draft and with Invalid
// when an edit names a bin not in the plan or a route that does not exist.
func Reoptimise(ctx context.Context, pl civic.Plan, edits []Edit, in PlanInput, solve SolveFunc) (civic.Plan, error) {
	if pl.Status != civic.PlanDraft {
		return civic.Plan{}, civic.Errorf(civic.Conflict, "plan %s is %s: only a draft can be edited", pl.ID, pl.Status)
	}
	in.Day.Date = pl.Date
	if in.Day.Start == "" {
		in.Day.Start = earliestShift(in.Trucks)
	}
	decisions := slices.Clone(pl.Decisions)
	at := map[string]int{}
	for i, d := range decisions {
		at[d.BinID] = i
	}
	pins := map[string]string{}
	// The current routes, minus the edited bins.
	initial := map[string][]string{}
	edited := map[string]bool{}
	for _, e := range edits {
		edited[e.BinID] = true
	}
	planned := map[string]bool{}
	for _, r := range pl.Routes {
		var order []string
		for _, s := range r.Stops {
			if s.Kind == civic.StopBin {
				planned[s.BinID] = true
			}
			if s.Kind == civic.StopBin && !edited[s.BinID] {
				order = append(order, s.BinID)
			}
		}
		initial[r.TruckID] = order
	}
	for i, e := range edits {
		k, ok := at[e.BinID]
		if !ok {
			return civic.Plan{}, civic.FieldError(fmt.Sprintf("edits[%d].bin_id", i), "bin %q is not in the plan", e.BinID)
		}
		d := &decisions[k]
		by := e.By
		if by == "" {
			by = "a supervisor"
		}
		if e.Route == 0 {
			d.Decision, d.Reason = civic.Skip, "dropped by "+by
			delete(pins, e.BinID)
			continue
		}
		if e.Route < 0 || e.Route > len(pl.Routes) {
			return civic.Plan{}, civic.FieldError(fmt.Sprintf("edits[%d].route", i), "plan has no route %d", e.Route)
		}
		r := pl.Routes[e.Route-1]
		if r.Stream != d.Stream {
			return civic.Plan{}, civic.FieldError(fmt.Sprintf("edits[%d].route", i), "route %d collects %s, bin %s is %s", e.Route, r.Stream, e.BinID, d.Stream)
		}
		verb := "added"
		if planned[e.BinID] {
			verb = "moved"
		}
		change := fmt.Sprintf("%s to route %d by %s", verb, e.Route, by)
		if d.Decision == civic.MustGo {
			if why := earlierReason(d.Reason); why != "" {
				change = why + "; " + change
			}
		}
		d.Decision, d.Reason = civic.MustGo, change
		pins[e.BinID] = r.TruckID
		// Start the truck's route with the bin appended: the solver
		// finds it a better place.
		initial[r.TruckID] = append(initial[r.TruckID], e.BinID)
	}
	out, err := run(ctx, in, decisions, pins, initial, solve)
	if err != nil {
		return civic.Plan{}, err
	}
	out.ID, out.Status, out.CreatedAt, out.CreatedBy = pl.ID, pl.Status, pl.CreatedAt, pl.CreatedBy
	for i := range out.Routes {
		out.Routes[i].PlanID = pl.ID
	}
	return out, nil
}

// earlierReason is a must-go bin's reason without the note of an earlier
// edit, so that moving a bin twice names the last move only.
func earlierReason(reason string) string {
	for _, note := range []string{"moved to route ", "added to route "} {
		if i := strings.Index(reason, note); i >= 0 {
			reason = strings.TrimSuffix(reason[:i], "; ")
		}
	}
	return reason
}

// warmStart turns each truck's bin order into a solution of p: the
// solver keeps the visit orders and recomputes unloads and breaks. A bin
// named twice (its second visit of the day) takes its visits in order.
func warmStart(p *Problem, order map[string][]string) *route.FleetSolution {
	visits := make(map[string][]int, len(p.Visits))
	for i, v := range p.Visits {
		visits[v.Bin.ID] = append(visits[v.Bin.ID], i)
	}
	sol := &route.FleetSolution{Routes: make([]route.FleetRoute, len(p.Trucks))}
	used := make([]bool, len(p.Visits))
	for k, t := range p.Trucks {
		var seq []int
		for _, id := range order[t.ID] {
			for _, i := range visits[id] {
				if !used[i] {
					seq = append(seq, i)
					used[i] = true
					break
				}
			}
		}
		r, _ := p.Fleet.Schedule(k, seq)
		if len(r.Stops) == 0 {
			for _, i := range seq {
				r.Stops = append(r.Stops, route.FleetStop{Kind: route.StopVisit, Index: i})
			}
		}
		sol.Routes[k] = r
	}
	for i, u := range used {
		if !u {
			sol.Unvisited = append(sol.Unvisited, i)
		}
	}
	return sol
}
