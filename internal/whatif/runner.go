package whatif

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/sim"
)

// runner simulates one policy.
type runner struct {
	o      Options
	policy string
	loc    *time.Location
	day0   time.Time // local midnight of the first simulated day
	city   *sim.City
	s      *sim.Sensors
	now    time.Time

	// What the city's systems see: the latest reading of each bin.
	readings bool
	devBin   map[string]int
	devScale map[string]civic.FillScale
	latest   []civic.BinState // Fill nil: no reading yet
	fc       *feed            // the planner's forecaster
	last     map[string]time.Time

	binZone []int
	zoneIx  map[string]int

	events []event
	next   int // first event not yet done

	memo map[uint64]memoPlan

	res    *PolicyResult
	week   int // index in res.Weeks of the current day
	prev   []sim.Ledger
	planNs time.Duration

	ex *explainer // Options.Explain

	// big is held, by the policies running at once, for a day of more
	// than bigDay bins (see planDay).
	big *sync.Mutex
}

// bigDay is the most bins a day may plan while other policies plan theirs:
// a routing problem's matrices take 32 bytes per pair of bins (distance
// and time, and the solver's single-precision copies), 1.8 GB for 7,500
// bins of one stream, so the largest days (a fixed schedule's every bin)
// are planned one at a time, and their garbage is collected before the
// next.
const bigDay = 2000

// planDay runs plan for a day of n bins, one big day at a time.
func (r *runner) planDay(n int, plan func() (civic.Plan, error)) (civic.Plan, error) {
	if n <= bigDay || r.big == nil {
		return plan()
	}
	r.big.Lock()
	defer r.big.Unlock()
	pl, err := plan()
	runtime.GC()
	return pl, err
}

// event is a bin emptied at a time.
type event struct {
	at  time.Time
	bin int
}

// memoPlan is a day's routes kept for days that visit the same bins,
// with times relative to the day's local midnight.
type memoPlan struct {
	midnight time.Time
	pl       civic.Plan
}

func newRunner(o Options, policy string, day0 time.Time, loc *time.Location) *runner {
	r := &runner{o: o, policy: policy, loc: loc, day0: day0, zoneIx: map[string]int{},
		last: map[string]time.Time{}, memo: map[uint64]memoPlan{}}
	r.res = &PolicyResult{Policy: policy, GeneratedByBin: make([]float64, len(o.City.Bins))}
	for i, z := range o.City.Zones {
		r.zoneIx[z.ID] = i
		r.res.Zones = append(r.res.Zones, ZoneFigures{Zone: z.ID})
	}
	r.binZone = make([]int, len(o.City.Bins))
	for i, b := range o.City.Bins {
		z, ok := r.zoneIx[b.ZoneID]
		if !ok {
			z = len(r.res.Zones)
			r.zoneIx[b.ZoneID] = z
			r.res.Zones = append(r.res.Zones, ZoneFigures{Zone: b.ZoneID})
		}
		r.binZone[i] = z
	}
	// The same city for every policy; only the policies that look at
	// the sensors pay for their readings. A bin's waste does not depend
	// on its sensor: the truth is the same either way.
	c := *o.City
	r.readings = policy == PolicyThreshold || policy == PolicyPlanner
	if r.readings {
		c.Devices = slices.Clone(o.City.Devices)
		r.devBin = make(map[string]int, len(c.Devices))
		r.devScale = make(map[string]civic.FillScale, len(c.Devices))
		for i := range c.Devices {
			d := &c.Devices[i]
			d.ExpectedInterval = int(o.ReadingInterval / time.Second)
			if bi, ok := o.City.BinIndex(d.BinID); ok {
				r.devBin[d.ID] = bi
				r.devScale[d.ID] = d.FillScale
			}
		}
		r.latest = make([]civic.BinState, len(c.Bins))
		for i, b := range c.Bins {
			r.latest[i].BinID = b.ID
		}
	} else {
		c.Devices = nil
	}
	r.city = &c
	if policy == PolicyPlanner {
		r.fc = newFeed(o.City, loc)
	}
	return r
}

