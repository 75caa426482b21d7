package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

var t0 = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

func rd(device string, minute int, fill float64) civic.Reading {
	return civic.Reading{Device: device, Bin: "B-" + device[2:], Time: t0.Add(time.Duration(minute) * time.Minute), Fill: f64(fill)}
}

func TestWriteReadingsDedupe(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		calls := []struct {
			name    string
			batches [][]civic.Reading
			want    []civic.IngestResult
		}{
			{"first", [][]civic.Reading{{rd("D-1", 0, .1), rd("D-1", 1, .2), rd("D-2", 0, .3)}},
				[]civic.IngestResult{{Accepted: 3}}},
			{"resent", [][]civic.Reading{{rd("D-1", 0, .1), rd("D-1", 2, .4)}},
				[]civic.IngestResult{{Accepted: 1, Duplicates: 1}}},
			{"repeat inside a batch", [][]civic.Reading{{rd("D-3", 0, .1), rd("D-3", 0, .1), rd("D-3", 1, .2)}},
				[]civic.IngestResult{{Accepted: 2, Duplicates: 1}}},
			{"repeat across batches", [][]civic.Reading{
				{rd("D-4", 0, .1), rd("D-4", 1, .2)},
				{},
				{rd("D-4", 1, .2), rd("D-4", 2, .3), rd("D-1", 1, .2)},
			}, []civic.IngestResult{{Accepted: 2}, {}, {Accepted: 1, Duplicates: 2}}},
			{"empty", [][]civic.Reading{{}}, []civic.IngestResult{{}}},
		}
		for _, c := range calls {
			got, err := s.WriteReadings(ctx, c.batches)
			must(t, c.name, err)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
			}
		}
		got, err := s.Readings(ctx, civic.ReadingQuery{Device: "D-1"})
		must(t, "Readings", err)
		if len(got) != 3 {
			t.Fatalf("Readings(D-1) = %d readings, want 3", len(got))
		}
		_, err = s.WriteReadings(ctx, [][]civic.Reading{{{Device: "D-1", Fill: f64(1)}}})
		wantKind(t, "reading without time", err, civic.Invalid, "batches[0][0].time")
	})
}

func TestReadingsRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		full := civic.Reading{Device: "D-1", Bin: "B-1", Time: t0.Add(123 * time.Millisecond), Fill: f64(0.5),
			TemperatureC: f64(21.5), Battery: f64(0.8), TiltDeg: f64(3), Compactions: intp(7), DoorOpen: boolp(false),
			Fire: boolp(true), DistanceMM: f64(800), RSSI: f64(-101), SNR: f64(7.25)}
		bare := civic.Reading{Device: "D-1", Time: t0.Add(time.Hour), Battery: f64(0.7)}
		other := civic.Reading{Device: "D-2", Bin: "B-1", Time: t0.Add(30 * time.Minute), Fill: f64(0.6)}
		_, err := s.WriteReadings(ctx, [][]civic.Reading{{bare, full, other}})
		must(t, "WriteReadings", err)

		tests := []struct {
			name string
			q    civic.ReadingQuery
			want []civic.Reading
		}{
			{"device", civic.ReadingQuery{Device: "D-1"}, []civic.Reading{full, bare}},
			{"bin", civic.ReadingQuery{Bin: "B-1"}, []civic.Reading{full, other}},
			{"device and bin", civic.ReadingQuery{Device: "D-1", Bin: "B-1"}, []civic.Reading{full}},
			{"range", civic.ReadingQuery{Device: "D-1", From: t0.Add(time.Second), To: t0.Add(2 * time.Hour)}, []civic.Reading{bare}},
			{"to is exclusive", civic.ReadingQuery{Device: "D-1", To: t0.Add(time.Hour)}, []civic.Reading{full}},
			{"limit", civic.ReadingQuery{Bin: "B-1", Limit: 1}, []civic.Reading{full}},
		}
		for _, tt := range tests {
			got, err := s.Readings(ctx, tt.q)
			must(t, tt.name, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: got %+v,\nwant %+v", tt.name, got, tt.want)
			}
		}
		_, err = s.Readings(ctx, civic.ReadingQuery{})
		wantKind(t, "no bin or device", err, civic.Invalid)
	})
}

