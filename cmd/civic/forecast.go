package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
)

const forecastUsage = `civic forecast backtest [--data DIR | --db URL] [--generate --bins N --days D --seed S]
    [--policy threshold|fixed] [--tz ZONE] [--warmup 336h] [--retrain 168h] [--cuts 1]

Replays fill history: at cut points in every fill cycle of every bin it
forecasts the time to the bin's threshold with a model trained only on data
before the cut, and with the naive forecast (the last observed rate, extended
linearly), and compares both with when the threshold was actually crossed.
History comes from the store (--data, default ./civic-data, or --db), or with
--generate from a freshly simulated city, whose bins are emptied by a daily
round once at their threshold (--policy threshold, the default) or on the
fixed schedule of a city without sensors (--policy fixed: fewer bins reach
their threshold, so fewer predictions are scored).`

func runForecast(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand")
	}
	switch args[0] {
	case "backtest":
		return runForecastBacktest(ctx, e, args[1:])
	}
	return usageErrorf("unknown subcommand %q", args[0])
}

func runForecastBacktest(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("forecast backtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	storeFlags(fs, &c, e.getenv)
	generate := fs.Bool("generate", false, "simulate a fresh city's history instead of reading the store")
	bins := fs.Int("bins", 300, "bins of the generated city")
	days := fs.Int("days", 60, "days of generated history")
	seed := fs.Uint64("seed", 1, "seed of the generated city and of the random cut points")
	policy := fs.String("policy", "threshold", "collection policy of the generated city: threshold or fixed")
	tz := fs.String("tz", envOr(e.getenv, "CIVIC_TZ", ""), "the city's time zone for weekly rhythms (env CIVIC_TZ; default UTC, or the generated city's)")
	warmup := fs.Duration("warmup", 14*24*time.Hour, "history before the first cut point")
	retrain := fs.Duration("retrain", 7*24*time.Hour, "how often the model is retrained")
	cuts := fs.Int("cuts", 1, "random cut points per fill cycle, besides the one after the emptying")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(e.stdout, forecastUsage)
			return nil
		}
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *generate && (*bins < 1 || *bins > 100000) {
		return usageErrorf("--bins must be between 1 and 100000")
	}
	if *generate && (*days < 2 || *days > 3650) {
		return usageErrorf("--days must be between 2 and 3650")
	}
	var pol sim.PolicyKind
	switch *policy {
	case "threshold":
		pol = sim.PolicyThreshold
	case "fixed":
		pol = sim.PolicyFixed
	default:
		return usageErrorf("--policy must be threshold or fixed")
	}
	if *warmup <= 0 || *retrain <= 0 || *cuts < 1 {
		return usageErrorf("--warmup and --retrain must be positive, --cuts at least 1")
	}
	var loc *time.Location
	if *tz != "" {
		l, err := time.LoadLocation(*tz)
		if err != nil {
			return usageErrorf("--tz: unknown time zone %q", *tz)
		}
		loc = l
	}

	var (
		bs  []civic.Bin
		rs  []civic.Reading
		err error
	)
	if *generate {
		fmt.Fprintf(e.stderr, "forecast: simulating %d bins over %d days (seed %d, %s policy)\n", *bins, *days, *seed, pol)
		var cityLoc *time.Location
		start := time.Now()
		bs, rs, cityLoc, err = simulatedHistory(ctx, *bins, *days, *seed, pol, func(day int) {
			if day%10 == 0 || day == *days {
				fmt.Fprintf(e.stderr, "forecast: simulated %d/%d days (%s)\n", day, *days, time.Since(start).Round(time.Second))
			}
		})
		if loc == nil {
			loc = cityLoc
		}
	} else {
		bs, rs, err = storedHistory(ctx, e, &c)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	from, to := span(rs)
	fmt.Fprintf(e.stdout, "forecast backtest: %d bins, %d readings, %s to %s\n",
		len(bs), len(rs), from.Format(time.DateOnly), to.Format(time.DateOnly))

	start := time.Now()
	rep := forecast.Backtest(bs, rs, forecast.BacktestOptions{
		Options:      forecast.Options{Location: loc},
		Warmup:       *warmup,
		RetrainEvery: *retrain,
		RandomCuts:   *cuts,
		Seed:         *seed,
		Progress: func(done, total int) {
			fmt.Fprintf(e.stderr, "forecast: replayed %d/%d weeks (%s)\n", done, total, time.Since(start).Round(time.Second))
		},
	})
	if rep.Predictions == 0 {
		return errors.New("no threshold crossings to score: the history is too short or no bin reached its threshold")
	}
	fmt.Fprintf(e.stdout, "  right after an emptying: %6d predictions, MAE %6.2f h vs naive %6.2f h\n",
		rep.AfterEmptying.Predictions, rep.AfterEmptying.MAEHours, rep.AfterEmptying.NaiveMAEHours)
	fmt.Fprintf(e.stdout, "  at a random reading:     %6d predictions, MAE %6.2f h vs naive %6.2f h\n",
		rep.Random.Predictions, rep.Random.MAEHours, rep.Random.NaiveMAEHours)
	fmt.Fprintf(e.stdout, "  mean time to threshold from the cut points: %.1f h\n", rep.MeanHours)
	fmt.Fprintf(e.stdout, "  actual crossing inside the P10-P90 band: %.0f%%; model trained %d times; %d cut points without a naive rate\n",
		100*rep.Coverage, rep.Trainings, rep.Skipped)
	fmt.Fprintf(e.stdout, "forecast: MAE %.2f h vs naive %.2f h (ratio %.2f) over %d predictions\n",
		rep.MAEHours, rep.NaiveMAEHours, rep.Ratio, rep.Predictions)
	return nil
}

// storedHistory reads every bin and its readings from the store.
func storedHistory(ctx context.Context, e *env, c *config) ([]civic.Bin, []civic.Reading, error) {
	if c.DB == "" {
		path := filepath.Join(c.DataDir, "civic.db")
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("no database at %s: import data first, pass --db, or use --generate", path)
		}
		c.DB = "sqlite:" + path
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return nil, nil, usageErrorf("--db must be sqlite:PATH or postgres://...")
	}
	st, err := store.Open(ctx, c.DB, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", redactURL(c.DB), redactErr(err, c.DB))
	}
	defer st.Close()
	views, err := st.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		return nil, nil, err
	}
	bins := make([]civic.Bin, 0, len(views))
	var readings []civic.Reading
	last := time.Now()
	for i, v := range views {
		rs, err := st.Readings(ctx, civic.ReadingQuery{Bin: v.ID})
		if err != nil {
			return nil, nil, err
		}
		for j := range rs {
			rs[j].Bin = v.ID
		}
		bins = append(bins, v.Bin)
		readings = append(readings, rs...)
		if time.Since(last) > 2*time.Second || i == len(views)-1 {
			last = time.Now()
			fmt.Fprintf(e.stderr, "forecast: read %d/%d bins, %d readings\n", i+1, len(views), len(readings))
		}
	}
	return bins, readings, nil
}

