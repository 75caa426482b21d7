package plan

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// serviceCity is a real store, of either engine, with a small city: a
// depot, a transfer station, a trash truck and its crew, and three bins:
// B1 full (with a full alert), B2 at 70 %, B3 nearly empty.
type serviceCity struct {
	st  *store.Store
	clk *storetest.Clock
}

func (c *serviceCity) clock() time.Time { return c.clk.Now() }

func (c *serviceCity) set(t time.Time) { c.clk.Set(t) }

func newServiceCity(t *testing.T, engine string) *serviceCity {
	t.Helper()
	ctx := context.Background()
	c := &serviceCity{clk: storetest.NewClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))} // a Monday
	st := storetest.Open(t, engine, store.Options{Now: c.clock})
	c.st = st
	now := c.clock()
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
	must(st.CreateCrew(ctx, &civic.Crew{ID: "C1", Name: "Crew 1", DepotID: "D1", TruckID: "T1", Members: []string{"crew1"}}))
	fills := map[string]float64{"B1": 0.95, "B2": 0.7, "B3": 0.05}
	var rs []civic.Reading
	for i, id := range []string{"B1", "B2", "B3"} {
		b := civic.Bin{ID: id, Name: "Bin " + id, Lat: 42.36 + float64(i)*0.005, Lon: -71.06, CapacityL: 240, Stream: civic.StreamTrash}
		b.Normalize()
		must(st.CreateBin(ctx, &b))
		d := civic.Device{ID: "S" + id, BinID: id}
		d.Normalize()
		must(st.CreateDevice(ctx, &d))
		f := fills[id]
		rs = append(rs, civic.Reading{Device: d.ID, Bin: id, Time: now.Add(-time.Hour), Fill: &f})
	}
	_, err := st.WriteReadings(ctx, [][]civic.Reading{rs})
	must(err)
	_, _, err = st.OpenAlert(ctx, &civic.Alert{BinID: "B1", Rule: civic.RuleFull, Severity: civic.RuleFull.DefaultSeverity(), Message: "full", OpenedAt: now, LastSeenAt: now})
	must(err)
	return c
}

