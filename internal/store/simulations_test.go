package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func TestSimulationStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		list, err := s.ListSimulations(ctx)
		must(t, "ListSimulations empty", err)
		if list == nil || len(list) != 0 {
			t.Fatalf("ListSimulations() = %#v, want an empty list", list)
		}

		report := []byte(`<!doctype html><title>r</title><svg viewBox="0 0 10 10"><rect width="5" height="5"/></svg>` + "\x00\xff")
		seven, off := 7.0, 0.0
		assumed := civic.SimulationAssumptions{OverflowRisk: 0.05, HygieneDays: &seven, HygieneDaysCompost: &off, Threshold: 0.7,
			FuelLPerKm: 0.4, CO2KgPerL: 2.68, CrewEURH: 55, TruckEURKm: 0.9, FuelEURL: 1.75}
		first := civic.SimulationRun{ID: "sim-1", Name: "Sensors on every bin", CreatedBy: "analyst1",
			Summary: "sim: collections -41% km -38%", Result: json.RawMessage(`{"policies":[{"name":"threshold","collections":120}]}`),
			Report: report, Assumptions: &assumed}
		must(t, "SaveSimulation", s.SaveSimulation(ctx, &first))
		if !first.CreatedAt.Equal(clk.Now()) {
			t.Errorf("CreatedAt = %v, want the store's clock %v", first.CreatedAt, clk.Now())
		}
		clk.Advance(time.Hour)
		at := time.Date(2026, 3, 10, 14, 30, 15, 123456789, time.FixedZone("EST", -5*3600))
		second := civic.SimulationRun{ID: "sim-2", Name: "Half the fleet", CreatedAt: at, Summary: "sim: km -12%"}
		must(t, "SaveSimulation second", s.SaveSimulation(ctx, &second))

		got, err := s.Simulation(ctx, "sim-1")
		must(t, "Simulation", err)
		if got.Name != first.Name || got.CreatedBy != "analyst1" || got.Summary != first.Summary ||
			!got.CreatedAt.Equal(first.CreatedAt) || !bytes.Equal(got.Report, report) {
			t.Errorf("Simulation(sim-1) = %+v,\nwant %+v", got, first)
		}
		var res map[string]any
		if err := json.Unmarshal(got.Result, &res); err != nil || res["policies"] == nil {
			t.Errorf("result %s reads back as %v (%v)", got.Result, res, err)
		}
		if !reflect.DeepEqual(got.Assumptions, &assumed) {
			t.Errorf("assumptions read back %+v, want %+v", got.Assumptions, assumed)
		}
		got2, err := s.Simulation(ctx, "sim-2")
		must(t, "Simulation sim-2", err)
		if got2.Assumptions != nil {
			t.Errorf("a run stored without assumptions reads back with %+v", got2.Assumptions)
		}
		if want := at.UTC().Truncate(time.Millisecond); !got2.CreatedAt.Equal(want) || got2.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want %v in UTC", got2.CreatedAt, want)
		}
		if len(got2.Result) != 0 || len(got2.Report) != 0 {
			t.Errorf("a run without result or report reads back with %q, %q", got2.Result, got2.Report)
		}

		list, err = s.ListSimulations(ctx)
		must(t, "ListSimulations", err)
		if len(list) != 2 || list[0].ID != "sim-2" || list[1].ID != "sim-1" {
			t.Fatalf("ListSimulations() = %+v, want sim-2 then sim-1 (newest first)", list)
		}
		if list[1].Summary != first.Summary || list[1].Result != nil || list[1].Report != nil || !reflect.DeepEqual(list[1].Assumptions, &assumed) {
			t.Errorf("listed run %+v: want the summary and the assumptions, no result or report", list[1])
		}

		wantKind(t, "duplicate", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-1", Name: "again"}), civic.Conflict)
		wantKind(t, "no name", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-3"}), civic.Invalid, "name")
		wantKind(t, "bad id", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "../x", Name: "x"}), civic.Invalid, "id")
		wantKind(t, "bad result", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-4", Name: "x", Result: json.RawMessage(`{`)}),
			civic.Invalid, "result")
		wantKind(t, "bad assumptions", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-4", Name: "x",
			Assumptions: &civic.SimulationAssumptions{Threshold: 2}}), civic.Invalid, "threshold")
		_, err = s.Simulation(ctx, "nope")
		wantKind(t, "missing", err, civic.NotFound)

		must(t, "DeleteSimulation", s.DeleteSimulation(ctx, "sim-1"))
		wantKind(t, "delete again", s.DeleteSimulation(ctx, "sim-1"), civic.NotFound)
		_, err = s.Simulation(ctx, "sim-1")
		wantKind(t, "deleted", err, civic.NotFound)
	})
}

