package store_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func newAlert(bin string, rule civic.RuleKind, at time.Time) *civic.Alert {
	return &civic.Alert{BinID: bin, Rule: rule, Message: string(rule) + " at " + bin, OpenedAt: at}
}

func TestAlertLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		t0 := clk.Now()
		a, created, err := s.OpenAlert(ctx, &civic.Alert{BinID: "B-1", Device: "D-1", Rule: civic.RuleFull, Message: "full", Value: f64(0.95), OpenedAt: t0})
		must(t, "OpenAlert", err)
		if !created || a.ID == "" || a.Status != civic.AlertOpen || a.Severity != civic.SeverityWarning || !a.LastSeenAt.Equal(t0) {
			t.Fatalf("OpenAlert = %+v, created %v", a, created)
		}

		// A duplicate refreshes the open alert instead.
		dup, created, err := s.OpenAlert(ctx, &civic.Alert{BinID: "B-1", Rule: civic.RuleFull, Value: f64(0.97), OpenedAt: t0.Add(time.Minute)})
		must(t, "OpenAlert duplicate", err)
		if created || dup.ID != a.ID || !dup.LastSeenAt.Equal(t0.Add(time.Minute)) || *dup.Value != 0.97 || dup.Message != "full" {
			t.Fatalf("duplicate = %+v, created %v; want the first alert refreshed", dup, created)
		}
		// Another rule of the same bin is another alert.
		other, created, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, t0))
		must(t, "OpenAlert fire", err)
		if !created || other.ID == a.ID || other.Severity != civic.SeverityCritical {
			t.Fatalf("fire alert = %+v, created %v", other, created)
		}

		got, err := s.AckAlert(ctx, a.ID, "sup", t0.Add(2*time.Minute))
		must(t, "AckAlert", err)
		if got.Status != civic.AlertAcknowledged || got.AckedBy != "sup" || got.AckedAt == nil || !got.AckedAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("after ack: %+v", got)
		}
		again, err := s.AckAlert(ctx, a.ID, "other", t0.Add(3*time.Minute))
		must(t, "AckAlert again", err)
		if again.AckedBy != "sup" {
			t.Errorf("second ack changed the alert: %+v", again)
		}
		// Acknowledged alerts still dedupe.
		if _, created, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFull, t0.Add(4*time.Minute))); err != nil || created {
			t.Fatalf("OpenAlert while acknowledged: created %v, %v", created, err)
		}

		res, err := s.ResolveAlert(ctx, a.ID, "sup", "emptied by hand", t0.Add(5*time.Minute))
		must(t, "ResolveAlert", err)
		if res.Status != civic.AlertResolved || res.ResolvedBy != "sup" || res.Note != "emptied by hand" || res.ResolvedAt == nil {
			t.Fatalf("after resolve: %+v", res)
		}
		_, err = s.ResolveAlert(ctx, a.ID, "sup", "", t0)
		wantKind(t, "resolve twice", err, civic.Conflict)
		_, err = s.AckAlert(ctx, a.ID, "sup", t0)
		wantKind(t, "ack resolved", err, civic.Conflict)
		_, err = s.AckAlert(ctx, "nope", "sup", t0)
		wantKind(t, "ack missing", err, civic.NotFound)
		_, err = s.Alert(ctx, "nope")
		wantKind(t, "get missing", err, civic.NotFound)
		_, _, err = s.OpenAlert(ctx, newAlert("B-1", "smoke", t0))
		wantKind(t, "unknown rule", err, civic.Invalid, "rule")

		// Once resolved, the condition may open a new alert.
		b, created, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFull, t0.Add(time.Hour)))
		must(t, "reopen", err)
		if !created || b.ID == a.ID {
			t.Fatalf("reopen = %+v, created %v; want a new alert", b, created)
		}

		// Automatic resolution.
		cleared, ok, err := s.ResolveCleared(ctx, "B-1", civic.RuleFull, "fill 10 %", t0.Add(2*time.Hour))
		must(t, "ResolveCleared", err)
		if !ok || cleared.ID != b.ID || cleared.ResolvedBy != civic.SystemActor {
			t.Fatalf("ResolveCleared = %+v, %v", cleared, ok)
		}
		if _, ok, err := s.ResolveCleared(ctx, "B-1", civic.RuleFull, "", t0); err != nil || ok {
			t.Fatalf("ResolveCleared with nothing open = %v, %v", ok, err)
		}

		// History and filters.
		all, err := s.ListAlerts(ctx, civic.AlertFilter{})
		must(t, "ListAlerts", err)
		if len(all) != 3 || all[0].ID != b.ID {
			t.Fatalf("ListAlerts = %d alerts, first %+v; want 3, newest first", len(all), all)
		}
		for _, c := range []struct {
			f    civic.AlertFilter
			want int
		}{
			{civic.AlertFilter{Status: civic.AlertResolved}, 2},
			{civic.AlertFilter{Unresolved: true}, 1},
			{civic.AlertFilter{Rule: civic.RuleFire}, 1},
			{civic.AlertFilter{BinID: "B-2"}, 0},
			{civic.AlertFilter{BinID: "B-1", Rule: civic.RuleFull, Limit: 1}, 1},
		} {
			got, err := s.ListAlerts(ctx, c.f)
			must(t, "ListAlerts", err)
			if len(got) != c.want {
				t.Errorf("ListAlerts(%+v) = %d alerts, want %d", c.f, len(got), c.want)
			}
			// The count ignores the page: a Limit of 1 still counts both
			// full alerts of B-1.
			want := c.want
			if c.f.Limit == 1 {
				want = 2
			}
			if n, err := s.CountAlerts(ctx, c.f); err != nil || n != want {
				t.Errorf("CountAlerts(%+v) = %d, %v; want %d", c.f, n, err, want)
			}
		}
		_, err = s.ListAlerts(ctx, civic.AlertFilter{Status: "closed"})
		wantKind(t, "bad status", err, civic.Invalid, "status")
		_, err = s.CountAlerts(ctx, civic.AlertFilter{Rule: "smoke"})
		wantKind(t, "count, bad rule", err, civic.Invalid, "rule")

		// Unresolved counts: the open fire alert (critical); then a full
		// alert acknowledged and a battery alert open.
		counts := func(want civic.AlertCounts) {
			t.Helper()
			if got, err := s.UnresolvedAlertCounts(ctx); err != nil || got != want {
				t.Errorf("UnresolvedAlertCounts = %+v, %v; want %+v", got, err, want)
			}
		}
		counts(civic.AlertCounts{Open: 1, Critical: 1})
		c, _, err := s.OpenAlert(ctx, newAlert("B-2", civic.RuleFull, t0.Add(3*time.Hour)))
		must(t, "OpenAlert B-2", err)
		_, err = s.AckAlert(ctx, c.ID, "sup", t0.Add(4*time.Hour))
		must(t, "AckAlert B-2", err)
		_, _, err = s.OpenAlert(ctx, newAlert("B-3", civic.RuleLowBattery, t0.Add(3*time.Hour)))
		must(t, "OpenAlert B-3", err)
		counts(civic.AlertCounts{Open: 2, Acknowledged: 1, Critical: 1})
	})
}

