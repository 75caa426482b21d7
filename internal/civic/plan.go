package civic

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// FacilityKind says what a disposal facility is.
type FacilityKind string

// The facility kinds.
const (
	FacilityTransfer  FacilityKind = "transfer_station"
	FacilityRecycling FacilityKind = "recycling_centre"
	FacilityLandfill  FacilityKind = "landfill"
	FacilityCompost   FacilityKind = "composting_site"
)

// Valid reports whether k is a known facility kind.
func (k FacilityKind) Valid() bool {
	switch k {
	case FacilityTransfer, FacilityRecycling, FacilityLandfill, FacilityCompost:
		return true
	}
	return false
}

// Facility is where trucks unload: a transfer station, recycling centre,
// landfill or composting site. A truck that fills up drives to one that
// accepts its stream, unloads and goes on.
type Facility struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Kind    FacilityKind `json:"kind"`
	Lat     float64      `json:"lat"`
	Lon     float64      `json:"lon"`
	Address string       `json:"address,omitempty"`
	Streams []Stream     `json:"streams"` // the streams it accepts
	Opens   string       `json:"opens"`   // HH:MM in the city's time zone
	Closes  string       `json:"closes"`
	// UnloadMin is how long unloading a truck takes, in minutes.
	UnloadMin float64     `json:"unload_min"`
	Status    AssetStatus `json:"status"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// Normalize fills defaults.
func (f *Facility) Normalize() {
	if f.Status == "" {
		f.Status = StatusActive
	}
	if f.Kind == "" {
		f.Kind = FacilityTransfer
	}
	if len(f.Streams) == 0 {
		f.Streams = []Stream{StreamTrash}
	}
	if f.Opens == "" {
		f.Opens = "05:00"
	}
	if f.Closes == "" {
		f.Closes = "20:00"
	}
	if f.UnloadMin == 0 {
		f.UnloadMin = 15
	}
}

// Validate checks f.
func (f *Facility) Validate() error {
	if err := ValidateID("id", f.ID); err != nil {
		return err
	}
	if strings.TrimSpace(f.Name) == "" {
		return FieldError("name", "is required")
	}
	if !f.Kind.Valid() {
		return FieldError("kind", "must be one of transfer_station, recycling_centre, landfill, composting_site")
	}
	if err := ValidateLatLon(f.Lat, f.Lon); err != nil {
		return err
	}
	if len(f.Streams) == 0 {
		return FieldError("streams", "must name at least one stream")
	}
	for i, s := range f.Streams {
		if !s.Valid() {
			return FieldError("streams", "entry %d: must be one of trash, recycling, paper, bottles_cans, compost", i)
		}
	}
	opens, err := ParseClock(f.Opens)
	if err != nil {
		return FieldError("opens", "must be a time HH:MM")
	}
	closes, err := ParseClock(f.Closes)
	if err != nil {
		return FieldError("closes", "must be a time HH:MM")
	}
	if closes <= opens {
		return FieldError("closes", "must be after opens")
	}
	if !(f.UnloadMin > 0) || f.UnloadMin > 240 {
		return FieldError("unload_min", "must be between 0 and 240 minutes")
	}
	if !f.Status.Valid() {
		return FieldError("status", "must be one of active, inactive, maintenance, removed")
	}
	return nil
}

// Accepts reports whether the facility takes stream s.
func (f *Facility) Accepts(s Stream) bool { return slices.Contains(f.Streams, s) }

// Decision is what the planner decided for one bin on one service day.
type Decision string

// The decisions.
const (
	MustGo Decision = "must" // empty it today
	MayGo  Decision = "may"  // empty it if it is cheap to add; the solver decides
	Skip   Decision = "skip" // leave it
)

// BinDecision is the planner's verdict on one bin, with the reason a person
// can read ("forecast full Thu 09:40, before the next service day").
type BinDecision struct {
	BinID    string     `json:"bin_id"`
	Stream   Stream     `json:"stream"`
	Decision Decision   `json:"decision"`
	Reason   string     `json:"reason"`
	Fill     *float64   `json:"fill,omitempty"`    // the fill known when planning
	FullAt   *time.Time `json:"full_at,omitempty"` // the forecast, when there was one
	// LoadL is the waste expected at the bin when the truck arrives, in
	// litres before compaction.
	LoadL float64 `json:"load_l"`
}

// PlanStatus is where a plan is in its life.
type PlanStatus string

// The plan statuses, in order. A draft may be edited and re-optimised;
// a locked plan is handed to the crews; it is in progress once a crew
// reports a stop, and done when every route is finished.
const (
	PlanDraft      PlanStatus = "draft"
	PlanLocked     PlanStatus = "locked"
	PlanInProgress PlanStatus = "in_progress"
	PlanDone       PlanStatus = "done"
)

// Valid reports whether s is a known plan status.
func (s PlanStatus) Valid() bool {
	switch s {
	case PlanDraft, PlanLocked, PlanInProgress, PlanDone:
		return true
	}
	return false
}

// CanBecome reports whether a plan may move from s to next.
func (s PlanStatus) CanBecome(next PlanStatus) bool {
	switch s {
	case PlanDraft:
		return next == PlanLocked
	case PlanLocked:
		return next == PlanInProgress || next == PlanDone || next == PlanDraft
	case PlanInProgress:
		return next == PlanDone
	}
	return false
}

// Plan is one service day's collection: which bins, which trucks, in what
// order. Date is the local service day (YYYY-MM-DD in the city's zone).
type Plan struct {
	ID        string        `json:"id"`
	Date      string        `json:"date"`
	Status    PlanStatus    `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	CreatedBy string        `json:"created_by,omitempty"` // user name, or "scheduler"
	Routes    []Route       `json:"routes"`
	Decisions []BinDecision `json:"decisions,omitempty"`
	// Unplanned lists must-go bins that no truck could take (no truck of
	// their stream, or the fleet's shifts are full), with the reason.
	Unplanned []BinDecision `json:"unplanned,omitempty"`
	Stats     PlanStats     `json:"stats"`
}

