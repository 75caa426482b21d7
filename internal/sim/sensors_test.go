package sim_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/sim"
)

var noFaults = &sim.Faults{}

func quantum(s civic.FillScale) float64 {
	switch s {
	case civic.ScalePercent:
		return 1
	case civic.ScaleBigbelly:
		return 0.1
	}
	return 0.001
}

func devicesByID(c *sim.City) map[string]*civic.Device {
	m := make(map[string]*civic.Device, len(c.Devices))
	for i := range c.Devices {
		m[c.Devices[i].ID] = &c.Devices[i]
	}
	return m
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func TestProfiles(t *testing.T) {
	for name, p := range map[string]*[sim.HoursPerWeek]float64{"commercial": &sim.CommercialProfile, "residential": &sim.ResidentialProfile} {
		sum := 0.0
		for _, v := range p {
			sum += v
		}
		if math.Abs(sum/sim.HoursPerWeek-1) > 1e-9 {
			t.Errorf("%s profile averages %g, want 1", name, sum/sim.HoursPerWeek)
		}
		for d := range 7 {
			if v := p[d*24+3]; v > 0.1 {
				t.Errorf("%s profile at 03:00 on day %d is %g, want near zero", name, d, v)
			}
		}
	}
	mon := time.Date(2026, 1, 5, 0, 30, 0, 0, sim.DefaultLocation)
	for _, tc := range []struct {
		t    time.Time
		want int
	}{
		{mon, 0},
		{mon.Add(13 * time.Hour), 13},
		{mon.Add(6*24*time.Hour + 23*time.Hour), 167},
		{mon.Add(7 * 24 * time.Hour), 0},
	} {
		if got := sim.HourOfWeek(tc.t.UTC(), sim.DefaultLocation); got != tc.want {
			t.Errorf("HourOfWeek(%s) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

// TestRateSpread checks the fill rates span more than an order of
// magnitude: busy bins fill in hours, quiet ones in days.
func TestRateSpread(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Seed: 1})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 2})
	var all []float64
	for _, b := range c.Bins {
		r := s.MeanRate(b.ID)
		if !(r > 0) {
			t.Fatalf("bin %s: mean rate %g", b.ID, r)
		}
		all = append(all, r)
	}
	if ratio := percentile(all, 0.95) / percentile(all, 0.05); ratio < 10 {
		t.Errorf("95th/5th percentile of fill rates = %.1f, want > 10", ratio)
	}

	// Empty at 07:00 on a Monday: the busiest downtown and corridor bins
	// are full within hours, most outskirts bins are not after three days.
	monday := c.Params.Start.Add(7 * time.Hour)
	fillAfter := func(id string, hours int) float64 {
		f := 0.0
		for q := range 4 * hours {
			f += s.TrueRate(id, monday.Add(time.Duration(q)*15*time.Minute+7*time.Minute)) / 4
		}
		return f
	}
	var busy, busyDay, quiet, quietFull int
	for i, b := range c.Bins {
		switch c.Sites[i].Area {
		case sim.AreaOutskirts:
			quiet++
			if fillAfter(b.ID, 72) >= 1 {
				quietFull++
			}
		default:
			if f := fillAfter(b.ID, 24); f >= 1 {
				busyDay++
				if fillAfter(b.ID, 12) >= 1 {
					busy++
				}
			}
		}
	}
	t.Logf("from empty at 07:00 on a Monday, %d bins are full by 19:00 and %d by 07:00 on Tuesday; %d of %d outskirts bins are full by Thursday",
		busy, busyDay, quietFull, quiet)
	if busy < 4 || busyDay < 8 {
		t.Errorf("only %d downtown and corridor bins fill up between 07:00 and 19:00 on a Monday, %d within 24 h", busy, busyDay)
	}
	if quietFull > quiet/4 {
		t.Errorf("%d of %d outskirts bins fill up within 3 days, want most to take longer", quietFull, quiet)
	}
	if !math.IsNaN(s.MeanRate("nope")) || !math.IsNaN(s.TrueRate("nope", c.Params.Start)) || !math.IsNaN(s.TrueFill("nope")) {
		t.Error("unknown bins should give NaN")
	}
}

// TestWeeklyRhythm checks weekday/weekend and day/night differences of the
// true rates.
func TestWeeklyRhythm(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 300, Seed: 1})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 2, StreetFairWeeks: -1})
	loc := c.Params.Location
	for _, tc := range []struct {
		area             sim.Area
		minRatio, maxRat float64 // weekday / weekend mean rate
	}{
		{sim.AreaDowntown, 1.3, 10},
		{sim.AreaOutskirts, 0, 0.95},
	} {
		var weekday, weekend, night, all float64
		var nWD, nWE, nN, nAll int
		for i, b := range c.Bins {
			if c.Sites[i].Area != tc.area {
				continue
			}
			for h := range 4 * sim.HoursPerWeek {
				at := c.Params.Start.Add(time.Duration(h)*time.Hour + 30*time.Minute)
				r := s.TrueRate(b.ID, at) / s.MeanRate(b.ID)
				how := sim.HourOfWeek(at, loc)
				if how >= 5*24 {
					weekend += r
					nWE++
				} else {
					weekday += r
					nWD++
				}
				if hr := at.In(loc).Hour(); hr >= 2 && hr < 5 {
					night += r
					nN++
				}
				all += r
				nAll++
			}
		}
		ratio := (weekday / float64(nWD)) / (weekend / float64(nWE))
		if ratio < tc.minRatio || ratio > tc.maxRat {
			t.Errorf("%s: weekday/weekend rate ratio %.2f, want in [%g, %g]", tc.area, ratio, tc.minRatio, tc.maxRat)
		}
		if n := night / float64(nN); n > 0.1 {
			t.Errorf("%s: 02:00-05:00 rate is %.2f of the mean, want near zero", tc.area, n)
		}
		if m := all / float64(nAll); math.Abs(m-1) > 0.1 {
			t.Errorf("%s: TrueRate averages %.2f of MeanRate over 4 weeks, want about 1", tc.area, m)
		}
	}
}

