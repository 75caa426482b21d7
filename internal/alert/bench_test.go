package alert_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// BenchmarkEngine measures evaluation behind the commit hook: batches of
// 1,000 readings over 10,000 bins with quiet values (no alert changes),
// the steady state at full ingest speed.
func BenchmarkEngine(b *testing.B) {
	ctx := context.Background()
	clk := &clock{t: t0}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "civic.db"), store.Options{Now: clk.Now, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const bins = 10000
	var all []civic.Bin
	for i := range bins {
		bn := civic.Bin{ID: fmt.Sprintf("B%05d", i), Name: "bin", Lat: 42 + float64(i)/1e5, Lon: -71, CapacityL: 240}
		bn.Normalize()
		all = append(all, bn)
	}
	if err := st.ImportBins(ctx, all); err != nil {
		b.Fatal(err)
	}
	for i := range bins {
		d := civic.Device{ID: fmt.Sprintf("S%05d", i), BinID: fmt.Sprintf("B%05d", i)}
		d.Normalize()
		if err := st.CreateDevice(ctx, &d); err != nil {
			b.Fatal(err)
		}
	}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, SweepInterval: time.Hour, QueueSize: 1 << 16})
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	batch := func(k int) []civic.Reading {
		rs := make([]civic.Reading, 1000)
		for j := range rs {
			i := (k*1000 + j) % bins
			rs[j] = civic.Reading{Device: fmt.Sprintf("S%05d", i), Bin: fmt.Sprintf("B%05d", i), Time: t0.Add(time.Duration(k) * time.Second),
				Fill: f64(0.2 + float64(k%50)/100), TemperatureC: f64(15), Battery: f64(0.8)}
		}
		return rs
	}
	// Warm up: every bin seen once (history loads).
	for k := range bins / 1000 {
		e.OnCommit(batch(k))
	}
	e.Sweep(ctx)
	batches := make([][]civic.Reading, 64)
	for k := range batches {
		batches[k] = batch(bins/1000 + k)
	}
	b.ResetTimer()
	for i := range b.N {
		e.OnCommit(batches[i%len(batches)])
		if i%256 == 255 {
			e.Sweep(ctx)
		}
	}
	e.Sweep(ctx)
	b.StopTimer()
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "readings/s")
	if s := e.Stats(); s.Dropped > 0 {
		b.Logf("dropped %d batches", s.Dropped)
	}
}
