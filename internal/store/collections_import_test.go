package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestImportCollections: a collection log becomes collections with the
// import source, once however often it is imported; a dry run counts the
// same and keeps nothing; a bad row stores nothing; each bin's live state
// is empty as of its newest collection.
func TestImportCollections(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.5)))
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-2", 52.6, 13.6)))
		day := clk.Now().Add(-72 * time.Hour).Truncate(time.Hour)
		log := func() []civic.Collection {
			return []civic.Collection{
				{BinID: "B-1", Time: day, FillBefore: f64(0.7)},
				{BinID: "B-1", Time: day.Add(24 * time.Hour), FillBefore: f64(1)},
				{BinID: "B-2", Time: day.Add(2 * time.Hour), FillBefore: f64(0.3)},
			}
		}

		n, err := s.ImportCollections(ctx, log(), true)
		if err != nil || n != 3 {
			t.Fatalf("dry run = %d, %v; want 3", n, err)
		}
		if got, _ := s.ListCollections(ctx, civic.CollectionFilter{}); len(got) != 0 {
			t.Fatalf("a dry run stored %d collections", len(got))
		}

		bad := log()
		bad[1].BinID = "B-404"
		_, err = s.ImportCollections(ctx, bad, false)
		wantKind(t, "a log naming an unknown bin", err, civic.Invalid, "collections[1].bin_id")
		bad = log()
		bad[2].FillBefore = f64(1.5)
		_, err = s.ImportCollections(ctx, bad, false)
		wantKind(t, "a fill above 1", err, civic.Invalid, "collections[2].fill_before")
		if got, _ := s.ListCollections(ctx, civic.CollectionFilter{}); len(got) != 0 {
			t.Fatalf("a failed import stored %d collections", len(got))
		}

		n, err = s.ImportCollections(ctx, log(), false)
		if err != nil || n != 3 {
			t.Fatalf("import = %d, %v; want 3", n, err)
		}
		got, err := s.ListCollections(ctx, civic.CollectionFilter{BinID: "B-1"})
		must(t, "ListCollections", err)
		if len(got) != 2 || got[0].Source != "import" || !got[0].Time.Equal(day.Add(24*time.Hour)) ||
			got[0].FillBefore == nil || *got[0].FillBefore != 1 {
			t.Fatalf("B-1 collections = %+v", got)
		}
		if n, err := s.ImportCollections(ctx, log(), false); err != nil || n != 0 {
			t.Errorf("importing the same log again = %d, %v; want 0 added", n, err)
		}
		if all, _ := s.ListCollections(ctx, civic.CollectionFilter{}); len(all) != 3 {
			t.Errorf("after a second import %d collections, want 3", len(all))
		}
		v, err := s.Bin(ctx, "B-1")
		must(t, "Bin", err)
		if v.State == nil || v.State.Fill == nil || *v.State.Fill != 0 || !v.State.Time.Equal(day.Add(24*time.Hour)) {
			t.Errorf("B-1 state = %+v, want empty as of its newest collection", v.State)
		}
		last, err := s.LastCollections(ctx)
		must(t, "LastCollections", err)
		if !last["B-2"].Equal(day.Add(2 * time.Hour)) {
			t.Errorf("LastCollections[B-2] = %v", last["B-2"])
		}
	})
}
