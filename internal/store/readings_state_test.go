package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// applyCall folds one call of WriteReadings into states as the store must
// (civic.BinState.Apply): each bin's readings oldest first, stably (of equal
// times the first given), each moving the state only when newer than it.
// changed, if not nil, is called with each state a reading moved.
func applyCall(states map[string]*civic.BinState, batches [][]civic.Reading, changed func(*civic.BinState)) {
	var all []civic.Reading
	for _, b := range batches {
		all = append(all, b...)
	}
	slices.SortStableFunc(all, func(a, b civic.Reading) int { return a.Time.Compare(b.Time) })
	for _, r := range all {
		if r.Bin == "" {
			continue
		}
		st := states[r.Bin]
		if st == nil {
			st = &civic.BinState{}
			states[r.Bin] = st
		}
		if st.Apply(r) && changed != nil {
			changed(st)
		}
	}
}

// stateModel is the specification of the bins' live states: every call
// of WriteReadings applied in turn (applyCall).
type stateModel map[string]*civic.BinState

func (m stateModel) apply(call []civic.Reading) { applyCall(m, [][]civic.Reading{call}, nil) }

// diff describes how got differs from the model, "" when it does not
// (UpdatedAt aside).
func (m stateModel) diff(got []civic.BinState) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	b := func(p *bool) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	show := func(s *civic.BinState) string {
		return fmt.Sprintf("%s %d fill=%s temp=%s battery=%s tilt=%s door=%s fire=%s rssi=%s", s.Device, s.Time.UnixMilli(),
			f(s.Fill), f(s.TemperatureC), f(s.Battery), f(s.TiltDeg), b(s.DoorOpen), b(s.Fire), f(s.RSSI))
	}
	if len(got) != len(m) {
		return fmt.Sprintf("%d states, want %d", len(got), len(m))
	}
	for i := range got {
		want := m[got[i].BinID]
		if want == nil {
			return fmt.Sprintf("state of %s, which has none", got[i].BinID)
		}
		if g, w := show(&got[i]), show(want); g != w {
			return fmt.Sprintf("%s: %s, want %s", got[i].BinID, g, w)
		}
	}
	return ""
}

// stateCalls makes n random calls of readings: a few bins, several devices,
// times out of order (distinct to the millisecond per bin), any subset of
// the measurements, some readings of no bin.
func stateCalls(rng *rand.Rand, n int) [][]civic.Reading {
	secs := rng.Perm(n * 8)
	next := 0
	calls := make([][]civic.Reading, n)
	for c := range calls {
		k := 1 + rng.IntN(6)
		for range k {
			r := civic.Reading{Device: fmt.Sprintf("D-%d", rng.IntN(6)), Time: t0.Add(time.Duration(secs[next]) * time.Second)}
			next++
			if rng.IntN(8) > 0 {
				r.Bin = fmt.Sprintf("B-%d", rng.IntN(4))
			}
			num := func(v float64) *float64 {
				if rng.IntN(2) == 0 {
					return nil
				}
				return f64(v)
			}
			r.Fill, r.TemperatureC, r.Battery = num(rng.Float64()), num(float64(rng.IntN(40))), num(rng.Float64())
			r.TiltDeg, r.RSSI = num(float64(rng.IntN(90))), num(-float64(rng.IntN(120)))
			if rng.IntN(2) == 0 {
				r.DoorOpen = boolp(rng.IntN(2) == 0)
			}
			if rng.IntN(2) == 0 {
				r.Fire = boolp(rng.IntN(2) == 0)
			}
			if r.Fill == nil && r.TemperatureC == nil && r.Battery == nil && r.TiltDeg == nil && r.DoorOpen == nil &&
				r.Fire == nil && r.RSSI == nil {
				r.Fill = f64(0.5)
			}
			calls[c] = append(calls[c], r)
		}
	}
	return calls
}

