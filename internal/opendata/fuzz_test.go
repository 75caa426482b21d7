package opendata_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

func binsDataset(t testing.TB) opendata.Dataset {
	t.Helper()
	for _, d := range opendata.Datasets {
		if d.Name == "bins" {
			return d
		}
	}
	t.Fatal("no bins dataset")
	return opendata.Dataset{}
}

var whereSeeds = []string{
	"stream = 'trash'",
	"capacity_l >= 240 and (zone_id is null or zone_id = 'Z-1')",
	"lat between 52.5 and 52.6 or lon not between 1 and 2",
	"id in ('B-1', 'B-2') and compacting = true",
	"last_emptied > '2026-03-10T07:00:00Z' and fill_observed < '2026-03-11'",
	"name = 'O''Brien'",
	"id = 'x'; DROP TABLE bins; --",
	"((((stream = 'paper'))))",
	"capacity_l = -1.5e3",
	"status != 'retired' and status <> 'maintenance'",
	"id not in ('a',)",
	"fill_band is not null",
	"\x00 = ''",
	"name = '\u00e9\u00e8'",
}

// FuzzWhere: ParseWhere never panics; what it rejects is a civic.Invalid
// on $where with a message; what it accepts the store compiles and runs.
func FuzzWhere(f *testing.F) {
	for _, s := range whereSeeds {
		f.Add(s)
	}
	d := binsDataset(f)
	st := storetest.Open(f, store.EngineSQLite, store.Options{})
	ctx := context.Background()
	if err := st.ImportBins(ctx, []civic.Bin{{ID: "B-1", Name: "One", Lat: 52.5, Lon: 13.4, CapacityL: 240}}); err != nil {
		f.Fatal(err)
	}
	// The seeds reach the store: a valid filter finds the bin.
	e, err := opendata.ParseWhere(&d, whereSeeds[1])
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	q := civic.DataQuery{Source: d.Source, Columns: d.Columns, Select: d.ColumnNames(), Where: e, Limit: 5}
	if err := st.StreamData(ctx, q, func([]any) error { n++; return nil }); err != nil || n != 1 {
		f.Fatalf("a valid filter: %d rows, %v", n, err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := opendata.ParseWhere(&d, src)
		if err != nil {
			if civic.KindOf(err) != civic.Invalid || civic.FieldOf(err) != "$where" || civic.MessageOf(err) == "" {
				t.Fatalf("ParseWhere(%q): %v (kind %s, field %q): want Invalid on $where", src, err, civic.KindOf(err), civic.FieldOf(err))
			}
			return
		}
		q := civic.DataQuery{Source: d.Source, Columns: d.Columns, Select: d.ColumnNames(), Where: e, Limit: 5}
		if err := st.StreamData(ctx, q, func([]any) error { return nil }); err != nil {
			t.Fatalf("ParseWhere(%q) accepted %#v, but the store fails: %v", src, e, err)
		}
	})
}

// FuzzQuery sends arbitrary query strings to every dataset's endpoint:
// the answer is 200, a 400 naming the parameter, or a 404, never a 500 or
// a panic.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "$limit=5", "$limit=50001", "$offset=2&$limit=1", "$order=capacity_l+desc,name", "$select=id,name",
		"stream=trash&stream=paper", "$where=" + url.QueryEscape("capacity_l > 100 and stream in ('trash')"),
		"$where=" + url.QueryEscape("id = 'x' or 1=1"), "compacting=yes", "%zz", "$select=", "$order=", "day=2026-03-01",
		"$where=" + url.QueryEscape("time between '2026-01-01' and '2026-12-31T23:59:59Z'"),
	} {
		f.Add("bins.json", s)
		f.Add("collections/rows.csv", s)
		f.Add("daily_fill.geojson", s)
	}
	st := storetest.Open(f, store.EngineSQLite, store.Options{})
	if err := st.ImportBins(context.Background(), []civic.Bin{{ID: "B-1", Name: "One", Lat: 52.5, Lon: 13.4, CapacityL: 240}}); err != nil {
		f.Fatal(err)
	}
	p, err := opendata.New(opendata.Config{}, opendata.Deps{Data: st, Bins: st})
	if err != nil {
		f.Fatal(err)
	}
	h := p.Handler()
	// The seeds reach the handler: a valid one answers with the bin.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/data/bins.json?$limit=5", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"B-1"`) {
		f.Fatalf("a valid query: %d %s", rec.Code, rec.Body)
	}
	f.Fuzz(func(t *testing.T, file, rawQuery string) {
		u := &url.URL{Path: "/data/" + file, RawQuery: rawQuery}
		req, err := http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 404:
		case 301, 307, 308: // the mux cleans paths such as /data/x/./y
		case 400:
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code != "invalid" || e.Error.Field == "" || e.Error.Message == "" {
				t.Fatalf("%s: 400 without a named field: %s", u, rec.Body)
			}
		default:
			t.Fatalf("%s: status %d: %s", u, rec.Code, rec.Body)
		}
	})
}
