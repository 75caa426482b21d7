// Package whatif is civic's what-if simulator: it runs a generated (or
// hand-built) city for a number of days under several collection policies
// side by side — fixed schedules, a sensor threshold, and civic's own
// planner — and accounts for what each costs and what it leaves on the
// street. A hand-built city is how a city simulates its own bins: civic
// simulate builds one from a database, each bin's waste a day and weekly
// rhythm measured from its readings (forecast.FillRates,
// sim.RhythmFit), and says so in Options.CityNote.
//
// Every policy runs its own sim.Sensors built from the same city and seed,
// so every policy sees the same waste: the same fill rates, the same daily
// variation, the same street fairs, the same sensor noise. Only what the
// policies do differs: which bins they empty, when. All of them are routed
// with the same travel matrix and the same solver (plan.Route, plan.Plan and
// route.SolveFleet), so their kilometres compare.
//
// It lives beside internal/sim rather than in it because it drives the
// planner and the forecaster, and the forecaster's own tests use sim: sim
// cannot import them.
package whatif

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// The policies Run knows, in the order they are reported.
const (
	PolicyDaily     = "daily"     // every bin Monday to Saturday
	PolicyThrice    = "3x"        // every bin Monday, Wednesday and Friday
	PolicyFixed     = "fixed"     // the city's schedule per bin (sim.PolicyFixed)
	PolicyThreshold = "threshold" // the bins whose sensor reads at least Threshold, Monday to Saturday
	PolicyPlanner   = "planner"   // civic's planner: forecast, Decide, routes
	// PolicyPerfect is civic's planner told each bin's true fill and
	// exactly when it fills (see perfectInput): not a policy a city can
	// run, but the most better forecasts could gain. Asked for by name only.
	PolicyPerfect = "perfect"
)

// Policies lists the policies compared by default, in report order.
var Policies = []string{PolicyDaily, PolicyThrice, PolicyFixed, PolicyThreshold, PolicyPlanner}

// AllPolicies lists every policy, in report order: Policies and
// PolicyPerfect.
var AllPolicies = append(slices.Clone(Policies), PolicyPerfect)

// Defaults for Options.
const (
	DefaultDays            = 365
	DefaultThreshold       = 0.8
	DefaultPlanTime        = 200 * time.Millisecond
	DefaultWarmupDays      = 28
	DefaultReadingInterval = time.Hour
	DefaultPlanAt          = 5 * 60 // 05:00
	DefaultMaxIterations   = 2500
)

// Options configures Run. Zero fields take the defaults noted.
type Options struct {
	// City is the city simulated; nil generates one with Bins bins from
	// Seed (sim.GenerateCity).
	City *sim.City
	// CityNote, when set, replaces the report's first assumption (the
	// city is synthetic) with its words: say where a City given by the
	// caller comes from and how its fill rates were set.
	CityNote string
	Bins     int
	Days     int // default DefaultDays
	Seed     uint64
	// Policies to compare, from AllPolicies; empty means Policies.
	Policies []string
	// Fixed, when set, is the fixed policy's schedule; nil means the
	// one a city without sensors sets per bin from a rough estimate of its
	// rate (sim.Sensors.FixedRounds).
	Fixed *FixedSchedule
	// Threshold is the threshold policy's fill, 0..1; default 0.8.
	Threshold float64
	// PlanTime is the route solver's budget per simulated day and policy
	// (all streams); default DefaultPlanTime.
	PlanTime time.Duration
	// MaxIterations also ends each day's route search, whichever comes
	// first (route.FleetOptions.MaxIterations): small days then stop once
	// the search has settled instead of running out the clock. 0 means
	// DefaultMaxIterations; negative means no cap.
	MaxIterations int
	// WarmupDays of the city's fixed schedule run before the first day,
	// identical for every policy, so that the planner's forecaster has a
	// history to learn from; default DefaultWarmupDays, negative none.
	WarmupDays int
	// ReadingInterval is how often the simulated sensors report; default
	// hourly (real ones send a few uplinks an hour: hourly keeps a year of
	// a thousand bins within the time budget and the latest reading is
	// what the planner uses).
	ReadingInterval time.Duration
	// PlanAt is when each day's collections are decided, in minutes after
	// local midnight; default 05:00, before the first shift.
	PlanAt int
	// Faults are the sensors' faults; nil means sim.DefaultFaults().
	Faults *sim.Faults
	// StreetFairWeeks is as in sim.SensorParams.
	StreetFairWeeks int
	Costs           Costs
	// Settings are the planner's; zero means civic.DefaultPlanSettings().
	Settings *civic.PlanSettings
	// Progress, if set, is called after every simulated day of every
	// policy with the days done and the total; from several goroutines,
	// never at once.
	Progress func(done, total int)
	// Parallel is how many policies run at once; 0 means GOMAXPROCS.
	Parallel int
	// Explain fills each policy's Explain: where its overflow and its
	// visits came from. It costs a pass over the bins every simulated hour.
	Explain bool
}

