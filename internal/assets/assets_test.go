package assets_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func ptr[T any](v T) *T { return &v }

// sampleViews are bins as the store returns them: normalized, some with
// state, one with timestamps.
func sampleViews() []civic.BinView {
	t := time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	return []civic.BinView{
		{
			Bin: civic.Bin{
				ID: "B-0001", Serial: "BB-HC5-778812", Name: "Market St & 5th", Lat: 39.9512, Lon: -75.1467,
				Address: "500 Market St, Philadelphia", Stream: civic.StreamTrash, CapacityL: 568,
				Compacting: true, Model: "Bigbelly HC5", ZoneID: "center-city", Status: civic.StatusActive,
				InstalledOn: "2024-05-01", FullThreshold: 0.9, AccessWindow: "05:00-07:30",
				CreatedAt: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			},
			State: &civic.BinState{BinID: "B-0001", Device: "dev-778812", Time: t, Fill: ptr(0.62),
				TemperatureC: ptr(21.5), Battery: ptr(0.87), TiltDeg: ptr(2.0), DoorOpen: ptr(false), Fire: ptr(false)},
		},
		{
			Bin: civic.Bin{
				ID: "B-0002", Name: "Rittenhouse Sq. \"north\", gate", Lat: 39.94937, Lon: -75.17183,
				Stream: civic.StreamBottlesCans, CapacityL: 120, Status: civic.StatusMaintenance, FullThreshold: 0.75,
			},
			State: &civic.BinState{BinID: "B-0002", Time: t.Add(-time.Hour), Fill: ptr(0.1), DoorOpen: ptr(true)},
		},
		{
			Bin: civic.Bin{
				ID: "park.7:a", Name: "Fairmount Park, boathouse", Lat: 39.9691, Lon: -75.1873,
				Stream: civic.StreamCompost, CapacityL: 240.5, Status: civic.StatusInactive, FullThreshold: 0.85,
				Model: "EN 840/240 L", ZoneID: "fairmount",
			},
		},
		{
			Bin: civic.Bin{
				ID: "B-0004", Name: "City Hall west", Lat: 39.952335, Lon: -75.163789,
				Stream: civic.StreamPaper, CapacityL: 240, Status: civic.StatusRemoved, FullThreshold: 1,
			},
			State: &civic.BinState{BinID: "B-0004", Time: t, Fire: ptr(true), TemperatureC: ptr(88.0)},
		},
		{
			Bin: civic.Bin{
				ID: "B-0005", Name: "Broad & Spring Garden", Lat: 39.962, Lon: -75.1605,
				Stream: civic.StreamRecycling, CapacityL: 360, Status: civic.StatusActive, FullThreshold: 0.9,
			},
			State: &civic.BinState{BinID: "B-0005", Device: "dev-5", Time: t, TiltDeg: ptr(80.0), Fill: ptr(1.0)},
		},
	}
}

// sampleBins are the bins of sampleViews as a reader returns them.
func sampleBins() []civic.Bin {
	var bins []civic.Bin
	for _, v := range sampleViews() {
		b := v.Bin
		b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}
		bins = append(bins, b)
	}
	return bins
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// rowError checks err is a *assets.RowError with the given text and an
// Invalid civic error inside.
func wantRowError(t *testing.T, err error, want string) {
	t.Helper()
	var re *assets.RowError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *assets.RowError %q", err, err, want)
	}
	if got := err.Error(); got != want {
		t.Errorf("err = %q\nwant  %q", got, want)
	}
	if k := civic.KindOf(err); k != civic.Invalid {
		t.Errorf("KindOf(err) = %q, want invalid", k)
	}
	if f := civic.FieldOf(err); f != re.Field {
		t.Errorf("FieldOf(err) = %q, want RowError.Field %q", f, re.Field)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name string
		want assets.Format
	}{
		{"bins.csv", assets.FormatCSV},
		{"/tmp/BINS.CSV", assets.FormatCSV},
		{"bins.geojson", assets.FormatGeoJSON},
		{"containers.jsonld", assets.FormatNGSILD},
		{"bins.json", ""},
		{"bins", ""},
		{"-", ""},
	}
	for _, tt := range tests {
		got, err := assets.DetectFormat(tt.name)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
		if err != nil && !civic.IsKind(err, civic.Invalid) {
			t.Errorf("DetectFormat(%q) error kind = %q, want invalid", tt.name, civic.KindOf(err))
		}
	}
}