func TestBinStateMerge(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for _, id := range []string{"B-1", "B-2", "B-3"} {
			must(t, "CreateBin", s.CreateBin(ctx, testBin(id, 52.5, 13.4)))
		}
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		write := func(rs ...civic.Reading) {
			t.Helper()
			_, err := s.WriteReadings(ctx, [][]civic.Reading{rs})
			must(t, "WriteReadings", err)
		}
		state := func(bin string) civic.BinState {
			t.Helper()
			v, err := s.Bin(ctx, bin)
			must(t, "Bin", err)
			if v.State == nil {
				t.Fatalf("bin %s has no state", bin)
			}
			return *v.State
		}

		write(civic.Reading{Device: "D-1", Bin: "B-1", Time: at(10), Fill: f64(0.5), TemperatureC: f64(20), RSSI: f64(-90)})
		// A newer reading without fill keeps the fill and takes the rest.
		write(civic.Reading{Device: "D-1", Bin: "B-1", Time: at(20), TemperatureC: f64(22), Fire: boolp(false)})
		// A late, older reading changes nothing.
		write(civic.Reading{Device: "D-9", Bin: "B-1", Time: at(15), Fill: f64(0.9), Battery: f64(0.1)})
		st := state("B-1")
		want := civic.BinState{BinID: "B-1", Device: "D-1", Time: at(20), Fill: f64(0.5), TemperatureC: f64(22),
			Fire: boolp(false), RSSI: f64(-90), UpdatedAt: clk.Now()}
		if !reflect.DeepEqual(st, want) {
			t.Errorf("B-1 state = %+v,\nwant %+v", st, want)
		}

		// Inside one call, in any order: the newest reading wins and older
		// ones newer than the stored state fill its gaps.
		write(
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(30), Fill: f64(0.3)},
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(10), Fill: f64(0.1), Battery: f64(0.9), DoorOpen: boolp(true)},
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(20), Fill: f64(0.2), Battery: f64(0.8)},
		)
		st = state("B-2")
		want = civic.BinState{BinID: "B-2", Device: "D-2", Time: at(30), Fill: f64(0.3), Battery: f64(0.8),
			DoorOpen: boolp(true), UpdatedAt: clk.Now()}
		if !reflect.DeepEqual(st, want) {
			t.Errorf("B-2 state = %+v,\nwant %+v", st, want)
		}
		// Only readings newer than the stored state fill gaps.
		write(
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(40), Fill: f64(0.4)},
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(25), TiltDeg: f64(45)},
			civic.Reading{Device: "D-2", Bin: "B-2", Time: at(35), TemperatureC: f64(30)},
		)
		st = state("B-2")
		if st.TiltDeg != nil || st.TemperatureC == nil || *st.TemperatureC != 30 || *st.Fill != 0.4 || !st.Time.Equal(at(40)) {
			t.Errorf("B-2 state after partial merge = %+v", st)
		}

		// Readings without a bin, or for an unknown bin, touch no state.
		write(civic.Reading{Device: "D-3", Time: at(50), Fill: f64(1)}, civic.Reading{Device: "D-4", Bin: "B-404", Time: at(50), Fill: f64(1)})
		states, err := s.BinStates(ctx)
		must(t, "BinStates", err)
		var ids []string
		for _, st := range states {
			ids = append(ids, st.BinID)
		}
		if !reflect.DeepEqual(ids, []string{"B-1", "B-2"}) {
			t.Errorf("BinStates bins = %v, want [B-1 B-2]", ids)
		}
		must(t, "DeleteBin", s.DeleteBin(ctx, "B-1"))
		states, _ = s.BinStates(ctx)
		if len(states) != 1 {
			t.Errorf("BinStates after DeleteBin = %d, want 1", len(states))
		}
	})
}