// PlanStats sums a plan up.
type PlanStats struct {
	MustGo    int     `json:"must_go"`
	MayGo     int     `json:"may_go"`
	Skipped   int     `json:"skipped"`
	Planned   int     `json:"planned"` // bin stops in routes
	DistanceM float64 `json:"distance_m"`
	DurationS float64 `json:"duration_s"`
	SolveS    float64 `json:"solve_s"` // seconds the solver ran
	// Objective is the solver's: travel cost less the prizes of the
	// may-go bins planned. Prizes is what every may-go bin offered, so
	// Objective + Prizes (travel plus prizes forgone) is never negative.
	Objective  float64 `json:"objective"`
	Prizes     float64 `json:"prizes"`
	Matrix     string  `json:"matrix"` // "haversine" or "osrm"
	Disposals  int     `json:"disposals"`
	Unassigned int     `json:"unassigned"` // must-go bins left out
}

// RouteStatus tracks a route's progress.
type RouteStatus string

// The route statuses.
const (
	RoutePlanned    RouteStatus = "planned"
	RouteInProgress RouteStatus = "in_progress"
	RouteDone       RouteStatus = "done"
)

// Route is one truck's work for the day, depot to depot.
type Route struct {
	ID        string      `json:"id"`
	PlanID    string      `json:"plan_id"`
	Seq       int         `json:"seq"` // 1-based, for colours and labels
	TruckID   string      `json:"truck_id"`
	CrewID    string      `json:"crew_id,omitempty"`
	DepotID   string      `json:"depot_id"`
	Stream    Stream      `json:"stream"`
	Status    RouteStatus `json:"status"`
	Start     time.Time   `json:"start"`
	End       time.Time   `json:"end"`
	DistanceM float64     `json:"distance_m"`
	DurationS float64     `json:"duration_s"`
	CapacityL float64     `json:"capacity_l"` // loose litres the truck holds (body volume × compaction)
	Stops     []Stop      `json:"stops"`
}

// StopKind says what happens at a stop.
type StopKind string

// The stop kinds. Every route starts and ends with a depot stop.
const (
	StopDepot    StopKind = "depot"
	StopBin      StopKind = "bin"
	StopDisposal StopKind = "disposal"
	StopBreak    StopKind = "break"
)

// StopStatus is a stop's outcome so far.
type StopStatus string

