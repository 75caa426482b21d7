package main

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // --tz works on hosts without a time zone database (the demo's America/New_York too)

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// demoBins is the size of the demo city.
const demoBins = 1000

// demoLastEmptied bounds how long before its history a demo bin was last
// emptied: the city it pretends to be empties every bin weekly at least
// (civic.DefaultPlanSettings' hygiene rule), so on the history's first
// service day no bin is over the limit yet.
const demoLastEmptied = 4 * 24 * time.Hour

// demoHistoryPlanTime caps the route solver's budget for each day of a new
// demo city's history, planned while the user waits (the live days take
// --plan-time).
const demoHistoryPlanTime = time.Second

// demoWarmUp is how long the sensors of a new demo city report before its
// crews plan their first day: the forecasts need a day of readings.
const demoWarmUp = 24 * time.Hour

// demoHistoryStep is the step of the sensors' clock while the history is
// generated during the crews' working hours (demoWorkFrom to demoWorkTo,
// local): their stops are done within one step of their time. Outside
// them the clock moves an hour at a time.
const (
	demoHistoryStep          = 5 * time.Minute
	demoWorkFrom, demoWorkTo = 5, 20
)

// demoUsers are the demo accounts, one per role. Their passwords are fixed
// so they can be printed at every start-up: this is a demo, never a city.
var demoUsers = []struct {
	name string
	role civic.Role
}{
	{"admin", civic.RoleAdmin},
	{"supervisor", civic.RoleSupervisor},
	{"crew", civic.RoleCrew},
	{"analyst", civic.RoleAnalyst},
}

// demoTimeZone is the demo city's time zone (it is laid out around
// Philadelphia's City Hall): --demo uses it unless --tz says otherwise.
const demoTimeZone = "America/New_York"

func demoPassword(name string) string { return "civic-demo-" + name }

// demoCity animates a generated city: its sensors send readings through the
// real ingest path on an accelerated clock.
type demoCity struct {
	sensors     *sim.Sensors
	loc         *time.Location
	seed        uint64
	log         *slog.Logger
	speed       float64
	tick        time.Duration
	fresh       bool      // the city was generated now: it gets a history
	historyFrom time.Time // when the sensors' history starts

	mu        sync.Mutex
	realStart time.Time // real time at which the simulated clock read simStart
	simStart  time.Time
	paused    bool // the clock reads simStart (while the history is generated)

	cancel context.CancelFunc
	done   chan struct{}
}

// now is the simulated clock: while the history is generated, the time the
// history has reached; then the present, running Speed times faster.
func (d *demoCity) now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.paused {
		return d.simStart
	}
	return d.simStart.Add(time.Duration(float64(time.Since(d.realStart)) * d.speed)).UTC()
}

