package store_test

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// fillReading is a fill reading of bin by device D-<bin> at t.
func fillReading(bin string, t time.Time, fill float64) civic.Reading {
	return civic.Reading{Device: "D-" + bin, Bin: bin, Time: t, Fill: f64(fill)}
}

// liveFill returns the bin's live fill and the time of its state.
func liveFill(t *testing.T, s *store.Store, bin string) (*float64, time.Time) {
	t.Helper()
	v, err := s.Bin(context.Background(), bin)
	must(t, "Bin "+bin, err)
	if v.State == nil {
		t.Fatalf("bin %s has no state", bin)
	}
	return v.State.Fill, v.State.Time
}

func wantFill(t *testing.T, what string, s *store.Store, bin string, fill float64, at time.Time) {
	t.Helper()
	got, gotAt := liveFill(t, s, bin)
	if got == nil || *got != fill || !gotAt.Equal(at) {
		t.Errorf("%s: bin %s live fill %v at %v, want %v at %v", what, bin, fillStr(got), gotAt, fill, at)
	}
}

func fillStr(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestReportStop(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for _, id := range []string{"B-1", "B-2", "B-3"} {
			must(t, "CreateBin", s.CreateBin(ctx, testBin(id, 52.5, 13.4)))
		}
		t0 := clk.Now()
		write(t, s, fillReading("B-1", t0.Add(-time.Hour), 0.8), fillReading("B-2", t0.Add(-time.Hour), 0.5))
		p := testPlan("2026-03-10")
		must(t, "SavePlan", s.SavePlan(ctx, p))
		r1, r2 := p.Routes[0], p.Routes[1]
		b1, b2, b3 := r1.Stops[1].ID, r1.Stops[3].ID, r2.Stops[1].ID

		report := func(client, stop string, status civic.StopStatus, at time.Time) *civic.StopReport {
			r := &civic.StopReport{ClientID: client, StopID: stop, Status: status, At: at, By: "ana"}
			if status == civic.StopSkipped {
				r.SkipReason = civic.SkipBlocked
			}
			return r
		}
		_, _, _, err := s.ReportStop(ctx, report("c0", b1, civic.StopCollected, t0))
		wantKind(t, "report on a draft", err, civic.Conflict)
		_, err = s.SetPlanStatus(ctx, p.ID, civic.PlanDraft, civic.PlanLocked)
		must(t, "lock", err)
		_, _, _, err = s.ReportStop(ctx, report("c0", "nope", civic.StopCollected, t0))
		wantKind(t, "unknown stop", err, civic.NotFound)
		_, _, _, err = s.ReportStop(ctx, report("c0", r1.Stops[0].ID, civic.StopCollected, t0))
		wantKind(t, "depot stop", err, civic.Conflict)
		_, _, _, err = s.ReportStop(ctx, report("c0", b1, "done", t0))
		wantKind(t, "bad status", err, civic.Invalid, "status")
		bad := report("c0", b1, civic.StopCollected, t0)
		bad.Photo, bad.PhotoType = []byte("GIF89a"), "image/gif"
		_, _, _, err = s.ReportStop(ctx, bad)
		wantKind(t, "bad photo", err, civic.Invalid, "photo")
		if got, _ := s.ListCollections(ctx, civic.CollectionFilter{}); len(got) != 0 {
			t.Fatalf("refused reports left collections: %+v", got)
		}

		// B-1 collected, with a photo.
		clk.Advance(time.Minute)
		first := report("c1", b1, civic.StopCollected, t0.Add(123456789))
		first.FillSeen, first.Note = f64(0.9), "overflowing"
		first.Photo, first.PhotoType = []byte("\x89PNG fake"), "image/png"
		stop, c, applied, err := s.ReportStop(ctx, first)
		must(t, "ReportStop c1", err)
		at := t0.Add(123 * time.Millisecond)
		if !applied || stop.Status != civic.StopCollected || stop.DoneAt == nil || !stop.DoneAt.Equal(at) ||
			stop.FillAtArrival == nil || *stop.FillAtArrival != 0.8 || *stop.FillSeen != 0.9 || stop.ID != b1 {
			t.Errorf("ReportStop c1 = %+v, applied %v", stop, applied)
		}
		wantC := &civic.Collection{ID: "col-" + b1, BinID: "B-1", Time: at, StopID: b1, RouteID: r1.ID, PlanID: p.ID,
			TruckID: "T-1", CrewID: "C-1", By: "ana", FillSeen: f64(0.9), FillBefore: f64(0.8), Source: "crew", HasPhoto: true}
		if !reflect.DeepEqual(c, wantC) {
			t.Errorf("ReportStop c1 collection = %+v,\nwant %+v", c, wantC)
		}
		wantFill(t, "after collecting B-1", s, "B-1", 0, at)
		plan, err := s.Plan(ctx, p.ID)
		must(t, "Plan", err)
		if plan.Status != civic.PlanInProgress || plan.Routes[0].Status != civic.RouteInProgress || plan.Routes[1].Status != civic.RoutePlanned {
			t.Errorf("after the first report: plan %s, routes %s and %s", plan.Status, plan.Routes[0].Status, plan.Routes[1].Status)
		}
		if !reflect.DeepEqual(plan.Routes[0].Stops[1], stop) {
			t.Errorf("stored stop = %+v,\nwant %+v", plan.Routes[0].Stops[1], stop)
		}

		// The same report again: nothing new.
		clk.Advance(time.Minute)
		again, c, applied, err := s.ReportStop(ctx, first)
		must(t, "ReportStop c1 again", err)
		if applied || c != nil || !reflect.DeepEqual(again, stop) {
			t.Errorf("repeated report: applied %v, collection %+v, stop %+v", applied, c, again)
		}
		reuse := report("c1", b2, civic.StopCollected, t0)
		_, _, _, err = s.ReportStop(ctx, reuse)
		wantKind(t, "client id of another stop", err, civic.Conflict, "client_id")
		got, err := s.ListCollections(ctx, civic.CollectionFilter{BinID: "B-1"})
		must(t, "ListCollections", err)
		if len(got) != 1 || !reflect.DeepEqual(got[0], *wantC) {
			t.Errorf("collections of B-1 = %+v,\nwant [%+v]", got, *wantC)
		}

		// B-2 skipped, then collected after all, then collected again.
		skip := report("c2", b2, civic.StopSkipped, t0.Add(5*time.Minute))
		stop, c, applied, err = s.ReportStop(ctx, skip)
		must(t, "ReportStop c2", err)
		if !applied || c != nil || stop.Status != civic.StopSkipped || stop.SkipReason != civic.SkipBlocked {
			t.Errorf("skip: applied %v, collection %+v, stop %+v", applied, c, stop)
		}
		wantFill(t, "after skipping B-2", s, "B-2", 0.5, t0.Add(-time.Hour))
		stop, c, applied, err = s.ReportStop(ctx, report("c3", b2, civic.StopCollected, t0.Add(10*time.Minute)))
		must(t, "ReportStop c3", err)
		if !applied || c == nil || c.FillBefore == nil || *c.FillBefore != 0.5 || stop.Status != civic.StopCollected ||
			stop.SkipReason != "" || !stop.DoneAt.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("collect after skip: applied %v, collection %+v, stop %+v", applied, c, stop)
		}
		wantFill(t, "after collecting B-2", s, "B-2", 0, t0.Add(10*time.Minute))
		// An older report (from a phone's offline queue) is kept but
		// does not change the outcome.
		stop, c, applied, err = s.ReportStop(ctx, report("c4", b2, civic.StopSkipped, t0.Add(7*time.Minute)))
		must(t, "ReportStop c4", err)
		if !applied || c != nil || stop.Status != civic.StopCollected {
			t.Errorf("older report: applied %v, collection %+v, stop %+v", applied, c, stop)
		}
		stop, c, applied, err = s.ReportStop(ctx, report("c5", b2, civic.StopCollected, t0.Add(12*time.Minute)))
		must(t, "ReportStop c5", err)
		if !applied || c != nil || !stop.DoneAt.Equal(t0.Add(12*time.Minute)) {
			t.Errorf("second collected report: applied %v, collection %+v, stop %+v", applied, c, stop)
		}
		if got, _ := s.ListCollections(ctx, civic.CollectionFilter{BinID: "B-2"}); len(got) != 1 || !got[0].Time.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("collections of B-2 = %+v, want the one at +10m", got)
		}
		plan, err = s.Plan(ctx, p.ID)
		must(t, "Plan", err)
		if plan.Status != civic.PlanInProgress || plan.Routes[0].Status != civic.RouteDone || plan.Routes[1].Status != civic.RoutePlanned {
			t.Errorf("after route 1: plan %s, routes %s and %s", plan.Status, plan.Routes[0].Status, plan.Routes[1].Status)
		}

		// B-3, the last pending bin, was deleted meanwhile: the report
		// still counts and finishes the plan; no state is left behind.
		must(t, "DeleteBin", s.DeleteBin(ctx, "B-3"))
		_, c, _, err = s.ReportStop(ctx, report("c6", b3, civic.StopCollected, t0.Add(20*time.Minute)))
		must(t, "ReportStop c6", err)
		if c == nil || c.BinID != "B-3" || c.FillBefore != nil || c.TruckID != "T-2" || c.CrewID != "" {
			t.Errorf("collection of a deleted bin = %+v", c)
		}
		plan, err = s.Plan(ctx, p.ID)
		must(t, "Plan", err)
		if plan.Status != civic.PlanDone || plan.Routes[0].Status != civic.RouteDone || plan.Routes[1].Status != civic.RouteDone {
			t.Errorf("at the end: plan %s, routes %s and %s", plan.Status, plan.Routes[0].Status, plan.Routes[1].Status)
		}
		must(t, "CreateBin B-3 again", s.CreateBin(ctx, testBin("B-3", 52.5, 13.4)))
		if v, err := s.Bin(ctx, "B-3"); err != nil || v.State != nil {
			t.Errorf("a re-created bin inherited state %+v (%v)", v.State, err)
		}
		// A done plan still takes corrections.
		stop, _, applied, err = s.ReportStop(ctx, report("c7", b3, civic.StopSkipped, t0.Add(25*time.Minute)))
		must(t, "ReportStop on a done plan", err)
		if !applied || stop.Status != civic.StopSkipped {
			t.Errorf("correction: applied %v, stop %+v", applied, stop)
		}

		photo, ctype, err := s.StopPhoto(ctx, b1)
		must(t, "StopPhoto", err)
		if !bytes.Equal(photo, first.Photo) || ctype != "image/png" {
			t.Errorf("StopPhoto = %q, %q", photo, ctype)
		}
		_, _, err = s.StopPhoto(ctx, b2)
		wantKind(t, "StopPhoto without photo", err, civic.NotFound)

		last, err := s.LastCollections(ctx)
		must(t, "LastCollections", err)
		wantLast := map[string]time.Time{"B-1": at, "B-2": t0.Add(10 * time.Minute), "B-3": t0.Add(20 * time.Minute)}
		if !reflect.DeepEqual(last, wantLast) {
			t.Errorf("LastCollections = %v, want %v", last, wantLast)
		}
		all, err := s.ListCollections(ctx, civic.CollectionFilter{PlanID: p.ID})
		must(t, "ListCollections", err)
		var bins []string
		for _, c := range all {
			bins = append(bins, c.BinID)
		}
		if !reflect.DeepEqual(bins, []string{"B-3", "B-2", "B-1"}) {
			t.Errorf("ListCollections newest first = %v", bins)
		}
		some, err := s.ListCollections(ctx, civic.CollectionFilter{From: at.Add(time.Millisecond), To: t0.Add(20 * time.Minute), Limit: 5})
		must(t, "ListCollections window", err)
		if len(some) != 1 || some[0].BinID != "B-2" {
			t.Errorf("ListCollections [+1ms, +20m) = %+v, want B-2", some)
		}
		_, err = s.ListCollections(ctx, civic.CollectionFilter{Limit: -1})
		wantKind(t, "ListCollections bad limit", err, civic.Invalid, "limit")
		_, err = s.ListCollections(ctx, civic.CollectionFilter{Offset: -1})
		wantKind(t, "ListCollections bad offset", err, civic.Invalid, "offset")
	})
}

