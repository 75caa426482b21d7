package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func fptr(v float64) *float64 { return &v }

// TestLearnedRate checks the learnt base rates against the generator's true
// ones, on data with an hour-of-week profile, day-to-day variation, noise,
// zeros and collections.
func TestLearnedRate(t *testing.T) {
	c := generate(synthParams{bins: 45, days: 35, seed: 1})
	m := Train(c.bins, c.readings, Options{})
	var rel []float64
	for _, b := range c.bins {
		p, err := m.PredictLatest(b.ID, c.start.Add(35*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if p.Confidence < 0.5 {
			t.Errorf("%s: confidence %.2f after 35 days, want at least 0.5", b.ID, p.Confidence)
		}
		got, want := m.bins[b.ID].rate, c.rate[b.ID]
		rel = append(rel, math.Abs(got-want)/want)
	}
	sort.Float64s(rel)
	med, worst := rel[len(rel)/2], rel[len(rel)-1]
	t.Logf("relative error of the rate: median %.3f, worst %.3f", med, worst)
	if med > 0.05 || worst > 0.15 {
		t.Errorf("relative error of the rate: median %.3f, worst %.3f; want at most 0.05 and 0.15", med, worst)
	}
}

// TestProfileLearned checks that the learnt profile of a zone follows the
// generator's: quiet nights, busy afternoons.
func TestProfileLearned(t *testing.T) {
	c := generate(synthParams{bins: 45, days: 35, seed: 3})
	m := Train(c.bins, c.readings, Options{})
	for z := 0; z < 3; z++ {
		g := m.groups["trash|z"+string(rune('0'+z))]
		if g == nil {
			t.Fatalf("no group for zone %d", z)
		}
		var errSum float64
		n := 0
		for h := 0; h < slots; h++ {
			// Slot h starts h hours after Sunday midnight; average the
			// true shape over the hour.
			var want float64
			for k := 0; k < 12; k++ {
				want += trueShape(z, synthStart.Add(-24*time.Hour+time.Duration(h)*time.Hour+time.Duration(k)*5*time.Minute))
			}
			want /= 12
			errSum += math.Abs(g.prof.p[h] - want/trueMean(z))
			n++
		}
		if mae := errSum / float64(n); mae > 0.15 {
			t.Errorf("zone %d: mean absolute error of the profile %.3f, want at most 0.15", z, mae)
		}
	}
}

func trueMean(z int) float64 {
	var s float64
	n := 0
	for t := synthStart; t.Before(synthStart.Add(7 * 24 * time.Hour)); t = t.Add(5 * time.Minute) {
		s += trueShape(z, t)
		n++
	}
	return s / float64(n)
}

// TestShrinkage checks that a bin with two readings is forecast at its
// zone's mean rate, and that a well-observed bin keeps its own.
func TestShrinkage(t *testing.T) {
	c := generate(synthParams{bins: 30, days: 28, seed: 5})
	bins := append(c.bins, civic.Bin{ID: "new", Name: "new", Stream: civic.StreamTrash, ZoneID: "z1", CapacityL: 120})
	at := c.start.Add(28 * 24 * time.Hour)
	readings := append(c.readings,
		civic.Reading{Bin: "new", Device: "dnew", Time: at.Add(-time.Hour), Fill: fptr(0.10)},
		civic.Reading{Bin: "new", Device: "dnew", Time: at.Add(-30 * time.Minute), Fill: fptr(0.30)},
	)
	m := Train(bins, readings, Options{})
	g := m.groups["trash|z1"]
	p, err := m.Predict("new", at, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.RatePerHour-g.rate)/g.rate > 0.05 {
		t.Errorf("rate of a bin with 2 readings = %.4f, want the zone's mean %.4f", p.RatePerHour, g.rate)
	}
	if p.Confidence > 0.05 {
		t.Errorf("confidence of a bin with 2 readings = %.2f, want about 0", p.Confidence)
	}
	// A bin never seen at all gets its pool's mean too.
	m.SetBin(civic.Bin{ID: "unseen", ZoneID: "z1", Stream: civic.StreamTrash})
	p, err = m.Predict("unseen", at, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if p.RatePerHour != g.rate || p.Samples != 0 {
		t.Errorf("unseen bin: rate %.4f, samples %d; want %.4f, 0", p.RatePerHour, p.Samples, g.rate)
	}
}

// TestLinearExact checks the time to full of a bin filling at a constant
// rate with clean readings.
func TestLinearExact(t *testing.T) {
	const rate = 0.02 // per hour: 0 to 0.9 in 45 h
	start := synthStart
	var rs []civic.Reading
	for i := 0; i < 4*24*14; i++ {
		at := start.Add(time.Duration(i) * 15 * time.Minute)
		f := math.Mod(rate*at.Sub(start).Hours(), 1)
		rs = append(rs, civic.Reading{Bin: "lin", Device: "d", Time: at, Fill: fptr(f)})
	}
	bins := []civic.Bin{{ID: "lin", Name: "lin", Stream: civic.StreamTrash, CapacityL: 240, FullThreshold: 0.8}}
	m := Train(bins, rs, Options{})
	now := start.Add(14*24*time.Hour + 7*time.Hour)
	p, err := m.Predict("lin", now, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(25 * time.Hour) // (0.8-0.3)/0.02
	if d := p.FullAt.Sub(want); d < -time.Minute || d > time.Minute {
		t.Errorf("FullAt = %v, want %v (±1 min)", p.FullAt, want)
	}
	if math.Abs(p.HoursToFull-25) > 1.0/60 {
		t.Errorf("HoursToFull = %.4f, want 25", p.HoursToFull)
	}
	if math.Abs(p.RatePerHour-rate) > 1e-4 {
		t.Errorf("RatePerHour = %.5f, want %.5f", p.RatePerHour, rate)
	}
	f, err := m.FillAt("lin", start.Add(14*24*time.Hour+10*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Mod(rate*(14*24+10), 1); math.Abs(f-want) > 0.002 {
		t.Errorf("FillAt = %.4f, want %.4f", f, want)
	}
}

// TestPredictErrors checks the error kinds.
func TestPredictErrors(t *testing.T) {
	m := Train([]civic.Bin{{ID: "a"}}, nil, Options{})
	now := synthStart
	if _, err := m.Predict("nope", now, 0.5); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("unknown bin: err = %v, want NotFound", err)
	}
	for _, f := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := m.Predict("a", now, f); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != "fill" {
			t.Errorf("fill %v: err = %v, want Invalid fill", f, err)
		}
	}
	if _, err := m.PredictLatest("a", now); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("bin without readings: err = %v, want NotFound", err)
	}
	if _, err := m.FillAt("a", now); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("FillAt of a bin without readings: err = %v, want NotFound", err)
	}
	// A model trained on nothing still forecasts a known bin from its
	// prior.
	p, err := m.Predict("a", now, 0.5)
	if err != nil || !(p.RatePerHour > 0) || p.FullAt.Before(now) {
		t.Errorf("Predict on an empty model = %+v, %v", p, err)
	}
}

// splitAt returns the readings of rs before cut and those from cut on.
func splitAt(rs []civic.Reading, cut time.Time) (before, after []civic.Reading) {
	for _, r := range rs {
		if r.Time.Before(cut) {
			before = append(before, r)
		} else {
			after = append(after, r)
		}
	}
	return before, after
}

// TestObserve checks the incremental path: a model fed the second half of
// the history by Observe forecasts like one trained on all of it.
func TestObserve(t *testing.T) {
	c := generate(synthParams{bins: 24, days: 28, seed: 11})
	cut := c.start.Add(21 * 24 * time.Hour)
	before, after := splitAt(c.readings, cut)
	full := Train(c.bins, c.readings, Options{})
	inc := Train(c.bins, before, Options{})
	// Feed it in chunks, as a server would.
	sort.Slice(after, func(i, j int) bool { return after[i].Time.Before(after[j].Time) })
	for len(after) > 0 {
		n := min(len(after), 500)
		inc.Observe(after[:n])
		after = after[n:]
	}
	now := c.start.Add(28 * 24 * time.Hour)
	for _, b := range c.bins {
		pf, err1 := full.PredictLatest(b.ID, now)
		pi, err2 := inc.PredictLatest(b.ID, now)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if math.Abs(pf.RatePerHour-pi.RatePerHour)/pf.RatePerHour > 0.1 {
			t.Errorf("%s: rate incremental %.4f, full %.4f", b.ID, pi.RatePerHour, pf.RatePerHour)
		}
		if math.Abs(pf.Fill-pi.Fill) > 0.03 {
			t.Errorf("%s: fill incremental %.3f, full %.3f", b.ID, pi.Fill, pf.Fill)
		}
	}
	// A reading of a bin the model has not seen registers it.
	inc.Observe([]civic.Reading{{Bin: "late", Device: "x", Time: now, Fill: fptr(0.4)}})
	if _, err := inc.PredictLatest("late", now); err != nil {
		t.Errorf("bin registered by Observe: %v", err)
	}
}

// TestObserveIncremental: readings fed to Observe one by one, or a few at
// a time, leave a bin exactly as a refit of its whole history does, and the
// model exactly as feeding them in one call does, though each call cleans
// and fits only the end of the history. The bins' sensors glitch often
// (lost echoes, spikes, stuck values, readings in one Resolution slot) to
// reach every reading a later one can still change.
func TestObserveIncremental(t *testing.T) {
	c := generate(synthParams{bins: 6, days: 21, seed: 17})
	cut := c.start.Add(14 * 24 * time.Hour)
	before, after := splitAt(c.readings, cut)
	for i, b := range c.bins[:3] {
		after = append(after, glitchy(b.ID, cut, 600, uint64(i))...)
	}
	sort.SliceStable(after, func(i, j int) bool { return after[i].Time.Before(after[j].Time) })
	// Two late readings, out of order: those refit the whole history.
	for _, k := range []int{len(after) / 3, 2 * len(after) / 3} {
		late := civic.Reading{Device: "late", Bin: c.bins[1].ID, Time: cut.Add(-time.Duration(k) * time.Minute), Fill: fptr(0.2)}
		after = slices.Insert(after, k, late)
	}

	whole := Train(c.bins, before, Options{})
	whole.Observe(after)
	inc := Train(c.bins, before, Options{})
	rng := rand.New(rand.NewPCG(17, 1))
	for rest := after; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(3))
		inc.Observe(rest[:n])
		for _, r := range rest[:n] {
			b := inc.bins[r.Bin]
			refit := &binModel{bin: b.bin, g: b.g, prof: b.prof, raw: b.raw}
			inc.refit(refit)
			if diff := binDiff(b, refit); diff != "" {
				t.Fatalf("%s after the reading at %s: incremental and whole refit differ: %s", r.Bin, r.Time.Format(time.RFC3339), diff)
			}
		}
		rest = rest[n:]
	}
	now := after[len(after)-1].Time.Add(time.Hour)
	for _, bin := range c.bins {
		if diff := binDiff(inc.bins[bin.ID], whole.bins[bin.ID]); diff != "" {
			t.Errorf("%s: fed one by one and in one call differ: %s", bin.ID, diff)
		}
		pi, err1 := inc.PredictLatest(bin.ID, now)
		pw, err2 := whole.PredictLatest(bin.ID, now)
		if err1 != nil || err2 != nil || pi != pw {
			t.Errorf("%s: forecast fed one by one %+v, %v; in one call %+v, %v", bin.ID, pi, err1, pw, err2)
		}
		fi, err1 := inc.FillAt(bin.ID, now.Add(6*time.Hour))
		fw, err2 := whole.FillAt(bin.ID, now.Add(6*time.Hour))
		if err1 != nil || err2 != nil || fi != fw {
			t.Errorf("%s: fill in 6 h fed one by one %v, %v; in one call %v, %v", bin.ID, fi, err1, fw, err2)
		}
	}
	if b := inc.bins[c.bins[0].ID]; b.from == 0 || len(b.done.fits) == 0 {
		t.Errorf("after a week of readings, Observe still cleans from reading %d with %d cycles kept fitted", b.from, len(b.done.fits))
	}
}

