package assets_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

func vendorFile(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vendor", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func vendorMapping(t testing.TB) assets.Mapping {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vendor", "mapping.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := assets.ParseMapping(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// vendorBins are the bins of testdata/vendor/bins.csv and .geojson read
// with guesses and a default capacity.
func vendorBins(lat1 float64) []civic.Bin {
	bin := func(id, name string, lat, lon float64, s civic.Stream, st civic.AssetStatus) civic.Bin {
		return civic.Bin{ID: id, Serial: id, Name: name, Lat: lat, Lon: lon, Stream: s, CapacityL: 568, Status: st, FullThreshold: 0.9}
	}
	return []civic.Bin{
		bin("1201", "Boylston St & Arlington St", lat1, -71.07034, civic.StreamTrash, civic.StatusActive),
		bin("1202", "Boylston St & Arlington St", lat1, -71.07034, civic.StreamRecycling, civic.StatusActive),
		bin("1305", "Charles St at Beacon St", 42.35604, -71.06976, civic.StreamBottlesCans, civic.StatusInactive),
		bin("1410", "Tremont St, Park St station", 42.35641, -71.06213, civic.StreamTrash, civic.StatusActive),
	}
}

// TestVendorInventory reads a city's inventory as its vendor exports it,
// CSV and GeoJSON: SN, Desc_, StreamType, Status and both Lat/Long and
// LAT/LNG, extra columns, vendor stream and status words, no capacity.
func TestVendorInventory(t *testing.T) {
	for _, name := range []string{"bins.csv", "bins.geojson"} {
		t.Run(name, func(t *testing.T) {
			m := assets.Mapping{Defaults: map[string]string{"capacity_l": "568"}}
			res, err := assets.ReadBinsWith(vendorFile(t, name), name, "", m)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Invalid) > 0 {
				t.Fatalf("invalid rows: %v", res.Invalid)
			}
			diffBins(t, res.Bins, vendorBins(42.35187))
			want := map[string]string{"id": "SN", "serial": "SN", "name": "Desc_", "stream": "StreamType", "status": "Status"}
			if name == "bins.csv" {
				want["lat"], want["lon"] = "Lat", "Long"
			}
			for k, v := range want {
				if res.Columns[k] != v {
					t.Errorf("column %s read from %q, want %q (all: %v)", k, res.Columns[k], v, res.Columns)
				}
			}
			for _, ign := range []string{"Customer", "Station", "LAT", "LNG"} {
				if !slices.Contains(res.Ignored, ign) {
					t.Errorf("ignored %v, want %q among them", res.Ignored, ign)
				}
			}
			w := res.Warning(name)
			if strings.Count(w, "\n") != 0 || !strings.Contains(w, `"Customer"`) || !strings.Contains(w, "ignored") {
				t.Errorf("warning %q: want one line naming the ignored columns", w)
			}
		})
	}
}