func (r *runner) at(day time.Time, minutes int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, minutes, 0, 0, r.loc)
}

// run simulates the warm-up and the days.
func (r *runner) run(ctx context.Context, tick func()) (*PolicyResult, error) {
	first := r.at(r.day0, r.o.PlanAt)
	start := first.AddDate(0, 0, -r.o.WarmupDays)
	r.s = sim.NewSensors(r.city, sim.SensorParams{
		Seed: r.o.Seed, Start: start, Faults: r.o.Faults, StreetFairWeeks: r.o.StreetFairWeeks,
		Policy: sim.Policy{Kind: sim.PolicyFixed},
		OnCollect: func(c sim.Collection) {
			r.last[c.BinID] = c.Time
		},
	})
	r.now = start
	// The warm-up: the city's fixed schedule, identical for every policy.
	for r.now.Before(first) {
		if err := r.advance(earlier(r.now.Add(24*time.Hour), first)); err != nil {
			return nil, err
		}
		r.endWarmupDay()
	}
	if err := r.s.SetPolicy(sim.Policy{}); err != nil {
		return nil, err
	}
	if r.fc != nil {
		r.fc.train()
	}
	if r.o.Explain {
		r.ex = newExplainer(r)
		r.ex.hour(r, r.now)
	}
	r.prev = r.s.Ledgers()
	for _, l := range r.prev {
		r.res.Waste.InBinStart += l.InBin
	}
	for d := range r.o.Days {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		date := r.day0.AddDate(0, 0, d)
		planAt := r.at(date, r.o.PlanAt)
		y, w := date.ISOWeek()
		name := fmt.Sprintf("%d-W%02d", y, w)
		if n := len(r.res.Weeks); n == 0 || r.res.Weeks[n-1].Week != name {
			r.res.Weeks = append(r.res.Weeks, Week{Week: name})
		}
		r.week = len(r.res.Weeks) - 1
		r.res.Weeks[r.week].Days++
		t0 := time.Now()
		if err := r.decide(ctx, date, planAt); err != nil {
			return nil, err
		}
		r.planNs += time.Since(t0)
		if err := r.advance(r.at(date.AddDate(0, 0, 1), r.o.PlanAt)); err != nil {
			return nil, err
		}
		r.closeDay()
		if r.fc != nil {
			r.fc.endDay()
		}
		tick()
	}
	r.res.PlanSeconds = r.planNs.Seconds()
	if r.readings {
		r.res.SilentSensors = r.s.Silent()
	}
	if r.ex != nil {
		r.res.Explain = &r.ex.ex
	}
	return r.res, nil
}

func (r *runner) endWarmupDay() {
	if r.fc != nil {
		r.fc.endDay()
	}
}

// advance runs the sensors to `to` an hour at a time, emptying the bins
// whose stop comes on the way at its time.
func (r *runner) advance(to time.Time) error {
	for r.now.Before(to) {
		next := earlier(r.now.Add(time.Hour), to)
		for r.next < len(r.events) && !r.events[r.next].at.After(next) {
			e := r.events[r.next]
			r.next++
			fill, err := r.s.Empty(r.city.Bins[e.bin].ID, e.at)
			if err != nil {
				return err
			}
			r.visit(e, fill)
		}
		rs := r.s.Step(next)
		if r.readings {
			r.read(rs)
		}
		if r.ex != nil {
			r.ex.hour(r, next)
		}
		r.now = next
	}
	return nil
}

func (r *runner) visit(e event, fill float64) {
	f := Figures{Visits: 1}
	switch {
	case fill < 0.5:
		f.LowVisits = 1
	case fill >= 1:
		f.FullVisits = 1
	}
	r.res.Total.add(f)
	r.res.Weeks[r.week].add(f)
	r.res.Zones[r.binZone[e.bin]].add(f)
	r.last[r.city.Bins[e.bin].ID] = e.at
	if r.ex != nil {
		r.ex.visit(e.bin, fill)
	}
}