func TestFormatValid(t *testing.T) {
	for _, f := range assets.Formats {
		if !f.Valid() {
			t.Errorf("%q.Valid() = false", f)
		}
	}
	if assets.Format("xml").Valid() {
		t.Error(`"xml".Valid() = true`)
	}
}

// TestReadWriteBins round-trips every format through the format-by-name
// entry points, and reads .json files by content.
func TestReadWriteBins(t *testing.T) {
	for _, f := range assets.Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := assets.WriteBins(&buf, f, sampleViews()); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			got, err := assets.ReadBins(bytes.NewReader(data), "bins", f)
			if err != nil {
				t.Fatal(err)
			}
			diffBins(t, got, sampleBins())
			if f == assets.FormatCSV {
				return
			}
			got, err = assets.ReadBins(bytes.NewReader(data), "export.json", "")
			if err != nil {
				t.Fatalf("detect by content: %v", err)
			}
			diffBins(t, got, sampleBins())
		})
	}
	if err := assets.WriteBins(&bytes.Buffer{}, "xml", nil); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("WriteBins(xml) = %v, want invalid", err)
	}
	if _, err := assets.ReadBins(strings.NewReader(""), "bins.xml", ""); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("ReadBins(bins.xml) = %v, want invalid", err)
	}
	if _, err := assets.ReadBins(strings.NewReader(""), "bins", "xml"); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("ReadBins(format xml) = %v, want invalid", err)
	}
	got, err := assets.ReadBins(strings.NewReader("id,name,lat,lon,capacity_l\nb1,One,1,2,3\n"), "b.CSV", "")
	if err != nil || len(got) != 1 {
		t.Errorf("ReadBins(b.CSV) = %v, %v", got, err)
	}
}

func diffBins(t *testing.T, got, want []civic.Bin) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d bins, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("bin %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestTooLarge(t *testing.T) {
	defer assets.SetMaxFileBytes(64)()
	csv := "id,name,lat,lon,capacity_l\nb1,One,39.9,-75.1,120\n"
	csv += strings.Repeat("\n", 64-len(csv))
	if _, err := assets.ReadBinsCSV(strings.NewReader(csv), "ok.csv"); err != nil {
		t.Errorf("ReadBinsCSV(exactly the limit) = %v", err)
	}
	_, err := assets.ReadBinsCSV(strings.NewReader(csv+"\n"), "big.csv")
	if !civic.IsKind(err, civic.TooLarge) {
		t.Errorf("ReadBinsCSV(over the limit) = %v, want too_large", err)
	}
	big := strings.Repeat(" ", 65)
	for _, f := range assets.Formats {
		_, err = assets.ReadBins(strings.NewReader(big), "big", f)
		if !civic.IsKind(err, civic.TooLarge) {
			t.Errorf("ReadBins(%s, over the limit) = %v, want too_large", f, err)
		}
	}
	_, err = assets.ReadZonesGeoJSON(strings.NewReader(big), "big.geojson")
	if !civic.IsKind(err, civic.TooLarge) {
		t.Errorf("ReadZonesGeoJSON(over the limit) = %v, want too_large", err)
	}
	if want := "big.geojson: the file is larger than 64 MiB"; err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
}

func TestRowErrorText(t *testing.T) {
	inner := civic.FieldError("capacity_l", "must be a positive number of litres")
	tests := []struct {
		err  assets.RowError
		want string
	}{
		{assets.RowError{File: "bins.csv", Line: 17, Field: "capacity_l", Err: inner}, "bins.csv:17: capacity_l: must be a positive number of litres"},
		{assets.RowError{File: "bins.geojson", Field: "features[12].properties.capacity_l", Err: inner}, "bins.geojson: features[12].properties.capacity_l: must be a positive number of litres"},
		{assets.RowError{File: "bins.csv", Line: 3, Err: civic.FieldError("", "bad quote")}, "bins.csv:3: bad quote"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(&tt.err, tt.err.Err) {
			t.Errorf("errors.Is(RowError, Err) = false")
		}
	}
}
