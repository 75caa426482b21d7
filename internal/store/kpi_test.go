package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// kpiCity stores a week and a day of operations (Mon 2 to Mon 9 March
// 2026, UTC) whose KPIs are worked out by hand in TestKPIs:
//
//   - zones Z-1 (bins B1, B2) and Z-2 (B3, and B4 which is inactive);
//     B2 installed on Thursday 5, B3 with no installation date but
//     registered in February; Z-2's trash is on a fixed Monday and
//     Thursday round, the rest Monday to Saturday (the default);
//   - collections: B1 Tue 3 (fill 0.3, the first record), B3 Thu 5 (1.0:
//     an overflow incident),
//     B1 Fri 6 by a crew (its state was emptied on Tue: 0), B2 Mon 9 (fill
//     unknown), B1 Tue 10 (outside the period);
//   - "full" alerts, which are not overflows: B3 Thu 5, B1 Mon 9, B2 Sun 1
//     (outside); a fire alert;
//   - plans: Fri 6 done (12 km, B1 collected 10 min after its ETA, B3
//     skipped 30 min after), Sat 7 a draft (ignored), Mon 9 locked (5 km,
//     B2 pending);
//   - devices: S1 on B1 never heard, S3 on B3 heard now.
func kpiCity(t *testing.T, s *store.Store, clk *clock) {
	t.Helper()
	ctx := context.Background()
	now := clk.Now()
	clk.Set(time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC))
	must(t, "zone 1", s.CreateZone(ctx, &civic.Zone{ID: "Z-1", Name: "Old town", Boundary: square(13.0, 52.0, 13.5, 52.5)}))
	must(t, "zone 2", s.CreateZone(ctx, &civic.Zone{ID: "Z-2", Name: "Harbour", Boundary: square(13.5, 52.0, 14.0, 52.5)}))
	for _, b := range []struct {
		id, zone, installed string
		status              civic.AssetStatus
	}{{"B1", "Z-1", "2025-06-01", civic.StatusActive}, {"B2", "Z-1", "2026-03-05", civic.StatusActive},
		{"B3", "Z-2", "", civic.StatusActive}, {"B4", "Z-2", "2025-01-01", civic.StatusInactive}} {
		bin := testBin(b.id, 52.2, 13.2)
		bin.ZoneID, bin.InstalledOn, bin.Status = b.zone, b.installed, b.status
		must(t, "bin "+b.id, s.CreateBin(ctx, bin))
	}
	clk.Set(now)
	ps := civic.DefaultPlanSettings()
	ps.Zones = map[string]map[civic.Stream]civic.PlanPolicy{"Z-2": {civic.StreamTrash: {MayGoFill: 0.6, HygieneDays: 7,
		RecentHours: 12, ServiceDays: []time.Weekday{time.Monday, time.Thursday}}}}
	must(t, "SetPlanSettings", s.SetPlanSettings(ctx, &ps))

	at := func(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, time.UTC) }
	for _, c := range []civic.Collection{
		{BinID: "B1", Time: at(3, 10, 0), FillBefore: f64(0.3), Source: "demo"},
		{BinID: "B3", Time: at(5, 9, 0), FillBefore: f64(1), Source: "demo"},
		{BinID: "B2", Time: at(9, 8, 0), Source: "import"},
		{BinID: "B1", Time: at(10, 7, 0), FillBefore: f64(0.9), Source: "demo"},
	} {
		must(t, "RecordCollection", s.RecordCollection(ctx, &c))
	}
	for _, a := range []struct {
		bin  string
		rule civic.RuleKind
		at   time.Time
	}{{"B3", civic.RuleFull, at(5, 8, 0)}, {"B1", civic.RuleFull, at(9, 12, 0)}, {"B2", civic.RuleFull, at(1, 12, 0)},
		{"B1", civic.RuleFire, at(4, 12, 0)}} {
		_, _, err := s.OpenAlert(ctx, &civic.Alert{BinID: a.bin, Rule: a.rule, Severity: a.rule.DefaultSeverity(),
			OpenedAt: a.at, LastSeenAt: a.at})
		must(t, "OpenAlert", err)
	}

	plan := func(date string, km float64, bins ...string) *civic.Plan {
		day, _ := time.Parse(time.DateOnly, date)
		stops := []civic.Stop{{Kind: civic.StopDepot, Lat: 52.2, Lon: 13.2, ETA: day.Add(6 * time.Hour), Depart: day.Add(6 * time.Hour)}}
		for i, b := range bins {
			eta := day.Add(time.Duration(9*60+50+40*i) * time.Minute)
			stops = append(stops, civic.Stop{Kind: civic.StopBin, BinID: b, Lat: 52.2, Lon: 13.2, ETA: eta, Depart: eta.Add(time.Minute)})
		}
		stops = append(stops, civic.Stop{Kind: civic.StopDepot, Lat: 52.2, Lon: 13.2, ETA: day.Add(14 * time.Hour), Depart: day.Add(14 * time.Hour)})
		return &civic.Plan{ID: "plan-" + date, Date: date, Routes: []civic.Route{{TruckID: "T-1", Stream: civic.StreamTrash,
			Start: day.Add(6 * time.Hour), End: day.Add(14 * time.Hour), DistanceM: km * 1000, Stops: stops}}}
	}
	for _, p := range []*civic.Plan{plan("2026-03-06", 12, "B1", "B3"), plan("2026-03-07", 30, "B1"), plan("2026-03-09", 5, "B2")} {
		must(t, "SavePlan "+p.Date, s.SavePlan(ctx, p))
		if p.Date != "2026-03-07" {
			_, err := s.SetPlanStatus(ctx, p.ID, civic.PlanDraft, civic.PlanLocked)
			must(t, "lock "+p.Date, err)
		}
	}
	for _, r := range []civic.StopReport{
		{ClientID: "c1", StopID: "plan-2026-03-06-r1-s1", Status: civic.StopCollected, At: at(6, 10, 0)},
		{ClientID: "c2", StopID: "plan-2026-03-06-r1-s2", Status: civic.StopSkipped, SkipReason: civic.SkipBlocked, At: at(6, 11, 0)},
	} {
		_, _, _, err := s.ReportStop(ctx, &r)
		must(t, "ReportStop "+r.StopID, err)
	}

	for _, d := range []civic.Device{{ID: "S1", BinID: "B1"}, {ID: "S3", BinID: "B3"}} {
		d.Normalize()
		must(t, "device "+d.ID, s.CreateDevice(ctx, &d))
	}
	_, err := s.WriteReadings(ctx, [][]civic.Reading{{{Device: "S3", Bin: "B3", Time: now.Add(-10 * time.Minute), Fill: f64(0.4)}}})
	must(t, "WriteReadings", err)
}

