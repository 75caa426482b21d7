package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestAlertLatch: a critical alert whose condition clears stays open with
// cleared_at set (once), a firing condition clears the mark, and an
// acknowledgement then resolves it; a warning resolves itself as before,
// and an acknowledged critical alert resolves when it clears.
func TestAlertLatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		t0 := clk.Now().UTC().Truncate(time.Second)
		fire, _, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0))
		if err != nil || fire.Severity != civic.SeverityCritical || !fire.Latches() {
			t.Fatalf("OpenAlert fire = %+v, %v", fire, err)
		}
		a, ok, err := s.ResolveCleared(ctx, "B-1", civic.RuleFire, "temperature normal", t0.Add(time.Minute))
		if err != nil || ok || a.ID != fire.ID || a.Status != civic.AlertOpen || a.ClearedAt == nil || !a.ClearedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("ResolveCleared of a critical alert = %+v, %v, %v; want open, cleared at +1 min", a, ok, err)
		}
		if a, _, _ = s.ResolveCleared(ctx, "B-1", civic.RuleFire, "later", t0.Add(2*time.Minute)); !a.ClearedAt.Equal(t0.Add(time.Minute)) || a.Note != "temperature normal" {
			t.Errorf("second ResolveCleared moved the mark: %+v", a)
		}
		// Burning again: the mark goes.
		if a, created, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0.Add(3*time.Minute))); err != nil || created || a.ClearedAt != nil {
			t.Fatalf("OpenAlert while latched = %+v, %v, %v", a, created, err)
		}
		s.ResolveCleared(ctx, "B-1", civic.RuleFire, "out again", t0.Add(4*time.Minute))
		a, err = s.AckAlert(ctx, fire.ID, "sup", t0.Add(5*time.Minute))
		if err != nil || a.Status != civic.AlertResolved || a.ResolvedBy != "sup" || a.AckedBy != "sup" || a.ResolvedAt == nil {
			t.Fatalf("AckAlert of a cleared fire = %+v, %v; want resolved by sup", a, err)
		}
		// Acknowledged first, then out: resolved by the system.
		f2, _, _ := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0.Add(6*time.Minute)))
		if _, err := s.AckAlert(ctx, f2.ID, "sup", t0.Add(7*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if a, ok, err := s.ResolveCleared(ctx, "B-1", civic.RuleFire, "out", t0.Add(8*time.Minute)); err != nil || !ok || a.ResolvedBy != civic.SystemActor {
			t.Fatalf("ResolveCleared of an acknowledged fire = %+v, %v, %v", a, ok, err)
		}
		// A warning resolves itself.
		s.OpenAlert(ctx, newAlert("B-1", civic.RuleTilt, t0))
		if a, ok, err := s.ResolveCleared(ctx, "B-1", civic.RuleTilt, "upright", t0.Add(time.Minute)); err != nil || !ok || a.Status != civic.AlertResolved {
			t.Fatalf("ResolveCleared of a warning = %+v, %v, %v", a, ok, err)
		}
	})
}

// TestAlertSortAndPaging: severity order puts critical first and, within a
// severity, the oldest first; offset pages through without gaps or
// repeats.
func TestAlertSortAndPaging(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		t0 := clk.Now().UTC().Truncate(time.Second)
		for i, c := range []struct {
			bin  string
			rule civic.RuleKind
		}{{"B-1", civic.RuleLowBattery}, {"B-2", civic.RuleTilt}, {"B-3", civic.RuleFire}, {"B-4", civic.RuleTilt}, {"B-5", civic.RuleFire}, {"B-6", civic.RuleSensorFault}} {
			if _, _, err := s.OpenAlert(ctx, newAlert(c.bin, c.rule, t0.Add(time.Duration(i)*time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for off := 0; off < 10; off += 4 {
			page, err := s.ListAlerts(ctx, civic.AlertFilter{Sort: civic.AlertSortSeverity, Limit: 4, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				got = append(got, a.BinID)
			}
		}
		want := []string{"B-3", "B-5", "B-2", "B-4", "B-1", "B-6"}
		if len(got) != len(want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("pages = %v, want %v", got, want)
			}
		}
		if _, err := s.ListAlerts(ctx, civic.AlertFilter{Sort: "loudest"}); !civic.IsKind(err, civic.Invalid) {
			t.Errorf("unknown sort: %v, want Invalid", err)
		}
		if _, err := s.ListAlerts(ctx, civic.AlertFilter{Offset: -1}); !civic.IsKind(err, civic.Invalid) {
			t.Errorf("negative offset: %v, want Invalid", err)
		}
	})
}
