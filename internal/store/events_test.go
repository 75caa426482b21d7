package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// The tests of cross-node events open two Stores on one PostgreSQL schema:
// two civic nodes sharing a database.

type alertNote struct {
	a  civic.Alert
	ev civic.AlertEvent
}

// eventsNode is a started Events and what it delivered.
type eventsNode struct {
	ev      *store.Events
	states  chan []civic.BinState
	alerts  chan alertNote
	forgets chan store.Forget
}

func startEvents(t *testing.T, s *store.Store, interval time.Duration) *eventsNode {
	t.Helper()
	n := &eventsNode{states: make(chan []civic.BinState, 4096), alerts: make(chan alertNote, 4096), forgets: make(chan store.Forget, 4096)}
	n.ev = s.NewEvents(store.EventsOptions{
		Interval: interval,
		Logger:   slog.New(slog.DiscardHandler),
		OnStates: func(st []civic.BinState) { n.states <- st },
		OnAlert:  func(a civic.Alert, ev civic.AlertEvent) { n.alerts <- alertNote{a, ev} },
		OnForget: func(f store.Forget) { n.forgets <- f },
	})
	must(t, "Events.Start", n.ev.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.ev.Close(ctx); err != nil {
			t.Errorf("Events.Close: %v", err)
		}
	})
	return n
}

// waitStates collects delivered states until every bin of want was seen
// and returns the newest delivered state of every bin delivered.
func (n *eventsNode) waitStates(t *testing.T, want ...string) map[string]civic.BinState {
	t.Helper()
	got := map[string]civic.BinState{}
	deadline := time.After(await)
	for {
		missing := slices.DeleteFunc(slices.Clone(want), func(b string) bool { _, ok := got[b]; return ok })
		if len(missing) == 0 {
			return got
		}
		select {
		case sts := <-n.states:
			for _, s := range sts {
				got[s.BinID] = s
			}
		case <-deadline:
			t.Fatalf("states of %v not delivered within %s (got %v)", missing, await, keys(got))
		}
	}
}

func (n *eventsNode) waitAlert(t *testing.T) alertNote {
	t.Helper()
	select {
	case a := <-n.alerts:
		return a
	case <-time.After(await):
		t.Fatalf("no alert change delivered within %s", await)
		return alertNote{}
	}
}

func (n *eventsNode) waitForget(t *testing.T) store.Forget {
	t.Helper()
	select {
	case f := <-n.forgets:
		return f
	case <-time.After(await):
		t.Fatalf("nothing to forget delivered within %s", await)
		return store.Forget{}
	}
}

