// Package forecast predicts when waste bins fill up.
//
// The model. Each bin's fill readings are cleaned first: short runs that
// leave and come back to the level around them (an ultrasonic sensor's lost
// echo reads 0) are dropped, runs of identical values (a stuck sensor) are
// cut to their first, and a confirmed fall of fill is an emptying that ends
// a fill cycle. Readings of an overflowing bin (at 0.97 and above) are
// censored. Within a cycle fill grows linearly in "effective time", which
// advances through the week by an hour-of-week profile (168 slots, mean 1):
// the profile is learnt from the increments between readings, pooled over
// the bins of a zone and stream and shrunk slot by slot towards the city's;
// each bin then moves its pool's profile along the city's main direction of
// difference between bins (say commercial against residential rhythm) as far
// as its own history supports. A bin's base rate is the random-effects mean
// of its cycles' slopes (weighted by length and recency, never negative),
// shrunk towards its pool's mean by empirical Bayes, so a bin with two
// readings gets its zone's rate. Whether fill rises faster above 60% (a
// compactor's press losing ground) is learnt per kind of bin and defaults to
// linear. A forecast starts from the current cycle: its slope updates the
// bin's rate (a Bayesian update, by the part of cycle-to-cycle deviations
// that persists from one cycle to the next), its latest readings carried
// forward give the level, and the threshold crossing is solved in effective
// time. The P10-P90 band comes from the rate's remaining uncertainty, the
// passing cycle-to-cycle deviations and the level's noise.
//
// Train fits a model; Predict, PredictLatest and FillAt answer the planner's
// questions (when will this bin reach its threshold; how full will it be at
// a given time); Observe refits single bins cheaply as readings arrive.
// Backtest replays history to compare the forecasts with the naive
// last-observed-rate forecast.
//
// The package is pure: no I/O, no clock, no global state. Time is whatever
// the caller says it is.
package forecast

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Options tune training and prediction. The zero value selects the
// defaults documented on each field.
type Options struct {
	// Location is the clock the hour-of-week profile follows: the city's
	// time zone. Default UTC.
	Location *time.Location
	// SpikeTol is how far (in fill fraction) a short run of readings must
	// depart from both neighbours to be dropped as sensor noise. Default 0.12.
	SpikeTol float64
	// MinDrop is the smallest confirmed fall in fill treated as an emptying.
	// Default 0.1.
	MinDrop float64
	// Saturation is the fill at and above which readings are censored: an
	// overflowing bin reads full whatever goes in, so such readings say
	// nothing about the rate. Default 0.97.
	Saturation float64
	// Horizon caps forecasts: a bin not expected to reach its threshold
	// within Horizon is reported at Horizon with Beyond set. Default 14 days.
	Horizon time.Duration
	// MinGroupBins is the number of bins with history a zone/stream group
	// needs before it gets a rate prior of its own instead of the stream's
	// or the city's. Default 3.
	MinGroupBins int
	// HalfLife is the age at which a fill cycle counts half as much as
	// the latest one in a bin's rate, so that rates follow seasons and
	// changes of use. Default 28 days; negative means no decay.
	HalfLife time.Duration
}

func (o Options) withDefaults() Options {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if !(o.SpikeTol > 0) {
		o.SpikeTol = 0.12
	}
	if !(o.MinDrop > 0) {
		o.MinDrop = 0.1
	}
	if !(o.Saturation > 0 && o.Saturation <= 1) {
		o.Saturation = 0.97
	}
	if o.Horizon <= 0 {
		o.Horizon = 14 * 24 * time.Hour
	}
	if o.MinGroupBins <= 0 {
		o.MinGroupBins = 3
	}
	if o.HalfLife == 0 {
		o.HalfLife = 28 * 24 * time.Hour
	}
	return o
}

// Prediction is the forecast of one bin from one instant.
type Prediction struct {
	BinID     string    `json:"bin_id"`
	Now       time.Time `json:"now"`       // the instant forecast from
	Fill      float64   `json:"fill"`      // fill at Now the forecast starts from, 0..1
	Threshold float64   `json:"threshold"` // the bin's full threshold
	// RatePerHour is the expected fill gained per hour averaged over a
	// week, below 60% full: the bin's learnt base rate, updated by its
	// current fill cycle. Above 60% the rate is multiplied by the factor
	// learnt for the bin's kind (compacting or not; 1 when fill is linear).
	RatePerHour float64 `json:"rate_per_hour"`
	// FullAt is when the bin is expected to reach Threshold; FullAtLow and
	// FullAtHigh bound it (about the 10th and 90th percentiles). All three
	// are Now when the bin is already at or over its threshold.
	FullAt      time.Time `json:"full_at"`
	FullAtLow   time.Time `json:"full_at_low"`
	FullAtHigh  time.Time `json:"full_at_high"`
	HoursToFull float64   `json:"hours_to_full"`
	// Beyond reports that the threshold is not expected within the horizon:
	// FullAt (and possibly the bounds) are then Now + Horizon.
	Beyond bool `json:"beyond,omitempty"`
	// Samples is the number of readings the bin's own rate was learnt from;
	// Confidence (0..1) is the weight of that history against the prior of
	// its zone and stream: 0 means the forecast is the group's average.
	Samples    int     `json:"samples"`
	Confidence float64 `json:"confidence"`
}