// glitchy returns n readings of bin from start, every 7 minutes: a bin
// filling and emptied now and then, its sensor often glitching.
func glitchy(bin string, start time.Time, n int, seed uint64) []civic.Reading {
	rng := rand.New(rand.NewPCG(seed, 2))
	var out []civic.Reading
	fill, last := 0.1, 0.1
	at := start.Add(3 * time.Minute)
	for len(out) < n {
		fill = math.Min(1, fill+0.004+0.01*rng.Float64())
		if fill > 0.5 && rng.Float64() < 0.02 {
			fill = 0.02 * rng.Float64() // emptied
		}
		v := math.Round((fill+0.01*rng.NormFloat64())*100) / 100
		switch u := rng.Float64(); {
		case u < 0.06:
			v = 0 // a lost echo
		case u < 0.10:
			v = math.Min(1, v+0.3) // a spike
		case u < 0.22:
			v = last // stuck
		}
		v = math.Max(0, math.Min(1, v))
		last = v
		out = append(out, civic.Reading{Device: "g" + bin, Bin: bin, Time: at, Fill: fptr(v)})
		if rng.Float64() < 0.1 {
			// A second reading in the same Resolution slot, replacing it.
			out = append(out, civic.Reading{Device: "g" + bin, Bin: bin, Time: at.Add(time.Minute), Fill: fptr(v)})
		}
		at = at.Add(7 * time.Minute)
	}
	return out
}