// quiet fails t if n delivered anything it has not taken yet.
func (n *eventsNode) quiet(t *testing.T, who string) {
	t.Helper()
	select {
	case sts := <-n.states:
		t.Errorf("%s: unexpected states delivered: %+v", who, sts)
	case a := <-n.alerts:
		t.Errorf("%s: unexpected alert delivered: %s %s", who, a.a.ID, a.ev)
	case f := <-n.forgets:
		t.Errorf("%s: unexpected forget delivered: %+v", who, f)
	default:
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// twoNodes opens two stores on one fresh PostgreSQL schema, with bins ids.
func twoNodes(t *testing.T, bins ...string) (a, b *store.Store) {
	t.Helper()
	dsn := postgresDSN(t)
	a, b = openStore(t, dsn, nil), openStore(t, dsn, nil)
	for i, id := range bins {
		must(t, "CreateBin", a.CreateBin(context.Background(), testBin(id, 52.5+float64(i)*0.001, 13.4)))
	}
	return a, b
}

func write(t *testing.T, s *store.Store, rs ...civic.Reading) {
	t.Helper()
	_, err := s.WriteReadings(context.Background(), [][]civic.Reading{rs})
	must(t, "WriteReadings", err)
}

// TestEventsAcrossNodes: what node A commits and announces reaches node
// B's listener, which delivers exactly the states and alerts A named, as
// stored; a node ignores its own notifications.
func TestEventsAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sa, sb := twoNodes(t, "B-1", "B-2", "B-3")
	// B-3 has a state, but no one announces a change of it.
	write(t, sa, civic.Reading{Device: "D-3", Bin: "B-3", Time: t0, Fill: f64(0.1)})
	a, b := startEvents(t, sa, 50*time.Millisecond), startEvents(t, sb, 50*time.Millisecond)
	if a.ev.Node() == b.ev.Node() {
		t.Fatalf("two nodes share the id %q", a.ev.Node())
	}

	rs := []civic.Reading{
		{Device: "D-1", Bin: "B-1", Time: t0, Fill: f64(0.4), Battery: f64(0.8)},
		{Device: "D-2", Bin: "B-2", Time: t0, Fill: f64(0.7)},
		{Device: "D-2", Bin: "B-2", Time: t0.Add(time.Minute), Fill: f64(0.75)},
		{Device: "D-9", Time: t0, Fill: f64(0.5)}, // no bin: no state
	}
	write(t, sa, rs...)
	a.ev.ReadingsCommitted(rs)
	got := b.waitStates(t, "B-1", "B-2")
	if ks := keys(got); !slices.Equal(ks, []string{"B-1", "B-2"}) {
		t.Errorf("B delivered the states of %v, want exactly B-1 and B-2", ks)
	}
	stored, err := sb.BinStates(ctx)
	must(t, "BinStates", err)
	for _, want := range stored {
		if g, ok := got[want.BinID]; ok && !equalState(g, want) {
			t.Errorf("delivered state of %s = %+v, stored %+v", want.BinID, g, want)
		}
	}
	if s := got["B-2"]; s.Fill == nil || *s.Fill != 0.75 || !s.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("state of B-2 = %+v, want the newest reading's (0.75 at %s)", s, t0.Add(time.Minute))
	}

	al, _, err := sa.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0))
	must(t, "OpenAlert", err)
	a.ev.AlertChanged(al, civic.EventOpened)
	if n := b.waitAlert(t); n.a.ID != al.ID || n.ev != civic.EventOpened || n.a.Status != civic.AlertOpen || n.a.Rule != civic.RuleFire {
		t.Errorf("B got %s %s (status %s, rule %s), want %s opened", n.a.ID, n.ev, n.a.Status, n.a.Rule, al.ID)
	}
	acked, err := sa.AckAlert(ctx, al.ID, "ops1", t0.Add(time.Minute))
	must(t, "AckAlert", err)
	a.ev.AlertChanged(acked, civic.EventAcknowledged)
	if n := b.waitAlert(t); n.a.ID != al.ID || n.ev != civic.EventAcknowledged || n.a.Status != civic.AlertAcknowledged || n.a.AckedBy != "ops1" {
		t.Errorf("B got %s %s (status %s, by %q), want %s acknowledged by ops1", n.a.ID, n.ev, n.a.Status, n.a.AckedBy, al.ID)
	}

	// The other way round. A receives B's notification after its own (one
	// queue, in order), so by then it has seen and ignored its own.
	res, err := sb.ResolveAlert(ctx, al.ID, "ops2", "emptied", t0.Add(2*time.Minute))
	must(t, "ResolveAlert", err)
	b.ev.AlertChanged(res, civic.EventResolved)
	if n := a.waitAlert(t); n.a.ID != al.ID || n.ev != civic.EventResolved || n.a.Status != civic.AlertResolved {
		t.Errorf("A got %s %s (status %s), want %s resolved", n.a.ID, n.ev, n.a.Status, al.ID)
	}
	a.quiet(t, "A")
	b.quiet(t, "B")
	sta, stb := a.ev.Stats(), b.ev.Stats()
	if sta.Received != 1 {
		t.Errorf("A received %d notifications from other nodes, want 1 (B's)", sta.Received)
	}
	if stb.Received != sta.Notified || sta.Notified != 3 {
		t.Errorf("A sent %d notifications and B received %d, want 3 and 3", sta.Notified, stb.Received)
	}
}

func equalState(a, b civic.BinState) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.BinID == b.BinID && a.Device == b.Device && a.Time.Equal(b.Time) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		eq(a.Fill, b.Fill) && eq(a.Battery, b.Battery) && eq(a.TemperatureC, b.TemperatureC)
}

