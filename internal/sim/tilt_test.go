package sim_test

import (
	"math"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// TestTiltFaults: bins are knocked over at the configured rate, and their
// sensors report it as a tilt past the alert rule's 45°.
func TestTiltFaults(t *testing.T) {
	const days = 8
	c := sim.GenerateCity(sim.CityParams{Bins: 500, Seed: 21})
	f := sim.Faults{TiltPerDay: 0.01}
	s := sim.NewSensors(c, sim.SensorParams{Seed: 22, Faults: &f})
	start := s.Now()
	var rs []civic.Reading
	for d := 1; d <= days; d++ {
		rs = append(rs, s.Step(start.Add(time.Duration(d)*24*time.Hour))...)
	}
	st := s.FaultStats()
	want := float64(len(c.Devices)*days) * f.TiltPerDay
	if got := float64(st.Tilts); math.Abs(got-want) > 0.4*want {
		t.Errorf("tilt episodes injected: %v, want %.0f ± 40 %%", got, want)
	}
	seen, tilted := 0, map[string]bool{}
	for _, r := range rs {
		on := r.TiltDeg != nil && *r.TiltDeg >= civic.DefaultRuleSettings().TiltDeg
		if on && !tilted[r.Device] {
			seen++
		}
		tilted[r.Device] = on
	}
	// Bigbelly stations report no tilt; the others show every episode.
	if seen == 0 || seen > st.Tilts {
		t.Errorf("%d tilt episodes in the readings, %d injected", seen, st.Tilts)
	}
}

// TestDemoFaults: in two weeks of the demo's city of a thousand bins
// every kind of rare event happens, none of them often: a supervisor sees
// each kind of alert.
func TestDemoFaults(t *testing.T) {
	const days = 14
	c := sim.GenerateCity(sim.CityParams{Bins: 1000, Seed: 1})
	f := sim.DemoFaults()
	s := sim.NewSensors(c, sim.SensorParams{Seed: 1, Faults: &f})
	start := s.Now()
	for d := 1; d <= days; d++ {
		s.Step(start.Add(time.Duration(d) * 24 * time.Hour))
	}
	st := s.FaultStats()
	for _, k := range []struct {
		name     string
		got, max int
	}{{"fires", st.Fires, 15}, {"tilts", st.Tilts, 20}, {"stuck sensors", st.Stuck, 60}, {"failing batteries", st.Dying, 25}} {
		if k.got == 0 || k.got > k.max {
			t.Errorf("%s in %d days of the demo city: %d, want 1 to %d", k.name, days, k.got, k.max)
		}
	}
	t.Logf("%d days, %d bins: %+v", days, len(c.Bins), st)
}