// TestBinStateSequence: whatever the SQLite writer keeps back from
// bin_state under sustained ingest (see pendingStates), the states read are
// those of applying every call in turn, on both engines.
func TestBinStateSequence(t *testing.T) {
	// No state waits for the clock: only a read, a fold or Close writes.
	defer store.SetStateEvery(store.SetStateEvery(time.Hour))
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for i := range 4 {
			must(t, "CreateBin", s.CreateBin(ctx, testBin(fmt.Sprintf("B-%d", i), 52.5, 13.4)))
		}
		model := stateModel{}
		for c, call := range stateCalls(rand.New(rand.NewPCG(1, 2)), 300) {
			_, err := s.WriteReadings(ctx, [][]civic.Reading{call})
			must(t, "WriteReadings", err)
			model.apply(call)
			if c%25 == 24 {
				got, err := s.BinStates(ctx)
				must(t, "BinStates", err)
				if d := model.diff(got); d != "" {
					t.Fatalf("after call %d: %s", c, d)
				}
			}
		}
	})
}

// rawStates reads bin_state as it is in the database, without the
// writer's pending states.
func rawStates(t *testing.T, s *store.Store) []civic.BinState {
	t.Helper()
	rows, err := store.ReadDB(s).Query(`SELECT bin_id, device_id, time, fill, temperature_c, battery, tilt_deg,
		door_open, fire, rssi_dbm FROM bin_state ORDER BY bin_id`)
	must(t, "select bin_state", err)
	defer rows.Close()
	var out []civic.BinState
	for rows.Next() {
		var st civic.BinState
		var dev sql.NullString
		var ms int64
		var fill, temp, battery, tilt, rssi sql.NullFloat64
		var door, fire sql.NullBool
		must(t, "scan bin_state", rows.Scan(&st.BinID, &dev, &ms, &fill, &temp, &battery, &tilt, &door, &fire, &rssi))
		fp := func(n sql.NullFloat64) *float64 {
			if !n.Valid {
				return nil
			}
			return &n.Float64
		}
		bp := func(n sql.NullBool) *bool {
			if !n.Valid {
				return nil
			}
			return &n.Bool
		}
		st.Device, st.Time = dev.String, time.UnixMilli(ms).UTC()
		st.Fill, st.TemperatureC, st.Battery, st.TiltDeg, st.RSSI = fp(fill), fp(temp), fp(battery), fp(tilt), fp(rssi)
		st.DoorOpen, st.Fire = bp(door), bp(fire)
		out = append(out, st)
	}
	must(t, "rows", rows.Err())
	return out
}

// TestBinStateRepair: states the SQLite writer kept back when its process
// stopped are applied when the database is opened again, and a fold writes
// them before their readings leave readings_recent.
func TestBinStateRepair(t *testing.T) {
	defer store.SetStateEvery(store.SetStateEvery(time.Hour))
	ctx := context.Background()
	dsn := newDSN(t, store.EngineSQLite)
	a := openStore(t, dsn, newClock())
	for i := range 4 {
		must(t, "CreateBin", a.CreateBin(ctx, testBin(fmt.Sprintf("B-%d", i), 52.5, 13.4)))
	}
	model := stateModel{}
	calls := stateCalls(rand.New(rand.NewPCG(3, 4)), 80)
	for _, call := range calls[:40] {
		_, err := a.WriteReadings(ctx, [][]civic.Reading{call})
		must(t, "WriteReadings", err)
		model.apply(call)
	}
	// Only the first call's states are in the database: a is a process
	// killed now, with the rest in memory.
	if model.diff(rawStates(t, a)) == "" {
		t.Fatal("bin_state holds every state already: nothing was kept back")
	}
	b := openStore(t, dsn, newClock())
	got, err := b.BinStates(ctx)
	must(t, "BinStates", err)
	if d := model.diff(got); d != "" {
		t.Fatalf("after reopening: %s", d)
	}

	// A fold takes the pending states with it.
	defer store.SetFoldRows(store.SetFoldRows(60))
	folded := false
	for _, call := range calls[40:] {
		_, err := b.WriteReadings(ctx, [][]civic.Reading{call})
		must(t, "WriteReadings", err)
		model.apply(call)
		n, err := store.RecentReadings(ctx, b)
		must(t, "RecentReadings", err)
		if n == 0 {
			folded = true
			if d := model.diff(rawStates(t, b)); d != "" {
				t.Fatalf("after a fold: %s", d)
			}
		}
	}
	if !folded {
		t.Fatal("no call folded readings_recent")
	}
}
