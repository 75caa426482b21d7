package forecast

import (
	"math"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// FillRate is a bin's mean fill rate over the history it was measured on.
type FillRate struct {
	// PerHour is the fill gained per hour (fraction of capacity),
	// averaged over the hours measured.
	PerHour float64
	// Hours is the time the rate was measured over: the fill cycles'
	// spans below saturation, gaps between cycles and censored ends left
	// out.
	Hours float64
	// Cycles is how many fill cycles contributed.
	Cycles int
}

// FillRates measures each bin's mean fill rate from its fill readings
// (readings without a bin or a fill are ignored; any order): the history
// is cleaned of sensor glitches and cut at emptyings as for training, and
// each fill cycle contributes its rise and its span up to its last reading
// below opts.Saturation (an overflowing bin reads full whatever goes in).
// A bin's rate is its cycles' total rise over their total span, so long
// cycles weigh more than short ones and the daily and weekly rhythms
// average out over whole days. Bins whose readings make no cycle of two
// readings or more are absent. Unlike a trained Model, a rate neither
// decays with age nor borrows from other bins: it is what a what-if
// simulation of the city's own bins needs, the waste each bin received.
//
// rises, when not nil, is called in the same pass with every step of the
// cycles measured, in each bin's time order: the fill gained (negative
// when a reading's noise says so) between two consecutive readings from
// and to. How the rises fall over the hours of the week is a bin's
// rhythm.
func FillRates(readings []civic.Reading, opts Options, rises func(bin string, from, to time.Time, rise float64)) map[string]FillRate {
	type acc struct {
		rise, secs float64
		cycles     int
	}
	sums := map[string]*acc{}
	cycles(readings, opts, func(bin string, cyc []point) {
		a := sums[bin]
		if a == nil {
			a = &acc{}
			sums[bin] = a
		}
		a.rise += max(cyc[len(cyc)-1].x-cyc[0].x, 0)
		a.secs += cyc[len(cyc)-1].t - cyc[0].t
		a.cycles++
		for i := 1; rises != nil && i < len(cyc); i++ {
			rises(bin, instantOf(cyc[i-1].t), instantOf(cyc[i].t), cyc[i].x-cyc[i-1].x)
		}
	})
	out := make(map[string]FillRate, len(sums))
	for bin, a := range sums {
		out[bin] = FillRate{PerHour: a.rise / a.secs * 3600, Hours: a.secs / 3600, Cycles: a.cycles}
	}
	return out
}

// instantOf is the instant of Unix seconds t, to the millisecond.
func instantOf(t float64) time.Time { return time.UnixMilli(int64(math.Round(t * 1000))).UTC() }

// cycles calls fn with each measurable fill cycle of each bin's
// readings: cleaned, cut at emptyings, ending at its last reading below
// saturation, two readings or more over a positive span.
func cycles(readings []civic.Reading, opts Options, fn func(bin string, cyc []point)) {
	o := opts.withDefaults()
	for bin, pts := range pointsByBin(readings) {
		s := clean(pts, &o, false)
		for k := range s.starts {
			cyc := s.cycle(k)
			end := len(cyc) - 1
			for end > 0 && cyc[end].x >= o.Saturation {
				end--
			}
			if end < 1 || !(cyc[end].t > cyc[0].t) {
				continue
			}
			fn(bin, cyc[:end+1])
		}
	}
}
