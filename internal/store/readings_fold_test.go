package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestReadingsFold: on SQLite new readings land in readings_recent and
// move to readings_main once it holds foldRows; readers see both tables,
// a resent reading is a duplicate whichever table holds it, and retention
// and a schema downgrade keep what they should.
func TestReadingsFold(t *testing.T) {
	defer store.SetFoldRows(store.SetFoldRows(4))
	ctx := context.Background()
	s := openStore(t, newDSN(t, store.EngineSQLite), newClock())
	for m := 0; m < 5; m++ {
		got, err := s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", m, .1*float64(m)), rd("D-2", m, .2), rd("D-3", m, .3)}})
		must(t, "WriteReadings", err)
		if want := []civic.IngestResult{{Accepted: 3}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("minute %d: WriteReadings = %+v, want %+v", m, got, want)
		}
	}
	// 3, 6 (moved), 3, 6 (moved), 3.
	recent := func(want int) {
		t.Helper()
		n, err := store.RecentReadings(ctx, s)
		must(t, "RecentReadings", err)
		if n != want {
			t.Errorf("readings_recent holds %d rows, want %d", n, want)
		}
	}
	recent(3)
	count := func(device string, want ...int) {
		t.Helper()
		got, err := s.Readings(ctx, civic.ReadingQuery{Device: device})
		must(t, "Readings", err)
		var mins []int
		for _, r := range got {
			mins = append(mins, int(r.Time.Sub(t0)/time.Minute))
		}
		if !reflect.DeepEqual(mins, want) {
			t.Errorf("Readings(%s) at minutes %v, want %v", device, mins, want)
		}
	}
	count("D-1", 0, 1, 2, 3, 4)
	count("D-3", 0, 1, 2, 3, 4)
	hist, err := s.BinHistory(ctx, "B-1", t0, t0.Add(time.Hour), time.Hour)
	must(t, "BinHistory", err)
	if len(hist) != 1 || hist[0].Count != 5 || !near(hist[0].FillMax, f64(.4)) {
		t.Errorf("BinHistory(B-1) = %+v, want one point of 5 readings, max fill 0.4", hist)
	}

	// Resent: minute 0 is in readings_main, minute 4 in readings_recent;
	// the two batches share statements.
	got, err := s.WriteReadings(ctx, [][]civic.Reading{
		{rd("D-1", 0, .1), rd("D-2", 4, .2), rd("D-1", 5, .5)},
		{rd("D-3", 0, .3), rd("D-3", 4, .3)},
	})
	must(t, "WriteReadings", err)
	if want := []civic.IngestResult{{Accepted: 1, Duplicates: 2}, {Duplicates: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("resent: WriteReadings = %+v, want %+v", got, want)
	}
	recent(0) // 3 + 1 reached foldRows: moved
	count("D-1", 0, 1, 2, 3, 4, 5)
	count("D-2", 0, 1, 2, 3, 4)

	// Retention in both tables.
	_, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-2", 6, .2)}})
	must(t, "WriteReadings", err)
	recent(1)
	n, err := s.PruneReadings(ctx, t0.Add(3*time.Minute))
	must(t, "PruneReadings", err)
	if n != 9 {
		t.Errorf("PruneReadings removed %d, want 9 (minutes 0 to 2 of three devices)", n)
	}
	count("D-2", 3, 4, 6)
	n, err = s.PruneReadings(ctx, t0.Add(7*time.Minute))
	must(t, "PruneReadings", err)
	if n != 8 {
		t.Errorf("PruneReadings removed %d, want 8", n)
	}
	recent(0)

	// directRows readings of a device in one call go straight to
	// readings_main; a key readings_recent holds is a duplicate there,
	// and the other way round.
	_, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-3", 20, .3)}})
	must(t, "WriteReadings", err)
	recent(1)
	got, err = s.WriteReadings(ctx, [][]civic.Reading{
		{rd("D-3", 20, .3), rd("D-3", 21, .3)},
		{rd("D-3", 22, .3), rd("D-3", 21, .3), rd("D-3", 23, .3)},
	})
	must(t, "WriteReadings", err)
	if want := []civic.IngestResult{{Accepted: 1, Duplicates: 1}, {Accepted: 2, Duplicates: 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("a device's batch: WriteReadings = %+v, want %+v", got, want)
	}
	recent(1)
	got, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-3", 22, .3)}, {rd("D-2", 22, .2)}})
	must(t, "WriteReadings", err)
	if want := []civic.IngestResult{{Duplicates: 1}, {Accepted: 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("resent one by one: WriteReadings = %+v, want %+v", got, want)
	}
	count("D-3", 20, 21, 22, 23)
	n, err = s.PruneReadings(ctx, t0.Add(30*time.Minute))
	must(t, "PruneReadings", err)
	if n != 5 {
		t.Errorf("PruneReadings removed %d, want 5", n)
	}

	// Down to the single table and up again: nothing lost.
	_, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", 8, .8), rd("D-1", 9, .9)}})
	must(t, "WriteReadings", err)
	must(t, "FoldReadings", store.FoldReadings(ctx, s))
	recent(0)
	got, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", 8, .8), rd("D-1", 12, 1), rd("D-1", 13, 1), rd("D-1", 12, 1)}})
	must(t, "WriteReadings", err)
	if want := []civic.IngestResult{{Accepted: 2, Duplicates: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("a device's batch, nothing recent: WriteReadings = %+v, want %+v", got, want)
	}
	recent(0)
	_, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", 10, 1)}})
	must(t, "WriteReadings", err)
	must(t, "migrate down", store.MigrateDownTo(ctx, s, 130))
	must(t, "migrate up", store.Migrate(ctx, s))
	count("D-1", 8, 9, 10, 12, 13)
	got, err = s.WriteReadings(ctx, [][]civic.Reading{{rd("D-1", 10, 1), rd("D-1", 11, 1)}})
	must(t, "WriteReadings", err)
	if want := []civic.IngestResult{{Accepted: 1, Duplicates: 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the migrations: WriteReadings = %+v, want %+v", got, want)
	}
}

// TestReadingsNewerThanMain: a reading newer than every reading in
// readings_main goes to readings_recent without a lookup there; one at
// that newest time or before is looked up, in the same call, and after a
// restart, when the newest time is found again.
func TestReadingsNewerThanMain(t *testing.T) {
	defer store.SetFoldRows(store.SetFoldRows(3))
	ctx := context.Background()
	dsn := newDSN(t, store.EngineSQLite)
	clk := newClock()
	s := openStore(t, dsn, clk)
	write := func(s *store.Store, name string, batches [][]civic.Reading, want ...civic.IngestResult) {
		t.Helper()
		got, err := s.WriteReadings(ctx, batches)
		must(t, "WriteReadings", err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: WriteReadings = %+v, want %+v", name, got, want)
		}
	}
	// Minutes 0 to 2 of D-2 and D-1 at 3 reach foldRows: readings_main's
	// newest is minute 3.
	write(s, "first", [][]civic.Reading{{rd("D-2", 0, .1), rd("D-2", 1, .1), rd("D-2", 2, .1)}, {rd("D-1", 3, .1)}},
		civic.IngestResult{Accepted: 3}, civic.IngestResult{Accepted: 1})
	n, err := store.RecentReadings(ctx, s)
	must(t, "RecentReadings", err)
	if n != 0 {
		t.Fatalf("readings_recent holds %d rows after the fold, want 0", n)
	}
	// Minute 3 of D-1, the newest in readings_main, and minute 2 of D-2
	// are repeats; minute 3 of D-2 and minute 4 of D-1 are new.
	write(s, "at the newest", [][]civic.Reading{{rd("D-1", 3, .1)}, {rd("D-2", 3, .1)}, {rd("D-2", 2, .1), rd("D-1", 4, .1)}},
		civic.IngestResult{Duplicates: 1}, civic.IngestResult{Accepted: 1}, civic.IngestResult{Accepted: 1, Duplicates: 1})
	// Two in readings_recent now; minute 4 of D-1 is a repeat there.
	write(s, "recent", [][]civic.Reading{{rd("D-1", 4, .1), rd("D-1", 5, .1)}},
		civic.IngestResult{Accepted: 1, Duplicates: 1})
	must(t, "Close", s.Close())

	// Reopened (later: a call's received_at is the clock's time at least):
	// readings_main's newest (minute 5 after the fold) is found again, so
	// its repeats are recognised.
	clk.Advance(time.Second)
	s = openStore(t, dsn, clk)
	write(s, "reopened", [][]civic.Reading{{rd("D-1", 5, .1)}, {rd("D-2", 1, .1)}, {rd("D-2", 6, .1)}},
		civic.IngestResult{Duplicates: 1}, civic.IngestResult{Duplicates: 1}, civic.IngestResult{Accepted: 1})
	got, err := s.Readings(ctx, civic.ReadingQuery{Device: "D-1"})
	must(t, "Readings", err)
	if len(got) != 3 {
		t.Errorf("D-1 has %d readings, want 3 (minutes 3 to 5)", len(got))
	}
}
