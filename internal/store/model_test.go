package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestWriteReadingsModel checks WriteReadings against a plain Go model over
// random calls: readings drawn with repeats from a pool, batches of random
// size (crossing the SQLite statement chunks), measurements randomly absent.
func TestWriteReadingsModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		const devices, bins = 12, 4
		for b := range bins {
			must(t, "CreateBin", s.CreateBin(ctx, testBin(fmt.Sprintf("B-%d", b), 52.5, 13.4)))
		}
		opt := func(v float64) *float64 {
			if rng.IntN(3) == 0 {
				return nil
			}
			return f64(v)
		}
		var pool []civic.Reading
		for d := range devices {
			for m := range 60 {
				r := civic.Reading{Device: fmt.Sprintf("D-%d", d), Time: t0.Add(time.Duration(m)*time.Minute + time.Duration(d)*time.Millisecond),
					Fill: opt(rng.Float64()), TemperatureC: opt(float64(rng.IntN(30))), Battery: opt(rng.Float64()),
					RSSI: opt(-float64(rng.IntN(120))), TiltDeg: opt(float64(rng.IntN(90)))}
				if rng.IntN(4) == 0 {
					r.DoorOpen = boolp(rng.IntN(2) == 0)
				}
				if !r.HasMeasurement() {
					r.Fill = f64(0.5)
				}
				if d != devices-1 { // the last device is on no bin
					r.Bin = fmt.Sprintf("B-%d", d%bins)
				}
				pool = append(pool, r)
			}
		}

		stored := map[string]bool{}
		state := map[string]*civic.BinState{}
		for call := range 8 {
			var batches [][]civic.Reading
			var want []civic.IngestResult
			for range 1 + rng.IntN(3) {
				var batch []civic.Reading
				var res civic.IngestResult
				for range rng.IntN(150) {
					r := pool[rng.IntN(len(pool))]
					key := r.Device + r.Time.String()
					if stored[key] {
						res.Duplicates++
					} else {
						stored[key] = true
						res.Accepted++
					}
					batch = append(batch, r)
				}
				batches = append(batches, batch)
				want = append(want, res)
			}
			applyCall(state, batches, func(st *civic.BinState) { st.UpdatedAt = clk.Now() })

			got, err := s.WriteReadings(ctx, batches)
			must(t, "WriteReadings", err)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("call %d: results %+v, want %+v", call, got, want)
			}
			states, err := s.BinStates(ctx)
			must(t, "BinStates", err)
			if len(states) != len(state) {
				t.Fatalf("call %d: %d bin states, want %d", call, len(states), len(state))
			}
			for _, st := range states {
				if w := state[st.BinID]; !reflect.DeepEqual(st, *w) {
					t.Fatalf("call %d: state %+v,\nwant %+v", call, st, *w)
				}
			}
			clk.Advance(time.Second)
		}
		n := 0
		for d := range devices {
			rs, err := s.Readings(ctx, civic.ReadingQuery{Device: fmt.Sprintf("D-%d", d)})
			must(t, "Readings", err)
			n += len(rs)
		}
		if n != len(stored) {
			t.Errorf("stored %d readings, want %d", n, len(stored))
		}
	})
}
