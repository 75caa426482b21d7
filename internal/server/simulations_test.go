package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/whatif"
)

// storedRuns stores a finished run with its result and one under way.
func storedRuns(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	for _, r := range []civic.SimulationRun{
		{ID: "sim-1", Name: "A year of sensors", CreatedBy: "analyst1", Summary: "sim: collections -60% km -40% vs daily",
			Result: json.RawMessage(`{"days":365,"policies":[{"policy":"planner"}]}`), Report: []byte("<p>report</p>")},
		{ID: "sim-2", Name: "Under way", Status: civic.SimulationRunning, Progress: 0.4},
	} {
		if err := f.store.SaveSimulation(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
}

// withSimulator rebuilds f's server with a simulator of its store's city
// (whatif.Jobs, as civic serve has), closed when t ends.
func withSimulator(t *testing.T, f *fixture) {
	t.Helper()
	jobs := whatif.NewJobs(whatif.JobsOptions{City: f.store, Runs: f.store, Settings: f.store.PlanSettings,
		Now: func() time.Time { return testNow }, PlanTime: 20 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		jobs.Close(ctx)
	})
	f.srv = server.New(server.Config{}, server.Deps{
		Store: f.store, Auth: f.auth, Now: func() time.Time { return testNow }, Pages: testPages(), Simulator: jobs,
		Logger: slog.New(slog.NewJSONHandler(f.logBuf, nil)),
	})
	f.h = f.srv.Handler()
}

// TestSimulationsAPI: the runs are read with the reports permission; a
// server without a simulator refuses to start one; read keys and crews
// neither start nor delete; a run under way is not deleted.
func TestSimulationsAPI(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "list, empty", req: request{method: "GET", url: "/api/v1/simulations", as: "analyst"}, status: 200,
			want: []string{`{"items":[]}`}},
		{name: "list", setup: storedRuns, req: request{method: "GET", url: "/api/v1/simulations", as: "key:read"}, status: 200,
			want: []string{`"id":"sim-1"`, `"status":"done"`, `"progress":1`, `"report_url":"/simulations/sim-1/report"`,
				`"id":"sim-2"`, `"status":"running"`, `"progress":0.4`, `"interrupted":false`},
			nope: []string{`"result"`, "report</p>"}},
		{name: "list, crew", req: request{method: "GET", url: "/api/v1/simulations", as: "crew"}, status: 403},
		{name: "list, anonymous", req: request{method: "GET", url: "/api/v1/simulations"}, status: 401},
		{name: "one, with its result", setup: storedRuns, req: request{method: "GET", url: "/api/v1/simulations/sim-1", as: "supervisor"}, status: 200,
			want: []string{`"summary":"sim: collections -60% km -40% vs daily"`, `"result":{"days":365`, `"created_by":"analyst1"`}},
		{name: "one, missing", req: request{method: "GET", url: "/api/v1/simulations/sim-9", as: "analyst"}, status: 404},
		{name: "start", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":30,"history_days":14,"name":"A month"}`, as: "key:admin"}, status: 202,
			want: []string{`"name":"A month"`, `"status":"running"`, `"created_by":"key:`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				var run struct{ ID string }
				if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil || rec.Header().Get("Location") != "/api/v1/simulations/"+run.ID {
					t.Errorf("Location %q for run %q (%v)", rec.Header().Get("Location"), run.ID, err)
				}
			}},
		{name: "start, with assumptions", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":30,"overflow_risk":0.3,"hygiene_days":5,"hygiene_days_compost":0,"threshold":0.6,` +
				`"fuel_l_per_km":0.42,"co2_kg_per_l":2.5,"crew_eur_h":48,"truck_eur_km":1.1,"fuel_eur_l":1.85}`, as: "analyst"}, status: 202,
			want: []string{`"assumptions":{"overflow_risk":0.3,"hygiene_days":5,"hygiene_days_compost":0,"threshold":0.6,` +
				`"fuel_l_per_km":0.42,"co2_kg_per_l":2.5,"crew_eur_h":48,"truck_eur_km":1.1,"fuel_eur_l":1.85}`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				var run struct{ ID string }
				if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil {
					t.Fatal(err)
				}
				stored, err := f.store.Simulation(context.Background(), run.ID)
				if a := stored.Assumptions; err != nil || a == nil || a.OverflowRisk != 0.3 || *a.HygieneDays != 5 || *a.HygieneDaysCompost != 0 ||
					a.Threshold != 0.6 || a.FuelLPerKm != 0.42 || a.CO2KgPerL != 2.5 || a.CrewEURH != 48 || a.TruckEURKm != 1.1 || a.FuelEURL != 1.85 {
					t.Errorf("stored run's assumptions %+v (%v)", a, err)
				}
				got := f.do(request{method: "GET", url: "/api/v1/simulations/" + run.ID, as: "key:read"})
				if !strings.Contains(got.Body.String(), `"overflow_risk":0.3,"hygiene_days":5,"hygiene_days_compost":0,"threshold":0.6`) {
					t.Errorf("GET the run: %d without its assumptions:\n%s", got.Code, got.Body.String())
				}
			}},
		// The run's policies are checked end to end in the web app's
		// TestSimulationRun, on a city with readings.
		{name: "start, perfect forecasts too", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":7,"perfect_forecasts":true}`, as: "analyst"}, status: 202,
			want: []string{`"status":"running"`, `"name":"The city's own bins, 7 days, with perfect forecasts (`}},
		{name: "start, perfect forecasts not a boolean", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":7,"perfect_forecasts":"yes"}`, as: "analyst"}, status: 400, field: "perfect_forecasts"},
		{name: "start, the defaults", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":30,"hygiene_days":null,"threshold":0}`, as: "analyst"}, status: 202,
			want: []string{`"assumptions":{"overflow_risk":0.1,"hygiene_days":7,"hygiene_days_compost":3,"threshold":0.8,` +
				`"fuel_l_per_km":0.35,"co2_kg_per_l":2.68,"crew_eur_h":60,"truck_eur_km":0.9,"fuel_eur_l":1.6}`}},
		{name: "start, bad days", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":3}`, as: "analyst"},
			status: 400, field: "days"},
		{name: "start, unknown field", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":30,"seed":2}`, as: "analyst"},
			status: 400, field: "seed"},
		{name: "start, assumption of the wrong type", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations",
			body: `{"days":30,"crew_eur_h":"sixty"}`, as: "analyst"}, status: 400, field: "crew_eur_h", after: noRuns},
		{name: "start without a simulator", req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":90}`, as: "analyst"}, status: 503,
			want: []string{"civic simulate"}},
		{name: "start, read key", req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":90}`, as: "key:read"}, status: 403,
			want: []string{"read key"}},
		{name: "start, crew", req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":90}`, as: "crew"}, status: 403},
		{name: "delete", setup: storedRuns, req: request{method: "DELETE", url: "/api/v1/simulations/sim-1", as: "analyst"}, status: 204,
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if _, err := f.store.Simulation(context.Background(), "sim-1"); !civic.IsKind(err, civic.NotFound) {
					t.Errorf("after DELETE: %v, want not found", err)
				}
				rec := f.do(request{method: "GET", url: "/api/v1/audit?limit=5", as: "admin"})
				if !strings.Contains(rec.Body.String(), `"action":"simulation.delete"`) {
					t.Errorf("the audit log lacks the delete:\n%s", rec.Body.String())
				}
			}},
		{name: "delete under way", setup: storedRuns, req: request{method: "DELETE", url: "/api/v1/simulations/sim-2", as: "key:admin"}, status: 409,
			want: []string{"still running"}},
		{name: "delete, read key", setup: storedRuns, req: request{method: "DELETE", url: "/api/v1/simulations/sim-1", as: "key:read"}, status: 403},
		{name: "delete, missing", req: request{method: "DELETE", url: "/api/v1/simulations/sim-9", as: "admin"}, status: 404},
	})
}

