package civic

import (
	"context"
	"time"
)

// DefaultOfflineIntervals is how many expected uplink intervals a device may
// stay silent before it counts as offline. Three tolerates a lost frame or
// two (LoRaWAN uplinks are unconfirmed) without hiding a dead sensor for
// long.
const DefaultOfflineIntervals = 3

// LowBattery is the battery fraction at or below which a device needs a
// battery change: the fleet page, the device health API and the
// low_battery alert rule share it (DefaultRuleSettings), so a device the
// rule alerts about is never "ok" on the fleet page.
const LowBattery = 0.3

// HealthLimits are the thresholds a device's health is assessed with. A
// device's limits are those of the alert rules of its bin
// (RuleSettings.HealthLimits), so a city that changes the low-battery or
// offline rule for a zone changes what the fleet page says about it too.
type HealthLimits struct {
	OfflineIntervals float64 // <= 0: DefaultOfflineIntervals
	LowBattery       float64 // <= 0: LowBattery
}

// HealthLimits returns the device health thresholds of these rule
// settings.
func (s RuleSettings) HealthLimits() HealthLimits {
	return HealthLimits{OfflineIntervals: s.OfflineIntervals, LowBattery: s.LowBattery}
}

// HealthStatus sums up a device's health in one word, worst first.
type HealthStatus string

// The health statuses, in order of precedence.
const (
	HealthInactive     HealthStatus = "inactive"      // the device is not active in the registry: not monitored
	HealthNeverSeen    HealthStatus = "never_seen"    // registered, never heard
	HealthOffline      HealthStatus = "offline"       // silent for more than N expected intervals
	HealthDecodeErrors HealthStatus = "decode_errors" // heard, but its latest uplink did not decode
	HealthSensorFault  HealthStatus = "sensor_fault"  // a sensor_fault alert of it is unresolved (stuck, jumps, lost echoes)
	HealthLowBattery   HealthStatus = "low_battery"   // battery at or below LowBattery
	HealthOK           HealthStatus = "ok"
)

// DeviceHealth is what civic knows about how well a device works: when it
// was last heard, how often it reports, its battery and radio link, and the
// uplinks that could not be decoded. Nil and zero fields are unknown.
type DeviceHealth struct {
	Device           string      `json:"device"`
	BinID            string      `json:"bin_id,omitempty"`
	Kind             string      `json:"kind"`
	Firmware         string      `json:"firmware,omitempty"`
	DeviceStatus     AssetStatus `json:"device_status"`
	ExpectedInterval int         `json:"expected_interval_s"`
	RegisteredAt     time.Time   `json:"registered_at"`

	// LastSeen is the sensor time of the device's newest stored reading.
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// Uplinks24h counts the readings of the last 24 hours, and
	// UplinkRatePerH is that count per hour of the part of those 24 hours
	// the device has existed (at least one hour), so a device registered
	// this morning is not reported as slow.
	Uplinks24h     int     `json:"uplinks_24h"`
	UplinkRatePerH float64 `json:"uplink_rate_per_h"`
	// Battery is the newest battery fraction 0..1 of the last 7 days, from
	// a reading or a network server status event, whichever is newer.
	Battery *float64 `json:"battery,omitempty"`
	// BatteryTrendPerDay is the least-squares slope of the battery readings
	// of the last 7 days, in fraction per day (negative: draining); unknown
	// unless they span at least a day.
	BatteryTrendPerDay *float64 `json:"battery_trend_per_day,omitempty"`
	// RSSI and SNR are means over the readings of the last 24 hours that
	// carry them, or of the last 7 days when none of the last 24 hours do.
	RSSI *float64 `json:"rssi_dbm,omitempty"`
	SNR  *float64 `json:"snr_db,omitempty"`
	// Gateway is the LoRaWAN gateway that heard the device best in its
	// latest uplink.
	Gateway string `json:"gateway,omitempty"`
	// DecodeFailures counts the uplinks that reached civic but could not be
	// turned into a reading; LastDecodeFailure is the time of the latest
	// and LastDecodeError what was wrong with it.
	DecodeFailures    int64      `json:"decode_failures"`
	LastDecodeFailure *time.Time `json:"last_decode_failure,omitempty"`
	LastDecodeError   string     `json:"last_decode_error,omitempty"`
	// LastEvent and LastEventKind describe the newest non-uplink event
	// (join, status, ...) recorded for the device.
	LastEvent     *time.Time `json:"last_event,omitempty"`
	LastEventKind string     `json:"last_event_kind,omitempty"`

	// Offline and Status are set by Assess.
	Offline bool         `json:"offline"`
	Status  HealthStatus `json:"status"`
}

// LastHeard is the latest time the device is known to have sent an uplink:
// its newest reading or its newest undecodable uplink; nil if never.
func (h *DeviceHealth) LastHeard() *time.Time {
	t := h.LastSeen
	if f := h.LastDecodeFailure; f != nil && (t == nil || f.After(*t)) {
		t = f
	}
	return t
}

// Assess sets Offline and Status as of now. A device is offline when it
// has not been heard for more than intervals × its expected interval (since
// it was registered, if it was never heard); intervals <= 0 means
// DefaultOfflineIntervals. Inactive devices are never offline.
func (h *DeviceHealth) Assess(now time.Time, intervals float64) {
	h.AssessLimits(now, HealthLimits{OfflineIntervals: intervals})
}

