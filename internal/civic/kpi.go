package civic

import (
	"context"
	"slices"
	"time"
)

// Leadership KPIs: what sensor-driven collection changes, from the city's
// own records, by week and by zone.
//
// The baseline is what a city without sensors does: every active bin
// emptied on every service day of the configured fixed schedule (the
// planner's ServiceDays for the bin's zone and stream; Monday to Saturday
// by default), from the day the bin was installed (when its installation
// date is unknown: registered in civic, or first collected if that is
// earlier, as with imported history) and never before civic's records
// begin (the first recorded collection). Collections avoided are the
// baseline's visits less the collections made.
//
// Distance saved assumes each avoided visit would have cost the plans' own
// average: planned kilometres of routes per bin stop over the plans of the
// period (of all plans when the period has none). CO2 is that distance
// times CO2KgPerKm.

// CO2KgPerKm is the CO2 a refuse truck emits per kilometre: about 0.6 L
// of diesel per km in stop-and-go collection work at 2.68 kg CO2 per litre.
const CO2KgPerKm = 1.6

// LateAfter is how long after its planned arrival a stop may be reported
// and still count as on time.
const LateAfter = 15 * time.Minute

// MaxKPIDays bounds the period of one KPI report (53 weeks).
const MaxKPIDays = 371

// KPIQuery selects a KPI report. From and To are local dates (YYYY-MM-DD
// in Location), both included; Zone, when set, keeps one zone.
type KPIQuery struct {
	From, To string
	Zone     string
	// Location is the city's time zone: days and weeks (Monday to Sunday)
	// are local. UTC when nil.
	Location *time.Location
	// Now is when the report is made: the fleet's health is as of now, and
	// the period ends today at the latest.
	Now time.Time
}

// Normalize fills defaults and checks q as of now: To defaults to
// yesterday (the last complete day) and is capped at today; From defaults
// to the Monday seven weeks before To's week (eight weeks in all). Errors:
// Invalid naming from, to or zone.
func (q *KPIQuery) Normalize(now time.Time) error {
	if q.Location == nil {
		q.Location = time.UTC
	}
	if q.Now.IsZero() {
		q.Now = now
	}
	today := DayOf(q.Now, q.Location)
	to := today.AddDate(0, 0, -1)
	if q.To != "" {
		t, err := ParseDay("to", q.To, q.Location)
		if err != nil {
			return err
		}
		to = t
	}
	if to.After(today) {
		to = today
	}
	from := WeekOf(to).AddDate(0, 0, -7*7)
	if q.From != "" {
		t, err := ParseDay("from", q.From, q.Location)
		if err != nil {
			return err
		}
		from = t
	}
	if from.After(to) {
		return FieldError("from", "must not be after to (%s)", to.Format(time.DateOnly))
	}
	if days := DaysBetween(from, to) + 1; days > MaxKPIDays {
		return FieldError("from", "the period is %d days; at most %d", days, MaxKPIDays)
	}
	if q.Zone != "" {
		if err := ValidateID("zone", q.Zone); err != nil {
			return err
		}
	}
	q.From, q.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	return nil
}

// Days returns the local midnights of q's days, From to To, after
// Normalize.
func (q *KPIQuery) Days() []time.Time {
	from, _ := time.ParseInLocation(time.DateOnly, q.From, q.Location)
	to, _ := time.ParseInLocation(time.DateOnly, q.To, q.Location)
	var out []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// DayOf is the local midnight of t's day in loc.
func DayOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// ParseDay parses a day given as YYYY-MM-DD into its midnight in loc.
// Errors: Invalid, naming field.
func ParseDay(field, day string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return time.Time{}, FieldError(field, "must be a date YYYY-MM-DD")
	}
	return t, nil
}

// WeekOf is the Monday of day's week (a local midnight).
func WeekOf(day time.Time) time.Time {
	back := (int(day.Weekday()) + 6) % 7
	return day.AddDate(0, 0, -back)
}

// DaysBetween counts the calendar days from a to b (local midnights, DST
// safe).
func DaysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// OnFixedSchedule reports whether a city without sensors would empty a bin
// of stream in zone on day: day's weekday is one of the policy's service
// days. This is the baseline of the KPIs.
func (s *PlanSettings) OnFixedSchedule(zone string, stream Stream, day time.Weekday) bool {
	return slices.Contains(s.Policy(zone, stream).ServiceDays, day)
}