// TestSimulationsAPIBadAssumptions: an assumption out of its range, or
// negative, is refused naming its field, and no run is stored.
func TestSimulationsAPIBadAssumptions(t *testing.T) {
	var scenarios []scenario
	for _, bad := range []struct{ field, value string }{
		{"overflow_risk", "0.7"}, {"overflow_risk", "-0.1"}, {"hygiene_days", "-1"}, {"hygiene_days", "400"},
		{"hygiene_days_compost", "366"}, {"threshold", "1.5"}, {"threshold", "0.001"}, {"fuel_l_per_km", "-0.35"},
		{"fuel_l_per_km", "50"}, {"co2_kg_per_l", "-2"}, {"crew_eur_h", "1e9"}, {"truck_eur_km", "-1"}, {"fuel_eur_l", "1000"},
	} {
		scenarios = append(scenarios, scenario{name: bad.field + " " + bad.value, setup: withSimulator,
			req:    request{method: "POST", url: "/api/v1/simulations", body: `{"days":30,"` + bad.field + `":` + bad.value + `}`, as: "analyst"},
			status: 400, field: bad.field, after: noRuns})
	}
	runScenarios(t, scenarios)
}

// noRuns checks that the store holds no run.
func noRuns(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
	t.Helper()
	if runs, err := f.store.ListSimulations(context.Background()); err != nil || len(runs) != 0 {
		t.Errorf("a refused start stored %+v (%v)", runs, err)
	}
}
