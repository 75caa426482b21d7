package forecast

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// TestFillRates: on generated bins with known weekly mean rates, noisy
// readings, lost echoes and collections, the measured rates are close to
// the truth; bins without readings are absent; readings of no bin are
// ignored.
func TestFillRates(t *testing.T) {
	c := generate(synthParams{bins: 120, days: 28, seed: 5})
	rs := append(slices.Clone(c.readings), civic.Reading{Device: "loose", Time: synthStart, Fill: fptr(0.5)})
	got := FillRates(rs, Options{}, nil)
	var errs []float64
	for _, b := range c.bins {
		r, ok := got[b.ID]
		if !ok {
			t.Errorf("bin %s: no rate", b.ID)
			continue
		}
		if r.Cycles < 1 || r.Hours < 24 {
			t.Errorf("bin %s: %d cycles over %.0f h from 28 days", b.ID, r.Cycles, r.Hours)
		}
		errs = append(errs, math.Abs(r.PerHour/c.rate[b.ID]-1))
	}
	if len(got) != len(c.bins) {
		t.Errorf("%d rates for %d bins", len(got), len(c.bins))
	}
	slices.Sort(errs)
	if med, p90 := errs[len(errs)/2], errs[len(errs)*9/10]; med > 0.06 || p90 > 0.15 {
		t.Errorf("relative error of the rates: median %.3f, 90th percentile %.3f; want at most 0.06 and 0.15", med, p90)
	}

	// A bin read full from its second reading on: only the rise before.
	at := func(h float64) time.Time { return synthStart.Add(time.Duration(h * float64(time.Hour))) }
	full := []civic.Reading{
		{Bin: "F", Time: at(0), Fill: fptr(0.2)}, {Bin: "F", Time: at(10), Fill: fptr(0.7)},
		{Bin: "F", Time: at(20), Fill: fptr(1)}, {Bin: "F", Time: at(30), Fill: fptr(1)},
	}
	if r := FillRates(full, Options{}, nil)["F"]; math.Abs(r.PerHour-0.05) > 1e-9 || r.Hours != 10 || r.Cycles != 1 {
		t.Errorf("saturated bin: %+v, want 0.05 per hour over 10 h", r)
	}
	// One reading: no cycle to measure.
	if r, ok := FillRates(full[:1], Options{}, nil)["F"]; ok {
		t.Errorf("one reading gave %+v", r)
	}
}
