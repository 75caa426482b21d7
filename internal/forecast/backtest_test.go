package forecast

import (
	"math"
	"testing"
)

// TestBacktestSynthetic runs the backtest on the test generator's city.
func TestBacktestSynthetic(t *testing.T) {
	c := generate(synthParams{bins: 40, days: 35, seed: 2})
	calls := 0
	rep := Backtest(c.bins, c.readings, BacktestOptions{Seed: 1, Progress: func(done, total int) { calls++ }})
	t.Logf("%+v", rep)
	if rep.Predictions < 300 {
		t.Fatalf("%d predictions, want at least 300", rep.Predictions)
	}
	if rep.AfterEmptying.Predictions == 0 || rep.Random.Predictions == 0 {
		t.Errorf("breakdown %+v / %+v: want both kinds of cut points", rep.AfterEmptying, rep.Random)
	}
	if rep.Ratio > 0.6 || math.IsNaN(rep.Ratio) {
		t.Errorf("ratio %.3f, want at most 0.6", rep.Ratio)
	}
	if rep.Coverage < 0.6 || rep.Coverage > 0.95 {
		t.Errorf("P10-P90 band covers %.2f of the outcomes, want about 0.8", rep.Coverage)
	}
	if calls == 0 || rep.Trainings == 0 {
		t.Errorf("progress calls %d, trainings %d", calls, rep.Trainings)
	}
}

// TestBacktestEmpty checks the degenerate inputs.
func TestBacktestEmpty(t *testing.T) {
	if rep := Backtest(nil, nil, BacktestOptions{}); rep.Predictions != 0 || rep.Ratio != 0 {
		t.Errorf("empty backtest = %+v", rep)
	}
}
