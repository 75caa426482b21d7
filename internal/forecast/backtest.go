package forecast

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// BacktestOptions tune a backtest. The zero value selects the defaults
// documented on each field.
type BacktestOptions struct {
	// Options are the model options, also used to clean the held-out
	// history.
	Options Options
	// Warmup is the history before the first cut point. Default 14 days,
	// at most a third of the history.
	Warmup time.Duration
	// RetrainEvery is how often the model is retrained from scratch on all
	// data before the training instant. Default 7 days.
	RetrainEvery time.Duration
	// RandomCuts is the number of random cut points per fill cycle, on top
	// of the one right after its emptying. Default 1.
	RandomCuts int
	// Seed seeds the choice of random cut points.
	Seed uint64
	// Progress, when set, is called after each training round with the
	// rounds done and the total.
	Progress func(done, total int)
}

// Score is the accuracy of both forecasts over a set of predictions.
type Score struct {
	Predictions   int     `json:"predictions"`
	MAEHours      float64 `json:"mae_hours"`       // the model's mean absolute error of time to threshold
	NaiveMAEHours float64 `json:"naive_mae_hours"` // the naive forecast's
}

// Report is the outcome of a backtest.
type Report struct {
	Score
	// Ratio is MAEHours / NaiveMAEHours: below 1 the model beats the naive
	// forecast.
	Ratio float64 `json:"ratio"`
	// AfterEmptying scores the cut points right after an emptying (the
	// third reading of a cycle), Random those at a random reading of a
	// cycle before it crosses its threshold.
	AfterEmptying Score `json:"after_emptying"`
	Random        Score `json:"random"`
	// MeanHours is the mean actual time from cut point to threshold: the
	// scale the errors compare with.
	MeanHours float64 `json:"mean_hours"`
	// Coverage is the share of actual crossing times inside the model's
	// [FullAtLow, FullAtHigh] band.
	Coverage float64 `json:"coverage"`
	// Skipped counts cut points left out because the naive forecast had no
	// positive rate to extend (both forecasts are scored on the same cuts).
	Skipped int `json:"skipped"`
	// Trainings is the number of times the model was trained.
	Trainings int `json:"trainings"`
}

// naiveWindow is the history the naive forecast and the cut state look back
// over.
const naiveWindow = 7 * 24 * 3600.0

// Backtest replays history to measure time-to-threshold forecasts. At cut
// points in each fill cycle of each bin (right after the emptying, and at
// random readings before the threshold is crossed) it predicts the time to
// the bin's threshold with a model trained only on data before the cut (the
// model is retrained every RetrainEvery; the current cycle's readings up to
// the cut update it), and with the naive forecast: the least-squares slope of
// the readings since the last emptying, extended linearly from the cut (or
// the previous cycle's slope when the current one has too few readings or no
// positive slope). Both see the same noise-filtered readings. The truth is
// the first crossing of the threshold by the held-out readings (cleaned, and
// smoothed by a moving average of five readings so that sensor noise does
// not fake an early crossing), interpolated between readings; cycles emptied
// before they reach the threshold give no cut points, and neither do cut
// points more than the horizon before the crossing.
func Backtest(bins []civic.Bin, readings []civic.Reading, bo BacktestOptions) Report {
	o := bo.Options.withDefaults()
	if bo.Warmup <= 0 {
		bo.Warmup = 14 * 24 * time.Hour
	}
	if bo.RetrainEvery <= 0 {
		bo.RetrainEvery = 7 * 24 * time.Hour
	}
	if bo.RandomCuts <= 0 {
		bo.RandomCuts = 1
	}
	all := pointsByBin(readings)
	ids := make([]string, 0, len(all))
	t0, t1 := math.Inf(1), math.Inf(-1)
	for id, p := range all {
		if len(p) == 0 {
			continue
		}
		ids = append(ids, id)
		t0 = math.Min(t0, p[0].t)
		t1 = math.Max(t1, p[len(p)-1].t)
	}
	sort.Strings(ids)
	var rep Report
	if len(ids) == 0 {
		return rep
	}
	thresholds := map[string]float64{}
	for _, b := range bins {
		thresholds[b.ID] = b.Threshold()
	}
	threshold := func(id string) float64 {
		if v, ok := thresholds[id]; ok {
			return v
		}
		return civic.DefaultFullThreshold
	}
	warm := math.Min(bo.Warmup.Seconds(), (t1-t0)/3)
	step := bo.RetrainEvery.Seconds()
	var trainAt []float64
	for t := t0 + warm; t < t1; t += step {
		trainAt = append(trainAt, t)
	}

	// Cut points, from the whole history cleaned with hindsight.
	type cut struct {
		bin    string
		t      float64 // cut instant
		actual float64 // threshold crossing
		after  bool    // right after an emptying
	}
	rng := rand.New(rand.NewPCG(bo.Seed, 0x5eed))
	var cuts []cut
	for _, id := range ids {
		thr := threshold(id)
		s := clean(all[id], &o, false)
		for k := range s.starts {
			cyc := s.cycle(k)
			j, actual := crossing(cyc, thr)
			if j < 3 {
				continue
			}
			if k > 0 {
				cuts = append(cuts, cut{bin: id, t: cyc[2].t, actual: actual, after: true})
			}
			for r := 0; r < bo.RandomCuts; r++ {
				i := 2 + rng.IntN(j-2)
				cuts = append(cuts, cut{bin: id, t: cyc[i].t, actual: actual})
			}
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].t < cuts[j].t })

	var sumM, sumN, sumA, afterM, afterN, randM, randN float64
	covered := 0
	horizon := o.Horizon.Seconds()
	ci := 0
	for ci < len(cuts) && (len(trainAt) == 0 || cuts[ci].t < trainAt[0]) {
		ci++
	}
	for k, ta := range trainAt {
		end := math.Inf(1)
		if k+1 < len(trainAt) {
			end = trainAt[k+1]
		}
		if ci < len(cuts) && cuts[ci].t < end {
			past := make(map[string][]point, len(ids))
			for _, id := range ids {
				p := all[id]
				i := sort.Search(len(p), func(i int) bool { return p[i].t >= ta })
				past[id] = p[:i:i]
			}
			m := train(bins, past, o)
			rep.Trainings++
			for ; ci < len(cuts) && cuts[ci].t < end; ci++ {
				c := cuts[ci]
				if c.actual-c.t > horizon {
					continue
				}
				p := all[c.bin]
				hi := sort.Search(len(p), func(i int) bool { return p[i].t > c.t })
				lo := sort.Search(len(p), func(i int) bool { return p[i].t >= c.t-naiveWindow })
				seen := clean(p[lo:hi], &o, true)
				thr := threshold(c.bin)
				naive, ok := naiveHours(&seen, c.t, thr, o)
				if !ok {
					rep.Skipped++
					continue
				}
				pred := m.forecast(m.bins[c.bin], seen.last(), fromUnix(c.t), math.NaN())
				actual := (c.actual - c.t) / secondsPerHour
				em, en := math.Abs(pred.HoursToFull-actual), math.Abs(naive-actual)
				sumM += em
				sumN += en
				sumA += actual
				rep.Predictions++
				if low, high := unixSeconds(pred.FullAtLow), unixSeconds(pred.FullAtHigh); c.actual >= low-1 && c.actual <= high+1 {
					covered++
				}
				if c.after {
					afterM += em
					afterN += en
					rep.AfterEmptying.Predictions++
				} else {
					randM += em
					randN += en
					rep.Random.Predictions++
				}
			}
		}
		if bo.Progress != nil {
			bo.Progress(k+1, len(trainAt))
		}
	}
	score := func(s *Score, m, n float64) {
		if s.Predictions > 0 {
			s.MAEHours = m / float64(s.Predictions)
			s.NaiveMAEHours = n / float64(s.Predictions)
		}
	}
	score(&rep.Score, sumM, sumN)
	score(&rep.AfterEmptying, afterM, afterN)
	score(&rep.Random, randM, randN)
	if rep.NaiveMAEHours > 0 {
		rep.Ratio = rep.MAEHours / rep.NaiveMAEHours
	}
	if rep.Predictions > 0 {
		rep.Coverage = float64(covered) / float64(rep.Predictions)
		rep.MeanHours = sumA / float64(rep.Predictions)
	}
	return rep
}

