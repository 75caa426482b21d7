package alert_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// clock is a settable clock.
type clock = storetest.Clock

var quiet = slog.New(slog.DiscardHandler)

// openStore opens a fresh file SQLite store at dir (a temp dir when empty)
// with a city of two bins, B1 (device S1) and B2 (device S2, every 10 min).
func openStore(t *testing.T, clk *clock) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.EngineSQLite, store.Options{Now: clk.Now, Logger: quiet})
	for _, b := range []civic.Bin{
		{ID: "B1", Name: "Main St", Lat: 42.36, Lon: -71.06, CapacityL: 120},
		{ID: "B2", Name: "Harbor", Lat: 42.30, Lon: -71.00, CapacityL: 240},
	} {
		b.Normalize()
		if err := st.CreateBin(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []civic.Device{{ID: "S1", BinID: "B1"}, {ID: "S2", BinID: "B2", ExpectedInterval: 600}} {
		d.Normalize()
		if err := st.CreateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	// These tests exercise every rule: the quiet ones (full, overflow)
	// raise alerts too. TestEngineQuietRulesAndLatch keeps the defaults.
	all := civic.DefaultAlertRules()
	all.Defaults.Disabled = []civic.RuleKind{}
	if err := st.SetAlertRules(ctx, &all); err != nil {
		t.Fatal(err)
	}
	return st
}

type changes struct {
	mu  sync.Mutex
	got []string
}

func (c *changes) add(a civic.Alert, ev civic.AlertEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, a.BinID+"/"+string(a.Rule)+"/"+string(ev))
}

func (c *changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.got
	c.got = nil
	return g
}

// TestEngineWithWriter runs the engine behind the real ingest writer and
// store: rules fire on committed readings, duplicates are not opened,
// cleared conditions resolve, and the sweep catches a silent sensor.
func TestEngineWithWriter(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	eng := alert.NewEngine(alert.EngineOptions{
		Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add,
		SweepInterval: time.Hour, // the test sweeps by hand
		FullAt: func(bin string, now time.Time, fill float64) (time.Time, bool) {
			return now.Add(time.Duration((0.9 - fill) / 0.02 * float64(time.Hour))), true // 2 %/h
		},
	})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The writer calls OnCommit after it answered Ingest: wait for it.
	committed := make(chan struct{}, 16)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Now: clk.Now, Logger: quiet, OnCommit: func(rs []civic.Reading) {
		eng.OnCommit(rs)
		committed <- struct{}{}
	}})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := w.Close(cctx); err != nil {
			t.Error(err)
		}
		if err := eng.Close(cctx); err != nil {
			t.Error(err)
		}
	}()

	send := func(min float64, rs ...civic.Reading) {
		t.Helper()
		at := t0.Add(time.Duration(min * float64(time.Minute)))
		clk.Set(at)
		for i := range rs {
			rs[i].Time = at
			rs[i].Bin = ""
		}
		if _, err := w.Ingest(ctx, rs); err != nil {
			t.Fatalf("Ingest: %v", err)
		}
		select {
		case <-committed:
		case <-time.After(5 * time.Second):
			t.Fatal("OnCommit not called")
		}
		if err := eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	unresolved := func() map[string]civic.Alert {
		t.Helper()
		as, err := st.ListAlerts(ctx, civic.AlertFilter{Unresolved: true})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]civic.Alert{}
		for _, a := range as {
			m[a.BinID+"/"+string(a.Rule)] = a
		}
		return m
	}
	expect := func(step string, want ...string) {
		t.Helper()
		got := ch.take()
		if len(got) != len(want) {
			t.Fatalf("%s: changes %v, want %v", step, got, want)
		}
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		for _, w := range want {
			if !seen[w] {
				t.Fatalf("%s: changes %v, want %v", step, got, want)
			}
		}
	}

	send(0, civic.Reading{Device: "S1", Fill: f64(0.5), Battery: f64(0.9)}, civic.Reading{Device: "S2", Fill: f64(0.2)})
	expect("calm start")
	send(10, civic.Reading{Device: "S1", Fill: f64(0.75)})
	expect("overflow predicted", "B1/overflow_predicted/opened")
	send(20, civic.Reading{Device: "S1", Fill: f64(0.95), TemperatureC: f64(85)}, civic.Reading{Device: "S2", Fill: f64(0.2), Battery: f64(0.25)})
	expect("full, hot, low battery", "B1/full/opened", "B1/fire/opened", "B1/overflow_predicted/resolved", "B2/low_battery/opened")
	fireAlert := unresolved()["B1/fire"]
	if fireAlert.Severity != civic.SeverityCritical || fireAlert.Device != "S1" || fireAlert.Value == nil || *fireAlert.Value != 85 {
		t.Errorf("fire alert = %+v", fireAlert)
	}

	// The same conditions again: no new alerts.
	send(25, civic.Reading{Device: "S1", Fill: f64(0.97), TemperatureC: f64(90)}, civic.Reading{Device: "S2", Fill: f64(0.21)})
	expect("still full and hot")
	if n := len(unresolved()); n != 3 {
		t.Fatalf("%d unresolved alerts, want 3: %v", n, unresolved())
	}

	// An operator acknowledges the fire; it keeps deduplicating.
	if _, err := st.AckAlert(ctx, fireAlert.ID, "sup", clk.Now()); err != nil {
		t.Fatal(err)
	}
	send(30, civic.Reading{Device: "S1", TemperatureC: f64(95)})
	expect("acknowledged fire burns on")

	// Emptied and cooled down: both resolve by themselves. B2 has been
	// silent for 35 min, more than 3 × 10 min: offline.
	send(60, civic.Reading{Device: "S1", Fill: f64(0.05), TemperatureC: f64(20)})
	expect("emptied", "B1/full/resolved", "B1/fire/resolved", "B2/offline/opened")
	all, err := st.ListAlerts(ctx, civic.AlertFilter{BinID: "B1", Rule: civic.RuleFire})
	if err != nil || len(all) != 1 || all[0].Status != civic.AlertResolved || all[0].ResolvedBy != civic.SystemActor || all[0].AckedBy != "sup" {
		t.Fatalf("fire history = %+v, %v", all, err)
	}
	send(61, civic.Reading{Device: "S2", Fill: f64(0.22), Battery: f64(0.9)})
	expect("B2 back with a new battery", "B2/offline/resolved", "B2/low_battery/resolved")

	// B1 falls silent: the timer sweep finds it offline after 3 × 15 min.
	clk.Set(t0.Add(60*time.Minute + 46*time.Minute))
	if err := eng.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	expect("B1 silent", "B1/offline/opened", "B2/offline/opened")

	st2 := eng.Stats()
	if st2.Opened != 7 || st2.Resolved != 5 || st2.Dropped != 0 || st2.Errors != 0 {
		t.Errorf("Stats = %+v", st2)
	}
}

