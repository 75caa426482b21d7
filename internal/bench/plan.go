package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/sim"
)

// PlanOptions configures Plan.
type PlanOptions struct {
	Bins   int           // the generated city's bins
	Due    int           // bins that must be emptied on the day
	MayGo  int           // nearly full bins the solver may add; <0 means Due/2
	Trucks int           // the fleet, shared between the streams by their due bins
	Time   time.Duration // the solver's budget for the day (all streams)
	// Reference, if positive, solves the same day again with this budget
	// and reports the gap of the first plan to it.
	Reference time.Duration
	Seed      uint64
	// CPU counts the solver's budgets in CPU time of this process per
	// thread (process CPU time divided by GOMAXPROCS), which a quiet
	// machine turns into the same wall clock: fair comparisons on a busy
	// one. The reported times stay wall clock.
	CPU bool
	// CPUProfile, if set, is where a CPU profile of the first plan (not
	// the reference) is written.
	CPUProfile string
	Out        io.Writer // the result lines
	Progress   io.Writer // progress bars; nil means none
}

// PlanDay is a generated service day, ready for plan.Plan.
type PlanDay struct {
	Input plan.PlanInput
	Due   int // bins made due
	MayGo int
}

// GeneratePlanDay builds the benchmark's service day: a generated city of
// o.Bins bins (sim.GenerateCity), of which o.Due chosen at random read
// 90 % full (over every threshold: must-go), o.MayGo read 65-75 % (may-go)
// and the rest 5-40 %; every bin was last emptied the day before (so none
// is a hygiene case); no forecasts (the last reading holds); a fleet of
// o.Trucks trucks of the city's kinds, shared between the streams in
// proportion to their due bins (at least one per stream with any),
// alternating between the depots; the city's facilities.
func GeneratePlanDay(o PlanOptions) (PlanDay, error) {
	if o.Bins < 1 || o.Due < 0 || o.Due > o.Bins || o.Trucks < 1 {
		return PlanDay{}, civic.FieldError("due", "need 0 <= due <= bins and at least one truck")
	}
	if o.MayGo < 0 {
		o.MayGo = o.Due / 2
	}
	o.MayGo = min(o.MayGo, o.Bins-o.Due)
	date := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) // a Tuesday
	city := sim.GenerateCity(sim.CityParams{Bins: o.Bins, Seed: o.Seed, Start: date.AddDate(-1, 0, 0)})
	rng := rand.New(rand.NewPCG(o.Seed, 0xb1a5))
	order := rng.Perm(len(city.Bins))
	now := date.Add(5 * time.Hour)
	states := make([]civic.BinState, len(city.Bins))
	last := make(map[string]time.Time, len(city.Bins))
	dueByStream := map[civic.Stream]int{}
	for k, i := range order {
		b := city.Bins[i]
		var fill float64
		switch {
		case k < o.Due:
			fill = 0.9
			dueByStream[b.Stream]++
		case k < o.Due+o.MayGo:
			fill = 0.65 + 0.1*rng.Float64()
		default:
			fill = 0.05 + 0.35*rng.Float64()
		}
		states[i] = civic.BinState{BinID: b.ID, Device: "S-" + b.ID, Time: now.Add(-10 * time.Minute), Fill: &fill, UpdatedAt: now}
		last[b.ID] = date.Add(-18 * time.Hour)
	}
	trucks := benchFleet(city, dueByStream, o.Trucks)
	settings := civic.DefaultPlanSettings()
	in := plan.PlanInput{
		Day:           plan.Day{Date: date.Format(time.DateOnly), Loc: time.UTC},
		Bins:          city.Bins,
		States:        states,
		LastCollected: last,
		Trucks:        trucks,
		Depots:        city.Depots,
		Facilities:    city.Facilities,
		Settings:      settings,
		TimeLimit:     o.Time,
		Options:       route.FleetOptions{Seed: int64(o.Seed), Threads: runtime.GOMAXPROCS(0)},
	}
	if o.CPU {
		in.Options.Clock = perThreadCPUClock(runtime.GOMAXPROCS(0))
	}
	return PlanDay{Input: in, Due: o.Due, MayGo: o.MayGo}, nil
}

// benchFleet shares n trucks between the streams by their due bins, each
// truck a copy of the city's kind for its stream.
func benchFleet(city *sim.City, due map[civic.Stream]int, n int) []civic.Truck {
	kind := map[civic.Stream]civic.Truck{}
	for _, t := range city.Trucks {
		if _, ok := kind[t.Stream]; !ok {
			kind[t.Stream] = t
		}
	}
	var streams []civic.Stream
	total := 0
	for _, s := range civic.Streams {
		if due[s] > 0 {
			streams = append(streams, s)
			total += due[s]
		}
	}
	count := map[civic.Stream]int{}
	left := n
	for _, s := range streams {
		count[s] = 1
		left--
	}
	// The rest by largest remainder of their share.
	for left > 0 && total > 0 {
		best := streams[0]
		for _, s := range streams {
			if float64(due[s])/float64(count[s]+1) > float64(due[best])/float64(count[best]+1) {
				best = s
			}
		}
		count[best]++
		left--
	}
	var out []civic.Truck
	for _, s := range streams {
		for k := range count[s] {
			t := kind[s]
			t.ID = fmt.Sprintf("T-%03d", len(out)+1)
			t.Name = fmt.Sprintf("%s %d", t.Name, k+1)
			t.DepotID = city.Depots[len(out)%len(city.Depots)].ID
			t.ShiftStart, t.ShiftEnd = "06:00", "14:00"
			out = append(out, t)
		}
	}
	return out
}

