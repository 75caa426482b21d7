package forecast

import (
	"math"
	"sort"
	"time"
)

// slots is the number of hour-of-week slots in a profile.
const slots = 7 * 24

const (
	secondsPerHour = 3600
	secondsPerWeek = slots * secondsPerHour
	// refSunday is 1970-01-04T00:00:00 in wall-clock seconds: a Sunday, so
	// slot 0 is Sunday 00:00-01:00, matching time.Weekday.
	refSunday = 3 * 24 * secondsPerHour
	// minSlot keeps every slot's relative rate positive, so effective time
	// always advances and the profile can be inverted.
	minSlot = 0.02
)

// profile is an hour-of-week shape of the fill rate: p[h] is the rate in slot
// h relative to the weekly mean, so the p average 1. Effective time tau
// advances by p[h] hours per wall-clock hour in slot h; a bin's fill grows
// linearly in effective time at its base rate.
type profile struct {
	p   [slots]float64
	cum [slots + 1]float64 // cum[h] = p[0] + ... + p[h-1]
}

// flatProfile returns the profile of a constant rate.
func flatProfile() *profile {
	pr := &profile{}
	for h := range pr.p {
		pr.p[h] = 1
	}
	pr.finish()
	return pr
}

// finish clamps, normalizes to mean 1 and fills the cumulative sums.
func (pr *profile) finish() {
	sum := 0.0
	for h, v := range pr.p {
		if !(v >= minSlot) { // also catches NaN
			v = minSlot
		}
		pr.p[h] = v
		sum += v
	}
	for h := range pr.p {
		pr.p[h] *= slots / sum
	}
	pr.cum[0] = 0
	for h, v := range pr.p {
		pr.cum[h+1] = pr.cum[h] + v
	}
}

// clock converts between instants and the wall-clock seconds that index
// hour-of-week slots.
type clock struct {
	loc *time.Location // nil when the offset is fixed
	off float64        // the fixed offset, seconds east of UTC
}

// newClock returns the clock of loc. A zone whose offset never changes
// (UTC, or a fixed zone like the simulator's) is kept as a plain offset:
// asking the zone database for every reading is slow.
func newClock(loc *time.Location) clock {
	if loc == nil {
		return clock{}
	}
	_, off := time.Date(1990, 1, 1, 0, 0, 0, 0, loc).Zone()
	for t := time.Date(1990, 1, 15, 0, 0, 0, 0, time.UTC); t.Year() < 2060; t = t.AddDate(0, 1, 0) {
		if _, o := t.In(loc).Zone(); o != off {
			return clock{loc: loc}
		}
	}
	return clock{off: float64(off)}
}

// wall returns the wall-clock seconds of unix time s in the clock's zone.
func (c clock) wall(s float64) float64 {
	if c.loc == nil {
		return s + c.off
	}
	_, off := time.Unix(int64(math.Floor(s)), 0).In(c.loc).Zone()
	return s + float64(off)
}

// unix converts wall-clock seconds back to unix seconds.
func (c clock) unix(w float64) float64 {
	if c.loc == nil {
		return w - c.off
	}
	_, off := time.Unix(int64(math.Floor(w)), 0).In(c.loc).Zone()
	_, off = time.Unix(int64(math.Floor(w))-int64(off), 0).In(c.loc).Zone()
	return w - float64(off)
}

// hourIndex returns the number of whole hours from the reference Sunday to
// wall-clock seconds w, and the hour-of-week slot that hour falls in.
func hourIndex(w float64) (k float64, h int) {
	k = math.Floor((w - refSunday) / secondsPerHour)
	h = int(math.Mod(k, slots))
	if h < 0 {
		h += slots
	}
	return k, h
}

// tau returns the effective hours elapsed from the reference Sunday to
// wall-clock seconds w.
func (pr *profile) tau(w float64) float64 {
	s := w - refSunday
	wk := math.Floor(s / secondsPerWeek)
	r := s - wk*secondsPerWeek
	h := int(r / secondsPerHour)
	if h >= slots {
		h = slots - 1
	}
	frac := (r - float64(h)*secondsPerHour) / secondsPerHour
	return wk*pr.cum[slots] + pr.cum[h] + frac*pr.p[h]
}

// wallAt is the inverse of tau: the wall-clock seconds at which effective
// time reaches t.
func (pr *profile) wallAt(t float64) float64 {
	week := pr.cum[slots]
	wk := math.Floor(t / week)
	rem := t - wk*week
	h := sort.Search(slots, func(i int) bool { return pr.cum[i+1] > rem })
	if h >= slots {
		h = slots - 1
	}
	frac := (rem - pr.cum[h]) / pr.p[h]
	frac = math.Max(0, math.Min(1, frac))
	return refSunday + wk*secondsPerWeek + (float64(h)+frac)*secondsPerHour
}

