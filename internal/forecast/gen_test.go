package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// synthCity is a generated city with known truth, for tests.
type synthCity struct {
	bins        []civic.Bin
	readings    []civic.Reading
	rate        map[string]float64     // true weekly mean fill per hour
	collections map[string][]time.Time // true emptyings
	start       time.Time
}

// synthParams controls the test generator.
type synthParams struct {
	bins     int
	days     int
	seed     uint64
	interval time.Duration // between readings; default 30 min
	noise    float64       // sd of a reading; default 0.02
	zeros    float64       // probability of a zero reading; default 0.01
	daily    float64       // sd of the log of the day-to-day rate multiplier; default 0.15
	flat     bool          // constant rate: no profile, no daily variation
	top      float64       // rate factor of compacting bins above 0.6 full; default 1
}

var synthStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

// trueShape is the generator's hour-of-week profile of zone z, before
// normalization: quiet nights, busy days, busier weekends in the park zone.
func trueShape(z int, wall time.Time) float64 {
	h := float64(wall.Hour()) + float64(wall.Minute())/60
	day := 0.25 + 1.6*math.Max(0, math.Sin(math.Pi*(h-6)/16)) // 06:00-22:00
	if z == 0 && (wall.Weekday() == time.Saturday || wall.Weekday() == time.Sunday) {
		day *= 1.6
	}
	if z == 1 && (wall.Weekday() == time.Saturday || wall.Weekday() == time.Sunday) {
		day *= 0.5
	}
	return day
}

// generate simulates bins filling at known rates with an hour-of-week
// profile, daily variation, sensor noise, lost echoes (zeros) and morning
// collections of bins that are full enough (plus some emptied early).
func generate(p synthParams) *synthCity {
	if p.interval == 0 {
		p.interval = 30 * time.Minute
	}
	if p.noise == 0 {
		p.noise = 0.02
	}
	if p.zeros == 0 {
		p.zeros = 0.01
	}
	if p.daily == 0 {
		p.daily = 0.15
	}
	rng := rand.New(rand.NewPCG(p.seed, 99))
	c := &synthCity{rate: map[string]float64{}, collections: map[string][]time.Time{}, start: synthStart}
	const step = 5 * time.Minute
	// Mean of each zone's shape over a week, to normalize.
	var norm [3]float64
	for z := range norm {
		n := 0
		for t := synthStart; t.Before(synthStart.Add(7 * 24 * time.Hour)); t = t.Add(step) {
			norm[z] += trueShape(z, t)
			n++
		}
		norm[z] /= float64(n)
	}
	end := synthStart.Add(time.Duration(p.days) * 24 * time.Hour)
	for i := 0; i < p.bins; i++ {
		z := i % 3
		b := civic.Bin{
			ID: fmt.Sprintf("b%04d", i), Name: "bin", Lat: 40, Lon: -75, Stream: civic.StreamTrash,
			CapacityL: 240, ZoneID: fmt.Sprintf("z%d", z), Compacting: i%5 == 0, Status: civic.StatusActive,
		}
		c.bins = append(c.bins, b)
		rate := 0.015 * math.Exp(0.6*rng.NormFloat64())
		c.rate[b.ID] = rate
		fill := rng.Float64() * 0.5
		mult := 1.0
		next := synthStart.Add(time.Duration(rng.Int64N(int64(p.interval))))
		var lastDay time.Time
		for t := synthStart; t.Before(end); t = t.Add(step) {
			if d := t.Truncate(24 * time.Hour); !d.Equal(lastDay) {
				lastDay = d
				mult = 1
				if !p.flat {
					mult = math.Exp(p.daily*rng.NormFloat64() - p.daily*p.daily/2)
				}
			}
			shape := 1.0
			if !p.flat {
				shape = trueShape(z, t) / norm[z]
			}
			inc := rate * mult * shape * step.Hours()
			if b.Compacting && p.top > 0 && fill >= 0.6 {
				inc *= p.top
			}
			fill = math.Min(1, fill+inc)
			// Collection round at 09:00: full enough bins, and a few early.
			if !p.flat && t.Hour() == 9 && t.Minute() == 0 && (fill >= 0.8 || fill >= 0.3 && rng.Float64() < 0.1) {
				fill = rng.Float64() * 0.03
				c.collections[b.ID] = append(c.collections[b.ID], t)
			}
			if p.flat && fill >= 0.999 {
				fill = 0
				c.collections[b.ID] = append(c.collections[b.ID], t)
			}
			if !t.Before(next) {
				v := fill + p.noise*rng.NormFloat64()
				if p.flat {
					v = fill
				}
				if !p.flat && rng.Float64() < p.zeros {
					v = 0
				}
				v = math.Max(0, math.Min(1, v))
				c.readings = append(c.readings, civic.Reading{Device: "d" + b.ID, Bin: b.ID, Time: t, Fill: &v})
				jitter := time.Duration(0)
				if !p.flat {
					jitter = time.Duration(rng.Int64N(int64(p.interval/5))) - p.interval/10
				}
				next = next.Add(p.interval + jitter)
			}
		}
	}
	return c
}
