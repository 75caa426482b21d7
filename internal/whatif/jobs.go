package whatif

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Jobs runs simulations of the city's own bins in the background, for the
// web app (it is a civic.Simulator): one at a time in a cluster, under
// JobsOptions.Lock, and none while the store holds a running run that is
// not Interrupted. A run is stored as running when it
// starts, its progress every JobsOptions.Every, then its result and
// report, or why it failed. It compares every policy, as civic simulate
// does, on one core (Options.Parallel 1) so that the server it shares
// keeps a core for its work.
type Jobs struct {
	o      JobsOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	active string // the id of the run under way; "" none
	closed bool
}

// JobsOptions configure Jobs. City, Runs and Settings are required.
type JobsOptions struct {
	City CitySource
	Runs civic.SimulationStore
	// Settings returns the city's planner settings, which the planner
	// policy runs under.
	Settings func(ctx context.Context) (civic.PlanSettings, error)
	// Location is the city's time zone; UTC when nil.
	Location *time.Location
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// PlanTime is the route solver's budget a simulated day and policy;
	// DefaultPlanTime when 0.
	PlanTime time.Duration
	// Every is how often progress is stored; 3 s when 0.
	Every time.Duration
	// Lock, if set, takes the cluster's lock on simulations without
	// waiting (ok false: another server holds it); a run holds it until
	// it ends. Without it only this server's runs are excluded, and the
	// store's running runs.
	Lock func(ctx context.Context) (release func(), ok bool, err error)
}

// NewJobs returns a runner; Close stops it.
func NewJobs(o JobsOptions) *Jobs {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 3 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Jobs{o: o, ctx: ctx, cancel: cancel}
}

var _ civic.Simulator = (*Jobs)(nil)