// KPIFigures are the KPIs of one week, one zone or the whole period. Nil
// pointers are unknown (nothing to compute them from), never zero.
type KPIFigures struct {
	Days int `json:"days"` // days of the period counted (with records)
	// Collections are the bins emptied (crews' reports, the demo's and
	// imported collections alike).
	Collections int `json:"collections"`
	// Baseline is how many visits the fixed schedule would have made.
	Baseline int `json:"baseline"`
	// Avoided is Baseline - Collections (negative: more collections than
	// the fixed schedule), AvoidedPct its share of Baseline.
	Avoided    int      `json:"avoided"`
	AvoidedPct *float64 `json:"avoided_pct,omitempty"`
	// KmRoutes is the planned distance of the routes the crews finished
	// (a route across zones is shared by its bin stops).
	KmRoutes float64 `json:"km_routes"`
	// KmBaseline is Baseline visits at the plans' average km per visit;
	// KmSaved is Avoided at that average and CO2SavedKg its CO2.
	KmBaseline *float64 `json:"km_baseline,omitempty"`
	KmSaved    *float64 `json:"km_saved,omitempty"`
	CO2SavedKg *float64 `json:"co2_saved_kg,omitempty"`
	// Overflows are overflow incidents: collections of a bin whose
	// sensor's last fill before the collection was 100 %, a bin that had
	// filled to the top before the truck came (the full alert, at the
	// bin's full threshold and off by default, is not an overflow).
	Overflows int `json:"overflows"`
	// Fill at collection: how full bins were when emptied (the sensor's
	// last fill before the collection), over the FillN collections that
	// know it.
	FillN            int      `json:"fill_n"`
	FillMean         *float64 `json:"fill_mean,omitempty"`
	FillUnderHalf    int      `json:"fill_under_half"`
	FillUnderHalfPct *float64 `json:"fill_under_half_pct,omitempty"`
	// Planned versus actual: bin stops of the plans (not drafts) of the
	// period and what the crews reported; Late are reported more than
	// LateAfter after their ETA.
	StopsPlanned   int `json:"stops_planned"`
	StopsCollected int `json:"stops_collected"`
	StopsSkipped   int `json:"stops_skipped"`
	StopsPending   int `json:"stops_pending"`
	StopsLate      int `json:"stops_late"`
	// 311 requests and their service level.
	KPIServiceLevel
}

// KPIServiceLevel is 311's part of the KPIs. Requests are the service
// requests received (those a moderator hid as abuse left out; those held
// for moderation count, their promised time running while they wait: the
// resident has been waiting since submitting, and the queue shows them to
// the staff who can release them). Their
// service level counts the requests with a promised time (their service's
// SLA) that are not duplicates: SLAMet were closed by it, SLAMissed were
// closed after it or are still open past it as of the report, SLAOpen are
// open and not yet due. SLAMetPct is SLAMet of SLAMet + SLAMissed.
type KPIServiceLevel struct {
	Requests  int      `json:"requests"`
	SLAMet    int      `json:"sla_met"`
	SLAMissed int      `json:"sla_missed"`
	SLAOpen   int      `json:"sla_open"`
	SLAMetPct *float64 `json:"sla_met_pct,omitempty"`
	// CloseHoursMedian is the median time from submission to closing, in
	// hours, of those requests closed (duplicates left out); nil when none
	// is.
	CloseHoursMedian *float64 `json:"close_hours_median,omitempty"`
}

// Add sums o's counts into f (before Finish); Days is the caller's.
func (f *KPIFigures) Add(o KPIFigures) {
	f.Collections += o.Collections
	f.Baseline += o.Baseline
	f.KmRoutes += o.KmRoutes
	f.Overflows += o.Overflows
	f.FillN += o.FillN
	f.FillUnderHalf += o.FillUnderHalf
	f.StopsPlanned += o.StopsPlanned
	f.StopsCollected += o.StopsCollected
	f.StopsSkipped += o.StopsSkipped
	f.StopsPending += o.StopsPending
	f.StopsLate += o.StopsLate
	f.Requests += o.Requests
	f.SLAMet += o.SLAMet
	f.SLAMissed += o.SLAMissed
	f.SLAOpen += o.SLAOpen
}

// Finish derives the shares and distances from the counts: fillSum is the
// sum of the FillN fills, kmPerVisit the plans' average (nil: unknown).
func (f *KPIFigures) Finish(fillSum float64, kmPerVisit *float64) {
	f.Avoided = f.Baseline - f.Collections
	f.AvoidedPct, f.FillMean, f.FillUnderHalfPct, f.SLAMetPct = nil, nil, nil, nil
	if due := f.SLAMet + f.SLAMissed; due > 0 {
		v := float64(f.SLAMet) / float64(due)
		f.SLAMetPct = &v
	}
	f.KmBaseline, f.KmSaved, f.CO2SavedKg = nil, nil, nil
	if f.Baseline > 0 {
		v := float64(f.Avoided) / float64(f.Baseline)
		f.AvoidedPct = &v
	}
	if f.FillN > 0 {
		m, u := fillSum/float64(f.FillN), float64(f.FillUnderHalf)/float64(f.FillN)
		f.FillMean, f.FillUnderHalfPct = &m, &u
	}
	if kmPerVisit != nil {
		base, saved := float64(f.Baseline)**kmPerVisit, float64(f.Avoided)**kmPerVisit
		co2 := saved * CO2KgPerKm
		f.KmBaseline, f.KmSaved, f.CO2SavedKg = &base, &saved, &co2
	}
}