// TestTrueRateIntegrates checks that TrueFill moves by the integral of
// TrueRate while a bin is neither emptied nor full.
func TestTrueRateIntegrates(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 200, Seed: 3})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 4, Faults: noFaults})
	t0 := s.Now()
	before := make([]float64, len(c.Bins))
	for i, b := range c.Bins {
		before[i] = s.TrueFill(b.ID)
	}
	for h := 1; h <= 36; h++ {
		s.Step(t0.Add(time.Duration(h) * time.Hour))
	}
	checked := 0
	for i, b := range c.Bins {
		after := s.TrueFill(b.ID)
		if after >= 1 {
			continue
		}
		sum := 0.0
		for m := range 36 * 60 {
			sum += s.TrueRate(b.ID, t0.Add(time.Duration(m)*time.Minute)) / 60
		}
		if got := after - before[i]; math.Abs(got-sum) > 1e-9+1e-9*sum {
			t.Errorf("bin %s: fill rose by %.6f, TrueRate integrates to %.6f", b.ID, got, sum)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d of %d bins not full after 36 h", checked, len(c.Bins))
	}
}

// TestReadings checks what sensors send: one uplink per device per
// interval, in order, on the device's scale, accepted by Normalize.
func TestReadings(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 300, Seed: 5})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 6})
	start := s.Now()
	until := start.Add(24 * time.Hour)
	rs := s.Step(until)
	if !s.Now().Equal(until) {
		t.Errorf("Now = %s after Step(%s)", s.Now(), until)
	}
	devs := devicesByID(c)
	perDevice := map[string]int{}
	for i := range rs {
		r := rs[i]
		d, ok := devs[r.Device]
		if !ok {
			t.Fatalf("reading from unknown device %q", r.Device)
		}
		perDevice[r.Device]++
		if !r.Time.After(start) || r.Time.After(until) || r.Time.Location() != time.UTC || r.Time.Nanosecond() != 0 {
			t.Fatalf("reading time %s outside (%s, %s] or not whole UTC seconds", r.Time, start, until)
		}
		if i > 0 {
			p := rs[i-1]
			if r.Time.Before(p.Time) || r.Time.Equal(p.Time) && r.Device <= p.Device {
				t.Fatalf("readings out of order: %s %s then %s %s", p.Time, p.Device, r.Time, r.Device)
			}
		}
		if r.Fill == nil || r.Battery == nil || r.TemperatureC == nil || r.RSSI == nil || r.Fire == nil {
			t.Fatalf("reading lacks a measurement: %+v", r)
		}
		if q := quantum(d.FillScale); math.Abs(*r.Fill/q-math.Round(*r.Fill/q)) > 1e-6 {
			t.Errorf("device %s (%s) sent fill %g, not a multiple of %g", d.ID, d.FillScale, *r.Fill, q)
		}
		switch d.Kind {
		case "bigbelly":
			if r.Compactions == nil || r.DistanceMM != nil {
				t.Errorf("Bigbelly reading without compactions or with a distance: %+v", r)
			}
		default:
			if r.DistanceMM == nil || r.SNR == nil || r.TiltDeg == nil || r.Compactions != nil {
				t.Errorf("%s reading without distance, SNR or tilt: %+v", d.Kind, r)
			}
		}
		raw := *r.Fill
		if err := r.Normalize(d.FillScale, until); err != nil {
			t.Fatalf("reading %+v (raw fill %g %s) does not normalize: %v", r, raw, d.FillScale, err)
		}
	}
	for _, d := range c.Devices {
		want := 86400 / d.ExpectedInterval
		if got := perDevice[d.ID]; got < want*85/100 || got > want+1 {
			t.Errorf("device %s sent %d uplinks in a day, want about %d", d.ID, got, want)
		}
	}
	if rs := s.Step(until); rs != nil {
		t.Errorf("Step to Now returned %d readings, want none", len(rs))
	}
}