// TestVendorInventoryMapped: a saved mapping names the columns (LAT wins over
// Lat because it matches exactly), adds defaults and maps values the
// built-in words do not know.
func TestVendorInventoryMapped(t *testing.T) {
	m := vendorMapping(t)
	res, err := assets.ReadBinsWith(vendorFile(t, "bins.csv"), "bins.csv", "", m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Columns["lat"] != "LAT" || res.Columns["lon"] != "LNG" {
		t.Errorf("columns %v, want lat from LAT and lon from LNG", res.Columns)
	}
	if len(res.Bins) != 4 || res.Bins[0].Lat != 42.3519 || res.Bins[0].Lon != -71.0704 || res.Bins[0].Model != "Bigbelly HC5" {
		t.Errorf("first bin %+v, want LAT/LNG and the default model", res.Bins[0])
	}
	if !slices.Contains(res.Ignored, "Lat") || !slices.Contains(res.Ignored, "Long") {
		t.Errorf("ignored %v, want Lat and Long", res.Ignored)
	}

	// --map on top of the file, an explicit name the file lacks.
	m2 := m.Merge(map[string]string{"name": "Location"}, nil)
	_, err = assets.ReadBinsWith(vendorFile(t, "bins.csv"), "bins.csv", "", m2)
	wantRowError(t, err, `bins.csv:1: header: name is mapped to "Location", which the file does not have`)

	// A column read from a name the header holds twice: which one? A
	// name held twice that civic does not read is only ignored.
	plain := assets.Mapping{Defaults: map[string]string{"capacity_l": "240"}}
	_, err = assets.ReadBinsWith(strings.NewReader("id,name,Lat,Lat,lon\nB1,x,47.1,47.2,8.5\n"), "twice.csv", "", plain)
	wantRowError(t, err, `twice.csv:1: header: column "Lat" appears twice (columns 3 and 4), and civic reads lat from it: rename or remove one`)
	res, err = assets.ReadBinsWith(strings.NewReader("id,name,lat,lon,Note,Note\nB1,x,47.1,8.5,a,b\n"), "notes.csv", "", plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bins) != 1 || !slices.Equal(res.Ignored, []string{"Note", "Note"}) {
		t.Errorf("%d bins, ignored %q; want 1 bin, Note twice", len(res.Bins), res.Ignored)
	}
}

// TestVendorInventoryBadRows: every bad row is listed with its line and the
// file's column name; the good rows still read, and a mapping fixes the
// values civic did not know.
func TestVendorInventoryBadRows(t *testing.T) {
	m := assets.Mapping{Defaults: map[string]string{"capacity_l": "240"}}
	res, err := assets.ReadBinsWith(vendorFile(t, "bins-bad.csv"), "bins-bad.csv", "", m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, re := range res.Invalid {
		got = append(got, re.Error())
	}
	want := []string{
		`bins-bad.csv:3: StreamType: "Glass" is not a stream civic knows (trash, recycling, paper, bottles_cans, compost): map it in the mapping file's "streams"`,
		`bins-bad.csv:4: Lat: must be a latitude between -90 and 90`,
		`bins-bad.csv:5: Status: "Parked" is not a status civic knows (active, inactive, maintenance, removed): map it in the mapping file's "statuses"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("invalid rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Bins) != 1 || res.Bins[0].ID != "2001" {
		t.Errorf("bins %+v, want only 2001", res.Bins)
	}
	for _, re := range res.Invalid {
		if civic.KindOf(re) != civic.Invalid {
			t.Errorf("%v has kind %q", re, civic.KindOf(re))
		}
	}

	m.Streams = map[string]civic.Stream{"glass": civic.StreamBottlesCans}
	m.Statuses = map[string]civic.AssetStatus{"PARKED": civic.StatusInactive}
	res, err = assets.ReadBinsWith(vendorFile(t, "bins-bad.csv"), "bins-bad.csv", "", m)
	if err != nil || len(res.Bins) != 3 || len(res.Invalid) != 1 {
		t.Fatalf("with value maps: %d bins, invalid %v, %v; want 3 and the latitude", len(res.Bins), res.Invalid, err)
	}
	if res.Bins[1].Stream != civic.StreamBottlesCans || res.Bins[2].Status != civic.StatusInactive {
		t.Errorf("mapped values: %+v", res.Bins)
	}

	// Without a capacity column or default the header is refused, saying how to give one.
	_, err = assets.ReadBinsWith(vendorFile(t, "bins-bad.csv"), "bins-bad.csv", "", assets.Mapping{})
	wantRowError(t, err, `bins-bad.csv:1: header: missing required column "capacity_l" (required: id, name, lat, lon, capacity_l): name the file's column with --map capacity_l=NAME, or give every bin one with --default capacity_l=LITRES`)
}

// TestExactCaseWins: of two columns differing only in case, the one that
// matches exactly is read; otherwise the first.
func TestExactCaseWins(t *testing.T) {
	in := "ID,id,Name,LAT,lat,lon,capacity_l\nX,b-1,B,10,20,30,100\n"
	bins, err := assets.ReadBinsCSV(strings.NewReader(in), "b.csv")
	if err != nil {
		t.Fatal(err)
	}
	if bins[0].ID != "b-1" || bins[0].Lat != 20 {
		t.Errorf("got %+v, want id from \"id\" and lat from \"lat\"", bins[0])
	}
	in = "Name,LAT,Lat,lon,capacity_l,id\nB,10,20,30,100,b-1\n"
	bins, err = assets.ReadBinsCSV(strings.NewReader(in), "b.csv")
	if err != nil || bins[0].Lat != 10 {
		t.Errorf("got %+v, %v; want lat from the first of LAT and Lat", bins, err)
	}
}

func TestValueWords(t *testing.T) {
	for _, tc := range []struct {
		stream, status string
		want           civic.Stream
		wantStatus     civic.AssetStatus
	}{
		{"Trash", "In Service", civic.StreamTrash, civic.StatusActive},
		{"Single Stream", "Out of Service", civic.StreamRecycling, civic.StatusInactive},
		{"Bottles/Cans", "out-of-service", civic.StreamBottlesCans, civic.StatusInactive},
		{"bottles_cans", "MAINTENANCE", civic.StreamBottlesCans, civic.StatusMaintenance},
		{"Organics", "Decommissioned", civic.StreamCompost, civic.StatusRemoved},
		{" paper ", "active", civic.StreamPaper, civic.StatusActive},
	} {
		in := "id,name,lat,lon,capacity_l,stream,status\nb,B,1,2,3," + tc.stream + "," + tc.status + "\n"
		bins, err := assets.ReadBinsCSV(strings.NewReader(in), "b.csv")
		if err != nil {
			t.Errorf("%q/%q: %v", tc.stream, tc.status, err)
			continue
		}
		if bins[0].Stream != tc.want || bins[0].Status != tc.wantStatus {
			t.Errorf("%q/%q read as %q/%q", tc.stream, tc.status, bins[0].Stream, bins[0].Status)
		}
	}
}

func TestParseMappingErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "the mapping file is empty"},
		{`{"colums": {}}`, `unknown field "colums"`},
		{`{"columns": {"colour": "X"}}`, `columns["colour"]: is not a civic column`},
		{`{"columns": {"id": " "}}`, `columns["id"]: must name a column of the file`},
		{`{"streams": {"Glass": "glass"}}`, `streams["Glass"]: must be one of trash`},
		{`{"statuses": {"Parked": "parked"}}`, `statuses["Parked"]: must be one of active`},
		{`{"defaults": {"capacity_l": "lots"}}`, `defaults["capacity_l"]: must be a number`},
		{`{"defaults": {"id": "x"}}`, `defaults["id"]: cannot have a default`},
		{`{"defaults": {"fill": "1"}}`, `defaults["fill"]: is not a bin column`},
		{`{"fullness": {"RED": 90}}`, `fullness["RED"]: must be a fill fraction between 0 and 1`},
		{`{"fill_scale": "tenths"}`, `fill_scale: must be fraction, percent or bigbelly10`},
		{`{"time_zone": "Mars/Olympus"}`, `time_zone: "Mars/Olympus" is not a time zone`},
		{`{} {}`, "more than one JSON value"},
	} {
		_, err := assets.ParseMapping([]byte(tc.in))
		if err == nil || civic.KindOf(err) != civic.Invalid {
			t.Errorf("%s: got %v, want an Invalid error", tc.in, err)
			continue
		}
		msg := err.Error()
		if f := civic.FieldOf(err); f != "" {
			msg = f + ": " + civic.MessageOf(err)
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.in, msg, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"id", "want COLUMN=VALUE pairs"},
		{"colour=X", `"colour" is not a civic column`},
		{"id=", "want COLUMN=VALUE pairs"},
	} {
		if _, err := assets.ParseColumnMap(tc.in); err == nil || !strings.Contains(civic.MessageOf(err), tc.want) {
			t.Errorf("--map %s: got %v, want %q", tc.in, err, tc.want)
		}
	}
	got, err := assets.ParseColumnMap(" id = SN , name=Desc_,,lat=LAT")
	if err != nil || got["id"] != "SN" || got["name"] != "Desc_" || got["lat"] != "LAT" || len(got) != 3 {
		t.Errorf("ParseColumnMap = %v, %v", got, err)
	}
	if _, err := assets.ParseDefaults("capacity_l=-3"); err == nil {
		t.Error("a negative default capacity was accepted")
	}
}