// TestEngineDoorOpenAndRestart opens a door-open alert on the timer, then
// starts a second engine over the same store, which takes the open alert
// over and resolves it when the door closes.
func TestEngineDoorOpenAndRestart(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{{{Device: "S1", Bin: "B1", Time: t0, DoorOpen: boolp(true), Fill: f64(0.3)}}}); err != nil {
		t.Fatal(err)
	}
	start := func() (*alert.Engine, *changes) {
		ch := &changes{}
		e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add, SweepInterval: time.Hour})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return e, ch
	}
	e1, ch1 := start()
	clk.Set(t0.Add(20 * time.Minute))
	e1.Sweep(ctx)
	if got := ch1.take(); len(got) != 0 {
		t.Fatalf("door open 20 min: %v", got)
	}
	clk.Set(t0.Add(31 * time.Minute))
	e1.Sweep(ctx)
	if got := ch1.take(); len(got) != 1 || got[0] != "B1/door_open/opened" {
		t.Fatalf("door open 31 min: %v", got)
	}
	if err := e1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e1.OnCommit([]civic.Reading{{Device: "S1", Bin: "B1"}}) // after Close: ignored, no panic

	e2, ch2 := start()
	defer e2.Close(ctx)
	clk.Set(t0.Add(40 * time.Minute))
	e2.Sweep(ctx)
	if got := ch2.take(); len(got) != 0 {
		t.Fatalf("restarted engine changed %v", got)
	}
	closed := []civic.Reading{{Device: "S1", Bin: "B1", Time: clk.Now(), DoorOpen: boolp(false)}}
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{closed}); err != nil {
		t.Fatal(err)
	}
	e2.OnCommit(closed)
	e2.Sweep(ctx)
	if got := ch2.take(); len(got) != 1 || got[0] != "B1/door_open/resolved" {
		t.Fatalf("door closed: %v", got)
	}
}