// setupDemo generates the demo city into an empty store (keeping users and
// keys made beforehand), creates the demo users, and prepares the sensors.
func setupDemo(ctx context.Context, e *env, a *app, c *config, log *slog.Logger) (*demoCity, error) {
	if err := checkDemoData(ctx, a, c); err != nil {
		return nil, err
	}
	now := a.now()
	backfill := time.Duration(c.DemoDays) * 24 * time.Hour
	city := sim.GenerateCity(sim.CityParams{Bins: demoBins, Seed: uint64(c.Seed), Start: now.Add(-backfill)})
	existing, err := a.store.ListBins(ctx, civic.BinFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	fresh := len(existing) == 0
	if fresh {
		fmt.Fprintf(e.stderr, "demo: generating a city of %d bins (seed %d) with %d days of history, each service day\n"+
			"      planned and worked by its crews (a few seconds a day; the pages fill in meanwhile)\n", len(city.Bins), c.Seed, c.DemoDays)
		if err := loadCity(ctx, a, city); err != nil {
			return nil, err
		}
	}
	for _, u := range demoUsers {
		if _, err := a.store.UserByName(ctx, u.name); civic.IsKind(err, civic.NotFound) {
			if _, err := a.auth.CreateUser(ctx, u.name, u.role, demoPassword(u.name)); err != nil {
				return nil, fmt.Errorf("demo user %s: %w", u.name, err)
			}
		} else if err != nil {
			return nil, err
		}
	}
	fmt.Fprintln(e.stdout, "demo users (name / password):")
	for _, u := range demoUsers {
		fmt.Fprintf(e.stdout, "  %-10s / %-24s %s\n", u.name, demoPassword(u.name), u.role)
	}

	loc, _ := time.LoadLocation(c.TimeZone) // checked by finishServe; nil is UTC
	d := &demoCity{log: log, speed: c.Speed, tick: time.Second, loc: loc, seed: uint64(c.Seed), fresh: fresh}
	start := now
	if fresh {
		start = now.Add(-backfill)
	} else {
		if start, err = demoResume(ctx, a.store, now); err != nil {
			return nil, err
		}
		if start.After(now) {
			fmt.Fprintf(e.stderr, "demo: the city's clock ran ahead of the present last time; it resumes at %s\n",
				start.In(cmp.Or(loc, time.UTC)).Format("Mon 2 Jan 15:04"))
		}
	}
	d.historyFrom = start
	faults := sim.DemoFaults() // fires, tilts, stuck sensors and dying batteries, every kind of alert
	d.sensors = sim.NewSensors(city, sim.SensorParams{
		Seed:   uint64(c.Seed),
		Faults: &faults,
		Start:  start,
		// Bins are emptied because a crew collected their stop, in the
		// history as live.
		Policy: sim.Policy{Kind: sim.PolicyNone},
	})
	d.realStart, d.simStart = time.Now(), start
	return d, nil
}

// demoResume is when the clock of a demo city that ran before resumes:
// now, or its newest bin state's time when that is later. The demo's
// clock runs faster than real time, so a city stopped and started again
// may have readings, collections and plans ahead of the present;
// starting its clock at the present would put them in the future of
// every page, the sensors and the planner.
func demoResume(ctx context.Context, st interface {
	BinStates(ctx context.Context) ([]civic.BinState, error)
}, now time.Time) (time.Time, error) {
	states, err := st.BinStates(ctx)
	if err != nil {
		return time.Time{}, err
	}
	at := now
	for _, s := range states {
		if s.Time.After(at) {
			at = s.Time
		}
	}
	return at, nil
}

// start runs the sensors until stop. A new city first gets its history, at
// full speed on a clock that follows it (generateHistory): its sensors
// report and each service day its crews work the plan history, the real
// planner with a short solver budget, made that morning, so plans,
// collections, planned versus actual and the KPIs have weeks behind them.
// Then, on the accelerated clock, one step a tick, the crews work each
// day's plan, made by planner, as it comes.
//
// nightly starts the planner's nightly job, once the history is in.
func (d *demoCity) start(ctx context.Context, ing civic.Ingester, ui interface{ Refresh(context.Context) error },
	planner, history civic.Planner, plans civic.PlanStore, nightly func(context.Context) error) {
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		var crewsDone chan struct{}
		defer func() {
			if crewsDone != nil {
				<-crewsDone
			}
		}()
		if err := ui.Refresh(ctx); err != nil {
			d.log.Warn("demo: refreshing the map", "err", err)
		}
		if d.fresh {
			d.recordLastEmptied(ctx, plans)
			d.generateHistory(ctx, ing, history, plans)
		}

		d.mu.Lock()
		d.realStart, d.simStart, d.paused = time.Now(), d.sensors.Now(), false
		d.mu.Unlock()
		if err := nightly(ctx); err != nil {
			d.log.Error("demo: starting the nightly planner", "err", err)
		}
		crews := &sim.Crews{Planner: planner, Plans: plans, Sensors: d.sensors, Location: d.loc, Seed: d.seed, Logger: d.log}
		crewsDone = make(chan struct{})
		go d.runCrews(ctx, crews, crewsDone)
		t := time.NewTicker(d.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.send(ctx, ing, d.sensors.Step(d.now()))
			}
		}
	}()
}

// generateHistory runs the city from the sensors' start to the present on
// a clock that follows it (the alert engine, the forecasts and the planner
// see the history's time): the sensors report every demoHistoryStep and
// the crews plan and work each service day as the live demo does.
func (d *demoCity) generateHistory(ctx context.Context, ing civic.Ingester, planner civic.Planner, plans civic.PlanStore) {
	until := time.Now().UTC()
	from := d.sensors.Now()
	if !from.Before(until.Add(-time.Minute)) {
		return
	}
	d.log.Info("demo: generating history", "from", from, "to", until, "days", until.Sub(from).Round(time.Hour).Hours()/24)
	crews := &sim.Crews{Planner: planner, Plans: plans, Sensors: d.sensors, Location: d.loc, Seed: d.seed, Logger: d.log}
	began, n, day := time.Now(), 0, ""
	next := func(t time.Time) time.Time {
		if h := t.In(d.loc).Hour(); h >= demoWorkFrom && h < demoWorkTo {
			return t.Add(demoHistoryStep)
		}
		return t.Add(time.Hour)
	}
	for t := next(from); ; t = next(t) {
		if t.After(until) {
			t = until
		}
		d.mu.Lock()
		d.simStart, d.paused = t, true
		d.mu.Unlock()
		// The crews first: they empty each bin at its stop's time, which
		// the sensors' step then passes (after it, the bin would be
		// emptied at the step's end). Not in the first day: a plan made
		// from a few readings a bin would send every bin out.
		if !t.Before(from.Add(demoWarmUp)) {
			if err := crews.Step(ctx, t); err != nil && ctx.Err() == nil {
				d.log.Warn("demo: crews", "err", err)
			}
		}
		n += d.send(ctx, ing, d.sensors.Step(t))
		if date := t.In(d.loc).Format(time.DateOnly); date != day {
			if day != "" {
				d.log.Info("demo: history", "day", day, "readings", n, "took", time.Since(began).Round(time.Second))
			}
			day = date
		}
		if ctx.Err() != nil || !t.Before(until) {
			break
		}
	}
	d.log.Info("demo: history ready", "readings", n, "took", time.Since(began).Round(time.Second))
}

