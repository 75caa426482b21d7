package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestProfileInverse checks that wallAt inverts tau and that tau advances
// by a week's worth of effective hours per week, for a bumpy profile.
func TestProfileInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pr := &profile{}
	for h := range pr.p {
		pr.p[h] = 0.05 + 3*rng.Float64()*rng.Float64()
	}
	pr.finish()
	if math.Abs(pr.cum[slots]-slots) > 1e-9 {
		t.Fatalf("week = %v effective hours, want %d", pr.cum[slots], slots)
	}
	base := float64(synthStart.Unix())
	for i := 0; i < 10000; i++ {
		w := base + rng.Float64()*90*86400
		tau := pr.tau(w)
		if back := pr.wallAt(tau); math.Abs(back-w) > 1e-3 {
			t.Fatalf("wallAt(tau(%v)) = %v", w, back)
		}
		if d := pr.tau(w+secondsPerWeek) - tau; math.Abs(d-slots) > 1e-6 {
			t.Fatalf("a week after %v is %v effective hours later", w, d)
		}
	}
}

// TestOverlap checks the hours given to each slot add up and land in the
// right slots.
func TestOverlap(t *testing.T) {
	// Saturday 23:30 to Sunday 01:15 UTC.
	a := float64(time.Date(2026, 1, 10, 23, 30, 0, 0, time.UTC).Unix())
	b := a + 1.75*secondsPerHour
	got := map[int]float64{}
	overlap(a, b, func(h int, hours float64) { got[h] += hours })
	want := map[int]float64{167: 0.5, 0: 1, 1: 0.25}
	for h, v := range want {
		if math.Abs(got[h]-v) > 1e-9 {
			t.Errorf("slot %d: %v hours, want %v", h, got[h], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("slots %v, want %v", got, want)
	}
}

// TestClockZone checks the wall clock of a zone with daylight saving time
// round-trips.
func TestClockZone(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	c := newClock(loc)
	if c.loc == nil {
		t.Fatal("New York's clock taken for a fixed offset")
	}
	for _, s := range []string{"2026-01-05T12:00:00Z", "2026-07-05T12:00:00Z", "2026-03-08T06:59:00Z", "2026-11-01T05:30:00Z"} {
		tm, _ := time.Parse(time.RFC3339, s)
		u := float64(tm.Unix())
		w := c.wall(u)
		local := tm.In(loc)
		_, want := hourIndex(w)
		if int(local.Weekday())*24+local.Hour() != want {
			t.Errorf("%s: slot %d, want %s", s, want, local.Format("Mon 15:04"))
		}
		if back := c.unix(w); back != u {
			t.Errorf("%s: unix(wall) = %v, want %v", s, back, u)
		}
	}
	if c := newClock(time.FixedZone("EST", -5*3600)); c.loc != nil || c.off != -5*3600 {
		t.Errorf("fixed zone clock = %+v, want a plain offset", c)
	}
}
