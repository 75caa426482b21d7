package assets_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

func TestWriteBinsGeoJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteBinsGeoJSON(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	golden(t, "bins.geojson", buf.Bytes())
}

func TestGeoJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteBinsGeoJSON(&buf, sampleViews()); err != nil {
		t.Fatal(err)
	}
	got, err := assets.ReadBinsGeoJSON(&buf, "bins.geojson")
	if err != nil {
		t.Fatal(err)
	}
	diffBins(t, got, sampleBins())

	buf.Reset()
	if err := assets.WriteBinsGeoJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(buf.String()), ""); got != `{"type":"FeatureCollection","features":[]}` {
		t.Errorf("no bins: %s", got)
	}
}

func TestReadBinsGeoJSON(t *testing.T) {
	in := `{"type": "FeatureCollection", "features": [
	  {"type": "Feature", "id": "f-1", "geometry": {"type": "Point", "coordinates": [-75.16, 39.95, 12.5]},
	   "properties": {"name": "Corner", "capacity_l": "120", "compacting": "yes", "lat": 1, "lon": 2, "fill": 0.5, "zone_id": null}},
	  {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [-75.17, 39.96]},
	   "properties": {"name": "Seven", "capacity_l": 240, "compacting": 1, "stream": "paper", "full_threshold": 0.8}}
	]}`
	got, err := assets.ReadBinsGeoJSON(strings.NewReader(in), "bins.geojson")
	if err != nil {
		t.Fatal(err)
	}
	want := []civic.Bin{
		{ID: "f-1", Name: "Corner", Lat: 39.95, Lon: -75.16, CapacityL: 120, Compacting: true, Stream: "trash", Status: "active", FullThreshold: 0.9},
		{ID: "7", Name: "Seven", Lat: 39.96, Lon: -75.17, CapacityL: 240, Compacting: true, Stream: "paper", Status: "active", FullThreshold: 0.8},
	}
	diffBins(t, got, want)
}