func (o Options) withDefaults() (Options, error) {
	if o.City == nil {
		if o.Bins < 1 {
			return o, civic.FieldError("bins", "must be at least 1")
		}
		o.City = sim.GenerateCity(sim.CityParams{Bins: o.Bins, Seed: o.Seed})
	}
	o.Bins = len(o.City.Bins)
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Days < 1 || o.Days > 3660 {
		return o, civic.FieldError("days", "must be between 1 and 3660")
	}
	if len(o.Policies) == 0 {
		o.Policies = Policies
	}
	for _, p := range o.Policies {
		if !slices.Contains(AllPolicies, p) {
			return o, civic.FieldError("policies", "unknown policy %q: want some of %v", p, AllPolicies)
		}
	}
	// Report order, whatever order they were asked in.
	var ps []string
	for _, p := range AllPolicies {
		if slices.Contains(o.Policies, p) {
			ps = append(ps, p)
		}
	}
	o.Policies = ps
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if !(o.Threshold > 0 && o.Threshold <= 1) {
		return o, civic.FieldError("threshold", "must be a fraction in (0, 1]")
	}
	if o.PlanTime <= 0 {
		o.PlanTime = DefaultPlanTime
	}
	if o.MaxIterations == 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	o.MaxIterations = max(o.MaxIterations, 0)
	if o.WarmupDays == 0 {
		o.WarmupDays = DefaultWarmupDays
	}
	o.WarmupDays = max(o.WarmupDays, 0)
	if o.ReadingInterval <= 0 {
		o.ReadingInterval = DefaultReadingInterval
	}
	if o.PlanAt <= 0 {
		o.PlanAt = DefaultPlanAt
	}
	if o.Settings == nil {
		s := civic.DefaultPlanSettings()
		o.Settings = &s
	}
	o.Costs = o.Costs.withDefaults()
	if o.Parallel <= 0 {
		o.Parallel = runtime.GOMAXPROCS(0)
	}
	return o, nil
}

// Run simulates opts.Days days of the city under every policy asked for
// and returns the figures. It fails with Invalid for bad options and with
// the planner's or ctx's error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	loc := o.City.Params.Location
	if loc == nil {
		loc = sim.DefaultLocation
	}
	first := o.City.Params.Start
	if first.IsZero() {
		first = sim.DefaultStart
	}
	y, m, d := first.In(loc).Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, loc)

	res := &Result{
		Bins: o.Bins, Days: o.Days, Seed: o.Seed, Own: o.CityNote != "", Threshold: o.Threshold, PlanTime: o.PlanTime,
		From: day0.Format(time.DateOnly), To: day0.AddDate(0, 0, o.Days-1).Format(time.DateOnly),
		Costs: o.Costs, Zones: zoneNames(o.City),
	}
	runs := make([]*PolicyResult, len(o.Policies))
	errs := make([]error, len(o.Policies))
	var done atomic.Int64
	var progMu sync.Mutex
	total := o.Days * len(o.Policies)
	tick := func() {
		n := done.Add(1)
		if o.Progress != nil {
			progMu.Lock()
			o.Progress(int(n), total)
			progMu.Unlock()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, o.Parallel)
	var big sync.Mutex
	var wg sync.WaitGroup
	// The planner, the slowest, starts first.
	order := slices.Clone(o.Policies)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(weight(b), weight(a)) })
	for _, p := range order {
		i := slices.Index(o.Policies, p)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rn := newRunner(o, p, day0, loc)
			rn.big = &big
			r, err := rn.run(ctx, tick)
			if err != nil {
				cancel()
			}
			runs[i], errs[i] = r, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("whatif: policy %s: %w", o.Policies[i], err)
		}
	}
	res.Policies = make([]PolicyResult, len(runs))
	for i, r := range runs {
		r.finish(o.Costs)
		res.Policies[i] = *r
	}
	res.Assumptions = assumptions(o)
	res.Elapsed = time.Since(start)
	res.Summary = res.summary()
	return res, nil
}

// weight orders the policies by how long they take.
func weight(p string) int {
	switch p {
	case PolicyPlanner, PolicyPerfect:
		return 3
	case PolicyThreshold:
		return 2
	}
	return 1
}

func zoneNames(c *sim.City) []Zone {
	zs := make([]Zone, 0, len(c.Zones))
	for _, z := range c.Zones {
		zs = append(zs, Zone{ID: z.ID, Name: z.Name})
	}
	return zs
}
