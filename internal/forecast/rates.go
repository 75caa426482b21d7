package forecast

import "github.com/civic-city/civic/internal/civic"

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
func FillRates(readings []civic.Reading, opts Options) map[string]FillRate {
	o := opts.withDefaults()
	byBin := map[string][]point{}
	for i := range readings {
		r := &readings[i]
		if r.Bin == "" {
			continue
		}
		if p, ok := pointOf(r); ok {
			byBin[r.Bin] = append(byBin[r.Bin], p)
		}
	}
	out := make(map[string]FillRate, len(byBin))
	for bin, pts := range byBin {
		s := clean(sortPoints(pts), &o, false)
		var rise, secs float64
		cycles := 0
		for k := range s.starts {
			cyc := s.cycle(k)
			end := len(cyc) - 1
			for end > 0 && cyc[end].x >= o.Saturation {
				end--
			}
			if end < 1 {
				continue
			}
			d := cyc[end].t - cyc[0].t
			if !(d > 0) {
				continue
			}
			rise += max(cyc[end].x-cyc[0].x, 0)
			secs += d
			cycles++
		}
		if cycles > 0 {
			out[bin] = FillRate{PerHour: rise / secs * 3600, Hours: secs / 3600, Cycles: cycles}
		}
	}
	return out
}
