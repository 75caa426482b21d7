package plan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
	"github.com/civic-city/civic/internal/route"
)

// SchedulerActor is the CreatedBy of the plans the nightly job makes.
const SchedulerActor = "scheduler"

// NightlyLock is the name of the cluster-wide lock the nightly job takes,
// so that one node of several plans the day.
const NightlyLock = "nightly-plan"

// ServiceOptions configures a Service. Assets, States, Alerts, Plans and
// Solve are required.
type ServiceOptions struct {
	Assets civic.AssetStore
	States civic.ReadingStore // for BinStates
	Alerts civic.AlertStore   // open alerts to weigh; full and overflow alerts to resolve
	Plans  civic.PlanStore
	// Forecaster, if set, forecasts each bin with a reading; without it
	// the planner holds the last reading constant.
	Forecaster civic.Forecaster
	// Settings are the planner's thresholds when none are stored
	// (Plans.PlanSettings); civic.DefaultPlanSettings() when zero. Stored
	// settings win, so a supervisor's change applies to the next plan on
	// every node.
	Settings civic.PlanSettings
	// Location is the city's time zone: dates are service days there.
	// UTC if nil.
	Location *time.Location
	// Now is the clock; time.Now if nil.
	Now    func() time.Time
	Logger *slog.Logger // slog.Default() if nil
	// TimeLimit is the solver's budget for a whole day; 30 s if zero.
	TimeLimit time.Duration
	// Matrix computes travel times; Haversine with the settings' circuity
	// and speed if nil. When set, Haversine is the fallback should it fail.
	Matrix Matrix
	Solve  SolveFunc

	// NightlyAt is when, in Location, the nightly job plans the next day
	// ("18:00"); empty disables it. A node started after that time plans
	// at once if the next day has no plan yet.
	NightlyAt string
	// Singleton takes a cluster-wide lock by name (like
	// alert.EngineOptions.Singleton): ok false when another node holds
	// it; lost closes when the lock is lost; release gives it back. nil
	// means this node is alone.
	Singleton func(ctx context.Context, name string) (lost <-chan struct{}, release func(), ok bool)
	// OnCollected, if set, hears of each bin a crew's report emptied,
	// after it committed, so the live map and other nodes follow.
	OnCollected func(binID string)
	// OnPlanned, if set, hears how long each MakePlan took and whether it
	// failed, for the metrics.
	OnPlanned func(took time.Duration, err error)
	// CheckEvery is how often the nightly job looks at the clock; one
	// minute if zero.
	CheckEvery time.Duration
	// Requests, if set, lists the open service requests about bins (311
	// reports of an overflowing bin or a missed collection); Decide makes
	// those bins must-go.
	Requests func(ctx context.Context) ([]Request, error)
}

// Service is civic's planner: it makes a day's plan from what the stores
// know (bins, states, forecasts, open alerts, the fleet), edits drafts,
// moves plans through their statuses and applies the crews' reports. It
// implements civic.Planner for the API, the pages and the CLI, and runs
// the nightly job between Start and Close.
type Service struct {
	o    ServiceOptions
	log  *slog.Logger
	life *lifecycle.Group

	mu      sync.Mutex
	planned string // the last date the nightly job planned or found planned
}

var _ civic.Planner = (*Service)(nil)

// NewService returns a Service. It fails with Invalid when NightlyAt is not
// a time HH:MM or the settings do not validate.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TimeLimit <= 0 {
		o.TimeLimit = 30 * time.Second
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = time.Minute
	}
	if o.Settings.SpeedKmh == 0 {
		o.Settings = civic.DefaultPlanSettings()
	}
	if err := o.Settings.Validate(); err != nil {
		return nil, civic.PrefixField("settings", err)
	}
	if o.NightlyAt != "" {
		if _, err := civic.ParseClock(o.NightlyAt); err != nil {
			return nil, civic.FieldError("plan_at", "must be a time HH:MM")
		}
	}
	return &Service{o: o, log: o.Logger, life: lifecycle.New("nightly planner")}, nil
}