// TestSimulationProgress: a run started from the web app is stored
// running and updated as it goes; once done or failed it takes no more
// updates; runs saved whole are done.
func TestSimulationProgress(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		whole := civic.SimulationRun{ID: "sim-whole", Name: "saved whole"}
		must(t, "SaveSimulation whole", s.SaveSimulation(ctx, &whole))
		got, err := s.Simulation(ctx, "sim-whole")
		must(t, "Simulation whole", err)
		if got.Status != civic.SimulationDone || got.Progress != 1 || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("a run saved whole reads back %q, progress %g, updated %v (created %v): want done, 1, created",
				got.Status, got.Progress, got.UpdatedAt, got.CreatedAt)
		}
		wantKind(t, "update a done run", s.UpdateSimulation(ctx, &civic.SimulationRun{ID: "sim-whole", Name: "x",
			Status: civic.SimulationRunning, Progress: 0.5}), civic.Conflict)

		clk.Advance(time.Minute)
		run := civic.SimulationRun{ID: "sim-bg", Name: "own city, 30 days", CreatedBy: "analyst1", Status: civic.SimulationRunning,
			Assumptions: &civic.SimulationAssumptions{OverflowRisk: 0.2, Threshold: 0.8}}
		must(t, "SaveSimulation running", s.SaveSimulation(ctx, &run))
		clk.Advance(10 * time.Second)
		run.Progress = 0.25
		must(t, "UpdateSimulation progress", s.UpdateSimulation(ctx, &run))
		list, err := s.ListSimulations(ctx)
		must(t, "ListSimulations", err)
		if len(list) != 2 || list[0].ID != "sim-bg" || list[0].Status != civic.SimulationRunning || list[0].Progress != 0.25 ||
			!list[0].UpdatedAt.Equal(clk.Now().UTC().Truncate(time.Millisecond)) {
			t.Fatalf("ListSimulations() = %+v, want sim-bg running at 0.25, updated now", list)
		}
		if list[0].Interrupted(clk.Now().Add(time.Minute)) || !list[0].Interrupted(clk.Now().Add(3*time.Minute)) {
			t.Errorf("a run silent for 1 minute should be running, for 3 interrupted")
		}
		wantKind(t, "progress over 1", s.UpdateSimulation(ctx, &civic.SimulationRun{ID: "sim-bg", Name: "x",
			Status: civic.SimulationRunning, Progress: 1.5}), civic.Invalid, "progress")
		wantKind(t, "no status", s.UpdateSimulation(ctx, &civic.SimulationRun{ID: "sim-bg", Name: "x"}), civic.Invalid, "status")
		wantKind(t, "missing run", s.UpdateSimulation(ctx, &civic.SimulationRun{ID: "sim-none", Name: "x",
			Status: civic.SimulationRunning}), civic.NotFound)

		run.Status, run.Summary, run.Result, run.Report = civic.SimulationDone, "sim: collections -60%", json.RawMessage(`{"days":30}`), []byte("<p>r</p>")
		run.Assumptions = nil // the started run's stay
		must(t, "UpdateSimulation done", s.UpdateSimulation(ctx, &run))
		got, err = s.Simulation(ctx, "sim-bg")
		must(t, "Simulation done", err)
		if got.Status != civic.SimulationDone || got.Progress != 1 || got.Summary != run.Summary ||
			string(got.Result) != `{"days":30}` || string(got.Report) != "<p>r</p>" || got.CreatedBy != "analyst1" ||
			got.Assumptions == nil || got.Assumptions.OverflowRisk != 0.2 {
			t.Errorf("finished run reads back %+v", got)
		}
		run.Status, run.Error = civic.SimulationFailed, "too late"
		wantKind(t, "fail a done run", s.UpdateSimulation(ctx, &run), civic.Conflict)

		failed := civic.SimulationRun{ID: "sim-fail", Name: "fails", Status: civic.SimulationRunning}
		must(t, "SaveSimulation to fail", s.SaveSimulation(ctx, &failed))
		failed.Status, failed.Error = civic.SimulationFailed, "the database has no active bins to simulate"
		must(t, "UpdateSimulation failed", s.UpdateSimulation(ctx, &failed))
		got, err = s.Simulation(ctx, "sim-fail")
		must(t, "Simulation failed", err)
		if got.Status != civic.SimulationFailed || got.Error != failed.Error || len(got.Report) != 0 {
			t.Errorf("failed run reads back %+v", got)
		}
	})
}