// crossingHalfWidth is how many readings on each side smooth the held-out
// series before its threshold crossing is located.
const crossingHalfWidth = 2

// crossing returns the index j of the first reading of cyc where the
// cycle's moving average (over crossingHalfWidth readings each side)
// reaches thr, and the interpolated time of that crossing; -1 if none, or
// if the cycle starts at or above thr. Smoothing matters: a slow bin's noisy
// readings first touch the threshold hours before the bin actually reaches
// it, and neither forecast should be scored against the noise.
func crossing(cyc []point, thr float64) (int, float64) {
	avg := func(j int) float64 {
		lo, hi := max(0, j-crossingHalfWidth), min(len(cyc), j+crossingHalfWidth+1)
		s := 0.0
		for _, p := range cyc[lo:hi] {
			s += p.x
		}
		return s / float64(hi-lo)
	}
	prev := 0.0
	for j := range cyc {
		a := avg(j)
		if a >= thr {
			if j == 0 {
				return -1, 0
			}
			p, q := cyc[j-1], cyc[j]
			return j, p.t + (thr-prev)/(a-prev)*(q.t-p.t)
		}
		prev = a
	}
	return -1, 0
}

// naiveHours is the naive forecast of the hours from now until the cleaned
// series s reaches thr: the least-squares line through the unsaturated
// readings of the current cycle, extended; when that has fewer than two
// readings or no positive slope, the previous cycle's slope through the
// current readings. It reports false when no positive rate is known.
func naiveHours(s *series, now, thr float64, o Options) (float64, bool) {
	cyc := s.last()
	if len(cyc) == 0 {
		return 0, false
	}
	slope, level, ok := line(cyc, now, o.Saturation)
	if !ok || slope <= 0 {
		if len(s.starts) < 2 {
			return 0, false
		}
		prev, _, pok := line(s.cycle(len(s.starts)-2), now, o.Saturation)
		if !pok || prev <= 0 {
			return 0, false
		}
		slope = prev
		level = 0
		for _, p := range cyc {
			level += p.x + slope*(now-p.t)/secondsPerHour
		}
		level /= float64(len(cyc))
	}
	if level >= thr {
		return 0, true
	}
	return math.Min((thr-level)/slope, o.Horizon.Hours()), true
}

// line fits fill against wall-clock hours over the unsaturated readings of
// pts and returns the slope (per hour) and the line's value at now.
func line(pts []point, now, sat float64) (slope, level float64, ok bool) {
	var st, sx float64
	n := 0
	for _, p := range pts {
		if p.x >= sat {
			break
		}
		st += p.t
		sx += p.x
		n++
	}
	if n < 2 {
		return 0, 0, false
	}
	tb, xb := st/float64(n), sx/float64(n)
	var sxx, sxy float64
	for _, p := range pts[:n] {
		sxx += (p.t - tb) * (p.t - tb)
		sxy += (p.t - tb) * (p.x - xb)
	}
	if sxx <= 0 {
		return 0, 0, false
	}
	slope = sxy / sxx * secondsPerHour
	return slope, xb + slope*(now-tb)/secondsPerHour, true
}