// maxAlerts bounds the unresolved alerts planning reads: more than a city
// ever has open.
const maxAlerts = 1_000_000

// input gathers what planning needs from the stores.
func (s *Service) input(ctx context.Context, date string, progress Progress, withState bool) (PlanInput, error) {
	in := PlanInput{
		Day:       Day{Date: date, Loc: s.o.Location},
		Settings:  s.o.Settings,
		TimeLimit: s.o.TimeLimit,
		Options:   route.FleetOptions{Threads: runtime.GOMAXPROCS(0)},
		Progress:  progress,
	}
	stored, err := s.o.Plans.PlanSettings(ctx)
	if err != nil {
		return in, err
	}
	if !stored.UpdatedAt.IsZero() {
		in.Settings = stored
	}
	if s.o.Matrix != nil {
		in.Matrix = &Memo{Matrix: s.o.Matrix}
		in.Fallback = Haversine{Circuity: in.Settings.Circuity, SpeedKmh: in.Settings.SpeedKmh}
	}
	views, err := s.o.Assets.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		return in, err
	}
	in.Bins = make([]civic.Bin, len(views))
	for i := range views {
		in.Bins[i] = views[i].Bin
	}
	if in.Trucks, err = s.o.Assets.ListTrucks(ctx); err != nil {
		return in, err
	}
	if in.Depots, err = s.o.Assets.ListDepots(ctx); err != nil {
		return in, err
	}
	if in.Facilities, err = s.o.Plans.ListFacilities(ctx); err != nil {
		return in, err
	}
	if !withState {
		return in, nil
	}
	if in.States, err = s.o.States.BinStates(ctx); err != nil {
		return in, err
	}
	if in.LastCollected, err = s.o.Plans.LastCollections(ctx); err != nil {
		return in, err
	}
	if in.Alerts, err = s.o.Alerts.ListAlerts(ctx, civic.AlertFilter{Unresolved: true, Limit: maxAlerts}); err != nil {
		return in, err
	}
	if s.o.Requests != nil {
		if in.Requests, err = s.o.Requests(ctx); err != nil {
			return in, err
		}
	}
	var withFill []string
	for _, st := range in.States {
		if st.Fill != nil {
			withFill = append(withFill, st.BinID)
		}
	}
	in.Forecasts, err = s.forecasts(ctx, withFill)
	return in, err
}

// forecasts are the forecasts of bins, nil without a Forecaster. A bin
// without a forecast yet is left out: the planner uses its last reading.
func (s *Service) forecasts(ctx context.Context, bins []string) (map[string]civic.Forecast, error) {
	if s.o.Forecaster == nil {
		return nil, nil
	}
	out := map[string]civic.Forecast{}
	for _, id := range bins {
		f, err := s.o.Forecaster.Forecast(ctx, id)
		switch {
		case err == nil:
			out[id] = f
		case civic.IsKind(err, civic.NotFound) || civic.IsKind(err, civic.Unavailable):
		default:
			return nil, err
		}
	}
	return out, nil
}

// MakePlan plans date as a draft and stores it, replacing an earlier
// draft. Errors: Invalid (not a date, a fleet that cannot be planned),
// Conflict (the date's plan is locked or under way), Unavailable (no
// travel times), and the stores' and solver's errors.
func (s *Service) MakePlan(ctx context.Context, date, by string, progress func(stage string, done float64)) (civic.Plan, error) {
	begin := time.Now()
	p, err := s.makePlan(ctx, date, by, progress)
	if s.o.OnPlanned != nil {
		s.o.OnPlanned(time.Since(begin), err)
	}
	return p, err
}

