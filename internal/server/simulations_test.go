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
		{name: "start, bad days", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":3}`, as: "analyst"},
			status: 400, field: "days"},
		{name: "start, unknown field", setup: withSimulator, req: request{method: "POST", url: "/api/v1/simulations", body: `{"days":30,"seed":2}`, as: "analyst"},
			status: 400, field: "seed"},
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