// binDiff describes how two models of a bin differ; "" when they do not.
func binDiff(a, b *binModel) string {
	switch {
	case !slices.Equal(a.raw, b.raw):
		return fmt.Sprintf("%d readings against %d", len(a.raw), len(b.raw))
	case !slices.Equal(a.s.pts, b.s.pts) || !slices.Equal(a.s.starts, b.s.starts):
		return fmt.Sprintf("latest cycle of %d readings against %d", len(a.s.pts), len(b.s.pts))
	case a.rate != b.rate || a.rateVar != b.rateVar:
		return fmt.Sprintf("rate %g ± %g against %g ± %g", a.rate, a.rateVar, b.rate, b.rateVar)
	case a.ownRate != b.ownRate || a.ownVar != b.ownVar:
		return fmt.Sprintf("own rate %g ± %g against %g ± %g", a.ownRate, a.ownVar, b.ownRate, b.ownVar)
	case a.sigma2 != b.sigma2 || a.samples != b.samples || a.conf != b.conf:
		return fmt.Sprintf("noise %g, %d samples, confidence %g against %g, %d, %g", a.sigma2, a.samples, a.conf, b.sigma2, b.samples, b.conf)
	}
	return ""
}

// TestPredictionProperties checks, over random bins, states and instants,
// that forecasts are finite, never in the past and ordered.
func TestPredictionProperties(t *testing.T) {
	c := generate(synthParams{bins: 12, days: 14, seed: 13})
	m := Train(c.bins, c.readings, Options{})
	m.SetBin(civic.Bin{ID: "empty-history", Stream: civic.StreamPaper, FullThreshold: 0.5})
	ids := []string{"empty-history"}
	for _, b := range c.bins {
		ids = append(ids, b.ID)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		id := ids[rng.IntN(len(ids))]
		now := c.start.Add(time.Duration(rng.Int64N(int64(20 * 24 * time.Hour))))
		fill := rng.Float64()
		if rng.IntN(10) == 0 {
			fill = float64(rng.IntN(2))
		}
		var ps []Prediction
		if p, err := m.Predict(id, now, fill); err != nil {
			t.Fatal(err)
		} else {
			ps = append(ps, p)
		}
		if p, err := m.PredictLatest(id, now); err == nil {
			ps = append(ps, p)
		}
		for _, p := range ps {
			check := func(name string, v float64) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: %s = %v in %+v", id, name, v, p)
				}
			}
			check("Fill", p.Fill)
			check("RatePerHour", p.RatePerHour)
			check("HoursToFull", p.HoursToFull)
			check("Confidence", p.Confidence)
			if p.FullAt.Before(now) || p.FullAtLow.Before(now) {
				t.Fatalf("%s: forecast before now %v: %+v", id, now, p)
			}
			if p.FullAtLow.After(p.FullAt) || p.FullAt.After(p.FullAtHigh) {
				t.Fatalf("%s: band out of order: %+v", id, p)
			}
			if p.HoursToFull < 0 || p.RatePerHour <= 0 || p.Fill < 0 || p.Fill > 1 {
				t.Fatalf("%s: out of range: %+v", id, p)
			}
			if lim := now.Add(m.opts.Horizon); p.FullAtHigh.After(lim) {
				t.Fatalf("%s: beyond the horizon: %+v", id, p)
			}
			if p.Fill >= p.Threshold && !p.FullAt.Equal(now) {
				t.Fatalf("%s: full bin forecast to fill later: %+v", id, p)
			}
		}
		if f, err := m.FillAt(id, now); err == nil && (math.IsNaN(f) || f < 0 || f > 1) {
			t.Fatalf("%s: FillAt = %v", id, f)
		}
	}
}

