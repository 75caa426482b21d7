package store_test

import (
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// The PostgreSQL half of the suite needs a server; it never skips. Each
// test gets a schema of its own (package storetest).

// postgresDSN returns the URL of a fresh, empty schema for t.
func postgresDSN(t testing.TB) string {
	t.Helper()
	return storetest.PostgresDSN(t)
}

// engines are the engines every conformance test runs on.
var engines = storetest.All

// newDSN returns the DSN of a fresh database of engine for t.
func newDSN(t testing.TB, engine string) string {
	t.Helper()
	return storetest.DSN(t, engine)
}

// clock is a settable clock for Options.Now.
type clock = storetest.Clock

func newClock() *clock { return storetest.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)) }

// openStore opens dsn with clk (nil: the real clock) and closes it when t
// ends.
func openStore(t testing.TB, dsn string, clk *clock) *store.Store {
	t.Helper()
	var opts store.Options
	if clk != nil {
		opts.Now = clk.Now
	}
	return storetest.OpenDSN(t, dsn, opts)
}

// forEachEngine runs fn on a fresh store of every engine, the engines in
// parallel (each has its own database and clock).
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store, clk *clock)) {
	t.Helper()
	storetest.Engines(t, func(t *testing.T, engine string) {
		clk := newClock()
		s := openStore(t, newDSN(t, engine), clk)
		if got := s.Engine(); got != engine {
			t.Fatalf("Engine() = %q, want %q", got, engine)
		}
		fn(t, s, clk)
	})
}

// wantKind fails t unless err has kind want (and field, when given).
func wantKind(t *testing.T, what string, err error, want civic.Kind, field ...string) {
	t.Helper()
	if got := civic.KindOf(err); got != want {
		t.Fatalf("%s: error kind = %q (%v), want %q", what, got, err, want)
	}
	if len(field) > 0 {
		if got := civic.FieldOf(err); got != field[0] {
			t.Fatalf("%s: error field = %q (%v), want %q", what, got, err, field[0])
		}
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func f64(v float64) *float64 { return &v }
func boolp(v bool) *bool     { return &v }
func intp(v int) *int        { return &v }

// square is a zone boundary: the box [lon0, lon1] × [lat0, lat1].
func square(lon0, lat0, lon1, lat1 float64) civic.MultiPolygon {
	return civic.MultiPolygon{civic.Polygon{civic.Ring{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}}
}

func testBin(id string, lat, lon float64) *civic.Bin {
	return &civic.Bin{ID: id, Name: "Bin " + id, Lat: lat, Lon: lon, CapacityL: 240}
}
