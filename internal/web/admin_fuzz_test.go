package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

// FuzzAdminForm feeds made-up form values to the asset form reader: it
// never panics, and either names a field of the form or gives JSON that
// decodes into the asset or fails to with an error naming a field.
func FuzzAdminForm(f *testing.F) {
	fx := newFixture(f, fixtureOpts{bins: 2})
	kinds := fx.ui.assetKinds()
	for _, s := range []string{"id=B-1&name=x&lat=42&lon=-71&capacity_l=120", "lat=1e309&lon=NaN", "boundary={", "members=a,,b, c",
		"compacting=on&full_threshold=0,9", "id=&name=", "expected_interval_s=1.5", "boundary=%7B%22type%22%3A%22Polygon%22%7D"} {
		for i := range kinds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		kind := kinds[int(k)%len(kinds)]
		raw, _, err := formRecord(kind, form, "")
		if err != nil {
			if civic.KindOf(err) != civic.Invalid || civic.FieldOf(err) == "" {
				t.Fatalf("form %q: error %v, want Invalid naming a field", q, err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("form %q gave invalid JSON %s: %v", q, raw, err)
		}
	})
}

// FuzzBinImport feeds made-up files to the import's every-faulty-line
// reader: it never panics, ends, and gives bins or errors, never both.
func FuzzBinImport(f *testing.F) {
	for _, s := range []struct{ name, data string }{
		{"b.csv", "id,name,lat,lon,stream,capacity_l\nA,a,42,-71,trash,120\nB,b,95,-71,trash,120\n"},
		{"b.csv", "id,name,lat,lon\n\"x\ny\",1,2,3\n"},
		{"b.csv", ""},
		{"b.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-71,42]},"properties":{"id":"A","name":"a","capacity_l":1}},{"type":"Feature"}]}`},
		{"b.geojson", `{"type":"FeatureCollection","features":[1,2,3]}`},
		{"b.json", `[]`},
	} {
		f.Add(s.name, s.data)
	}
	f.Fuzz(func(t *testing.T, name, data string) {
		if len(data) > 1<<16 || strings.ContainsRune(name, 0) {
			return
		}
		bins, errs := readBinsAllErrors([]byte(data), name)
		if len(bins) > 0 && len(errs) > 0 {
			t.Fatalf("%d bins and %d errors", len(bins), len(errs))
		}
		if len(errs) > maxImportErrors+1 {
			t.Fatalf("%d errors, at most %d", len(errs), maxImportErrors+1)
		}
	})
}