// Model is a trained fill model. Its methods are safe for concurrent use.
type Model struct {
	mu     sync.RWMutex
	opts   Options
	clk    clock
	global *group
	groups map[string]*group
	bins   map[string]*binModel
	sigma2 float64 // pooled variance of a reading around its cycle's line
	cv2    float64 // squared relative spread of the rate from cycle to cycle
	// persist2 is the part of cv2 that carries over from one cycle to the
	// next (the lag-one covariance of cycle rates): only that part of what
	// the current cycle shows says anything about the hours ahead.
	persist2 float64
	// span is the mean length, in effective hours, of the cycles cv2 was
	// measured on: passing deviations average out over longer horizons.
	span float64
	// top is the factor by which fill rises faster above the knee than
	// below it, for other bins [0] and compacting ones [1].
	top [2]float64
}

// group is the bins of one stream in one zone (or a coarser pool when that
// is too small): they share a profile and a rate prior.
type group struct {
	key     string
	parent  *group
	prof    *profile
	rate    float64 // mean base rate of the group's bins, fill per effective hour
	tau2    float64 // variance of base rates between the group's bins
	members int     // bins with history
}

// binModel is what the model knows of one bin.
type binModel struct {
	bin civic.Bin
	g   *group
	raw []point // readings as received, sorted
	// s is the cleaned series cut into cycles: all of them while the
	// model is fitted, then only the latest (keepLast), which is all a
	// forecast reads; a refit cleans raw again.
	s series
	// from and done make Observe's refits incremental: raw[from:] is
	// what a refit cleans, and done holds the fits of the cycles before
	// (cleanTail: no later reading changes them). Zero values: raw whole.
	from    int
	done    ownFits
	rate    float64 // posterior base rate
	rateVar float64
	ownRate float64 // rate from the bin's own history
	ownVar  float64 // its sampling variance; +Inf without history
	sigma2  float64
	samples int
	conf    float64
	// prof is the bin's own profile: its pool's, moved along the city's
	// main direction of difference between bins (say, commercial against
	// residential rhythm) as far as its history shows. Nil means the pool's.
	prof *profile
}

// profile returns the profile the bin's effective time follows.
func (b *binModel) profile() *profile {
	if b.prof != nil {
		return b.prof
	}
	return b.g.prof
}

// Train learns a model from the readings of many bins. readings may come in
// any order; those without Bin or without a Fill in 0..1 are ignored. Bins
// absent from bins but with readings are modelled with the defaults of
// civic.Bin (trash, no zone, the default threshold).
func Train(bins []civic.Bin, readings []civic.Reading, opts Options) *Model {
	return train(bins, pointsByBin(readings), opts)
}

// pointsByBin groups the fill readings of rs by bin, each sorted by time.
func pointsByBin(rs []civic.Reading) map[string][]point {
	pts := map[string][]point{}
	for i := range rs {
		r := &rs[i]
		if r.Bin == "" {
			continue
		}
		if p, ok := pointOf(r); ok {
			pts[r.Bin] = append(pts[r.Bin], p)
		}
	}
	for id, p := range pts {
		pts[id] = sortPoints(p[:len(p):len(p)])
	}
	return pts
}

// train is Train on readings already grouped and sorted. It keeps the
// slices of pts without copying; their capacity must end at their length.
func train(bins []civic.Bin, pts map[string][]point, opts Options) *Model {
	o := opts.withDefaults()
	m := &Model{
		opts:   o,
		clk:    newClock(o.Location),
		groups: map[string]*group{},
		bins:   map[string]*binModel{},
	}
	for _, b := range bins {
		m.bins[b.ID] = &binModel{bin: b}
	}
	for id, p := range pts {
		b := m.bins[id]
		if b == nil {
			b = &binModel{bin: civic.Bin{ID: id}}
			m.bins[id] = b
		}
		b.raw = p
	}
	ids := make([]string, 0, len(m.bins))
	for id := range m.bins {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b := m.bins[id]
		b.s = clean(b.raw, &m.opts, true)
	}
	m.fit(ids)
	for _, b := range m.bins {
		b.keepLast()
	}
	return m
}

// keepLast drops the cleaned cycles before the latest once they are
// fitted: they would hold as much memory again as raw.
func (b *binModel) keepLast() {
	last := b.s.last()
	if len(last) == 0 {
		b.s = series{}
		return
	}
	b.s = series{pts: slices.Clone(last), starts: []int{0}}
}

