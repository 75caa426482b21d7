package whatif_test

import (
	"context"
	"encoding/json"
	"html"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
	"github.com/civic-city/civic/internal/whatif"
)

// storedCity opens a fresh store of engine holding a generated city of n
// bins with days of its sensors' readings, ending an hour ago (n 0: an
// empty store).
func storedCity(t *testing.T, engine string, n, days int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, engine, store.Options{})
	if n == 0 {
		return st
	}
	city := sim.GenerateCity(sim.CityParams{Bins: n, Seed: 5})
	readings := sim.StoredHistory(city, sim.HistoryParams{Days: days, Seed: 5})
	shift := time.Now().Add(-time.Hour).Sub(readings[len(readings)-1].Time)
	for i := range readings {
		readings[i].Time = readings[i].Time.Add(shift)
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range city.Zones {
		check(st.CreateZone(ctx, &city.Zones[i]))
	}
	for i := range city.Depots {
		check(st.CreateDepot(ctx, &city.Depots[i]))
	}
	check(st.ImportBins(ctx, city.Bins))
	for i := range city.Devices {
		check(st.CreateDevice(ctx, &city.Devices[i]))
	}
	for i := range city.Facilities {
		check(st.CreateFacility(ctx, &city.Facilities[i]))
	}
	for i := range city.Trucks {
		check(st.CreateTruck(ctx, &city.Trucks[i]))
	}
	for len(readings) > 0 {
		k := min(len(readings), 5000)
		_, err := st.WriteReadings(ctx, [][]civic.Reading{readings[:k]})
		check(err)
		readings = readings[k:]
	}
	return st
}

// newJobs runs simulations of st's city, under st's singleton lock.
func newJobs(st *store.Store, now func() time.Time) *whatif.Jobs { return gatedJobs(st, now, nil) }

// gatedCity is a store whose bins are listed once gate closes (nil: at
// once): a run reading the city waits for it.
type gatedCity struct {
	*store.Store
	gate chan struct{}
}

func (g gatedCity) ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error) {
	if g.gate != nil {
		<-g.gate
	}
	return g.Store.ListBins(ctx, f)
}

// gatedJobs is newJobs whose runs wait, before they read the city, for
// gate to close (nil: no wait).
func gatedJobs(st *store.Store, now func() time.Time, gate chan struct{}) *whatif.Jobs {
	return whatif.NewJobs(whatif.JobsOptions{City: gatedCity{st, gate}, Runs: st, Settings: st.PlanSettings, Now: now,
		Location: time.UTC, PlanTime: 20 * time.Millisecond, Every: 10 * time.Millisecond,
		Lock: func(ctx context.Context) (func(), bool, error) {
			l, ok, err := st.TryLock(ctx, "simulation")
			if !ok || err != nil {
				return nil, ok, err
			}
			return l.Release, true, nil
		}})
}

// waitRun polls the store until run id is no longer running.
func waitRun(t *testing.T, st *store.Store, id string, within time.Duration) civic.SimulationRun {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		run, err := st.Simulation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != civic.SimulationRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running after %v (progress %g)", id, within, run.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until j has let go of its run: a run is stored done a
// moment before its server releases the cluster's lock and then clears
// Running.
func waitIdle(t *testing.T, j *whatif.Jobs) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); j.Running() != ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Running() = %q a minute after the run was stored done", j.Running())
		}
	}
}

// TestJobs: a simulation of the city's own bins started as the web app
// does runs in the background, stores its progress as it goes and then
// its result and report; it is refused while another runs, and fails
// with a person's message on a city with nothing to simulate.
func TestJobs(t *testing.T) {
	storetest.Engines(t, testJobs)
}

