package forecast

import (
	"math"
	"sort"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// simHistory simulates a city's sensors under the threshold collection
// policy and returns the readings as ingest stores them, with the sensors
// whose truth (MeanRate, fixed when they are made) they come from.
func simHistory(bins, days int, seed uint64) (*sim.City, []civic.Reading, *sim.Sensors) {
	city := sim.GenerateCity(sim.CityParams{Bins: bins, Seed: seed})
	hp := sim.HistoryParams{Days: days, Seed: seed, Policy: sim.Policy{Kind: sim.PolicyThreshold}}
	return city, sim.StoredHistory(city, hp), sim.NewSensors(city, hp.SensorParams())
}

// TestSimRates checks the learnt base rates against the simulator's true
// weekly mean rates.
func TestSimRates(t *testing.T) {
	city, rs, s := simHistory(40, 28, 1)
	m := Train(city.Bins, rs, Options{Location: city.Params.Location})
	var rel []float64
	for _, b := range city.Bins {
		want := s.MeanRate(b.ID)
		rel = append(rel, math.Abs(m.bins[b.ID].rate-want)/want)
	}
	sort.Float64s(rel)
	med, p90 := rel[len(rel)/2], rel[len(rel)*9/10]
	t.Logf("relative error of the rate: median %.3f, 90th percentile %.3f", med, p90)
	if med > 0.08 || p90 > 0.25 {
		t.Errorf("relative error of the rate: median %.3f, 90th percentile %.3f; want at most 0.08 and 0.25", med, p90)
	}
}

// TestSimBacktest is the target on a simulated city: the model's
// error at most 60% of the naive forecast's.
func TestSimBacktest(t *testing.T) {
	city, rs, _ := simHistory(40, 28, 2)
	rep := Backtest(city.Bins, rs, BacktestOptions{Options: Options{Location: city.Params.Location}, Seed: 1})
	t.Logf("%+v", rep)
	if rep.Predictions < 100 {
		t.Fatalf("%d predictions, want at least 100", rep.Predictions)
	}
	if rep.Ratio > 0.6 {
		t.Errorf("ratio %.3f, want at most 0.6", rep.Ratio)
	}
	if rep.Coverage < 0.6 || rep.Coverage > 0.97 {
		t.Errorf("P10-P90 band covers %.2f of the outcomes, want about 0.8", rep.Coverage)
	}
}
