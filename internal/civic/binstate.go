package civic

// Apply moves s forward by r: the one definition of how a reading changes a
// bin's live state. The store's SQL merges follow it (a two-engine test in
// internal/store folds Apply over generated readings and compares), and so
// does the live map.
//
// A reading strictly newer than the state takes its bin, device and time,
// and each measurement the reading carries replaces the state's; a
// measurement it lacks keeps its previous value. A reading at or before the
// state's time changes nothing: a late reading never overwrites newer
// state, a reading applied twice counts once, and of two readings with the
// same time the one applied first stays. Readings committed together apply
// oldest first, so within one commit arrival order does not matter.
// Compactions, distance and SNR are kept only in the readings, not in the
// state. UpdatedAt is the caller's to set: it is when the state was
// committed, which a reading does not know.
//
// Apply reports whether s changed; r should be a reading of s's bin (an
// empty state takes r.Bin).
func (s *BinState) Apply(r Reading) bool {
	if !r.Time.After(s.Time) {
		return false
	}
	s.BinID, s.Device, s.Time = r.Bin, r.Device, r.Time
	if r.Fill != nil {
		s.Fill = r.Fill
	}
	if r.TemperatureC != nil {
		s.TemperatureC = r.TemperatureC
	}
	if r.Battery != nil {
		s.Battery = r.Battery
	}
	if r.TiltDeg != nil {
		s.TiltDeg = r.TiltDeg
	}
	if r.DoorOpen != nil {
		s.DoorOpen = r.DoorOpen
	}
	if r.Fire != nil {
		s.Fire = r.Fire
	}
	if r.RSSI != nil {
		s.RSSI = r.RSSI
	}
	return true
}

// Reading is the state as a reading: the one reading that, applied to an
// empty state, gives s (all but UpdatedAt). It lets a bin's latest state
// stand in for its newest uplink, e.g. to seed the alert rules or to tell
// one node of another node's uplinks.
func (s *BinState) Reading() Reading {
	return Reading{
		Device: s.Device, Time: s.Time, Bin: s.BinID, Fill: s.Fill, TemperatureC: s.TemperatureC,
		Battery: s.Battery, TiltDeg: s.TiltDeg, DoorOpen: s.DoorOpen, Fire: s.Fire, RSSI: s.RSSI,
	}
}