// TestTimeZone checks that a profile learnt in the city's time zone
// forecasts the same as in UTC for a city on a fixed offset: only the slot
// labels move.
func TestTimeZone(t *testing.T) {
	c := generate(synthParams{bins: 12, days: 21, seed: 17})
	utc := Train(c.bins, c.readings, Options{})
	est := Train(c.bins, c.readings, Options{Location: time.FixedZone("EST", -5*3600)})
	now := c.start.Add(21*24*time.Hour + 3*time.Hour)
	for _, b := range c.bins {
		a, _ := utc.Predict(b.ID, now, 0.2)
		e, _ := est.Predict(b.ID, now, 0.2)
		if d := a.FullAt.Sub(e.FullAt); d < -10*time.Minute || d > 10*time.Minute {
			t.Errorf("%s: FullAt UTC %v, EST %v", b.ID, a.FullAt, e.FullAt)
		}
	}
}

// TestCompactionTop checks that a faster rise near the top of compacting
// bins is learnt, and then forecast.
func TestCompactionTop(t *testing.T) {
	c := generate(synthParams{bins: 30, days: 28, seed: 19, top: 1.6})
	m := Train(c.bins, c.readings, Options{})
	t.Logf("top factors: other bins %.3f, compacting %.3f", m.top[0], m.top[1])
	if math.Abs(m.top[0]-1) > 0.1 || math.Abs(m.top[1]-1.6) > 0.2 {
		t.Errorf("top factors %.3f, %.3f; want 1 and 1.6", m.top[0], m.top[1])
	}
	// A compacting bin at the knee reaches 0.9 sooner than at a linear
	// rate.
	for _, b := range c.bins {
		if !b.Compacting {
			continue
		}
		now := c.start.Add(35 * 24 * time.Hour)
		p, err := m.Predict(b.ID, now, knee)
		if err != nil {
			t.Fatal(err)
		}
		top := m.top
		m.top = [2]float64{1, 1}
		lin, _ := m.Predict(b.ID, now, knee)
		m.top = top
		// Compare in effective hours: the profile makes wall-clock hours
		// uneven.
		pr, clk := m.bins[b.ID].profile(), m.clk
		eff := func(at time.Time) float64 {
			return pr.tau(clk.wall(unixSeconds(at))) - pr.tau(clk.wall(unixSeconds(now)))
		}
		if got, lim := eff(p.FullAt), eff(lin.FullAt)/m.top[1]*1.1; got > lim {
			t.Errorf("%s: %.1f effective h to full from the knee, want under %.1f", b.ID, got, lim)
		}
		if f, _ := m.FillAt(b.ID, now); f < 0 || f > 1 {
			t.Errorf("FillAt = %v", f)
		}
		break
	}
	c = generate(synthParams{bins: 30, days: 28, seed: 19})
	m = Train(c.bins, c.readings, Options{})
	if math.Abs(m.top[0]-1) > 0.1 || math.Abs(m.top[1]-1) > 0.1 {
		t.Errorf("linear fill: top factors %.3f, %.3f; want 1 and 1", m.top[0], m.top[1])
	}
}