// TestCollectionPages: Limit and Offset page the collections newest
// first; an Offset alone skips that many.
func TestCollectionPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)))
		t0 := clk.Now().Add(-10 * time.Hour)
		for i := range 7 {
			must(t, "RecordCollection", s.RecordCollection(ctx, &civic.Collection{BinID: "B-1", Time: t0.Add(time.Duration(i) * time.Hour), Source: "demo"}))
		}
		all, err := s.ListCollections(ctx, civic.CollectionFilter{})
		must(t, "ListCollections", err)
		if len(all) != 7 || !all[0].Time.After(all[6].Time) {
			t.Fatalf("%d collections, want 7 newest first", len(all))
		}
		var paged []civic.Collection
		for off := 0; off < 9; off += 3 {
			page, err := s.ListCollections(ctx, civic.CollectionFilter{Limit: 3, Offset: off})
			must(t, "ListCollections page", err)
			paged = append(paged, page...)
		}
		if !reflect.DeepEqual(paged, all) {
			t.Errorf("pages of 3 = %+v,\nwant %+v", paged, all)
		}
		rest, err := s.ListCollections(ctx, civic.CollectionFilter{Offset: 5})
		must(t, "ListCollections offset", err)
		if !reflect.DeepEqual(rest, all[5:]) {
			t.Errorf("offset 5 = %+v, want the last 2", rest)
		}
	})
}

