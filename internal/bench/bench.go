// Package bench holds the benchmark harnesses behind `civic bench ...`:
// the load generators, the raw limits they compare with and the checks
// that every acknowledged reading was stored once. Each harness is a
// function taking a typed options struct, with writers for its results
// and its progress; cmd/civic parses the flags, validates them and calls
// it. The last line each harness writes to its output is the figure the
// README quotes.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the scratch databases

	"github.com/civic-city/civic/internal/store"
)

// An OptionError reports options a harness cannot run with that only
// show once it runs (a database URL that does not parse, a data folder
// that already holds a database). The caller should correct its command
// line; cmd/civic prints its usage text.
type OptionError struct{ Msg string }

func (e *OptionError) Error() string { return e.Msg }

// deviceID and binID name the i-th device of the ingest and MQTT
// benchmarks and its bin.
func deviceID(i int) string { return fmt.Sprintf("BS-%05d", i) }
func binID(i int) string    { return fmt.Sprintf("BB-%05d", i) }

// openStore opens a fresh store: SQLite in a temporary folder, or a scratch
// database on the PostgreSQL server of dbURL. cleanup removes it.
func openStore(ctx context.Context, dbURL string) (st *store.Store, cleanup func(), err error) {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "civic-bench-")
		if err != nil {
			return nil, nil, err
		}
		st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		return st, func() { st.Close(); os.RemoveAll(dir) }, nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, nil, &OptionError{fmt.Sprintf("--db: %v", err)}
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("civic_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("creating scratch database: %w", err)
	}
	u.Path = "/" + name
	st, err = store.Open(ctx, u.String(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	if err != nil {
		drop()
		return nil, nil, err
	}
	return st, func() { st.Close(); drop() }, nil
}
