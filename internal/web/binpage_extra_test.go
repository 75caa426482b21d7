package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// TestBinPageExtras: the bin page lists the bin's collections and alert
// history (a latched fire saying when it cleared), links its place to
// navigation apps, and gives each device's health by the shared
// definition: a 15 % battery is low, as the alert rule says (the fleet
// page used to call it ok: it tested < 15 %).
func TestBinPageExtras(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 6, alerts: true})
	ctx := context.Background()
	id := f.binID(4) // battery exactly 0.15 in the fixture's readings
	fill := 0.82
	if err := f.st.RecordCollection(ctx, &civic.Collection{BinID: id, Time: f.now.Add(-3 * time.Hour), By: "crew1", FillSeen: &fill, Source: "crew"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.OpenAlert(ctx, &civic.Alert{BinID: id, Rule: civic.RuleFire, Message: "temperature 90 °C", OpenedAt: f.now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.ResolveCleared(ctx, id, civic.RuleFire, "temperature normal", f.now.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	res, body := f.get(f.client("super"), "/bins/"+id)
	if res.StatusCode != 200 {
		t.Fatalf("bin page: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		`id="bin-collections"`, "crew1", "82 %",
		`id="bin-alerts"`, "temperature 90 °C", "condition cleared at", "critical",
		`href="geo:`, "https://www.openstreetmap.org/directions?route=", "https://www.google.com/maps/dir/?api=1&amp;destination=",
		`id="bin-health"`, "low battery",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("bin page lacks %q", want)
		}
	}
}
