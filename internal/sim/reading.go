package sim

import (
	"math"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// read produces d's uplink at t, after bringing its bin to t. It reports
// false for a lost uplink or a dead device (d.dead is then set).
func (s *Sensors) read(d *devState, t int64) (civic.Reading, bool) {
	b := &s.bins[d.bin]
	s.advance(b, t)
	r := d.rng
	// A fixed set of draws per uplink keeps the noise of later uplinks
	// independent of faults and losses.
	uLoss, uZero := r.Float64(), r.Float64()
	nFill, nTemp, nRSSI, nSNR, nTilt := r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()

	days := float64(t-s.start) / secondsPerDay
	off := s.offset(t)
	local := t + off
	day := floorDiv(local, secondsPerDay)
	hour := float64(local-day*secondsPerDay) / secondsPerHour

	battery := d.battery0 - d.drain*days
	if d.solar {
		battery += 0.05 * math.Sin(2*math.Pi*(hour-10)/24)
	}
	if battery <= 0.02 {
		d.dead = true
		s.stats.dead++
		return civic.Reading{}, false
	}
	battery = math.Min(1, battery)
	s.faultsFor(d, b, day)
	s.stats.readings++
	if uLoss < s.faults.Loss {
		s.stats.lost++
		return civic.Reading{}, false
	}

	// Fill as the sensor sees it.
	stuck := t >= d.stuckFrom && t < d.stuckTo || s.eventOn(EventStuck, d.bin, t)
	fire := t >= d.fireFrom && t < d.fireTo
	firePeak, fireFrom := d.firePeak, d.fireFrom
	if !fire {
		if e := s.eventAt(EventFire, d.bin, t); e != nil {
			fire, firePeak, fireFrom = true, 60+float64(d.bin%80), e.start
		}
	}
	var fill, dist float64
	switch {
	case stuck:
		if !d.held {
			d.held, d.heldFill, d.heldDist = true, d.lastFill, d.lastDist
		}
		fill, dist = d.heldFill, d.heldDist
	case d.kind == kindBigbelly:
		d.held = false
		fill = b.fill
	default:
		d.held = false
		sigma := 0.025 // ultrasonic: echoes off an uneven surface
		if d.kind == kindLaser {
			sigma = 0.008
		}
		dist = d.offsetMM + d.depthMM*(1-b.fill) + nFill*sigma*d.depthMM
		if d.kind == kindUltrasonic && uZero < s.faults.ZeroReading {
			dist = d.offsetMM + d.depthMM // the echo of the bottom: an empty bin
			s.stats.zero++
		}
		dist = math.Round(math.Max(0, dist))
		fill = math.Min(1.1, math.Max(0, 1-(dist-d.offsetMM)/d.depthMM))
	}
	d.lastFill, d.lastDist = fill, dist

	temp := ambientC(int(time.Unix(local, 0).UTC().YearDay()), hour) + d.tempOff + 0.4*nTemp
	if fire {
		// The heat builds over ten minutes; the sensor raises its fire
		// flag from fireAlarmC.
		ramp := math.Min(1, float64(t-fireFrom)/600)
		temp += firePeak * math.Max(ramp, 0.3)
		fire = temp >= fireAlarmC
	}
	rssi := math.Round(math.Max(-140, math.Min(-30, d.rssi0+3*nRSSI)))

	a := &s.alloc
	rd := civic.Reading{
		Device:       d.id,
		Time:         time.Unix(t, 0).UTC(),
		Fill:         a.float(scaleFill(fill, d.scale)),
		TemperatureC: a.float(math.Round(temp*10) / 10),
		Battery:      a.float(math.Round(battery*100) / 100),
		Fire:         a.bool(fire),
		DoorOpen:     a.bool(false),
		RSSI:         a.float(rssi),
	}
	if d.kind == kindBigbelly {
		rd.Compactions = a.int(d.compactions0 + int(b.loose/(b.capL/CompactionRatio/2)))
		return rd, true
	}
	rd.DistanceMM = a.float(dist)
	tilt := math.Max(0, d.tilt0+0.3*nTilt)
	if t >= d.tiltFrom && t < d.tiltTo {
		tilt = d.tiltDeg + 0.3*nTilt // knocked over
	}
	rd.TiltDeg = a.float(math.Round(tilt*10) / 10)
	rd.SNR = a.float(math.Round(math.Max(-20, math.Min(15, (rssi+122)/4+1.5*nSNR))*4) / 4)
	return rd, true
}

// fireAlarmC is the temperature from which a sensor reports a fire.
const fireAlarmC = 50

// scaleFill converts a fraction to the value a sensor on scale sends:
// fractions to 3 decimals, whole percent, Bigbelly levels to 1 decimal.
func scaleFill(f float64, scale civic.FillScale) float64 {
	switch scale {
	case civic.ScalePercent:
		return math.Round(f * 100)
	case civic.ScaleBigbelly:
		return math.Round(f*100) / 10
	}
	return math.Round(f*1000) / 1000
}

// eventOn reports whether an added event of kind k covers bin at t.
func (s *Sensors) eventOn(k EventKind, bin int, t int64) bool {
	return s.eventAt(k, bin, t) != nil
}

func (s *Sensors) eventAt(k EventKind, bin int, t int64) *event {
	for i := range s.events {
		e := &s.events[i]
		if e.Kind == k && e.bin == bin && t >= e.start && t < e.end {
			return e
		}
	}
	return nil
}

// slab hands out pointers into large arrays, so that the measurements of
// millions of readings cost a few allocations instead of millions.
type slab struct {
	f []float64
	b []bool
	i []int
}

const slabSize = 4096

func (a *slab) float(v float64) *float64 {
	if len(a.f) == cap(a.f) {
		a.f = make([]float64, 0, slabSize)
	}
	a.f = append(a.f, v)
	return &a.f[len(a.f)-1]
}

func (a *slab) bool(v bool) *bool {
	if len(a.b) == cap(a.b) {
		a.b = make([]bool, 0, slabSize)
	}
	a.b = append(a.b, v)
	return &a.b[len(a.b)-1]
}

func (a *slab) int(v int) *int {
	if len(a.i) == cap(a.i) {
		a.i = make([]int, 0, slabSize)
	}
	a.i = append(a.i, v)
	return &a.i[len(a.i)-1]
}