// TestEventsCoalesce: a burst of commits on one node is sent as a few
// notifications, and a burst of notifications is read back a few times,
// at most once per Interval each.
func TestEventsCoalesce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const nbins, interval = 50, 300 * time.Millisecond
	ids := make([]string, nbins)
	for i := range ids {
		ids[i] = fmt.Sprintf("C-%02d", i)
	}
	sa, sb := twoNodes(t, ids...)
	for i, id := range ids {
		write(t, sa, civic.Reading{Device: "D" + id, Bin: id, Time: t0, Fill: f64(float64(i) / nbins)})
	}

	t.Run("receive", func(t *testing.T) {
		b := startEvents(t, sb, interval)
		// 200 notifications from another node, one statement each; the
		// last names the one bin the others do not, so when B has
		// delivered it, it has received them all.
		start := time.Now()
		for i := range 200 {
			bin := ids[i%(nbins-1)]
			if i == 199 {
				bin = ids[nbins-1]
			}
			if _, err := sa.DB().ExecContext(ctx, `SELECT pg_notify($1, $2)`, store.EventsChannel(b.ev),
				`{"node":"elsewhere","bins":["`+bin+`"]}`); err != nil {
				t.Fatal(err)
			}
		}
		got := b.waitStates(t, ids...)
		elapsed := time.Since(start)
		if len(got) != nbins {
			t.Errorf("delivered %d states, want %d", len(got), nbins)
		}
		st := b.ev.Stats()
		if st.Received != 200 {
			t.Errorf("received %d notifications, want 200", st.Received)
		}
		if limit := uint64(elapsed/interval) + 2; st.Reads > limit {
			t.Errorf("read back %d times in %s for 200 notifications, want at most %d (once per %s)", st.Reads, elapsed, limit, interval)
		}
	})

	t.Run("send", func(t *testing.T) {
		a := startEvents(t, sa, interval)
		b := startEvents(t, sb, 20*time.Millisecond)
		start := time.Now()
		for i := range 500 { // the writer's commit hook, 500 commits
			a.ev.ReadingsCommitted([]civic.Reading{{Device: "D" + ids[i%nbins], Bin: ids[i%nbins], Time: t0}})
		}
		b.waitStates(t, ids...)
		elapsed := time.Since(start)
		if limit := uint64(elapsed/interval) + 2; a.ev.Stats().Notified > limit {
			t.Errorf("sent %d notifications in %s for 500 commits, want at most %d (once per %s)", a.ev.Stats().Notified, elapsed, limit, interval)
		}
	})
}

// TestEventsOverflow: a round naming more bins than a few notifications
// hold is sent as one "all" notification, and the receiver reads every
// state, including those not named.
func TestEventsOverflow(t *testing.T) {
	t.Parallel()
	sa, sb := twoNodes(t, "X-1", "Y-1")
	write(t, sa, civic.Reading{Device: "DX", Bin: "X-1", Time: t0, Fill: f64(0.3)},
		civic.Reading{Device: "DY", Bin: "Y-1", Time: t0, Fill: f64(0.6)})
	a, b := startEvents(t, sa, 50*time.Millisecond), startEvents(t, sb, 50*time.Millisecond)
	rs := []civic.Reading{{Device: "DX", Bin: "X-1", Time: t0}}
	for i := range 6000 {
		rs = append(rs, civic.Reading{Device: "G", Bin: fmt.Sprintf("ghost-%06d", i), Time: t0})
	}
	a.ev.ReadingsCommitted(rs)
	got := b.waitStates(t, "X-1", "Y-1")
	if len(got) != 2 {
		t.Errorf("delivered the states of %v, want X-1 and Y-1", keys(got))
	}
	// A counts a notification once pg_notify returned, which may be after
	// B has it.
	for deadline := time.Now().Add(await); a.ev.Stats().Notified == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := a.ev.Stats().Notified; n != 1 {
		t.Errorf("sent %d notifications for 6001 bins, want 1 (\"all\")", n)
	}
}

