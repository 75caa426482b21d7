package whatif

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

func TestParseFixedSchedule(t *testing.T) {
	f, err := ParseFixedSchedule("3, compost=1 ,Z-2/trash=0,Z-2/recycling=7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    civic.Bin
		want int
	}{
		{civic.Bin{ZoneID: "Z-1", Stream: civic.StreamTrash}, 3},
		{civic.Bin{ZoneID: "Z-1", Stream: civic.StreamCompost}, 1},
		{civic.Bin{ZoneID: "Z-2", Stream: civic.StreamTrash}, 0},
		{civic.Bin{ZoneID: "Z-2", Stream: civic.StreamRecycling}, 7},
		{civic.Bin{ZoneID: "Z-2", Stream: civic.StreamCompost}, 1},
		{civic.Bin{Stream: civic.StreamPaper}, 3},
	} {
		if got := f.Every(tc.b); got != tc.want {
			t.Errorf("%s %s: every %d days, want %d", tc.b.ZoneID, tc.b.Stream, got, tc.want)
		}
	}
	if s := f.String(); s != "every bin every 3 days; compost every day (Monday to Saturday); recycling in zone Z-2 every 7 days; trash in zone Z-2 twice a day" {
		t.Errorf("String = %q", s)
	}
	for _, bad := range []string{"", "x", "-1", "29", "2,compost", "2,lava=1", "2,/trash=1", "2,Z-1/lava=2", "2,compost=99", "1.5"} {
		if _, err := ParseFixedSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestFixedSchedule: a configured interval of one day is daily
// collection, and of two days empties each bin every other day, Sundays
// included; the report's assumptions say the schedule.
func TestFixedSchedule(t *testing.T) {
	city := sim.GenerateCity(sim.CityParams{Bins: 30, Seed: 4})
	base := Options{City: city, Days: 14, Seed: 4, WarmupDays: -1, PlanTime: 20 * time.Millisecond,
		Policies: []string{PolicyDaily, PolicyFixed}, Fixed: &FixedSchedule{Days: 1}}
	r, err := Run(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	daily, fixed := r.Policy(PolicyDaily), r.Policy(PolicyFixed)
	if fixed.Total.Visits != daily.Total.Visits || fixed.Unserved != 0 {
		t.Errorf("every day: %d visits (%d unserved), daily collection %d", fixed.Total.Visits, fixed.Unserved, daily.Total.Visits)
	}
	if !strings.Contains(strings.Join(r.Assumptions, " "), "The fixed schedule is the one set for this run: every bin every day (Monday to Saturday)") {
		t.Errorf("assumptions do not say the schedule: %q", r.Assumptions)
	}
	base.Fixed = &FixedSchedule{Days: 2}
	base.Policies = []string{PolicyFixed}
	if r, err = Run(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	if p := r.Policy(PolicyFixed); p.Total.Visits != 7*len(city.Bins) || p.Unserved != 0 {
		t.Errorf("every other day for 14 days: %d visits (%d unserved), want %d", p.Total.Visits, p.Unserved, 7*len(city.Bins))
	}
}

func FuzzParseFixedSchedule(f *testing.F) {
	for _, s := range []string{"1", "3,compost=1", "2,Z-1/trash=0", "2,,", "7,a/b/c=1", "0,=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fs, err := ParseFixedSchedule(spec)
		if err != nil {
			return
		}
		for _, d := range append([]int{fs.Days}, append(mapsValues(fs.Streams), mapsValues(fs.Zones)...)...) {
			if d < 0 || d > maxFixedDays {
				t.Fatalf("%q accepted with an interval of %d days", spec, d)
			}
		}
		_ = fs.String()
	})
}

func mapsValues[K comparable](m map[K]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