func TestBinHistory(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		var batch []civic.Reading
		// Bin B-1: fill 0.1, 0.2, ... every 10 minutes for 2 hours, one
		// device; temperature on the first hour only.
		for i := 0; i < 12; i++ {
			r := civic.Reading{Device: "D-1", Bin: "B-1", Time: t0.Add(time.Duration(i) * 10 * time.Minute), Fill: f64(float64(i+1) / 20)}
			if i < 6 {
				r.TemperatureC = f64(10)
			}
			batch = append(batch, r)
		}
		batch = append(batch, civic.Reading{Device: "D-2", Bin: "B-2", Time: t0, Fill: f64(1)})
		_, err := s.WriteReadings(ctx, [][]civic.Reading{batch})
		must(t, "WriteReadings", err)

		got, err := s.BinHistory(ctx, "B-1", t0, t0.Add(3*time.Hour), time.Hour)
		must(t, "BinHistory", err)
		mean1 := (1.0 + 2 + 3 + 4 + 5 + 6) / 6 / 20
		mean2 := (7.0 + 8 + 9 + 10 + 11 + 12) / 6 / 20
		want := []civic.HistoryPoint{
			{Time: t0, Count: 6, Fill: f64(mean1), FillMin: f64(0.05), FillMax: f64(0.3), TemperatureC: f64(10)},
			{Time: t0.Add(time.Hour), Count: 6, Fill: f64(mean2), FillMin: f64(0.35), FillMax: f64(0.6)},
		}
		if len(got) != len(want) {
			t.Fatalf("BinHistory = %d points, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			g, w := got[i], want[i]
			if !g.Time.Equal(w.Time) || g.Count != w.Count || !near(g.Fill, w.Fill) || !near(g.FillMin, w.FillMin) ||
				!near(g.FillMax, w.FillMax) || !near(g.TemperatureC, w.TemperatureC) || g.Battery != nil {
				t.Errorf("point %d = %+v, want %+v", i, g, w)
			}
		}
		// Buckets align to Unix time, and from/to bound the readings.
		got, err = s.BinHistory(ctx, "B-1", t0.Add(25*time.Minute), t0.Add(65*time.Minute), 30*time.Minute)
		must(t, "BinHistory", err)
		if len(got) != 2 || !got[0].Time.Equal(t0.Add(30*time.Minute)) || got[0].Count != 3 || !got[1].Time.Equal(t0.Add(time.Hour)) || got[1].Count != 1 {
			t.Errorf("aligned history = %+v", got)
		}
		_, err = s.BinHistory(ctx, "B-1", t0, t0.Add(time.Hour), 0)
		wantKind(t, "zero step", err, civic.Invalid, "step")
	})
}

func near(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

// TestPartitions writes readings across months, years and far-off dates:
// nothing is rejected, and every reading reads back.
func TestPartitions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		times := []time.Time{
			time.Date(2001, 1, 31, 23, 59, 59, 999e6, time.UTC),
			time.Date(2001, 2, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			t0,
		}
		var batch []civic.Reading
		for _, tm := range times {
			batch = append(batch, civic.Reading{Device: "D-1", Bin: "B-1", Time: tm, Fill: f64(0.5)})
		}
		res, err := s.WriteReadings(ctx, [][]civic.Reading{batch})
		must(t, "WriteReadings", err)
		if res[0].Accepted != len(times) {
			t.Fatalf("accepted %d, want %d", res[0].Accepted, len(times))
		}
		// Again, now that the partitions exist: all duplicates.
		res, err = s.WriteReadings(ctx, [][]civic.Reading{batch})
		must(t, "WriteReadings again", err)
		if res[0].Duplicates != len(times) {
			t.Fatalf("duplicates %d, want %d", res[0].Duplicates, len(times))
		}
		got, err := s.Readings(ctx, civic.ReadingQuery{Device: "D-1"})
		must(t, "Readings", err)
		if len(got) != len(times) {
			t.Fatalf("read %d readings, want %d", len(got), len(times))
		}
		for i := range times {
			if !got[i].Time.Equal(times[i]) {
				t.Errorf("reading %d at %v, want %v", i, got[i].Time, times[i])
			}
		}
	})
}

