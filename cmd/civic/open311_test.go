package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestBinRequestsMakeMustGo wires the planner to the 311 store as civic
// serve does (binRequests): a nearly empty bin with an open
// overflowing-bin report is must-go in the next plan, with the request in
// the reason; once the report is closed it is not.
func TestBinRequestsMakeMustGo(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	st := storetest.Open(t, store.EngineSQLite, store.Options{Now: clk.Now})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateDepot(ctx, &civic.Depot{ID: "D1", Name: "Depot", Lat: 42.37, Lon: -71.06}))
	fac := civic.Facility{ID: "F1", Name: "Transfer station", Lat: 42.35, Lon: -71.05}
	fac.Normalize()
	must(st.CreateFacility(ctx, &fac))
	tr := civic.Truck{ID: "T1", Name: "Truck 1", DepotID: "D1", CapacityL: 20000}
	tr.Normalize()
	must(st.CreateTruck(ctx, &tr))
	b := civic.Bin{ID: "B1", Name: "Main St", Lat: 42.36, Lon: -71.06, CapacityL: 240, Stream: civic.StreamTrash}
	b.Normalize()
	must(st.CreateBin(ctx, &b))
	d := civic.Device{ID: "S1", BinID: "B1"}
	d.Normalize()
	must(st.CreateDevice(ctx, &d))
	fill := 0.05
	_, err := st.WriteReadings(ctx, [][]civic.Reading{{{Device: "S1", Bin: "B1", Time: clk.Now().Add(-time.Hour), Fill: &fill}}})
	must(err)

	desk := open311.NewDesk(open311.Options{Store: st, Now: clk.Now})
	must(desk.Seed(ctx))
	lat, long := b.Lat, b.Lon
	res, err := desk.Submit(ctx, civic.Submission{Request: civic.ServiceRequest{ServiceCode: "overflowing-bin", Lat: &lat, Long: &long,
		ObjectType: "bin", ObjectID: "B1"}, Attributes: map[string][]string{"bin_kind": {"litter"}}})
	must(err)

	planner, err := plan.NewService(plan.ServiceOptions{Assets: st, States: st, Alerts: st, Plans: st, Now: clk.Now,
		Solve: route.SolveFleet, TimeLimit: time.Second, Logger: slog.New(slog.DiscardHandler), Requests: binRequests(st)})
	must(err)
	decision := func() civic.BinDecision {
		t.Helper()
		p, err := planner.MakePlan(ctx, "2026-03-03", "super", nil)
		must(err)
		for _, d := range p.Decisions {
			if d.BinID == "B1" {
				return d
			}
		}
		t.Fatalf("no decision for B1: %+v", p.Decisions)
		return civic.BinDecision{}
	}
	want := "311 request: overflowing bin (#" + res.Request.ID + ")"
	if d := decision(); d.Decision != civic.MustGo || !strings.Contains(d.Reason, want) {
		t.Errorf("with the report open: %s %q, want must-go %q", d.Decision, d.Reason, want)
	}
	if n, err := desk.BinCollected(ctx, "B1"); err != nil || n != 1 {
		t.Fatalf("BinCollected = %d, %v", n, err)
	}
	if d := decision(); d.Decision == civic.MustGo {
		t.Errorf("with the report closed: still must-go (%q)", d.Reason)
	}
}
