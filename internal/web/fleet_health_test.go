package web

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// TestFleetHealth checks the fleet reads the store's device health: uplink
// rate, decode failures and battery trend in the CSV, and the decode errors
// health on the page.
func TestFleetHealth(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 3})
	bad := f.city.Devices[1].ID
	if err := f.st.RecordDecodeFailure(context.Background(), bad, f.now.Add(time.Second), "payload: civic-v1 frames are 9 or 11 bytes, got 1", nil); err != nil {
		t.Fatal(err)
	}
	c := f.client("super")
	res, body := f.get(c, "/fleet.csv?sort=id")
	if res.StatusCode != 200 {
		t.Fatalf("fleet.csv: %d", res.StatusCode)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0][13:], ","); got != "uplinks_24h,uplink_rate_per_h,decode_failures,battery_trend_per_day" {
		t.Fatalf("CSV health columns = %q", got)
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		rows[r[0]] = r
	}
	// Half-hourly readings for two days up to f.now, which is a little
	// before the page's clock: 48 in the last 24 h; a steady battery.
	if r := rows[f.city.Devices[0].ID]; r == nil || r[5] != "ok" || strings.Join(r[13:], ",") != "48,2.00,0,0.0000" {
		t.Errorf("healthy device row = %v", r)
	}
	if r := rows[bad]; r == nil || r[5] != "decode errors" || r[15] != "1" {
		t.Errorf("device with a decode failure = %v", r)
	}
	if r := rows[f.city.Devices[len(f.city.Devices)-1].ID]; r == nil || r[5] != "never seen" || r[13] != "0" {
		t.Errorf("silent device = %v", r)
	}
	if _, page := f.get(c, "/fleet?problems=1"); !strings.Contains(page, "decode errors") || !strings.Contains(page, bad) {
		t.Errorf("fleet page lacks the decode errors of %s", bad)
	}
}
