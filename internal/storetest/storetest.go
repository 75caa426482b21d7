// Package storetest gives tests a real store on either engine and a
// settable clock, so that the packages that test against the store share
// one way of making a scratch database instead of each keeping a copy.
//
// Only _test files import it (TestLayout checks). PostgreSQL is required,
// never skipped: it is found at $CIVIC_TEST_POSTGRES, by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, and every
// PostgreSQL store gets a schema of its own in that database, dropped when
// the test ends.
package storetest

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/store"
)

// DefaultPostgres is the server used when CIVIC_TEST_POSTGRES is not set.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// All are the engines a conformance test runs on.
var All = []string{store.EngineSQLite, store.EnginePostgres}

// PostgresURL is the URL of the test PostgreSQL server.
func PostgresURL() string {
	if u := os.Getenv("CIVIC_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgres
}

var pg struct {
	once   sync.Once
	admin  *sql.DB
	prefix string // of this process's schemas
	err    error
	n      atomic.Int64
}

func setupPostgres() {
	db, err := sql.Open("pgx", PostgresURL())
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
	_, _ = rand.Read(b[:])
	pg.admin, pg.prefix = db, fmt.Sprintf("civic_test_%d_%s_", os.Getpid(), hex.EncodeToString(b[:]))
}

// PostgresDSN returns the URL of a fresh, empty schema on the test
// PostgreSQL server; the schema is dropped when t ends (after the stores
// opened on it later are closed). It fails t when PostgreSQL does not
// answer.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pg.once.Do(setupPostgres)
	if pg.err != nil {
		t.Fatalf("PostgreSQL is required for this test and did not answer at %s (set CIVIC_TEST_POSTGRES): %v",
			PostgresURL(), pg.err)
	}
	schema := fmt.Sprintf("%s%d", pg.prefix, pg.n.Add(1))
	if _, err := pg.admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pg.admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop scratch schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DSN returns the DSN of a fresh, empty database of engine for t: a
// SQLite file in t's temporary folder, or a PostgreSQL schema
// (PostgresDSN).
func DSN(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case store.EnginePostgres:
		return PostgresDSN(t)
	case store.EngineSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "civic.db")
	}
	t.Fatalf("storetest: unknown engine %q", engine)
	return ""
}

// OpenDSN opens the store at dsn and closes it when t ends. A nil
// opts.Logger discards the store's logs.
func OpenDSN(t testing.TB, dsn string, opts store.Options) *store.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := store.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Open opens a fresh store of engine, closed when t ends.
func Open(t testing.TB, engine string, opts store.Options) *store.Store {
	t.Helper()
	return OpenDSN(t, DSN(t, engine), opts)
}

// Engines runs fn as a subtest named after each engine of All, in
// parallel: each gets its own database, which fn opens (Open) with the
// options it needs.
func Engines(t *testing.T, fn func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range All {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// Clock is a settable clock for the Now options of the store, the ingest
// writer, the alert engine and the rest. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