func testJobs(t *testing.T, engine string) {
	ctx := context.Background()
	st := storedCity(t, engine, 30, 10)
	gate := make(chan struct{})
	j := gatedJobs(st, time.Now, gate)
	defer j.Close(ctx)

	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 3, HistoryDays: 10}); !civic.IsKind(err, civic.Invalid) ||
		!strings.Contains(err.Error(), "days") {
		t.Errorf("3 days: %v, want invalid naming days", err)
	}
	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 0}); !civic.IsKind(err, civic.Invalid) ||
		!strings.Contains(err.Error(), "history_days") {
		t.Errorf("0 history days: %v, want invalid naming history_days", err)
	}

	run, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10, By: "analyst1"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != civic.SimulationRunning || !strings.HasPrefix(run.ID, "sim-") || !strings.Contains(run.Name, "7 days") {
		t.Errorf("started run %+v", run)
	}
	// A second is refused while the first runs (held at the gate), here
	// or on another server (another Jobs under the same lock).
	if id := j.Running(); id != run.ID {
		t.Errorf("Running() = %q, want %s", id, run.ID)
	}
	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10}); !civic.IsKind(err, civic.Conflict) {
		t.Errorf("second run here: %v, want conflict", err)
	}
	peer := newJobs(st, time.Now)
	if _, err := peer.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10}); !civic.IsKind(err, civic.Conflict) ||
		!strings.Contains(err.Error(), "another server") {
		t.Errorf("a run on another server: %v, want conflict", err)
	}
	// A server starting meanwhile leaves the live run alone.
	if k, err := peer.Recover(ctx); err != nil || k != 0 {
		t.Errorf("Recover while a run is under way: %d, %v; want 0", k, err)
	}
	peer.Close(ctx)
	close(gate)
	var progress []float64
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got, err := st.Simulation(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != civic.SimulationRunning {
			run = got
			break
		}
		if len(progress) == 0 || progress[len(progress)-1] != got.Progress {
			progress = append(progress, got.Progress)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running after 3 minutes at %g", got.Progress)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if run.Status != civic.SimulationDone || run.Progress != 1 || run.CreatedBy != "analyst1" || run.Error != "" {
		t.Fatalf("finished run: status %q, progress %g, by %q, error %q", run.Status, run.Progress, run.CreatedBy, run.Error)
	}
	if !strings.HasPrefix(run.Summary, "sim: collections ") || len(run.Result) == 0 ||
		!strings.Contains(string(run.Report), "A simulation of the city's own 30 bins") {
		t.Errorf("finished run: summary %q, %d bytes of result, report without the city's own bins", run.Summary, len(run.Result))
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] || progress[i] >= 1 {
			t.Errorf("progress went %v: want rising, under 1 while running", progress)
			break
		}
	}
	if len(progress) < 3 {
		t.Errorf("progress seen: %v, want several steps", progress)
	}
	waitIdle(t, j)

	// A run another server has under way blocks a start, unless it has
	// been silent long enough to be taken for interrupted.
	other := civic.SimulationRun{ID: "sim-other", Name: "on node B", Status: civic.SimulationRunning}
	if err := st.SaveSimulation(ctx, &other); err != nil {
		t.Fatal(err)
	}
	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10}); !civic.IsKind(err, civic.Conflict) ||
		!strings.Contains(err.Error(), "on node B") {
		t.Errorf("start while another server runs one: %v, want conflict naming it", err)
	}
	later := newJobs(st, func() time.Time { return time.Now().Add(civic.SimulationStaleAfter + time.Minute) })
	defer later.Close(ctx)
	if j.SimulationInterrupted(&other) || !later.SimulationInterrupted(&other) {
		t.Errorf("SimulationInterrupted: %v now, %v past the stale time; want false, true",
			j.SimulationInterrupted(&other), later.SimulationInterrupted(&other))
	}
	run2, err := later.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10, Name: "after the crash"})
	if err != nil {
		t.Fatalf("start once the other run is interrupted: %v", err)
	}
	if got := waitRun(t, st, run2.ID, 3*time.Minute); got.Status != civic.SimulationDone || got.Name != "after the crash" {
		t.Errorf("second run ended %q (%s), name %q", got.Status, got.Error, got.Name)
	}
	waitIdle(t, later)

	// A server starting when none runs one closes the runs a dead server
	// left running; the finished ones stay as they are.
	dead := civic.SimulationRun{ID: "sim-dead", Name: "left running", Status: civic.SimulationRunning, Progress: 0.3}
	if err := st.SaveSimulation(ctx, &dead); err != nil {
		t.Fatal(err)
	}
	if k, err := newJobs(st, time.Now).Recover(ctx); err != nil || k != 2 { // sim-other and sim-dead
		t.Errorf("Recover: %d, %v; want 2", k, err)
	}
	for _, id := range []string{"sim-other", "sim-dead"} {
		got, err := st.Simulation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != civic.SimulationFailed || !strings.HasPrefix(got.Error, "Interrupted") {
			t.Errorf("%s after Recover: %q, %q", id, got.Status, got.Error)
		}
	}
	if got, _ := st.Simulation(ctx, run2.ID); got.Status != civic.SimulationDone {
		t.Errorf("a finished run after Recover: %q", got.Status)
	}
}

// TestJobsAssumptions: a run's assumptions change the city's planner
// settings as civic simulate's flags do, and its threshold and cost
// factors; the run keeps them from its start, and its report and result
// say them. Untold, a run assumes the city's settings and civic's other
// defaults, which SimulationDefaults gives; a bad one is refused naming
// its field, and nothing is stored.
func TestJobsAssumptions(t *testing.T) {
	storetest.Engines(t, testJobsAssumptions)
}

