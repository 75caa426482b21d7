package sim

import (
	"math"
	"time"
)

// Ledger is the account of one bin's waste from the start of a Sensors to
// the time the bin was last brought to (Now, or a later collection by
// Empty). Volumes are in litres of the bin's capacity; they balance:
// Initial + Generated = Collected + InBin + Overflowed.
type Ledger struct {
	BinID string
	// Initial is what the bin held at the start.
	Initial float64
	// Generated is all the waste thrown at the bin, including what did
	// not fit.
	Generated float64
	// Collected is what collections took away (the residue they leave
	// stays in the bin).
	Collected float64
	InBin     float64
	// Overflowed is waste that arrived at a full bin and ended on the
	// street.
	Overflowed float64
	// FullHours is the time the bin spent at 100%, overflowing whatever
	// was thrown at it; Overflows counts the times it became full.
	FullHours float64
	Overflows int
}

// Ledgers returns the waste account of every bin, in the city's bin order.
// Bins are not advanced: call it after Step.
func (s *Sensors) Ledgers() []Ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ledger, len(s.bins))
	for i := range s.bins {
		b := &s.bins[i]
		out[i] = Ledger{
			BinID:      b.id,
			Initial:    b.fill0 * b.capL,
			Generated:  b.generated * b.capL,
			Collected:  b.collected * b.capL,
			InBin:      b.fill * b.capL,
			Overflowed: b.overflowed * b.capL,
			FullHours:  float64(b.fullSecs) / secondsPerHour,
			Overflows:  b.overflows,
		}
	}
	return out
}

// Balance returns Initial + Generated - Collected - InBin - Overflowed:
// zero up to rounding.
func (l Ledger) Balance() float64 {
	return l.Initial + l.Generated - l.Collected - l.InBin - l.Overflowed
}

// GeneratedBetween returns the waste (litres of capacity) thrown at binID
// from from to to, whatever was collected: the same for every policy, since
// it depends only on the seed, the bin and the street fairs. It returns NaN
// for an unknown bin.
func (s *Sensors) GeneratedBetween(binID string, from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok {
		return math.NaN()
	}
	b := &s.bins[i]
	return s.integral(b, from.Unix(), to.Unix()) * b.capL
}

// FixedRounds returns how many collection rounds PolicyFixed with target
// (0 meaning DefaultScheduleTarget) makes at binID on the city's local day
// that day falls in: 0, 1, or 2 for a bin emptied twice a day. It is the
// schedule a city without sensors sets from its rough estimate of the bin's
// rate, whatever the Sensors' own policy. It returns -1 for an unknown bin.
func (s *Sensors) FixedRounds(binID string, day time.Time, target float64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok {
		return -1
	}
	if target <= 0 {
		target = DefaultScheduleTarget
	}
	b := &s.bins[i]
	return s.rounds(b, scheduleDays(b.meanRate*24*b.estimate, target), day)
}

// RoundsEvery returns how many collection rounds a schedule that empties
// binID every every days (1: Monday to Saturday; 0: twice a day) makes on
// the city's local day that day falls in: 0, 1 or 2. Bins on the same
// interval are spread over its days as FixedRounds spreads them. It
// returns -1 for an unknown bin or a negative interval.
func (s *Sensors) RoundsEvery(binID string, day time.Time, every int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.binIndex(binID)
	if !ok || every < 0 {
		return -1
	}
	return s.rounds(&s.bins[i], every, day)
}

// rounds is FixedRounds' rule for an interval of every days.
func (s *Sensors) rounds(b *binState, every int, day time.Time) int {
	d := s.localDay(day.Unix())
	switch {
	case every == 0:
		return 2
	case every == 1 && weekday(d) == 6:
		return 0 // daily means Monday to Saturday
	case ((d-int64(b.phaseDraw%every))%int64(every)+int64(every))%int64(every) == 0:
		return 1
	}
	return 0
}

// Silent returns how many sensors have gone silent so far: their battery
// ran out, and nobody replaces it in a simulation.
func (s *Sensors) Silent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.dead
}

// FullHours appends to dst, in the city's bin order, the hours each bin
// has spent full so far (Ledger.FullHours without the rest of the ledger):
// cheap enough to call every simulated hour when explaining overflow.
func (s *Sensors) FullHours(dst []float64) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.bins {
		dst = append(dst, float64(s.bins[i].fullSecs)/secondsPerHour)
	}
	return dst
}