// TestRateFollowsChange checks that a bin whose rate doubles half way
// through its history is forecast nearer its new rate than its average.
func TestRateFollowsChange(t *testing.T) {
	const days = 56
	var rs []civic.Reading
	fill, rate := 0.0, 0.01
	start := synthStart
	for i := 0; i < days*24*4; i++ {
		at := start.Add(time.Duration(i) * 15 * time.Minute)
		if i == days*24*2 {
			rate *= 2
		}
		fill += rate / 4
		if fill >= 0.95 {
			fill = 0
		}
		rs = append(rs, civic.Reading{Bin: "b", Device: "d", Time: at, Fill: fptr(fill)})
	}
	bins := []civic.Bin{{ID: "b", Name: "b", Stream: civic.StreamTrash, CapacityL: 240}}
	for _, tt := range []struct {
		halfLife time.Duration
		lo, hi   float64
	}{
		{0, 0.0155, 0.02},                    // default 28 days: mostly the new rate
		{-1, 0.0135, 0.0165},                 // no decay: the average
		{3 * 24 * time.Hour, 0.0185, 0.0201}, // short memory: the new rate
	} {
		m := Train(bins, rs, Options{HalfLife: tt.halfLife})
		if got := m.bins["b"].rate; got < tt.lo || got > tt.hi {
			t.Errorf("half-life %v: rate %.4f, want between %.4f and %.4f", tt.halfLife, got, tt.lo, tt.hi)
		}
	}
}

