package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/whatif"
)

const simulateUsage = `civic simulate [--bins 1000 | --data DIR | --db URL] [--days 365] [--seed 1] [--policies daily,3x,fixed,threshold,planner]
               [--threshold 0.8] [--fixed-days N[,stream=N][,zone/stream=N]] [--plan-time 200ms]
               [--overflow-risk 0.1] [--hygiene-days 7,compost=3]
               [--explain] [--out DIR]
               [--history-days 28] [--tz ZONE] [--save [--name NAME]]
               [--fuel-l-per-km 0.35] [--co2-kg-per-l 2.68] [--crew-eur-h 60] [--truck-eur-km 0.9] [--fuel-eur-l 1.6]

Simulates a city for --days days under several collection policies on the
same waste, and compares them: bins emptied, kilometres, hours, overflow,
fuel, CO2 and cost. The city is generated (--bins, --seed) or, with --data
or --db and no --bins, the database's own: its active bins, sensors,
trucks, depots, facilities and plan settings, each bin receiving the waste
a day its sensors measured over the last --history-days (fill cycles from
one emptying to the next; bins without a day of history take their zone and
stream's median), in time zone --tz. Policies:
  daily      every bin Monday to Saturday
  3x         every bin Monday, Wednesday and Friday
  fixed      the city's schedule per bin (every 1-7 days, from a rough estimate),
             or the one --fixed-days sets by zone and stream
  threshold  bins whose sensor reads at least --threshold, Monday to Saturday
  planner    civic's planner every day: forecast, decisions, routes
  perfect    civic's planner told each bin's true fill and exactly when it
             fills (not run unless named): the most better forecasts could gain
Prints a table per policy and, last, the line
  sim: collections -X% km -Y% vs daily; overflow bin-hours A (planner) vs B (daily) vs C (threshold)
--out DIR writes report.html (self-contained), weeks.csv, zones.csv and
result.json. --save stores the run (summary, result, report and what it
assumed) in civic's database (--data, --db), where the web app's
Simulations page shows it. That page, and POST /api/v1/simulations, also
run the city's own bins on the server, every policy but perfect, seed 1, with these
defaults; their assumptions change, as these flags do, --overflow-risk,
--hygiene-days (the default and compost's), --threshold and the five cost
factors. --plan-time is the route solver's budget
per simulated day. --overflow-risk sets the planner's
overflow risk for every stream (0.01 to 0.5; civic's default 0.1): the
chance it accepts that a bin it leaves fills before its next chance.
--hygiene-days sets the planner's longest time between two collections of a
bin, in days: the default, then stream=days (civic's: 7,compost=3; 0 turns
the rule off, e.g. 0,compost=0 to hold the planner to the threshold rule's
terms, which has none). --threshold is 0.01 to 1, and the cost factors
0.01 to 5 L/km, 0.1 to 10 kg/L, 1 to 1000 EUR/h, 0.01 to 100 EUR/km and
0.01 to 100 EUR/L.
--explain prints, per policy, where its overflow bin-hours and its visits
came from.`

