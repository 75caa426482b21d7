package whatif

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// TestTrueFullAt: the time the perfect forecasts give agrees, to the
// minute, with a plain scan of the bin's true waste minute by minute.
func TestTrueFullAt(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 15, Seed: 7})
	o, err := Options{City: c, Days: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(o, PolicyPerfect, sim.DefaultStart, sim.DefaultLocation)
	now := sim.DefaultStart.Add(7 * time.Hour)
	r.s = sim.NewSensors(r.city, sim.SensorParams{Seed: 7, Start: now})
	checked := 0
	for i := range r.city.Bins {
		b := &r.city.Bins[i]
		for _, fill := range []float64{0, 0.3, 0.85, 0.95} {
			const thr = 0.9
			got, ok := r.trueFullAt(b, now, fill, thr)
			// The reference: the first minute by which the bin has
			// received what it lacks.
			need := (thr - fill) * b.CapacityL
			var want time.Time
			wantOK := false
			for m := 0; m <= int(perfectHorizon/time.Minute); m++ {
				at := now.Add(time.Duration(m) * time.Minute)
				if r.s.GeneratedBetween(b.ID, now, at) >= need {
					want, wantOK = at, true
					break
				}
			}
			if ok != wantOK || ok && math.Abs(got.Sub(want).Minutes()) > 1 {
				t.Errorf("bin %s from %.2f: full at %v (%v), want %v (%v)", b.ID, fill, got, ok, want, wantOK)
			}
			if ok && fill < thr {
				checked++
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d cases reached the line within the horizon", checked)
	}
}

// TestRequestPerfect: a simulation asked for from the web app or the API
// runs the perfect-forecast policy only when asked.
func TestRequestPerfect(t *testing.T) {
	for _, perfect := range []bool{false, true} {
		o, err := requestOptions(civic.SimulationRequest{Days: 7, HistoryDays: 10, Perfect: perfect}, civic.DefaultPlanSettings())
		if err != nil {
			t.Fatal(err)
		}
		o, err = Options{City: sim.GenerateCity(sim.CityParams{Bins: 3, Seed: 1}), Days: o.Days, Policies: o.Policies}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(o.Policies, PolicyPerfect); got != perfect || len(o.Policies) < len(Policies) {
			t.Errorf("Perfect %v: policies %v", perfect, o.Policies)
		}
	}
}

// TestForecastWorth: the report words what perfect forecasts changed
// against civic's planner, each figure with its sign and share, and says
// nothing when either did not run.
func TestForecastWorth(t *testing.T) {
	r := &Result{Policies: []PolicyResult{
		{Policy: PolicyPlanner, Total: Figures{Visits: 109200, Km: 117098, OverflowBinHours: 47811}},
		{Policy: PolicyPerfect, Total: Figures{Visits: 104854, Km: 118155, OverflowBinHours: 26488}},
	}}
	got := r.forecastWorth()
	for _, want := range []string{"made 4,346 fewer collections (4%)", "driven 1,057 km more (1%)", "left bins full 21,323 hours less (45%)"} {
		if !strings.Contains(got, want) {
			t.Errorf("forecastWorth() = %q, want it to say %q", got, want)
		}
	}
	r.Policies = r.Policies[:1]
	if got := r.forecastWorth(); got != "" {
		t.Errorf("without the perfect policy: %q, want nothing", got)
	}
	// In the report of a run with both.
	gen := runGenerated(t)
	var b strings.Builder
	if err := gen.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<p id="forecast-worth">What better forecasts are worth: `) {
		t.Error("the report of a run with perfect forecasts does not say what they are worth")
	}
}