func testJobsAssumptions(t *testing.T, engine string) {
	ctx := context.Background()
	st := storedCity(t, engine, 30, 10)
	ps := civic.DefaultPlanSettings()
	ps.Default.OverflowRisk, ps.Default.HygieneDays = 0.2, 6
	compost := ps.Streams[civic.StreamCompost]
	compost.OverflowRisk = 0.2
	ps.Streams[civic.StreamCompost] = compost
	if err := st.SetPlanSettings(ctx, &ps); err != nil {
		t.Fatal(err)
	}
	j := newJobs(st, time.Now)
	defer j.Close(ctx)

	days := func(d float64) *float64 { return &d }
	costs := whatif.DefaultCosts()
	want := civic.SimulationAssumptions{OverflowRisk: 0.2, HygieneDays: days(6), HygieneDaysCompost: days(3), Threshold: 0.8,
		FuelLPerKm: costs.FuelLPerKm, CO2KgPerL: costs.CO2KgPerL, CrewEURH: costs.CrewPerHour, TruckEURKm: costs.TruckPerKm, FuelEURL: costs.FuelPerL}
	if got, err := j.SimulationDefaults(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SimulationDefaults: %+v, %v; want %+v", got, err, want)
	}

	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10,
		Assumptions: civic.SimulationAssumptions{HygieneDaysCompost: days(-1)}}); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != "hygiene_days_compost" {
		t.Errorf("-1 compost days: %v, want invalid hygiene_days_compost", err)
	}
	if runs, err := st.ListSimulations(ctx); err != nil || len(runs) != 0 {
		t.Errorf("a refused run was stored: %+v, %v", runs, err)
	}

	given := civic.SimulationAssumptions{OverflowRisk: 0.3, HygieneDays: days(5), HygieneDaysCompost: days(0), Threshold: 0.6,
		FuelLPerKm: 0.42, CO2KgPerL: 2.5, CrewEURH: 48, TruckEURKm: 1.1, FuelEURL: 1.85}
	run, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10, Assumptions: given, Perfect: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(run.Assumptions, &given) {
		t.Errorf("started run's assumptions %+v, want %+v", run.Assumptions, given)
	}
	got := waitRun(t, st, run.ID, 3*time.Minute)
	if got.Status != civic.SimulationDone || !reflect.DeepEqual(got.Assumptions, &given) {
		t.Fatalf("finished run: %q (%s), assumptions %+v; want done with %+v", got.Status, got.Error, got.Assumptions, given)
	}
	var res struct {
		Threshold   float64      `json:"threshold"`
		Costs       whatif.Costs `json:"costs"`
		Assumptions []string     `json:"assumptions"`
		Policies    []struct {
			Policy string `json:"policy"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(got.Result, &res); err != nil {
		t.Fatal(err)
	}
	if wantCosts := (whatif.Costs{FuelLPerKm: 0.42, CO2KgPerL: 2.5, CrewPerHour: 48, TruckPerKm: 1.1, FuelPerL: 1.85}); res.Threshold != 0.6 || res.Costs != wantCosts {
		t.Errorf("result: threshold %g, costs %+v; want 0.6, %+v", res.Threshold, res.Costs, wantCosts)
	}
	var policies []string
	for _, p := range res.Policies {
		policies = append(policies, p.Policy)
	}
	if !reflect.DeepEqual(policies, whatif.AllPolicies) {
		t.Errorf("a run with perfect forecasts compared %v, want %v", policies, whatif.AllPolicies)
	}
	words := strings.Join(res.Assumptions, "\n")
	for _, w := range []string{"\"Perfect forecasts\" is not a way a city can collect", "at most a 30% chance of filling up", "no bin goes more than 5 days, compost no limit, without emptying",
		"at least 60% full", "Fuel: 0.42 litres of diesel per kilometre", "CO2: 2.50 kg per litre",
		"a crew costs 48 per hour of route, a truck 1.10 per kilometre besides fuel, diesel 1.85 per litre"} {
		if !strings.Contains(words, w) {
			t.Errorf("the result's assumptions do not say %q:\n%s", w, words)
		}
		if !strings.Contains(string(got.Report), html.EscapeString(w)) {
			t.Errorf("the report does not say %q", w)
		}
	}

	// The city's streams differing in their overflow risk, the default
	// leaves it blank: one value would change them all.
	compost.OverflowRisk = 0.05
	ps.Streams[civic.StreamCompost] = compost
	if err := st.SetPlanSettings(ctx, &ps); err != nil {
		t.Fatal(err)
	}
	if got, err := j.SimulationDefaults(ctx); err != nil || got.OverflowRisk != 0 || *got.HygieneDays != 6 {
		t.Errorf("SimulationDefaults with streams' own risks: %+v, %v; want no risk, 6 days", got, err)
	}
}

// TestJobsFail: a city with no bins fails with the reason, and a run the
// server stops on shutting down says so.
func TestJobsFail(t *testing.T) {
	ctx := context.Background()
	empty := storedCity(t, store.EngineSQLite, 0, 0)
	j := newJobs(empty, time.Now)
	run, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitRun(t, empty, run.ID, time.Minute); got.Status != civic.SimulationFailed ||
		got.Error != "The database has no active bins to simulate." {
		t.Errorf("empty city: %q, error %q", got.Status, got.Error)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.StartSimulation(ctx, civic.SimulationRequest{Days: 7, HistoryDays: 10}); !civic.IsKind(err, civic.Unavailable) {
		t.Errorf("start after Close: %v, want unavailable", err)
	}

	st := storedCity(t, store.EngineSQLite, 30, 3)
	j = newJobs(st, time.Now)
	run, err = j.StartSimulation(ctx, civic.SimulationRequest{Days: 365, HistoryDays: 3})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := j.Close(cctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.Simulation(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != civic.SimulationFailed || !strings.HasPrefix(got.Error, "Stopped: the server shut down") {
		t.Errorf("run stopped by Close: %q, error %q", got.Status, got.Error)
	}
}