// TestAlertDedupeConcurrent opens the same alert from many connections at
// once (on PostgreSQL several pools, as several nodes would): exactly one
// is created.
func TestAlertDedupeConcurrent(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			dsn := newDSN(t, engine)
			stores := []*store.Store{openStore(t, dsn, nil)}
			if engine == store.EnginePostgres {
				stores = append(stores, openStore(t, dsn, nil), openStore(t, dsn, nil))
			}
			ctx := context.Background()
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				created int
				ids     = map[string]bool{}
			)
			for i := range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, ok, err := stores[i%len(stores)].OpenAlert(ctx, newAlert("B-1", civic.RuleFire, at))
					if err != nil {
						t.Errorf("OpenAlert: %v", err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					ids[a.ID] = true
					if ok {
						created++
					}
				}()
			}
			wg.Wait()
			if created != 1 || len(ids) != 1 {
				t.Fatalf("created %d alerts with %d ids, want 1", created, len(ids))
			}
			open, err := stores[0].ListAlerts(ctx, civic.AlertFilter{Unresolved: true})
			must(t, "ListAlerts", err)
			if len(open) != 1 {
				t.Fatalf("%d unresolved alerts, want 1", len(open))
			}
		})
	}
}

func webhookSub(id string) *civic.Subscription {
	return &civic.Subscription{ID: id, Kind: civic.SubWebhook, URL: "https://example.net/hook", Secret: "0123456789abcdef0123"}
}

func TestSubscriptionsAndOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		must(t, "CreateZone", s.CreateZone(ctx, &civic.Zone{ID: "Z1", Name: "Z1", Boundary: square(13, 52, 14, 53)}))
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-1", 52.5, 13.4))) // in Z1
		must(t, "CreateBin", s.CreateBin(ctx, testBin("B-2", 50.5, 13.4))) // no zone

		all := webhookSub("all")
		must(t, "create all", s.CreateSubscription(ctx, all))
		fire := &civic.Subscription{ID: "fire-mail", Kind: civic.SubEmail, Email: "ops@example.net",
			Rules: []civic.RuleKind{civic.RuleFire}, Events: []civic.AlertEvent{civic.EventOpened, civic.EventAcknowledged}}
		must(t, "create fire", s.CreateSubscription(ctx, fire))
		zone := webhookSub("zone-digest")
		zone.Zones, zone.MinSeverity, zone.DigestMinutes = []string{"Z1"}, civic.SeverityWarning, 15
		must(t, "create zone", s.CreateSubscription(ctx, zone))
		wantKind(t, "duplicate", s.CreateSubscription(ctx, webhookSub("all")), civic.Conflict)
		bad := webhookSub("bad")
		bad.URL = "ftp://x"
		wantKind(t, "bad url", s.CreateSubscription(ctx, bad), civic.Invalid, "url")

		got, err := s.Subscription(ctx, "fire-mail")
		must(t, "Subscription", err)
		if got.Email != fire.Email || len(got.Rules) != 1 || len(got.Events) != 2 || !got.CreatedAt.Equal(clk.Now()) {
			t.Errorf("Subscription = %+v", got)
		}
		subs, err := s.ListSubscriptions(ctx)
		must(t, "ListSubscriptions", err)
		if len(subs) != 3 || subs[0].ID != "all" || subs[0].Secret != all.Secret {
			t.Fatalf("ListSubscriptions = %+v", subs)
		}

		now := clk.Now() // 12:00:00
		full, _, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFull, now))
		must(t, "open full", err)
		fireA, _, err := s.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, now))
		must(t, "open fire", err)
		_, _, err = s.OpenAlert(ctx, newAlert("B-2", civic.RuleLowBattery, now))
		must(t, "open battery", err)
		_, err = s.AckAlert(ctx, fireA.ID, "sup", now)
		must(t, "ack fire", err)

		// Due now: all×3 opened, fire-mail×(opened, acked), zone-digest×fire
		// (critical, not digested). zone-digest×full waits for 12:15.
		due, err := s.ClaimNotifications(ctx, now, 100, time.Minute)
		must(t, "Claim", err)
		count := map[string]int{}
		for _, n := range due {
			count[n.SubscriptionID+"/"+string(n.Event)]++
			var notice civic.AlertNotice
			if err := json.Unmarshal(n.Payload, &notice); err != nil {
				t.Fatalf("payload %s: %v", n.Payload, err)
			}
			if notice.Alert.ID != n.AlertID || notice.Event != n.Event {
				t.Errorf("payload %s does not match %+v", n.Payload, n)
			}
			if n.AlertID == fireA.ID && (notice.Status != "burning" || !n.Urgent) {
				t.Errorf("fire notification: status %q, urgent %v", notice.Status, n.Urgent)
			}
			if n.AlertID == full.ID && notice.Zone != "Z1" {
				t.Errorf("zone = %q, want Z1", notice.Zone)
			}
		}
		want := map[string]int{"all/opened": 3, "fire-mail/opened": 1, "fire-mail/acknowledged": 1, "zone-digest/opened": 1}
		if len(count) != len(want) {
			t.Errorf("claimed %v, want %v", count, want)
		}
		for k, v := range want {
			if count[k] != v {
				t.Errorf("claimed %v, want %v", count, want)
				break
			}
		}
		// Claimed rows are hidden until the lease ends.
		if again, err := s.ClaimNotifications(ctx, now.Add(30*time.Second), 100, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("claim within lease = %d rows, %v; want none", len(again), err)
		}
		must(t, "MarkDelivered", s.MarkDelivered(ctx, due[0].ID, now))
		must(t, "Reschedule", s.RescheduleNotification(ctx, due[1].ID, now.Add(time.Hour), "HTTP 500", false))
		must(t, "Reschedule failed", s.RescheduleNotification(ctx, due[2].ID, now, "HTTP 410", true))
		wantKind(t, "mark missing", s.MarkDelivered(ctx, 999999, now), civic.NotFound)

		// After the lease: everything not delivered, failed or postponed
		// comes back, and the digest row at 12:15.
		later, err := s.ClaimNotifications(ctx, now.Add(15*time.Minute), 100, time.Minute)
		must(t, "claim later", err)
		if len(later) != len(due)-3+1 {
			t.Fatalf("claim after lease = %d rows, want %d", len(later), len(due)-3+1)
		}
		var digest int
		for _, n := range later {
			if n.ID == due[0].ID || n.ID == due[1].ID || n.ID == due[2].ID {
				t.Errorf("claimed %d again", n.ID)
			}
			if n.SubscriptionID == "zone-digest" && n.AlertID == full.ID {
				digest++
			}
		}
		if digest != 1 {
			t.Errorf("digest notification claimed %d times, want 1", digest)
		}
		hourLater, err := s.ClaimNotifications(ctx, now.Add(61*time.Minute), 100, time.Minute)
		must(t, "claim hour later", err)
		var found bool
		for _, n := range hourLater {
			if n.ID == due[1].ID {
				found = true
				if n.Attempts != 1 || n.LastError != "HTTP 500" {
					t.Errorf("rescheduled row = %+v", n)
				}
			}
		}
		if !found {
			t.Errorf("rescheduled notification not due after an hour")
		}

		// Delivered and failed rows go after the retention; due ones stay.
		pruned, err := s.PruneNotifications(ctx, now.Add(time.Second))
		must(t, "PruneNotifications", err)
		if pruned != 2 {
			t.Errorf("pruned %d, want the delivered and the failed notification", pruned)
		}
		if n, err := s.PruneNotifications(ctx, now.Add(time.Second)); err != nil || n != 0 {
			t.Errorf("second prune = %d, %v", n, err)
		}
		must(t, "DeleteSubscription", s.DeleteSubscription(ctx, "all"))
		wantKind(t, "delete again", s.DeleteSubscription(ctx, "all"), civic.NotFound)
		_, err = s.Subscription(ctx, "all")
		wantKind(t, "get deleted", err, civic.NotFound)
		rest, err := s.ClaimNotifications(ctx, now.Add(24*time.Hour), 100, time.Minute)
		must(t, "claim after delete", err)
		for _, n := range rest {
			if n.SubscriptionID == "all" {
				t.Errorf("notification of a deleted subscription: %+v", n)
			}
		}
	})
}