// AssessLimits is Assess with all the thresholds given; zero fields take
// the defaults.
func (h *DeviceHealth) AssessLimits(now time.Time, lim HealthLimits) {
	intervals := lim.OfflineIntervals
	if intervals <= 0 {
		intervals = DefaultOfflineIntervals
	}
	low := lim.LowBattery
	if low <= 0 {
		low = LowBattery
	}
	every := h.ExpectedInterval
	if every <= 0 {
		every = DefaultExpectedInterval
	}
	limit := time.Duration(intervals * float64(every) * float64(time.Second))
	heard := h.LastHeard()
	since := h.RegisteredAt
	if heard != nil {
		since = *heard
	}
	h.Offline = h.DeviceStatus == StatusActive && now.Sub(since) > limit
	switch {
	case h.DeviceStatus != StatusActive && h.DeviceStatus != "":
		h.Status = HealthInactive
	case heard == nil:
		h.Status = HealthNeverSeen
	case h.Offline:
		h.Status = HealthOffline
	case h.LastDecodeFailure != nil && (h.LastSeen == nil || h.LastDecodeFailure.After(*h.LastSeen)):
		h.Status = HealthDecodeErrors
	case h.Battery != nil && *h.Battery <= low:
		h.Status = HealthLowBattery
	default:
		h.Status = HealthOK
	}
}

// NoteAlerts lowers an assessed Status to HealthSensorFault when one of
// the unresolved alerts of the device's bin is a sensor fault of this
// device (or of the bin, naming no device): the same finding the alert
// rules made. Worse statuses (offline, never seen, decode errors) stay.
func (h *DeviceHealth) NoteAlerts(open []Alert) {
	if h.Status != HealthOK && h.Status != HealthLowBattery {
		return
	}
	for _, a := range open {
		if a.Rule == RuleSensorFault && a.Status != AlertResolved && a.BinID == h.BinID && (a.Device == "" || a.Device == h.Device) {
			h.Status = HealthSensorFault
			return
		}
	}
}

// The kinds of device events civic records itself; network servers add
// theirs (join, status, ack, txack, downlink, log, location, integration).
const (
	EventDecodeFailure = "decode_failure" // an uplink that could not be turned into a reading
)

// DeviceEvent is something that happened to a device other than a reading:
// a LoRaWAN join, a status report, a downlink acknowledgement, an uplink
// that could not be decoded.
type DeviceEvent struct {
	ID     int64     `json:"id"` // set by the store, increasing
	Device string    `json:"device"`
	Time   time.Time `json:"time"` // when it happened, per the network server
	Kind   string    `json:"kind"`
	// Detail holds what the source said about the event (message, network
	// id, gateway, signal, ...), as JSON-compatible values.
	Detail map[string]any `json:"detail,omitempty"`
	// Battery is the battery fraction 0..1 the event reports (a ChirpStack
	// status event), if any; it feeds DeviceHealth.Battery.
	Battery    *float64  `json:"battery,omitempty"`
	ReceivedAt time.Time `json:"received_at"` // set by the store
}

// Validate checks e and returns an Invalid error naming the first bad field.
func (e *DeviceEvent) Validate() error {
	if err := ValidateID("device", e.Device); err != nil {
		return err
	}
	if e.Time.IsZero() {
		return FieldError("time", "is required")
	}
	if e.Kind == "" || len(e.Kind) > 32 {
		return FieldError("kind", "is required, at most 32 characters")
	}
	if e.Battery != nil && (!finite(*e.Battery) || *e.Battery < 0 || *e.Battery > 1) {
		return FieldError("battery", "must be between 0 and 1")
	}
	return nil
}

// DeviceEventQuery selects events of one device, newest first.
type DeviceEventQuery struct {
	Device string
	Before int64 // only events with a smaller ID; 0 means no bound
	Limit  int   // 0 means 100
}

// DeviceHealthStore keeps device events and the health counters that
// readings alone do not give, and computes device health. *store.Store
// implements it.
type DeviceHealthStore interface {
	// RecordDeviceEvent stores e, setting its ID and ReceivedAt. Errors:
	// Invalid.
	RecordDeviceEvent(ctx context.Context, e *DeviceEvent) error
	// RecordDecodeFailure counts an uplink of device, received at at, that
	// could not be decoded, and records it as an EventDecodeFailure event
	// with reason and detail. Errors: Invalid.
	RecordDecodeFailure(ctx context.Context, device string, at time.Time, reason string, detail map[string]any) error
	// RecordGateway notes the gateway that heard device's latest uplink.
	RecordGateway(ctx context.Context, device, gateway string) error
	// DeviceEvents returns events of q.Device, newest first.
	DeviceEvents(ctx context.Context, q DeviceEventQuery) ([]DeviceEvent, error)
	// DeviceHealth returns the health of every device, ordered by id, as
	// of now and assessed with DefaultOfflineIntervals.
	DeviceHealth(ctx context.Context, now time.Time) ([]DeviceHealth, error)
	// DeviceHealthOf returns one device's health as of now. Errors:
	// NotFound.
	DeviceHealthOf(ctx context.Context, id string, now time.Time) (DeviceHealth, error)
	// DeviceHealthBetween is DeviceHealth for the devices whose ids are
	// from first to last, both included: a page of the device list.
	DeviceHealthBetween(ctx context.Context, first, last string, now time.Time) ([]DeviceHealth, error)
	// RecentDeviceHealth is DeviceHealth as of now from readings up to
	// maxAge older (a whole-fleet health computed that recently is
	// reused), every device assessed as of now.
	RecentDeviceHealth(ctx context.Context, now time.Time, maxAge time.Duration) ([]DeviceHealth, error)
}

// DashboardHealthAge is how old the readings behind the whole fleet's
// health on the dashboards (the fleet page, the KPI tile) may be: it
// takes seconds to compute for thousands of devices, and a device is
// offline only after hours.
const DashboardHealthAge = 30 * time.Second
