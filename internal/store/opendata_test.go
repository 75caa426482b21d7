package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestStreamData runs dataset queries on both engines: every value type
// comes back typed, filters bind their values, rounding applies before
// the filter, order and paging hold, the callback's error stops the
// query, and a query naming what the dataset does not declare fails.
func TestStreamData(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for _, b := range []*civic.Bin{testBin("B-1", 52.51234, 13.4), testBin("B-2", 52.52, 13.41), testBin("B-3", 52.53, 13.42)} {
			must(t, "bin", s.CreateBin(ctx, b))
		}
		b2 := testBin("B-2", 52.52, 13.41)
		b2.Compacting, b2.CapacityL = true, 1100
		must(t, "update", s.UpdateBin(ctx, b2))
		src := civic.DataSource{
			SQL:     `SELECT id AS id, lat AS lat, capacity_l AS capacity_l, compacting AS compacting, created_at AS created, 7 AS n FROM bins`,
			Version: []string{`SELECT MAX(updated_at), COUNT(*) FROM bins`},
		}
		cols := []civic.DataColumn{{Name: "id", Type: civic.DataText}, {Name: "lat", Type: civic.DataNumber, Decimals: 2},
			{Name: "capacity_l", Type: civic.DataNumber}, {Name: "compacting", Type: civic.DataBoolean},
			{Name: "created", Type: civic.DataTime}, {Name: "n", Type: civic.DataInteger}}
		run := func(q civic.DataQuery) ([][]any, error) {
			q.Source, q.Columns = src, cols
			if q.Select == nil {
				q.Select = []string{"id", "lat", "capacity_l", "compacting", "created", "n"}
			}
			var out [][]any
			err := s.StreamData(ctx, q, func(r []any) error {
				out = append(out, append([]any(nil), r...))
				return nil
			})
			return out, err
		}
		rows, err := run(civic.DataQuery{Order: []civic.DataOrder{{Column: "id", Desc: true}}})
		must(t, "all", err)
		if len(rows) != 3 || rows[0][0] != "B-3" || rows[2][1] != 52.51 || rows[1][3] != true || rows[0][3] != false || rows[0][5] != int64(7) {
			t.Fatalf("rows %v", rows)
		}
		if ct, ok := rows[0][4].(time.Time); !ok || !ct.Equal(clk.Now().Truncate(time.Millisecond)) {
			t.Errorf("created %v (%T), want the store's clock", rows[0][4], rows[0][4])
		}
		rows, err = run(civic.DataQuery{Select: []string{"id"}, Order: []civic.DataOrder{{Column: "id"}}, Where: civic.DataOr{Terms: []civic.DataExpr{
			civic.DataAnd{Terms: []civic.DataExpr{civic.DataCompare{Column: "compacting", Op: "=", Value: true}, civic.DataBetween{Column: "capacity_l", Low: 1000.0, High: int64(2000)}}},
			civic.DataCompare{Column: "lat", Op: "=", Value: 52.51},
			civic.DataIn{Column: "id", Values: []any{"x'); DROP TABLE bins; --"}},
			civic.DataCompare{Column: "created", Op: "<", Value: clk.Now().Add(-time.Hour)},
		}}})
		must(t, "filtered", err)
		if len(rows) != 2 || rows[0][0] != "B-1" || rows[1][0] != "B-2" || len(rows[0]) != 1 {
			t.Errorf("filtered rows %v, want B-1 (rounded lat) and B-2", rows)
		}
		rows, err = run(civic.DataQuery{Select: []string{"id"}, Order: []civic.DataOrder{{Column: "id"}}, Limit: 1, Offset: 1})
		if err != nil || len(rows) != 1 || rows[0][0] != "B-2" {
			t.Errorf("limit 1 offset 1: %v %v", rows, err)
		}
		stop := errors.New("enough")
		n := 0
		err = s.StreamData(ctx, civic.DataQuery{Source: src, Columns: cols, Select: []string{"id"}}, func([]any) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("callback error: %v after %d rows", err, n)
		}
		for _, q := range []civic.DataQuery{
			{Select: []string{"secret"}},
			{Where: civic.DataCompare{Column: "secret", Op: "=", Value: "x"}},
			{Where: civic.DataCompare{Column: "id", Op: "; DROP", Value: "x"}},
			{Where: civic.DataCompare{Column: "capacity_l", Op: "=", Value: "big"}},
			{Where: civic.DataIn{Column: "id"}},
			{Order: []civic.DataOrder{{Column: "secret"}}},
		} {
			if _, err := run(q); civic.KindOf(err) != civic.Invalid {
				t.Errorf("query %+v: %v, want Invalid", q, err)
			}
		}
		bad := []civic.DataColumn{{Name: `id" FROM users --`, Type: civic.DataText}}
		if err := s.StreamData(ctx, civic.DataQuery{Source: src, Columns: bad, Select: []string{`id" FROM users --`}}, func([]any) error { return nil }); civic.KindOf(err) != civic.Internal {
			t.Errorf("a declared column that is not an identifier: %v, want Internal", err)
		}
		m, tok, err := s.DataVersion(ctx, src)
		must(t, "version", err)
		clk.Advance(time.Minute)
		must(t, "bin", s.CreateBin(ctx, testBin("B-4", 52.54, 13.43)))
		m2, tok2, err := s.DataVersion(ctx, src)
		must(t, "version", err)
		if !m2.After(m) || tok2 == tok {
			t.Errorf("version after a change: %v %q, before %v %q", m2, tok2, m, tok)
		}
	})
}
