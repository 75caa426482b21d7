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

func TestNaiveHours(t *testing.T) {
	o := Options{}.withDefaults()
	// Every 30 minutes: 0.02 per reading is 0.04 per hour.
	linear := pts(0.1, 0.12, 0.14, 0.16)
	tests := []struct {
		name   string
		s      series
		want   float64
		wantOK bool
	}{
		{"slope of the current cycle", series{pts: linear, starts: []int{0}}, (0.9 - 0.16) / 0.04, true},
		{"previous cycle's slope when the current has one reading",
			series{pts: append(pts(0.5, 0.52, 0.54, 0.56), point{t: 4 * 1800, x: 0.1}), starts: []int{0, 4}}, (0.9 - 0.1) / 0.04, true},
		{"no positive rate at all", series{pts: pts(0.5, 0.5, 0.5), starts: []int{0}}, 0, false},
		{"already over the threshold", series{pts: pts(0.8, 0.85, 0.92), starts: []int{0}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.s.pts[len(tt.s.pts)-1].t
			got, ok := naiveHours(&tt.s, at, 0.9, o)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("naiveHours = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCrossing(t *testing.T) {
	// 0.1 per reading: the moving average of five equals the reading, so
	// the crossing of 0.75 is half way between 0.7 and 0.8.
	cyc := pts(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
	j, at := crossing(cyc, 0.75)
	if j != 7 || math.Abs(at-6.5*1800) > 1e-6 {
		t.Errorf("crossing = %d at %v, want 7 at %v", j, at, 6.5*1800)
	}
	// A single noisy reading over the threshold is no crossing.
	if j, _ := crossing(pts(0.5, 0.52, 0.53, 0.95, 0.55, 0.56, 0.57), 0.9); j != -1 {
		t.Errorf("noise crossing at %d, want none", j)
	}
	if j, _ := crossing(pts(0.95, 0.96), 0.9); j != -1 {
		t.Errorf("cycle starting full: crossing at %d, want none", j)
	}
}