// The stop statuses.
const (
	StopPending   StopStatus = "pending"
	StopCollected StopStatus = "collected"
	StopSkipped   StopStatus = "skipped"
)

// SkipReason says why a crew left a bin.
type SkipReason string

// The skip reasons a crew can give.
const (
	SkipBlocked  SkipReason = "blocked"
	SkipNotFound SkipReason = "not_found"
	SkipDamaged  SkipReason = "damaged"
	SkipNotFull  SkipReason = "not_full"
)

// Valid reports whether r is a known skip reason.
func (r SkipReason) Valid() bool {
	switch r {
	case SkipBlocked, SkipNotFound, SkipDamaged, SkipNotFull:
		return true
	}
	return false
}

// Stop is one visit of a route, in order.
type Stop struct {
	ID         string   `json:"id"`
	RouteID    string   `json:"route_id"`
	Seq        int      `json:"seq"` // 0 is the departure from the depot
	Kind       StopKind `json:"kind"`
	BinID      string   `json:"bin_id,omitempty"`
	FacilityID string   `json:"facility_id,omitempty"`
	Name       string   `json:"name,omitempty"`
	Address    string   `json:"address,omitempty"`
	Lat        float64  `json:"lat"`
	Lon        float64  `json:"lon"`
	// ETA is the planned arrival, Depart the planned departure.
	ETA        time.Time `json:"eta"`
	Depart     time.Time `json:"depart"`
	LoadBefore float64   `json:"load_before_l"`
	LoadAfter  float64   `json:"load_after_l"`
	DistanceM  float64   `json:"distance_m"` // driven from the previous stop
	Decision   Decision  `json:"decision,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	// Window is the bin's access window, "HH:MM-HH:MM", if it has one.
	Window string `json:"window,omitempty"`
	// What the crew reported.
	Status     StopStatus `json:"status"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
	SkipReason SkipReason `json:"skip_reason,omitempty"`
	FillSeen   *float64   `json:"fill_seen,omitempty"` // the crew's estimate, 0..1
	// FillAtArrival is the sensor's last fill before the crew's report.
	FillAtArrival *float64 `json:"fill_at_arrival,omitempty"`
}

// StopReport is what a crew sends about a stop. ClientID is generated on
// the phone, so a report sent twice (after a lost answer, or from the
// offline queue) is applied once.
type StopReport struct {
	ClientID   string     `json:"client_id"`
	StopID     string     `json:"stop_id"`
	Status     StopStatus `json:"status"` // collected or skipped
	SkipReason SkipReason `json:"skip_reason,omitempty"`
	FillSeen   *float64   `json:"fill_seen,omitempty"`
	Note       string     `json:"note,omitempty"`
	At         time.Time  `json:"at"` // when the crew acted (the phone's clock), bounded by the server
	By         string     `json:"by,omitempty"`
	// Photo is an optional JPEG or PNG of the bin, at most MaxPhotoBytes.
	Photo     []byte `json:"-"`
	PhotoType string `json:"-"`
}

// MaxPhotoBytes bounds a stop report's photo.
const MaxPhotoBytes = 4 << 20

// Validate checks r.
func (r *StopReport) Validate() error {
	if err := ValidateID("client_id", r.ClientID); err != nil {
		return err
	}
	if err := ValidateID("stop_id", r.StopID); err != nil {
		return err
	}
	switch r.Status {
	case StopCollected:
		if r.SkipReason != "" {
			return FieldError("skip_reason", "only a skipped stop has a reason")
		}
	case StopSkipped:
		if !r.SkipReason.Valid() {
			return FieldError("skip_reason", "must be one of blocked, not_found, damaged, not_full")
		}
	default:
		return FieldError("status", "must be collected or skipped")
	}
	if r.FillSeen != nil && !(*r.FillSeen >= 0 && *r.FillSeen <= 1) {
		return FieldError("fill_seen", "must be between 0 and 1")
	}
	if len(r.Note) > 1000 {
		return FieldError("note", "must be at most 1000 characters")
	}
	if len(r.Photo) > MaxPhotoBytes {
		return FieldError("photo", "must be at most %d bytes", MaxPhotoBytes)
	}
	if len(r.Photo) > 0 && r.PhotoType != "image/jpeg" && r.PhotoType != "image/png" {
		return FieldError("photo", "must be a JPEG or PNG image")
	}
	return nil
}

