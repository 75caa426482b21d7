package web

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenPlan is a small plan with every kind of stop, a reported stop and
// text that needs escaping in XML, CSV (a formula) and JSON.
func goldenPlan() (civic.Plan, names) {
	t0 := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	done := at(14)
	fill := 0.85
	stops := []civic.Stop{
		{ID: "r1-s0", Seq: 0, Kind: civic.StopDepot, Name: "East Yard", Address: "1448 Spruce St", Lat: 39.946267, Lon: -75.116767, ETA: at(0), Depart: at(0), Status: civic.StopPending},
		{ID: "r1-s1", Seq: 1, Kind: civic.StopBin, BinID: "B-1", Name: "Market & 15th <SE>", Address: "1510 Market St", Lat: 39.95251, Lon: -75.166817,
			ETA: at(12), Depart: at(14), LoadBefore: 0, LoadAfter: 240, DistanceM: 4300, Decision: civic.MustGo, Reason: "full: 100 % at the last reading",
			Window: "06:00-09:00", Status: civic.StopCollected, DoneAt: &done, FillAtArrival: &fill},
		{ID: "r1-s2", Seq: 2, Kind: civic.StopBin, BinID: "B-2", Name: "=HYPERLINK(\"x\")", Address: "Chestnut & 16th", Lat: 39.951073, Lon: -75.168502,
			ETA: at(20), Depart: at(21), LoadBefore: 240, LoadAfter: 400, DistanceM: 900, Decision: civic.MayGo, Reason: "may: 70 % expected & cheap", Status: civic.StopPending},
		{ID: "r1-s3", Seq: 3, Kind: civic.StopDisposal, FacilityID: "F-1", Name: "North transfer station", Lat: 39.956267, Lon: -75.128767,
			ETA: at(35), Depart: at(50), LoadBefore: 400, LoadAfter: 0, DistanceM: 3400, Status: civic.StopPending},
		{ID: "r1-s4", Seq: 4, Kind: civic.StopDepot, Name: "East Yard", Lat: 39.946267, Lon: -75.116767, ETA: at(55), Depart: at(55), DistanceM: 2000, Status: civic.StopPending},
	}
	rt := civic.Route{ID: "r1", PlanID: "p1", Seq: 1, TruckID: "T-1", CrewID: "C-1", DepotID: "D-1", Stream: civic.StreamTrash, Status: civic.RouteInProgress,
		Start: at(0), End: at(55), DistanceM: 10600, DurationS: 3300, CapacityL: 30000, Stops: stops}
	pl := civic.Plan{ID: "p1", Date: "2026-03-02", Status: civic.PlanInProgress, UpdatedAt: t0.Add(-10 * time.Hour), Routes: []civic.Route{rt},
		Stats: civic.PlanStats{MustGo: 1, MayGo: 1, Planned: 2, DistanceM: 10600, DurationS: 3300, Disposals: 1}}
	n := names{trucks: map[string]string{"T-1": "Packer 1"}, crews: map[string]string{"C-1": "Crew 1"}, depots: map[string]string{"D-1": "East Yard"}}
	return pl, n
}

// TestPlanExportGolden keeps the GPX, GeoJSON and CSV exports as files
// (go test -run TestPlanExportGolden -update rewrites them), and checks
// the GPX is well-formed XML in the GPX 1.1 namespace.
func TestPlanExportGolden(t *testing.T) {
	pl, n := goldenPlan()
	for _, c := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"plan.gpx", func(b *bytes.Buffer) error { return writeGPX(b, pl, n) }},
		{"plan.geojson", func(b *bytes.Buffer) error { return writeGeoJSON(b, pl, n) }},
		{"plan.csv", func(b *bytes.Buffer) error { return writePlanCSV(b, pl, n) }},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		path := filepath.Join("testdata", "golden", c.file)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from %s (run with -update if the change is right):\n%s", c.file, path, b.String())
		}
	}
	var b bytes.Buffer
	writeGPX(&b, pl, n)
	d := xml.NewDecoder(&b)
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("GPX is not well-formed: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "gpx" && se.Name.Space != "http://www.topografix.com/GPX/1/1" {
			t.Errorf("gpx element in namespace %q", se.Name.Space)
		}
	}
}

// TestRouteOutcome compares a route's reports with its plan.
func TestRouteOutcome(t *testing.T) {
	pl, _ := goldenPlan()
	o := routeOutcome(pl.Routes[0])
	if o.Planned != 2 || o.Collected != 1 || o.Skipped != 0 || o.Pending != 1 {
		t.Errorf("planned %d collected %d skipped %d pending %d, want 2 1 0 1", o.Planned, o.Collected, o.Skipped, o.Pending)
	}
	if o.LateN != 1 || o.LateMeanMin != 2 || o.LateMaxMin != 2 {
		t.Errorf("late: %d stops, mean %v max %v; want 1, 2, 2 (done 06:14, ETA 06:12)", o.LateN, o.LateMeanMin, o.LateMaxMin)
	}
	if o.FillN != 1 || o.FillMean != 0.85 || o.FillUnderHalf != 0 {
		t.Errorf("fill at arrival: %d, mean %v, %d under half", o.FillN, o.FillMean, o.FillUnderHalf)
	}
	// Depot to B-1, not back (a stop is pending): straight line × circuity.
	s := pl.Routes[0].Stops
	want := civic.HaversineM(s[0].Lat, s[0].Lon, s[1].Lat, s[1].Lon) * circuity / 1000
	if !o.KmDoneKnown || o.KmDone != want || o.KmPlanned != 10.6 {
		t.Errorf("km done %v (known %v), planned %v; want %v, 10.6", o.KmDone, o.KmDoneKnown, o.KmPlanned, want)
	}
}

// TestPlanExportCityTime: the CSV and GeoJSON exports give times in the
// city's zone, with its offset; GPX keeps UTC, as GPX readers expect.
func TestPlanExportCityTime(t *testing.T) {
	pl, n := goldenPlan()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	n.loc = loc
	eta := pl.Routes[0].Stops[1].ETA
	local, utc := eta.In(loc).Format(time.RFC3339), eta.UTC().Format(time.RFC3339)
	var csvOut, geo, gpx bytes.Buffer
	if err := writePlanCSV(&csvOut, pl, n); err != nil {
		t.Fatal(err)
	}
	if err := writeGeoJSON(&geo, pl, n); err != nil {
		t.Fatal(err)
	}
	if err := writeGPX(&gpx, pl, n); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{"csv": csvOut.String(), "geojson": geo.String()} {
		if !strings.Contains(b, local) || strings.Contains(b, utc) {
			t.Errorf("%s export: want the stop's time as %s, not %s:\n%s", name, local, utc, b)
		}
	}
	if !strings.Contains(gpx.String(), utc) {
		t.Errorf("GPX export: want %s (UTC):\n%s", utc, gpx.String())
	}
}