// groupKeys returns the keys of the pools a bin belongs to, finest first.
func groupKeys(b civic.Bin) (zoneStream, stream string) {
	st := b.Stream
	if st == "" {
		st = civic.StreamTrash
	}
	return string(st) + "|" + b.ZoneID, string(st)
}

// fit estimates everything from the cleaned series of the bins.
func (m *Model) fit(ids []string) {
	m.global = &group{key: "", prof: flatProfile()}
	m.groups = map[string]*group{}
	m.sigma2 = 0.02 * 0.02
	m.cv2 = 0.1
	for _, id := range ids {
		b := m.bins[id]
		zk, sk := groupKeys(b.bin)
		sg := m.groups[sk]
		if sg == nil {
			sg = &group{key: sk, parent: m.global, prof: m.global.prof}
			m.groups[sk] = sg
		}
		zg := m.groups[zk]
		if zg == nil {
			zg = &group{key: zk, parent: sg, prof: m.global.prof}
			m.groups[zk] = zg
		}
		b.g = zg
	}
	m.top = [2]float64{1, 1}
	for iter := 0; iter < 4; iter++ {
		if iter == 1 {
			m.fitTop(ids)
		}
		for _, id := range ids {
			m.fitOwn(m.bins[id])
		}
		m.fitNoise(ids)
		m.fitGroups(ids)
		for _, id := range ids {
			m.shrink(m.bins[id])
		}
		if iter < 3 {
			m.fitProfiles(ids)
		}
	}
}

// cycleFit is the least-squares line of one fill cycle in effective time.
type cycleFit struct {
	n    int
	rate float64 // slope: fill per effective hour
	sxx  float64
	rss  float64
	span float64 // effective hours covered
	end  float64 // unix seconds of the last reading used
	tbar float64 // mean effective time
	xbar float64 // mean fill
}

// fitCycle fits a line to the unsaturated readings of a cycle of bin b, in
// effective time of profile pr and fill mapped by m.u (raw fill when b is
// nil). Readings from the first saturated one on are left out: the bin
// overflowed and its sensor stopped measuring the rate.
func (m *Model) fitCycle(b *binModel, pts []point, pr *profile) cycleFit {
	var f cycleFit
	var st, sx float64
	n := 0
	taus := make([]float64, 0, len(pts))
	us := make([]float64, 0, len(pts))
	for _, p := range pts {
		if p.x >= m.opts.Saturation {
			break
		}
		taus = append(taus, pr.tau(m.clk.wall(p.t)))
		us = append(us, m.u(b, p.x))
		st += taus[n]
		sx += us[n]
		n++
	}
	f.n = n
	if n < 2 {
		return f
	}
	f.tbar, f.xbar = st/float64(n), sx/float64(n)
	var sxy float64
	for i := 0; i < n; i++ {
		dt := taus[i] - f.tbar
		f.sxx += dt * dt
		sxy += dt * (us[i] - f.xbar)
	}
	f.span = taus[n-1] - taus[0]
	f.end = pts[n-1].t
	if f.sxx <= 0 {
		return f
	}
	f.rate = sxy / f.sxx
	for i := 0; i < n; i++ {
		r := us[i] - f.xbar - f.rate*(taus[i]-f.tbar)
		f.rss += r * r
	}
	return f
}

// minCycleHours is the shortest cycle (in effective hours) whose slope
// counts towards a bin's rate: shorter ones are mostly noise.
const minCycleHours = 2

// ownFits is what a bin's own rate is estimated from: the fits of those
// of its cycles that count, and sums over them.
type ownFits struct {
	fits    []cycleFit
	rss     float64
	df      int
	samples int
}

// addCycles fits cycles from to to of s, a series of bin b, and adds
// those that count to a.
func (m *Model) addCycles(a *ownFits, b *binModel, s *series, from, to int) {
	pr := b.profile()
	for k := from; k < to; k++ {
		f := m.fitCycle(b, s.cycle(k), pr)
		if f.n < 3 || f.sxx <= 0 || f.span < minCycleHours {
			continue
		}
		a.fits = append(a.fits, f)
		a.rss += f.rss
		a.df += f.n - 2
		a.samples += f.n
	}
}

// fitOwn estimates the bin's rate from its own cycles alone (fitOwnFrom).
func (m *Model) fitOwn(b *binModel) {
	var a ownFits
	m.addCycles(&a, b, &b.s, 0, len(b.s.starts))
	m.fitOwnFrom(b, &a)
}

