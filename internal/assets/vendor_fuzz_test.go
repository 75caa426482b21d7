package assets_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// addVendorSeeds adds the vendor-shaped files to a fuzz corpus.
func addVendorSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "vendor", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkResult holds for ReadBinsWith: a file error is a *RowError of kind
// invalid or too_large with no result; otherwise the bins validate with
// distinct ids, every invalid row is a *RowError of kind invalid, and no
// column is both read and ignored.
func checkResult(t *testing.T, res *assets.Result, err error) {
	t.Helper()
	if err != nil {
		if res != nil {
			t.Fatalf("a result with error %v", err)
		}
		checkRead(t, nil, err)
		return
	}
	checkRead(t, res.Bins, nil)
	for _, re := range res.Invalid {
		if civic.KindOf(re) != civic.Invalid {
			t.Fatalf("invalid row %v has kind %q", re, civic.KindOf(re))
		}
	}
	for _, name := range res.Ignored {
		for c, from := range res.Columns {
			if from == name {
				t.Fatalf("%q is read as %s and ignored", name, c)
			}
		}
	}
}

func FuzzReadBinsWith(f *testing.F) {
	addVendorSeeds(f, "bins.csv", "bins-bad.csv", "bins.geojson")
	f.Add([]byte("SN,Lat,LAT,lat,Long,Desc_,StreamType,Status\n1,1,2,3,4,x,Bottles/Cans,Out of Service\n"))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"SN":1,"sn":"2","Desc_":true}}]}`))
	m := assets.Mapping{
		Columns:  map[string]string{"name": "Desc_"},
		Defaults: map[string]string{"capacity_l": "240", "stream": "Single Stream"},
		Streams:  map[string]civic.Stream{"glass": civic.StreamBottlesCans},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		format := assets.FormatCSV
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			format = assets.FormatGeoJSON
		}
		res, err := assets.ReadBinsWith(bytes.NewReader(data), "fuzz", format, m)
		checkResult(t, res, err)
		res, err = assets.ReadBinsWith(bytes.NewReader(data), "fuzz", format, assets.Mapping{})
		checkResult(t, res, err)
	})
}

func FuzzReadCollectionsCSV(f *testing.F) {
	addVendorSeeds(f, "collections-bands.csv", "collections-percent.csv")
	f.Add([]byte("bin,time,fullness\nb,1700000000000,55%\nb,1/2/2026 3:04 PM,Green\n"))
	m := assets.Mapping{TimeZone: "Europe/Zurich", Fullness: map[string]float64{"full": 1, "half": 0.5}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []assets.Mapping{{}, m} {
			log, err := assets.ReadCollectionsCSV(bytes.NewReader(data), "fuzz.csv", m)
			if err != nil {
				var re *assets.RowError
				if log != nil || !errors.As(err, &re) {
					t.Fatalf("error %v (%T) with log %v", err, err, log)
				}
				continue
			}
			for _, r := range log.Rows {
				if r.Bin == "" || r.Time.IsZero() || r.Time.Location() != time.UTC {
					t.Fatalf("row %+v: want a bin and a UTC time", r)
				}
				if r.Fill != nil && !(*r.Fill >= 0 && *r.Fill <= 1) {
					t.Fatalf("row %+v: fill %v outside 0..1", r, *r.Fill)
				}
			}
			for _, re := range log.Invalid {
				if civic.KindOf(re) != civic.Invalid || re.Line < 2 {
					t.Fatalf("invalid row %v: kind %q line %d", re, civic.KindOf(re), re.Line)
				}
			}
		}
	})
}

func FuzzParseMapping(f *testing.F) {
	addVendorSeeds(f, "mapping.json")
	f.Add([]byte(`{"columns":{"id":"SN"},"fill_scale":"percent","fullness":{"RED":1}}`))
	f.Add([]byte(`{"defaults":{"capacity_l":"1e400"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := assets.ParseMapping(data)
		if err != nil {
			if k := civic.KindOf(err); k != civic.Invalid && k != civic.TooLarge {
				t.Fatalf("error %v has kind %q", err, k)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("a parsed mapping does not validate: %v", err)
		}
		// A valid mapping reads a file without panicking.
		res, err := assets.ReadBinsWith(bytes.NewReader([]byte("SN,Desc_,Lat,Long\n1,a,1,2\n")), "x.csv", "", m)
		checkResult(t, res, err)
	})
}