// read takes in the sensors' readings as ingest does: the fill on the
// device's scale becomes a fraction, the reading is tied to its bin.
func (r *runner) read(rs []civic.Reading) {
	for i := range rs {
		rd := &rs[i]
		bi, ok := r.devBin[rd.Device]
		if !ok || rd.Fill == nil {
			continue
		}
		// As civic.Reading.Normalize does, without the validation a
		// simulated reading does not need.
		f := min(r.devScale[rd.Device].ToFraction(*rd.Fill), 1)
		if !(f >= 0) {
			continue
		}
		st := &r.latest[bi]
		st.Device, st.Time, st.Fill, st.UpdatedAt = rd.Device, rd.Time, &f, rd.Time
		if r.fc != nil {
			r.fc.add(bi, rd.Time, f)
		}
	}
}

// closeDay books the day's waste, overflow and collections from the bins'
// ledgers.
func (r *runner) closeDay() {
	cur := r.s.Ledgers()
	for i := range cur {
		a, b := &r.prev[i], &cur[i]
		f := Figures{
			Overflows:        b.Overflows - a.Overflows,
			OverflowBinHours: b.FullHours - a.FullHours,
			OverflowedL:      b.Overflowed - a.Overflowed,
			CollectedL:       b.Collected - a.Collected,
			GeneratedL:       b.Generated - a.Generated,
		}
		r.res.Total.add(f)
		r.res.Weeks[r.week].add(f)
		r.res.Zones[r.binZone[i]].add(f)
		r.res.GeneratedByBin[i] += f.GeneratedL
		r.res.Waste.Generated += f.GeneratedL
		r.res.Waste.Collected += f.CollectedL
		r.res.Waste.Overflowed += f.OverflowedL
	}
	r.res.Waste.InBinEnd = 0
	for _, l := range cur {
		r.res.Waste.InBinEnd += l.InBin
	}
	r.prev = cur
}

// decide makes the day's plan under the policy and queues its stops.
func (r *runner) decide(ctx context.Context, date, planAt time.Time) error {
	wd := date.Weekday()
	var must []int
	var second []int // the fixed schedule's second round of the day
	switch r.policy {
	case PolicyDaily:
		if wd != time.Sunday {
			must = r.allBins()
		}
	case PolicyThrice:
		if wd == time.Monday || wd == time.Wednesday || wd == time.Friday {
			must = r.allBins()
		}
	case PolicyFixed:
		for i, b := range r.city.Bins {
			switch r.fixedRounds(b, planAt) {
			case 2:
				second = append(second, i)
				must = append(must, i)
			case 1:
				must = append(must, i)
			}
		}
	case PolicyThreshold:
		if wd != time.Sunday {
			for i, st := range r.latest {
				if st.Fill != nil && *st.Fill >= r.o.Threshold {
					must = append(must, i)
				}
			}
		}
	case PolicyPlanner, PolicyPerfect:
		// The same rule as for the schedules: a day the fleet cannot
		// serve every must-go bin is planned again with more trucks.
		pl, err := r.planDay(len(r.city.Bins)/2, func() (civic.Plan, error) {
			return r.withFleet(func(trucks []civic.Truck) (civic.Plan, error) {
				return plan.Plan(ctx, r.input(date, trucks), route.SolveFleet)
			})
		})
		if err != nil {
			return err
		}
		if r.ex != nil {
			r.ex.plan(r, pl.Decisions, nil, "")
		}
		r.book(pl, 0)
		return nil
	}
	if r.ex != nil {
		r.ex.plan(r, nil, must, "scheduled")
	}
	if len(must) == 0 {
		return nil
	}
	pl, err := r.route(ctx, date, must)
	if err != nil {
		return err
	}
	r.book(pl, 0)
	if len(second) > 0 {
		pl, err := r.route(ctx, date, second)
		if err != nil {
			return err
		}
		r.book(pl, 9*time.Hour)
	}
	return nil
}

func (r *runner) allBins() []int {
	all := make([]int, len(r.city.Bins))
	for i := range all {
		all[i] = i
	}
	return all
}

