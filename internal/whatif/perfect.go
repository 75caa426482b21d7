package whatif

import (
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// perfectHorizon is how far ahead the perfect forecasts look, as far as
// the forecaster's own (forecast.Options' default horizon).
const perfectHorizon = 14 * 24 * time.Hour

// perfectInput is what PolicyPerfect's planner knows on a day: every
// bin's true fill at now, as if read that instant, and when it truly
// reaches its must-go line, exactly (the forecast's band is the instant
// itself), at the rate the waste will truly come over the next day. No
// city has this: it bounds what better forecasts and sensors could gain
// with civic's planner and the same rules (service days, hygiene,
// shifts).
func (r *runner) perfectInput(now time.Time) ([]civic.BinState, map[string]civic.Forecast) {
	states := make([]civic.BinState, 0, len(r.city.Bins))
	fcs := make(map[string]civic.Forecast, len(r.city.Bins))
	for i := range r.city.Bins {
		b := &r.city.Bins[i]
		fill := r.s.TrueFill(b.ID)
		f := fill
		states = append(states, civic.BinState{BinID: b.ID, Time: now, Fill: &f, UpdatedAt: now})
		thr := r.o.Settings.Policy(b.ZoneID, b.Stream).MustGoLine(b)
		fc := civic.Forecast{BinID: b.ID, Now: now, Fill: fill, Threshold: thr,
			RatePerHour:  r.s.GeneratedBetween(b.ID, now, now.Add(24*time.Hour)) / b.CapacityL / 24,
			HorizonHours: perfectHorizon.Hours(), Confidence: 1, Samples: 1}
		if full, ok := r.trueFullAt(b, now, fill, thr); ok {
			h := full.Sub(now).Hours()
			fc.FullAt, fc.FullAtLow, fc.FullAtHigh, fc.HoursToFull = &full, &full, &full, &h
		}
		fcs[b.ID] = fc
	}
	return states, fcs
}

// trueFullAt is when bin b, holding fill at now and left alone, truly
// reaches thr, to the minute; false beyond perfectHorizon. The waste a bin
// receives grows with time, so the first hour it is reached is found by
// doubling, then halving.
func (r *runner) trueFullAt(b *civic.Bin, now time.Time, fill, thr float64) (time.Time, bool) {
	if fill >= thr {
		return now, true
	}
	need := (thr - fill) * b.CapacityL
	reached := func(d time.Duration) bool { return r.s.GeneratedBetween(b.ID, now, now.Add(d)) >= need }
	hi := time.Hour
	for !reached(hi) {
		if hi >= perfectHorizon {
			return time.Time{}, false
		}
		hi = min(2*hi, perfectHorizon)
	}
	lo := time.Duration(0) // not reached at lo, reached at hi
	for hi-lo > time.Minute {
		mid := (lo + hi) / 2
		if reached(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return now.Add(hi), true
}
