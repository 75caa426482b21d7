package assets_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

func TestWriteBinsCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteBinsCSV(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	golden(t, "bins.csv", buf.Bytes())

	// Without any state there are no state columns.
	buf.Reset()
	views := sampleViews()
	for i := range views {
		views[i].State = nil
	}
	if err := assets.WriteBinsCSV(&buf, views); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(buf.String(), "\n")
	if want := "id,serial,name,lat,lon,address,stream,capacity_l,compacting,model,zone_id,status,installed_on,full_threshold,access_window"; header != want {
		t.Errorf("header = %q, want %q", header, want)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteBinsCSV(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	first := buf.String()
	got, err := assets.ReadBinsCSV(strings.NewReader(first), "bins.csv")
	if err != nil {
		t.Fatal(err)
	}
	diffBins(t, got, sampleBins())

	// bins → CSV → bins → CSV is stable (without state, which bins lack).
	var again bytes.Buffer
	views := make([]civic.BinView, len(got))
	for i, b := range got {
		views[i] = civic.BinView{Bin: b}
	}
	if err := assets.WriteBinsCSV(&again, views); err != nil {
		t.Fatal(err)
	}
	back, err := assets.ReadBinsCSV(&again, "again.csv")
	if err != nil {
		t.Fatal(err)
	}
	diffBins(t, back, got)
}

func TestReadBinsCSV(t *testing.T) {
	in := "\uFEFF Name ,ID,LAT,lon,capacity_l,compacting,stream,full_threshold,fill\r\n" +
		"Corner,b-1, 39.95 ,-75.16,120,yes,,,0.5\r\n" +
		",,,,,,,,\r\n" + // blank rows are skipped
		"\"Multi\nline\",b-2,39.96,-75.17,240,0,paper,0.8,\r\n" +
		"Third,b-3,39.97,-75.18,1e2,TRUE,compost,,\r\n"
	got, err := assets.ReadBinsCSV(strings.NewReader(in), "bins.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []civic.Bin{
		{ID: "b-1", Name: "Corner", Lat: 39.95, Lon: -75.16, CapacityL: 120, Compacting: true, Stream: "trash", Status: "active", FullThreshold: 0.9},
		{ID: "b-2", Name: "Multi\nline", Lat: 39.96, Lon: -75.17, CapacityL: 240, Stream: "paper", Status: "active", FullThreshold: 0.8},
		{ID: "b-3", Name: "Third", Lat: 39.97, Lon: -75.18, CapacityL: 100, Compacting: true, Stream: "compost", Status: "active", FullThreshold: 0.9},
	}
	diffBins(t, got, want)

	for _, in := range []string{
		"id;name;lat;lon;capacity_l\nb-1;\"Corner, west\";39.95;-75.16;120\n",
		"id\tname\tlat\tlon\tcapacity_l\nb-1\tCorner, west\t39.95\t-75.16\t120\n",
	} {
		got, err := assets.ReadBinsCSV(strings.NewReader(in), "semi.csv")
		want := []civic.Bin{{ID: "b-1", Name: "Corner, west", Lat: 39.95, Lon: -75.16, CapacityL: 120, Stream: "trash", Status: "active", FullThreshold: 0.9}}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		diffBins(t, got, want)
	}

	got, err = assets.ReadBinsCSV(strings.NewReader("id,name,lat,lon,capacity_l\n"), "empty.csv")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("header only: got %v, %v; want an empty slice", got, err)
	}
}

func TestReadBinsCSVErrors(t *testing.T) {
	const header = "id,name,lat,lon,capacity_l,stream,compacting,installed_on\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "bins.csv:1: the file is empty; the first row must name the columns"},
		{"missing column", "id,name,lat,lon\n", `bins.csv:1: header: missing required column "capacity_l" (required: id, name, lat, lon, capacity_l): name the file's column with --map capacity_l=NAME, or give every bin one with --default capacity_l=LITRES`},
		{"capacity", header + "a,A,1,2,5,,,\nb,B,1,2,-3,,,\n", "bins.csv:3: capacity_l: must be a positive number of litres"},
		{"capacity text", header + "a,A,1,2,lots,,,\n", "bins.csv:2: capacity_l: must be a number"},
		{"capacity NaN", header + "a,A,1,2,NaN,,,\n", "bins.csv:2: capacity_l: must be a number"},
		{"required value", header + "a,,1,2,5,,,\n", "bins.csv:2: name: is required"},
		{"required id", header + " ,A,1,2,5,,,\n", "bins.csv:2: id: is required"},
		{"bad id", header + "a b,A,1,2,5,,,\n", "bins.csv:2: id: must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"},
		{"stream", header + "a,A,1,2,5,glass,,\n", `bins.csv:2: stream: "glass" is not a stream civic knows (trash, recycling, paper, bottles_cans, compost): map it in the mapping file's "streams"`},
		{"bool", header + "a,A,1,2,5,,maybe,\n", "bins.csv:2: compacting: must be true, false, yes, no, 1 or 0"},
		{"date", header + "a,A,1,2,5,,,1/2/2024\n", "bins.csv:2: installed_on: must be a date YYYY-MM-DD"},
		{"lat", header + "a,A,91,2,5,,,\n", "bins.csv:2: lat: must be a latitude between -90 and 90"},
		{"access window", "id,name,lat,lon,capacity_l,access_window\na,A,1,2,5,05:00-07:00\nb,B,1,2,5,7-9\n",
			"bins.csv:3: access_window: must be a time range HH:MM-HH:MM"},
		{"duplicate", header + "a,A,1,2,5,,,\nb,B,1,2,5,,,\n\"a\",C,1,2,5,,,\n", `bins.csv:4: id: duplicate id "a" (first on line 2)`},
		{"multi-line row counts lines", header + "a,\"A\nA\",1,2,5,,,\nb,B,1,2,0,,,\n", "bins.csv:4: capacity_l: must be a positive number of litres"},
		{"cell count", header + "a,A,1,2,5\n", "bins.csv:2: the row has a different number of cells than the header"},
		{"quote", header + "a,A\"x,1,2,5,,,\n", `bins.csv:2: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assets.ReadBinsCSV(strings.NewReader(tt.in), "bins.csv")
			if got != nil {
				t.Errorf("got %d bins with an error; want none", len(got))
			}
			wantRowError(t, err, tt.want)
		})
	}
}
