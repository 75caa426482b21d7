package sim_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// crewCity is a generated city in a real SQLite store, its sensors, and
// a real planner over the store, all on one settable clock: what the demo
// runs, stepped by a test instead of a ticker.
type crewCity struct {
	city    *sim.City
	st      *store.Store
	clk     *storetest.Clock
	sensors *sim.Sensors
	planner *plan.Service
	loc     *time.Location
	devices map[string]civic.Device
}

// newCrewCity builds a city of bins bins, gives its sensors a day of
// history before from (under PolicyThreshold, the sensor model emptying
// full bins on its own round), stores the readings, and hands collections
// to the caller (PolicyNone) at from.
func newCrewCity(t *testing.T, bins int, from time.Time) *crewCity {
	t.Helper()
	ctx := context.Background()
	loc := sim.DefaultLocation
	c := &crewCity{loc: loc, clk: storetest.NewClock(from), devices: map[string]civic.Device{}}
	c.city = sim.GenerateCity(sim.CityParams{Bins: bins, Seed: 11, Start: from.AddDate(0, 0, -30), Location: loc})
	c.st = storetest.Open(t, store.EngineSQLite, store.Options{Now: c.clk.Now})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for i := range c.city.Zones {
		must("zone", c.st.CreateZone(ctx, &c.city.Zones[i]))
	}
	for i := range c.city.Depots {
		must("depot", c.st.CreateDepot(ctx, &c.city.Depots[i]))
	}
	must("bins", c.st.ImportBins(ctx, c.city.Bins))
	for i := range c.city.Devices {
		must("device", c.st.CreateDevice(ctx, &c.city.Devices[i]))
		c.devices[c.city.Devices[i].ID] = c.city.Devices[i]
	}
	for i := range c.city.Facilities {
		must("facility", c.st.CreateFacility(ctx, &c.city.Facilities[i]))
	}
	for i := range c.city.Trucks {
		must("truck", c.st.CreateTruck(ctx, &c.city.Trucks[i]))
	}
	for i := range c.city.Crews {
		must("crew", c.st.CreateCrew(ctx, &c.city.Crews[i]))
	}

	// The history's collections are stored, as the demo does, so that the
	// planner knows which bins were emptied lately.
	var history []sim.Collection
	c.sensors = sim.NewSensors(c.city, sim.SensorParams{
		Seed:            11,
		Start:           from.Add(-24 * time.Hour),
		Faults:          &sim.Faults{}, // a stuck sensor would hide a collection
		Policy:          sim.Policy{Kind: sim.PolicyThreshold},
		StreetFairWeeks: -1,
		OnCollect:       func(col sim.Collection) { history = append(history, col) },
	})
	c.ingest(t, c.sensors.Step(from))
	emptied := map[string]bool{}
	for _, h := range history {
		emptied[h.BinID] = true
		must("history collection", c.st.RecordCollection(ctx, &civic.Collection{BinID: h.BinID, Time: h.Time, Source: "demo"}))
	}
	// The other bins were last emptied before the history, within the
	// week's hygiene limit.
	earliest := from.Add(-5 * 24 * time.Hour)
	for _, b := range c.city.Bins {
		if at, ok := c.sensors.EmptiedBefore(b.ID); ok && !emptied[b.ID] {
			if at.Before(earliest) {
				at = earliest
			}
			must("last collection", c.st.RecordCollection(ctx, &civic.Collection{BinID: b.ID, Time: at, Source: "demo"}))
		}
	}
	must("SetPolicy", c.sensors.SetPolicy(sim.Policy{Kind: sim.PolicyNone}))

	var err error
	c.planner, err = plan.NewService(plan.ServiceOptions{
		Assets: c.st, States: c.st, Alerts: c.st, Plans: c.st,
		Location: loc, Now: c.clk.Now, Logger: slog.New(slog.DiscardHandler),
		TimeLimit: 2 * time.Second, Solve: route.SolveFleet,
	})
	must("plan.NewService", err)
	return c
}