// simulatedHistory generates a city of n bins and days of its sensors'
// readings, emptied by policy: PolicyThreshold is what a sensor-driven city
// runs (each bin visited once a day and emptied when at its threshold), so
// that fill cycles run up to the threshold and their crossing times are
// observed. The readings are normalized as ingest would: fill to a 0..1
// fraction, Bin set from the device registry.
func simulatedHistory(ctx context.Context, n, days int, seed uint64, policy sim.PolicyKind, progress func(day int)) ([]civic.Bin, []civic.Reading, *time.Location, error) {
	city := sim.GenerateCity(sim.CityParams{Bins: n, Seed: seed})
	var out []civic.Reading
	done := 0
	err := sim.StreamStoredHistory(city, sim.HistoryParams{
		Days:   days,
		Seed:   seed,
		Policy: sim.Policy{Kind: policy},
	}, func(_ *sim.Sensors, day []civic.Reading) error {
		for _, r := range day {
			// The fill alone: the backtest reads nothing else, and the
			// other measurements add some 15% to the peak memory (300
			// bins, 30 days).
			if r.Fill != nil {
				out = append(out, civic.Reading{Device: r.Device, Bin: r.Bin, Time: r.Time, Fill: r.Fill})
			}
		}
		done++
		if progress != nil {
			progress(done)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return city.Bins, out, city.Params.Location, nil
}

// span returns the first and last reading times.
func span(rs []civic.Reading) (from, to time.Time) {
	for _, r := range rs {
		if from.IsZero() || r.Time.Before(from) {
			from = r.Time
		}
		if r.Time.After(to) {
			to = r.Time
		}
	}
	return from, to
}