func (c *serviceCity) service(t *testing.T, o ServiceOptions) *Service {
	t.Helper()
	o.Assets, o.States, o.Alerts, o.Plans = c.st, c.st, c.st, c.st
	o.Now = c.clock
	o.Solve = greedy
	o.TimeLimit = time.Second
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func binStops(p civic.Plan) map[string]civic.Stop {
	m := map[string]civic.Stop{}
	for _, r := range p.Routes {
		for _, s := range r.Stops {
			if s.Kind == civic.StopBin {
				m[s.BinID] = s
			}
		}
	}
	return m
}

func decisions(p civic.Plan) map[string]civic.BinDecision {
	m := map[string]civic.BinDecision{}
	for _, d := range p.Decisions {
		m[d.BinID] = d
	}
	return m
}

func TestServicePlanEditLockReport(t *testing.T) {
	storetest.Engines(t, testServicePlanEditLockReport)
}

func testServicePlanEditLockReport(t *testing.T, engine string) {
	ctx := context.Background()
	c := newServiceCity(t, engine)
	s := c.service(t, ServiceOptions{})
	var stages []string
	p, err := s.MakePlan(ctx, "2026-03-03", "super1", func(stage string, done float64) { stages = append(stages, stage) })
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Status != civic.PlanDraft || p.CreatedBy != "super1" || len(p.Routes) != 1 {
		t.Fatalf("plan %s %s by %q with %d routes\n%+v\n%+v\n%+v", p.ID, p.Status, p.CreatedBy, len(p.Routes), p.Decisions, p.Unplanned, p.Stats)
	}
	if len(stages) == 0 || stages[len(stages)-1] != "saved" {
		t.Errorf("progress stages %v", stages)
	}
	stops := binStops(p)
	if _, ok := stops["B1"]; !ok {
		t.Fatalf("must-go B1 not planned: %+v", p.Decisions)
	}
	if _, ok := stops["B3"]; ok {
		t.Errorf("empty B3 planned")
	}
	if stored, err := c.st.PlanForDate(ctx, "2026-03-03"); err != nil || stored.ID != p.ID {
		t.Fatalf("stored plan %v, %v", stored.ID, err)
	}

	// Bad moves change nothing and name the move.
	for _, tc := range []struct {
		moves []civic.StopMove
		field string
	}{
		{[]civic.StopMove{{BinID: "NOPE"}}, "moves[0].bin_id"},
		{[]civic.StopMove{{BinID: "B1", ToRoute: "nope"}}, "moves[0].to_route"},
		{[]civic.StopMove{{BinID: "B1"}, {BinID: "B1"}}, "moves[1].bin_id"},
		{nil, "moves"},
	} {
		if _, err := s.Reoptimise(ctx, p.ID, tc.moves, "super1"); civic.FieldOf(err) != tc.field {
			t.Errorf("moves %v: %v, want a field error on %s", tc.moves, err, tc.field)
		}
	}
	// Drop B1, then add B3 to the route.
	p2, err := s.Reoptimise(ctx, p.ID, []civic.StopMove{{BinID: "B1"}, {BinID: "B3", ToRoute: p.Routes[0].ID}}, "super1")
	if err != nil {
		t.Fatal(err)
	}
	stops = binStops(p2)
	if _, ok := stops["B1"]; ok {
		t.Errorf("dropped B1 still planned")
	}
	if _, ok := stops["B3"]; !ok {
		t.Errorf("moved B3 not planned")
	}
	// The decisions changed with the routes, in the store too: dropped B1
	// is no longer a must-go.
	stored, err := c.st.Plan(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range []civic.Plan{p2, stored} {
		ds := decisions(pl)
		if d := ds["B1"]; d.Decision != civic.Skip || d.Reason != "dropped by super1" {
			t.Errorf("B1 after it was dropped: %s %q, want skip \"dropped by super1\"", d.Decision, d.Reason)
		}
		if d := ds["B3"]; d.Decision != civic.MustGo || d.Reason != "added to route 1 by super1" {
			t.Errorf("B3 after it was added: %s %q, want must \"added to route 1 by super1\"", d.Decision, d.Reason)
		}
	}
	// B1 back in; B3, on the route, moved (to the only route there is).
	p3, err := s.Reoptimise(ctx, p.ID, []civic.StopMove{{BinID: "B1", ToRoute: p.Routes[0].ID}, {BinID: "B3", ToRoute: p.Routes[0].ID}}, "super2")
	if err != nil {
		t.Fatal(err)
	}
	if stored, err = c.st.Plan(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	for _, pl := range []civic.Plan{p3, stored} {
		ds := decisions(pl)
		if d := ds["B1"]; d.Decision != civic.MustGo || d.Reason != "added to route 1 by super2" {
			t.Errorf("B1 after it was added back: %s %q", d.Decision, d.Reason)
		}
		// One note: the last edit's.
		if d := ds["B3"]; d.Decision != civic.MustGo || d.Reason != "moved to route 1 by super2" {
			t.Errorf("B3 after it was moved: %s %q, want must \"moved to route 1 by super2\"", d.Decision, d.Reason)
		}
		if st := binStops(pl)["B3"]; st.Decision != civic.MustGo || !strings.HasSuffix(st.Reason, "by super2") {
			t.Errorf("B3's stop after it was moved: %s %q", st.Decision, st.Reason)
		}
	}

	if _, err := s.SetStatus(ctx, p.ID, civic.PlanDone, "super1"); !civic.IsKind(err, civic.Conflict) {
		t.Errorf("draft → done: %v, want Conflict", err)
	}
	locked, err := s.SetStatus(ctx, p.ID, civic.PlanLocked, "super1")
	if err != nil || locked.Status != civic.PlanLocked {
		t.Fatalf("lock: %v %v", locked.Status, err)
	}
	if _, err := s.MakePlan(ctx, "2026-03-03", "super1", nil); !civic.IsKind(err, civic.Conflict) {
		t.Errorf("planning a locked day: %v, want Conflict", err)
	}
	if _, err := s.Reoptimise(ctx, p.ID, []civic.StopMove{{BinID: "B1"}}, "super1"); !civic.IsKind(err, civic.Conflict) {
		t.Errorf("editing a locked plan: %v, want Conflict", err)
	}

	stop := binStops(locked)["B1"]
	rep := civic.StopReport{ClientID: "phone-1", StopID: stop.ID, Status: civic.StopCollected, By: "crew1"}
	got, applied, err := s.Report(ctx, &rep)
	if err != nil || !applied || got.Status != civic.StopCollected {
		t.Fatalf("report: %+v applied %v, %v", got, applied, err)
	}
	again := civic.StopReport{ClientID: "phone-1", StopID: stop.ID, Status: civic.StopCollected, By: "crew1"}
	if _, applied, err := s.Report(ctx, &again); err != nil || applied {
		t.Errorf("resend: applied %v, %v", applied, err)
	}
	as, err := c.st.ListAlerts(ctx, civic.AlertFilter{BinID: "B1"})
	if err != nil || len(as) != 1 || as[0].Status != civic.AlertResolved || as[0].Note != "emptied by crew C1" {
		t.Errorf("B1's full alert after the collection: %+v, %v", as, err)
	}
	cs, err := c.st.ListCollections(ctx, civic.CollectionFilter{BinID: "B1"})
	if err != nil || len(cs) != 1 {
		t.Errorf("collections of B1: %+v, %v", cs, err)
	}
}

func TestServiceNightly(t *testing.T) {
	storetest.Engines(t, testServiceNightly)
}

func testServiceNightly(t *testing.T, engine string) {
	ctx := context.Background()
	c := newServiceCity(t, engine)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Two nodes on one store; the store's lock is the singleton.
	var logs [2]*syncLog
	var nodes [2]*Service
	for i := range nodes {
		logs[i] = &syncLog{}
		nodes[i] = c.service(t, ServiceOptions{
			Location: loc, NightlyAt: "18:00", CheckEvery: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs[i], nil)),
			Singleton: func(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
				l, ok, err := c.st.TryLock(ctx, name)
				if err != nil || !ok {
					return nil, nil, false
				}
				return l.Done(), l.Release, true
			},
		})
	}
	c.set(time.Date(2026, 3, 2, 17, 59, 0, 0, loc))
	if d := nodes[0].RunNightly(ctx); d != "" {
		t.Fatalf("planned %s before 18:00", d)
	}
	c.set(time.Date(2026, 3, 2, 18, 0, 30, 0, loc))
	for _, n := range nodes {
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if p, err := c.st.PlanForDate(ctx, "2026-03-03"); err == nil {
			if p.CreatedBy != SchedulerActor {
				t.Errorf("nightly plan created by %q", p.CreatedBy)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no nightly plan")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // both nodes check a few more times
	for _, n := range nodes {
		if err := n.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	made := 0
	for _, l := range logs {
		made += countLines(l.String(), "nightly plan made")
	}
	if made != 1 {
		t.Errorf("the nightly plan was made %d times:\n%s\n%s", made, logs[0], logs[1])
	}
	// A restarted node finds the plan and plans nothing.
	again := c.service(t, ServiceOptions{Location: loc, NightlyAt: "18:00"})
	if d := again.RunNightly(ctx); d != "" {
		t.Errorf("planned %s twice", d)
	}
	// Tomorrow evening, the next day.
	c.set(time.Date(2026, 3, 3, 19, 0, 0, 0, loc))
	if d := again.RunNightly(ctx); d != "2026-03-04" {
		t.Errorf("next evening planned %q, want 2026-03-04", d)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  []byte
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func countLines(s, sub string) int {
	n := 0
	for i := 0; ; {
		j := indexFrom(s, sub, i)
		if j < 0 {
			return n
		}
		n++
		i = j + len(sub)
	}
}

func indexFrom(s, sub string, i int) int {
	for j := i; j+len(sub) <= len(s); j++ {
		if s[j:j+len(sub)] == sub {
			return j
		}
	}
	return -1
}