// TestEncodeEvents: payloads stay below PostgreSQL's limit, name every
// change once, and turn into one "all" when there are too many.
func TestEncodeEvents(t *testing.T) {
	for _, tc := range []struct{ bins, alerts int }{{0, 1}, {1, 0}, {3, 2}, {400, 0}, {1000, 30}, {2500, 0}, {20000, 0}, {0, 5000}} {
		t.Run(fmt.Sprintf("%d bins %d alerts", tc.bins, tc.alerts), func(t *testing.T) {
			var bins []string
			for i := range tc.bins {
				bins = append(bins, fmt.Sprintf("bin-%05d", i))
			}
			var alerts [][2]string
			for i := range tc.alerts {
				alerts = append(alerts, [2]string{fmt.Sprintf("al_%024d", i), "acknowledged"})
			}
			msgs := store.EncodeEvents("n1", bins, alerts)
			var gotBins, gotAlerts []string
			all := false
			for _, m := range msgs {
				if len(m) >= store.MaxPayload {
					t.Errorf("payload of %d bytes, want below %d", len(m), store.MaxPayload)
				}
				var p struct {
					Node   string
					Bins   []string
					Alerts []struct{ ID, Event string }
					All    bool
				}
				if err := json.Unmarshal([]byte(m), &p); err != nil {
					t.Fatalf("payload %q: %v", m, err)
				}
				if p.Node != "n1" {
					t.Errorf("node %q, want n1", p.Node)
				}
				all = all || p.All
				gotBins = append(gotBins, p.Bins...)
				for _, a := range p.Alerts {
					if a.Event != "acknowledged" {
						t.Errorf("alert %s event %q", a.ID, a.Event)
					}
					gotAlerts = append(gotAlerts, a.ID)
				}
			}
			size := 0
			for _, b := range bins {
				size += len(b) + 3
			}
			for _, a := range alerts {
				size += len(a[0]) + len(a[1]) + 20
			}
			if fits := size < (store.MaxMessages-1)*store.MaxPayload; fits {
				if all || len(msgs) > store.MaxMessages || len(gotBins) != len(bins) || len(gotAlerts) != len(alerts) {
					t.Errorf("%d payloads, all %v, %d bins, %d alerts; want at most %d payloads naming all %d bins and %d alerts",
						len(msgs), all, len(gotBins), len(gotAlerts), store.MaxMessages, len(bins), len(alerts))
				}
			} else if !all || len(msgs) != 1 {
				t.Errorf("%d payloads, all %v; want one \"all\" payload", len(msgs), all)
			}
		})
	}
}

// TestEventsCatchUp: changes committed while a node was not listening
// (here: never announced at all) are delivered when its listener
// reconnects after the connection was cut.
func TestEventsCatchUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sa, sb := twoNodes(t, "B-1", "B-2", "B-3")
	write(t, sa, civic.Reading{Device: "D-1", Bin: "B-1", Time: t0, Fill: f64(0.2)})
	al1, _, err := sa.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0))
	must(t, "OpenAlert", err)
	al2, _, err := sa.OpenAlert(ctx, newAlert("B-2", civic.RuleTilt, t0))
	must(t, "OpenAlert", err)
	b := startEvents(t, sb, 50*time.Millisecond)

	// Node A changes things and, having no Events, announces nothing.
	_, err = sa.ResolveAlert(ctx, al1.ID, "ops", "", t0.Add(time.Minute))
	must(t, "ResolveAlert", err)
	_, err = sa.AckAlert(ctx, al2.ID, "ops", t0.Add(time.Minute))
	must(t, "AckAlert", err)
	al3, _, err := sa.OpenAlert(ctx, newAlert("B-3", civic.RuleFull, t0.Add(time.Minute)))
	must(t, "OpenAlert", err)
	write(t, sa, civic.Reading{Device: "D-1", Bin: "B-1", Time: t0.Add(time.Minute), Fill: f64(0.9)})
	b.quiet(t, "B before the reconnection")

	var ok bool
	must(t, "terminate B's listener", sa.DB().QueryRowContext(ctx, `SELECT pg_terminate_backend($1, 5000)`,
		int64(store.ListenerPID(b.ev))).Scan(&ok))
	if !ok {
		t.Fatal("pg_terminate_backend found no listener")
	}
	// Keys and devices may have changed unheard: B's caches forget all.
	if f := b.waitForget(t); f != (store.Forget{}) {
		t.Errorf("after reconnecting B was told to forget %+v, want everything", f)
	}
	got := map[string]civic.AlertEvent{}
	for range 3 {
		n := b.waitAlert(t)
		got[n.a.ID] = n.ev
	}
	want := map[string]civic.AlertEvent{al1.ID: civic.EventResolved, al2.ID: civic.EventAcknowledged, al3.ID: civic.EventOpened}
	for id, ev := range want {
		if got[id] != ev {
			t.Errorf("after reconnecting B reported %s %q, want %q (all: %v)", id, got[id], ev, got)
		}
	}
	states := b.waitStates(t, "B-1")
	if s := states["B-1"]; s.Fill == nil || *s.Fill != 0.9 {
		t.Errorf("state of B-1 after catching up = %+v, want fill 0.9", s)
	}
	b.quiet(t, "B after catching up")
	if st := b.ev.Stats(); st.Reconnects != 1 || st.Received != 0 {
		t.Errorf("stats %+v, want 1 reconnection and no notifications", st)
	}
}

