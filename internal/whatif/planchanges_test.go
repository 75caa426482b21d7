package whatif_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/whatif"
)

// TestPlanChanges: a risk reaches the default and every stream, zones
// keep theirs; hygiene days reach the default, and a stream named gets
// its own (from the default's policy when it had none); the base is left
// as it was; bad values are refused naming the field.
func TestPlanChanges(t *testing.T) {
	base := civic.DefaultPlanSettings()
	base.Zones = map[string]map[civic.Stream]civic.PlanPolicy{"Z-1": {civic.StreamTrash: {OverflowRisk: 0.2, HygieneDays: 4, ServiceDays: base.Default.ServiceDays}}}
	ten, zero := 10.0, 0.0
	ps, err := whatif.PlanChanges{OverflowRisk: 0.3, HygieneDays: &ten,
		StreamHygieneDays: map[civic.Stream]float64{civic.StreamRecycling: 5}}.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Default.OverflowRisk != 0.3 || ps.Streams[civic.StreamCompost].OverflowRisk != 0.3 || ps.Zones["Z-1"][civic.StreamTrash].OverflowRisk != 0.2 {
		t.Errorf("risk: default %g, compost %g, zone %g; want 0.3, 0.3, the zone's 0.2",
			ps.Default.OverflowRisk, ps.Streams[civic.StreamCompost].OverflowRisk, ps.Zones["Z-1"][civic.StreamTrash].OverflowRisk)
	}
	if got := []float64{ps.Default.HygieneDays, ps.Policy("", civic.StreamCompost).HygieneDays, ps.Policy("", civic.StreamRecycling).HygieneDays,
		ps.Policy("", civic.StreamTrash).HygieneDays}; !slices.Equal(got, []float64{10, 3, 5, 10}) {
		t.Errorf("hygiene days default, compost, recycling, trash: %v, want [10 3 5 10]", got)
	}
	if base.Default.OverflowRisk != 0 || len(base.Streams) != 1 || base.Streams[civic.StreamCompost].OverflowRisk != 0 {
		t.Errorf("Apply changed its base: %+v", base)
	}
	if ps, err := (whatif.PlanChanges{HygieneDays: &zero}).Apply(base); err != nil || ps.Default.HygieneDays != 0 || ps.Policy("", civic.StreamCompost).HygieneDays != 3 {
		t.Errorf("no limit by default: %v, compost %g", err, ps.Policy("", civic.StreamCompost).HygieneDays)
	}
	for _, tc := range []struct {
		c     whatif.PlanChanges
		field string
	}{
		{whatif.PlanChanges{OverflowRisk: 0.7}, "overflow_risk"},
		{whatif.PlanChanges{OverflowRisk: -1}, "overflow_risk"},
		{whatif.PlanChanges{HygieneDays: new(400.0)}, "hygiene_days"},
		{whatif.PlanChanges{StreamHygieneDays: map[civic.Stream]float64{"lava": 3}}, "hygiene_days"},
		{whatif.PlanChanges{StreamHygieneDays: map[civic.Stream]float64{civic.StreamCompost: -2}}, "hygiene_days"},
	} {
		if _, err := tc.c.Apply(base); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tc.field {
			t.Errorf("%+v: %v, want invalid %s", tc.c, err, tc.field)
		}
	}
}

// FuzzHygieneDays: any --hygiene-days value either fails with an error or
// leaves plan settings that validate, with every hygiene limit in range.
func FuzzHygieneDays(f *testing.F) {
	for _, s := range []string{"7", "0,compost=0", "10,compost=4,trash=2", "7,compost", "x", "1e400", "NaN", "7,,", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := whatif.ParseHygieneDays(spec)
		if err != nil {
			return
		}
		ps, err := c.Apply(civic.DefaultPlanSettings())
		if err != nil {
			t.Fatalf("%q parsed as %+v, but does not apply: %v", spec, c, err)
		}
		if err := ps.Validate(); err != nil {
			t.Fatalf("%q accepted, but the settings do not validate: %v", spec, err)
		}
		for _, p := range append([]civic.PlanPolicy{ps.Default}, slices.Collect(maps.Values(ps.Streams))...) {
			if !(p.HygieneDays >= 0 && p.HygieneDays <= 365) {
				t.Fatalf("%q accepted with %v hygiene days", spec, p.HygieneDays)
			}
		}
	})
}
