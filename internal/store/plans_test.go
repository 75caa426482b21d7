package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// testPlan is a plan for date with two routes: T-1 (crew C-1) empties B-1
// and B-2 with a trip to a facility and a break in between, T-2 empties
// B-3. Its times carry nanoseconds and a zone other than UTC, which
// SavePlan must normalize.
func testPlan(date string) *civic.Plan {
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	zone := time.FixedZone("UTC+1", 3600)
	at := func(min int) time.Time {
		return day.Add(6*time.Hour + time.Duration(min)*time.Minute + 123456789).In(zone)
	}
	stop := func(kind civic.StopKind, id string, min int) civic.Stop {
		st := civic.Stop{Kind: kind, Name: "Stop " + id, Address: id + " Street", Lat: 52.5 + float64(min)/1000,
			Lon: 13.4, ETA: at(min), Depart: at(min + 2), DistanceM: float64(min) * 100}
		switch kind {
		case civic.StopBin:
			st.BinID, st.Decision, st.Reason = id, civic.MustGo, "forecast full before the next service day"
			st.LoadBefore, st.LoadAfter = float64(min)*10, float64(min)*10+240
		case civic.StopDisposal:
			st.FacilityID = id
		}
		return st
	}
	full := day.Add(30 * time.Hour)
	b2 := stop(civic.StopBin, "B-2", 90)
	b2.Decision, b2.Reason, b2.Window = civic.MayGo, "cheap to add", "05:00-10:00"
	return &civic.Plan{
		Date:      date,
		CreatedBy: "scheduler",
		Routes: []civic.Route{{
			TruckID: "T-1", CrewID: "C-1", DepotID: "DEP-1", Stream: civic.StreamTrash, Start: at(0), End: at(240),
			DistanceM: 12345.5, DurationS: 14400, CapacityL: 60000,
			Stops: []civic.Stop{stop(civic.StopDepot, "DEP-1", 0), stop(civic.StopBin, "B-1", 30),
				stop(civic.StopDisposal, "F-1", 60), b2, stop(civic.StopBreak, "", 120), stop(civic.StopDepot, "DEP-1", 240)},
		}, {
			TruckID: "T-2", DepotID: "DEP-1", Stream: civic.StreamRecycling, Start: at(0), End: at(100),
			Stops: []civic.Stop{stop(civic.StopDepot, "DEP-1", 0), stop(civic.StopBin, "B-3", 40),
				stop(civic.StopDepot, "DEP-1", 100)},
		}},
		Decisions: []civic.BinDecision{
			{BinID: "B-1", Stream: civic.StreamTrash, Decision: civic.MustGo, Reason: "full", Fill: f64(0.8), FullAt: &full, LoadL: 200},
			{BinID: "B-2", Stream: civic.StreamTrash, Decision: civic.MayGo, Reason: "cheap", Fill: f64(0.6), LoadL: 150},
			{BinID: "B-4", Stream: civic.StreamTrash, Decision: civic.Skip, Reason: "emptied yesterday"},
		},
		Unplanned: []civic.BinDecision{{BinID: "B-5", Stream: civic.StreamCompost, Decision: civic.MustGo, Reason: "no compost truck"}},
		Stats: civic.PlanStats{MustGo: 3, MayGo: 1, Skipped: 1, Planned: 3, DistanceM: 20000.25, DurationS: 20000,
			SolveS: 1.5, Objective: 42.125, Matrix: "haversine", Disposals: 1, Unassigned: 1},
	}
}

// samePlan compares two plans field by field, so that a failure names the
// route or stop that differs.
func samePlan(t *testing.T, what string, got, want civic.Plan) {
	t.Helper()
	gr, wr := got.Routes, want.Routes
	got.Routes, want.Routes = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: plan = %+v,\nwant %+v", what, got, want)
	}
	if len(gr) != len(wr) {
		t.Fatalf("%s: %d routes, want %d", what, len(gr), len(wr))
	}
	for i := range wr {
		sameRoute(t, what, gr[i], wr[i])
	}
}

func sameRoute(t *testing.T, what string, got, want civic.Route) {
	t.Helper()
	gs, ws := got.Stops, want.Stops
	got.Stops, want.Stops = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: route %s = %+v,\nwant %+v", what, want.ID, got, want)
	}
	if len(gs) != len(ws) {
		t.Fatalf("%s: route %s has %d stops, want %d", what, want.ID, len(gs), len(ws))
	}
	for j := range ws {
		if !reflect.DeepEqual(gs[j], ws[j]) {
			t.Errorf("%s: stop %d of route %s = %+v,\nwant %+v", what, j, want.ID, gs[j], ws[j])
		}
	}
}

func TestPlanRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		p := testPlan("2026-03-11")
		must(t, "SavePlan", s.SavePlan(ctx, p))
		if p.ID != "plan-2026-03-11" || p.Status != civic.PlanDraft || !p.CreatedAt.Equal(clk.Now()) {
			t.Errorf("SavePlan left id %q, status %q, created %v", p.ID, p.Status, p.CreatedAt)
		}
		r := p.Routes[0]
		if r.ID != "plan-2026-03-11-r1" || r.Seq != 1 || r.PlanID != p.ID || r.Status != civic.RoutePlanned ||
			p.Routes[1].ID != "plan-2026-03-11-r2" {
			t.Errorf("SavePlan left route %+v", r)
		}
		if st := r.Stops[3]; st.ID != "plan-2026-03-11-r1-s3" || st.Seq != 3 || st.RouteID != r.ID || st.Status != civic.StopPending {
			t.Errorf("SavePlan left stop %+v", st)
		}
		if r.Start.Location() != time.UTC || r.Start.Nanosecond() != 123000000 {
			t.Errorf("SavePlan left Start %v, want UTC to the millisecond", r.Start)
		}

		got, err := s.Plan(ctx, p.ID)
		must(t, "Plan", err)
		samePlan(t, "Plan", got, *p)
		got, err = s.PlanForDate(ctx, "2026-03-11")
		must(t, "PlanForDate", err)
		samePlan(t, "PlanForDate", got, *p)
		route, err := s.Route(ctx, r.ID)
		must(t, "Route", err)
		sameRoute(t, "Route", route, r)
		for _, st := range r.Stops {
			route, err = s.RouteOfStop(ctx, st.ID)
			must(t, "RouteOfStop", err)
			sameRoute(t, "RouteOfStop "+st.ID, route, r)
		}
		_, err = s.RouteOfStop(ctx, r.ID+"-s999")
		wantKind(t, "RouteOfStop missing", err, civic.NotFound)

		_, err = s.Plan(ctx, "nope")
		wantKind(t, "Plan missing", err, civic.NotFound)
		_, err = s.PlanForDate(ctx, "2026-03-12")
		wantKind(t, "PlanForDate missing", err, civic.NotFound)
		_, err = s.PlanForDate(ctx, "tomorrow")
		wantKind(t, "PlanForDate bad date", err, civic.Invalid, "date")
		_, err = s.Route(ctx, "nope")
		wantKind(t, "Route missing", err, civic.NotFound)

		// A bin deleted after planning leaves the plan readable, its stop
		// naming it still.
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-3", 52.5, 13.4)))
		must(t, "DeleteBin", s.DeleteBin(ctx, "B-3"))
		got, err = s.Plan(ctx, p.ID)
		must(t, "Plan after DeleteBin", err)
		samePlan(t, "Plan after DeleteBin", got, *p)
	})
}

func TestSavePlanInvalid(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		tests := []struct {
			name  string
			mod   func(p *civic.Plan)
			field string
		}{
			{"bad date", func(p *civic.Plan) { p.Date = "2026-13-01" }, "date"},
			{"bad id", func(p *civic.Plan) { p.ID = "a plan" }, "id"},
			{"bad status", func(p *civic.Plan) { p.Status = "archived" }, "status"},
			{"no truck", func(p *civic.Plan) { p.Routes[1].TruckID = "" }, "routes[1].truck_id"},
			{"bad stream", func(p *civic.Plan) { p.Routes[0].Stream = "glass" }, "routes[0].stream"},
			{"same route seq", func(p *civic.Plan) { p.Routes[0].Seq, p.Routes[1].Seq = 2, 2 }, "routes[1].seq"},
			{"bad stop kind", func(p *civic.Plan) { p.Routes[0].Stops[2].Kind = "lunch" }, "routes[0].stops[2].kind"},
			{"bin stop without bin", func(p *civic.Plan) { p.Routes[1].Stops[1].BinID = "" }, "routes[1].stops[1].bin_id"},
			{"seq going back", func(p *civic.Plan) {
				for j := range p.Routes[0].Stops {
					p.Routes[0].Stops[j].Seq = 10 - j
				}
			}, "routes[0].stops[1].seq"},
			{"bad stop status", func(p *civic.Plan) { p.Routes[0].Stops[1].Status = "lost" }, "routes[0].stops[1].status"},
		}
		for _, tt := range tests {
			p := testPlan("2026-03-11")
			tt.mod(p)
			wantKind(t, tt.name, s.SavePlan(ctx, p), civic.Invalid, tt.field)
		}
		plans, err := s.ListPlans(ctx, civic.PlanFilter{})
		must(t, "ListPlans", err)
		if len(plans) != 0 {
			t.Errorf("invalid plans were stored: %+v", plans)
		}
	})
}

func TestPlanReplaceAndStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		a := testPlan("2026-03-11")
		a.ID = "P-a"
		must(t, "SavePlan a", s.SavePlan(ctx, a))

		// A draft for the same date is replaced, routes and all.
		clk.Advance(time.Minute)
		b := testPlan("2026-03-11")
		b.ID, b.Routes = "P-b", b.Routes[1:]
		must(t, "SavePlan b", s.SavePlan(ctx, b))
		_, err := s.Plan(ctx, "P-a")
		wantKind(t, "replaced draft", err, civic.NotFound)
		_, err = s.Route(ctx, "P-a-r1")
		wantKind(t, "route of the replaced draft", err, civic.NotFound)
		got, err := s.PlanForDate(ctx, "2026-03-11")
		must(t, "PlanForDate", err)
		samePlan(t, "replacing draft", got, *b)

		// ReplaceDraft swaps a draft's routes, decisions, unplanned bins
		// and stats; its date, creator and creation stay.
		clk.Advance(time.Minute)
		fresh := testPlan("2026-03-11")
		fresh.ID, fresh.Date, fresh.CreatedBy = "P-b", "2099-01-01", "someone else"
		fresh.Stats = civic.PlanStats{Planned: 2, Matrix: "osrm"}
		fresh.Unplanned = []civic.BinDecision{{BinID: "B-9", Decision: civic.MustGo, Reason: "edited out"}}
		// A supervisor dropped B-1: its must-go becomes a skip.
		fresh.Decisions[0].Decision, fresh.Decisions[0].Reason = civic.Skip, "dropped by ana"
		replaced, err := s.ReplaceDraft(ctx, fresh)
		must(t, "ReplaceDraft", err)
		want := *b
		want.Routes, want.Stats, want.Unplanned, want.Decisions, want.UpdatedAt = fresh.Routes, fresh.Stats, fresh.Unplanned, fresh.Decisions, clk.Now()
		if fresh.Routes[0].ID != "P-b-r1" || fresh.Routes[0].Stops[1].ID != "P-b-r1-s1" {
			t.Errorf("ReplaceDraft ids: route %q, stop %q", fresh.Routes[0].ID, fresh.Routes[0].Stops[1].ID)
		}
		samePlan(t, "ReplaceDraft result", replaced, want)
		got, err = s.Plan(ctx, "P-b")
		must(t, "Plan", err)
		samePlan(t, "after ReplaceDraft", got, want)
		if d := got.Decisions[0]; d.BinID != "B-1" || d.Decision != civic.Skip || d.Reason != "dropped by ana" {
			t.Errorf("B-1's stored decision after ReplaceDraft: %+v, want skip \"dropped by ana\"", d)
		}
		bad := testPlan("2026-03-11")
		bad.ID = "P-b"
		bad.Routes[0].Stops[1].Kind = ""
		_, err = s.ReplaceDraft(ctx, bad)
		wantKind(t, "ReplaceDraft invalid", err, civic.Invalid, "routes[0].stops[1].kind")
		missing := testPlan("2026-03-11")
		missing.ID = "nope"
		_, err = s.ReplaceDraft(ctx, missing)
		wantKind(t, "ReplaceDraft missing", err, civic.NotFound)
		got, err = s.Plan(ctx, "P-b")
		must(t, "Plan", err)
		samePlan(t, "after failed ReplaceDrafts", got, want)

		// Status moves.
		steps := []struct {
			name     string
			id       string
			from, to civic.PlanStatus
			kind     civic.Kind // "" for success
		}{
			{"draft to done", "P-b", civic.PlanDraft, civic.PlanDone, civic.Invalid},
			{"not in from", "P-b", civic.PlanLocked, civic.PlanInProgress, civic.Conflict},
			{"missing plan", "nope", civic.PlanDraft, civic.PlanLocked, civic.NotFound},
			{"lock", "P-b", civic.PlanDraft, civic.PlanLocked, ""},
			{"lock twice", "P-b", civic.PlanDraft, civic.PlanLocked, civic.Conflict},
			{"unlock", "P-b", civic.PlanLocked, civic.PlanDraft, ""},
			{"lock again", "P-b", civic.PlanDraft, civic.PlanLocked, ""},
			{"start", "P-b", civic.PlanLocked, civic.PlanInProgress, ""},
			{"back to draft", "P-b", civic.PlanInProgress, civic.PlanDraft, civic.Invalid},
			{"finish", "P-b", civic.PlanInProgress, civic.PlanDone, ""},
			{"reopen", "P-b", civic.PlanDone, civic.PlanInProgress, civic.Invalid},
		}
		for _, st := range steps {
			clk.Advance(time.Second)
			p, err := s.SetPlanStatus(ctx, st.id, st.from, st.to)
			if st.kind != "" {
				wantKind(t, st.name, err, st.kind)
				continue
			}
			must(t, st.name, err)
			if p.Status != st.to || !p.UpdatedAt.Equal(clk.Now()) || len(p.Routes) != 2 || len(p.Routes[0].Stops) != 6 {
				t.Errorf("%s: SetPlanStatus returned status %q, updated %v, %d routes", st.name, p.Status, p.UpdatedAt, len(p.Routes))
			}
		}

		// Only a draft is replaced or edited.
		wantKind(t, "SavePlan over a done plan", s.SavePlan(ctx, testPlan("2026-03-11")), civic.Conflict)
		done := testPlan("2026-03-11")
		done.ID = "P-b"
		_, err = s.ReplaceDraft(ctx, done)
		wantKind(t, "ReplaceDraft of a done plan", err, civic.Conflict)
		c := testPlan("2026-03-12")
		must(t, "SavePlan c", s.SavePlan(ctx, c))
		_, err = s.SetPlanStatus(ctx, c.ID, civic.PlanDraft, civic.PlanLocked)
		must(t, "lock c", err)
		wantKind(t, "SavePlan over a locked plan", s.SavePlan(ctx, testPlan("2026-03-12")), civic.Conflict)
		dup := testPlan("2026-03-13")
		dup.ID = c.ID
		wantKind(t, "SavePlan with another plan's id", s.SavePlan(ctx, dup), civic.Conflict)
	})
}