// fitOwnFrom estimates the bin's rate from the fits of its cycles, as a
// random-effects mean of the cycles' slopes: each cycle is weighted by the
// inverse of its slope's noise plus the cycle-to-cycle spread, and by its
// recency.
func (m *Model) fitOwnFrom(b *binModel, a *ownFits) {
	fits, rss, df := a.fits, a.rss, a.df
	b.samples = a.samples
	const priorDF = 10
	b.sigma2 = (rss + priorDF*m.sigma2) / float64(df+priorDF)
	if len(fits) == 0 {
		b.ownRate, b.ownVar = 0, math.Inf(1)
		return
	}
	// Reference rate for the cycle-to-cycle spread: the pooled slope.
	var num, den float64
	for _, f := range fits {
		num += f.rate * f.sxx
		den += f.sxx
	}
	ref := num / den
	if g := b.g.rate; !(ref > 0) || (g > 0 && ref < g/20) {
		ref = math.Max(g, 1e-4)
	}
	// Older cycles count less (Options.HalfLife), so that a bin whose
	// use changes is followed; the variance accounts for the lost weight.
	// A cycle's deviation from the bin's rate averages out over its
	// length: long cycles count more, and a period of fast fill, with its
	// many short cycles, no more than its duration.
	latest := fits[len(fits)-1].end
	meanSpan := 0.0
	for _, f := range fits {
		meanSpan += f.span / float64(len(fits))
	}
	var wsum, wr, wv float64
	for _, f := range fits {
		v := m.cv2*ref*ref*meanSpan/f.span + b.sigma2/f.sxx
		w := 1 / v
		if hl := m.opts.HalfLife; hl > 0 {
			w *= math.Exp2(-(latest - f.end) / hl.Seconds())
		}
		wsum += w
		wr += w * f.rate
		wv += w * w * v
	}
	b.ownRate, b.ownVar = wr/wsum, wv/(wsum*wsum)
}

// fitNoise pools the reading noise and the cycle-to-cycle spread of rates
// over all bins.
func (m *Model) fitNoise(ids []string) {
	var vs []float64
	var cvNum, cvDen, pNum, pDen, spanSum, spanN float64
	for _, id := range ids {
		b := m.bins[id]
		if !(b.ownVar < math.Inf(1)) || !(b.ownRate > 0) {
			continue
		}
		pr := b.profile()
		var rates, noise []float64
		var rss float64
		df := 0
		for k := range b.s.starts {
			f := m.fitCycle(b, b.s.cycle(k), pr)
			if f.n < 3 || f.sxx <= 0 {
				continue
			}
			rss += f.rss
			df += f.n - 2
			if f.span >= 12 {
				rates = append(rates, f.rate)
				noise = append(noise, f.sxx)
				spanSum += f.span
				spanN++
			}
		}
		if df >= 10 {
			vs = append(vs, rss/float64(df))
		}
		if len(rates) >= 3 {
			mean := 0.0
			for _, r := range rates {
				mean += r
			}
			mean /= float64(len(rates))
			var ss, nv float64
			for i, r := range rates {
				ss += (r - mean) * (r - mean)
				nv += b.sigma2 / noise[i]
			}
			k := float64(len(rates))
			between := ss/(k-1) - nv/k
			cvNum += (k - 1) * between / (mean * mean)
			cvDen += k - 1
			// Lag-one covariance of consecutive cycles, corrected for
			// the bias of deviations from a mean of k cycles.
			var lag float64
			for i := 1; i < len(rates); i++ {
				lag += (rates[i] - mean) * (rates[i-1] - mean)
			}
			lag = lag/(k-1) + ss/(k-1)/k
			pNum += (k - 1) * lag / (mean * mean)
			pDen += k - 1
		}
	}
	if len(vs) > 0 {
		sort.Float64s(vs)
		m.sigma2 = math.Max(vs[len(vs)/2], 1e-6)
	}
	if cvDen > 0 {
		m.cv2 = math.Min(math.Max(cvNum/cvDen, 0.005), 1)
	}
	m.span = 48
	if spanN > 0 {
		m.span = spanSum / spanN
	}
	m.persist2 = m.cv2 / 2
	if pDen > 0 {
		m.persist2 = math.Min(math.Max(pNum/pDen, 0), m.cv2)
	}
}

