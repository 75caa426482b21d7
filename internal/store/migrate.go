package store

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/civic-city/civic/internal/civic"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrate applies pending migrations, each in its own transaction, after
// checking that the database is not ahead of this binary. On PostgreSQL a
// session advisory lock keeps several nodes starting at once from migrating
// concurrently.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.migrations(ctx)
	if err != nil {
		return err
	}
	sources := p.ListSources()
	known := sources[len(sources)-1].Version
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return civic.Wrap(civic.Unavailable, fmt.Errorf("store: read schema version: %w", err), "cannot read the schema version")
	}
	if current > known {
		return civic.Errorf(civic.Unavailable,
			"the database schema is version %d but this civic knows only up to %d: upgrade civic", current, known)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return civic.Wrap(civic.Internal, fmt.Errorf("store: migrate: %w", err), "database migration failed")
	}
	for _, r := range results {
		s.log.Info("store: migrated", "engine", s.engine, "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	if len(results) > 0 {
		s.forgetSchema()
	}
	return nil
}

// forgetSchema drops the SQLite hot path's statements and what it counted
// in the tables (readings_recent's rows, readings_main's newest time),
// after a migration changed them: the next write prepares and counts again.
func (s *Store) forgetSchema() {
	if s.sqliteWr != nil {
		s.sqliteWr.close()
	}
}

// migrations returns the goose provider of the store's engine.
func (s *Store) migrations(ctx context.Context) (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var opts []goose.ProviderOption
	if s.pg() {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		// The lock is the schema's: nodes sharing one schema migrate one
		// at a time, while databases kept in other schemas of the same
		// PostgreSQL database (several cities, or the tests' scratch
		// schemas) do not wait for each other.
		var schema string
		if err := s.wdb.QueryRowContext(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
			return nil, civic.Wrap(civic.Unavailable, fmt.Errorf("store: read the current schema: %w", err), "cannot reach the database")
		}
		h := fnv.New64a()
		h.Write([]byte("civic migrations " + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, civic.Wrap(civic.Internal, err, "internal error")
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, civic.Wrap(civic.Internal, err, "internal error")
	}
	p, err := goose.NewProvider(dialect, s.wdb, fsys, opts...)
	if err != nil {
		return nil, civic.Wrap(civic.Internal, fmt.Errorf("store: migrations: %w", err), "internal error")
	}
	return p, nil
}

// SchemaVersion returns the newest migration version this binary knows for
// engine (EngineSQLite or EnginePostgres).
func SchemaVersion(engine string) int64 {
	dir := "migrations/sqlite"
	if engine == EnginePostgres {
		dir = "migrations/postgres"
	}
	ents, _ := fs.ReadDir(migrations, dir)
	var v int64
	for _, e := range ents {
		var n int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &n); err == nil && n > v {
			v = n
		}
	}
	return v
}