// Collection is a bin emptied: a collection event, published as FIWARE
// WasteObserved.
type Collection struct {
	ID       string    `json:"id"`
	BinID    string    `json:"bin_id"`
	Time     time.Time `json:"time"`
	StopID   string    `json:"stop_id,omitempty"`
	RouteID  string    `json:"route_id,omitempty"`
	PlanID   string    `json:"plan_id,omitempty"`
	TruckID  string    `json:"truck_id,omitempty"`
	CrewID   string    `json:"crew_id,omitempty"`
	By       string    `json:"by,omitempty"` // user name
	FillSeen *float64  `json:"fill_seen,omitempty"`
	// FillBefore is the sensor's last fill before the collection.
	FillBefore *float64 `json:"fill_before,omitempty"`
	Source     string   `json:"source"` // crew, demo, import, api
	HasPhoto   bool     `json:"has_photo,omitempty"`
}

// CollectionFilter selects collections. Zero values do not filter.
type CollectionFilter struct {
	BinID  string
	PlanID string
	From   time.Time // inclusive
	To     time.Time // exclusive
	Limit  int
	Offset int // collections skipped, newest first
}

// PlanFilter selects plans. Zero values do not filter.
type PlanFilter struct {
	From, To string // dates, inclusive
	Status   PlanStatus
	Limit    int
}

// PlanStore keeps plans, routes, stops and collections.
type PlanStore interface {
	CreateFacility(ctx context.Context, f *Facility) error
	UpdateFacility(ctx context.Context, f *Facility) error
	DeleteFacility(ctx context.Context, id string) error
	Facility(ctx context.Context, id string) (Facility, error)
	ListFacilities(ctx context.Context) ([]Facility, error)

	// SavePlan stores a new plan with its routes and stops in one
	// transaction; Conflict if a plan for the date exists that is not a
	// draft. A draft for the same date is replaced.
	SavePlan(ctx context.Context, p *Plan) error
	// ReplaceDraft stores a re-planned draft (after an edit and
	// re-optimisation): p's routes, decisions, unplanned bins and stats
	// replace those of the plan p.ID, which keeps its date, status and
	// creation; Conflict unless the plan is a draft.
	ReplaceDraft(ctx context.Context, p *Plan) (Plan, error)
	Plan(ctx context.Context, id string) (Plan, error)
	PlanForDate(ctx context.Context, date string) (Plan, error)
	ListPlans(ctx context.Context, f PlanFilter) ([]Plan, error) // without routes' stops
	// SetPlanStatus moves a plan from one status to the next; Conflict
	// when it is not in from.
	SetPlanStatus(ctx context.Context, id string, from, to PlanStatus) (Plan, error)
	Route(ctx context.Context, id string) (Route, error)
	// RouteOfStop returns the route, with its stops, that holds stop
	// stopID; NotFound when no route does.
	RouteOfStop(ctx context.Context, stopID string) (Route, error)
	// RoutesFor returns the routes of the plan for date (not drafts)
	// assigned to crewID, or to every crew when crewID is empty.
	RoutesFor(ctx context.Context, date, crewID string) ([]Route, error)
	// ReportStop applies a crew's report in one transaction: the stop's
	// status, a collection event for a collected bin, the bin's live fill
	// set to empty, the route and plan moved to in progress or done. A
	// report whose ClientID was applied before returns the stop as it is,
	// with applied false.
	ReportStop(ctx context.Context, r *StopReport) (stop Stop, c *Collection, applied bool, err error)
	// RecordCollection stores a collection not tied to a stop (the demo,
	// an import) and empties the bin's live state.
	RecordCollection(ctx context.Context, c *Collection) error
	ListCollections(ctx context.Context, f CollectionFilter) ([]Collection, error)
	// LastCollections returns each bin's latest collection time.
	LastCollections(ctx context.Context) (map[string]time.Time, error)
	StopPhoto(ctx context.Context, stopID string) ([]byte, string, error)

	// PlanSettings returns the planner's settings, or
	// DefaultPlanSettings() (UpdatedAt zero) when none were set.
	PlanSettings(ctx context.Context) (PlanSettings, error)
	// SetPlanSettings replaces them; UpdatedAt is set by the store.
	// Errors: Invalid.
	SetPlanSettings(ctx context.Context, s *PlanSettings) error
}