// TestEngineAssetsChanged: a bin created after the Engine loaded its
// assets is judged from the next sweep once AssetsChanged says so, rather
// than from the next RefreshInterval.
func TestEngineAssetsChanged(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add,
		SweepInterval: time.Hour, RefreshInterval: 24 * time.Hour})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	e.Sweep(ctx) // assets loaded

	b := civic.Bin{ID: "B9", Name: "New", Lat: 42.31, Lon: -71.01, CapacityL: 240}
	b.Normalize()
	if err := st.CreateBin(ctx, &b); err != nil {
		t.Fatal(err)
	}
	// Its state, written without the Engine seeing the reading (as when
	// another node commits it).
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{{{Device: "S9", Bin: "B9", Time: t0, DoorOpen: boolp(true)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(31 * time.Minute))
	e.Sweep(ctx)
	if got := ch.take(); len(got) != 0 {
		t.Fatalf("unknown bin judged before AssetsChanged: %v", got)
	}
	e.AssetsChanged()
	e.Sweep(ctx)
	if got := ch.take(); len(got) != 1 || got[0] != "B9/door_open/opened" {
		t.Fatalf("after AssetsChanged: %v, want B9/door_open/opened", got)
	}
}

// TestEngineQueueFull checks the commit hook never blocks: a full queue
// drops batches and counts them.
func TestEngineQueueFull(t *testing.T) {
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, QueueSize: 2})
	// Not started: nothing drains the queue.
	for range 5 {
		e.OnCommit([]civic.Reading{{Device: "S1", Bin: "B1", Time: t0, Fill: f64(0.5)}})
	}
	if got := e.Stats().Dropped; got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Closing what never started returns at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st}).Close(ctx); err != nil {
		t.Errorf("Close of an engine never started: %v", err)
	}
	if err := alert.NewNotifier(alert.NotifierOptions{Store: st}).Close(ctx); err != nil {
		t.Errorf("Close of a notifier never started: %v", err)
	}
}

// TestEngineRulesConfig disables a rule for one bin: its open alert
// resolves and it fires no more.
func TestEngineRulesConfig(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, SweepInterval: time.Hour, RefreshInterval: time.Minute})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	rs := []civic.Reading{{Device: "S1", Bin: "B1", Time: t0, TiltDeg: f64(70)}, {Device: "S2", Bin: "B2", Time: t0, TiltDeg: f64(70)}}
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
		t.Fatal(err)
	}
	e.OnCommit(rs)
	e.Sweep(ctx)
	r := civic.DefaultAlertRules()
	r.Overrides = []civic.RuleOverride{{Scope: civic.ScopeBin, Target: "B1", Settings: civic.RuleSettings{Disabled: []civic.RuleKind{civic.RuleTilt}}}}
	if err := st.SetAlertRules(ctx, &r); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(2 * time.Minute)) // past RefreshInterval
	e.Sweep(ctx)
	open, err := st.ListAlerts(ctx, civic.AlertFilter{Unresolved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].BinID != "B2" {
		t.Fatalf("unresolved after disabling tilt on B1: %+v", open)
	}
}

// TestEngineManualResolveLatches: an alert resolved by hand while its
// condition holds stays resolved until the condition clears and returns.
func TestEngineManualResolveLatches(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add,
		SweepInterval: time.Hour, RefreshInterval: time.Minute, TouchInterval: 2 * time.Minute})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	tilt := func(min, deg float64) {
		t.Helper()
		clk.Set(t0.Add(time.Duration(min * float64(time.Minute))))
		rs := []civic.Reading{{Device: "S1", Bin: "B1", Time: clk.Now(), TiltDeg: f64(deg)}}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		e.OnCommit(rs)
		e.Sweep(ctx)
	}
	tilt(0, 70)
	if got := ch.take(); len(got) != 1 || got[0] != "B1/tilt/opened" {
		t.Fatalf("tilted: %v", got)
	}
	open, _ := st.ListAlerts(ctx, civic.AlertFilter{Unresolved: true})
	if _, err := st.ResolveAlert(ctx, open[0].ID, "sup", "known, crew on the way", clk.Now()); err != nil {
		t.Fatal(err)
	}
	tilt(1, 70) // before the refresh: the touch finds it resolved
	tilt(3, 71)
	tilt(5, 72) // after a refresh
	if got := ch.take(); len(got) != 0 {
		t.Fatalf("reopened a hand-resolved alert: %v", got)
	}
	tilt(6, 2)
	tilt(7, 70)
	if got := ch.take(); len(got) != 1 || got[0] != "B1/tilt/opened" {
		t.Fatalf("tilted again after standing up: %v", got)
	}
}