func (s *Service) makePlan(ctx context.Context, date, by string, progress func(stage string, done float64)) (civic.Plan, error) {
	if _, err := time.ParseInLocation(time.DateOnly, date, s.o.Location); err != nil {
		return civic.Plan{}, civic.FieldError("date", "must be a date YYYY-MM-DD")
	}
	// A locked plan is not replaced: say so before spending the solver's
	// time (SavePlan checks again, in its transaction).
	if old, err := s.o.Plans.PlanForDate(ctx, date); err == nil && old.Status != civic.PlanDraft {
		return civic.Plan{}, civic.Errorf(civic.Conflict, "the plan for %s is %s: unlock it to plan again", date, old.Status)
	} else if err != nil && !civic.IsKind(err, civic.NotFound) {
		return civic.Plan{}, err
	}
	in, err := s.input(ctx, date, progress, true)
	if err != nil {
		return civic.Plan{}, err
	}
	start := time.Now() // wall time: s.o.Now may be the demo's faster clock
	p, err := Plan(ctx, in, s.o.Solve)
	if err != nil {
		return civic.Plan{}, err
	}
	p.CreatedBy = by
	if err := s.assignCrews(ctx, p.Routes); err != nil {
		return civic.Plan{}, err
	}
	if err := s.o.Plans.SavePlan(ctx, &p); err != nil {
		return civic.Plan{}, err
	}
	s.log.Info("plan made", "plan", p.ID, "date", date, "by", by, "routes", len(p.Routes),
		"must_go", p.Stats.MustGo, "may_go", p.Stats.MayGo, "unplanned", len(p.Unplanned),
		"km", p.Stats.DistanceM/1000, "took", time.Since(start).Round(time.Millisecond))
	if progress != nil {
		progress("saved", 1)
	}
	return p, nil
}

// Reoptimise applies moves to a draft and re-solves it, warm started from
// its routes, its must-go bins timed by their current forecasts as a new
// plan's are; the bins moved or dropped get decisions that say so and by
// whom. Errors: NotFound (no plan), Conflict (not a draft), Invalid
// naming the move ("moves[2].to_route"): nothing is changed then.
func (s *Service) Reoptimise(ctx context.Context, planID string, moves []civic.StopMove, by string) (civic.Plan, error) {
	pl, err := s.o.Plans.Plan(ctx, planID)
	if err != nil {
		return civic.Plan{}, err
	}
	if pl.Status != civic.PlanDraft {
		return civic.Plan{}, civic.Errorf(civic.Conflict, "plan %s is %s: only a draft can be edited", pl.ID, pl.Status)
	}
	edits, err := checkMoves(&pl, moves, by)
	if err != nil {
		return civic.Plan{}, err
	}
	in, err := s.input(ctx, pl.Date, nil, false)
	if err != nil {
		return civic.Plan{}, err
	}
	// The must-go bins keep the service windows their forecasts ask for.
	var must []string
	for _, d := range pl.Decisions {
		if d.Decision == civic.MustGo {
			must = append(must, d.BinID)
		}
	}
	if in.Forecasts, err = s.forecasts(ctx, must); err != nil {
		return civic.Plan{}, err
	}
	out, err := Reoptimise(ctx, pl, edits, in, s.o.Solve)
	if err != nil {
		return civic.Plan{}, renameEditField(err)
	}
	if err := s.assignCrews(ctx, out.Routes); err != nil {
		return civic.Plan{}, err
	}
	// The decisions go with the routes: a dropped bin's "must" would
	// otherwise outlive the edit.
	stored, err := s.o.Plans.ReplaceDraft(ctx, &out)
	if err != nil {
		return civic.Plan{}, err
	}
	s.log.Info("plan edited", "plan", pl.ID, "by", by, "moves", len(moves), "km", stored.Stats.DistanceM/1000)
	return stored, nil
}

// assignCrews gives each route the crew that works its truck (the first
// by id when several do), so that the route reaches that crew's phones.
func (s *Service) assignCrews(ctx context.Context, routes []civic.Route) error {
	crews, err := s.o.Assets.ListCrews(ctx)
	if err != nil {
		return err
	}
	byTruck := map[string]string{}
	for _, c := range crews { // sorted by id
		if _, ok := byTruck[c.TruckID]; !ok && c.TruckID != "" {
			byTruck[c.TruckID] = c.ID
		}
	}
	for i := range routes {
		if routes[i].CrewID == "" {
			routes[i].CrewID = byTruck[routes[i].TruckID]
		}
	}
	return nil
}

