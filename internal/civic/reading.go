package civic

import (
	"math"
	"time"
)

// MaxBatch is the largest number of readings accepted in one request or
// message.
const MaxBatch = 10000

// Reading is one uplink of a sensor: the device, the sensor's own timestamp
// and whatever it measured. (Device, Time) identifies a reading: a resent
// reading is a duplicate, never a second row. Every measurement is optional
// but a reading carries at least one.
type Reading struct {
	Device       string    `json:"device"`
	Time         time.Time `json:"time"`
	Fill         *float64  `json:"fill,omitempty"` // 0..1 once stored; raw input may be in the device's scale
	TemperatureC *float64  `json:"temperature_c,omitempty"`
	Battery      *float64  `json:"battery,omitempty"` // 0..1
	TiltDeg      *float64  `json:"tilt_deg,omitempty"`
	Compactions  *int      `json:"compactions,omitempty"`
	DoorOpen     *bool     `json:"door_open,omitempty"`
	Fire         *bool     `json:"fire,omitempty"`
	DistanceMM   *float64  `json:"distance_mm,omitempty"`
	RSSI         *float64  `json:"rssi_dbm,omitempty"`
	SNR          *float64  `json:"snr_db,omitempty"`

	// Bin is the bin the device was mounted on when the reading was taken;
	// set by ingest from the registry, not by senders.
	Bin string `json:"bin,omitempty"`
}

// HasMeasurement reports whether r carries at least one measurement.
func (r *Reading) HasMeasurement() bool {
	return r.Fill != nil || r.TemperatureC != nil || r.Battery != nil || r.TiltDeg != nil ||
		r.Compactions != nil || r.DoorOpen != nil || r.Fire != nil || r.DistanceMM != nil ||
		r.RSSI != nil || r.SNR != nil
}

// Ingest limits on a reading's timestamp: sensors with dead clocks send 1970
// and the far future; neither belongs in a city's history.
var (
	EarliestReading = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxClockSkew    = 24 * time.Hour
)

// Normalize converts the fill value from scale to a 0..1 fraction and checks
// every field, returning an Invalid error naming the first bad one. now bounds
// how far in the future the sensor's clock may be.
func (r *Reading) Normalize(scale FillScale, now time.Time) error {
	if err := ValidateID("device", r.Device); err != nil {
		return err
	}
	if r.Time.IsZero() {
		return FieldError("time", "is required (RFC 3339)")
	}
	if r.Time.Before(EarliestReading) || r.Time.After(now.Add(MaxClockSkew)) {
		return FieldError("time", "is outside the accepted range (2000-01-01 to now + 24 h)")
	}
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	if !r.HasMeasurement() {
		return FieldError("", "a reading needs at least one measurement")
	}
	if r.Fill != nil {
		v := *r.Fill
		if !finite(v) || v < 0 || v > scale.Max()*1.2 {
			return FieldError("fill", "must be between 0 and %g (%s scale)", scale.Max(), scale)
		}
		f := math.Min(scale.ToFraction(v), 1)
		r.Fill = &f
	}
	if err := inRange("temperature_c", r.TemperatureC, -60, 200); err != nil {
		return err
	}
	if err := inRange("battery", r.Battery, 0, 1); err != nil {
		return err
	}
	if err := inRange("tilt_deg", r.TiltDeg, 0, 180); err != nil {
		return err
	}
	if r.Compactions != nil && (*r.Compactions < 0 || *r.Compactions > 1_000_000) {
		return FieldError("compactions", "must be a non-negative count")
	}
	if err := inRange("distance_mm", r.DistanceMM, 0, 20000); err != nil {
		return err
	}
	if err := inRange("rssi_dbm", r.RSSI, -200, 20); err != nil {
		return err
	}
	if err := inRange("snr_db", r.SNR, -40, 40); err != nil {
		return err
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func inRange(field string, v *float64, lo, hi float64) error {
	if v == nil {
		return nil
	}
	if !finite(*v) || *v < lo || *v > hi {
		return FieldError(field, "must be between %g and %g", lo, hi)
	}
	return nil
}

// IngestResult counts what happened to a batch of readings.
type IngestResult struct {
	Accepted   int `json:"accepted"`   // newly stored
	Duplicates int `json:"duplicates"` // already stored earlier: (device, time) seen before
}

// BinState is the latest known state of a bin, updated in the same
// transaction as the readings that change it. Nil fields are unknown.
type BinState struct {
	BinID        string    `json:"bin_id"`
	Device       string    `json:"device,omitempty"`
	Time         time.Time `json:"time"` // sensor time of the newest reading
	Fill         *float64  `json:"fill,omitempty"`
	TemperatureC *float64  `json:"temperature_c,omitempty"`
	Battery      *float64  `json:"battery,omitempty"`
	TiltDeg      *float64  `json:"tilt_deg,omitempty"`
	DoorOpen     *bool     `json:"door_open,omitempty"`
	Fire         *bool     `json:"fire,omitempty"`
	RSSI         *float64  `json:"rssi_dbm,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"` // when civic committed it
}

// BinView is a bin with its latest state, as lists and maps show it.
type BinView struct {
	Bin
	State *BinState `json:"state,omitempty"`
}

// BinFilter selects bins. Zero values do not filter.
type BinFilter struct {
	Zone    string
	Stream  Stream
	Status  AssetStatus
	MinFill *float64
	MaxFill *float64
	BBox    *BBox
	Limit   int // 0 means no limit
	Offset  int
}

// HistoryPoint is one step of a bin's downsampled history: the mean, min and
// max of each measurement over [Time, Time+step).
type HistoryPoint struct {
	Time         time.Time `json:"time"`
	Count        int       `json:"count"`
	Fill         *float64  `json:"fill,omitempty"`
	FillMin      *float64  `json:"fill_min,omitempty"`
	FillMax      *float64  `json:"fill_max,omitempty"`
	TemperatureC *float64  `json:"temperature_c,omitempty"`
	Battery      *float64  `json:"battery,omitempty"`
}

// ReadingQuery selects readings of one bin or device over a time range.
type ReadingQuery struct {
	Bin    string
	Device string
	From   time.Time // inclusive
	To     time.Time // exclusive
	Limit  int
}