func TestListPlansAndRoutesFor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for _, date := range []string{"2026-03-10", "2026-03-12", "2026-03-11"} {
			must(t, "SavePlan "+date, s.SavePlan(ctx, testPlan(date)))
		}
		_, err := s.SetPlanStatus(ctx, "plan-2026-03-10", civic.PlanDraft, civic.PlanLocked)
		must(t, "lock", err)

		ids := func(ps []civic.Plan) []string {
			out := []string{}
			for _, p := range ps {
				out = append(out, p.Date)
			}
			return out
		}
		tests := []struct {
			name string
			f    civic.PlanFilter
			want []string
		}{
			{"all", civic.PlanFilter{}, []string{"2026-03-12", "2026-03-11", "2026-03-10"}},
			{"locked", civic.PlanFilter{Status: civic.PlanLocked}, []string{"2026-03-10"}},
			{"from", civic.PlanFilter{From: "2026-03-11"}, []string{"2026-03-12", "2026-03-11"}},
			{"to", civic.PlanFilter{To: "2026-03-11"}, []string{"2026-03-11", "2026-03-10"}},
			{"limit", civic.PlanFilter{Limit: 1}, []string{"2026-03-12"}},
			{"drafts, limit", civic.PlanFilter{Status: civic.PlanDraft, Limit: 1, To: "2026-03-11"}, []string{"2026-03-11"}},
		}
		for _, tt := range tests {
			got, err := s.ListPlans(ctx, tt.f)
			must(t, tt.name, err)
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("%s: ListPlans dates = %v, want %v", tt.name, ids(got), tt.want)
			}
			for _, p := range got {
				if len(p.Routes) != 2 || p.Routes[0].Seq != 1 || p.Routes[1].TruckID != "T-2" || p.Stats.Matrix != "haversine" {
					t.Errorf("%s: plan %s routes %+v", tt.name, p.ID, p.Routes)
				}
				for _, r := range p.Routes {
					if r.Stops != nil || r.PlanID != p.ID {
						t.Errorf("%s: route %s of plan %s has plan %q and %d stops, want none", tt.name, r.ID, p.ID, r.PlanID, len(r.Stops))
					}
				}
			}
		}
		for name, f := range map[string]civic.PlanFilter{
			"from": {From: "11/03/2026"}, "to": {To: "x"}, "status": {Status: "old"}, "limit": {Limit: -1},
		} {
			_, err := s.ListPlans(ctx, f)
			wantKind(t, "ListPlans bad "+name, err, civic.Invalid, name)
		}

		// Crews see the routes of locked plans only.
		routes, err := s.RoutesFor(ctx, "2026-03-11", "")
		must(t, "RoutesFor draft", err)
		if len(routes) != 0 {
			t.Errorf("RoutesFor a draft = %+v, want none", routes)
		}
		routes, err = s.RoutesFor(ctx, "2026-03-10", "")
		must(t, "RoutesFor", err)
		if len(routes) != 2 || len(routes[0].Stops) != 6 || len(routes[1].Stops) != 3 {
			t.Errorf("RoutesFor all crews = %+v", routes)
		}
		routes, err = s.RoutesFor(ctx, "2026-03-10", "C-1")
		must(t, "RoutesFor C-1", err)
		if len(routes) != 1 || routes[0].CrewID != "C-1" || len(routes[0].Stops) != 6 {
			t.Errorf("RoutesFor C-1 = %+v", routes)
		}
		_, err = s.RoutesFor(ctx, "someday", "")
		wantKind(t, "RoutesFor bad date", err, civic.Invalid, "date")
	})
}
