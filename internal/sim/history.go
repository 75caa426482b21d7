package sim

import (
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// DefaultHistoryDays is the default HistoryParams.Days.
const DefaultHistoryDays = 30

// HistoryParams configures History and StreamHistory.
type HistoryParams struct {
	Days int // days of history; default DefaultHistoryDays
	// Policy empties the bins; unlike SensorParams, a zero Kind means
	// PolicyFixed, since history without collections is of no use.
	Policy Policy
	Seed   uint64    // as SensorParams.Seed
	Start  time.Time // the first day starts here; default the city's Params.Start
	// Faults, StreetFairWeeks and OnCollect are as in SensorParams.
	Faults          *Faults
	StreetFairWeeks int
	OnCollect       func(Collection)
}

// SensorParams returns the parameters of the Sensors that History runs:
// NewSensors(city, p.SensorParams()) reproduces the same truth (TrueRate,
// TrueFill) that History's readings come from.
func (p HistoryParams) SensorParams() SensorParams {
	if p.Policy.Kind == "" {
		p.Policy.Kind = PolicyFixed
	}
	return SensorParams{
		Seed:            p.Seed,
		Start:           p.Start,
		Faults:          p.Faults,
		Policy:          p.Policy,
		StreetFairWeeks: p.StreetFairWeeks,
		OnCollect:       p.OnCollect,
	}
}

// History returns p.Days days of readings from all of city's sensors, in
// time order, with the bins emptied by p.Policy: the readings of
// NewSensors(city, p.SensorParams()) stepped a day at a time. A thousand
// bins for thirty days are about 2.9 million readings and half a gigabyte;
// StreamHistory produces the same readings a day at a time.
func History(city *City, p HistoryParams) []civic.Reading {
	days := p.Days
	if days <= 0 {
		days = DefaultHistoryDays
	}
	s := NewSensors(city, p.SensorParams())
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.now
	out := make([]civic.Reading, 0, s.due(start+int64(days)*secondsPerDay))
	for d := 1; d <= days; d++ {
		out = s.step(start+int64(d)*secondsPerDay, out)
	}
	return out
}

// StreamHistory runs the same simulation as History and calls fn with each
// day's readings (a fresh slice each day, which fn may keep) and the
// Sensors, whose Now is the end of that day, so that fn can compare with
// TrueFill and TrueRate. It stops at fn's first error and returns it.
func StreamHistory(city *City, p HistoryParams, fn func(s *Sensors, day []civic.Reading) error) error {
	days := p.Days
	if days <= 0 {
		days = DefaultHistoryDays
	}
	s := NewSensors(city, p.SensorParams())
	t := s.Now()
	for range days {
		t = t.Add(24 * time.Hour)
		if err := fn(s, s.Step(t)); err != nil {
			return err
		}
	}
	return nil
}

// StoredHistory returns StreamHistory's readings as civic's ingest path
// stores them: each on its device's bin, its fill a fraction
// (civic.Reading.Normalize with the device's scale, at the reading's own
// time). Readings of devices on no bin, or that do not normalize, are left
// out. StreamStoredHistory produces the same readings a day at a time.
func StoredHistory(city *City, p HistoryParams) []civic.Reading {
	var out []civic.Reading
	_ = StreamStoredHistory(city, p, func(_ *Sensors, day []civic.Reading) error {
		out = append(out, day...)
		return nil
	})
	return out
}

// StreamStoredHistory is StreamHistory with each day's readings as
// StoredHistory returns them: fn gets them a day at a time (a fresh slice
// each day, which fn may keep), so that a long history need not be held
// whole. It stops at fn's first error and returns it.
func StreamStoredHistory(city *City, p HistoryParams, fn func(s *Sensors, day []civic.Reading) error) error {
	devs := make(map[string]civic.Device, len(city.Devices))
	for _, d := range city.Devices {
		devs[d.ID] = d
	}
	return StreamHistory(city, p, func(s *Sensors, day []civic.Reading) error {
		stored := day[:0] // day is fresh: filtered in place
		for _, r := range day {
			if d := devs[r.Device]; d.BinID != "" && r.Normalize(d.FillScale, r.Time) == nil {
				r.Bin = d.BinID
				stored = append(stored, r)
			}
		}
		return fn(s, stored)
	})
}
