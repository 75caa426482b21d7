package sim

import (
	"math"
	"testing"
	"time"
)

// TestLedgerBalances: every bin's account balances under automatic
// collections, collections between Steps and collections in the past.
func TestLedgerBalances(t *testing.T) {
	c := GenerateCity(CityParams{Bins: 80, Seed: 4})
	s := NewSensors(c, SensorParams{Seed: 4, Policy: Policy{Kind: PolicyFixed}})
	now := s.Now()
	for d := 1; d <= 6; d++ {
		now = now.Add(24 * time.Hour)
		s.Step(now)
		if _, err := s.Empty(c.Bins[d].ID, now.Add(20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Empty(c.Bins[d+10].ID, now.Add(-7*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var full float64
	hours := s.FullHours(nil)
	for i, l := range s.Ledgers() {
		if hours[i] != l.FullHours {
			t.Errorf("%s: FullHours says %g h, the ledger %g h", l.BinID, hours[i], l.FullHours)
		}
		if b := l.Balance(); math.Abs(b) > 1e-9*(l.Initial+l.Generated) {
			t.Errorf("%s: off by %g: %+v", l.BinID, b, l)
		}
		if l.Generated <= 0 || l.Collected < 0 || l.Overflowed < 0 || l.InBin < 0 {
			t.Errorf("%s: %+v", l.BinID, l)
		}
		full += l.FullHours
	}
	if full == 0 {
		t.Error("no bin was ever full in six days of a rough fixed schedule")
	}
}

// TestLedgerOverflow: a bin never emptied fills up, then everything thrown
// at it overflows, and it counts the hours since it became full.
func TestLedgerOverflow(t *testing.T) {
	c := GenerateCity(CityParams{Bins: 30, Seed: 5})
	s := NewSensors(c, SensorParams{Seed: 5})
	start := s.Now()
	end := start.Add(21 * 24 * time.Hour)
	s.Step(end)
	for i, l := range s.Ledgers() {
		id := c.Bins[i].ID
		if l.Collected != 0 {
			t.Errorf("%s collected %v with no collections", id, l.Collected)
		}
		if l.InBin < c.Bins[i].CapacityL-1e-6 {
			continue // not full yet
		}
		if l.Overflows != 1 || l.Overflowed <= 0 || l.FullHours <= 0 || l.FullHours > 21*24 {
			t.Errorf("%s: full bin %+v", id, l)
		}
		// The waste of its full hours overflowed, at least what the last
		// full day brought.
		if last := s.GeneratedBetween(id, end.Add(-24*time.Hour), end); l.FullHours >= 24 && l.Overflowed < last-1e-6 {
			t.Errorf("%s: overflowed %v L, less than the last day's %v L", id, l.Overflowed, last)
		}
	}
}

// TestFixedRounds: FixedRounds tells the days PolicyFixed empties a bin.
func TestFixedRounds(t *testing.T) {
	c := GenerateCity(CityParams{Bins: 60, Seed: 6})
	got := map[string]int{}
	s := NewSensors(c, SensorParams{Seed: 6, Policy: Policy{Kind: PolicyFixed}, OnCollect: func(col Collection) {
		got[col.BinID+" "+col.Time.In(DefaultLocation).Format(time.DateOnly)]++
	}})
	start := s.Now()
	s.Step(start.Add(15 * 24 * time.Hour))
	for d := 0; d < 14; d++ {
		day := start.Add(time.Duration(d)*24*time.Hour + 12*time.Hour)
		for _, b := range c.Bins {
			key := b.ID + " " + day.In(DefaultLocation).Format(time.DateOnly)
			if want := s.FixedRounds(b.ID, day, 0); got[key] != want {
				t.Errorf("%s: %d collections, FixedRounds says %d (every %d days)", key, got[key], want, s.ScheduleDays(b.ID))
			}
		}
	}
	if s.FixedRounds("nope", start, 0) != -1 {
		t.Error("unknown bin: want -1")
	}
}