// recordLastEmptied stores, for each bin of a new city, the model's
// reckoning of when it was last emptied before the history, so that the
// planner sees a city that has been emptying its bins (and does not send
// every bin out on hygiene grounds on the first day).
func (d *demoCity) recordLastEmptied(ctx context.Context, plans civic.PlanStore) {
	earliest := d.historyFrom.Add(-demoLastEmptied)
	var cs []civic.Collection
	for _, b := range d.sensors.City().Bins {
		if t, ok := d.sensors.EmptiedBefore(b.ID); ok {
			if t.Before(earliest) {
				// A slow bin the hygiene round emptied: some day of the
				// round, the same for the bin at every start.
				h := fnv.New64a()
				h.Write([]byte(b.ID))
				t = d.historyFrom.Add(-time.Duration(float64(h.Sum64()%1000) / 1000 * float64(demoLastEmptied))).Truncate(time.Second)
			}
			cs = append(cs, civic.Collection{BinID: b.ID, Time: t, Source: "demo"})
		}
	}
	for i := range cs {
		if err := plans.RecordCollection(ctx, &cs[i]); err != nil {
			if ctx.Err() == nil {
				d.log.Warn("demo: recording when bins were last emptied", "err", err)
			}
			return
		}
	}
	d.log.Info("demo: last collections before the history recorded", "collections", len(cs))
}

// runCrews has the day's plan made and its stops worked as the simulated
// clock passes them. Planning takes real seconds, so it runs beside the
// sensors, not in their loop.
func (d *demoCity) runCrews(ctx context.Context, crews *sim.Crews, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(d.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := crews.Step(ctx, d.now()); err != nil && ctx.Err() == nil {
				d.log.Warn("demo: crews", "err", err)
			}
		}
	}
}

// send ingests readings in batches and returns how many were accepted.
func (d *demoCity) send(ctx context.Context, ing civic.Ingester, rs []civic.Reading) int {
	n := 0
	for len(rs) > 0 && ctx.Err() == nil {
		b := rs[:min(len(rs), civic.MaxBatch)]
		rs = rs[len(b):]
		res, err := ing.Ingest(ctx, b)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("demo: ingest", "err", err)
			}
			continue
		}
		n += res.Accepted
	}
	return n
}

// stop ends the sensors and waits for the last batch to be acknowledged.
func (d *demoCity) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

// loadCity stores a generated city: zones first (bins are assigned to them),
// then depots, bins, devices, trucks and crews.
func loadCity(ctx context.Context, a *app, city *sim.City) error {
	for i := range city.Zones {
		if err := a.store.CreateZone(ctx, &city.Zones[i]); err != nil {
			return fmt.Errorf("zone %s: %w", city.Zones[i].ID, err)
		}
	}
	for i := range city.Depots {
		if err := a.store.CreateDepot(ctx, &city.Depots[i]); err != nil {
			return fmt.Errorf("depot %s: %w", city.Depots[i].ID, err)
		}
	}
	if err := a.store.ImportBins(ctx, city.Bins); err != nil {
		return fmt.Errorf("bins: %w", err)
	}
	for i := range city.Devices {
		if err := a.store.CreateDevice(ctx, &city.Devices[i]); err != nil {
			return fmt.Errorf("device %s: %w", city.Devices[i].ID, err)
		}
	}
	for i := range city.Facilities {
		if err := a.store.CreateFacility(ctx, &city.Facilities[i]); err != nil {
			return fmt.Errorf("facility %s: %w", city.Facilities[i].ID, err)
		}
	}
	for i := range city.Trucks {
		if err := a.store.CreateTruck(ctx, &city.Trucks[i]); err != nil {
			return fmt.Errorf("truck %s: %w", city.Trucks[i].ID, err)
		}
	}
	for i := range city.Crews {
		cr := city.Crews[i]
		if i == 0 {
			// The demo's crew user works the first crew's route.
			cr.Members = append(slices.Clip(cr.Members), "crew")
		}
		if err := a.store.CreateCrew(ctx, &cr); err != nil {
			return fmt.Errorf("crew %s: %w", cr.ID, err)
		}
	}
	return nil
}
