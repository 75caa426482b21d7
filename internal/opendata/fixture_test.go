package opendata_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// day0 is the fixture's first day; its clock starts at noon.
var day0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// Personal data and secrets the fixture stores where civic keeps them
// (users, keys, devices, crew reports, alert notes, collections) and that
// no dataset may ever publish.
var secrets = []string{
	"carol.admin", "Carol Secretname", "carol@example.org", "+1-555-0100", "alice.crew", "alice@example.org",
	"bob.supervisor", "DEVICESECRET", "APIKEYHASH", "sensor-key-name", "u-carol", "k-sensors", "Alice Streetname",
	"Dora Reporter", "dora@example.net", "+1-555-0199", "tok-dora-311", "12 Dora Lane", "spam-hidden-words",
}

type fixture struct {
	st     *store.Store
	clk    *storetest.Clock
	portal *opendata.Portal
	srv    *httptest.Server
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func f64(v float64) *float64 { return &v }

// newFixture is a city of four bins in one zone (and B-5 outside it) on
// engine: readings over two days, a plan with a reported stop, a
// collection, alerts, a user, an API key and a device secret; and the
// portal serving it over HTTP.
func newFixture(t testing.TB, engine string, cfg opendata.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := storetest.NewClock(day0.Add(12 * time.Hour))
	st := storetest.Open(t, engine, store.Options{Now: clk.Now})
	z := civic.Zone{ID: "Z-1", Name: "North", Boundary: civic.MultiPolygon{civic.Polygon{civic.Ring{
		{13.0, 52.0}, {14.0, 52.0}, {14.0, 53.0}, {13.0, 53.0}, {13.0, 52.0}}}}}
	must(t, "zone", st.CreateZone(ctx, &z))
	bins := []civic.Bin{
		{ID: "B-1", Name: "Market Square", Lat: 52.5123456, Lon: 13.4123456, CapacityL: 240, Stream: civic.StreamTrash, Address: "1 Market Square"},
		{ID: "B-2", Name: "Park Gate", Lat: 52.52, Lon: 13.42, CapacityL: 1100, Stream: civic.StreamRecycling, Compacting: true},
		{ID: "B-3", Name: "O'Brien Street; DROP", Lat: 52.53, Lon: 13.43, CapacityL: 120, Stream: civic.StreamPaper},
		{ID: "B-4", Name: "Station", Lat: 52.54, Lon: 13.44, CapacityL: 240, Stream: civic.StreamCompost},
		{ID: "B-5", Name: "Far away", Lat: 48.1, Lon: 11.5, CapacityL: 240, Stream: civic.StreamTrash},
	}
	must(t, "bins", st.ImportBins(ctx, bins))
	dev := civic.Device{ID: "S-1", Kind: "ultrasonic", BinID: "B-1", ExpectedInterval: 3600, SecretHash: "DEVICESECRET-hash-0123"}
	must(t, "device", st.CreateDevice(ctx, &dev))
	must(t, "user", st.CreateUser(ctx, &civic.User{ID: "u-carol", Name: "carol.admin", DisplayName: "Carol Secretname",
		Email: "carol@example.org", Role: civic.RoleAdmin, PasswordHash: "argon2id$hash"}))
	must(t, "key", st.CreateAPIKey(ctx, &civic.APIKey{ID: "k-sensors", Name: "sensor-key-name", Scopes: []civic.Scope{civic.ScopeIngest},
		Hash: "APIKEYHASH-0123", CreatedBy: "carol.admin", CreatedAt: clk.Now()}))

	// Readings: B-1 and B-2, every 3 hours over two days.
	var rs []civic.Reading
	for h := 0; h < 48; h += 3 {
		for i, b := range []string{"B-1", "B-2"} {
			fill := float64(h%24)/24 + float64(i)*0.01
			rs = append(rs, civic.Reading{Device: "S-1", Bin: b, Time: day0.Add(-24*time.Hour + time.Duration(h)*time.Hour + time.Duration(i)*time.Minute), Fill: &fill})
		}
	}
	_, err := st.WriteReadings(ctx, [][]civic.Reading{rs})
	must(t, "readings", err)

	// A plan for day0: B-1 and B-2 on one route, B-3 on another; the crew
	// reports B-1 collected (with a note naming someone) and B-3 skipped.
	at := func(min int) time.Time { return day0.Add(6*time.Hour + time.Duration(min)*time.Minute) }
	stop := func(kind civic.StopKind, bin string, min int) civic.Stop {
		s := civic.Stop{Kind: kind, BinID: bin, Name: "Stop " + bin, Lat: 52.5, Lon: 13.4, ETA: at(min), Depart: at(min + 2)}
		if kind == civic.StopBin {
			s.Decision, s.Reason = civic.MustGo, "full"
		}
		return s
	}
	plan := civic.Plan{Date: "2026-03-10", CreatedBy: "carol.admin", Routes: []civic.Route{
		{TruckID: "T-1", CrewID: "C-1", DepotID: "D-1", Stream: civic.StreamTrash, Start: at(0), End: at(200), DistanceM: 12345, DurationS: 12000,
			Stops: []civic.Stop{stop(civic.StopDepot, "", 0), stop(civic.StopBin, "B-1", 30), stop(civic.StopBin, "B-2", 60), stop(civic.StopDepot, "", 200)}},
		{TruckID: "T-2", DepotID: "D-1", Stream: civic.StreamPaper, Start: at(0), End: at(100), DistanceM: 5000, DurationS: 6000,
			Stops: []civic.Stop{stop(civic.StopDepot, "", 0), stop(civic.StopBin, "B-3", 30), stop(civic.StopDepot, "", 100)}},
	}}
	must(t, "plan", st.SavePlan(ctx, &plan))
	_, err = st.SetPlanStatus(ctx, plan.ID, civic.PlanDraft, civic.PlanLocked)
	must(t, "lock plan", err)
	_, _, _, err = st.ReportStop(ctx, &civic.StopReport{ClientID: "c-1", StopID: plan.Routes[0].Stops[1].ID, Status: civic.StopCollected,
		FillSeen: f64(0.9), Note: "Alice Streetname +1-555-0100 alice@example.org", At: at(31), By: "alice.crew"})
	must(t, "report collected", err)
	_, _, _, err = st.ReportStop(ctx, &civic.StopReport{ClientID: "c-2", StopID: plan.Routes[1].Stops[1].ID, Status: civic.StopSkipped,
		SkipReason: civic.SkipBlocked, Note: "call alice.crew", At: at(35), By: "alice.crew"})
	must(t, "report skipped", err)
	must(t, "collection", st.RecordCollection(ctx, &civic.Collection{ID: "col-manual-1", BinID: "B-4", Time: day0.Add(9 * time.Hour),
		By: "bob.supervisor", Source: "api", FillSeen: f64(0.5)}))

	// Alerts: a resolved full alert and an open fire alert.
	a, _, err := st.OpenAlert(ctx, &civic.Alert{BinID: "B-2", Rule: civic.RuleFull, Severity: civic.SeverityWarning,
		Message: "full", OpenedAt: day0.Add(2 * time.Hour), LastSeenAt: day0.Add(2 * time.Hour)})
	must(t, "open alert", err)
	_, err = st.AckAlert(ctx, a.ID, "carol.admin", day0.Add(3*time.Hour))
	must(t, "ack", err)
	_, err = st.ResolveAlert(ctx, a.ID, "carol.admin", "Carol Secretname emptied it, call +1-555-0100", day0.Add(4*time.Hour))
	must(t, "resolve", err)
	_, _, err = st.OpenAlert(ctx, &civic.Alert{BinID: "B-1", Rule: civic.RuleFire, Severity: civic.SeverityCritical,
		Message: "fire", OpenedAt: day0.Add(5 * time.Hour), LastSeenAt: day0.Add(5 * time.Hour)})
	must(t, "open fire alert", err)

	// 311: a request about B-2 from a reporter who left her contact
	// details, and one a moderator hid.
	must(t, "service", st.CreateService(ctx, &civic.Service{Code: "overflowing_bin", Name: "Overflowing bin", SLAHours: 24,
		Attributes: []civic.ServiceAttribute{}, WasteLink: true, Active: true}))
	lat, lon := 52.5212345, 13.4212345
	must(t, "311 request", st.CreateServiceRequest(ctx, &civic.ServiceRequest{Token: "tok-dora-311", ServiceCode: "overflowing_bin",
		Status: civic.StatusSubmitted, Description: "Overflowing again, Dora Reporter, call +1-555-0199", Lat: &lat, Long: &lon,
		Address: "12 Dora Lane", ObjectType: "bin", ObjectID: "B-2", Channel: "web",
		Contact:     civic.Contact{Email: "dora@example.net", Phone: "+1-555-0199", FirstName: "Dora", LastName: "Reporter"},
		RequestedAt: day0.Add(7 * time.Hour)}, nil, nil))
	must(t, "hidden 311 request", st.CreateServiceRequest(ctx, &civic.ServiceRequest{Token: "tok-hidden-311", ServiceCode: "overflowing_bin",
		Status: civic.StatusSubmitted, Description: "spam-hidden-words", Lat: &lat, Long: &lon, Moderation: civic.ModHidden,
		ModerationReason: "abusive", Channel: "web", RequestedAt: day0.Add(8 * time.Hour)}, nil, nil))

	if cfg.Publisher == "" {
		cfg.Publisher = "City of Testville"
		cfg.ContactName = "Open Data Team"
		cfg.ContactEmail = "opendata@testville.example"
	}
	p, err := opendata.New(cfg, opendata.Deps{Data: st, Bins: st})
	must(t, "portal", err)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return &fixture{st: st, clk: clk, portal: p, srv: srv}
}

// get fetches path with optional header pairs and returns the response and
// its body.
func (f *fixture) get(t testing.TB, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	must(t, "request "+path, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, "GET "+path, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, "read "+path, err)
	return resp, b
}
