package sim

import (
	"math"
	"time"
)

const (
	secondsPerDay  = 86400
	secondsPerHour = 3600
)

// offset returns the city's UTC offset in seconds at Unix time t. Offsets
// change on the hour in practically every zone, so one lookup per UTC hour
// is enough.
func (s *Sensors) offset(t int64) int64 {
	h := floorDiv(t, secondsPerHour)
	if h != s.offHour {
		_, off := time.Unix(h*secondsPerHour, 0).In(s.loc).Zone()
		s.offHour, s.offVal = h, int64(off)
	}
	return s.offVal
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// localDay numbers the city's local days: days since 1970-01-01 local.
func (s *Sensors) localDay(t int64) int64 {
	return floorDiv(t+s.offset(t), secondsPerDay)
}

// midnight returns the Unix time of the start of local day d.
func (s *Sensors) midnight(d int64) int64 {
	guess := d * secondsPerDay
	return guess - s.offset(guess-s.offset(guess))
}

// weekday returns 0 for Monday to 6 for Sunday of local day d (1970-01-01
// was a Thursday).
func weekday(d int64) int64 { return ((d+3)%7 + 7) % 7 }

// profile returns a bin's rhythm at hour-of-week h.
func (b *binState) profile(h int) float64 {
	return b.commercial*CommercialProfile[h] + (1-b.commercial)*ResidentialProfile[h]
}

// rateAt returns b's true fill rate (fraction per hour) at t, and the end
// of the interval from t over which it stays constant.
func (s *Sensors) rateAt(b *binState, t int64) (float64, int64) {
	off := s.offset(t)
	local := t + off
	day := floorDiv(local, secondsPerDay)
	hour := floorDiv(local, secondsPerHour)
	end := (hour+1)*secondsPerHour - off
	h := int(weekday(day)*24 + (hour - day*24))
	info := s.day(b, day)
	rate := b.meanRate * b.profile(h) * info.factor
	if s.fairWeeks > 0 {
		if fs, fe, zone, ok := s.fairOn(day); ok && zone == b.zone {
			switch {
			case t >= fs && t < fe:
				rate *= DefaultFairFactor
				end = min(end, fe)
			case t < fs:
				end = min(end, fs)
			}
		}
	}
	for i := range s.events {
		e := &s.events[i]
		if e.Kind != EventStreetFair || e.zone != b.zone {
			continue
		}
		switch {
		case t >= e.start && t < e.end:
			rate *= e.Factor
			end = min(end, e.end)
		case t < e.start:
			end = min(end, e.start)
		}
	}
	return rate, end
}

// fairOn returns the automatic street fair of local day d, if there is one:
// Saturdays of every fairWeeks-th week, 10:00 to 20:00.
func (s *Sensors) fairOn(d int64) (start, end int64, zone int, ok bool) {
	if s.fairWeeks <= 0 || weekday(d) != 5 || len(s.city.Zones) == 0 {
		return 0, 0, 0, false
	}
	week := floorDiv(d+3, 7)
	if (week-s.fairPhase)%int64(s.fairWeeks) != 0 {
		return 0, 0, 0, false
	}
	s.dayPCG.Seed(s.seed^0x66616972, uint64(week)) // "fair"
	zone = s.dayRand.IntN(len(s.city.Zones))
	m := s.midnight(d)
	return m + 10*secondsPerHour, m + 20*secondsPerHour, zone, true
}

// day returns b's draws for local day d.
func (s *Sensors) day(b *binState, d int64) dayInfo {
	if b.dayCache == d {
		return b.dayInfo
	}
	bi := uint64(b.ix)
	s.dayPCG.Seed(s.seed^0x646179, bi<<32^uint64(d)) // "day"
	r := s.dayRand
	var info dayInfo
	// The draws are made in a fixed order, whatever the fault rates, so
	// that changing one rate does not change the rest.
	z := r.NormFloat64()
	uS, tS, dS := r.Float64(), r.Float64(), r.Float64()
	uF, tF, dF, pF := r.Float64(), r.Float64(), r.Float64(), r.Float64()
	// Draws added later come after the earlier ones, for the same reason.
	uT, tT, dT, aT := r.Float64(), r.Float64(), r.Float64(), r.Float64()
	info.factor = math.Exp(dayFactorSigma*z - dayFactorSigma*dayFactorSigma/2)
	info.stuckAt, info.fireAt, info.tiltAt = -1, -1, -1
	if uS < s.faults.StuckPerDay {
		info.stuckAt = int64(tS * secondsPerDay)
		info.stuckFor = int64((6 + 42*dS) * secondsPerHour)
	}
	if uF < s.faults.FirePerDay {
		info.fireAt = int64((10 + 12*tF) * secondsPerHour)
		info.fireFor = int64((1 + 2*dF) * secondsPerHour)
		info.firePeak = 60 + 80*pF
	}
	if uT < s.faults.TiltPerDay {
		info.tiltAt = int64((6 + 18*tT) * secondsPerHour)
		info.tiltFor = int64((2 + 24*dT) * secondsPerHour)
		info.tiltDeg = 60 + 35*aT
	}
	b.dayCache, b.dayInfo = d, info
	return info
}

// integral returns the waste (fraction of capacity, uncapped) b receives
// from t0 to t1, without changing b's cached segment.
func (s *Sensors) integral(b *binState, t0, t1 int64) float64 {
	sum := 0.0
	for t := t0; t < t1; {
		rate, end := s.rateAt(b, t)
		end = min(end, t1)
		sum += rate * float64(end-t) / secondsPerHour
		t = end
	}
	return sum
}

// integrate moves b's fill forward to t (no collections).
func (s *Sensors) integrate(b *binState, t int64) {
	for b.t < t {
		if b.t < b.segStart || b.t >= b.segEnd {
			b.segRate, b.segEnd = s.rateAt(b, b.t)
			b.segStart = b.t
		}
		end := min(b.segEnd, t)
		add := b.segRate * float64(end-b.t) / secondsPerHour
		b.generated += add
		switch room := 1 - b.fill; {
		case room <= 0:
			// Full: what arrives overflows onto the street.
			b.overflowed += add
			b.fullSecs += end - b.t
		case add >= room:
			b.overflowed += add - room
			b.loose += room * b.capL
			b.fill = 1
			b.overflows++
			// Full from when the room ran out (the rate is constant over
			// the segment).
			b.fullSecs += int64(float64(end-b.t) * (1 - room/add))
		case add > 0:
			b.fill += add
			b.loose += add * b.capL
		}
		b.t = end
	}
}

// advance moves b forward to t, making the automatic collections due.
func (s *Sensors) advance(b *binState, t int64) {
	for b.next <= t {
		s.integrate(b, b.next)
		at := b.next
		if s.p.Policy.Kind != PolicyThreshold || b.fill >= s.threshold(b) {
			before := b.fill
			s.empty(b)
			s.stats.collections++
			if s.p.OnCollect != nil {
				s.p.OnCollect(Collection{BinID: b.id, Time: time.Unix(at, 0).UTC(), Fill: before})
			}
		}
		b.next = s.nextRound(b, at)
	}
	s.integrate(b, t)
}

func (s *Sensors) threshold(b *binState) float64 {
	if s.p.Policy.Threshold > 0 {
		return s.p.Policy.Threshold
	}
	return b.threshold
}

// empty leaves a residue of up to 2% in b (litter stuck to the walls, a
// bag left behind), never more than it held.
func (s *Sensors) empty(b *binState) {
	b.empties++
	s.dayPCG.Seed(s.seed^0x656d707479, uint64(b.ix)<<32^b.empties) // "empty"
	residue := math.Min(b.fill, 0.02*s.dayRand.Float64())
	b.collected += b.fill - residue
	b.fill = residue
}

// nextRound returns b's first collection round after t.
func (s *Sensors) nextRound(b *binState, t int64) int64 {
	every := int64(b.every)
	if every == 0 {
		every = 1
	}
	for d := s.localDay(t) - 1; ; d++ {
		if ((d-int64(b.phase))%every+every)%every != 0 || !b.sundays && weekday(d) == 6 {
			continue
		}
		m := s.midnight(d)
		if r := m + b.tod; r > t {
			return r
		}
		if b.every == 0 {
			if r := m + b.tod + 9*secondsPerHour; r > t {
				return r
			}
		}
	}
}

// faultsFor brings d's fault windows up to local day day.
func (s *Sensors) faultsFor(d *devState, b *binState, day int64) {
	if d.faultDay >= day {
		return
	}
	from := max(d.faultDay+1, day-2) // windows last at most 48 hours
	for dd := from; dd <= day; dd++ {
		info := s.day(b, dd)
		m := s.midnight(dd)
		if info.stuckAt >= 0 {
			d.stuckFrom, d.stuckTo = m+info.stuckAt, m+info.stuckAt+info.stuckFor
			if d.stuckFrom >= s.start {
				s.stats.stuck++
			}
		}
		if info.fireAt >= 0 {
			d.fireFrom, d.fireTo, d.firePeak = m+info.fireAt, m+info.fireAt+info.fireFor, info.firePeak
			if d.fireFrom >= s.start {
				s.stats.fires++
			}
		}
		if info.tiltAt >= 0 {
			d.tiltFrom, d.tiltTo, d.tiltDeg = m+info.tiltAt, m+info.tiltAt+info.tiltFor, info.tiltDeg
			if d.tiltFrom >= s.start {
				s.stats.tilts++
			}
		}
	}
	d.faultDay = day
}
