package opendata_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/storetest"
)

// rows parses a response body of format into rows of column -> value (as
// JSON decodes them; CSV cells as strings) and the column order.
func rows(t *testing.T, format string, body []byte) ([]string, []map[string]any) {
	t.Helper()
	switch format {
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		must(t, "parse CSV", err)
		if len(recs) == 0 {
			t.Fatal("CSV without a header")
		}
		var out []map[string]any
		for _, r := range recs[1:] {
			m := map[string]any{}
			for i, c := range recs[0] {
				m[c] = r[i]
			}
			out = append(out, m)
		}
		return recs[0], out
	case "json":
		var out []map[string]any
		must(t, "parse JSON", json.Unmarshal(body, &out))
		return nil, out
	case "geojson":
		var fc struct {
			Type     string `json:"type"`
			Features []struct {
				Type     string `json:"type"`
				Geometry *struct {
					Type        string    `json:"type"`
					Coordinates []float64 `json:"coordinates"`
				} `json:"geometry"`
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		must(t, "parse GeoJSON", json.Unmarshal(body, &fc))
		if fc.Type != "FeatureCollection" {
			t.Fatalf("GeoJSON type %q, want FeatureCollection", fc.Type)
		}
		var out []map[string]any
		for _, f := range fc.Features {
			if f.Type != "Feature" || f.Geometry == nil || f.Geometry.Type != "Point" || len(f.Geometry.Coordinates) != 2 {
				t.Fatalf("feature %+v is not a Point feature", f)
			}
			lon, lat := f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]
			if lon < -180 || lon > 180 || lat < -90 || lat > 90 {
				t.Fatalf("coordinates %v are not [lon, lat]", f.Geometry.Coordinates)
			}
			out = append(out, f.Properties)
		}
		return nil, out
	}
	t.Fatalf("unknown format %s", format)
	return nil, nil
}

// TestEveryDatasetInEveryFormat downloads every dataset in every format
// from the query and the bulk endpoints, on both engines, and checks the
// documents parse, hold rows with every declared column, and agree.
func TestEveryDatasetInEveryFormat(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		wantRows := map[string]int{"bins": 5, "daily_fill": 4, "collections": 2, "alerts_summary": 2, "plans": 1, "requests_311": 1}
		for _, d := range f.portal.Datasets() {
			if _, ok := wantRows[d.Name]; !ok {
				t.Errorf("dataset %s has no expected row count in this test", d.Name)
			}
			for _, format := range []string{"csv", "json", "geojson"} {
				for _, path := range []string{"/data/" + d.Name + "." + format, "/data/" + d.Name + "/rows." + format} {
					resp, body := f.get(t, path)
					if !d.HasLocation() && format == "geojson" {
						if resp.StatusCode != http.StatusNotFound {
							t.Errorf("%s: status %d, want 404 (no locations)", path, resp.StatusCode)
						}
						continue
					}
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s: status %d: %s", path, resp.StatusCode, body)
					}
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, map[string]string{"csv": "text/csv", "json": "application/json", "geojson": "application/geo+json"}[format]) {
						t.Errorf("%s: Content-Type %q", path, ct)
					}
					if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
						t.Errorf("%s: ETag %q, Last-Modified %q", path, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
					}
					header, rs := rows(t, format, body)
					if format == "csv" && !slices.Equal(header, d.ColumnNames()) {
						t.Errorf("%s: header %v, want %v", path, header, d.ColumnNames())
					}
					if len(rs) != wantRows[d.Name] {
						t.Errorf("%s: %d rows, want %d:\n%s", path, len(rs), wantRows[d.Name], body)
					}
					for _, r := range rs {
						for _, c := range d.ColumnNames() {
							if _, ok := r[c]; !ok {
								t.Errorf("%s: a row without %s: %v", path, c, r)
							}
						}
					}
				}
			}
			resp, body := f.get(t, "/data/"+d.Name+"/dictionary.json")
			var dict struct {
				Columns []civic.DataColumn `json:"columns"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &dict) != nil || len(dict.Columns) != len(d.Columns) {
				t.Errorf("dictionary of %s: %d %s", d.Name, resp.StatusCode, body)
			}
		}
	})
}

// TestDatasetValues checks the values the datasets compute, the same on
// both engines.
func TestDatasetValues(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		one := func(path string) map[string]any {
			t.Helper()
			resp, body := f.get(t, path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			_, rs := rows(t, "json", body)
			if len(rs) != 1 {
				t.Fatalf("%s: %d rows, want 1: %s", path, len(rs), body)
			}
			return rs[0]
		}
		b1 := one("/data/bins.json?id=B-1")
		want := map[string]any{"id": "B-1", "stream": "trash", "capacity_l": 240.0, "compacting": false, "zone_id": "Z-1",
			"lat": 52.512346, "lon": 13.412346, "fill_band": "75-90%", "last_emptied": "2026-03-10T06:31:00.000Z",
			"fill_observed": "2026-03-10T21:00:00.000Z"}
		for k, v := range want {
			if b1[k] != v {
				t.Errorf("bins B-1 %s = %v (%T), want %v", k, b1[k], b1[k], v)
			}
		}
		if b2 := one("/data/bins.json?id=B-2"); b2["compacting"] != true || b2["fill_band"] != "75-90%" || b2["last_emptied"] != nil {
			t.Errorf("bins B-2 = %v", b2)
		}
		if b5 := one("/data/bins.json?id=B-5"); b5["zone_id"] != nil || b5["fill_band"] != nil {
			t.Errorf("bins B-5 (no zone, no sensor) = %v", b5)
		}
		df := one("/data/daily_fill.json?bin_id=B-1&day=2026-03-09")
		if df["readings"] != 8.0 || df["fill_min"] != 0.0 || df["fill_max"] != 0.875 || df["fill_mean"] != 0.438 {
			t.Errorf("daily_fill B-1 2026-03-09 = %v", df)
		}
		pl := one("/data/plans.json")
		if pl["date"] != "2026-03-10" || pl["routes"] != 2.0 || pl["trucks"] != 2.0 || pl["km"] != 17.3 ||
			pl["bins_planned"] != 3.0 || pl["bins_collected"] != 1.0 || pl["bins_skipped"] != 1.0 || pl["hours"] != 5.0 {
			t.Errorf("plans = %v", pl)
		}
		al := one("/data/alerts_summary.json?rule=full")
		if al["opened"] != 1.0 || al["resolved"] != 1.0 || al["mean_minutes_to_resolve"] != 120.0 || al["zone_id"] != "Z-1" || al["day"] != "2026-03-10" {
			t.Errorf("alerts_summary full = %v", al)
		}
		if fire := one("/data/alerts_summary.json?rule=fire"); fire["resolved"] != 0.0 || fire["mean_minutes_to_resolve"] != nil {
			t.Errorf("alerts_summary fire = %v", fire)
		}
		c := one("/data/collections.json?bin_id=B-1")
		if c["fill_seen"] != 0.9 || c["source"] != "crew" || c["truck_id"] != "T-1" || c["time"] != "2026-03-10T06:31:00.000Z" {
			t.Errorf("collections B-1 = %v", c)
		}
	})
}

// TestQueryParameters runs SODA-style queries, good and bad, on both
// engines: each bad one is a 400 naming the parameter and the problem.
func TestQueryParameters(t *testing.T) {
	type scenario struct {
		name   string
		path   string
		status int
		ids    []string // the id (or first key) column of each row, in order
		field  string   // of a 400
		msg    string   // part of a 400's message
	}
	q := url.QueryEscape
	scenarios := []scenario{
		{name: "default order is the key", path: "/data/bins.json", status: 200, ids: []string{"B-1", "B-2", "B-3", "B-4", "B-5"}},
		{name: "limit", path: "/data/bins.json?$limit=2", status: 200, ids: []string{"B-1", "B-2"}},
		{name: "limit and offset", path: "/data/bins.json?$limit=2&$offset=3", status: 200, ids: []string{"B-4", "B-5"}},
		{name: "offset past the end", path: "/data/bins.json?$offset=10", status: 200, ids: nil},
		{name: "order desc", path: "/data/bins.json?$order=" + q("capacity_l desc"), status: 200, ids: []string{"B-2", "B-1", "B-4", "B-5", "B-3"}},
		{name: "order then key", path: "/data/bins.json?$order=capacity_l", status: 200, ids: []string{"B-3", "B-1", "B-4", "B-5", "B-2"}},
		{name: "column filter", path: "/data/bins.json?stream=paper", status: 200, ids: []string{"B-3"}},
		{name: "column filter repeated is any", path: "/data/bins.json?stream=paper&stream=compost", status: 200, ids: []string{"B-3", "B-4"}},
		{name: "boolean filter", path: "/data/bins.json?compacting=true", status: 200, ids: []string{"B-2"}},
		{name: "where comparison", path: "/data/bins.json?$where=" + q("capacity_l >= 240"), status: 200, ids: []string{"B-1", "B-2", "B-4", "B-5"}},
		{name: "where and/or with parentheses", path: "/data/bins.json?$where=" + q("(stream = 'trash' or stream='paper') AND capacity_l < 200"), status: 200, ids: []string{"B-3"}},
		{name: "where between", path: "/data/bins.json?$where=" + q("lat between 52.515 and 52.535"), status: 200, ids: []string{"B-2", "B-3"}},
		{name: "where not between", path: "/data/bins.json?$where=" + q("lat not between 52.515 and 52.535"), status: 200, ids: []string{"B-1", "B-4", "B-5"}},
		{name: "where in", path: "/data/bins.json?$where=" + q("id in ('B-1', 'B-4', 'nope')"), status: 200, ids: []string{"B-1", "B-4"}},
		{name: "where not in", path: "/data/bins.json?$where=" + q("id not in ('B-1', 'B-4')"), status: 200, ids: []string{"B-2", "B-3", "B-5"}},
		{name: "where is null", path: "/data/bins.json?$where=" + q("zone_id is null"), status: 200, ids: []string{"B-5"}},
		{name: "where is not null", path: "/data/bins.json?$where=" + q("last_emptied IS NOT NULL"), status: 200, ids: []string{"B-1", "B-4"}},
		{name: "where on a time", path: "/data/collections.json?$where=" + q("time > '2026-03-10T07:00:00Z'"), status: 200, ids: []string{"col-manual-1"}},
		{name: "where on a time without zone", path: "/data/collections.json?$where=" + q("time < '2026-03-10T07:00'"), status: 200},
		{name: "where on a date", path: "/data/daily_fill.json?$where=" + q("day = '2026-03-09' and bin_id = 'B-2'"), status: 200, ids: []string{"2026-03-09"}},
		{name: "where and filter combine", path: "/data/bins.json?stream=trash&$where=" + q("capacity_l > 0 and zone_id = 'Z-1'"), status: 200, ids: []string{"B-1"}},
		{name: "quote in a value", path: "/data/bins.json?$where=" + q("name = 'O''Brien Street; DROP'"), status: 200, ids: []string{"B-3"}},
		{name: "select", path: "/data/bins.json?$select=" + q("name, id") + "&id=B-2", status: 200, ids: []string{"B-2"}},
		{name: "select star", path: "/data/bins.json?$select=*&$limit=1", status: 200, ids: []string{"B-1"}},

		{name: "limit too large", path: "/data/bins.json?$limit=50001", status: 400, field: "$limit", msg: "at most 50000"},
		{name: "limit zero", path: "/data/bins.json?$limit=0", status: 400, field: "$limit"},
		{name: "limit not a number", path: "/data/bins.json?$limit=ten", status: 400, field: "$limit"},
		{name: "negative offset", path: "/data/bins.json?$offset=-1", status: 400, field: "$offset"},
		{name: "parameter twice", path: "/data/bins.json?$limit=1&$limit=2", status: 400, field: "$limit", msg: "once"},
		{name: "unknown $ parameter", path: "/data/bins.json?$group=stream", status: 400, field: "$group"},
		{name: "unknown column filter", path: "/data/bins.json?colour=red", status: 400, field: "colour", msg: "not a column"},
		{name: "bad filter value", path: "/data/bins.json?capacity_l=big", status: 400, field: "capacity_l", msg: "not a number"},
		{name: "bad boolean", path: "/data/bins.json?compacting=maybe", status: 400, field: "compacting"},
		{name: "bad order column", path: "/data/bins.json?$order=secret", status: 400, field: "$order", msg: `no column "secret"`},
		{name: "bad order direction", path: "/data/bins.json?$order=" + q("id sideways"), status: 400, field: "$order", msg: "asc or desc"},
		{name: "bad select column", path: "/data/bins.json?$select=" + q("id,password"), status: 400, field: "$select", msg: `no column "password"`},
		{name: "select twice", path: "/data/bins.json?$select=" + q("id,id"), status: 400, field: "$select", msg: "twice"},
		{name: "where unknown column", path: "/data/bins.json?$where=" + q("owner = 'x'"), status: 400, field: "$where", msg: `no column "owner"`},
		{name: "where empty", path: "/data/bins.json?$where=", status: 400, field: "$where", msg: "empty"},
		{name: "where unclosed quote", path: "/data/bins.json?$where=" + q("name = 'abc"), status: 400, field: "$where", msg: "not closed"},
		{name: "where number on text", path: "/data/bins.json?$where=" + q("stream = 5"), status: 400, field: "$where", msg: "quote the value"},
		{name: "where text on number", path: "/data/bins.json?$where=" + q("capacity_l = 'lots'"), status: 400, field: "$where", msg: "not a number"},
		{name: "where bad time", path: "/data/collections.json?$where=" + q("time > 'yesterday'"), status: 400, field: "$where", msg: "not a time"},
		{name: "where bad date", path: "/data/daily_fill.json?$where=" + q("day = '2026-13-45'"), status: 400, field: "$where", msg: "not a date"},
		{name: "where missing operator", path: "/data/bins.json?$where=" + q("stream 'trash'"), status: 400, field: "$where", msg: "expected an operator"},
		{name: "where double equals", path: "/data/bins.json?$where=" + q("compacting == true"), status: 400, field: "$where", msg: "unknown operator '==' (use =)"},
		{name: "where trailing garbage", path: "/data/bins.json?$where=" + q("stream = 'trash' stream"), status: 400, field: "$where", msg: "expected and, or"},
		{name: "where unbalanced parentheses", path: "/data/bins.json?$where=" + q("(stream = 'trash'"), status: 400, field: "$where", msg: "expected )"},
		{name: "where unknown operator", path: "/data/bins.json?$where=" + q("stream ! 'trash'"), status: 400, field: "$where", msg: "unknown operator"},
		{name: "where function call", path: "/data/bins.json?$where=" + q("upper(stream) = 'TRASH'"), status: 400, field: "$where"},
		{name: "where between without and", path: "/data/bins.json?$where=" + q("lat between 1 or 2"), status: 400, field: "$where", msg: "expected and in between"},
		{name: "where in without values", path: "/data/bins.json?$where=" + q("id in ()"), status: 400, field: "$where", msg: "expected a value"},
		{name: "where too deep", path: "/data/bins.json?$where=" + q(strings.Repeat("(", 40)+"id = 'B-1'"+strings.Repeat(")", 40)), status: 400, field: "$where", msg: "nest deeper"},
		{name: "where too long", path: "/data/bins.json?$where=" + q("id = '"+strings.Repeat("x", 5000)+"'"), status: 400, field: "$where", msg: "longer than"},
		{name: "unknown dataset", path: "/data/users.json", status: 404},
		{name: "unknown format", path: "/data/bins.xml", status: 404},
		{name: "no geojson without locations", path: "/data/plans.geojson", status: 404},
		{name: "no such file", path: "/data/bins/secrets.json", status: 404},
	}
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		for _, sc := range scenarios {
			resp, body := f.get(t, sc.path)
			if resp.StatusCode != sc.status {
				t.Errorf("%s: %s: status %d, want %d: %s", sc.name, sc.path, resp.StatusCode, sc.status, body)
				continue
			}
			if sc.status != 200 {
				var e struct {
					Error struct{ Code, Field, Message string }
				}
				if err := json.Unmarshal(body, &e); err != nil {
					t.Errorf("%s: error body %s: %v", sc.name, body, err)
					continue
				}
				if e.Error.Field != sc.field || !strings.Contains(e.Error.Message, sc.msg) {
					t.Errorf("%s: error field %q message %q, want field %q containing %q", sc.name, e.Error.Field, e.Error.Message, sc.field, sc.msg)
				}
				continue
			}
			_, rs := rows(t, "json", body)
			if sc.ids == nil && !strings.Contains(sc.name, "offset past") {
				continue
			}
			var got []string
			for _, r := range rs {
				for _, k := range []string{"id", "day", "date"} {
					if v, ok := r[k].(string); ok {
						got = append(got, v)
						break
					}
				}
			}
			if !slices.Equal(got, sc.ids) {
				t.Errorf("%s: %s: rows %v, want %v", sc.name, sc.path, got, sc.ids)
			}
			if strings.Contains(sc.path, "$select=name") && len(rs) == 1 && len(rs[0]) != 2 {
				t.Errorf("%s: row %v, want only name and id", sc.name, rs[0])
			}
		}
	})
}

// TestInjectionAttempts sends SQL in every place a query takes text: values
// stay values (matching nothing), names are refused, and the tables are
// intact afterwards.
func TestInjectionAttempts(t *testing.T) {
	attempts := []struct {
		path   string
		status int
	}{
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'B-1' or 1=1"), 400},
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'x'; DROP TABLE bins; --'"), 400},
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'x''; DROP TABLE bins; --'"), 200},
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'x' union select password_hash from users"), 400},
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'x' -- comment"), 400},
		{"/data/bins.json?$where=" + url.QueryEscape("id = 'x' /* c */"), 400},
		{"/data/bins.json?$where=" + url.QueryEscape(`"id" = 'B-1'`), 400},
		{"/data/bins.json?$where=" + url.QueryEscape("(select 1) = 1"), 400},
		{"/data/bins.json?id=" + url.QueryEscape("B-1' OR '1'='1"), 200},
		{"/data/bins.json?capacity_l=" + url.QueryEscape("1 OR 1=1"), 400},
		{"/data/bins.json?" + url.QueryEscape("id' OR 1=1 --") + "=1", 400},
		{"/data/bins.json?$order=" + url.QueryEscape("id; DROP TABLE bins"), 400},
		{"/data/bins.json?$order=" + url.QueryEscape("(SELECT password_hash FROM users)"), 400},
		{"/data/bins.json?$select=" + url.QueryEscape("id, (SELECT password_hash FROM users) AS x"), 400},
		{"/data/bins.json?$select=" + url.QueryEscape(`id,"name"`), 400},
		{"/data/bins.json?$limit=" + url.QueryEscape("1; DROP TABLE bins"), 400},
		{"/data/bins.json?$offset=" + url.QueryEscape("0 UNION SELECT 1"), 400},
	}
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		for _, a := range attempts {
			resp, body := f.get(t, a.path)
			if resp.StatusCode != a.status {
				t.Errorf("%s: status %d, want %d: %s", a.path, resp.StatusCode, a.status, body)
				continue
			}
			if a.status == 200 {
				if _, rs := rows(t, "json", body); len(rs) != 0 {
					t.Errorf("%s: a quoted value matched %d rows; it must match none", a.path, len(rs))
				}
			}
		}
		bins, err := f.st.ListBins(context.Background(), civic.BinFilter{})
		if err != nil || len(bins) != 5 {
			t.Fatalf("after the attempts: %d bins, %v; want the 5 intact", len(bins), err)
		}
		if _, err := f.st.UserByName(context.Background(), "carol.admin"); err != nil {
			t.Fatalf("after the attempts: user: %v", err)
		}
	})
}

// TestConditionalRequests: ETag and Last-Modified; If-None-Match and
// If-Modified-Since get 304 while the data stands, 200 once it changes.
func TestConditionalRequests(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		for _, path := range []string{"/data/collections.csv", "/data/collections/rows.geojson?bin_id=B-1", "/data.json"} {
			resp, _ := f.get(t, path)
			tag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
			if resp.StatusCode != 200 || tag == "" || lm == "" {
				t.Fatalf("%s: %d ETag %q Last-Modified %q", path, resp.StatusCode, tag, lm)
			}
			if r2, b := f.get(t, path, "If-None-Match", tag); r2.StatusCode != http.StatusNotModified || len(b) != 0 {
				t.Errorf("%s If-None-Match: %d, %d bytes; want 304 and no body", path, r2.StatusCode, len(b))
			}
			if r2, _ := f.get(t, path, "If-None-Match", `W/"other", `+tag); r2.StatusCode != http.StatusNotModified {
				t.Errorf("%s If-None-Match list: %d, want 304", path, r2.StatusCode)
			}
			if r2, _ := f.get(t, path, "If-Modified-Since", lm); r2.StatusCode != http.StatusNotModified {
				t.Errorf("%s If-Modified-Since: %d, want 304", path, r2.StatusCode)
			}
			if r2, _ := f.get(t, path, "If-None-Match", `W/"stale"`, "If-Modified-Since", lm); r2.StatusCode != 200 {
				t.Errorf("%s stale If-None-Match wins over If-Modified-Since: %d, want 200", path, r2.StatusCode)
			}
			if r2, _ := f.get(t, path+map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")]+"$limit=1", "If-None-Match", tag); path != "/data.json" && r2.StatusCode != 200 {
				t.Errorf("%s with another query: %d, want 200 (another ETag)", path, r2.StatusCode)
			}
		}
		resp, _ := f.get(t, "/data/collections.csv")
		tag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		must(t, "new collection", f.st.RecordCollection(context.Background(), &civic.Collection{ID: "col-2", BinID: "B-2",
			Time: day0.Add(20 * time.Hour), Source: "api"}))
		r2, body := f.get(t, "/data/collections.csv", "If-None-Match", tag)
		if r2.StatusCode != 200 || r2.Header.Get("ETag") == tag || !bytes.Contains(body, []byte("col-2")) {
			t.Errorf("after a new collection: %d, ETag %q (was %q); want 200 with a new ETag and the row", r2.StatusCode, r2.Header.Get("ETag"), tag)
		}
		if r3, _ := f.get(t, "/data/collections.csv", "If-Modified-Since", lm); r3.StatusCode != 200 {
			t.Errorf("after a new collection, If-Modified-Since the old time: %d, want 200", r3.StatusCode)
		}
	})
}

// TestCatalogValidates checks /data.json against the Project Open Data
// v1.1 non-federal schemas, and that its links work.
func TestCatalogValidates(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// The schemas' date patterns are ECMA-262 regular expressions with
	// lookahead and back-references, which Go's regexp lacks.
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	for _, s := range []struct{ url, file string }{
		{"https://project-open-data.cio.gov/v1.1/schema/catalog.json", "testdata/pod-v1.1/catalog.json"},
		{"https://project-open-data.cio.gov/v1.1/schema/dataset-non-federal.json", "testdata/pod-v1.1/dataset-non-federal.json"},
	} {
		fh, err := os.Open(s.file)
		must(t, "schema", err)
		doc, err := jsonschema.UnmarshalJSON(fh)
		fh.Close()
		must(t, "schema "+s.file, err)
		must(t, "add schema", c.AddResource(s.url, doc))
	}
	schema, err := c.Compile("https://project-open-data.cio.gov/v1.1/schema/catalog.json")
	must(t, "compile catalog schema", err)

	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		resp, body := f.get(t, "/data.json")
		if resp.StatusCode != 200 {
			t.Fatalf("data.json: %d %s", resp.StatusCode, body)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		must(t, "parse data.json", err)
		if err := schema.Validate(inst); err != nil {
			t.Fatalf("data.json does not validate: %v\n%s", err, body)
		}
		// An invalid catalogue must fail, or the check proves nothing.
		var bad map[string]any
		must(t, "decode", json.Unmarshal(body, &bad))
		delete(bad["dataset"].([]any)[0].(map[string]any), "publisher")
		b, _ := json.Marshal(bad)
		badInst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if schema.Validate(badInst) == nil {
			t.Fatal("a dataset without a publisher validates: the schema check is not working")
		}

		var cat struct {
			Dataset []struct {
				Identifier   string
				Publisher    struct{ Name string }
				ContactPoint struct{ FN, HasEmail string }
				License      string
				Modified     string
				DescribedBy  string
				Distribution []struct{ DownloadURL, AccessURL, MediaType string }
			}
		}
		must(t, "decode", json.Unmarshal(body, &cat))
		if len(cat.Dataset) != len(f.portal.Datasets()) {
			t.Fatalf("data.json lists %d datasets, want %d", len(cat.Dataset), len(f.portal.Datasets()))
		}
		for _, d := range cat.Dataset {
			if d.Publisher.Name != "City of Testville" || d.ContactPoint.HasEmail != "mailto:opendata@testville.example" ||
				d.License != opendata.DefaultLicense || d.Modified == "" {
				t.Errorf("dataset %s: publisher %q contact %q licence %q modified %q", d.Identifier, d.Publisher.Name,
					d.ContactPoint.HasEmail, d.License, d.Modified)
			}
			for _, link := range append([]string{d.DescribedBy}, func() (l []string) {
				for _, x := range d.Distribution {
					l = append(l, x.DownloadURL+x.AccessURL)
				}
				return l
			}()...) {
				path := strings.TrimPrefix(link, f.srv.URL)
				if path == link {
					t.Errorf("link %s is not on the server %s", link, f.srv.URL)
					continue
				}
				if r, _ := f.get(t, path); r.StatusCode != 200 {
					t.Errorf("link %s: %d", link, r.StatusCode)
				}
			}
		}
	})
}

// TestPublishedDataHoldsNoSecrets publishes every dataset in every format
// (and the catalogue and the NGSI-LD entities) and looks for the personal
// data and secrets the fixture stored: reporter names, e-mail addresses
// and phone numbers in notes, user accounts, device secrets, API keys.
func TestPublishedDataHoldsNoSecrets(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{})
		paths := []string{"/data.json", "/ngsi-ld/v1/entities?type=WasteContainer&limit=1000", "/ngsi-ld/v1/entities?type=WasteContainer&options=keyValues"}
		for _, d := range f.portal.Datasets() {
			paths = append(paths, "/data/"+d.Name+"/dictionary.json")
			for _, format := range d.Formats() {
				paths = append(paths, "/data/"+d.Name+"/rows."+format, "/data/"+d.Name+"."+format+"?$limit=50000")
			}
		}
		total := 0
		for _, p := range paths {
			resp, body := f.get(t, p)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
			}
			total += len(body)
			for _, s := range secrets {
				if bytes.Contains(bytes.ToLower(body), bytes.ToLower([]byte(s))) {
					t.Errorf("%s publishes %q", p, s)
				}
			}
		}
		// The fixture's public data did come out (the check looked at
		// something): bins, the collection the crew reported, the alert.
		resp, body := f.get(t, "/data/collections/rows.csv")
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("B-1")) || total < 5000 {
			t.Fatalf("published %d bytes; collections: %s", total, body)
		}
	})
}

// TestLocationPrecision: a dataset's locations rounded by configuration
// are rounded before filters apply, so $where cannot narrow them down.
func TestLocationPrecision(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, opendata.Config{LocationDecimals: map[string]int{"bins": 3}})
		resp, body := f.get(t, "/data/bins.json?id=B-1")
		_, rs := rows(t, "json", body)
		if resp.StatusCode != 200 || len(rs) != 1 || rs[0]["lat"] != 52.512 || rs[0]["lon"] != 13.412 {
			t.Fatalf("B-1 at 3 decimals: %s", body)
		}
		// The true latitude is 52.5123456: a filter around it finds nothing.
		_, body = f.get(t, "/data/bins.json?$where="+url.QueryEscape("lat between 52.5123 and 52.5124"))
		if _, rs := rows(t, "json", body); len(rs) != 0 {
			t.Errorf("a filter on the unrounded latitude found %v", rs)
		}
		_, body = f.get(t, "/data/bins.geojson?id=B-1")
		if !bytes.Contains(body, []byte("[13.412,52.512]")) {
			t.Errorf("GeoJSON of B-1 at 3 decimals: %s", body)
		}
		if _, err := opendata.New(opendata.Config{LocationDecimals: map[string]int{"plans": 3}}, opendata.Deps{Data: f.st}); err == nil {
			t.Error("precision for a dataset without locations was accepted")
		}
	})
}

// ecmaRegexp is a regexp2 (ECMAScript) expression as jsonschema wants it.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (e ecmaRegexp) MatchString(s string) bool {
	ok, err := e.re.MatchString(s)
	return ok && err == nil
}

func (e ecmaRegexp) String() string { return e.re.String() }