// StartSimulation implements civic.Simulator: the run compares every
// policy on the city's planner settings as r's assumptions change them
// (requestOptions), which it stores with the run. Errors: Invalid naming
// the field, Conflict when a simulation is running (here, on another
// server holding the lock, or, not interrupted, in the store),
// Unavailable once Close has begun.
func (j *Jobs) StartSimulation(ctx context.Context, r civic.SimulationRequest) (civic.SimulationRun, error) {
	if err := r.Validate(); err != nil {
		return civic.SimulationRun{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return civic.SimulationRun{}, civic.Errorf(civic.Unavailable, "The server is shutting down: start the simulation again in a moment.")
	}
	if j.active != "" {
		return civic.SimulationRun{}, civic.Errorf(civic.Conflict, "Simulation %s is already running on this server: wait for it to finish.", j.active)
	}
	settings, err := j.o.Settings(ctx)
	if err != nil {
		return civic.SimulationRun{}, err
	}
	o, err := requestOptions(r, settings)
	if err != nil {
		return civic.SimulationRun{}, err
	}
	release := func() {}
	if j.o.Lock != nil {
		rel, ok, err := j.o.Lock(ctx)
		if err != nil {
			return civic.SimulationRun{}, err
		}
		if !ok {
			return civic.SimulationRun{}, civic.Errorf(civic.Conflict, "A simulation is running on another server: wait for it to finish.")
		}
		release = rel
	}
	run, err := j.store(ctx, r, Assumed(o))
	if err != nil {
		release()
		return civic.SimulationRun{}, err
	}
	j.active = run.ID
	j.wg.Add(1)
	go j.run(run, r, o, release)
	return run, nil
}

// requestOptions returns the options of a run of r on the city's planner
// settings base: r's days, every policy with r.Perfect (else the
// default ones), and its assumptions applied as civic simulate
// applies its flags of the same names (PlanChanges for the planner's; the
// threshold and cost factors as given, zero taking the defaults). The
// city, seed and solver's budget are the caller's to set. Errors: Invalid
// naming the field.
func requestOptions(r civic.SimulationRequest, base civic.PlanSettings) (Options, error) {
	a := r.Assumptions
	changes := PlanChanges{OverflowRisk: a.OverflowRisk, HygieneDays: a.HygieneDays}
	if a.HygieneDaysCompost != nil {
		changes.StreamHygieneDays = map[civic.Stream]float64{civic.StreamCompost: *a.HygieneDaysCompost}
	}
	ps, err := changes.Apply(base)
	if err != nil {
		return Options{}, err
	}
	o := Options{Days: r.Days, Settings: &ps, Threshold: a.Threshold, Costs: Costs{FuelLPerKm: a.FuelLPerKm,
		CO2KgPerL: a.CO2KgPerL, CrewPerHour: a.CrewEURH, TruckPerKm: a.TruckEURKm, FuelPerL: a.FuelEURL}}
	if r.Perfect {
		o.Policies = AllPolicies
	}
	return o, nil
}

// SimulationDefaults implements civic.Simulator: Assumed on the city's
// planner settings now, the overflow risk 0 when the default policy and
// the streams' differ (a request's would replace them all).
func (j *Jobs) SimulationDefaults(ctx context.Context) (civic.SimulationAssumptions, error) {
	ps, err := j.o.Settings(ctx)
	if err != nil {
		return civic.SimulationAssumptions{}, err
	}
	a := Assumed(Options{Settings: &ps})
	for _, p := range ps.Streams {
		if p.Risk() != a.OverflowRisk {
			a.OverflowRisk = 0
		}
	}
	return a, nil
}

// store checks that the store holds no run under way and stores the new
// one, running, with its assumptions.
func (j *Jobs) store(ctx context.Context, r civic.SimulationRequest, assumed civic.SimulationAssumptions) (civic.SimulationRun, error) {
	now := j.o.Now()
	runs, err := j.o.Runs.ListSimulations(ctx)
	if err != nil {
		return civic.SimulationRun{}, err
	}
	for _, x := range runs {
		if x.Status == civic.SimulationRunning && !x.Interrupted(now) {
			return civic.SimulationRun{}, civic.Errorf(civic.Conflict, "Simulation %q is already running: wait for it to finish.", x.Name)
		}
	}
	name := r.Name
	if name == "" {
		with := ""
		if r.Perfect {
			with = ", with perfect forecasts"
		}
		name = fmt.Sprintf("The city's own bins, %d days%s (%s)", r.Days, with, now.In(j.o.Location).Format("2 Jan 2006 15:04"))
	}
	run := civic.SimulationRun{ID: "sim-" + now.UTC().Format("20060102-150405.000"), Name: name, CreatedBy: r.By,
		CreatedAt: now, Status: civic.SimulationRunning, Assumptions: &assumed}
	return run, j.o.Runs.SaveSimulation(ctx, &run)
}

// Close stops a run under way, storing it as failed ("stopped: the
// server shut down"), and waits for it until ctx ends.
func (j *Jobs) Close(ctx context.Context) error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.cancel()
	done := make(chan struct{})
	go func() {
		j.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recover stores as failed the runs the store holds as running whose
// servers stopped without a word (a crash, a kill), once it is sure no
// server runs one: it holds the lock (when there is one) and this server
// runs none. civic serve calls it at start; it returns how many it
// closed.
func (j *Jobs) Recover(ctx context.Context) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.active != "" {
		return 0, nil
	}
	if j.o.Lock != nil {
		release, ok, err := j.o.Lock(ctx)
		if err != nil || !ok {
			return 0, err // another server runs one: its runs are its own
		}
		defer release()
	}
	runs, err := j.o.Runs.ListSimulations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range runs {
		if r.Status != civic.SimulationRunning {
			continue
		}
		full, err := j.o.Runs.Simulation(ctx, r.ID)
		if err != nil {
			return n, err
		}
		full.Status, full.Error = civic.SimulationFailed, "Interrupted: the server running it stopped. Start it again."
		if err := j.o.Runs.UpdateSimulation(ctx, &full); err != nil && !civic.IsKind(err, civic.Conflict) {
			return n, err
		}
		n++
	}
	return n, nil
}

// SimulationInterrupted implements civic.Simulator, by Now.
func (j *Jobs) SimulationInterrupted(r *civic.SimulationRun) bool { return r.Interrupted(j.o.Now()) }

// Running returns the id of the run under way on this server, "" if none.
func (j *Jobs) Running() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.active
}