// TestReadingsDeterministic checks the same seed gives the same readings,
// however time is stepped, and another seed other readings.
func TestReadingsDeterministic(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 200, Seed: 7})
	p := sim.SensorParams{Seed: 8, Policy: sim.Policy{Kind: sim.PolicyThreshold}}
	a := sim.NewSensors(c, p)
	b := sim.NewSensors(c, p)
	start := a.Now()
	ra := a.Step(start.Add(48 * time.Hour))
	var rb []civic.Reading
	for m := 7; m <= 48*60; m += 7 {
		rb = append(rb, b.Step(start.Add(time.Duration(m)*time.Minute))...)
	}
	rb = append(rb, b.Step(start.Add(48*time.Hour))...)
	if len(ra) != len(rb) {
		t.Fatalf("one 48 h step gave %d readings, 7-minute steps %d", len(ra), len(rb))
	}
	devs := devicesByID(c)
	for i := range ra {
		x, y := ra[i], rb[i]
		if x.Device != y.Device || !x.Time.Equal(y.Time) {
			t.Fatalf("reading %d: %s %s vs %s %s", i, x.Device, x.Time, y.Device, y.Time)
		}
		if q := quantum(devs[x.Device].FillScale); math.Abs(*x.Fill-*y.Fill) > q*1.001 {
			t.Errorf("reading %d of %s at %s: fill %g vs %g", i, x.Device, x.Time, *x.Fill, *y.Fill)
		}
		if *x.TemperatureC != *y.TemperatureC || *x.Battery != *y.Battery || *x.Fire != *y.Fire {
			t.Errorf("reading %d differs: %+v vs %+v", i, x, y)
		}
	}
	for _, bin := range c.Bins {
		if fa, fb := a.TrueFill(bin.ID), b.TrueFill(bin.ID); math.Abs(fa-fb) > 1e-9 {
			t.Errorf("bin %s: true fill %g vs %g", bin.ID, fa, fb)
		}
	}

	other := sim.NewSensors(c, sim.SensorParams{Seed: 9}).Step(start.Add(48 * time.Hour))
	same := 0
	for i := range min(len(ra), len(other)) {
		if ra[i].Device == other[i].Device && ra[i].Time.Equal(other[i].Time) {
			same++
		}
	}
	if same > len(ra)/10 {
		t.Errorf("seeds 8 and 9: %d of %d readings at the same device and time", same, len(ra))
	}
}

func TestEmpty(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 100, Seed: 10})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 11, Faults: noFaults})
	now := s.Now().Add(30 * time.Hour)
	s.Step(now)
	id := c.Bins[0].ID
	before := s.TrueFill(id)
	got, err := s.Empty(id, now)
	if err != nil || math.Abs(got-before) > 1e-12 {
		t.Fatalf("Empty = %g, %v; want %g, nil", got, err, before)
	}
	if f := s.TrueFill(id); f < 0 || f > 0.02 {
		t.Errorf("fill after emptying = %g, want a residue under 2%%", f)
	}
	// Emptied an hour ago: what came since is back in.
	id2 := c.Bins[1].ID
	f2 := s.TrueFill(id2)
	since := 0.0
	for m := range 60 {
		since += s.TrueRate(id2, now.Add(-time.Hour+time.Duration(m)*time.Minute)) / 60
	}
	if _, err := s.Empty(id2, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if f := s.TrueFill(id2); f < since-1e-6 || f > since+0.02 || (f2 < 1 && f > f2) {
		t.Errorf("fill after emptying an hour ago = %g, want %g plus a residue", f, since)
	}
	for _, tc := range []struct {
		bin  string
		at   time.Time
		kind civic.Kind
	}{
		{"nope", now, civic.NotFound},
		{id, now.Add(sim.MaxEmptyAhead + time.Second), civic.Invalid},
		{id, c.Params.Start.Add(-time.Hour), civic.Invalid},
	} {
		if _, err := s.Empty(tc.bin, tc.at); civic.KindOf(err) != tc.kind {
			t.Errorf("Empty(%q, %s) = %v, want kind %s", tc.bin, tc.at, err, tc.kind)
		}
	}
	// A check-off a little after Now, between two Steps.
	id3 := c.Bins[2].ID
	if _, err := s.Empty(id3, now.Add(20*time.Second)); err != nil {
		t.Fatalf("Empty 20 s after Now: %v", err)
	}
	if f := s.TrueFill(id3); f > 0.02 {
		t.Errorf("fill after emptying ahead of Now = %g", f)
	}
	// The sensor sees it: the bin's next readings are low.
	dev := c.Devices[0]
	rs := s.Step(now.Add(time.Duration(dev.ExpectedInterval+60) * time.Second))
	for _, r := range rs {
		if r.Device == dev.ID {
			if err := r.Normalize(dev.FillScale, s.Now()); err != nil {
				t.Fatal(err)
			}
			if *r.Fill > 0.15 {
				t.Errorf("first reading after emptying shows fill %g", *r.Fill)
			}
		}
	}
}