// TestEventsForget: a revoked API key, a created, changed or unmounted
// device, and a created or deleted bin or zone reach every node's OnForget, the changing node's included, when
// the change commits; a change that fails reaches none.
func TestEventsForget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sa, sb := twoNodes(t, "B-1", "B-2")
	a, b := startEvents(t, sa, 50*time.Millisecond), startEvents(t, sb, 50*time.Millisecond)
	both := func(what string, want store.Forget) {
		t.Helper()
		for name, n := range map[string]*eventsNode{"A": a, "B": b} {
			if got := n.waitForget(t); got != want {
				t.Errorf("%s: node %s was told to forget %+v, want %+v", what, name, got, want)
			}
		}
	}

	must(t, "CreateAPIKey", sa.CreateAPIKey(ctx, &civic.APIKey{ID: "k1", Name: "sensors", Scopes: []civic.Scope{civic.ScopeIngest}, Hash: "h"}))
	must(t, "RevokeAPIKey", sa.RevokeAPIKey(ctx, "k1", t0))
	both("revoke", store.Forget{Kind: store.ForgetKey, ID: "k1"})
	wantKind(t, "revoke a missing key", sa.RevokeAPIKey(ctx, "k9", t0), civic.NotFound)

	d := civic.Device{ID: "D-1", BinID: "B-1"}
	must(t, "CreateDevice", sb.CreateDevice(ctx, &d))
	both("create device", store.Forget{Kind: store.ForgetDevice, ID: "D-1"})
	d.BinID = "B-2"
	must(t, "UpdateDevice", sa.UpdateDevice(ctx, &d))
	both("move device", store.Forget{Kind: store.ForgetDevice, ID: "D-1"})
	wantKind(t, "update to a missing bin", sa.UpdateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-9"}), civic.Invalid, "bin_id")
	must(t, "DeleteBin", sa.DeleteBin(ctx, "B-2"))
	both("delete its bin", store.Forget{Kind: store.ForgetBin, ID: "B-2"})
	both("delete its bin", store.Forget{Kind: store.ForgetDevice, ID: "D-1"})
	must(t, "DeleteDevice", sb.DeleteDevice(ctx, "D-1"))
	both("delete device", store.Forget{Kind: store.ForgetDevice, ID: "D-1"})

	z := &civic.Zone{ID: "Z-1", Name: "Centre", Boundary: square(13, 52, 14, 53)}
	must(t, "CreateZone", sb.CreateZone(ctx, z))
	both("create zone", store.Forget{Kind: store.ForgetZone, ID: "Z-1"})
	must(t, "CreateBin", sa.CreateBin(ctx, testBin("B-5", 52.5, 13.5)))
	both("create bin", store.Forget{Kind: store.ForgetBin, ID: "B-5"})

	// The failed changes above sent nothing: a last change is the next
	// thing either node hears.
	must(t, "CreateDevice", sa.CreateDevice(ctx, &civic.Device{ID: "D-2"}))
	both("create device", store.Forget{Kind: store.ForgetDevice, ID: "D-2"})
	a.quiet(t, "A")
	b.quiet(t, "B")
}