// TestOutboxSurvivesRestart queues notifications, closes the store before
// they are delivered and finds them after opening it again.
func TestOutboxSurvivesRestart(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			dsn := newDSN(t, engine)
			ctx := context.Background()
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			s1, err := store.Open(ctx, dsn, store.Options{Logger: slog.New(slog.DiscardHandler)})
			must(t, "Open", err)
			must(t, "CreateSubscription", s1.CreateSubscription(ctx, webhookSub("hook")))
			a, _, err := s1.OpenAlert(ctx, newAlert("B-1", civic.RuleFire, at))
			must(t, "OpenAlert", err)
			// A claim whose worker dies with the process.
			claimed, err := s1.ClaimNotifications(ctx, at, 10, time.Minute)
			must(t, "Claim", err)
			if len(claimed) != 1 {
				t.Fatalf("claimed %d, want 1", len(claimed))
			}
			must(t, "Close", s1.Close())

			s2 := openStore(t, dsn, nil)
			again, err := s2.ClaimNotifications(ctx, at.Add(2*time.Minute), 10, time.Minute)
			must(t, "Claim after restart", err)
			if len(again) != 1 || again[0].AlertID != a.ID || again[0].ID != claimed[0].ID {
				t.Fatalf("after restart claimed %+v, want the notification of %s", again, a.ID)
			}
		})
	}
}