// KPIWeek is one week's figures; Week is its Monday (YYYY-MM-DD). The
// first and last weeks may be partial: Days says how many days counted.
type KPIWeek struct {
	Week string `json:"week"`
	KPIFigures
}

// KPIZone is one zone's figures over the period. ZoneID is empty for bins
// outside every zone (and bins deleted since).
type KPIZone struct {
	ZoneID string `json:"zone_id"`
	Name   string `json:"name"`
	KPIFigures
}

// KPIService is one 311 service's requests received in the period (in
// the zone, for a zone's report), counted as KPIFigures counts them. A
// report lists the services with at least one request, by name.
type KPIService struct {
	Code string `json:"service_code"`
	Name string `json:"service_name"`
	KPIServiceLevel
	// Weeks are the same figures by the week the requests came in, one
	// for every week of the report (KPIReport.Weeks), empty ones included.
	Weeks []KPIServiceWeek `json:"weeks"`
}

// KPIServiceWeek is one service's requests received in one week; Week is
// its Monday (YYYY-MM-DD).
type KPIServiceWeek struct {
	Week string `json:"week"`
	KPIServiceLevel
}

// KPIFillBucket counts the collections whose fill before emptying was in
// [From, To) (the last bucket includes 1).
type KPIFillBucket struct {
	From float64 `json:"from"`
	To   float64 `json:"to"`
	N    int     `json:"n"`
}

// KPIFleet sums the sensors' health as of the report (HealthStatus
// counts); of the zone's bins when the report is for a zone.
type KPIFleet struct {
	Devices      int `json:"devices"`
	OK           int `json:"ok"`
	Offline      int `json:"offline"`
	LowBattery   int `json:"low_battery"`
	DecodeErrors int `json:"decode_errors"`
	NeverSeen    int `json:"never_seen"`
	Inactive     int `json:"inactive"`
}

// Count adds a device of status s.
func (f *KPIFleet) Count(s HealthStatus) {
	f.Devices++
	switch s {
	case HealthOK:
		f.OK++
	case HealthOffline:
		f.Offline++
	case HealthLowBattery:
		f.LowBattery++
	case HealthDecodeErrors:
		f.DecodeErrors++
	case HealthNeverSeen:
		f.NeverSeen++
	case HealthInactive:
		f.Inactive++
	}
}

// KPIAssumptions are the figures the report's estimates rest on.
type KPIAssumptions struct {
	// RecordsFrom is the first day with a recorded collection: the
	// baseline counts no day before it. Empty when there is none.
	RecordsFrom string `json:"records_from,omitempty"`
	// KmPerVisit is the plans' planned kilometres per bin stop, over
	// KmPerVisitPlans plans; nil when there are no plans.
	KmPerVisit      *float64 `json:"km_per_visit,omitempty"`
	KmPerVisitPlans int      `json:"km_per_visit_plans"`
	// KmPerVisitScope is "period" (the plans of the period) or "all" (no
	// plan in the period: every plan).
	KmPerVisitScope string  `json:"km_per_visit_scope,omitempty"`
	CO2KgPerKm      float64 `json:"co2_kg_per_km"`
	LateAfterMin    float64 `json:"late_after_min"`
	// Schedule describes the fixed schedule of the baseline by stream,
	// e.g. {"trash": "Mon Tue Wed Thu Fri Sat"} (zone overrides apply).
	Schedule map[Stream]string `json:"schedule"`
}

// KPIReport is the KPI dashboard's data.
type KPIReport struct {
	From        string          `json:"from"`
	To          string          `json:"to"`
	Zone        string          `json:"zone,omitempty"`
	Total       KPIFigures      `json:"total"`
	Weeks       []KPIWeek       `json:"weeks"`
	Zones       []KPIZone       `json:"zones"`
	Services    []KPIService    `json:"services"`
	Fill        []KPIFillBucket `json:"fill_histogram"`
	Fleet       KPIFleet        `json:"fleet"`
	Assumptions KPIAssumptions  `json:"assumptions"`
}

// KPIStore computes KPI reports from the operations records. *store.Store
// implements it.
type KPIStore interface {
	// KPIs returns the report q selects; q must be normalized. Errors:
	// Invalid (a query that was not).
	KPIs(ctx context.Context, q KPIQuery) (KPIReport, error)
}

// Median returns the median of xs (the mean of the two middle values of
// an even count), reordering xs; nil for none.
func Median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + m) / 2
	}
	return &m
}