func TestKPIs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		kpiCity(t, s, clk)
		q := civic.KPIQuery{From: "2026-03-02", To: "2026-03-09"}
		must(t, "Normalize", q.Normalize(clk.Now()))
		rep, err := s.KPIs(ctx, q)
		must(t, "KPIs", err)

		// Baseline: B1 Tue 3 (the first record) to Mon 9 but Sunday: 6
		// visits; B2 from Thu 5: 4; B3 on Z-2's Mon/Thu round from Tue 3:
		// Thu 5 and Mon 9. Week 1 (2-8 March) 5+3+1, week 2 (9 March) 3.
		kmPerVisit := 17.0 / 3 // (12 + 5 km) over 3 bin stops
		type want struct {
			days, collections, baseline, overflows, fillN, under int
			fillSum, kmRoutes                                    float64
			planned, collected, skipped, pending, late           int
		}
		check := func(what string, got civic.KPIFigures, w want) {
			t.Helper()
			if got.Days != w.days || got.Collections != w.collections || got.Baseline != w.baseline || got.Overflows != w.overflows ||
				got.FillN != w.fillN || got.FillUnderHalf != w.under || math.Abs(got.KmRoutes-w.kmRoutes) > 1e-9 ||
				got.StopsPlanned != w.planned || got.StopsCollected != w.collected || got.StopsSkipped != w.skipped ||
				got.StopsPending != w.pending || got.StopsLate != w.late {
				t.Errorf("%s = %+v,\nwant %+v", what, got, w)
				return
			}
			if got.Avoided != w.baseline-w.collections {
				t.Errorf("%s: avoided %d, want %d", what, got.Avoided, w.baseline-w.collections)
			}
			if w.baseline > 0 && (got.AvoidedPct == nil || math.Abs(*got.AvoidedPct-float64(w.baseline-w.collections)/float64(w.baseline)) > 1e-9) {
				t.Errorf("%s: avoided %% %v", what, got.AvoidedPct)
			}
			if w.fillN > 0 && (got.FillMean == nil || math.Abs(*got.FillMean-w.fillSum/float64(w.fillN)) > 1e-9) {
				t.Errorf("%s: fill mean %v, want %v", what, got.FillMean, w.fillSum/float64(w.fillN))
			}
			if w.fillN == 0 && got.FillMean != nil {
				t.Errorf("%s: fill mean %v without fills", what, *got.FillMean)
			}
			saved := float64(w.baseline-w.collections) * kmPerVisit
			if got.KmSaved == nil || math.Abs(*got.KmSaved-saved) > 1e-9 || math.Abs(*got.CO2SavedKg-saved*civic.CO2KgPerKm) > 1e-9 ||
				math.Abs(*got.KmBaseline-float64(w.baseline)*kmPerVisit) > 1e-9 {
				t.Errorf("%s: km saved %v, CO2 %v, want %v km", what, got.KmSaved, got.CO2SavedKg, saved)
			}
		}
		check("total", rep.Total, want{days: 8, collections: 4, baseline: 12, overflows: 1, fillN: 3, under: 2, fillSum: 1.3,
			kmRoutes: 12, planned: 3, collected: 1, skipped: 1, pending: 1, late: 1})
		if len(rep.Weeks) != 2 || rep.Weeks[0].Week != "2026-03-02" || rep.Weeks[1].Week != "2026-03-09" {
			t.Fatalf("weeks %+v, want 2026-03-02 and 2026-03-09", rep.Weeks)
		}
		check("week 1", rep.Weeks[0].KPIFigures, want{days: 7, collections: 3, baseline: 9, overflows: 1, fillN: 3, under: 2,
			fillSum: 1.3, kmRoutes: 12, planned: 2, collected: 1, skipped: 1, late: 1})
		check("week 2", rep.Weeks[1].KPIFigures, want{days: 1, collections: 1, baseline: 3, planned: 1, pending: 1})
		if len(rep.Zones) != 2 || rep.Zones[0].ZoneID != "Z-1" || rep.Zones[0].Name != "Old town" || rep.Zones[1].ZoneID != "Z-2" {
			t.Fatalf("zones %+v", rep.Zones)
		}
		check("Z-1", rep.Zones[0].KPIFigures, want{days: 8, collections: 3, baseline: 10, fillN: 2, under: 2,
			fillSum: 0.3, kmRoutes: 6, planned: 2, collected: 1, pending: 1})
		check("Z-2", rep.Zones[1].KPIFigures, want{days: 8, collections: 1, baseline: 2, overflows: 1, fillN: 1, fillSum: 1,
			kmRoutes: 6, planned: 1, skipped: 1, late: 1})

		hist := map[int]int{}
		for i, b := range rep.Fill {
			if b.N > 0 {
				hist[i] = b.N
			}
		}
		if len(rep.Fill) != 10 || rep.Fill[3].From != 0.3 || len(hist) != 3 || hist[0] != 1 || hist[3] != 1 || hist[9] != 1 {
			t.Errorf("fill histogram %+v, want one collection at 0, 0.3 and 1", rep.Fill)
		}
		as := rep.Assumptions
		if as.RecordsFrom != "2026-03-03" || as.KmPerVisit == nil || math.Abs(*as.KmPerVisit-kmPerVisit) > 1e-9 ||
			as.KmPerVisitPlans != 2 || as.KmPerVisitScope != "period" || as.Schedule[civic.StreamTrash] != "Mon Tue Wed Thu Fri Sat" {
			t.Errorf("assumptions %+v", as)
		}
		if f := rep.Fleet; f.Devices != 2 || f.OK != 1 || f.NeverSeen != 1 {
			t.Errorf("fleet %+v, want 2 devices: 1 ok, 1 never seen", f)
		}

		// One zone.
		q = civic.KPIQuery{From: "2026-03-02", To: "2026-03-09", Zone: "Z-2"}
		must(t, "Normalize", q.Normalize(clk.Now()))
		rep, err = s.KPIs(ctx, q)
		must(t, "KPIs Z-2", err)
		check("Z-2 total", rep.Total, want{days: 8, collections: 1, baseline: 2, overflows: 1, fillN: 1, fillSum: 1,
			kmRoutes: 6, planned: 1, skipped: 1, late: 1})
		check("Z-2 week 2", rep.Weeks[1].KPIFigures, want{days: 1, baseline: 1})
		if len(rep.Zones) != 1 || rep.Zones[0].ZoneID != "Z-2" || rep.Fleet.Devices != 1 || rep.Fleet.OK != 1 || rep.Fill[9].N != 1 || rep.Fill[0].N != 0 {
			t.Errorf("Z-2: zones %+v, fleet %+v, fill %+v", rep.Zones, rep.Fleet, rep.Fill)
		}

		// A period without plans takes km per visit from every plan; one
		// before the records begin has no baseline.
		q = civic.KPIQuery{From: "2026-02-23", To: "2026-03-01"}
		must(t, "Normalize", q.Normalize(clk.Now()))
		rep, err = s.KPIs(ctx, q)
		must(t, "KPIs before", err)
		if rep.Total.Baseline != 0 || rep.Total.Collections != 0 || rep.Total.AvoidedPct != nil || rep.Total.Overflows != 0 ||
			rep.Assumptions.KmPerVisitScope != "all" || rep.Assumptions.KmPerVisitPlans != 2 || len(rep.Weeks) != 1 {
			t.Errorf("before the records: %+v, assumptions %+v", rep.Total, rep.Assumptions)
		}

		wantKind(t, "unknown zone", func() error {
			q := civic.KPIQuery{Zone: "Z-9"}
			must(t, "Normalize", q.Normalize(clk.Now()))
			_, err := s.KPIs(ctx, q)
			return err
		}(), civic.Invalid, "zone")
		_, err = s.KPIs(ctx, civic.KPIQuery{From: "2026-03-02"})
		wantKind(t, "not normalized", err, civic.Invalid)
	})
}