// TestEngineStuckSensor: a fill reported unchanged for more than a day,
// longer than the readings the Engine keeps, is a stuck sensor; a change
// clears it.
func TestEngineStuckSensor(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add, SweepInterval: time.Hour})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	send := func(i int, v float64) {
		clk.Set(t0.Add(time.Duration(i) * 15 * time.Minute))
		rs := []civic.Reading{{Device: "S1", Bin: "B1", Time: clk.Now(), Fill: f64(v)}, {Device: "S2", Bin: "B2", Time: clk.Now(), Fill: f64(0.2 + float64(i%3)/100)}}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		e.OnCommit(rs)
	}
	for i := range 96 { // 23 h 45 min
		send(i, 0.37)
	}
	e.Sweep(ctx)
	if got := ch.take(); len(got) != 0 {
		t.Fatalf("before a day: %v", got)
	}
	send(97, 0.37)
	e.Sweep(ctx)
	if got := ch.take(); len(got) != 1 || got[0] != "B1/sensor_fault/opened" {
		t.Fatalf("after a day: %v", got)
	}
	send(98, 0.39)
	e.Sweep(ctx)
	if got := ch.take(); len(got) != 1 || got[0] != "B1/sensor_fault/resolved" {
		t.Fatalf("after a change: %v", got)
	}
}

// TestEngineBackfill: readings replayed from a sensor's buffer are an
// uplink (not offline), and their past states open no alerts one batch at
// a time; the sweep judges where the bin stands.
func TestEngineBackfill(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add, SweepInterval: time.Hour})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for i, r := range []civic.Reading{
		{Device: "S1", Bin: "B1", Time: t0.Add(-40 * time.Hour), Fill: f64(0.95), TemperatureC: f64(90)},
		{Device: "S1", Bin: "B1", Time: t0.Add(-39 * time.Hour), Fill: f64(0.1), TemperatureC: f64(20)},
	} {
		rs := []civic.Reading{r}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		e.OnCommit(rs)
		if i == 0 {
			e.Sweep(ctx) // the sweep judges the latest state: full and hot then
			if got := ch.take(); len(got) != 2 {
				t.Fatalf("sweep after the first replayed reading: %v", got)
			}
		}
	}
	e.Sweep(ctx)
	got := ch.take()
	if len(got) != 1 || got[0] != "B1/full/resolved" {
		t.Fatalf("after the backfill: %v, want full resolved (the fire latches) and B1 not offline", got)
	}
	fire, err := st.ListAlerts(ctx, civic.AlertFilter{BinID: "B1", Rule: civic.RuleFire})
	if err != nil || len(fire) != 1 || fire[0].Status != civic.AlertOpen || fire[0].ClearedAt == nil {
		t.Fatalf("fire after it cooled down = %+v, %v; want open with cleared_at", fire, err)
	}
}

// TestEngineForecastReuse: the forecast is asked again only after
// ForecastEvery or when the fill moved; beyond the horizon clears.
func TestEngineForecastReuse(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	ch := &changes{}
	var calls int
	hours := 5.0
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add, SweepInterval: time.Hour,
		FullAt: func(bin string, now time.Time, fill float64) (time.Time, bool) {
			if bin == "B1" {
				calls++
			}
			return now.Add(time.Duration(hours * float64(time.Hour))), true
		}})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	send := func(min int, fill float64) {
		clk.Set(t0.Add(time.Duration(min) * time.Minute))
		rs := []civic.Reading{{Device: "S1", Bin: "B1", Time: clk.Now(), Fill: f64(fill)}}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		e.OnCommit(rs)
		e.Sweep(ctx) // evaluates again: no new call within ForecastEvery
	}
	send(0, 0.50)
	send(5, 0.51)
	send(10, 0.52)
	if calls != 1 {
		t.Errorf("%d forecast calls within 15 min and a steady fill, want 1", calls)
	}
	if got := ch.take(); len(got) != 1 || got[0] != "B1/overflow_predicted/opened" {
		t.Fatalf("changes %v", got)
	}
	hours = 400    // beyond any horizon
	send(11, 0.58) // moved by more than 5 %
	if calls != 2 {
		t.Errorf("%d forecast calls after the fill moved, want 2", calls)
	}
	if got := ch.take(); len(got) != 1 || got[0] != "B1/overflow_predicted/resolved" {
		t.Fatalf("changes %v", got)
	}
	send(30, 0.58)
	if calls != 3 {
		t.Errorf("%d forecast calls after 15 min, want 3", calls)
	}
}