// fitGroups estimates each pool's mean rate and the spread of rates between
// its bins (empirical Bayes), from the city down to zone and stream.
func (m *Model) fitGroups(ids []string) {
	type acc struct{ rates, vars []float64 }
	accs := map[*group]*acc{}
	add := func(g *group, r, v float64) {
		a := accs[g]
		if a == nil {
			a = &acc{}
			accs[g] = a
		}
		a.rates = append(a.rates, r)
		a.vars = append(a.vars, v)
	}
	for _, id := range ids {
		b := m.bins[id]
		if !(b.ownVar < math.Inf(1)) {
			continue
		}
		r := math.Max(b.ownRate, 0)
		for g := b.g; g != nil; g = g.parent {
			add(g, r, b.ownVar)
		}
	}
	estimate := func(g *group, a *acc) {
		g.members = len(a.rates)
		// Iterate the random-effects mean and the between-bin variance
		// (method of moments: the spread of the rates less their mean
		// sampling variance; a bin's sampling variance counts at most as
		// much as the whole spread, so one bin with next to no history
		// cannot hide the spread of the others).
		mean := 0.0
		for _, r := range a.rates {
			mean += r
		}
		mean /= float64(len(a.rates))
		tau2 := 0.0
		for it := 0; it < 5; it++ {
			var ss, nv float64
			for _, r := range a.rates {
				ss += (r - mean) * (r - mean)
			}
			n := float64(len(a.rates))
			if n > 1 {
				for _, v := range a.vars {
					nv += math.Min(v, ss/(n-1))
				}
				tau2 = ss/(n-1) - nv/n
			}
			tau2 = math.Max(tau2, 0.01*mean*mean+1e-8)
			var ws, wr float64
			for i, r := range a.rates {
				w := 1 / (tau2 + a.vars[i])
				ws += w
				wr += w * r
			}
			mean = wr / ws
		}
		g.rate, g.tau2 = mean, tau2
	}
	// The city first, then streams, then zones: a small pool inherits.
	levels := [][]*group{{m.global}, nil, nil}
	for _, g := range m.groups {
		if g.parent == m.global {
			levels[1] = append(levels[1], g)
		} else {
			levels[2] = append(levels[2], g)
		}
	}
	for _, lv := range levels {
		for _, g := range lv {
			a := accs[g]
			if a != nil && len(a.rates) >= m.opts.MinGroupBins || g.parent == nil {
				if a == nil {
					g.rate, g.tau2, g.members = 1.0/48, 1.0/48/48, 0
					continue
				}
				estimate(g, a)
				if p := g.parent; p != nil {
					// Shrink the pool's mean towards its parent's as if
					// the parent contributed two more bins.
					n := float64(len(a.rates))
					g.rate = (n*g.rate + 2*p.rate) / (n + 2)
				}
				continue
			}
			g.rate, g.tau2 = g.parent.rate, g.parent.tau2
			if a != nil {
				g.members = len(a.rates)
			}
		}
	}
}

// shrink combines the bin's own rate with its pool's prior.
func (m *Model) shrink(b *binModel) {
	g := b.g
	if !(b.ownVar < math.Inf(1)) {
		b.rate, b.rateVar, b.conf = g.rate, g.tau2, 0
		return
	}
	wo, wg := 1/b.ownVar, 1/g.tau2
	b.rate = (wo*b.ownRate + wg*g.rate) / (wo + wg)
	b.rateVar = 1 / (wo + wg)
	b.conf = wo / (wo + wg)
	if b.rate < 1e-6 {
		b.rate = 1e-6 // fill never goes down by itself
	}
}

// maxPairGap is the longest gap between two readings whose increment still
// informs the profile: over longer gaps it cannot be placed in the week.
const maxPairGap = 3 * secondsPerHour

// fitProfiles re-estimates the hour-of-week profiles from the increments
// between consecutive readings, given the bins' base rates: the city's
// profile from all bins, each pool's shrunk towards the city's.
func (m *Model) fitProfiles(ids []string) {
	global := &slotAcc{}
	byGroup := map[*group]*slotAcc{}
	byBin := map[*binModel]*slotAcc{}
	for _, id := range ids {
		b := m.bins[id]
		if !(b.ownVar < math.Inf(1)) || b.rate <= 0 {
			continue
		}
		ga := byGroup[b.g]
		if ga == nil {
			ga = &slotAcc{}
			byGroup[b.g] = ga
		}
		ba := &slotAcc{}
		byBin[b] = ba
		pr := b.profile()
		for k := range b.s.starts {
			cyc := b.s.cycle(k)
			for i := 1; i < len(cyc); i++ {
				a, c := cyc[i-1], cyc[i]
				if c.x >= m.opts.Saturation {
					break
				}
				if c.t-a.t > maxPairGap {
					continue
				}
				wa, wc := m.clk.wall(a.t), m.clk.wall(c.t)
				tot := pr.tau(wc) - pr.tau(wa)
				if tot <= 0 {
					continue
				}
				dx := m.u(b, c.x) - m.u(b, a.x)
				overlap(wa, wc, func(h int, hours float64) {
					share := pr.p[h] * hours / tot
					for _, ac := range [...]*slotAcc{global, ga, ba} {
						ac.num[h] += dx * share
						ac.den[h] += b.rate * hours
						ac.cnt[h] += share * share
					}
				})
			}
		}
	}
	estimate := func(a *slotAcc, prior *profile, dev float64) *profile {
		pr := &profile{}
		for h := 0; h < slots; h++ {
			num, den, cnt := a.smoothed(h)
			pri := 1.0
			if prior != nil {
				pri = prior.p[h]
			}
			if den <= 0 {
				pr.p[h] = pri
				continue
			}
			raw := num / den
			v := 2 * m.sigma2 * cnt / (den * den)
			wr, wp := 1/v, 1/(dev*dev)
			pr.p[h] = (wr*raw + wp*pri) / (wr + wp)
		}
		pr.finish()
		return pr
	}
	m.global.prof = estimate(global, nil, 1)
	for _, g := range m.groups {
		g.prof = m.global.prof
	}
	for g, a := range byGroup {
		g.prof = estimate(a, m.global.prof, 0.25)
	}
	m.fitBinProfiles(byBin)
}