// checkMoves turns moves into edits, checking each against the plan: a bin
// the plan decided about, named once, and a route of the plan.
func checkMoves(pl *civic.Plan, moves []civic.StopMove, by string) ([]Edit, error) {
	if len(moves) == 0 {
		return nil, civic.FieldError("moves", "must name at least one move")
	}
	bins := map[string]civic.Stream{}
	for _, d := range pl.Decisions {
		bins[d.BinID] = d.Stream
	}
	routes := map[string]*civic.Route{}
	for i := range pl.Routes {
		routes[pl.Routes[i].ID] = &pl.Routes[i]
	}
	seen := map[string]bool{}
	edits := make([]Edit, 0, len(moves))
	for i, m := range moves {
		field := fmt.Sprintf("moves[%d]", i)
		if err := civic.ValidateID(field+".bin_id", m.BinID); err != nil {
			return nil, err
		}
		stream, ok := bins[m.BinID]
		if !ok {
			return nil, civic.FieldError(field+".bin_id", "bin %q is not part of plan %s", m.BinID, pl.ID)
		}
		if seen[m.BinID] {
			return nil, civic.FieldError(field+".bin_id", "bin %q is moved twice", m.BinID)
		}
		seen[m.BinID] = true
		e := Edit{BinID: m.BinID, By: by}
		if m.ToRoute != "" {
			r, ok := routes[m.ToRoute]
			if !ok {
				return nil, civic.FieldError(field+".to_route", "plan %s has no route %q", pl.ID, m.ToRoute)
			}
			if r.Stream != stream {
				return nil, civic.FieldError(field+".to_route", "route %s collects %s, bin %s is %s", r.ID, r.Stream, m.BinID, stream)
			}
			e.Route = r.Seq
		}
		edits = append(edits, e)
	}
	return edits, nil
}

// renameEditField names a move where Reoptimise names an edit.
func renameEditField(err error) error {
	var ce *civic.Error
	if errors.As(err, &ce) && strings.HasPrefix(ce.Field, "edits[") {
		c := *ce
		c.Field = "moves" + strings.TrimPrefix(c.Field, "edits")
		c.Field = strings.Replace(c.Field, "].route", "].to_route", 1)
		return &c
	}
	return err
}

// SetStatus moves a plan to status to: locked (from a draft), draft (from
// locked, to edit it again), in_progress (from locked) or done. Errors:
// NotFound, Invalid (no way there), Conflict (the plan moved on).
func (s *Service) SetStatus(ctx context.Context, planID string, to civic.PlanStatus, by string) (civic.Plan, error) {
	pl, err := s.o.Plans.Plan(ctx, planID)
	if err != nil {
		return civic.Plan{}, err
	}
	if !to.Valid() {
		return civic.Plan{}, civic.FieldError("status", "must be draft, locked, in_progress or done")
	}
	if !pl.Status.CanBecome(to) {
		return civic.Plan{}, civic.Errorf(civic.Conflict, "plan %s is %s and cannot become %s", pl.ID, pl.Status, to)
	}
	out, err := s.o.Plans.SetPlanStatus(ctx, planID, pl.Status, to)
	if err != nil {
		return civic.Plan{}, err
	}
	s.log.Info("plan status", "plan", planID, "from", pl.Status, "to", to, "by", by)
	return out, nil
}

// maxReportSkew bounds how far a phone's clock may run ahead of the
// server's.
const maxReportSkew = 5 * time.Minute