func TestKPIQueryNormalize(t *testing.T) {
	now := time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC) // Wednesday 11 March 04:00 in Berlin
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name          string
		q             civic.KPIQuery
		from, to, bad string
	}{
		{"defaults", civic.KPIQuery{}, "2026-01-19", "2026-03-10", ""},
		{"to capped at today", civic.KPIQuery{From: "2026-03-01", To: "2026-04-01"}, "2026-03-01", "2026-03-11", ""},
		{"local today", civic.KPIQuery{Location: berlin, To: "2026-03-11"}, "2026-01-19", "2026-03-11", ""},
		{"bad from", civic.KPIQuery{From: "2026-02-30"}, "", "", "from"},
		{"bad to", civic.KPIQuery{To: "yesterday"}, "", "", "to"},
		{"reversed", civic.KPIQuery{From: "2026-03-05", To: "2026-03-01"}, "", "", "from"},
		{"too long", civic.KPIQuery{From: "2025-01-01", To: "2026-03-01"}, "", "", "from"},
		{"bad zone", civic.KPIQuery{Zone: "a b"}, "", "", "zone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			err := q.Normalize(now)
			if c.bad != "" {
				wantKind(t, c.name, err, civic.Invalid, c.bad)
				return
			}
			must(t, c.name, err)
			if q.From != c.from || q.To != c.to {
				t.Errorf("Normalize(%+v) = %s..%s, want %s..%s", c.q, q.From, q.To, c.from, c.to)
			}
		})
	}
}