func TestReadBinsGeoJSONErrors(t *testing.T) {
	feature := func(geometry, props string) string {
		return `{"type":"Feature","geometry":` + geometry + `,"properties":` + props + `}`
	}
	const pt = `{"type":"Point","coordinates":[-75.16,39.95]}`
	const ok = `{"id":"a","name":"A","capacity_l":100}`
	fc := func(features ...string) string {
		return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"syntax", "{\n\"type\": \"FeatureCollection\",\n\"features\": [}", "bins.geojson:3: is not valid JSON: invalid character '}' looking for beginning of value"},
		{"not a collection", `{"type":"Feature"}`, "bins.geojson: type: must be FeatureCollection"},
		{"no features", `{"type":"FeatureCollection"}`, "bins.geojson: features: is required"},
		{"features not array", `{"type":"FeatureCollection","features":{}}`, "bins.geojson:1: features: must not be a JSON object"},
		{"stream", fc(feature(pt, ok), feature(pt, `{"id":"b","name":"B","capacity_l":100,"stream":"glass"}`)),
			`bins.geojson: features[1].properties.stream: "glass" is not a stream civic knows (trash, recycling, paper, bottles_cans, compost): map it in the mapping file's "streams"`},
		{"capacity", fc(feature(pt, `{"id":"b","name":"B","capacity_l":0}`)), "bins.geojson: features[0].properties.capacity_l: must be a positive number of litres"},
		{"capacity missing", fc(feature(pt, `{"id":"b","name":"B"}`)), "bins.geojson: features[0].properties.capacity_l: is required"},
		{"name missing", fc(feature(pt, `{"id":"b","capacity_l":1}`)), "bins.geojson: features[0].properties.name: is required"},
		{"id missing", fc(feature(pt, `{"name":"B","capacity_l":1}`)), "bins.geojson: features[0].properties.id: is required"},
		{"number type", fc(feature(pt, `{"id":"b","name":"B","capacity_l":true}`)), "bins.geojson: features[0].properties.capacity_l: must be a number"},
		{"text type", fc(feature(pt, `{"id":"b","name":{"en":"B"},"capacity_l":1}`)), "bins.geojson: features[0].properties.name: must be text"},
		{"access window", fc(feature(pt, `{"id":"b","name":"B","capacity_l":1,"access_window":"09:00-08:00"}`)),
			"bins.geojson: features[0].properties.access_window: must be a time range HH:MM-HH:MM"},
		{"access window type", fc(feature(pt, `{"id":"b","name":"B","capacity_l":1,"access_window":5}`)),
			"bins.geojson: features[0].properties.access_window: must be a time range HH:MM-HH:MM"},
		{"bool type", fc(feature(pt, `{"id":"b","name":"B","capacity_l":1,"compacting":2}`)), "bins.geojson: features[0].properties.compacting: must be true or false"},
		{"polygon", fc(feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, ok)), "bins.geojson: features[0].geometry: must be a GeoJSON Point [lon, lat]"},
		{"no geometry", fc(feature(`null`, ok)), "bins.geojson: features[0].geometry: must be a GeoJSON Point [lon, lat]"},
		{"short point", fc(feature(`{"type":"Point","coordinates":[5]}`, ok)), "bins.geojson: features[0].geometry: must be a GeoJSON Point [lon, lat]"},
		{"bad geometry", fc(feature(`{"type":"Circle","coordinates":[5,5]}`, ok)), "bins.geojson: features[0].geometry: is not a valid GeoJSON geometry"},
		{"latitude", fc(feature(`{"type":"Point","coordinates":[5,95]}`, ok)), "bins.geojson: features[0].geometry.coordinates: must be a latitude between -90 and 90"},
		{"not a feature", fc(`{"type":"Point","coordinates":[5,5]}`), "bins.geojson: features[0].type: must be Feature"},
		{"feature not object", fc(`3`), "bins.geojson: features[0]: must be a GeoJSON Feature object"},
		{"duplicate", fc(feature(pt, ok), feature(pt, ok)), `bins.geojson: features[1].properties.id: duplicate id "a" (first in features[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assets.ReadBinsGeoJSON(strings.NewReader(tt.in), "bins.geojson")
			if got != nil {
				t.Errorf("got %d bins with an error; want none", len(got))
			}
			wantRowError(t, err, tt.want)
		})
	}
}

func sampleZones() []civic.Zone {
	return []civic.Zone{
		{ID: "center-city", Name: "Center City", Boundary: civic.MultiPolygon{{
			{{-75.18, 39.94}, {-75.14, 39.94}, {-75.14, 39.96}, {-75.18, 39.96}, {-75.18, 39.94}},
			{{-75.17, 39.945}, {-75.16, 39.945}, {-75.16, 39.95}, {-75.17, 39.945}},
		}}},
		{ID: "fairmount", Name: "Fairmount & river", Boundary: civic.MultiPolygon{
			{{{-75.2, 39.96}, {-75.18, 39.96}, {-75.18, 39.98}, {-75.2, 39.96}}},
			{{{-75.21, 39.99}, {-75.19, 39.99}, {-75.19, 40.0}, {-75.21, 39.99}}},
		}},
	}
}

func TestZonesGeoJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := assets.WriteZonesGeoJSON(&buf, sampleZones()); err != nil {
		t.Fatal(err)
	}
	golden(t, "zones.geojson", buf.Bytes())
	got, err := assets.ReadZonesGeoJSON(&buf, "zones.geojson")
	if err != nil {
		t.Fatal(err)
	}
	want := sampleZones()
	if len(got) != len(want) {
		t.Fatalf("got %d zones, want %d", len(got), len(want))
	}
	for i := range got {
		g, _ := got[i].Boundary.MarshalJSON()
		w, _ := want[i].Boundary.MarshalJSON()
		if got[i].ID != want[i].ID || got[i].Name != want[i].Name || !bytes.Equal(g, w) {
			t.Errorf("zone %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestReadZonesGeoJSON(t *testing.T) {
	// Other properties are ignored; a feature id stands in for properties.id.
	in := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"north","geometry":{"type":"Polygon","coordinates":[[[0,1],[1,1],[1,2],[0,1]]]},"properties":{"name":"North","OBJECTID":17,"Shape_Area":0.5}}]}`
	got, err := assets.ReadZonesGeoJSON(strings.NewReader(in), "zones.geojson")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "north" || got[0].Name != "North" || len(got[0].Boundary) != 1 {
		t.Errorf("got %+v", got)
	}

	poly := `{"type":"Polygon","coordinates":[[[0,1],[1,1],[1,2],[0,1]]]}`
	feature := func(geometry, props string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + geometry + `,"properties":` + props + `}]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"point", feature(`{"type":"Point","coordinates":[1,2]}`, `{"id":"z","name":"Z"}`), "zones.geojson: features[0].geometry: must be a GeoJSON Polygon or MultiPolygon"},
		{"open ring", feature(`{"type":"Polygon","coordinates":[[[0,1],[1,1],[1,2],[0,2]]]}`, `{"id":"z","name":"Z"}`), "zones.geojson: features[0].geometry.coordinates: a ring must end where it starts"},
		{"short ring", feature(`{"type":"Polygon","coordinates":[[[0,1],[1,1],[0,1]]]}`, `{"id":"z","name":"Z"}`), "zones.geojson: features[0].geometry.coordinates: a ring needs at least 4 positions"},
		{"empty", feature(`{"type":"Polygon","coordinates":[]}`, `{"id":"z","name":"Z"}`), "zones.geojson: features[0].geometry.coordinates: a polygon needs an outer ring"},
		{"name", feature(poly, `{"id":"z"}`), "zones.geojson: features[0].properties.name: is required"},
		{"id type", feature(poly, `{"id":3,"name":"Z"}`), "zones.geojson: features[0].properties.id: must be a string"},
		{"duplicate", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":` + poly + `,"properties":{"id":"z","name":"Z"}},{"type":"Feature","geometry":` + poly + `,"properties":{"id":"z","name":"Y"}}]}`,
			`zones.geojson: features[1].properties.id: duplicate id "z" (first in features[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := assets.ReadZonesGeoJSON(strings.NewReader(tt.in), "zones.geojson")
			if got != nil {
				t.Errorf("got %d zones with an error; want none", len(got))
			}
			wantRowError(t, err, tt.want)
		})
	}
}

func TestWriteKeepsText(t *testing.T) {
	views := []civic.BinView{{Bin: civic.Bin{ID: "b", Name: `A & B <c> \u0026 "q" \ é`, Lat: 1, Lon: 2, CapacityL: 1, Stream: "trash", Status: "active", FullThreshold: 0.9}}}
	for _, f := range []assets.Format{assets.FormatGeoJSON, assets.FormatNGSILD, assets.FormatNGSILDNormalized} {
		var buf bytes.Buffer
		if err := assets.WriteBins(&buf, f, views); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `"A & B <c> \\u0026 \"q\" \\ é"`) {
			t.Errorf("%s: name written as\n%s", f, buf.String())
		}
		got, err := assets.ReadBins(&buf, "x", f)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Name != views[0].Name {
			t.Errorf("%s: name read back as %q", f, got[0].Name)
		}
	}
}