func TestCompaction(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 200, Seed: 12})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 13, Policy: sim.Policy{Kind: sim.PolicyFixed}})
	rs := s.Step(s.Now().Add(72 * time.Hour))
	first, last := map[string]int{}, map[string]int{}
	for _, r := range rs {
		if r.Compactions == nil {
			continue
		}
		if prev, ok := last[r.Device]; ok && *r.Compactions < prev {
			t.Fatalf("device %s: compactions went from %d to %d", r.Device, prev, *r.Compactions)
		}
		if _, ok := first[r.Device]; !ok {
			first[r.Device] = *r.Compactions
		}
		last[r.Device] = *r.Compactions
	}
	if len(first) < 20 {
		t.Fatalf("only %d devices report compactions", len(first))
	}
	grew := 0
	for d, n := range last {
		if n > first[d] {
			grew++
		}
	}
	if grew < len(first)/2 {
		t.Errorf("compaction counters grew on %d of %d stations in 3 days", grew, len(first))
	}
}

func TestStreetFair(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 300, Seed: 14})
	plain := sim.NewSensors(c, sim.SensorParams{Seed: 15, StreetFairWeeks: -1})
	auto := sim.NewSensors(c, sim.SensorParams{Seed: 15, StreetFairWeeks: 1})
	start := c.Params.Start
	fairs := auto.Events(start, start.Add(14*24*time.Hour))
	if len(fairs) != 2 {
		t.Fatalf("weekly street fairs over two weeks: got %+v", fairs)
	}
	loc := c.Params.Location
	for _, f := range fairs {
		if f.Kind != sim.EventStreetFair || f.Start.In(loc).Weekday() != time.Saturday || f.Start.In(loc).Hour() != 10 ||
			f.End.Sub(f.Start) != 10*time.Hour || f.Factor != sim.DefaultFairFactor {
			t.Errorf("unexpected fair %+v", f)
		}
	}
	if got := plain.Events(start, start.Add(60*24*time.Hour)); len(got) != 0 {
		t.Errorf("StreetFairWeeks -1 still lists %v", got)
	}
	f := fairs[0]
	noon := f.Start.Add(2 * time.Hour)
	for _, b := range c.Bins {
		ratio := auto.TrueRate(b.ID, noon) / plain.TrueRate(b.ID, noon)
		want := 1.0
		if b.ZoneID == f.Zone {
			want = sim.DefaultFairFactor
		}
		if math.Abs(ratio-want) > 1e-9 {
			t.Errorf("bin %s in %s: rate ratio %g at the fair in %s, want %g", b.ID, b.ZoneID, ratio, f.Zone, want)
		}
		if r := auto.TrueRate(b.ID, f.End.Add(time.Hour)) / plain.TrueRate(b.ID, f.End.Add(time.Hour)); math.Abs(r-1) > 1e-9 {
			t.Errorf("bin %s: the fair lasts past its end", b.ID)
		}
	}

	// An added fair: a zone's bins fill faster, visibly.
	zone := c.Zones[0].ID
	day := start.Add(24 * time.Hour)
	if err := plain.AddEvent(sim.Event{Kind: sim.EventStreetFair, Zone: zone, Start: day, End: day.Add(24 * time.Hour), Factor: 5}); err != nil {
		t.Fatal(err)
	}
	base := sim.NewSensors(c, sim.SensorParams{Seed: 15, StreetFairWeeks: -1})
	plain.Step(day.Add(30 * time.Hour))
	base.Step(day.Add(30 * time.Hour))
	faster := 0
	for _, b := range c.Bins {
		if b.ZoneID == zone && plain.TrueFill(b.ID) > base.TrueFill(b.ID)+0.01 {
			faster++
		}
		if b.ZoneID != zone && plain.TrueFill(b.ID) != base.TrueFill(b.ID) {
			t.Errorf("bin %s outside the fair filled differently", b.ID)
		}
	}
	if faster == 0 {
		t.Error("no bin in the fair's zone filled faster")
	}
	if n := len(plain.Events(day, day.Add(time.Hour))); n != 1 {
		t.Errorf("Events lists %d events during the added fair, want 1", n)
	}
}