// jobReadShare is the share of a run's progress that reading the history
// takes.
const jobReadShare = 0.1

// run runs a simulation and stores its outcome, then releases the
// cluster's lock before it clears Running and marks the run finished for
// Close: once Running is "", another server (or Recover) may take it.
func (j *Jobs) run(run civic.SimulationRun, r civic.SimulationRequest, o Options, release func()) {
	defer j.wg.Done()
	defer func() {
		j.mu.Lock()
		j.active = ""
		j.mu.Unlock()
	}()
	defer release()
	ctx := j.ctx
	log := j.o.Logger.With("simulation", run.ID)
	log.Info("simulation started", "days", r.Days, "history_days", r.HistoryDays, "by", r.By)
	start := time.Now()
	var last time.Time
	// The callbacks come one at a time (Options.Progress).
	progress := func(p float64) {
		if time.Since(last) < j.o.Every {
			return
		}
		last = time.Now()
		run.Progress = min(max(p, 0), 0.99)
		if err := j.o.Runs.UpdateSimulation(ctx, &run); err != nil && ctx.Err() == nil {
			log.Warn("simulation progress not stored", "err", err)
		}
	}
	out, err := j.simulate(ctx, run, r.HistoryDays, o, progress)
	if err == nil {
		out.CreatedBy, out.CreatedAt, out.Status, out.Assumptions = run.CreatedBy, run.CreatedAt, civic.SimulationDone, run.Assumptions
		run = out
	} else {
		run.Status, run.Error = civic.SimulationFailed, failure(ctx, err)
	}
	// Stored even when the server is stopping, which is why it stopped.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := j.o.Runs.UpdateSimulation(sctx, &run); serr != nil {
		log.Error("simulation result not stored", "err", serr)
		return
	}
	if err != nil {
		log.Warn("simulation failed", "err", err, "elapsed", time.Since(start).Round(time.Millisecond))
		return
	}
	log.Info("simulation done", "summary", run.Summary, "elapsed", time.Since(start).Round(time.Millisecond))
}

// simulate reads the city, its bins' waste learnt from historyDays of
// readings, and runs every policy of o over it, for run.
func (j *Jobs) simulate(ctx context.Context, run civic.SimulationRun, historyDays int, o Options, progress func(float64)) (civic.SimulationRun, error) {
	city, note, err := OwnCity(ctx, j.o.City, j.o.Now(), j.o.Location, historyDays, func(done, total int) {
		progress(jobReadShare * float64(done) / float64(total))
	})
	if err != nil {
		return civic.SimulationRun{}, err
	}
	o.City, o.CityNote, o.Seed, o.PlanTime, o.Parallel = city, note, 1, j.o.PlanTime, 1
	o.Progress = func(done, total int) {
		progress(jobReadShare + (1-jobReadShare)*float64(done)/float64(total))
	}
	res, err := Run(ctx, o)
	if err != nil {
		return civic.SimulationRun{}, err
	}
	return res.SimulationRun(run.ID, run.Name)
}

// failure is what a failed run says: a person's message for civic's own
// errors, "stopped" when the server shut down, else a generic one (the
// log has the details).
func failure(ctx context.Context, err error) string {
	var ce *civic.Error
	switch {
	case ctx.Err() != nil:
		return "Stopped: the server shut down before the simulation finished. Start it again."
	case errors.As(err, &ce) && ce.Kind != civic.Internal && ce.Message != "":
		return strings.ToUpper(ce.Message[:1]) + ce.Message[1:] + "."
	}
	return "The simulation failed: the server's log says why."
}