// TestBinReadingsFollowDevices: a bin's history holds what each device
// reported while mounted on it, across a device replacement and a device
// moved to another bin.
func TestBinReadingsFollowDevices(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		at := func(device, bin string, minute int) civic.Reading {
			return civic.Reading{Device: device, Bin: bin, Time: t0.Add(time.Duration(minute) * time.Minute), Fill: f64(float64(minute) / 10)}
		}
		// D-1 reports for B-1, then moves to B-2; D-3 replaces it on B-1.
		_, err := s.WriteReadings(ctx, [][]civic.Reading{{at("D-1", "B-1", 0), at("D-1", "B-1", 1)}, {at("D-1", "B-1", 2)}})
		must(t, "WriteReadings", err)
		_, err = s.WriteReadings(ctx, [][]civic.Reading{{at("D-1", "B-2", 3), at("D-3", "B-1", 3), at("D-1", "B-2", 4), at("D-3", "B-1", 5)}})
		must(t, "WriteReadings", err)
		// A resend of a stored reading changes nothing.
		_, err = s.WriteReadings(ctx, [][]civic.Reading{{at("D-1", "B-1", 1)}})
		must(t, "WriteReadings", err)

		minutes := func(rs []civic.Reading) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.Device+"@"+r.Time.Sub(t0).String())
			}
			return out
		}
		for bin, want := range map[string][]string{
			"B-1": {"D-1@0s", "D-1@1m0s", "D-1@2m0s", "D-3@3m0s", "D-3@5m0s"},
			"B-2": {"D-1@3m0s", "D-1@4m0s"},
			"B-9": nil,
		} {
			got, err := s.Readings(ctx, civic.ReadingQuery{Bin: bin})
			must(t, "Readings", err)
			if !reflect.DeepEqual(minutes(got), want) {
				t.Errorf("Readings(%s) = %v, want %v", bin, minutes(got), want)
			}
		}
		hist, err := s.BinHistory(ctx, "B-1", t0, t0.Add(time.Hour), time.Hour)
		must(t, "BinHistory", err)
		if len(hist) != 1 || hist[0].Count != 5 || !near(hist[0].FillMax, f64(0.5)) {
			t.Errorf("BinHistory(B-1) = %+v, want one point of 5 readings, max fill 0.5", hist)
		}
		got, err := s.Readings(ctx, civic.ReadingQuery{Bin: "B-1", Device: "D-1"})
		must(t, "Readings", err)
		if len(got) != 3 {
			t.Errorf("Readings(B-1, D-1) = %v, want its 3 readings on B-1", minutes(got))
		}
	})
}

// TestBinDevicesMigration: the migration that reads bin history through
// bin_devices fills that table from the readings already stored.
func TestBinDevicesMigration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		_, err := s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", 0, .1), rd("D-2", 0, .2), {Device: "D-5", Time: t0, Fill: f64(.3)}}})
		must(t, "WriteReadings", err)
		must(t, "migrate down", store.MigrateDownTo(ctx, s, 20))
		// Written while the schema had no bin_devices.
		ms := any(t0.Add(time.Minute).UnixMilli())
		if s.Engine() == store.EnginePostgres {
			ms = t0.Add(time.Minute)
		}
		_, err = s.DB().ExecContext(ctx, `INSERT INTO readings (device_id, time, bin_id, fill, received_at) VALUES ('D-4', $1, 'B-1', 0.4, $1)`, ms)
		must(t, "insert", err)
		must(t, "migrate up", store.Migrate(ctx, s))
		got, err := s.Readings(ctx, civic.ReadingQuery{Bin: "B-1"})
		must(t, "Readings", err)
		if len(got) != 2 || got[0].Device != "D-1" || got[1].Device != "D-4" {
			t.Errorf("Readings(B-1) after migration = %+v, want D-1's and D-4's", got)
		}
	})
}