func TestAddEventErrors(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 10, Seed: 1})
	s := sim.NewSensors(c, sim.SensorParams{})
	t0 := c.Params.Start
	for _, tc := range []struct {
		e     sim.Event
		field string
	}{
		{sim.Event{Kind: "flood", Bin: c.Bins[0].ID, Start: t0, End: t0.Add(time.Hour)}, "kind"},
		{sim.Event{Kind: sim.EventFire, Bin: "nope", Start: t0, End: t0.Add(time.Hour)}, "bin"},
		{sim.Event{Kind: sim.EventStreetFair, Zone: "nope", Start: t0, End: t0.Add(time.Hour)}, "zone"},
		{sim.Event{Kind: sim.EventStreetFair, Zone: c.Zones[0].ID, Start: t0, End: t0.Add(time.Hour), Factor: -1}, "factor"},
		{sim.Event{Kind: sim.EventStuck, Bin: c.Bins[0].ID, Start: t0, End: t0}, "end"},
	} {
		err := s.AddEvent(tc.e)
		if !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tc.field {
			t.Errorf("AddEvent(%+v) = %v, want invalid %s", tc.e, err, tc.field)
		}
	}
}

func TestFireAndStuckEvents(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 50, Seed: 16})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 17, Faults: noFaults})
	t0 := s.Now()
	fireBin, stuckBin := c.Bins[3], c.Bins[4]
	fireDev, stuckDev := c.Devices[3].ID, c.Devices[4].ID
	fs, fe := t0.Add(5*time.Hour), t0.Add(7*time.Hour)
	ss, se := t0.Add(10*time.Hour), t0.Add(20*time.Hour)
	if err := s.AddEvent(sim.Event{Kind: sim.EventFire, Bin: fireBin.ID, Start: fs, End: fe}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(sim.Event{Kind: sim.EventStuck, Bin: stuckBin.ID, Start: ss, End: se}); err != nil {
		t.Fatal(err)
	}
	var fires, stuck int
	var stuckFills []float64
	for _, r := range s.Step(t0.Add(24 * time.Hour)) {
		if *r.Fire {
			fires++
			if r.Device != fireDev || r.Time.Before(fs) || !r.Time.Before(fe) {
				t.Errorf("unexpected fire: %s at %s", r.Device, r.Time)
			}
			if *r.TemperatureC < 50 {
				t.Errorf("fire reading at %g °C", *r.TemperatureC)
			}
		} else if r.Device == fireDev && !r.Time.Before(fs.Add(10*time.Minute)) && r.Time.Before(fe) {
			t.Errorf("no fire flag at %s during the fire (%g °C)", r.Time, *r.TemperatureC)
		}
		if r.Device == stuckDev && !r.Time.Before(ss) && r.Time.Before(se) {
			stuck++
			stuckFills = append(stuckFills, *r.Fill)
		}
	}
	if fires == 0 {
		t.Error("no fire readings")
	}
	if stuck < 20 {
		t.Fatalf("only %d readings from the stuck sensor", stuck)
	}
	for _, f := range stuckFills {
		if f != stuckFills[0] {
			t.Fatalf("stuck sensor's fill changed: %v", stuckFills)
		}
	}
}

// ultrasonicRuns counts episodes of at least n consecutive identical
// (fill, distance) readings per LoRaWAN device: the signature of a stuck
// sensor, since their noise never repeats a distance for that long.
func stuckRuns(rs []civic.Reading, n int) int {
	type run struct {
		fill, dist float64
		len        int
	}
	runs := map[string]*run{}
	episodes := 0
	for _, r := range rs {
		if r.DistanceMM == nil {
			continue
		}
		cur := runs[r.Device]
		if cur != nil && cur.fill == *r.Fill && cur.dist == *r.DistanceMM {
			cur.len++
			if cur.len == n {
				episodes++
			}
			continue
		}
		runs[r.Device] = &run{*r.Fill, *r.DistanceMM, 1}
	}
	return episodes
}

