package forecast_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestServiceTrainingCost measures the first training of a Service on the
// demo city (1,000 bins, threshold collections) stored in a real SQLite
// database, for each number of days of history in CIVIC_FORECAST_COST
// (e.g. "2,28"). It is skipped without that variable: writing weeks of
// readings takes a while.
//
//	CIVIC_FORECAST_COST=2,28 go test -run TestServiceTrainingCost -v ./internal/forecast
func TestServiceTrainingCost(t *testing.T) {
	spec := os.Getenv("CIVIC_FORECAST_COST")
	if spec == "" {
		t.Skip("set CIVIC_FORECAST_COST=2,28 to measure")
	}
	bins := 1000
	if n, err := strconv.Atoi(os.Getenv("CIVIC_FORECAST_COST_BINS")); err == nil && n > 0 {
		bins = n
	}
	for _, f := range strings.Split(spec, ",") {
		days, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || days < 1 {
			t.Fatalf("CIVIC_FORECAST_COST: bad number of days %q", f)
		}
		t.Run(strconv.Itoa(days)+"d", func(t *testing.T) { measureTraining(t, bins, days) })
	}
}

func measureTraining(t *testing.T, nbins, days int) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	city := sim.GenerateCity(sim.CityParams{Bins: nbins, Seed: 1, Start: now.Add(-time.Duration(days) * 24 * time.Hour)})
	st := storetest.Open(t, store.EngineSQLite, store.Options{})
	for i := range city.Zones {
		if err := st.CreateZone(ctx, &city.Zones[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ImportBins(ctx, city.Bins); err != nil {
		t.Fatal(err)
	}
	for i := range city.Devices {
		if err := st.CreateDevice(ctx, &city.Devices[i]); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	n := 0
	err := sim.StreamStoredHistory(city, sim.HistoryParams{Days: days, Seed: 1, Policy: sim.Policy{Kind: sim.PolicyThreshold}},
		func(_ *sim.Sensors, batch []civic.Reading) error {
			for len(batch) > 0 {
				k := min(len(batch), 20000)
				if _, err := st.WriteReadings(ctx, [][]civic.Reading{batch[:k]}); err != nil {
					return err
				}
				n += k
				batch = batch[k:]
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bins, %d days: stored %d readings in %s", nbins, days, n, time.Since(start).Round(time.Millisecond))

	// Train with one loader (the default) and with two.
	for _, loaders := range []int{1, 2} {
		s := forecast.NewService(st, st, forecast.ServiceOptions{
			Now:     func() time.Time { return now },
			Logger:  slog.New(slog.DiscardHandler),
			Loaders: loaders,
		})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		for s.Stats().Trainings == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		stats := s.Stats()
		t.Logf("%d bins, %d days, loaders %d: first training on %d fill readings took %s (reading the store %s, fitting %s)",
			stats.Bins, days, loaders, stats.Readings, stats.LastDuration.Round(time.Millisecond),
			stats.LastLoad.Round(time.Millisecond), (stats.LastDuration - stats.LastLoad).Round(time.Millisecond))
		if _, err := s.Forecast(ctx, city.Bins[0].ID); err != nil {
			t.Errorf("forecast after training: %v", err)
		}
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}
}
