package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// BenchmarkWriteReadingsMQTT measures WriteReadings in the shape the
// embedded MQTT broker gives it: one reading a batch, a commit of group
// batches from group different devices of a 1,000-device fleet (a device
// waits for its PUBACK, so it has at most one message in a commit), on
// SQLite. The readings land at the end of readings_recent and move to
// their devices' pages in readings_main 32,768 at a time (before, each
// landed on its device's newest page, one page written to the WAL per
// reading whatever the group). The figure to compare is cpu-µs/reading.
func BenchmarkWriteReadingsMQTT(b *testing.B) {
	for _, group := range []int{100, 250, 1000} {
		b.Run(fmt.Sprintf("group=%d", group), func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, newDSN(b, "sqlite"), nil)
			g := newReadingGen(1000)
			var pool []civic.Reading
			next := func() civic.Reading {
				if len(pool) == 0 {
					pool = g.batch(10000)
				}
				r := pool[0]
				pool = pool[1:]
				return r
			}
			// A history first: 20 readings per device.
			for range 20 {
				batches := make([][]civic.Reading, 1000)
				for j := range batches {
					batches[j] = []civic.Reading{next()}
				}
				if _, err := s.WriteReadings(ctx, batches); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			t0 := time.Now()
			n := 0
			for i := 0; i < b.N; i++ {
				batches := make([][]civic.Reading, group)
				for j := range batches {
					batches[j] = []civic.Reading{next()}
				}
				if _, err := s.WriteReadings(ctx, batches); err != nil {
					b.Fatal(err)
				}
				n += group
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(n)/1e3, "cpu-µs/reading")
			b.ReportMetric(float64(time.Since(t0))/float64(n)/1e3, "µs/reading")
		})
	}
}
