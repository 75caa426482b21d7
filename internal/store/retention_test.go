package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestPruneReadings keeps what is younger than the cut, on both engines:
// on PostgreSQL whole monthly partitions go and the straddling month is
// cut by row; more rows than one delete batch per device prove the
// batching.
func TestPruneReadings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.1, 13.1)))
		must(t, "CreateDevice", s.CreateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-1"}))
		// Readings every 10 minutes from 100 days ago to now, two devices:
		// 14,400 rows each, more than one delete batch.
		now := clk.Now().Truncate(time.Minute)
		start := now.Add(-100 * 24 * time.Hour)
		var batch []civic.Reading
		total := 0
		for _, dev := range []string{"D-1", "D-2"} {
			for at := start; at.Before(now); at = at.Add(10 * time.Minute) {
				batch = append(batch, civic.Reading{Device: dev, Bin: "B-1", Time: at, Fill: f64(0.5)})
				if len(batch) == 5000 {
					_, err := s.WriteReadings(ctx, [][]civic.Reading{batch})
					must(t, "WriteReadings", err)
					total += len(batch)
					batch = nil
				}
			}
		}
		_, err := s.WriteReadings(ctx, [][]civic.Reading{batch})
		must(t, "WriteReadings", err)
		total += len(batch)

		cut := now.Add(-30 * 24 * time.Hour).Add(5 * time.Minute)
		wantLeft := 0
		for at := start; at.Before(now); at = at.Add(10 * time.Minute) {
			if !at.Before(cut) {
				wantLeft += 2
			}
		}
		n, err := s.PruneReadings(ctx, cut)
		must(t, "PruneReadings", err)
		if int(n) != total-wantLeft {
			t.Errorf("PruneReadings removed %d, want %d", n, total-wantLeft)
		}
		for _, dev := range []string{"D-1", "D-2"} {
			rs, err := s.Readings(ctx, civic.ReadingQuery{Device: dev})
			must(t, "Readings", err)
			if len(rs) != wantLeft/2 || rs[0].Time.Before(cut) {
				t.Errorf("%s: %d readings left, first at %s; want %d from %s", dev, len(rs), rs[0].Time, wantLeft/2, cut)
			}
		}
		if s.Engine() == store.EnginePostgres {
			var parts int
			must(t, "count partitions", s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass`).Scan(&parts))
			// The months wholly before the cut are gone: at most the cut's
			// month, the ones after it and DEFAULT are left.
			if months := monthsBetween(cut, now); parts > months+1 {
				t.Errorf("%d readings partitions left, want at most %d (months from the cut to now, and DEFAULT)", parts, months+1)
			}
		}
		// Nothing older to prune: a second run removes nothing.
		if n, err := s.PruneReadings(ctx, cut); err != nil || n != 0 {
			t.Errorf("second PruneReadings = %d, %v; want 0, nil", n, err)
		}
		// Ingest still works for every month, the dropped ones too.
		_, err = s.WriteReadings(ctx, [][]civic.Reading{{{Device: "D-1", Bin: "B-1", Time: start.Add(time.Second), Fill: f64(0.1)}}})
		must(t, "WriteReadings after prune", err)
	})
}

func monthsBetween(a, b time.Time) int {
	return (b.Year()*12 + int(b.Month())) - (a.Year()*12 + int(a.Month())) + 1
}

// TestPruneDeviceEvents removes the events before the cut only.
func TestPruneDeviceEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.1, 13.1)))
		must(t, "CreateDevice", s.CreateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-1"}))
		now := clk.Now()
		for i := range 40 {
			e := civic.DeviceEvent{Device: "D-1", Time: now.Add(-time.Duration(i) * 24 * time.Hour), Kind: "join",
				Detail: map[string]any{"message": fmt.Sprint(i)}}
			must(t, "RecordDeviceEvent", s.RecordDeviceEvent(ctx, &e))
		}
		n, err := s.PruneDeviceEvents(ctx, now.Add(-30*24*time.Hour+time.Minute))
		must(t, "PruneDeviceEvents", err)
		if n != 10 {
			t.Errorf("PruneDeviceEvents removed %d, want the 10 older than 30 days", n)
		}
		var left int
		must(t, "count", s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM device_events`).Scan(&left))
		if left != 30 {
			t.Errorf("%d events left, want 30", left)
		}
	})
}