// knee is the fill above which a bin's rate may differ (see Model.top).
const knee = 0.6

// u maps fill to the scale in which it grows linearly in effective time:
// fill itself up to the knee, and above it fill divided by the top factor
// of the bin's kind (compacting or not). b nil means no mapping.
func (m *Model) u(b *binModel, x float64) float64 {
	if b == nil || x <= knee {
		return x
	}
	return knee + (x-knee)/m.topOf(b)
}

// x is the inverse of u.
func (m *Model) x(b *binModel, u float64) float64 {
	if b == nil || u <= knee {
		return u
	}
	return knee + (u-knee)*m.topOf(b)
}

func (m *Model) topOf(b *binModel) float64 {
	if b.bin.Compacting {
		return m.top[1]
	}
	return m.top[0]
}

// minTopCycles is how many fill cycles' worth of evidence move the top
// factor halfway from 1 to what they show.
const minTopCycles = 10

// fitTop estimates, for compacting and for other bins, how much faster (or
// slower) fill rises above the knee than below it, as the median over fill
// cycles of the ratio of the two slopes (in effective time), shrunk towards
// 1. A compactor's fill fraction already counts compacted volume, but the
// press works less well as the bin fills, so the top of the cycle may run
// faster; the data decide, and with no evidence the factor is 1 (linear).
func (m *Model) fitTop(ids []string) {
	var ratios [2][]float64
	for _, id := range ids {
		b := m.bins[id]
		pr := b.profile()
		k := 0
		if b.bin.Compacting {
			k = 1
		}
		for c := range b.s.starts {
			// Split the cycle in time where its moving average crosses
			// the knee: splitting on the noisy fill itself would flatten
			// both slopes.
			cyc := b.s.cycle(c)
			n := 0
			for n < len(cyc) && cyc[n].x < m.opts.Saturation {
				n++
			}
			cyc = cyc[:n]
			j, _ := crossing(cyc, knee)
			if j < 0 {
				continue
			}
			lo, hi := cyc[:max(0, j-crossingHalfWidth)], cyc[min(len(cyc), j+crossingHalfWidth):]
			if len(lo) < 4 || len(hi) < 4 {
				continue
			}
			fl, fh := m.fitCycle(nil, lo, pr), m.fitCycle(nil, hi, pr)
			if fl.span < 3 || fh.span < 3 || !(fl.rate > 0) || fh.sxx <= 0 {
				continue
			}
			ratios[k] = append(ratios[k], math.Max(fh.rate, 0)/fl.rate)
		}
	}
	for k, rs := range ratios {
		m.top[k] = 1
		if len(rs) == 0 {
			continue
		}
		sort.Float64s(rs)
		med := rs[len(rs)/2]
		n := float64(len(rs))
		m.top[k] = math.Min(math.Max(1+(med-1)*n/(n+minTopCycles), 0.5), 2)
	}
}