// PlanPolicy holds the planner's thresholds for one stream (and,
// overridden, one zone).
type PlanPolicy struct {
	// MayGoFill is the expected fill at collection time from which a bin
	// may be added (0..1).
	MayGoFill float64 `json:"may_go_fill"`
	// MustGoFill is the threshold the forecast must not pass before the
	// next service day; 0 uses each bin's own full threshold.
	MustGoFill float64 `json:"must_go_fill"`
	// HygieneDays is the longest a bin may go without being emptied.
	HygieneDays float64 `json:"hygiene_days"`
	// RecentHours: a bin emptied within this many hours is skipped.
	RecentHours float64 `json:"recent_hours"`
	// ServiceDays are the weekdays the stream is collected, 0 = Sunday.
	ServiceDays []time.Weekday `json:"service_days"`
	// OverflowRisk is the chance the city accepts, 0.01 to 0.5, that a bin
	// left for its next chance fills before then: the planner leaves a bin
	// only when its forecast gives it at most that chance. Lower empties
	// bins earlier (more visits, less overflow), 0.5 trusts the forecast's
	// median. 0 means DefaultOverflowRisk.
	OverflowRisk float64 `json:"overflow_risk,omitempty"`
}

// DefaultOverflowRisk is the planner's overflow risk when a policy sets
// none: the early end of a forecast's band, about one chance in ten.
const DefaultOverflowRisk = 0.1

// MustGoLine is the fill bin b must not pass before its next chance:
// MustGoFill, or b's own full threshold when MustGoFill is 0.
func (p PlanPolicy) MustGoLine(b *Bin) float64 {
	if p.MustGoFill > 0 {
		return p.MustGoFill
	}
	return b.Threshold()
}

// Risk is p's OverflowRisk, DefaultOverflowRisk when unset.
func (p PlanPolicy) Risk() float64 {
	if p.OverflowRisk > 0 {
		return p.OverflowRisk
	}
	return DefaultOverflowRisk
}

