package sim

import (
	"math"
	"time"
)

// HoursPerWeek is the length of an hour-of-week profile.
const HoursPerWeek = 7 * 24

// Hour-of-week profiles: how a bin's weekly mean fill rate is spread over
// the week, indexed by HourOfWeek. Each averages 1 over the week, so a bin's
// rate at an hour is its mean rate times the profile's value.
var (
	// CommercialProfile is for downtown and corridor bins: office hours,
	// lunch and evening peaks, quiet weekends.
	CommercialProfile = buildProfile(
		[24]float64{0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.3, 0.8, 1.4, 1.3, 1.2, 1.6, 2.2, 2.0, 1.4, 1.3, 1.5, 1.9, 1.6, 1.1, 0.8, 0.6, 0.4, 0.2},
		[24]float64{0.1, 0.06, 0.03, 0.02, 0.02, 0.03, 0.08, 0.2, 0.4, 0.7, 1.0, 1.3, 1.5, 1.5, 1.4, 1.3, 1.2, 1.2, 1.1, 1.0, 0.8, 0.6, 0.4, 0.2},
		0.75, 0.5)
	// ResidentialProfile is for outskirts bins: mornings and evenings on
	// weekdays, busy weekend days (parks, errands).
	ResidentialProfile = buildProfile(
		[24]float64{0.05, 0.02, 0.02, 0.02, 0.03, 0.1, 0.4, 0.9, 1.0, 0.7, 0.6, 0.7, 0.9, 0.8, 0.7, 0.8, 1.1, 1.4, 1.5, 1.3, 1.0, 0.7, 0.4, 0.15},
		[24]float64{0.05, 0.03, 0.02, 0.02, 0.02, 0.03, 0.1, 0.3, 0.7, 1.1, 1.5, 1.8, 1.9, 1.9, 1.8, 1.7, 1.6, 1.5, 1.3, 1.0, 0.8, 0.6, 0.4, 0.15},
		1.35, 1.25)
)

// buildProfile lays out a weekday and a weekend day shape, scales Saturday
// and Sunday relative to a weekday, and normalizes the week to mean 1.
func buildProfile(weekday, weekend [24]float64, sat, sun float64) [HoursPerWeek]float64 {
	var p [HoursPerWeek]float64
	sum := func(d [24]float64) float64 {
		s := 0.0
		for _, v := range d {
			s += v
		}
		return s
	}
	wd, we := sum(weekday), sum(weekend)
	total := 0.0
	for day := range 7 {
		for h := range 24 {
			v := weekday[h]
			switch day {
			case 5:
				v = weekend[h] / we * wd * sat
			case 6:
				v = weekend[h] / we * wd * sun
			}
			p[day*24+h] = v
			total += v
		}
	}
	for i := range p {
		p[i] *= HoursPerWeek / total
	}
	return p
}

// HourOfWeek returns the hour of the week of t in loc: 0 is Monday 00:00-01:00,
// 167 is Sunday 23:00-24:00.
func HourOfWeek(t time.Time, loc *time.Location) int {
	t = t.In(loc)
	day := (int(t.Weekday()) + 6) % 7 // Monday first
	return day*24 + t.Hour()
}

// ambientC is a plausible outdoor temperature for a mid-latitude city:
// a seasonal cycle peaking in late July and a daily cycle peaking at 15:00.
func ambientC(dayOfYear int, hour float64) float64 {
	season := 13 - 12*math.Cos(2*math.Pi*(float64(dayOfYear)-20)/365)
	return season + 5*math.Sin(2*math.Pi*(hour-9)/24)
}

// RhythmFit estimates a bin's Site.Commercial from how its fill rises
// fall over the hours of the week: the weight w for which rises follow
// w*CommercialProfile + (1-w)*ResidentialProfile times a constant rate,
// by least squares over the rate and w together. The zero value is ready
// for a city in UTC; set Loc for another time zone.
type RhythmFit struct {
	Loc *time.Location
	// Sums of the normal equations over the rises: r the residential
	// profile's integral over a rise's interval, d the commercial one's
	// less it, x the rise.
	rr, rd, dd, xr, xd float64
	n                  int
}

// Add counts a rise of the bin's fill between from and to.
func (f *RhythmFit) Add(from, to time.Time, rise float64) {
	if !to.After(from) || to.Sub(from) > 7*24*time.Hour {
		return // a week-long gap says nothing about the hours
	}
	loc := f.Loc
	if loc == nil {
		loc = time.UTC
	}
	var r, d float64
	for t := from; t.Before(to); {
		h := HourOfWeek(t, loc)
		lt := t.In(loc)
		next := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour()+1, 0, 0, 0, loc)
		if !next.After(t) { // a clock set back: the next hour is an hour on
			next = t.Add(time.Hour)
		}
		if next.After(to) {
			next = to
		}
		dt := next.Sub(t).Hours()
		r += ResidentialProfile[h] * dt
		d += (CommercialProfile[h] - ResidentialProfile[h]) * dt
		t = next
	}
	f.rr += r * r
	f.rd += r * d
	f.dd += d * d
	f.xr += rise * r
	f.xd += rise * d
	f.n++
}

// Commercial returns the fitted weight, within 0..1; ok is false when
// the rises cannot tell it (too few, or no rise at all).
func (f *RhythmFit) Commercial() (w float64, ok bool) {
	det := f.rr*f.dd - f.rd*f.rd
	if f.n < 24 || !(det > 1e-12*f.rr*f.dd) {
		return 0, false
	}
	u := (f.xr*f.dd - f.xd*f.rd) / det // the rate
	v := (f.rr*f.xd - f.rd*f.xr) / det // the rate times w
	if !(u > 0) {
		return 0, false
	}
	return math.Min(math.Max(v/u, 0), 1), true
}