func (r *runner) input(date time.Time, trucks []civic.Truck) plan.PlanInput {
	in := plan.PlanInput{
		Day:           plan.Day{Date: date.Format(time.DateOnly), Loc: r.loc},
		Bins:          r.city.Bins,
		LastCollected: r.last,
		Trucks:        trucks,
		Depots:        r.city.Depots,
		Facilities:    r.city.Facilities,
		Settings:      *r.o.Settings,
		TimeLimit:     r.o.PlanTime,
		Options:       route.FleetOptions{Seed: int64(r.o.Seed), MaxIterations: r.o.MaxIterations},
	}
	switch r.policy {
	case PolicyPerfect:
		in.States, in.Forecasts = r.perfectInput(r.at(date, r.o.PlanAt))
	case PolicyPlanner:
		planAt := r.at(date, r.o.PlanAt)
		for _, st := range r.latest {
			if st.Fill != nil {
				in.States = append(in.States, st)
			}
		}
		in.Forecasts = r.fc.forecasts(planAt, r.latest)
	}
	return in
}

// route routes a day's must-go bins with the planner's matrix and solver.
// A fixed schedule is kept whatever it takes: when the city's fleet cannot
// serve every bin within its shifts, the day is routed again with the
// fleet doubled, up to eight times its size, and the extra trucks are
// reported. Days that visit the same bins reuse the routes.
func (r *runner) route(ctx context.Context, date time.Time, must []int) (civic.Plan, error) {
	h := fnv.New64a()
	var buf [4]byte
	for _, i := range must {
		buf[0], buf[1], buf[2], buf[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		h.Write(buf[:])
	}
	key := h.Sum64()
	midnight := r.at(date, 0)
	memoize := r.policy != PolicyThreshold
	if m, ok := r.memo[key]; ok && memoize {
		return shift(m.pl, midnight.Sub(m.midnight)), nil
	}
	decisions := make([]civic.BinDecision, 0, len(must))
	for _, i := range must {
		b := &r.city.Bins[i]
		decisions = append(decisions, civic.BinDecision{BinID: b.ID, Stream: b.Stream, Decision: civic.MustGo,
			LoadL: r.expectedLoad(i), Reason: r.policy})
	}
	pl, err := r.planDay(len(must), func() (civic.Plan, error) {
		return r.withFleet(func(trucks []civic.Truck) (civic.Plan, error) {
			in := r.input(date, trucks)
			// As much search per bin as the planner gets on a typical day, a
			// quarter of the city: daily collection's thousand-bin days get
			// four times its budget (they are searched once and reused).
			if f := float64(len(decisions)) / (float64(len(r.city.Bins)) / 4); f > 1 {
				in.TimeLimit = time.Duration(float64(in.TimeLimit) * f)
				in.Options.MaxIterations = int(float64(in.Options.MaxIterations) * f)
			}
			return plan.Route(ctx, in, decisions, route.SolveFleet)
		})
	})
	if err != nil {
		return civic.Plan{}, err
	}
	if memoize {
		r.memo[key] = memoPlan{midnight: midnight, pl: pl}
	}
	return pl, nil
}

// expectedLoad is the litres a policy expects to pick up at bin i: the
// latest reading for the threshold policy, and for the schedules the bin's
// mean rate over the days since its previous round.
func (r *runner) expectedLoad(i int) float64 {
	b := &r.city.Bins[i]
	if r.policy == PolicyThreshold && r.latest[i].Fill != nil {
		return min(*r.latest[i].Fill, 1) * b.CapacityL
	}
	days := 1.0
	switch r.policy {
	case PolicyThrice:
		days = 7.0 / 3
	case PolicyFixed:
		days = 1 // refined below
		n := 0
		for d := 1; d <= maxFixedDays; d++ {
			n++
			if r.fixedRounds(*b, r.now.AddDate(0, 0, -d)) > 0 {
				break
			}
		}
		days = float64(n)
	}
	return min(r.s.MeanRate(b.ID)*24*days, 1) * b.CapacityL
}

// fixedRounds is how many rounds the fixed schedule makes at b on the
// local day of day: the configured schedule's (Options.Fixed), else the
// one a city without sensors sets from its rough estimate of b's rate.
func (r *runner) fixedRounds(b civic.Bin, day time.Time) int {
	if r.o.Fixed != nil {
		return r.s.RoundsEvery(b.ID, day, r.o.Fixed.Every(b))
	}
	return r.s.FixedRounds(b.ID, day, 0)
}

// withFleet plans a day with the city's fleet and, while must-go bins are
// left out and more trucks help, again with another copy of the fleet of
// each stream that left bins out, at most three times. Every policy gets
// this rule: a city keeps its schedule, or empties the bins its planner
// says must go, by calling in trucks.
func (r *runner) withFleet(planWith func([]civic.Truck) (civic.Plan, error)) (civic.Plan, error) {
	trucks := r.city.Trucks
	pl, err := planWith(trucks)
	if err != nil {
		return civic.Plan{}, err
	}
	for k := 0; k < 3 && len(pl.Unplanned) > 0; k++ {
		more := moreTrucks(r.city.Trucks, trucks, pl.Unplanned)
		next, err := planWith(more)
		if err != nil {
			return civic.Plan{}, err
		}
		if len(next.Unplanned) >= len(pl.Unplanned) {
			break // more trucks do not help (a bin no truck can take)
		}
		pl, trucks = next, more
	}
	r.res.ExtraTrucks = max(r.res.ExtraTrucks, len(trucks)-len(r.city.Trucks))
	r.res.Unserved += len(pl.Unplanned)
	return pl, nil
}

// moreTrucks adds to trucks a copy of fleet's trucks of every stream with
// bins left out.
func moreTrucks(fleet, trucks []civic.Truck, left []civic.BinDecision) []civic.Truck {
	streams := map[civic.Stream]bool{}
	for _, d := range left {
		streams[d.Stream] = true
	}
	out := slices.Clone(trucks)
	for _, t := range fleet {
		if streams[t.Stream] {
			t.ID += "-x" + fmt.Sprint(len(out))
			t.Name += " (extra)"
			out = append(out, t)
		}
	}
	return out
}

// shift moves a plan's times by d.
func shift(pl civic.Plan, d time.Duration) civic.Plan {
	if d == 0 {
		return pl
	}
	out := pl
	out.Routes = make([]civic.Route, len(pl.Routes))
	for i, rt := range pl.Routes {
		rt.Start, rt.End = rt.Start.Add(d), rt.End.Add(d)
		rt.Stops = slices.Clone(rt.Stops)
		for k := range rt.Stops {
			rt.Stops[k].ETA = rt.Stops[k].ETA.Add(d)
			rt.Stops[k].Depart = rt.Stops[k].Depart.Add(d)
		}
		out.Routes[i] = rt
	}
	return out
}

// book counts a plan's routes and queues its bin stops, later by lag.
func (r *runner) book(pl civic.Plan, lag time.Duration) {
	for _, rt := range pl.Routes {
		f := Figures{Routes: 1, Km: rt.DistanceM / 1000, Hours: rt.DurationS / 3600}
		var bins []int
		for _, s := range rt.Stops {
			switch s.Kind {
			case civic.StopDisposal:
				f.Disposals++
			case civic.StopBin:
				bi, ok := r.city.BinIndex(s.BinID)
				if !ok {
					continue
				}
				bins = append(bins, bi)
				r.events = append(r.events, event{at: s.ETA.Add(lag), bin: bi})
				if r.ex != nil {
					r.ex.routed(bi, s.ETA.Add(lag))
				}
			}
		}
		r.res.Total.add(f)
		r.res.Weeks[r.week].add(f)
		// Kilometres and hours go to the zones by the route's stops.
		if len(bins) > 0 {
			share := 1 / float64(len(bins))
			for _, bi := range bins {
				z := &r.res.Zones[r.binZone[bi]]
				z.Km += f.Km * share
				z.Hours += f.Hours * share
			}
			seen := map[int]bool{}
			for _, bi := range bins {
				if zi := r.binZone[bi]; !seen[zi] {
					seen[zi] = true
					r.res.Zones[zi].Routes++
				}
			}
		}
	}
	// Keep the queue sorted and drop what is done.
	r.events = r.events[r.next:]
	r.next = 0
	slices.SortStableFunc(r.events, func(a, b event) int { return a.at.Compare(b.at) })
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