// PlanSettings configures the planner: defaults, per stream, per zone and
// stream. Zone overrides take precedence over stream ones.
type PlanSettings struct {
	Default PlanPolicy                       `json:"default"`
	Streams map[Stream]PlanPolicy            `json:"streams,omitempty"`
	Zones   map[string]map[Stream]PlanPolicy `json:"zones,omitempty"`
	// ServiceMin is the minutes at a bin by kind: "compacting" and "basket".
	CompactingServiceMin float64 `json:"compacting_service_min"`
	BasketServiceMin     float64 `json:"basket_service_min"`
	// CompactionRatio is how much a truck compresses loose waste.
	CompactionRatio float64 `json:"compaction_ratio"`
	// BreakAfterMin and BreakMin: a crew break of BreakMin minutes once
	// BreakAfterMin minutes of the shift have passed.
	BreakAfterMin float64 `json:"break_after_min"`
	BreakMin      float64 `json:"break_min"`
	// Circuity multiplies great-circle distances to approximate roads;
	// SpeedKmh turns them into driving time.
	Circuity float64 `json:"circuity"`
	SpeedKmh float64 `json:"speed_kmh"`
	// Set by the store: when and by whom the settings were last changed;
	// a zero UpdatedAt means they are civic's defaults.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// DefaultPlanSettings are civic's defaults: collection six days a week,
// compost at most 3 days between collections and the rest 7.
func DefaultPlanSettings() PlanSettings {
	week := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	return PlanSettings{
		Default: PlanPolicy{MayGoFill: 0.6, HygieneDays: 7, RecentHours: 12, ServiceDays: week},
		Streams: map[Stream]PlanPolicy{
			StreamCompost: {MayGoFill: 0.5, HygieneDays: 3, RecentHours: 12, ServiceDays: week},
		},
		CompactingServiceMin: 2,
		BasketServiceMin:     1,
		CompactionRatio:      3,
		BreakAfterMin:        240,
		BreakMin:             30,
		Circuity:             1.35,
		SpeedKmh:             25,
	}
}

// Policy returns the policy for a stream in a zone.
func (s *PlanSettings) Policy(zone string, stream Stream) PlanPolicy {
	if z, ok := s.Zones[zone]; ok {
		if p, ok := z[stream]; ok {
			return p
		}
	}
	if p, ok := s.Streams[stream]; ok {
		return p
	}
	return s.Default
}

// Validate checks s.
func (s *PlanSettings) Validate() error {
	check := func(field string, p PlanPolicy) error {
		switch {
		case !(p.MayGoFill >= 0 && p.MayGoFill <= 1):
			return FieldError(field+".may_go_fill", "must be between 0 and 1")
		case !(p.MustGoFill >= 0 && p.MustGoFill <= 1):
			return FieldError(field+".must_go_fill", "must be between 0 and 1")
		case !(p.HygieneDays >= 0 && p.HygieneDays <= 365):
			return FieldError(field+".hygiene_days", "must be between 0 and 365")
		case !(p.RecentHours >= 0 && p.RecentHours <= 24*7):
			return FieldError(field+".recent_hours", "must be between 0 and 168")
		case len(p.ServiceDays) == 0:
			return FieldError(field+".service_days", "must name at least one weekday")
		case p.OverflowRisk != 0 && !(p.OverflowRisk >= 0.01 && p.OverflowRisk <= 0.5):
			return FieldError(field+".overflow_risk", "must be between 0.01 and 0.5 (or 0 for the default, %g)", DefaultOverflowRisk)
		}
		for _, d := range p.ServiceDays {
			if d < time.Sunday || d > time.Saturday {
				return FieldError(field+".service_days", "weekdays are 0 (Sunday) to 6")
			}
		}
		return nil
	}
	if err := check("default", s.Default); err != nil {
		return err
	}
	for st, p := range s.Streams {
		if !st.Valid() {
			return FieldError("streams", "unknown stream %q", st)
		}
		if err := check("streams."+string(st), p); err != nil {
			return err
		}
	}
	for z, m := range s.Zones {
		for st, p := range m {
			if err := check("zones."+z+"."+string(st), p); err != nil {
				return err
			}
		}
	}
	pos := func(field string, v, max float64) error {
		if !(v > 0 && v <= max) || math.IsInf(v, 0) {
			return FieldError(field, "must be positive and at most %g", max)
		}
		return nil
	}
	for _, c := range []struct {
		f      string
		v, max float64
	}{
		{"compacting_service_min", s.CompactingServiceMin, 60},
		{"basket_service_min", s.BasketServiceMin, 60},
		{"compaction_ratio", s.CompactionRatio, 10},
		{"circuity", s.Circuity, 5},
		{"speed_kmh", s.SpeedKmh, 130},
	} {
		if err := pos(c.f, c.v, c.max); err != nil {
			return err
		}
	}
	if s.BreakAfterMin < 0 || s.BreakMin < 0 {
		return FieldError("break_min", "must not be negative")
	}
	return nil
}

// StopMove is a supervisor's edit of a draft plan: bin BinID goes to route
// ToRoute, or leaves the plan when ToRoute is empty.
type StopMove struct {
	BinID   string `json:"bin_id"`
	ToRoute string `json:"to_route,omitempty"`
}

// Planner makes and edits collection plans and takes the crews' reports.
// The same service serves the API, the pages, the CLI and the nightly job.
type Planner interface {
	// MakePlan plans date (YYYY-MM-DD in the city's zone) as a draft,
	// replacing an earlier draft; Conflict when a locked plan exists.
	// progress, if not nil, hears the stage and the fraction done.
	MakePlan(ctx context.Context, date, by string, progress func(stage string, done float64)) (Plan, error)
	// Reoptimise applies moves to a draft and re-solves the rest, warm
	// started from its current routes.
	Reoptimise(ctx context.Context, planID string, moves []StopMove, by string) (Plan, error)
	// SetStatus moves a plan on (lock, unlock, done).
	SetStatus(ctx context.Context, planID string, to PlanStatus, by string) (Plan, error)
	// Report applies a crew's stop report; a collected bin's full and
	// overflow alerts are resolved. applied is false for a resend.
	Report(ctx context.Context, r *StopReport) (stop Stop, applied bool, err error)
}
