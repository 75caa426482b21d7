package civic_test

import (
	"math"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

// TestSimulationRequestValidate: the assumptions are optional (zero, or
// nil days between collections, takes the default; 0 days is no limit),
// and a value out of its range, NaN or infinite is refused naming its
// field.
func TestSimulationRequestValidate(t *testing.T) {
	days := func(d float64) *float64 { return &d }
	ok := []civic.SimulationAssumptions{
		{},
		{OverflowRisk: 0.01, HygieneDays: days(0), HygieneDaysCompost: days(365), Threshold: 1,
			FuelLPerKm: 5, CO2KgPerL: 0.1, CrewEURH: 1000, TruckEURKm: 0.01, FuelEURL: 100},
		{OverflowRisk: 0.5, HygieneDays: days(7), HygieneDaysCompost: days(0), Threshold: 0.01},
	}
	for _, a := range ok {
		r := civic.SimulationRequest{Days: 30, HistoryDays: 28, Assumptions: a}
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
	for _, tc := range []struct {
		a     civic.SimulationAssumptions
		field string
	}{
		{civic.SimulationAssumptions{OverflowRisk: 0.6}, "overflow_risk"},
		{civic.SimulationAssumptions{OverflowRisk: 0.001}, "overflow_risk"},
		{civic.SimulationAssumptions{OverflowRisk: math.NaN()}, "overflow_risk"},
		{civic.SimulationAssumptions{HygieneDays: days(-1)}, "hygiene_days"},
		{civic.SimulationAssumptions{HygieneDays: days(math.Inf(1))}, "hygiene_days"},
		{civic.SimulationAssumptions{HygieneDaysCompost: days(366)}, "hygiene_days_compost"},
		{civic.SimulationAssumptions{HygieneDaysCompost: days(math.NaN())}, "hygiene_days_compost"},
		{civic.SimulationAssumptions{Threshold: 1.2}, "threshold"},
		{civic.SimulationAssumptions{Threshold: -0.5}, "threshold"},
		{civic.SimulationAssumptions{FuelLPerKm: -0.35}, "fuel_l_per_km"},
		{civic.SimulationAssumptions{FuelLPerKm: 50}, "fuel_l_per_km"},
		{civic.SimulationAssumptions{CO2KgPerL: math.Inf(-1)}, "co2_kg_per_l"},
		{civic.SimulationAssumptions{CrewEURH: 1e6}, "crew_eur_h"},
		{civic.SimulationAssumptions{TruckEURKm: math.NaN()}, "truck_eur_km"},
		{civic.SimulationAssumptions{FuelEURL: 160}, "fuel_eur_l"},
	} {
		r := civic.SimulationRequest{Days: 30, HistoryDays: 28, Assumptions: tc.a}
		if err := r.Validate(); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tc.field {
			t.Errorf("%+v: %v, want invalid %s", tc.a, err, tc.field)
		}
		run := civic.SimulationRun{ID: "sim-1", Name: "x", Assumptions: &tc.a}
		if err := run.Validate(); civic.FieldOf(err) != tc.field {
			t.Errorf("a run with %+v: %v, want invalid %s", tc.a, err, tc.field)
		}
	}
}