// TestFaultRates checks each kind of fault appears at its configured rate,
// both in the injection counters and in the readings.
func TestFaultRates(t *testing.T) {
	const days = 8
	c := sim.GenerateCity(sim.CityParams{Bins: 500, Seed: 18})
	f := sim.Faults{ZeroReading: 0.05, Loss: 0.05, StuckPerDay: 0.05, DyingBattery: 0.1, FirePerDay: 0.01}
	s := sim.NewSensors(c, sim.SensorParams{Seed: 19, Faults: &f, Policy: sim.Policy{Kind: sim.PolicyFixed}})
	start := s.Now()
	var rs []civic.Reading
	for d := 1; d <= days; d++ {
		rs = append(rs, s.Step(start.Add(time.Duration(d)*24*time.Hour))...)
	}
	st := s.FaultStats()
	devs := devicesByID(c)
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s: got %.4g, want %.4g ± %.0f%%", name, got, want, 100*tol)
		}
	}
	near("lost uplink share", float64(st.Lost)/float64(st.Readings), f.Loss, 0.1)

	var ultrasonic, zeros, loraDevs int
	for _, r := range rs {
		if devs[r.Device].Kind == "ultrasonic" {
			ultrasonic++
			if *r.Fill == 0 {
				zeros++
			}
		}
	}
	for _, d := range c.Devices {
		if d.DevEUI != "" {
			loraDevs++
		}
	}
	near("zero reading share (injected)", float64(st.Zero)/float64(ultrasonic), f.ZeroReading, 0.1)
	if zeros < st.Zero*9/10 {
		t.Errorf("only %d zero fills in the ultrasonic readings, %d injected", zeros, st.Zero)
	}

	deviceDays := float64(len(c.Devices) * days)
	near("stuck episodes (injected)", float64(st.Stuck), deviceDays*f.StuckPerDay, 0.25)
	near("stuck episodes (seen on LoRaWAN sensors)", float64(stuckRuns(rs, 12)), float64(loraDevs*days)*f.StuckPerDay, 0.4)

	fireEpisodes := 0
	burning := map[string]bool{}
	for _, r := range rs {
		if *r.Fire && !burning[r.Device] {
			fireEpisodes++
		}
		burning[r.Device] = *r.Fire
	}
	near("fires (injected)", float64(st.Fires), deviceDays*f.FirePerDay, 0.4)
	near("fires (seen)", float64(fireEpisodes), deviceDays*f.FirePerDay, 0.4)

	near("dying batteries (injected)", float64(st.Dying), float64(len(c.Devices))*f.DyingBattery, 0.35)
	firstBat, lastBat := map[string]float64{}, map[string]float64{}
	lastTime := map[string]time.Time{}
	for _, r := range rs {
		if _, ok := firstBat[r.Device]; !ok {
			firstBat[r.Device] = *r.Battery
		}
		lastBat[r.Device] = *r.Battery
		lastTime[r.Device] = r.Time
	}
	dying := 0
	end := start.Add(days * 24 * time.Hour)
	for d, b := range firstBat {
		if b-lastBat[d] > 0.12 || end.Sub(lastTime[d]) > 2*time.Hour {
			dying++
		}
	}
	if dying != st.Dying {
		t.Errorf("%d devices lost over 12%% battery or went silent, %d were given failing batteries", dying, st.Dying)
	}
	if st.Dead == 0 {
		t.Error("no failing battery ran out in 8 days")
	}
}

func TestFaultDefaults(t *testing.T) {
	if d := sim.DefaultFaults(); d.ZeroReading <= 0 || d.Loss <= 0 || d.StuckPerDay <= 0 || d.DyingBattery <= 0 || d.FirePerDay <= 0 {
		t.Errorf("DefaultFaults has a zero rate: %+v", d)
	}
	c := sim.GenerateCity(sim.CityParams{Bins: 300, Seed: 20})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 21, Faults: noFaults})
	rs := s.Step(s.Now().Add(48 * time.Hour))
	st := s.FaultStats()
	if st.Lost+st.Zero+st.Stuck+st.Fires+st.Dying+st.Dead != 0 {
		t.Errorf("faults with a zero Faults: %+v", st)
	}
	for _, r := range rs {
		if *r.Fire || *r.Battery < 0.3 {
			t.Fatalf("fault-free sensor sent %+v", r)
		}
	}
	s = sim.NewSensors(c, sim.SensorParams{Seed: 21})
	s.Step(s.Now().Add(48 * time.Hour))
	if st := s.FaultStats(); st.Lost == 0 || st.Zero == 0 {
		t.Errorf("default faults inject nothing: %+v", st)
	}
}

func TestPolicyThreshold(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 200, Seed: 22})
	var colls []sim.Collection
	s := sim.NewSensors(c, sim.SensorParams{Seed: 23, Policy: sim.Policy{Kind: sim.PolicyThreshold, Threshold: 0.7},
		OnCollect: func(cl sim.Collection) { colls = append(colls, cl) }})
	s.Step(s.Now().Add(7 * 24 * time.Hour))
	if len(colls) < 50 {
		t.Fatalf("only %d collections in a week", len(colls))
	}
	loc := c.Params.Location
	for _, cl := range colls {
		if cl.Fill < 0.7 {
			t.Errorf("collected %s at fill %g, under the threshold", cl.BinID, cl.Fill)
		}
		if h := cl.Time.In(loc).Hour(); h < 6 || h >= 14 {
			t.Errorf("collected %s at %s, outside the 06:00-14:00 rounds", cl.BinID, cl.Time.In(loc))
		}
	}
	if st := s.FaultStats(); st.Collections != len(colls) {
		t.Errorf("OnCollect called %d times for %d collections", len(colls), st.Collections)
	}
	if d := s.ScheduleDays(c.Bins[0].ID); d != -1 {
		t.Errorf("ScheduleDays under a threshold policy = %d, want -1", d)
	}
}