// ingest stores readings as the ingest path does (the device's bin, the
// fill as a fraction) and returns them so.
func (c *crewCity) ingest(t *testing.T, rs []civic.Reading) []civic.Reading {
	t.Helper()
	for i := range rs {
		d := c.devices[rs[i].Device]
		rs[i].Bin = d.BinID
		if err := rs[i].Normalize(d.FillScale, c.clk.Now()); err != nil {
			t.Fatalf("reading %+v: %v", rs[i], err)
		}
	}
	for b := rs; len(b) > 0; {
		n := min(len(b), civic.MaxBatch)
		if _, err := c.st.WriteReadings(context.Background(), [][]civic.Reading{b[:n]}); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	return rs
}

func (c *crewCity) crews() *sim.Crews {
	return &sim.Crews{Planner: c.planner, Plans: c.st, Sensors: c.sensors, Location: c.loc, Seed: 3}
}

// TestCrewsWorkADay steps the demo's loop through a service day: the
// crews have the day planned and locked at 03:00, work its stops through
// the real report path as the clock passes them, empty the bins in the
// store and in the sensor model, and a restarted Crews reports nothing
// twice.
func TestCrewsWorkADay(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 3, 3, 0, 0, 0, 0, sim.DefaultLocation) // a Tuesday
	date := day.Format(time.DateOnly)
	c := newCrewCity(t, 200, day)
	crews := c.crews()

	// A copy of the crews that reads the plan before anyone works it, and
	// sends its reports again at the end of the day.
	var stale *sim.Crews

	const step = 5 * time.Minute
	var (
		locked    bool                     // the plan was seen locked before any report
		seen      = map[string]bool{}      // collections seen, by id
		emptiedAt = map[string]time.Time{} // bins awaiting their next reading
		lowAfter  int                      // collected bins whose next reading was checked
	)
	for now := day.Add(step); !now.After(day.Add(24 * time.Hour)); now = now.Add(step) {
		c.clk.Set(now)
		if now.Equal(day.Add(10 * time.Hour)) {
			// The demo restarts mid-morning: a new Crews goes on with the
			// same day's plan.
			crews = c.crews()
		}
		if err := crews.Step(ctx, now); err != nil {
			t.Fatalf("%s: crews: %v", now.Format("15:04"), err)
		}
		if !locked {
			if p, err := c.st.PlanForDate(ctx, date); err == nil {
				if p.Status != civic.PlanLocked || p.CreatedBy != "demo" {
					t.Fatalf("%s: the day's plan is %s by %q, want locked by demo", now.Format("15:04"), p.Status, p.CreatedBy)
				}
				locked = true
				stale = c.crews()
				if err := stale.Step(ctx, now); err != nil {
					t.Fatal(err)
				}
			} else if !civic.IsKind(err, civic.NotFound) {
				t.Fatal(err)
			} else if now.After(day.Add(4 * time.Hour)) {
				t.Fatalf("no plan for %s at %s", date, now.Format("15:04"))
			}
		}
		cs, err := c.st.ListCollections(ctx, civic.CollectionFilter{From: day}) // not the history's
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range cs {
			if seen[col.ID] || col.PlanID == "" {
				continue
			}
			seen[col.ID] = true
			// Right after the report, before the sensor speaks again, the
			// bin's state is empty.
			v, err := c.st.Bin(ctx, col.BinID)
			if err != nil {
				t.Fatal(err)
			}
			if v.State == nil || v.State.Fill == nil || *v.State.Fill != 0 {
				t.Errorf("bin %s collected at %s: state %+v, want fill 0", col.BinID, col.Time.In(c.loc).Format("15:04"), v.State)
			}
			emptiedAt[col.BinID] = col.Time
		}
		for _, r := range c.ingest(t, c.sensors.Step(now)) {
			at, ok := emptiedAt[r.Bin]
			if !ok || r.Time.Before(at) || r.Fill == nil {
				continue
			}
			if *r.Fill >= 0.2 {
				t.Errorf("bin %s collected at %s reads %.2f at %s, want < 0.2", r.Bin, at.In(c.loc).Format("15:04"),
					*r.Fill, r.Time.In(c.loc).Format("15:04"))
			}
			delete(emptiedAt, r.Bin)
			lowAfter++
		}
	}

	p, err := c.st.PlanForDate(ctx, date)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != civic.PlanInProgress && p.Status != civic.PlanDone {
		t.Errorf("the plan is %s after the day, want in_progress or done", p.Status)
	}
	stops, reported, collected := 0, 0, 0
	for _, r := range p.Routes {
		for _, s := range r.Stops {
			if s.Kind != civic.StopBin {
				continue
			}
			stops++
			switch s.Status {
			case civic.StopCollected:
				reported++
				collected++
			case civic.StopSkipped:
				reported++
			}
		}
	}
	if stops < 10 {
		t.Fatalf("the plan has %d bin stops; the test needs a real day's work (stats %+v)", stops, p.Stats)
	}
	if reported*10 < stops*9 {
		t.Errorf("%d of %d bin stops reported, want at least 90%%", reported, stops)
	}
	cs, err := c.st.ListCollections(ctx, civic.CollectionFilter{PlanID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	byStop := map[string]int{}
	for _, col := range cs {
		byStop[col.StopID]++
		if byStop[col.StopID] > 1 {
			t.Errorf("stop %s collected twice", col.StopID)
		}
	}
	if len(cs) != collected {
		t.Errorf("%d collections for %d collected stops", len(cs), collected)
	}
	if lowAfter < collected*8/10 {
		t.Errorf("only %d of %d collected bins were read again after their collection", lowAfter, collected)
	}

	// Restarted once more at the end of the day, the crews find every stop
	// reported and report nothing again; the stale copy sends every report
	// again, and its client ids make them change nothing in the store.
	end := day.Add(24 * time.Hour)
	for _, cr := range []*sim.Crews{c.crews(), stale} {
		if err := cr.Step(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	if after, err := c.st.ListCollections(ctx, civic.CollectionFilter{PlanID: p.ID}); err != nil || len(after) != len(seen) {
		t.Errorf("after a restart: %d collections (%v), want %d", len(after), err, len(seen))
	}
	after, err := c.st.PlanForDate(ctx, date)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range after.Routes {
		for j, s := range r.Stops {
			if was := p.Routes[i].Stops[j]; s.Status != was.Status || !reflect.DeepEqual(s.DoneAt, was.DoneAt) {
				t.Errorf("stop %s after the reports were sent again: %s at %v, was %s at %v", s.ID, s.Status, s.DoneAt, was.Status, was.DoneAt)
			}
		}
	}

	t.Logf("%d bin stops, %d reported (%d collected), %d next readings checked", stops, reported, collected, lowAfter)
}

// TestCrewsLateStart: crews started after PlanUntil leave the day
// unplanned (no trucks sent out in the afternoon) and plan the next one.
func TestCrewsLateStart(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 3, 3, 13, 0, 0, 0, sim.DefaultLocation)
	c := newCrewCity(t, 60, day)
	crews := c.crews()
	for _, h := range []time.Duration{0, time.Hour, 5 * time.Hour} {
		now := day.Add(h)
		c.clk.Set(now)
		if err := crews.Step(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := c.st.PlanForDate(ctx, day.Format(time.DateOnly)); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("a crew started at 13:00 planned the day: %s %s, %v", p.ID, p.Status, err)
	}
	next := time.Date(2026, 3, 4, 3, 5, 0, 0, sim.DefaultLocation)
	c.clk.Set(next)
	if err := crews.Step(ctx, next); err != nil {
		t.Fatal(err)
	}
	if p, err := c.st.PlanForDate(ctx, "2026-03-04"); err != nil || p.Status != civic.PlanLocked {
		t.Errorf("the next day at 03:05: plan %s %s, %v; want it locked", p.ID, p.Status, err)
	}
}

// TestCrewsSunday: on a day with no service the plan has no route; the
// crews lock it and, having nothing to do, mark it done.
func TestCrewsSunday(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 3, 8, 0, 0, 0, 0, sim.DefaultLocation) // a Sunday
	c := newCrewCity(t, 30, day)
	crews := c.crews()
	for now := day.Add(3 * time.Hour); now.Before(day.Add(5 * time.Hour)); now = now.Add(10 * time.Minute) {
		c.clk.Set(now)
		if err := crews.Step(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	p, err := c.st.PlanForDate(ctx, day.Format(time.DateOnly))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Routes) != 0 || p.Status != civic.PlanDone {
		t.Errorf("Sunday's plan: %d routes, %s; want none, done", len(p.Routes), p.Status)
	}
}