func TestAlertRulesConfig(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		r, err := s.AlertRules(ctx)
		must(t, "AlertRules", err)
		if r.Defaults.LowBattery != 0.3 || len(r.Overrides) != 0 || r.Overrides == nil {
			t.Fatalf("default rules = %+v", r)
		}
		r.Defaults.TiltDeg = 30
		r.Overrides = []civic.RuleOverride{
			{Scope: civic.ScopeStream, Target: "paper", Settings: civic.RuleSettings{FireTempC: 60}},
			{Scope: civic.ScopeBin, Target: "B-7", Settings: civic.RuleSettings{Disabled: []civic.RuleKind{civic.RuleOffline}}},
		}
		r.UpdatedBy = "admin1"
		must(t, "SetAlertRules", s.SetAlertRules(ctx, &r))
		got, err := s.AlertRules(ctx)
		must(t, "AlertRules", err)
		if got.Defaults.TiltDeg != 30 || len(got.Overrides) != 2 || got.UpdatedBy != "admin1" || !got.UpdatedAt.Equal(clk.Now()) {
			t.Fatalf("rules after set = %+v", got)
		}
		b := civic.Bin{ID: "B-7", Stream: civic.StreamPaper}
		eff := got.For(&b)
		if eff.FireTempC != 60 || eff.TiltDeg != 30 || eff.Enabled(civic.RuleOffline) || !eff.Enabled(civic.RuleFire) {
			t.Errorf("effective settings = %+v", eff)
		}
		bad := got
		bad.Overrides = append(bad.Overrides, civic.RuleOverride{Scope: "city", Target: "x"})
		wantKind(t, "bad scope", s.SetAlertRules(ctx, &bad), civic.Invalid, "overrides[2].scope")
		bad.Overrides = []civic.RuleOverride{{Scope: civic.ScopeZone, Target: "Z1", Settings: civic.RuleSettings{LowBattery: 2}}}
		wantKind(t, "bad value", s.SetAlertRules(ctx, &bad), civic.Invalid, "overrides[0].settings.low_battery")
	})
}

// TestAlertChangesConcurrent acknowledges and resolves the same alerts at
// once from several pools: every alert ends resolved, exactly one resolve
// wins each, and an acknowledgement never undoes a resolution.
func TestAlertChangesConcurrent(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			dsn := newDSN(t, engine)
			stores := []*store.Store{openStore(t, dsn, nil)}
			if engine == store.EnginePostgres {
				stores = append(stores, openStore(t, dsn, nil))
			}
			ctx := context.Background()
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			var ids []string
			for i := range 10 {
				a, _, err := stores[0].OpenAlert(ctx, newAlert("B-"+string(rune('a'+i)), civic.RuleTilt, at))
				must(t, "OpenAlert", err)
				ids = append(ids, a.ID)
			}
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				resolved = map[string]int{}
			)
			for w := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%len(stores)]
					for _, id := range ids {
						if w%2 == 0 {
							if _, err := s.AckAlert(ctx, id, "acker", at); err != nil && !civic.IsKind(err, civic.Conflict) {
								t.Errorf("AckAlert: %v", err)
							}
							continue
						}
						_, err := s.ResolveAlert(ctx, id, "resolver", "", at)
						switch {
						case err == nil:
							mu.Lock()
							resolved[id]++
							mu.Unlock()
						case !civic.IsKind(err, civic.Conflict):
							t.Errorf("ResolveAlert: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			for _, id := range ids {
				a, err := stores[0].Alert(ctx, id)
				must(t, "Alert", err)
				if a.Status != civic.AlertResolved || a.ResolvedBy != "resolver" || resolved[id] != 1 {
					t.Errorf("alert %s: status %s by %q, resolved %d times; want resolved once", id, a.Status, a.ResolvedBy, resolved[id])
				}
			}
		})
	}
}
