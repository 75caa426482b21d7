package store_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// benchBatch is the batch size of the ingest benchmarks (civic.MaxBatch).
const benchBatch = 10_000

// readingGen makes realistic uplinks: devices devices, each on its own bin,
// each reporting fill, temperature, battery, distance, RSSI and SNR once a
// minute, so a batch holds batchSize/devices consecutive readings per device.
type readingGen struct {
	devices, bins []string
	next          time.Time
}

func newReadingGen(devices int) *readingGen {
	g := &readingGen{next: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range devices {
		g.devices = append(g.devices, fmt.Sprintf("D-%05d", i))
		g.bins = append(g.bins, fmt.Sprintf("B-%05d", i))
	}
	return g
}

func (g *readingGen) batch(n int) []civic.Reading {
	out := make([]civic.Reading, n)
	for i := range out {
		d := i % len(g.devices)
		if d == 0 && i > 0 {
			g.next = g.next.Add(time.Minute)
		}
		x := float64(i%97) / 97
		out[i] = civic.Reading{Device: g.devices[d], Bin: g.bins[d], Time: g.next.Add(time.Duration(d) * time.Millisecond),
			Fill: f64(x), TemperatureC: f64(12 + x), Battery: f64(0.9), DistanceMM: f64(1000 * (1 - x)),
			RSSI: f64(-100 + 10*x), SNR: f64(5)}
	}
	g.next = g.next.Add(time.Minute)
	return out
}

// benchDevices are the fleet sizes the ingest benchmarks run with. With
// 1,000 devices a 10,000-reading batch holds 10 consecutive readings per
// device; with 10,000 devices one each, which scatters every batch over the
// most index pages.
var benchDevices = []int{1000, 10000}

// BenchmarkWriteReadings measures the ingest path: WriteReadings calls of
// 10,000-reading batches, dedupe accounting and bin state included, into a
// fresh database; per=1 is one batch per call (one transaction each), per=4
// four batches per call, as the ingest writer's group commit sends them
// under load. readings/s is the figure to compare with BenchmarkRawInsert
// run alongside it.
func BenchmarkWriteReadings(b *testing.B) {
	for _, per := range []int{1, 4} {
		benchIngest(b, fmt.Sprintf("per=%d", per), per, func(ctx context.Context, s *store.Store, batches [][]civic.Reading) error {
			res, err := s.WriteReadings(ctx, batches)
			if err != nil {
				return err
			}
			for i := range res {
				if res[i].Accepted != len(batches[i]) {
					return fmt.Errorf("batch %d: accepted %d, want %d", i, res[i].Accepted, len(batches[i]))
				}
			}
			return nil
		})
	}
}

// BenchmarkRawInsert measures the raw driver limit on the same data: a
// simple prepared single-row INSERT (SQLite) or COPY (PostgreSQL), one
// transaction per 10,000 readings, no dedupe accounting, no bin state.
func BenchmarkRawInsert(b *testing.B) {
	benchIngest(b, "per=1", 1, func(ctx context.Context, s *store.Store, batches [][]civic.Reading) error {
		return store.RawInsert(ctx, s.DB(), s.Engine(), batches[0], benchBatch)
	})
}

// benchIngest runs write on every engine and fleet size, per batches of
// benchBatch readings per operation.
func benchIngest(b *testing.B, name string, per int, write func(context.Context, *store.Store, [][]civic.Reading) error) {
	for _, engine := range engines {
		for _, devices := range benchDevices {
			b.Run(fmt.Sprintf("%s/devices=%d/%s", engine, devices, name), func(b *testing.B) {
				ctx := context.Background()
				s := openStore(b, newDSN(b, engine), nil)
				g := newReadingGen(devices)
				batches := make([][]civic.Reading, per)
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					for j := range batches {
						batches[j] = g.batch(benchBatch)
					}
					b.StartTimer()
					if err := write(ctx, s, batches); err != nil {
						b.Fatal(err)
					}
				}
				reportRate(b, cpu0, per)
			})
		}
	}
}

// cpuTime is the CPU time this process has used. The benchmarks report
// readings per CPU second beside readings per second because the machines
// they run on are often shared: the wall-clock rate then says more about the
// neighbours than about the code. It counts this process only: on
// PostgreSQL the server's own CPU time is not in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRate(b *testing.B, cpu0 time.Duration, per int) {
	n := float64(b.N * per * benchBatch)
	b.ReportMetric(n/b.Elapsed().Seconds(), "readings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "readings/cpu-s")
	}
}

// BenchmarkListBins measures the live map's query: every one of 10,000
// bins with its latest state.
func BenchmarkListBins(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, newDSN(b, engine), nil)
			const n = 10_000
			bins := make([]civic.Bin, n)
			readings := make([]civic.Reading, n)
			for i := range bins {
				bins[i] = *testBin(fmt.Sprintf("B-%05d", i), 52+float64(i%100)/100, 13+float64(i/100)/100)
				readings[i] = civic.Reading{Device: fmt.Sprintf("D-%05d", i), Bin: bins[i].ID, Time: t0, Fill: f64(0.5), Battery: f64(0.9)}
			}
			if err := s.ImportBins(ctx, bins); err != nil {
				b.Fatal(err)
			}
			if _, err := s.WriteReadings(ctx, [][]civic.Reading{readings}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := s.ListBins(ctx, civic.BinFilter{})
				if err != nil || len(got) != n {
					b.Fatalf("ListBins: %d bins, %v", len(got), err)
				}
			}
		})
	}
}