// overlap calls f for every slot that wall-clock interval [a, b) touches,
// with the hours of overlap.
func overlap(a, b float64, f func(h int, hours float64)) {
	k, h := hourIndex(a)
	for a < b {
		end := math.Min(refSunday+(k+1)*secondsPerHour, b)
		f(h, (end-a)/secondsPerHour)
		a = end
		k++
		if h++; h == slots {
			h = 0
		}
	}
}

// slotAcc accumulates, per hour-of-week slot, the fill increments seen
// (num), the increments the base rate alone predicts (den) and the sum of
// squared shares of increments (cnt, for the noise of num).
type slotAcc struct{ num, den, cnt [slots]float64 }

// smoothed returns slot h's sums with its neighbours', weighted 1-2-1:
// increments of consecutive readings share their noise across slots, so
// neighbouring slots together are far less noisy than one alone.
func (a *slotAcc) smoothed(h int) (num, den, cnt float64) {
	for d, w := range [...]float64{1, 2, 1} {
		j := (h + d - 1 + slots) % slots
		num += w * a.num[j]
		den += w * a.den[j]
		cnt += w * w * a.cnt[j]
	}
	return num, den, cnt
}

// fitBinProfiles gives each bin a profile of its own: its pool's profile
// plus a_i times phi, where phi is the city's main direction of difference
// between the bins' raw profiles and pool profiles (a rank-one weighted
// factorization, found by alternating least squares), and a_i is shrunk
// towards 0 (the pool's profile) by how little the bin's history says.
// Where bins mix two rhythms, such as commercial and residential ones, that
// direction is their difference.
func (m *Model) fitBinProfiles(byBin map[*binModel]*slotAcc) {
	type obs struct {
		b    *binModel
		y, w [slots]float64
		a    float64
	}
	var os []*obs
	for b, acc := range byBin {
		o := &obs{b: b}
		base := b.g.prof
		total := 0.0
		for h := 0; h < slots; h++ {
			num, den, cnt := acc.smoothed(h)
			if den <= 0 || cnt <= 0 {
				continue
			}
			o.y[h] = num/den - base.p[h]
			o.w[h] = den * den / (2 * m.sigma2 * cnt)
			total += o.w[h]
		}
		b.prof = nil
		if total > 0 {
			os = append(os, o)
		}
	}
	if len(os) < 4 {
		return
	}
	sort.Slice(os, func(i, j int) bool { return os[i].b.bin.ID < os[j].b.bin.ID })
	// Start from the strongest deviation.
	var phi [slots]float64
	best := -1.0
	for _, o := range os {
		s := 0.0
		for h := range o.y {
			s += o.w[h] * o.y[h] * o.y[h]
		}
		if s > best {
			best, phi = s, o.y
		}
	}
	s2 := 1.0 // prior variance of a
	for iter := 0; iter < 20; iter++ {
		// Normalize phi to unit root mean square.
		ss := 0.0
		for _, v := range phi {
			ss += v * v
		}
		if ss <= 0 {
			return
		}
		scale := math.Sqrt(slots / ss)
		for h := range phi {
			phi[h] *= scale
		}
		// Each bin's loading, then the spread of loadings (empirical Bayes).
		var sumA2, sumVar float64
		for _, o := range os {
			var num, den float64
			for h := range phi {
				num += o.w[h] * phi[h] * o.y[h]
				den += o.w[h] * phi[h] * phi[h]
			}
			if den <= 0 {
				o.a = 0
				continue
			}
			raw := num / den
			sumA2 += raw * raw
			sumVar += 1 / den
			o.a = num / (den + 1/s2)
		}
		s2 = math.Max((sumA2-sumVar)/float64(len(os)), 1e-4)
		// The direction, given the loadings, smoothed like the profiles.
		var num, den [slots]float64
		for _, o := range os {
			for h := range phi {
				num[h] += o.w[h] * o.a * o.y[h]
				den[h] += o.w[h] * o.a * o.a
			}
		}
		var next [slots]float64
		for h := range phi {
			var n, d float64
			for k, w := range [...]float64{1, 2, 1} {
				j := (h + k - 1 + slots) % slots
				n += w * num[j]
				d += w * den[j]
			}
			if d > 0 {
				next[h] = n / d
			}
		}
		phi = next
	}
	for _, o := range os {
		if o.a == 0 {
			continue
		}
		pr := &profile{}
		base := o.b.g.prof
		for h := range pr.p {
			pr.p[h] = base.p[h] + o.a*phi[h]
		}
		pr.finish()
		o.b.prof = pr
	}
}
