package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/route"
)

const planUsage = `civic plan --date YYYY-MM-DD [--data DIR | --db URL] [--time 30s] [--osrm URL] [--tz ZONE]

Plans a service day as a draft, as the plans page and the nightly job do:
decides which bins must or may be emptied (from their readings, forecasts
and open alerts), routes the active trucks within the time limit, and
stores the plan, replacing an earlier draft of the date (a locked plan is
left alone: unlock it first). Prints a summary and the plan's id.
  --time   the route solver's time limit for the whole day (env CIVIC_PLAN_TIME)
  --osrm   an OSRM server for road distances (env CIVIC_OSRM); great-circle
           estimates otherwise, and when the server fails`

func runPlan(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	storeFlags(fs, &c, e.getenv)
	planFlags(fs, &c, e.getenv)
	fs.DurationVar(&c.PlanTime, "time", c.PlanTime, "the route solver's time limit")
	fs.StringVar(&c.TimeZone, "tz", envOr(e.getenv, "CIVIC_TZ", "UTC"), "the city's time zone (env CIVIC_TZ)")
	date := fs.String("date", "", "the service day, YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *date == "" {
		return usageErrorf("--date is required")
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return usageErrorf("--date: %q is not a date YYYY-MM-DD", *date)
	}
	if c.PlanTime <= 0 {
		return usageErrorf("--time must be positive")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return usageErrorf("--tz: unknown time zone %q", c.TimeZone)
	}
	a, err := openApp(ctx, &c)
	if err != nil {
		return err
	}
	defer a.close()
	log := slog.New(slog.DiscardHandler)
	// Forecasts trained once, here, on the stored history.
	fc := forecast.NewService(a.store, a.store, forecast.ServiceOptions{Model: forecast.Options{Location: loc}, Now: a.now, Logger: log})
	if err := fc.Start(ctx); err != nil {
		return fmt.Errorf("forecasts: %w", err)
	}
	defer fc.Close(context.WithoutCancel(ctx))
	svc, err := newPlanner(a, &c, loc, a.now, log, a.store, fc, nil, "", nil, nil)
	if err != nil {
		return err
	}

	bar := progressbar.NewOptions(1000, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("planning"),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	p, err := svc.MakePlan(ctx, *date, "cli", func(stage string, done float64) {
		bar.Describe(stage)
		_ = bar.Set(int(done * 1000))
	})
	_ = bar.Finish()
	if err != nil {
		return err
	}
	printPlanSummary(e.stdout, &p, loc)
	return nil
}

// printPlanSummary prints what a plan does, for the CLI.
func printPlanSummary(w io.Writer, p *civic.Plan, loc *time.Location) {
	s := p.Stats
	fmt.Fprintf(w, "plan %s for %s (%s)\n", p.ID, p.Date, p.Status)
	fmt.Fprintf(w, "  bins: %d must go, %d may go, %d skipped; %d planned\n", s.MustGo, s.MayGo, s.Skipped, s.Planned)
	fmt.Fprintf(w, "  routes: %d, %.1f km, %s driving and working, %d disposals (%s distances, solved in %.1f s)\n",
		len(p.Routes), s.DistanceM/1000, (time.Duration(s.DurationS) * time.Second).Round(time.Minute), s.Disposals, s.Matrix, s.SolveS)
	for _, r := range p.Routes {
		bins := 0
		for _, st := range r.Stops {
			if st.Kind == civic.StopBin {
				bins++
			}
		}
		fmt.Fprintf(w, "    %s  truck %s  %s  %d bins  %.1f km  %s-%s\n", r.ID, r.TruckID, r.Stream, bins, r.DistanceM/1000,
			r.Start.In(loc).Format("15:04"), r.End.In(loc).Format("15:04"))
	}
	fmt.Fprintf(w, "  unplanned must-go bins: %d\n", len(p.Unplanned))
	for _, d := range p.Unplanned {
		fmt.Fprintf(w, "    %s: %s\n", d.BinID, d.Reason)
	}
	fmt.Fprintln(w, p.ID)
}

// newPlanner builds the planning service over the app's store: serve's
// (with the nightly job at nightlyAt and the cluster lock) and the CLI's.
func newPlanner(a *app, c *config, loc *time.Location, clock func() time.Time, log *slog.Logger,
	alerts civic.AlertStore, fc civic.Forecaster,
	singleton func(context.Context, string) (<-chan struct{}, func(), bool), nightlyAt string, collected func(binID string),
	planned func(time.Duration, error)) (*plan.Service, error) {
	if loc == nil {
		loc = time.UTC
	}
	o := plan.ServiceOptions{
		Assets: a.store, States: a.store, Alerts: alerts, Plans: a.store, Forecaster: fc,
		Location: loc, Now: clock, Logger: log, TimeLimit: c.PlanTime,
		Solve:     route.SolveFleet,
		NightlyAt: nightlyAt, Singleton: singleton, OnCollected: collected, OnPlanned: planned,
		Requests: binRequests(a.store),
	}
	if c.OSRM != "" {
		o.Matrix = plan.OSRM{BaseURL: c.OSRM}
	}
	if c.JobInterval > 0 {
		o.CheckEvery = c.JobInterval
	}
	if c.Demo && c.Speed > 0 {
		// The demo's clock runs Speed times faster: the nightly job looks
		// at it about once a simulated minute, as a city's node does once
		// a real one (but not more often than four times a second).
		o.CheckEvery = max(time.Duration(float64(time.Minute)/c.Speed), 250*time.Millisecond)
	}
	svc, err := plan.NewService(o)
	if err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	return svc, nil
}

// binRequests lists the open 311 requests about bins (overflowing,
// missed collection) for the planner, which makes those bins must-go.
func binRequests(st civic.ServiceRequestStore) func(context.Context) ([]plan.Request, error) {
	return func(ctx context.Context) ([]plan.Request, error) {
		brs, err := st.OpenBinRequests(ctx)
		out := make([]plan.Request, len(brs))
		for i, b := range brs {
			out[i] = plan.Request{BinID: b.BinID, At: b.RequestedAt,
				Reason: strings.ToLower(b.ServiceName) + " (#" + b.RequestID + ")"}
		}
		return out, err
	}
}
