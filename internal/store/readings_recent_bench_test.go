package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// BenchmarkReadingsRecent measures what readings_recent's size costs a
// reader (SQLite): a device's readings of the last day, while
// readings_recent holds recent rows of a 1,000-device fleet that have not
// yet moved to readings_main. readings_recent is clustered by (time,
// device_id), so such a query scans its rows of that day: the price of
// the larger folds that make MQTT ingest cheaper (see foldRows).
func BenchmarkReadingsRecent(b *testing.B) {
	for _, recent := range []int{8192, 32768} {
		b.Run(fmt.Sprintf("recent=%d", recent), func(b *testing.B) {
			ctx := context.Background()
			old := store.SetFoldRows(1 << 30)
			defer store.SetFoldRows(old)
			s := openStore(b, newDSN(b, "sqlite"), nil)
			g := newReadingGen(1000)
			// A day of history in readings_main, one reading a device a minute...
			for range 144 {
				if err := store.RawInsert(ctx, s.DB(), s.Engine(), g.batch(10000), 10000); err != nil {
					b.Fatal(err)
				}
			}
			// ...then recent readings of each device in readings_recent.
			var last time.Time
			for left := recent; left > 0; left -= 1000 {
				batch := g.batch(1000)
				batches := make([][]civic.Reading, len(batch))
				for i := range batch {
					batches[i] = batch[i : i+1]
				}
				if _, err := s.WriteReadings(ctx, batches); err != nil {
					b.Fatal(err)
				}
				last = batch[0].Time
			}
			q := civic.ReadingQuery{Device: "D-00500", From: last.Add(-24 * time.Hour), To: last.Add(time.Hour)}
			b.ResetTimer()
			for b.Loop() {
				rs, err := s.Readings(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(rs) < 1000 {
					b.Fatalf("%d readings, want a day's", len(rs))
				}
			}
		})
	}
}