// TestCollectionLogBands reads a collection log with colour-band fullness,
// times in three forms and extra columns.
func TestCollectionLogBands(t *testing.T) {
	log, err := assets.ReadCollectionsCSV(vendorFile(t, "collections-bands.csv"), "log.csv", assets.Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if log.Columns["bin"] != "Serial" || log.Columns["time"] != "Date/Time" || log.Columns["fullness"] != "Fullness" {
		t.Errorf("columns %v", log.Columns)
	}
	if !slices.Equal(log.Ignored, []string{"Station", "Driver"}) {
		t.Errorf("ignored %v", log.Ignored)
	}
	if len(log.Invalid) != 0 || len(log.Rows) != 5 {
		t.Fatalf("%d rows, invalid %v", len(log.Rows), log.Invalid)
	}
	want := []struct {
		bin  string
		at   string
		fill float64
	}{
		{"1201", "2026-03-02T07:14:00Z", 0.3},
		{"1201", "2026-03-04T07:02:00Z", 1},
		{"1202", "2026-03-04T07:03:00Z", 0.7},
		{"1305", "2026-03-04T13:30:00Z", 1},
		{"9999", "2026-03-04T09:00:00Z", 0.3},
	}
	for i, w := range want {
		r := log.Rows[i]
		at, _ := time.Parse(time.RFC3339, w.at)
		if r.Bin != w.bin || !r.Time.Equal(at) || r.Fill == nil || *r.Fill != w.fill || r.Line != i+2 {
			t.Errorf("row %d = %+v (fill %v), want %+v", i, r, r.Fill, w)
		}
	}

	// A saved mapping's bands and time zone.
	m := vendorMapping(t)
	m.Columns["bin"] = "Serial"
	log, err = assets.ReadCollectionsCSV(vendorFile(t, "collections-bands.csv"), "log.csv", m)
	if err != nil {
		t.Fatal(err)
	}
	if *log.Rows[1].Fill != 0.95 || !log.Rows[1].Time.Equal(time.Date(2026, 3, 4, 12, 2, 0, 0, time.UTC)) {
		t.Errorf("with the mapping: %+v fill %v, want 0.95 at 07:02 New York time", log.Rows[1], *log.Rows[1].Fill)
	}
	if !log.Rows[3].Time.Equal(time.Date(2026, 3, 4, 13, 30, 0, 0, time.UTC)) {
		t.Errorf("a time with its own offset moved: %v", log.Rows[3].Time)
	}
}

func TestCollectionLogPercent(t *testing.T) {
	log, err := assets.ReadCollectionsCSV(vendorFile(t, "collections-percent.csv"), "log.csv", assets.Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if log.Scale != civic.ScalePercent || len(log.Rows) != 4 {
		t.Fatalf("scale %q, %d rows; want percent and 4", log.Scale, len(log.Rows))
	}
	if *log.Rows[0].Fill != 0.35 || *log.Rows[1].Fill != 1 || log.Rows[2].Fill != nil || *log.Rows[3].Fill != 0.005 {
		t.Errorf("fills %v %v %v %v", *log.Rows[0].Fill, *log.Rows[1].Fill, log.Rows[2].Fill, *log.Rows[3].Fill)
	}
	in := "bin,time,fullness\nb,2026-01-01T00:00:00Z,0.5\nb,2026-01-02T00:00:00Z,1\n"
	log, err = assets.ReadCollectionsCSV(strings.NewReader(in), "log.csv", assets.Mapping{})
	if err != nil || log.Scale != civic.ScaleFraction || *log.Rows[0].Fill != 0.5 {
		t.Errorf("fractions: %+v, %v", log, err)
	}
}

func TestCollectionLogErrors(t *testing.T) {
	in := "Serial,When,Level\n" +
		"a,2026-01-01T00:00:00Z,GREEN\n" +
		"b,yesterday,GREEN\n" +
		",2026-01-01T00:00:00Z,GREEN\n" +
		"c,2026-01-01T00:00:00Z,PURPLE\n" +
		"d,2026-01-01T00:00:00Z,150\n" +
		"e,2026-01-01T00:00:00Z\n"
	m := assets.Mapping{Columns: map[string]string{"time": "When"}}
	log, err := assets.ReadCollectionsCSV(strings.NewReader(in), "log.csv", m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, re := range log.Invalid {
		got = append(got, re.Error())
	}
	want := []string{
		`log.csv:3: When: "yesterday" is not a time civic reads (2006-01-02T15:04:05Z, 2006-01-02 15:04:05, 1/2/2006 3:04 PM, Unix milliseconds)`,
		`log.csv:4: Serial: is required`,
		`log.csv:5: Level: "PURPLE" must be a number from 0 to 100 (percent) or a colour band (AMBER, GREEN, ORANGE, RED, YELLOW)`,
		`log.csv:6: Level: "150" must be a number from 0 to 100 (percent) or a colour band (AMBER, GREEN, ORANGE, RED, YELLOW)`,
		`log.csv:7: the row has a different number of cells than the header`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("invalid rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(log.Rows) != 1 || log.Rows[0].Bin != "a" {
		t.Errorf("rows %+v, want only a", log.Rows)
	}
	_, err = assets.ReadCollectionsCSV(strings.NewReader("Serial,Level\na,GREEN\n"), "log.csv", assets.Mapping{})
	wantRowError(t, err, "log.csv:1: header: missing the time column: name the file's column with --map time=NAME")
}

func TestCompareBins(t *testing.T) {
	stored := vendorBins(42.35187)[:3]
	stored[0].ZoneID = "Z-1"
	incoming := vendorBins(42.35187)
	incoming[1].Name = "Renamed"
	ch := assets.CompareBins(stored, incoming)
	ids := func(bins []civic.Bin) (out []string) {
		for _, b := range bins {
			out = append(out, b.ID)
		}
		return out
	}
	if !slices.Equal(ids(ch.Create), []string{"1410"}) || !slices.Equal(ids(ch.Update), []string{"1202"}) ||
		!slices.Equal(ids(ch.Unchanged), []string{"1201", "1305"}) {
		t.Errorf("create %v update %v unchanged %v", ids(ch.Create), ids(ch.Update), ids(ch.Unchanged))
	}
}