func TestSensorsPolicyNone(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 50, Seed: 24})
	s := sim.NewSensors(c, sim.SensorParams{Seed: 25})
	prev := map[string]float64{}
	for d := 1; d <= 5; d++ {
		s.Step(c.Params.Start.Add(time.Duration(d) * 24 * time.Hour))
		for _, b := range c.Bins {
			f := s.TrueFill(b.ID)
			if f < prev[b.ID] || f > 1 {
				t.Fatalf("bin %s: fill went from %g to %g without collections", b.ID, prev[b.ID], f)
			}
			prev[b.ID] = f
		}
	}
	if st := s.FaultStats(); st.Collections != 0 {
		t.Errorf("%d automatic collections under the zero policy", st.Collections)
	}
	if !strings.HasPrefix(c.Bins[0].ID, "B-") {
		t.Errorf("bin id %q", c.Bins[0].ID)
	}
}

// TestSetPolicy backfills under a fixed schedule, then hands collections
// over to the caller, as the demo server does.
func TestSetPolicy(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 100, Seed: 26})
	n := 0
	s := sim.NewSensors(c, sim.SensorParams{Seed: 27, Policy: sim.Policy{Kind: sim.PolicyFixed},
		OnCollect: func(sim.Collection) { n++ }})
	if d := s.ScheduleDays(c.Bins[0].ID); d < 0 || d > 7 {
		t.Errorf("ScheduleDays = %d under a fixed schedule", d)
	}
	s.Step(s.Now().Add(5 * 24 * time.Hour))
	if n == 0 {
		t.Fatal("no collections in 5 days under a fixed schedule")
	}
	if err := s.SetPolicy(sim.Policy{}); err != nil {
		t.Fatal(err)
	}
	before := n
	s.Step(s.Now().Add(3 * 24 * time.Hour))
	if n != before {
		t.Errorf("%d collections after switching to no policy", n-before)
	}
	if err := s.SetPolicy(sim.Policy{Kind: sim.PolicyThreshold, Threshold: 0.5}); err != nil {
		t.Fatal(err)
	}
	s.Step(s.Now().Add(2 * 24 * time.Hour))
	if n == before {
		t.Error("no collections after switching to a threshold policy")
	}
	if err := s.SetPolicy(sim.Policy{Kind: "sometimes"}); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("SetPolicy with an unknown kind = %v, want invalid", err)
	}
}

// TestHandBuiltCity runs sensors on assets that did not come from
// GenerateCity, as the what-if simulator does with a city's real assets.
func TestHandBuiltCity(t *testing.T) {
	g := sim.GenerateCity(sim.CityParams{Bins: 20, Seed: 28})
	c := &sim.City{Bins: g.Bins, Devices: append(g.Devices, civic.Device{ID: "orphan", BinID: "nope", FillScale: civic.ScalePercent, ExpectedInterval: 900})}
	s := sim.NewSensors(c, sim.SensorParams{Seed: 29})
	if !s.Now().Equal(sim.DefaultStart) {
		t.Errorf("Now = %s, want DefaultStart", s.Now())
	}
	rs := s.Step(s.Now().Add(6 * time.Hour))
	if len(rs) < 20*20 {
		t.Errorf("%d readings from 20 sensors in 6 hours", len(rs))
	}
	for _, r := range rs {
		if r.Device == "orphan" {
			t.Fatal("a device on no bin sent readings")
		}
	}
	if ev := s.Events(sim.DefaultStart, sim.DefaultStart.Add(60*24*time.Hour)); len(ev) != 0 {
		t.Errorf("street fairs in a city without zones: %v", ev)
	}
	if r := s.MeanRate(c.Bins[0].ID); math.Abs(r-sim.DefaultSite.Activity/c.Bins[0].CapacityL/24) > 2*r {
		t.Errorf("mean rate %g for a default site", r)
	}
	if i, ok := c.BinIndex(c.Bins[7].ID); !ok || i != 7 {
		t.Errorf("BinIndex on a hand-built city = %d, %v", i, ok)
	}
}

