package civic

import (
	"context"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RuleKind names an alert rule. At most one unresolved alert exists per bin
// and rule.
type RuleKind string

// The alert rules.
const (
	RuleFull         RuleKind = "full"               // fill at or above the full threshold
	RuleOverflowSoon RuleKind = "overflow_predicted" // the forecast reaches the threshold within OverflowHours
	RuleFire         RuleKind = "fire"               // fire flag, temperature over the limit or rising fast
	RuleTilt         RuleKind = "tilt"               // tilted or dropped
	RuleDoorOpen     RuleKind = "door_open"          // door or lid open longer than DoorOpenMinutes
	RuleLowBattery   RuleKind = "low_battery"        // battery at or below LowBattery
	RuleOffline      RuleKind = "offline"            // no uplink for OfflineIntervals expected intervals
	RuleSensorFault  RuleKind = "sensor_fault"       // stuck value, impossible jump or lost-echo zeros
)

const ruleKindsAsString = "full, overflow_predicted, fire, tilt, door_open, low_battery, offline, sensor_fault"

// RuleKinds lists every rule in display order.
var RuleKinds = []RuleKind{RuleFire, RuleTilt, RuleFull, RuleOverflowSoon, RuleDoorOpen, RuleOffline, RuleLowBattery, RuleSensorFault}

// Valid reports whether k is a known rule.
func (k RuleKind) Valid() bool { return slices.Contains(RuleKinds, k) }

// Severity ranks alerts; fire is critical.
type Severity string

// The severities, least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 1, warning 2, critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// DefaultSeverity is the severity a rule's alerts get.
func (k RuleKind) DefaultSeverity() Severity {
	switch k {
	case RuleFire:
		return SeverityCritical
	case RuleFull, RuleTilt, RuleDoorOpen, RuleOffline:
		return SeverityWarning
	}
	return SeverityInfo
}

// FIWAREStatus is the FIWARE WasteContainer "status" an open alert of this
// rule implies ("burning", "dropped", "lidOpen"), or "" when the rule says
// nothing about the container's safety status (full bins are reported
// through fillingLevel, not status).
func (k RuleKind) FIWAREStatus() string {
	switch k {
	case RuleFire:
		return "burning"
	case RuleTilt:
		return "dropped"
	case RuleDoorOpen:
		return "lidOpen"
	}
	return ""
}

// FIWAREStatus returns the FIWARE WasteContainer status of a bin with the
// given unresolved alerts: the most urgent of burning, dropped and lidOpen,
// or "ok".
func FIWAREStatus(open []Alert) string {
	best := "ok"
	rank := map[string]int{"ok": 0, "lidOpen": 1, "dropped": 2, "burning": 3}
	for _, a := range open {
		if a.Status == AlertResolved {
			continue
		}
		if s := a.Rule.FIWAREStatus(); s != "" && rank[s] > rank[best] {
			best = s
		}
	}
	return best
}

// AlertStatus is where an alert is in its lifecycle: open → acknowledged →
// resolved (or open → resolved).
type AlertStatus string

// The alert statuses.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// Valid reports whether s is a known status.
func (s AlertStatus) Valid() bool {
	return s == AlertOpen || s == AlertAcknowledged || s == AlertResolved
}

// SystemActor is the ResolvedBy of alerts resolved because their condition
// cleared.
const SystemActor = "system"

// Alert is a condition of a bin someone should know about. While it is not
// resolved no second alert of the same bin and rule is opened: LastSeenAt
// moves forward instead.
type Alert struct {
	ID         string      `json:"id"`
	BinID      string      `json:"bin_id"`
	Device     string      `json:"device,omitempty"`
	Rule       RuleKind    `json:"rule"`
	Severity   Severity    `json:"severity"`
	Status     AlertStatus `json:"status"`
	Message    string      `json:"message"`
	Value      *float64    `json:"value,omitempty"` // the measurement that fired the rule, in its unit
	OpenedAt   time.Time   `json:"opened_at"`
	LastSeenAt time.Time   `json:"last_seen_at"` // the latest evaluation that found the condition
	AckedAt    *time.Time  `json:"acked_at,omitempty"`
	AckedBy    string      `json:"acked_by,omitempty"`
	ResolvedAt *time.Time  `json:"resolved_at,omitempty"`
	ResolvedBy string      `json:"resolved_by,omitempty"` // SystemActor when the condition cleared
	Note       string      `json:"note,omitempty"`
	// ClearedAt is when the condition of a latched alert (see Latches)
	// cleared while nobody had acknowledged it: the alert stays open until
	// someone does. Nil while the condition holds.
	ClearedAt *time.Time `json:"cleared_at,omitempty"`
}

// Latches reports whether a stays open after its condition clears, until
// a person acknowledges it: critical alerts (fire) must be seen by someone,
// however briefly they lasted.
func (a *Alert) Latches() bool { return a.Severity == SeverityCritical }

// Validate checks a new alert.
func (a *Alert) Validate() error {
	if err := ValidateID("bin_id", a.BinID); err != nil {
		return err
	}
	if !a.Rule.Valid() {
		return FieldError("rule", "must be one of %s", ruleKindsAsString)
	}
	if a.Severity != "" && !a.Severity.Valid() {
		return FieldError("severity", "must be one of info, warning, critical")
	}
	if a.OpenedAt.IsZero() {
		return FieldError("opened_at", "is required")
	}
	return nil
}

// AlertFilter selects alerts, newest first. Zero values do not filter.
type AlertFilter struct {
	Status     AlertStatus // one status
	Unresolved bool        // open or acknowledged
	BinID      string
	Rule       RuleKind
	Limit      int // 0 means 100
	Offset     int // skip this many of the matching alerts (paging)
	// Sort orders the alerts: AlertSortNewest (the default) or
	// AlertSortSeverity.
	Sort AlertSort
}

// AlertCounts are the unresolved alerts by status, and how many of them
// are critical.
type AlertCounts struct {
	Open         int `json:"open"`
	Acknowledged int `json:"acknowledged"`
	Critical     int `json:"critical"`
}

// AlertSort is an order of alert lists.
type AlertSort string

// The alert orders. Severity puts critical first, then warning, then info;
// within one severity the oldest (longest waiting) alert comes first.
const (
	AlertSortNewest   AlertSort = "newest"
	AlertSortSeverity AlertSort = "severity"
)

// Valid reports whether s is a known order; empty is the default.
func (s AlertSort) Valid() bool { return s == "" || s == AlertSortNewest || s == AlertSortSeverity }

// RuleSettings are the thresholds of the rules. In overrides a zero field
// inherits the value of the wider scope; in the defaults a zero field takes
// the built-in default (see DefaultRuleSettings).
type RuleSettings struct {
	// Disabled lists rules that are not evaluated. In an override a
	// present list (even empty) replaces the inherited one.
	// The built-in default disables QuietRules.
	Disabled []RuleKind `json:"disabled,omitzero"`
	// FullFill is the fill fraction of the full rule; 0 uses each bin's
	// own full threshold.
	FullFill float64 `json:"full_fill,omitempty"`
	// OverflowHours: alert when the forecast reaches the full threshold
	// within this many hours. Default 12.
	OverflowHours float64 `json:"overflow_hours,omitempty"`
	// FireTempC: alert at or above this temperature. Default 70 °C.
	FireTempC float64 `json:"fire_temp_c,omitempty"`
	// FireRiseCPerHour: alert when the temperature rises this fast while
	// above FireRiseFloorC. Defaults 20 °C/h and 40 °C.
	FireRiseCPerHour float64 `json:"fire_rise_c_per_hour,omitempty"`
	FireRiseFloorC   float64 `json:"fire_rise_floor_c,omitempty"`
	// TiltDeg: alert at or above this tilt. Default 45°.
	TiltDeg float64 `json:"tilt_deg,omitempty"`
	// DoorOpenMinutes: alert when the door or lid stays open this long.
	// Default 30.
	DoorOpenMinutes float64 `json:"door_open_minutes,omitempty"`
	// LowBattery: alert at or below this battery fraction. Default 0.3.
	LowBattery float64 `json:"low_battery,omitempty"`
	// OfflineIntervals: alert when no uplink came for this many of the
	// device's expected intervals. Default 3.
	OfflineIntervals float64 `json:"offline_intervals,omitempty"`
	// StuckReadings and StuckHours: a fill that stays exactly the same
	// (below full) for at least this many readings and this many hours is
	// a stuck sensor; a quiet night alone is not. Defaults 12 (at most 30)
	// and 24.
	StuckReadings int     `json:"stuck_readings,omitempty"`
	StuckHours    float64 `json:"stuck_hours,omitempty"`
	// JumpFill: a rise of fill by this much within 30 minutes is
	// impossible. Default 0.6.
	JumpFill float64 `json:"jump_fill,omitempty"`
	// ZeroGlitches: this many lone zero readings among the recent ones
	// (an ultrasonic sensor losing its echo) is a fault. Default 3.
	ZeroGlitches int `json:"zero_glitches,omitempty"`
}

// QuietRules are the rules that raise no alerts unless a city asks for
// them: a full bin, or one expected to overflow, is bin state and input to
// the collection plan (which reads fill and forecast itself), not an
// incident for someone to triage. A city turns them on per stream, zone or
// bin with an override whose Disabled list leaves them out.
var QuietRules = []RuleKind{RuleFull, RuleOverflowSoon}

// DefaultRuleSettings returns the built-in thresholds.
func DefaultRuleSettings() RuleSettings {
	return RuleSettings{
		Disabled:         slices.Clone(QuietRules),
		OverflowHours:    12,
		FireTempC:        70,
		FireRiseCPerHour: 20,
		FireRiseFloorC:   40,
		TiltDeg:          45,
		DoorOpenMinutes:  30,
		LowBattery:       LowBattery,
		OfflineIntervals: DefaultOfflineIntervals,
		StuckReadings:    12,
		StuckHours:       24,
		JumpFill:         0.6,
		ZeroGlitches:     3,
	}
}

// Enabled reports whether rule k is evaluated.
func (s *RuleSettings) Enabled(k RuleKind) bool { return !slices.Contains(s.Disabled, k) }

// merge returns s with the non-zero fields of o.
func (s RuleSettings) merge(o RuleSettings) RuleSettings {
	if o.Disabled != nil {
		s.Disabled = slices.Clone(o.Disabled)
	}
	setF := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	setF(&s.FullFill, o.FullFill)
	setF(&s.OverflowHours, o.OverflowHours)
	setF(&s.FireTempC, o.FireTempC)
	setF(&s.FireRiseCPerHour, o.FireRiseCPerHour)
	setF(&s.FireRiseFloorC, o.FireRiseFloorC)
	setF(&s.TiltDeg, o.TiltDeg)
	setF(&s.DoorOpenMinutes, o.DoorOpenMinutes)
	setF(&s.LowBattery, o.LowBattery)
	setF(&s.OfflineIntervals, o.OfflineIntervals)
	setF(&s.JumpFill, o.JumpFill)
	setF(&s.StuckHours, o.StuckHours)
	if o.StuckReadings != 0 {
		s.StuckReadings = o.StuckReadings
	}
	if o.ZeroGlitches != 0 {
		s.ZeroGlitches = o.ZeroGlitches
	}
	return s
}

// Validate checks the values that are set.
func (s *RuleSettings) Validate() error {
	for i, k := range s.Disabled {
		if !k.Valid() {
			return FieldError("disabled["+strconv.Itoa(i)+"]", "must be one of %s", ruleKindsAsString)
		}
	}
	check := func(field string, v, lo, hi float64) error {
		if v != 0 && !(v >= lo && v <= hi) {
			return FieldError(field, "must be between %g and %g", lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		f      string
		v      float64
		lo, hi float64
	}{
		{"full_fill", s.FullFill, 0.05, 1},
		{"overflow_hours", s.OverflowHours, 0.1, 24 * 14},
		{"fire_temp_c", s.FireTempC, 20, 200},
		{"fire_rise_c_per_hour", s.FireRiseCPerHour, 1, 1000},
		{"fire_rise_floor_c", s.FireRiseFloorC, -60, 200},
		{"tilt_deg", s.TiltDeg, 1, 180},
		{"door_open_minutes", s.DoorOpenMinutes, 1, 7 * 24 * 60},
		{"low_battery", s.LowBattery, 0.01, 1},
		{"offline_intervals", s.OfflineIntervals, 1, 1000},
		{"jump_fill", s.JumpFill, 0.1, 1},
		{"stuck_readings", float64(s.StuckReadings), 3, 30},
		{"stuck_hours", s.StuckHours, 1, 24 * 30},
		{"zero_glitches", float64(s.ZeroGlitches), 1, 100},
	} {
		if err := check(c.f, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	return nil
}

// RuleScope is what a rule override applies to.
type RuleScope string

// The override scopes, from the widest to the narrowest: a bin's settings
// are the defaults, then its stream's override, then its zone's, then its
// own.
const (
	ScopeStream RuleScope = "stream"
	ScopeZone   RuleScope = "zone"
	ScopeBin    RuleScope = "bin"
)

// RuleOverride changes the settings of the bins of one stream, one zone or
// one bin.
type RuleOverride struct {
	Scope    RuleScope    `json:"scope"`
	Target   string       `json:"target"` // the stream, zone id or bin id
	Settings RuleSettings `json:"settings"`
}

// AlertRules is the alert configuration: defaults and overrides.
type AlertRules struct {
	Defaults  RuleSettings   `json:"defaults"`
	Overrides []RuleOverride `json:"overrides"`
	UpdatedAt time.Time      `json:"updated_at,omitzero"`
	UpdatedBy string         `json:"updated_by,omitempty"`
}

// DefaultAlertRules is the configuration before anyone changed it.
func DefaultAlertRules() AlertRules {
	return AlertRules{Defaults: DefaultRuleSettings(), Overrides: []RuleOverride{}}
}

// Validate checks r, naming the field that is wrong.
func (r *AlertRules) Validate() error {
	if err := r.Defaults.Validate(); err != nil {
		return PrefixField("defaults", err)
	}
	seen := map[string]bool{}
	for i, o := range r.Overrides {
		p := "overrides[" + strconv.Itoa(i) + "]"
		switch o.Scope {
		case ScopeStream:
			if !Stream(o.Target).Valid() {
				return FieldError(p+".target", "must be one of trash, recycling, paper, bottles_cans, compost")
			}
		case ScopeZone, ScopeBin:
			if err := ValidateID(p+".target", o.Target); err != nil {
				return err
			}
		default:
			return FieldError(p+".scope", "must be one of stream, zone, bin")
		}
		key := string(o.Scope) + "/" + o.Target
		if seen[key] {
			return FieldError(p, "duplicates an earlier override of %s", key)
		}
		seen[key] = true
		if err := o.Settings.Validate(); err != nil {
			return PrefixField(p+".settings", err)
		}
	}
	return nil
}

// For returns the settings that apply to bin b: built-in defaults, the
// configured defaults, then the overrides of b's stream, zone and b itself.
func (r *AlertRules) For(b *Bin) RuleSettings {
	s := DefaultRuleSettings().merge(r.Defaults)
	for _, scope := range [...]RuleScope{ScopeStream, ScopeZone, ScopeBin} {
		target := b.ID
		switch scope {
		case ScopeStream:
			target = string(b.Stream)
		case ScopeZone:
			target = b.ZoneID
		}
		if target == "" {
			continue
		}
		for i := range r.Overrides {
			if o := &r.Overrides[i]; o.Scope == scope && o.Target == target {
				s = s.merge(o.Settings)
			}
		}
	}
	return s
}

// AlertEvent is what happened to an alert, as notifications report it.
type AlertEvent string

// The alert events.
const (
	EventOpened       AlertEvent = "opened"
	EventAcknowledged AlertEvent = "acknowledged"
	EventResolved     AlertEvent = "resolved"
)

// Valid reports whether e is a known event.
func (e AlertEvent) Valid() bool {
	return e == EventOpened || e == EventAcknowledged || e == EventResolved
}

// SubscriptionKind is how a subscription is notified.
type SubscriptionKind string

// The subscription kinds.
const (
	SubWebhook SubscriptionKind = "webhook"
	SubEmail   SubscriptionKind = "email"
)

// Subscription asks for notifications of alert events: JSON webhooks
// signed with Secret, or e-mail. Empty filters match everything.
type Subscription struct {
	ID     string           `json:"id"`
	Name   string           `json:"name,omitempty"`
	Kind   SubscriptionKind `json:"kind"`
	URL    string           `json:"url,omitempty"`    // webhook: http(s) URL
	Secret string           `json:"secret,omitempty"` // webhook: HMAC-SHA256 key; generated when empty, shown once
	Email  string           `json:"email,omitempty"`  // email: the recipient

	Rules       []RuleKind   `json:"rules,omitempty"`        // only these rules
	MinSeverity Severity     `json:"min_severity,omitempty"` // only this severity and above
	Zones       []string     `json:"zones,omitempty"`        // only bins in these zones
	Events      []AlertEvent `json:"events,omitempty"`       // only these events; empty: opened and resolved
	// DigestMinutes batches the notifications of non-critical alerts into
	// one message per window of this many minutes; 0 sends each at once.
	// Critical (fire) alerts are always sent at once.
	DigestMinutes int `json:"digest_minutes,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Validate checks s.
func (s *Subscription) Validate() error {
	if err := ValidateID("id", s.ID); err != nil {
		return err
	}
	switch s.Kind {
	case SubWebhook:
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.URL) > 2048 {
			return FieldError("url", "must be an http or https URL")
		}
		if len(s.Secret) < 16 || len(s.Secret) > 256 {
			return FieldError("secret", "must be 16 to 256 characters")
		}
		if s.Email != "" {
			return FieldError("email", "is for e-mail subscriptions")
		}
	case SubEmail:
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email || len(s.Email) > 254 {
			return FieldError("email", "must be an e-mail address")
		}
		if s.URL != "" {
			return FieldError("url", "is for webhook subscriptions")
		}
	default:
		return FieldError("kind", "must be webhook or email")
	}
	for i, k := range s.Rules {
		if !k.Valid() {
			return FieldError("rules["+strconv.Itoa(i)+"]", "must be one of %s", ruleKindsAsString)
		}
	}
	if s.MinSeverity != "" && !s.MinSeverity.Valid() {
		return FieldError("min_severity", "must be one of info, warning, critical")
	}
	for i, z := range s.Zones {
		if err := ValidateID("zones["+strconv.Itoa(i)+"]", z); err != nil {
			return err
		}
	}
	for i, e := range s.Events {
		if !e.Valid() {
			return FieldError("events["+strconv.Itoa(i)+"]", "must be one of opened, acknowledged, resolved")
		}
	}
	if s.DigestMinutes < 0 || s.DigestMinutes > 24*60 {
		return FieldError("digest_minutes", "must be between 0 and 1440")
	}
	if len(s.Name) > 200 || strings.ContainsAny(s.Name, "\r\n") {
		return FieldError("name", "must be one line of at most 200 characters")
	}
	return nil
}

// Matches reports whether s wants event ev of alert a, whose bin lies in
// zone (empty when the bin has none).
func (s *Subscription) Matches(ev AlertEvent, a *Alert, zone string) bool {
	if len(s.Events) == 0 {
		if ev == EventAcknowledged {
			return false
		}
	} else if !slices.Contains(s.Events, ev) {
		return false
	}
	if len(s.Rules) > 0 && !slices.Contains(s.Rules, a.Rule) {
		return false
	}
	if s.MinSeverity != "" && a.Severity.Rank() < s.MinSeverity.Rank() {
		return false
	}
	if len(s.Zones) > 0 && !slices.Contains(s.Zones, zone) {
		return false
	}
	return true
}

// NotifyAt is when a notification of alert a to s is due if the event
// happens at now: at once for critical alerts and subscriptions without a
// digest, otherwise at the end of the current digest window (windows are
// aligned to Unix time, so every notification of one window shares the
// instant and is delivered together).
func (s *Subscription) NotifyAt(a *Alert, now time.Time) time.Time {
	if s.DigestMinutes <= 0 || a.Severity == SeverityCritical {
		return now
	}
	w := time.Duration(s.DigestMinutes) * time.Minute
	return now.Truncate(w).Add(w)
}

// AlertNotice is the body of one notification: what happened to which
// alert. Webhooks receive it as JSON; digests carry several.
type AlertNotice struct {
	Event AlertEvent `json:"event"`
	Time  time.Time  `json:"time"`
	Alert Alert      `json:"alert"`
	// Zone is the bin's zone; Status its FIWARE WasteContainer status
	// implied by this alert ("ok" once resolved).
	Zone   string `json:"zone,omitempty"`
	Status string `json:"fiware_status"`
}

// Notification is one message waiting in the outbox for one subscription.
// It is written in the same transaction as the alert change it reports, so
// a restart loses none, and deleted once the subscription is deleted.
type Notification struct {
	ID             int64      `json:"id"`
	SubscriptionID string     `json:"subscription_id"`
	AlertID        string     `json:"alert_id"`
	Event          AlertEvent `json:"event"`
	Urgent         bool       `json:"urgent"`  // a critical alert: never digested
	Payload        []byte     `json:"payload"` // an AlertNotice as JSON
	Attempts       int        `json:"attempts"`
	NextAt         time.Time  `json:"next_at"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	Failed         bool       `json:"failed"` // gave up after the last attempt
	LastError      string     `json:"last_error,omitempty"`
}

// AlertStore keeps alerts, their notification outbox, subscriptions and the
// rule configuration. Methods fail with Invalid for input that does not
// validate, NotFound for unknown ids, and Unavailable when the database is
// busy.
type AlertStore interface {
	// OpenAlert stores a new open alert unless an unresolved one of the same
	// bin and rule exists; then that one's LastSeenAt, Value and Message are
	// updated and it is returned with created false. The guarantee holds
	// across concurrent callers and nodes. A created alert's notifications
	// are queued in the same transaction. An empty ID is generated.
	OpenAlert(ctx context.Context, a *Alert) (stored Alert, created bool, err error)
	// AckAlert acknowledges an open alert. Acknowledging an acknowledged
	// alert changes nothing; a resolved one fails with Conflict. A latched
	// alert whose condition cleared (ClearedAt set) is resolved by the
	// acknowledgement.
	AckAlert(ctx context.Context, id, by string, at time.Time) (Alert, error)
	// ResolveAlert resolves an unresolved alert by hand with a note;
	// Conflict if it is resolved already.
	ResolveAlert(ctx context.Context, id, by, note string, at time.Time) (Alert, error)
	// ResolveCleared resolves the unresolved alert of the bin and rule, if
	// any, as SystemActor: its condition cleared. ok is false when there
	// was none. An open alert that Latches is not resolved: its ClearedAt
	// is set (once) and it is returned with ok false; acknowledging it
	// then resolves it. OpenAlert of a firing condition clears ClearedAt.
	ResolveCleared(ctx context.Context, binID string, rule RuleKind, note string, at time.Time) (a Alert, ok bool, err error)
	Alert(ctx context.Context, id string) (Alert, error)
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// CountAlerts counts the alerts f selects (its Limit, Offset and Sort
	// aside).
	CountAlerts(ctx context.Context, f AlertFilter) (int, error)
	// UnresolvedAlertCounts counts the unresolved alerts by status, and
	// the critical ones among them.
	UnresolvedAlertCounts(ctx context.Context) (AlertCounts, error)

	// CreateSubscription stores s; Conflict when the id is taken.
	CreateSubscription(ctx context.Context, s *Subscription) error
	Subscription(ctx context.Context, id string) (Subscription, error)
	ListSubscriptions(ctx context.Context) ([]Subscription, error)
	// DeleteSubscription deletes s and its undelivered notifications.
	DeleteSubscription(ctx context.Context, id string) error

	// AlertRules returns the rule configuration; DefaultAlertRules when it
	// was never set.
	AlertRules(ctx context.Context) (AlertRules, error)
	// SetAlertRules validates and replaces the configuration.
	SetAlertRules(ctx context.Context, r *AlertRules) error

	// ClaimNotifications returns up to limit undelivered, not failed
	// notifications due at now, oldest first, and hides them from other
	// claims until now+lease: a worker that dies mid-delivery loses
	// nothing. Concurrent claimers (several nodes) never get the same row
	// within a lease.
	ClaimNotifications(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Notification, error)
	// MarkDelivered records a delivery; the row is kept as history.
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	// RescheduleNotification records a failed attempt: Attempts grows by
	// one and the notification is due again at next, or, with failed set,
	// never again.
	RescheduleNotification(ctx context.Context, id int64, next time.Time, lastErr string, failed bool) error
	// PruneNotifications deletes the delivered and failed notifications
	// created before before and returns how many.
	PruneNotifications(ctx context.Context, before time.Time) (int, error)
}