// Predict forecasts bin binID from now, when its fill is fill (0..1): the
// caller's latest knowledge of the bin, e.g. its state in the store. The
// readings the model holds of the bin's current fill cycle, up to now,
// refine the rate. It returns a NotFound error for a bin the model does not
// know and an Invalid one for a fill outside 0..1.
func (m *Model) Predict(binID string, now time.Time, fill float64) (Prediction, error) {
	if !(fill >= 0 && fill <= 1) {
		return Prediction{}, civic.FieldError("fill", "must be a fraction between 0 and 1")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.bins[binID]
	if b == nil {
		return Prediction{}, civic.Errorf(civic.NotFound, "no forecast model for bin %q", binID)
	}
	t := unixSeconds(now)
	cyc := upTo(b.s.last(), t)
	if n := len(cyc); n > 0 && cyc[n-1].x-fill > m.opts.MinDrop {
		cyc = nil // emptied since the last reading the model holds
	}
	return m.forecast(b, cyc, now, fill), nil
}

// PredictLatest forecasts bin binID from now, starting from the fill the
// model estimates from the readings it holds up to now. It returns a
// NotFound error when the model holds no reading of the bin.
func (m *Model) PredictLatest(binID string, now time.Time) (Prediction, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.bins[binID]
	if b == nil {
		return Prediction{}, civic.Errorf(civic.NotFound, "no forecast model for bin %q", binID)
	}
	cyc := upTo(b.s.last(), unixSeconds(now))
	if len(cyc) == 0 {
		return Prediction{}, civic.Errorf(civic.NotFound, "no fill readings of bin %q before %s", binID, now.UTC().Format(time.RFC3339))
	}
	return m.forecast(b, cyc, now, math.NaN()), nil
}

// FillAt returns the expected fill (0..1) of bin binID at t, extended from
// the latest reading the model holds (a t before that reading counts as the
// reading's time). It assumes no emptying in between, so a fill at or over
// the threshold at t means the bin needs collecting by t. It returns a
// NotFound error when the model holds no reading of the bin.
func (m *Model) FillAt(binID string, t time.Time) (float64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.bins[binID]
	if b == nil {
		return 0, civic.Errorf(civic.NotFound, "no forecast model for bin %q", binID)
	}
	cyc := b.s.last()
	if len(cyc) == 0 {
		return 0, civic.Errorf(civic.NotFound, "no fill readings of bin %q", binID)
	}
	last := cyc[len(cyc)-1].t
	st := m.state(b, cyc, last)
	pr := b.profile()
	at := math.Max(unixSeconds(t), last)
	du := st.rate * (pr.tau(m.clk.wall(at)) - pr.tau(m.clk.wall(last)))
	return clamp01(m.x(b, st.level+du)), nil
}

// Observe adds new readings to the model and re-fits the bins they belong
// to, keeping the pooled profile and priors: the cheap update a server runs
// as readings arrive. Readings later than a bin's latest are cleaned and
// fitted with the end of its history only, from about its current fill
// cycle on (the earlier cycles stay fitted, and the results are those of
// a refit of the whole history); an earlier reading refits the whole
// history, as does the first call after Train. Retrain from scratch now
// and then (say nightly, on a window of a few weeks to months) to refresh
// the pools: the model keeps the latest reading of every Resolution slot
// it is given (see Resolution) until then. Readings of unknown bins
// register them with default settings.
func (m *Model) Observe(readings []civic.Reading) {
	byBin := map[string][]civic.Reading{}
	for _, r := range readings {
		if r.Bin != "" {
			byBin[r.Bin] = append(byBin[r.Bin], r)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, rs := range byBin {
		b := m.bins[id]
		if b == nil {
			b = &binModel{bin: civic.Bin{ID: id}}
			m.attach(b)
			m.bins[id] = b
		}
		pts := pointsOf(rs)
		switch n := len(b.raw); {
		case len(pts) == 0:
		case n > 0 && pts[0].t > b.raw[n-1].t:
			// In order: only the last kept point can share a slot with
			// the new ones, and only the end of the history is cleaned
			// again.
			tail := thinSorted(append([]point{b.raw[n-1]}, pts...))
			b.raw = append(b.raw[:n-1], tail...)
		default:
			b.raw = sortPoints(append(b.raw, pts...))
			b.from, b.done = 0, ownFits{}
		}
		m.refit(b)
	}
}

// refit cleans and fits b's readings: those from b.from on, after the
// fits kept of the cycles before. It then moves b.from on to the latest
// cycle that later readings, in order, can no longer change.
func (m *Model) refit(b *binModel) {
	s, from, done := cleanTail(b.raw[b.from:], &m.opts)
	a := b.done
	m.addCycles(&a, b, &s, 0, done)
	kept := a
	m.addCycles(&a, b, &s, done, len(s.starts))
	m.fitOwnFrom(b, &a)
	m.shrink(b)
	b.from += from
	b.done = kept
	b.s = s
	b.keepLast()
}

// SetBin registers or updates a bin's settings (threshold, zone, stream).
// A bin that changes pool keeps its history and takes its new pool's prior.
func (m *Model) SetBin(bin civic.Bin) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bins[bin.ID]
	if b == nil {
		b = &binModel{ownVar: math.Inf(1)}
		m.bins[bin.ID] = b
	}
	b.bin = bin
	m.attach(b)
	// A new pool may mean a new profile: every cycle is fitted again.
	b.from, b.done = 0, ownFits{}
	m.refit(b)
}

// attach puts b in its pool, falling back to coarser pools the model does
// not have.
func (m *Model) attach(b *binModel) {
	zk, sk := groupKeys(b.bin)
	if g := m.groups[zk]; g != nil {
		b.g = g
	} else if g := m.groups[sk]; g != nil {
		b.g = g
	} else {
		b.g = m.global
	}
}

// state is a bin's estimated level and rate at an instant, in u units.
type state struct {
	level, levelVar float64
	rate, rateVar   float64
	transient       float64 // variance of the rate's passing deviations
}

// levelPoints is how many of the latest readings of a cycle estimate its
// current level.
const levelPoints = 12

// state estimates the bin's level and rate at now from the readings of its
// current fill cycle (cyc, all at or before now): the bin's learnt rate is
// the prior, the cycle's own slope the evidence, and the level is the
// average of the latest readings carried forward at that rate. The cycle's
// slope deviates from the bin's rate persistently (persist2, which it
// reveals) and transiently (the rest of cv2, which it does not); rateVar
// is the variance of the persistent rate, transient that of the rest.
func (m *Model) state(b *binModel, cyc []point, now float64) state {
	pr := b.profile()
	r2 := b.rate * b.rate
	st := state{rate: b.rate, rateVar: m.persist2*r2 + b.rateVar, transient: (m.cv2 - m.persist2) * r2}
	tnow := pr.tau(m.clk.wall(now))
	if f := m.fitCycle(b, cyc, pr); f.n >= 3 && f.sxx > 0 {
		vc := b.sigma2/f.sxx + st.transient
		w0, w1 := 1/st.rateVar, 1/vc
		st.rate = math.Max((w0*st.rate+w1*f.rate)/(w0+w1), 1e-6)
		st.rateVar = 1 / (w0 + w1)
	}
	if len(cyc) == 0 {
		return st
	}
	if last := cyc[len(cyc)-1]; last.x >= m.opts.Saturation {
		st.level = m.u(b, last.x)
		return st
	}
	var ws, wl float64
	for i := max(0, len(cyc)-levelPoints); i < len(cyc); i++ {
		p := cyc[i]
		d := tnow - pr.tau(m.clk.wall(p.t))
		w := 1 / (b.sigma2 + d*d*(st.rateVar+st.transient))
		ws += w
		wl += w * (m.u(b, p.x) + st.rate*d)
	}
	st.level, st.levelVar = wl/ws, 1/ws
	return st
}

// z10 is the standard normal quantile of 90%.
const z10 = 1.2816

// forecast predicts bin b from now given the readings of its current cycle
// and, when not NaN, the fill the caller knows.
func (m *Model) forecast(b *binModel, cyc []point, nowT time.Time, fill float64) Prediction {
	now := unixSeconds(nowT)
	st := m.state(b, cyc, now)
	if !math.IsNaN(fill) {
		st.level, st.levelVar = m.u(b, fill), b.sigma2
	}
	thr := b.bin.Threshold()
	p := Prediction{
		BinID:       b.bin.ID,
		Now:         nowT,
		Fill:        clamp01(m.x(b, st.level)),
		Threshold:   thr,
		RatePerHour: st.rate,
		Samples:     b.samples,
		Confidence:  b.conf,
	}
	ut := m.u(b, thr)
	if st.level >= ut {
		p.FullAt, p.FullAtLow, p.FullAtHigh = nowT, nowT, nowT
		return p
	}
	sl := math.Sqrt(st.levelVar)
	// The band spreads the rate by what is unknown of its persistent part
	// and by the passing deviations still to come, which average out over
	// horizons longer than the cycles they were measured on.
	horizon := (ut - st.level) / st.rate
	transient := st.transient * math.Min(m.span/math.Max(horizon, 1), 1)
	cv := math.Sqrt((st.rateVar + transient) / (st.rate * st.rate))
	var h float64
	h, p.Beyond = m.reach(b, now, ut-st.level, st.rate)
	p.HoursToFull = h
	p.FullAt = nowT.Add(hours(h))
	h, _ = m.reach(b, now, ut-st.level-z10*sl, st.rate*math.Exp(z10*cv))
	p.FullAtLow = nowT.Add(hours(h))
	h, _ = m.reach(b, now, ut-st.level+z10*sl, st.rate*math.Exp(-z10*cv))
	p.FullAtHigh = nowT.Add(hours(h))
	return p
}

// reach returns the hours a bin at rate rate (u per effective hour) takes
// to gain du from now, capped at the horizon, and whether it was capped.
func (m *Model) reach(b *binModel, now, du, rate float64) (float64, bool) {
	if du <= 0 {
		return 0, false
	}
	horizon := m.opts.Horizon.Hours()
	if !(rate > 0) {
		return horizon, true
	}
	pr := b.profile()
	t := m.clk.unix(pr.wallAt(pr.tau(m.clk.wall(now)) + du/rate))
	h := (t - now) / secondsPerHour
	if !(h < horizon) {
		return horizon, true
	}
	return math.Max(h, 0), false
}

// hours converts fractional hours to a duration, to the millisecond.
func hours(h float64) time.Duration {
	return time.Duration(math.Round(h*3600e3)) * time.Millisecond
}

// upTo returns the prefix of pts at or before t.
func upTo(pts []point, t float64) []point {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].t > t })
	return pts[:i]
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromUnix(s float64) time.Time {
	return time.UnixMilli(int64(math.Round(s * 1000))).UTC()
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// String describes p in one line, for logs and the CLI.
func (p Prediction) String() string {
	if p.Beyond {
		return fmt.Sprintf("%s: fill %.2f, %.4f/h, not full within the horizon", p.BinID, p.Fill, p.RatePerHour)
	}
	return fmt.Sprintf("%s: fill %.2f, %.4f/h, full at %s (%s .. %s)", p.BinID, p.Fill, p.RatePerHour,
		p.FullAt.Format(time.RFC3339), p.FullAtLow.Format(time.RFC3339), p.FullAtHigh.Format(time.RFC3339))
}