// Plan plans a generated city's day with the real planner (decisions,
// travel matrix, solver, assembly), timed wall clock end to end, and prints
// `plan: N bins due, R routes, D km, T s`; with o.Reference it solves the
// same day again with that budget and appends the gap.
func Plan(ctx context.Context, o PlanOptions) error {
	day, err := GeneratePlanDay(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "city: %d bins, %d due, %d may go, %d trucks, %d depots, %d facilities; solver budget %v\n",
		o.Bins, day.Due, day.MayGo, len(day.Input.Trucks), len(day.Input.Depots), len(day.Input.Facilities), o.Time)
	if o.CPU {
		fmt.Fprintln(o.Out, "note: solver budgets count CPU time of this process per thread; times are wall clock")
	}
	stopProfile := func() {}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stopProfile = pprof.StopCPUProfile
	}
	start := time.Now()
	cpu0 := route.ProcessCPUClock()
	pl, err := runPlan(ctx, day.Input, o.Progress, "plan")
	wall := time.Since(start)
	cpu := route.ProcessCPUClock().Sub(cpu0)
	stopProfile()
	if err != nil {
		return err
	}
	if err := checkPlan(pl, day); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "plan: must %d, may %d, planned %d bins, %d disposal trips, %d must-go left out; cost %.0f (objective %.0f + prizes offered %.0f); solver %.1f s\n",
		pl.Stats.MustGo, pl.Stats.MayGo, pl.Stats.Planned, pl.Stats.Disposals, pl.Stats.Unassigned,
		pl.Stats.Objective+pl.Stats.Prizes, pl.Stats.Objective, pl.Stats.Prizes, pl.Stats.SolveS)
	fmt.Fprintf(o.Out, "plan: %.1f s wall, %.1f s CPU\n", wall.Seconds(), cpu.Seconds())
	line := fmt.Sprintf("plan: %d bins due, %d routes, %.0f km, %.1f s", pl.Stats.MustGo, len(pl.Routes), pl.Stats.DistanceM/1000, wall.Seconds())
	if o.Reference > 0 {
		ref := day.Input
		ref.TimeLimit = o.Reference
		rp, err := runPlan(ctx, ref, o.Progress, "reference")
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "reference: planned %d bins, %d routes, %.0f km, cost %.0f\n",
			rp.Stats.Planned, len(rp.Routes), rp.Stats.DistanceM/1000, rp.Stats.Objective+rp.Stats.Prizes)
		// Compared as travel cost plus prizes forgone (the objective
		// shifted by every prize offered), which is positive.
		a, b := pl.Stats.Objective+pl.Stats.Prizes, rp.Stats.Objective+rp.Stats.Prizes
		gap := 100 * (a - b) / b
		line += fmt.Sprintf("; gap to a %v solve %.2f%%", o.Reference, gap)
	}
	fmt.Fprintln(o.Out, line)
	return nil
}

// perThreadCPUClock is route.ProcessCPUClock divided by threads: on an
// idle machine with as many cores it runs as fast as the wall clock.
func perThreadCPUClock(threads int) func() time.Time {
	return func() time.Time {
		return time.Unix(0, route.ProcessCPUClock().UnixNano()/int64(max(threads, 1)))
	}
}

func runPlan(ctx context.Context, in plan.PlanInput, w io.Writer, what string) (civic.Plan, error) {
	if w != nil {
		bar := progressbar.NewOptions(1000, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		in.Progress = func(stage string, f float64) {
			bar.Describe(what + ": " + stage)
			_ = bar.Set(int(f * 1000))
		}
		defer func() { _ = bar.Finish() }()
	}
	return plan.Plan(ctx, in, route.SolveFleet)
}

// checkPlan makes sure the plan is one a city could run: every due bin
// planned or explained, routes within their shifts.
func checkPlan(pl civic.Plan, day PlanDay) error {
	if pl.Stats.MustGo != day.Due {
		return fmt.Errorf("bench plan: the planner found %d must-go bins, the city has %d due", pl.Stats.MustGo, day.Due)
	}
	for _, r := range pl.Routes {
		i := slices.IndexFunc(day.Input.Trucks, func(t civic.Truck) bool { return t.ID == r.TruckID })
		if i < 0 {
			return fmt.Errorf("bench plan: route %d has unknown truck %q", r.Seq, r.TruckID)
		}
		end, _ := civic.ParseClock(day.Input.Trucks[i].ShiftEnd)
		limit := time.Date(2026, 3, 10, 0, end, 0, 0, time.UTC)
		if r.End.After(limit.Add(time.Second)) {
			return fmt.Errorf("bench plan: route %d ends at %s, after its shift", r.Seq, r.End.Format(time.TimeOnly))
		}
	}
	return nil
}
