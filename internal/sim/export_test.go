package sim

// FaultStats counts what a Sensors injected, so tests can compare with the
// configured rates.
type FaultStats struct {
	Readings    int // uplinks attempted by live devices
	Lost        int
	Zero        int // ultrasonic zero readings
	Stuck       int // stuck episodes started
	Fires       int // fire episodes started
	Dying       int // devices with a failing battery
	Dead        int // devices gone silent
	Collections int // automatic collections
	Tilts       int // bins knocked over
}

func (s *Sensors) FaultStats() FaultStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	return FaultStats{st.readings, st.lost, st.zero, st.stuck, st.fires, st.dying, st.dead, st.collections, st.tilts}
}