// Report applies a crew's stop report. A newly collected bin's full and
// overflow alerts are resolved ("emptied by crew X"); a resend changes
// nothing and returns applied false.
func (s *Service) Report(ctx context.Context, r *civic.StopReport) (civic.Stop, bool, error) {
	now := s.o.Now()
	if r.At.IsZero() || r.At.After(now.Add(maxReportSkew)) {
		r.At = now
	}
	if err := r.Validate(); err != nil {
		return civic.Stop{}, false, err
	}
	stop, c, applied, err := s.o.Plans.ReportStop(ctx, r)
	if err != nil || !applied || c == nil {
		return stop, applied, err
	}
	who := c.CrewID
	if who == "" {
		who = r.By
	}
	if s.o.OnCollected != nil {
		s.o.OnCollected(c.BinID)
	}
	note := "emptied by crew " + who
	for _, rule := range []civic.RuleKind{civic.RuleFull, civic.RuleOverflowSoon} {
		// The report is committed: resolve even if the caller has gone.
		if _, _, err := s.o.Alerts.ResolveCleared(context.WithoutCancel(ctx), c.BinID, rule, note, r.At); err != nil {
			s.log.Warn("resolve alert after collection", "bin", c.BinID, "rule", rule, "err", err)
		}
	}
	return stop, applied, nil
}

// Start runs the nightly job, if NightlyAt is set.
func (s *Service) Start(ctx context.Context) error {
	return s.life.Start(func() error {
		if s.o.NightlyAt != "" {
			s.life.Go("nightly", s.nightly)
		}
		return nil
	})
}

// Close stops the nightly job, abandoning a plan in progress when ctx ends.
func (s *Service) Close(ctx context.Context) error { return s.life.Close(ctx) }

func (s *Service) nightly(ctx context.Context, stop <-chan struct{}) error {
	t := time.NewTicker(s.o.CheckEvery)
	defer t.Stop()
	for {
		s.RunNightly(ctx)
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunNightly plans the next day if it is time: NightlyAt has passed today,
// in the city's zone, and this node holds the nightly lock. It plans
// nothing when the next day has a plan that is not a draft, or a draft
// made or edited today (by the scheduler on another node, or a
// supervisor, whose edits it keeps). It reports the date it planned, if
// any. The nightly job calls it every CheckEvery.
func (s *Service) RunNightly(ctx context.Context) (planned string) {
	if s.o.NightlyAt == "" {
		return ""
	}
	now := s.o.Now().In(s.o.Location)
	today := now.Format(time.DateOnly)
	at, _ := civic.ParseClock(s.o.NightlyAt)
	if now.Hour()*60+now.Minute() < at {
		return ""
	}
	y, m, d := now.Date()
	date := time.Date(y, m, d+1, 12, 0, 0, 0, s.o.Location).Format(time.DateOnly)
	s.mu.Lock()
	done := s.planned == date
	s.mu.Unlock()
	if done {
		return ""
	}
	if s.o.Singleton != nil {
		lost, release, ok := s.o.Singleton(ctx, NightlyLock)
		if !ok {
			return "" // another node plans; the next check finds its plan
		}
		defer release()
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-lost:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	old, err := s.o.Plans.PlanForDate(ctx, date)
	switch {
	case err == nil && (old.Status != civic.PlanDraft || old.UpdatedAt.In(s.o.Location).Format(time.DateOnly) == today):
		s.log.Info("nightly plan: already planned", "date", date, "plan", old.ID, "status", old.Status, "by", old.CreatedBy)
		s.markPlanned(date)
		return ""
	case err != nil && !civic.IsKind(err, civic.NotFound):
		s.log.Error("nightly plan", "date", date, "err", err)
		return ""
	}
	s.log.Info("nightly plan: planning", "date", date)
	p, err := s.MakePlan(ctx, date, SchedulerActor, nil)
	if err != nil {
		// Tried again at the next check.
		s.log.Error("nightly plan failed", "date", date, "err", err)
		return ""
	}
	s.markPlanned(date)
	s.log.Info("nightly plan made", "date", date, "plan", p.ID, "routes", len(p.Routes), "bins", p.Stats.Planned)
	return date
}

func (s *Service) markPlanned(date string) {
	s.mu.Lock()
	s.planned = date
	s.mu.Unlock()
}