// TestOnChange: the change hook hears, after the commit, of every API key
// revoked and every device, bin and zone created, changed or deleted, and
// of nothing when the change fails.
func TestOnChange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		var got []store.Forget
		s.OnChange(func(f store.Forget) { got = append(got, f) })
		expect := func(what string, want ...store.Forget) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s: heard %+v, want %+v", what, got, want)
			}
			got = nil
		}
		bin := func(id string) store.Forget { return store.Forget{Kind: store.ForgetBin, ID: id} }
		dev := func(id string) store.Forget { return store.Forget{Kind: store.ForgetDevice, ID: id} }
		zone := func(id string) store.Forget { return store.Forget{Kind: store.ForgetZone, ID: id} }

		b := testBin("B-1", 52.5, 13.5)
		must(t, "CreateBin", s.CreateBin(ctx, b))
		expect("create bin", bin("B-1"))
		b.Name = "Renamed"
		must(t, "UpdateBin", s.UpdateBin(ctx, b))
		expect("update bin", bin("B-1"))
		wantKind(t, "update a missing bin", s.UpdateBin(ctx, testBin("B-9", 52.5, 13.5)), civic.NotFound)
		expect("update a missing bin")
		must(t, "ImportBins", s.ImportBins(ctx, []civic.Bin{*testBin("B-2", 52.5, 13.5), *testBin("B-3", 52.5, 13.5)}))
		expect("import bins", store.Forget{Kind: store.ForgetBin})

		must(t, "CreateDevice", s.CreateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-2"}))
		expect("create device", dev("D-1"))
		must(t, "UpdateDevice", s.UpdateDevice(ctx, &civic.Device{ID: "D-1", BinID: "B-3"}))
		expect("move device", dev("D-1"))
		must(t, "DeleteBin", s.DeleteBin(ctx, "B-3"))
		expect("delete the device's bin", bin("B-3"), dev("D-1"))
		must(t, "DeleteDevice", s.DeleteDevice(ctx, "D-1"))
		expect("delete device", dev("D-1"))
		wantKind(t, "delete a missing device", s.DeleteDevice(ctx, "D-1"), civic.NotFound)
		expect("delete a missing device")

		z := &civic.Zone{ID: "Z-1", Name: "Centre", Boundary: square(13, 52, 14, 53)}
		must(t, "CreateZone", s.CreateZone(ctx, z))
		expect("create zone", zone("Z-1"))
		z.Name = "Old town"
		must(t, "UpdateZone", s.UpdateZone(ctx, z))
		expect("update zone", zone("Z-1"))
		must(t, "DeleteZone", s.DeleteZone(ctx, "Z-1"))
		expect("delete zone", zone("Z-1"))

		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, &civic.APIKey{ID: "k1", Name: "gw", Scopes: []civic.Scope{civic.ScopeIngest}, Hash: "h"}))
		expect("create key") // a new key is in no cache
		must(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, "k1", t0))
		expect("revoke key", store.Forget{Kind: store.ForgetKey, ID: "k1"})
		wantKind(t, "revoke a missing key", s.RevokeAPIKey(ctx, "k9", t0), civic.NotFound)
		expect("revoke a missing key")
	})
}

// TestEventsSQLite: on SQLite (one process) events do nothing.
func TestEventsSQLite(t *testing.T) {
	s := openStore(t, newDSN(t, store.EngineSQLite), nil)
	ev := s.NewEvents(store.EventsOptions{
		OnStates: func([]civic.BinState) { t.Error("states delivered on SQLite") },
		OnAlert:  func(civic.Alert, civic.AlertEvent) { t.Error("alert delivered on SQLite") },
	})
	must(t, "Start", ev.Start(context.Background()))
	ev.ReadingsCommitted([]civic.Reading{{Device: "D-1", Bin: "B-1", Time: t0}})
	ev.AlertChanged(civic.Alert{ID: "al_1", Status: civic.AlertOpen}, civic.EventOpened)
	must(t, "Close", ev.Close(context.Background()))
	if st := ev.Stats(); st != (store.EventsStats{}) {
		t.Errorf("stats on SQLite = %+v, want zero", st)
	}
}
