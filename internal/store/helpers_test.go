package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// The PostgreSQL half of the suite needs a server; it never skips. Each
// package run creates one database and each test a schema in it.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var pg struct {
	once  sync.Once
	admin *sql.DB
	base  string // URL of the run's database
	name  string
	err   error
	mu    sync.Mutex
	n     int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pg.admin != nil {
		if _, err := pg.admin.Exec(`DROP DATABASE IF EXISTS ` + pg.name + ` WITH (FORCE)`); err != nil {
			fmt.Fprintln(os.Stderr, "drop test database:", err)
		}
		pg.admin.Close()
	}
	os.Exit(code)
}

func postgresURL() string {
	if u := os.Getenv("CIVIC_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultPostgres
}

func setupPostgres() {
	adminURL := postgresURL()
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		pg.err = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pg.err = err
		return
	}
	var b [4]byte
	rand.Read(b[:])
	pg.name = fmt.Sprintf("civic_store_test_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+pg.name); err != nil {
		db.Close()
		pg.err = err
		return
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		pg.err = err
		return
	}
	u.Path = "/" + pg.name
	pg.admin, pg.base = db, u.String()
}

// postgresDSN returns the URL of a fresh, empty schema for t.
func postgresDSN(t testing.TB) string {
	t.Helper()
	pg.once.Do(setupPostgres)
	if pg.err != nil {
		t.Fatalf("PostgreSQL is required for the store tests and did not answer at %s (set CIVIC_TEST_POSTGRES): %v",
			postgresURL(), pg.err)
	}
	pg.mu.Lock()
	pg.n++
	schema := fmt.Sprintf("t%d", pg.n)
	pg.mu.Unlock()
	db, err := sql.Open("pgx", pg.base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, _ := url.Parse(pg.base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// engines are the engines every conformance test runs on.
var engines = []string{store.EngineSQLite, store.EnginePostgres}

// newDSN returns the DSN of a fresh database of engine for t.
func newDSN(t testing.TB, engine string) string {
	t.Helper()
	if engine == store.EnginePostgres {
		return postgresDSN(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "civic.db")
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openStore opens dsn with clk (nil: the real clock) and closes it when t
// ends.
func openStore(t testing.TB, dsn string, clk *clock) *store.Store {
	t.Helper()
	opts := store.Options{Logger: slog.New(slog.DiscardHandler)}
	if clk != nil {
		opts.Now = clk.Now
	}
	s, err := store.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachEngine runs fn on a fresh store of every engine, the engines in
// parallel (each has its own database and clock).
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store, clk *clock)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := openStore(t, newDSN(t, engine), clk)
			if got := s.Engine(); got != engine {
				t.Fatalf("Engine() = %q, want %q", got, engine)
			}
			fn(t, s, clk)
		})
	}
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