// TestEmptiedBefore: a bin's last emptying before the start is as long
// before it as its starting fill took at its mean rate.
func TestEmptiedBefore(t *testing.T) {
	city := sim.GenerateCity(sim.CityParams{Bins: 50, Seed: 4})
	start := city.Params.Start
	s := sim.NewSensors(city, sim.SensorParams{Seed: 4, Start: start, Faults: &sim.Faults{}})
	for _, b := range city.Bins {
		at, ok := s.EmptiedBefore(b.ID)
		if !ok || !at.Before(start) {
			t.Fatalf("bin %s emptied before the start at %v (%v)", b.ID, at, ok)
		}
		want := s.TrueFill(b.ID) / s.MeanRate(b.ID) // hours
		if got := start.Sub(at).Hours(); math.Abs(got-want) > 1.0/3600+1e-9 {
			t.Errorf("bin %s emptied %.4f h before the start, want %.4f (fill %.3f at %.5f/h)", b.ID, got, want, s.TrueFill(b.ID), s.MeanRate(b.ID))
		}
	}
	if _, ok := s.EmptiedBefore("nope"); ok {
		t.Error("an unknown bin was emptied")
	}
}

// TestEmptyNotBefore: a collection dated before the simulation's clock
// happens at the clock instead, so no reading already sent contradicts it;
// one dated later happens then.
func TestEmptyNotBefore(t *testing.T) {
	city := sim.GenerateCity(sim.CityParams{Bins: 20, Seed: 5})
	start := city.Params.Start
	s := sim.NewSensors(city, sim.SensorParams{Seed: 5, Start: start, Faults: &sim.Faults{}})
	now := start.Add(36 * time.Hour)
	s.Step(now)
	id := city.Bins[0].ID
	full := s.TrueFill(id)
	at, before, err := s.EmptyNotBefore(id, now.Add(-time.Hour))
	if err != nil || !at.Equal(now) || math.Abs(before-full) > 1e-9 {
		t.Errorf("EmptyNotBefore an hour ago = %v, %.3f, %v; want %v, %.3f", at, before, err, now, full)
	}
	if f := s.TrueFill(id); f > 0.02 {
		t.Errorf("fill after EmptyNotBefore %.3f, want the residue", f)
	}
	later := now.Add(10 * time.Minute)
	if at, _, err := s.EmptyNotBefore(id, later); err != nil || !at.Equal(later) {
		t.Errorf("EmptyNotBefore in 10 minutes = %v, %v; want %v", at, err, later)
	}
	if _, _, err := s.EmptyNotBefore("nope", now); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("unknown bin: %v, want NotFound", err)
	}
}

// TestExactSites: a site marked Exact gives its bin exactly its Activity a
// day, and the other bins' draws do not change.
func TestExactSites(t *testing.T) {
	g := sim.GenerateCity(sim.CityParams{Bins: 30, Seed: 31})
	plain := sim.NewSensors(g, sim.SensorParams{Seed: 32})
	c := *g
	c.Sites = slices.Clone(g.Sites)
	c.Sites[3].Activity, c.Sites[3].Exact = 123, true
	exact := sim.NewSensors(&c, sim.SensorParams{Seed: 32})
	if r, want := exact.MeanRate(c.Bins[3].ID), 123/c.Bins[3].CapacityL/24; math.Abs(r-want) > 1e-12 {
		t.Errorf("exact site: mean rate %g, want %g", r, want)
	}
	for i, b := range c.Bins {
		if i != 3 && plain.MeanRate(b.ID) != exact.MeanRate(b.ID) {
			t.Fatalf("bin %d's rate changed with another bin's site", i)
		}
	}
}

// TestRhythmFit: fitted on a generated city's readings, the commercial
// weight comes out near each bin's true one, far nearer than guessing the
// middle.
func TestRhythmFit(t *testing.T) {
	city := sim.GenerateCity(sim.CityParams{Bins: 80, Seed: 12})
	fits := map[string]*sim.RhythmFit{}
	readings := sim.StoredHistory(city, sim.HistoryParams{Days: 28, Seed: 12})
	forecast.FillRates(readings, forecast.Options{Location: city.Params.Location}, func(bin string, from, to time.Time, rise float64) {
		f := fits[bin]
		if f == nil {
			f = &sim.RhythmFit{Loc: city.Params.Location}
			fits[bin] = f
		}
		f.Add(from, to, rise)
	})
	var errs, flat []float64
	for i, b := range city.Bins {
		f := fits[b.ID]
		if f == nil {
			continue
		}
		w, ok := f.Commercial()
		if !ok {
			continue
		}
		errs = append(errs, math.Abs(w-city.Sites[i].Commercial))
		flat = append(flat, math.Abs(0.5-city.Sites[i].Commercial))
	}
	if len(errs) < len(city.Bins)*3/4 {
		t.Fatalf("a weight for %d of %d bins", len(errs), len(city.Bins))
	}
	slices.Sort(errs)
	slices.Sort(flat)
	if med, guess := errs[len(errs)/2], flat[len(flat)/2]; med > 0.15 || med > guess/2 {
		t.Errorf("median error of the commercial weight %.3f, want at most 0.15 and half that of guessing 0.5 (%.3f)", med, guess)
	}
	var none sim.RhythmFit
	if _, ok := none.Commercial(); ok {
		t.Error("a weight from no rises")
	}
}
