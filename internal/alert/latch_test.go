package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/storetest"
)

// TestEngineQuietRulesAndLatch: with the default rules a full bin raises
// no alert (it is bin state and planning input), a stream override turns
// the full rule on for that stream only, and a fire alert stays open after
// the fire is out, marked cleared, until someone acknowledges it.
func TestEngineQuietRulesAndLatch(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	rules := civic.DefaultAlertRules()
	if err := st.SetAlertRules(ctx, &rules); err != nil {
		t.Fatal(err)
	}
	ch := &changes{}
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, OnChange: ch.add, SweepInterval: time.Hour})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	send := func(min int, rs ...civic.Reading) {
		t.Helper()
		clk.Set(t0.Add(time.Duration(min) * time.Minute))
		for i := range rs {
			rs[i].Time = clk.Now()
		}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		e.OnCommit(rs)
		if err := e.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(0, civic.Reading{Device: "S1", Bin: "B1", Fill: f64(0.97), TemperatureC: f64(20)},
		civic.Reading{Device: "S2", Bin: "B2", Fill: f64(0.97)})
	if got := ch.take(); len(got) != 0 {
		t.Fatalf("full bins with the default rules: %v, want no alerts", got)
	}

	// The city wants full alerts for B2's stream (recycling) only.
	if err := st.UpdateBin(ctx, &civic.Bin{ID: "B2", Name: "Harbor", Lat: 42.30, Lon: -71.00, CapacityL: 240, Stream: civic.StreamRecycling, Status: civic.StatusActive, FullThreshold: 0.9}); err != nil {
		t.Fatal(err)
	}
	rules.Overrides = []civic.RuleOverride{{Scope: civic.ScopeStream, Target: string(civic.StreamRecycling),
		Settings: civic.RuleSettings{Disabled: []civic.RuleKind{civic.RuleOverflowSoon}}}}
	if err := st.SetAlertRules(ctx, &rules); err != nil {
		t.Fatal(err)
	}
	e.AssetsChanged()
	clk.Set(t0.Add(10 * time.Minute))
	if err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ch.take(); len(got) != 1 || got[0] != "B2/full/opened" {
		t.Fatalf("after the recycling override: %v, want B2/full/opened only", got)
	}

	// A fire that goes out within minutes.
	send(20, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(90)})
	if got := ch.take(); len(got) != 1 || got[0] != "B1/fire/opened" {
		t.Fatalf("fire: %v", got)
	}
	send(25, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(20)})
	send(30, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(19)})
	if got := ch.take(); len(got) != 0 {
		t.Fatalf("fire out: %v, want no change (it latches)", got)
	}
	fires, err := st.ListAlerts(ctx, civic.AlertFilter{BinID: "B1", Rule: civic.RuleFire})
	if err != nil || len(fires) != 1 {
		t.Fatalf("fire alerts %v, %v", fires, err)
	}
	fire := fires[0]
	if fire.Status != civic.AlertOpen || fire.ClearedAt == nil || !fire.ClearedAt.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("fire after it went out = %+v, want open, cleared at +25 min", fire)
	}
	// It flares up again: the same alert, no longer cleared.
	send(35, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(95)})
	if a, err := st.Alert(ctx, fire.ID); err != nil || a.ClearedAt != nil || a.Status != civic.AlertOpen {
		t.Fatalf("fire flaring up again = %+v, %v", a, err)
	}
	send(40, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(20)})
	// Acknowledging the cleared fire closes it.
	a, err := st.AckAlert(ctx, fire.ID, "sup", clk.Now())
	if err != nil || a.Status != civic.AlertResolved || a.AckedBy != "sup" || a.ResolvedBy != "sup" || a.ClearedAt == nil {
		t.Fatalf("ack of the cleared fire = %+v, %v; want resolved by sup", a, err)
	}
	for _, c := range ch.take() {
		if c[:3] == "B1/" {
			t.Fatalf("after the ack: %s", c)
		}
	}
	// A new fire a minute later, before the engine reloads the alerts, is
	// a new alert.
	send(41, civic.Reading{Device: "S1", Bin: "B1", TemperatureC: f64(99)})
	var fireChanges []string
	for _, c := range ch.take() {
		if c[:3] == "B1/" {
			fireChanges = append(fireChanges, c)
		}
	}
	if len(fireChanges) != 1 || fireChanges[0] != "B1/fire/opened" {
		t.Fatalf("a new fire after the acknowledged one: %v, want B1/fire/opened", fireChanges)
	}
	if again, err := st.ListAlerts(ctx, civic.AlertFilter{BinID: "B1", Rule: civic.RuleFire, Unresolved: true}); err != nil || len(again) != 1 || again[0].ID == fire.ID {
		t.Fatalf("unresolved fire alerts after the new fire: %+v, %v", again, err)
	}
}