// TestModelKeepsLatestCycle checks that a fitted model keeps, of each
// bin's cleaned series, only the latest cycle, exactly as cleaning its raw
// readings gives it, and that a refit (new settings) still sees every
// cycle: the bin's own rate is the one every cycle gives.
func TestModelKeepsLatestCycle(t *testing.T) {
	c := generate(synthParams{bins: 12, days: 21, seed: 5})
	m := Train(c.bins, c.readings, Options{})
	for _, bin := range c.bins {
		b := m.bins[bin.ID]
		full := clean(b.raw, &m.opts, true)
		if len(full.starts) < 3 {
			t.Fatalf("%s: %d cycles in 21 days, want several", bin.ID, len(full.starts))
		}
		if len(b.s.starts) != 1 || !slices.Equal(b.s.last(), full.last()) {
			t.Errorf("%s: kept %d cycles, latest %d readings; want 1, the full series' latest (%d readings)",
				bin.ID, len(b.s.starts), len(b.s.last()), len(full.last()))
		}
		// What a refit on every cycle gives.
		cp := *b
		cp.s = full
		m.fitOwn(&cp)
		rate, v := cp.ownRate, cp.ownVar
		renamed := bin
		renamed.Name += " (renamed)"
		m.SetBin(renamed)
		if b.ownRate != rate || b.ownVar != v {
			t.Errorf("%s: own rate %g ± %g after a refit, %g ± %g from every cycle", bin.ID, b.ownRate, b.ownVar, rate, v)
		}
		if len(b.s.starts) != 1 {
			t.Errorf("%s: %d cycles kept after a refit, want 1", bin.ID, len(b.s.starts))
		}
	}
}

// BenchmarkObserveReading is the cost of Observe for one reading of a bin
// with four to five weeks of history (a reading every 15 minutes), as a
// server's ingest feeds readings in as they arrive.
func BenchmarkObserveReading(b *testing.B) {
	c := generate(synthParams{bins: 3, days: 35, seed: 21, interval: 15 * time.Minute})
	cut := c.start.Add(28 * 24 * time.Hour)
	before, rest := splitAt(c.readings, cut)
	var after []civic.Reading // the first bin's
	for _, r := range rest {
		if r.Bin == c.bins[0].ID {
			after = append(after, r)
		}
	}
	sort.Slice(after, func(i, j int) bool { return after[i].Time.Before(after[j].Time) })
	var m *Model
	next := len(after)
	for b.Loop() {
		if next == len(after) {
			// A week observed: start again from the trained model.
			b.StopTimer()
			m, next = Train(c.bins, before, Options{}), 0
			b.StartTimer()
		}
		m.Observe(after[next : next+1])
		next++
	}
}