// TestCollectionAndLateReadings: a collection empties the bin's live state;
// a reading taken before it, ingested after it, does not bring the old fill
// back, and a reading taken after it does.
func TestCollectionAndLateReadings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4)))
		t0 := clk.Now().Add(-time.Hour)
		write(t, s, fillReading("B-1", t0, 0.7))

		c := &civic.Collection{BinID: "B-1", Time: t0.Add(10 * time.Minute), Source: "demo"}
		must(t, "RecordCollection", s.RecordCollection(ctx, c))
		want := civic.Collection{ID: "col-B-1-" + strconv.FormatInt(t0.Add(10*time.Minute).UnixMilli(), 10), BinID: "B-1",
			Time: t0.Add(10 * time.Minute), Source: "demo", FillBefore: f64(0.7)}
		if !reflect.DeepEqual(*c, want) {
			t.Errorf("RecordCollection left %+v,\nwant %+v", *c, want)
		}
		wantFill(t, "after the collection", s, "B-1", 0, t0.Add(10*time.Minute))

		// Taken before the collection, arriving after it: alone, and in a
		// batch whose newest reading lacks a fill (the merging path).
		write(t, s, fillReading("B-1", t0.Add(5*time.Minute), 0.75))
		wantFill(t, "after a late reading", s, "B-1", 0, t0.Add(10*time.Minute))
		temp := civic.Reading{Device: "D-B-1", Bin: "B-1", Time: t0.Add(7 * time.Minute), TemperatureC: f64(21)}
		write(t, s, fillReading("B-1", t0.Add(6*time.Minute), 0.76), temp)
		wantFill(t, "after a late mixed batch", s, "B-1", 0, t0.Add(10*time.Minute))
		rs, err := s.Readings(ctx, civic.ReadingQuery{Bin: "B-1"})
		must(t, "Readings", err)
		if len(rs) != 4 {
			t.Errorf("late readings were not stored: %d readings, want 4", len(rs))
		}

		// Taken after it: applies.
		write(t, s, fillReading("B-1", t0.Add(15*time.Minute), 0.1))
		wantFill(t, "after a newer reading", s, "B-1", 0.1, t0.Add(15*time.Minute))

		// A collection recorded late, older than the live state, leaves
		// the state alone; its fill before is what was known at its time
		// (0: the bin had been emptied at +10m, after the last fill).
		late := &civic.Collection{BinID: "B-1", Time: t0.Add(12 * time.Minute), Source: "import"}
		must(t, "RecordCollection late", s.RecordCollection(ctx, late))
		if late.FillBefore == nil || *late.FillBefore != 0 {
			t.Errorf("late collection FillBefore = %v, want 0", fillStr(late.FillBefore))
		}
		wantFill(t, "after a late collection", s, "B-1", 0.1, t0.Add(15*time.Minute))
		last, err := s.LastCollections(ctx)
		must(t, "LastCollections", err)
		if !last["B-1"].Equal(t0.Add(12 * time.Minute)) {
			t.Errorf("LastCollections[B-1] = %v, want +12m", last["B-1"])
		}

		// A bin without a state gets an empty one.
		must(t, "CreateBin B-2", s.CreateBin(ctx, testBin("B-2", 52.5, 13.4)))
		must(t, "RecordCollection B-2", s.RecordCollection(ctx, &civic.Collection{BinID: "B-2", FillSeen: f64(0.4)}))
		wantFill(t, "a bin without readings", s, "B-2", 0, clk.Now())

		wantKind(t, "missing bin", s.RecordCollection(ctx, &civic.Collection{BinID: "B-9"}), civic.Invalid, "bin_id")
		wantKind(t, "no bin", s.RecordCollection(ctx, &civic.Collection{}), civic.Invalid, "bin_id")
		wantKind(t, "bad fill", s.RecordCollection(ctx, &civic.Collection{BinID: "B-1", FillSeen: f64(2)}), civic.Invalid, "fill_seen")
		wantKind(t, "same id", s.RecordCollection(ctx, &civic.Collection{ID: c.ID, BinID: "B-1"}), civic.Conflict)
	})
}