func runSimulate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o whatif.Options
	fs.IntVar(&o.Bins, "bins", 1000, "bins in the generated city")
	fs.IntVar(&o.Days, "days", whatif.DefaultDays, "days simulated")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed of the city and its waste")
	policies := fs.String("policies", strings.Join(whatif.Policies, ","), "policies compared")
	fs.Float64Var(&o.Threshold, "threshold", whatif.DefaultThreshold, "threshold policy's fill, 0..1")
	fs.DurationVar(&o.PlanTime, "plan-time", whatif.DefaultPlanTime, "route solver budget per day")
	risk := fs.Float64("overflow-risk", 0, "the planner's overflow risk, 0.01..0.5 (default: civic's, 0.1)")
	hygiene := fs.String("hygiene-days", "", "the planner's longest days between collections: N[,stream=N...] (default: civic's, 7,compost=3; 0 turns the rule off)")
	fixed := fs.String("fixed-days", "", "the fixed policy's schedule: N[,stream=N][,zone/stream=N] days between collections (1 Monday to Saturday, 0 twice a day; default: per bin, from a rough estimate)")
	history := fs.Int("history-days", civic.DefaultSimulationHistoryDays, "with --data or --db: days of readings each bin's waste a day is measured on")
	tz := fs.String("tz", envOr(e.getenv, "CIVIC_TZ", "UTC"), "with --data or --db: the city's time zone (env CIVIC_TZ)")
	fs.BoolVar(&o.Explain, "explain", false, "print where each policy's overflow and visits came from")
	out := fs.String("out", "", "directory for the report and CSVs")
	save := fs.Bool("save", false, "store the run in the database")
	name := fs.String("name", "", "the stored run's name (default: bins, days, seed and dates)")
	var c config
	storeFlags(fs, &c, e.getenv)
	costs := whatif.DefaultCosts()
	fs.Float64Var(&o.Costs.FuelLPerKm, "fuel-l-per-km", costs.FuelLPerKm, "diesel per km")
	fs.Float64Var(&o.Costs.CO2KgPerL, "co2-kg-per-l", costs.CO2KgPerL, "CO2 per litre of diesel")
	fs.Float64Var(&o.Costs.CrewPerHour, "crew-eur-h", costs.CrewPerHour, "crew cost per route hour")
	fs.Float64Var(&o.Costs.TruckPerKm, "truck-eur-km", costs.TruckPerKm, "truck cost per km besides fuel")
	fs.Float64Var(&o.Costs.FuelPerL, "fuel-eur-l", costs.FuelPerL, "diesel price per litre")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	o.Policies = strings.Split(*policies, ",")
	if *fixed != "" {
		f, err := whatif.ParseFixedSchedule(*fixed)
		if err != nil {
			return usageErrorf("--fixed-days: %v", err)
		}
		o.Fixed = f
	}
	// The threshold, costs and risk within the ranges the web app's runs
	// take, and the planner's settings as the flags change them, checked
	// now on civic's defaults (a bad value fails before the history is
	// read).
	flags := civic.SimulationAssumptions{OverflowRisk: *risk, Threshold: o.Threshold, FuelLPerKm: o.Costs.FuelLPerKm,
		CO2KgPerL: o.Costs.CO2KgPerL, CrewEURH: o.Costs.CrewPerHour, TruckEURKm: o.Costs.TruckPerKm, FuelEURL: o.Costs.FuelPerL}
	if err := flags.Validate(); err != nil {
		return flagError(err)
	}
	changes := whatif.PlanChanges{}
	if *hygiene != "" {
		if changes, err = whatif.ParseHygieneDays(*hygiene); err != nil {
			return usageErrorf("--hygiene-days: %v", err)
		}
	}
	changes.OverflowRisk = *risk
	override := func(base civic.PlanSettings) (*civic.PlanSettings, error) {
		ps, err := changes.Apply(base)
		if err != nil {
			return nil, flagError(err)
		}
		return &ps, nil
	}
	if _, err := override(civic.DefaultPlanSettings()); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	// A data folder or database given without --bins is the city to
	// simulate; with --bins it is only where --save stores the run.
	stored := (given["data"] || given["db"]) && !given["bins"]
	base := civic.DefaultPlanSettings()
	if stored {
		if *history < 1 || *history > 3660 {
			return usageErrorf("--history-days: must be between 1 and 3660")
		}
		loc, err := time.LoadLocation(*tz)
		if err != nil {
			return usageErrorf("--tz: unknown time zone %q", *tz)
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		if base, err = a.store.PlanSettings(ctx); err != nil {
			a.close()
			return err
		}
		fmt.Fprintf(e.stderr, "simulate: reading %d days of history from %s\n", *history, redactURL(c.DB))
		bar := progressbar.NewOptions(1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("reading"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
		o.City, o.CityNote, err = whatif.OwnCity(ctx, a.store, time.Now(), loc, *history, func(done, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		})
		_ = bar.Finish()
		a.close() // not held for the whole run
		if err != nil {
			return err
		}
		o.Settings = &base
	}
	if *risk != 0 || *hygiene != "" {
		if o.Settings, err = override(base); err != nil {
			return err
		}
	}
	if *save {
		if err := c.finish(); err != nil { // a bad --db fails now, not after the run
			return err
		}
	}
	bar := progressbar.NewOptions(1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("simulating"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
	o.Progress = func(done, total int) {
		bar.ChangeMax(total)
		_ = bar.Set(done)
	}
	bins := o.Bins
	if o.City != nil {
		bins = len(o.City.Bins)
	}
	fmt.Fprintf(e.stderr, "simulate: %d bins, %d days, seed %d, policies %s, %d CPUs\n", bins, o.Days, o.Seed, *policies, runtime.NumCPU())
	res, err := whatif.Run(ctx, o)
	_ = bar.Finish()
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeSimulation(*out, res); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "simulate: report in %s\n", filepath.Join(*out, "report.html"))
	}
	if *save {
		id := "sim-" + time.Now().UTC().Format("20060102-150405.000")
		if err := saveSimulation(ctx, &c, res, id, *name, whatif.Assumed(o)); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "simulate: saved as %s\n", id)
	}
	if err := res.WriteTable(e.stdout); err != nil {
		return err
	}
	if o.Explain {
		writeExplanations(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "elapsed %.1f s\n", res.Elapsed.Seconds())
	fmt.Fprintln(e.stdout, res.Summary)
	return nil
}

// flagError is a usage error for an Invalid error naming a field of
// civic.SimulationAssumptions, named as the flag of the same name.
func flagError(err error) error {
	return usageErrorf("--%s: %s", strings.ReplaceAll(civic.FieldOf(err), "_", "-"), civic.MessageOf(err))
}

// writeExplanations prints each policy's overflow bin-hours and visits by
// cause, largest first.
func writeExplanations(w io.Writer, res *whatif.Result) {
	for _, p := range res.Policies {
		x := p.Explain
		if x == nil {
			continue
		}
		fmt.Fprintf(w, "%s: overflow bin-hours by cause (of which at bins filling a bin a day or more)\n", p.Policy)
		for _, k := range sortedKeys(x.OverflowBinHours) {
			fmt.Fprintf(w, "  %9.0f (%7.0f)  %s\n", x.OverflowBinHours[k], x.FastOverflowBinHours[k], k)
		}
		fmt.Fprintf(w, "%s: visits by reason (under half full)\n", p.Policy)
		for _, k := range sortedKeys(x.Visits) {
			fmt.Fprintf(w, "  %9d (%7d)  %s\n", x.Visits[k], x.LowVisits[k], k)
		}
	}
}

// sortedKeys returns m's keys, largest value first.
func sortedKeys[V int | float64](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	return keys
}

// writeSimulation writes the report, the CSVs and the result as JSON.
func writeSimulation(dir string, res *whatif.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.html", res.WriteHTML},
		{"weeks.csv", res.WriteWeeksCSV},
		{"zones.csv", res.WriteZonesCSV},
		{"result.json", func(w io.Writer) error { return json.NewEncoder(w).Encode(res) }},
	}
	for _, f := range files {
		fh, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		err = f.write(fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("simulate: writing %s: %w", f.name, err)
		}
	}
	return nil
}

// saveSimulation stores the run, with what it assumed, through the
// configured store.
func saveSimulation(ctx context.Context, c *config, res *whatif.Result, id, name string, assumed civic.SimulationAssumptions) error {
	run, err := res.SimulationRun(id, name)
	if err != nil {
		return err
	}
	run.Assumptions = &assumed
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.close()
	return a.store.SaveSimulation(ctx, &run)
}
