package retention_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/retention"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestJob runs the job on a real store: it removes readings and device
// events past their ages and keeps the rest, and does nothing while
// another node holds its lock.
func TestJob(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		st := storetest.Open(t, engine, store.Options{Now: func() time.Time { return now }})
		bin := civic.Bin{ID: "B-1", Name: "B-1", Lat: 52, Lon: 13, Stream: civic.StreamTrash, CapacityL: 240}
		bin.Normalize()
		if err := st.CreateBin(ctx, &bin); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-1"}); err != nil {
			t.Fatal(err)
		}
		fill := 0.5
		var rs []civic.Reading
		for d := range 100 {
			rs = append(rs, civic.Reading{Device: "D-1", Bin: "B-1", Time: now.Add(-time.Duration(d)*24*time.Hour - time.Hour), Fill: &fill})
		}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		for d := range 20 {
			e := civic.DeviceEvent{Device: "D-1", Time: now.Add(-time.Duration(d)*24*time.Hour - time.Hour), Kind: "join"}
			if err := st.RecordDeviceEvent(ctx, &e); err != nil {
				t.Fatal(err)
			}
		}
		held := true
		j := retention.New(retention.Options{
			Store: st, Readings: 90 * 24 * time.Hour, DeviceEvents: 7 * 24 * time.Hour,
			Now:    func() time.Time { return now },
			Logger: slog.New(slog.DiscardHandler),
			Singleton: func(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
				if name != retention.LockName || held {
					return nil, nil, false
				}
				return make(chan struct{}), func() {}, true
			},
		})
		if j.Run(ctx) {
			t.Fatal("the job ran while another node held its lock")
		}
		held = false
		if !j.Run(ctx) {
			t.Fatal("the job did not run with its lock free")
		}
		if s := j.Stats(); s.Runs != 1 || s.Readings != 10 || s.DeviceEvents != 13 {
			t.Errorf("stats %+v, want 1 run, 10 readings (older than 90 days), 13 device events (older than 7 days)", s)
		}
		left, err := st.Readings(ctx, civic.ReadingQuery{Device: "D-1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 90 {
			t.Errorf("%d readings left, want 90", len(left))
		}
	})
}