// TestKPIRequests: the 311 figures of kpiCity's week and a day, worked
// out by hand: a request counts by the week it came in and the zone of
// its bin (else of its location); those a moderator hid and those outside
// the period not at all; duplicates and requests without a promised time
// count as received only; the median time to close is over the closed
// requests that are not duplicates (23 and 49 h).
func TestKPIRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		kpiCity(t, s, clk) // now: Tue 10 March 2026, 12:00 UTC
		sv, graffiti := testService(), testService()
		graffiti.Code, graffiti.Name = "graffiti", "Graffiti"
		must(t, "CreateService", s.CreateService(ctx, &sv))
		must(t, "CreateService", s.CreateService(ctx, &graffiti))
		at := func(day, hour int) *time.Time {
			v := time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC)
			return &v
		}
		z1, z2 := [2]float64{52.2, 13.2}, [2]float64{52.2, 13.7}
		for i, r := range []struct {
			in          [2]float64 // lat, lon; zero: none
			bin         string
			requested   int // day of March, 08:00
			due, closed *time.Time
			mod         civic.Moderation
			dupOf       string
			graffiti    bool // the other service
		}{
			{in: z2, bin: "B1", requested: 3, due: at(4, 8), closed: at(4, 7)},          // met, Z-1 (its bin's)
			{in: z2, requested: 5, due: at(6, 8), closed: at(7, 9), graffiti: true},     // missed: closed late, Z-2
			{in: z1, bin: "B3", requested: 9, due: at(11, 8)},                           // open, not yet due, Z-2
			{in: z1, requested: 9, due: at(9, 20), graffiti: true},                      // missed: open past due, Z-1
			{in: z1, requested: 4, due: at(5, 8), closed: at(4, 9), dupOf: "1"},         // a duplicate: received only
			{in: z1, requested: 5, due: at(6, 8), mod: civic.ModHidden, graffiti: true}, // hidden: not counted
			{requested: 6, graffiti: true},                                              // no promised time, no zone
			{in: z1, requested: 1, due: at(2, 8), closed: at(1, 9), graffiti: true},     // before the period
			{in: z2, requested: 6, due: at(7, 8), mod: civic.ModHeld},                   // held: counts, missed
		} {
			code := sv.Code
			if r.graffiti {
				code = graffiti.Code
			}
			req := civic.ServiceRequest{Token: fmt.Sprintf("kpi-%d", i), ServiceCode: code, Status: civic.StatusSubmitted,
				Address: "somewhere", Moderation: r.mod, DuplicateOf: r.dupOf, ExpectedAt: r.due, ClosedAt: r.closed,
				RequestedAt: *at(r.requested, 8)}
			if r.in != [2]float64{} {
				req.Lat, req.Long = &r.in[0], &r.in[1]
			}
			if r.bin != "" {
				req.ObjectType, req.ObjectID = "bin", r.bin
			}
			if r.closed != nil {
				req.Status = civic.StatusClosed
				req.CloseReason = civic.CloseFixed
				if r.dupOf != "" {
					req.CloseReason = civic.CloseDuplicate
				}
			}
			must(t, "CreateServiceRequest", s.CreateServiceRequest(ctx, &req, nil, nil))
		}
		type want struct {
			requests, met, missed, open int
			closeH                      float64 // the median hours to close; 0: none closed
		}
		check := func(what string, got civic.KPIFigures, w want) {
			t.Helper()
			if got.Requests != w.requests || got.SLAMet != w.met || got.SLAMissed != w.missed || got.SLAOpen != w.open {
				t.Errorf("%s: requests %d, on time %d, late %d, open %d; want %+v", what, got.Requests, got.SLAMet,
					got.SLAMissed, got.SLAOpen, w)
				return
			}
			if w.closeH == 0 && got.CloseHoursMedian != nil || w.closeH > 0 && !nearly(got.CloseHoursMedian, w.closeH, 1e-9) {
				t.Errorf("%s: median hours to close %v, want %v", what, ptrStr(got.CloseHoursMedian), w.closeH)
			}
			if due := w.met + w.missed; due == 0 && got.SLAMetPct != nil ||
				due > 0 && (got.SLAMetPct == nil || math.Abs(*got.SLAMetPct-float64(w.met)/float64(due)) > 1e-9) {
				t.Errorf("%s: on-time share %v, want %d of %d", what, got.SLAMetPct, w.met, due)
			}
		}
		q := civic.KPIQuery{From: "2026-03-02", To: "2026-03-09"}
		must(t, "Normalize", q.Normalize(clk.Now()))
		rep, err := s.KPIs(ctx, q)
		must(t, "KPIs", err)
		check("total", rep.Total, want{7, 1, 3, 1, 36})
		check("week 1", rep.Weeks[0].KPIFigures, want{5, 1, 2, 0, 36})
		check("week 2", rep.Weeks[1].KPIFigures, want{2, 0, 1, 1, 0})
		if len(rep.Zones) != 3 || rep.Zones[0].ZoneID != "Z-1" || rep.Zones[1].ZoneID != "Z-2" || rep.Zones[2].ZoneID != "" {
			t.Fatalf("zones %+v, want Z-1, Z-2 and no zone", rep.Zones)
		}
		check("Z-1", rep.Zones[0].KPIFigures, want{3, 1, 1, 0, 23})
		check("Z-2", rep.Zones[1].KPIFigures, want{3, 0, 2, 1, 49})
		check("no zone", rep.Zones[2].KPIFigures, want{1, 0, 0, 0, 0})
		// By service, by name: Graffiti, then Overflowing bin.
		services := func(rep civic.KPIReport, ws ...want) {
			t.Helper()
			names := []string{"Graffiti", "Overflowing bin"}
			if len(rep.Services) != len(names) {
				t.Fatalf("services %+v, want %v", rep.Services, names)
			}
			for i, sv := range rep.Services {
				if sv.Name != names[i] || sv.Code != []string{"graffiti", "overflowing-bin"}[i] {
					t.Errorf("service %d: %s %q, want %s", i, sv.Code, sv.Name, names[i])
				}
				check(sv.Name, civic.KPIFigures{KPIServiceLevel: sv.KPIServiceLevel}, ws[i])
			}
		}
		services(rep, want{3, 0, 2, 0, 49}, want{4, 1, 1, 1, 23})
		// And by week: every week of the report, for every service.
		for i, ws := range [][]want{{{2, 0, 1, 0, 49}, {1, 0, 1, 0, 0}}, {{3, 1, 1, 0, 23}, {1, 0, 0, 1, 0}}} {
			sv := rep.Services[i]
			if len(sv.Weeks) != len(rep.Weeks) {
				t.Fatalf("%s: %d weeks, the report %d", sv.Name, len(sv.Weeks), len(rep.Weeks))
			}
			for k, w := range ws {
				if sv.Weeks[k].Week != rep.Weeks[k].Week {
					t.Errorf("%s week %d is %s, the report's %s", sv.Name, k, sv.Weeks[k].Week, rep.Weeks[k].Week)
				}
				check(sv.Name+" week "+sv.Weeks[k].Week, civic.KPIFigures{KPIServiceLevel: sv.Weeks[k].KPIServiceLevel}, w)
			}
		}

		q = civic.KPIQuery{From: "2026-03-02", To: "2026-03-09", Zone: "Z-2"}
		must(t, "Normalize", q.Normalize(clk.Now()))
		rep, err = s.KPIs(ctx, q)
		must(t, "KPIs Z-2", err)
		check("Z-2 total", rep.Total, want{3, 0, 2, 1, 49})
		check("Z-2 week 2", rep.Weeks[1].KPIFigures, want{1, 0, 0, 1, 0})
		services(rep, want{1, 0, 1, 0, 49}, want{2, 0, 1, 1, 0})
	})
}
