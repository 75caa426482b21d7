package whatif

import (
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/sim"
)

// Retraining of the planner's forecaster, as a server does it: a fresh
// model from a window of recent readings every so often, and the cheap
// per-bin update (Observe) with each day's readings in between.
const (
	trainWindowDays = 28
	retrainDays     = 28
)

// feed is the planner's forecaster fed with the readings civic would
// have received.
type feed struct {
	bins  []civic.Bin
	opts  forecast.Options
	model *forecast.Model
	days  [][]obs // the last trainWindowDays days of readings, oldest first
	today []obs
	since int // days since the last training
}

// obs is a fill reading kept compactly.
type obs struct {
	bin  int32
	fill float32
	t    int64 // Unix milliseconds
}

func newFeed(c *sim.City, loc *time.Location) *feed {
	return &feed{bins: c.Bins, opts: forecast.Options{Location: loc}}
}

func (f *feed) add(bin int, t time.Time, fill float64) {
	f.today = append(f.today, obs{bin: int32(bin), fill: float32(fill), t: t.UnixMilli()})
}

func (f *feed) readings(os []obs) []civic.Reading {
	rs := make([]civic.Reading, len(os))
	fills := make([]float64, len(os))
	for i, o := range os {
		fills[i] = float64(o.fill)
		rs[i] = civic.Reading{Bin: f.bins[o.bin].ID, Time: time.UnixMilli(o.t).UTC(), Fill: &fills[i]}
	}
	return rs
}

// endDay files the day's readings: the model observes them, or is
// retrained on the window when it is time.
func (f *feed) endDay() {
	f.days = append(f.days, f.today)
	if len(f.days) > trainWindowDays {
		f.days = f.days[len(f.days)-trainWindowDays:]
	}
	today := f.today
	f.today = nil
	if f.model == nil {
		return // still in the warm-up: trained at its end
	}
	f.since++
	if f.since >= retrainDays {
		f.train()
		return
	}
	f.model.Observe(f.readings(today))
}

// train fits a fresh model on the window.
func (f *feed) train() {
	n := 0
	for _, d := range f.days {
		n += len(d)
	}
	all := make([]obs, 0, n)
	for _, d := range f.days {
		all = append(all, d...)
	}
	f.model = forecast.Train(f.bins, f.readings(all), f.opts)
	f.since = 0
}

// forecasts are the model's forecasts of every bin with a fill reading,
// from now, as civic's forecast service makes them: from the fill the model
// estimates from the readings it holds, or, for a bin it holds none of
// (its sensor went silent before the training window), from the bin's
// latest state (latest[i], nil fill: none).
func (f *feed) forecasts(now time.Time, latest []civic.BinState) map[string]civic.Forecast {
	out := make(map[string]civic.Forecast, len(f.bins))
	if f.model == nil {
		return out
	}
	horizon := 14 * 24 * time.Hour // forecast.Options' default
	for i, b := range f.bins {
		p, err := f.model.PredictLatest(b.ID, now)
		if err != nil && latest[i].Fill != nil {
			p, err = f.model.Predict(b.ID, now, *latest[i].Fill)
		}
		if err != nil {
			continue
		}
		out[b.ID] = p.Forecast(horizon)
	}
	return out
}
