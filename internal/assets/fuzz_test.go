package assets_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// addSeeds adds the golden files and the given snippets to a fuzz corpus.
func addSeeds(f *testing.F, golden []string, snippets ...string) {
	for _, name := range golden {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range snippets {
		f.Add([]byte(s))
	}
}

// checkRead holds for every reader: an error is a *RowError of kind invalid
// (or too_large) and comes with nothing; success returns valid bins with
// distinct ids.
func checkRead(t *testing.T, bins []civic.Bin, err error) {
	t.Helper()
	if err != nil {
		if bins != nil {
			t.Fatalf("%d bins returned with error %v", len(bins), err)
		}
		var re *assets.RowError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is %T, want *assets.RowError", err, err)
		}
		if k := civic.KindOf(err); k != civic.Invalid && k != civic.TooLarge {
			t.Fatalf("error %v has kind %q", err, k)
		}
		return
	}
	seen := map[string]bool{}
	for i := range bins {
		b := bins[i]
		if err := b.Validate(); err != nil {
			t.Fatalf("bin %d %+v does not validate: %v", i, b, err)
		}
		n := b
		n.Normalize()
		if n != b {
			t.Fatalf("bin %d is not normalized: %+v", i, b)
		}
		if seen[b.ID] {
			t.Fatalf("duplicate id %q returned", b.ID)
		}
		seen[b.ID] = true
	}
}

func FuzzReadBinsCSV(f *testing.F) {
	addSeeds(f, []string{"bins.csv"},
		"id,name,lat,lon,capacity_l\nb1,One,39.9,-75.1,120\n",
		"\uFEFFID,Name,Lat,Lon,Capacity_L,compacting\r\n\"b,1\",\"x\"\"y\",1,2,3,yes\r\n",
		"id,name,lat,lon,capacity_l\na,A,1,2,3\na,A,1,2,3\n",
		"id\n\"unterminated\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		bins, err := assets.ReadBinsCSV(bytes.NewReader(data), "fuzz.csv")
		checkRead(t, bins, err)
	})
}

func FuzzReadBinsGeoJSON(f *testing.F) {
	addSeeds(f, []string{"bins.geojson"},
		`{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"name":"n","capacity_l":"5"}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":null}]}`,
		`{"type":"FeatureCollection","features":[null]}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		bins, err := assets.ReadBinsGeoJSON(bytes.NewReader(data), "fuzz.geojson")
		checkRead(t, bins, err)
	})
}

func FuzzReadZonesGeoJSON(f *testing.F) {
	addSeeds(f, []string{"zones.geojson"},
		`{"type":"FeatureCollection","features":[{"type":"Feature","id":"z","geometry":{"type":"Polygon","coordinates":[[[0,1],[1,1],[1,2],[0,1]]]},"properties":{"name":"Z"}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[]]},"properties":{"id":"z","name":"Z"}}]}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		zones, err := assets.ReadZonesGeoJSON(bytes.NewReader(data), "fuzz.geojson")
		if err != nil {
			if zones != nil {
				t.Fatalf("%d zones returned with error %v", len(zones), err)
			}
			var re *assets.RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is %T, want *assets.RowError", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for i := range zones {
			if err := zones[i].Validate(); err != nil {
				t.Fatalf("zone %d does not validate: %v", i, err)
			}
			if seen[zones[i].ID] {
				t.Fatalf("duplicate id %q returned", zones[i].ID)
			}
			seen[zones[i].ID] = true
		}
	})
}

func FuzzReadWasteContainers(f *testing.F) {
	addSeeds(f, []string{"bins.ngsi-ld.json", "bins.ngsi-ld-normalized.json"},
		`{"id":"x","type":"WasteContainer","location":{"type":"Point","coordinates":[1,2]},"binCapacity":{"type":"Property","value":1,"unitCode":"MTQ"}}`,
		`[{"id":"x","type":"WasteContainer","location":[{"type":"GeoProperty","value":{"type":"Point","coordinates":[1,2]}}],"storedWasteKind":["paper","glass"]}]`,
	)
	examples, _ := filepath.Glob(filepath.Join("testdata", "fiware", "WasteContainer", "examples", "*"))
	for _, name := range examples {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bins, err := assets.ReadWasteContainers(bytes.NewReader(data), "fuzz.json")
		checkRead(t, bins, err)
	})
}
