package store_test

import (
	"bytes"
	"context"
	"encoding/json"
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
		first := civic.SimulationRun{ID: "sim-1", Name: "Sensors on every bin", CreatedBy: "analyst1",
			Summary: "sim: collections -41% km -38%", Result: json.RawMessage(`{"policies":[{"name":"threshold","collections":120}]}`),
			Report: report}
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
		got2, err := s.Simulation(ctx, "sim-2")
		must(t, "Simulation sim-2", err)
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
		if list[1].Summary != first.Summary || list[1].Result != nil || list[1].Report != nil {
			t.Errorf("listed run %+v: want the summary, no result or report", list[1])
		}

		wantKind(t, "duplicate", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-1", Name: "again"}), civic.Conflict)
		wantKind(t, "no name", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-3"}), civic.Invalid, "name")
		wantKind(t, "bad id", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "../x", Name: "x"}), civic.Invalid, "id")
		wantKind(t, "bad result", s.SaveSimulation(ctx, &civic.SimulationRun{ID: "sim-4", Name: "x", Result: json.RawMessage(`{`)}),
			civic.Invalid, "result")
		_, err = s.Simulation(ctx, "nope")
		wantKind(t, "missing", err, civic.NotFound)

		must(t, "DeleteSimulation", s.DeleteSimulation(ctx, "sim-1"))
		wantKind(t, "delete again", s.DeleteSimulation(ctx, "sim-1"), civic.NotFound)
		_, err = s.Simulation(ctx, "sim-1")
		wantKind(t, "deleted", err, civic.NotFound)
	})
}
