package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func TestPlanSettings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		got, err := s.PlanSettings(ctx)
		must(t, "PlanSettings", err)
		if !reflect.DeepEqual(got, civic.DefaultPlanSettings()) {
			t.Errorf("PlanSettings() before any = %+v, want the defaults", got)
		}

		ps := civic.DefaultPlanSettings()
		ps.Default.MayGoFill = 0.7
		ps.Streams[civic.StreamRecycling] = civic.PlanPolicy{MayGoFill: 0.5, HygieneDays: 14, RecentHours: 24,
			ServiceDays: []time.Weekday{time.Tuesday, time.Friday}}
		ps.Zones = map[string]map[civic.Stream]civic.PlanPolicy{
			"Z-1": {civic.StreamTrash: {MayGoFill: 0.4, MustGoFill: 0.7, HygieneDays: 2, RecentHours: 6, ServiceDays: []time.Weekday{time.Monday}}},
		}
		ps.UpdatedBy = "supervisor1"
		must(t, "SetPlanSettings", s.SetPlanSettings(ctx, &ps))
		if !ps.UpdatedAt.Equal(clk.Now()) {
			t.Errorf("UpdatedAt = %v, want %v", ps.UpdatedAt, clk.Now())
		}
		got, err = s.PlanSettings(ctx)
		must(t, "PlanSettings", err)
		if !reflect.DeepEqual(got, ps) {
			t.Errorf("PlanSettings() = %+v,\nwant %+v", got, ps)
		}
		if p := got.Policy("Z-1", civic.StreamTrash); p.MustGoFill != 0.7 {
			t.Errorf("zone policy = %+v", p)
		}

		// Replaced whole; a bad value is refused naming it, and nothing changes.
		bad := got
		bad.Streams = map[civic.Stream]civic.PlanPolicy{civic.StreamCompost: {MayGoFill: 2, ServiceDays: []time.Weekday{1}}}
		wantKind(t, "SetPlanSettings bad", s.SetPlanSettings(ctx, &bad), civic.Invalid, "streams.compost.may_go_fill")
		again, err := s.PlanSettings(ctx)
		must(t, "PlanSettings", err)
		if !reflect.DeepEqual(again, ps) {
			t.Errorf("a refused change changed the settings: %+v", again)
		}
	})
}
