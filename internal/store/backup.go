package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/civic-city/civic/internal/civic"
)

// BackupSQLite writes a consistent copy of the SQLite database at dbPath
// to dest, while other processes (civic serve) keep reading and writing
// it. VACUUM INTO copies the database as one read transaction sees it: in
// WAL mode writers carry on meanwhile, and what they commit after the
// copy began is not in it. dest must not exist; it is written to a
// temporary file next to it first, so that a failed backup leaves
// nothing that looks like one. The copy is compacted and holds no WAL.
func BackupSQLite(ctx context.Context, dbPath, dest string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return civic.Wrap(civic.Invalid, err, fmt.Sprintf("no database at %s", dbPath))
	}
	if _, err := os.Stat(dest); err == nil {
		return civic.Errorf(civic.Conflict, "%s already exists: choose a new file for the backup", dest)
	}
	tmp := dest + ".partial"
	_ = os.Remove(tmp)
	db, err := sql.Open("sqlite", dbPath+"?"+sqlitePragmas)
	if err != nil {
		return civic.Wrap(civic.Internal, err, "internal error")
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		_ = os.Remove(tmp)
		return civic.Wrap(civic.Unavailable, fmt.Errorf("store: backup: %w", err), "the backup failed")
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		_ = os.Remove(tmp)
		return civic.Wrap(civic.Unavailable, err, "the backup could not be put in place")
	}
	return syncDir(filepath.Dir(dest))
}

// CheckSQLiteBackup opens the SQLite file at path read-only and checks
// that it is a civic database this binary can run: the integrity check
// passes and its schema is not newer than this binary knows. It returns
// the schema version and the number of readings.
func CheckSQLiteBackup(ctx context.Context, path string) (version int64, readings int64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, civic.Wrap(civic.Invalid, err, fmt.Sprintf("no backup at %s", path))
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, 0, civic.Wrap(civic.Internal, err, "internal error")
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return 0, 0, civic.Errorf(civic.Invalid, "%s is not an intact SQLite database (%v%s)", path, err, ok)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil {
		return 0, 0, civic.Errorf(civic.Invalid, "%s is not a civic database: %v", path, err)
	}
	if known := SchemaVersion(EngineSQLite); version > known {
		return 0, 0, civic.Errorf(civic.Invalid, "%s has schema version %d but this civic knows only up to %d: restore it with a newer civic", path, version, known)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM readings`).Scan(&readings); err != nil {
		return 0, 0, civic.Errorf(civic.Invalid, "%s is not a civic database: %v", path, err)
	}
	return version, readings, nil
}

// RestoreSQLite replaces the SQLite database at dbPath with the backup at
// from, after CheckSQLiteBackup: the backup is copied next to the
// database, synced, and renamed over it; the old database's WAL and
// shared-memory files go. No process may have the database open (stop
// civic serve first); without force, an existing database is not
// replaced.
func RestoreSQLite(ctx context.Context, from, dbPath string, force bool) error {
	if _, _, err := CheckSQLiteBackup(ctx, from); err != nil {
		return err
	}
	if _, err := os.Stat(dbPath); err == nil && !force {
		return civic.Errorf(civic.Conflict, "%s already holds a database: stop civic serve and restore with --force to replace it", dbPath)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return civic.Wrap(civic.Unavailable, err, "cannot create the data folder")
	}
	tmp := dbPath + ".restore"
	if err := copyFile(from, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(tmp)
			return civic.Wrap(civic.Unavailable, err, "cannot remove the old database's "+strings.TrimPrefix(suffix, "-")+" file")
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		_ = os.Remove(tmp)
		return civic.Wrap(civic.Unavailable, err, "cannot put the restored database in place")
	}
	return syncDir(filepath.Dir(dbPath))
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return civic.Wrap(civic.Invalid, err, "cannot read the backup")
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return civic.Wrap(civic.Unavailable, err, "cannot write the database")
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return civic.Wrap(civic.Unavailable, err, "cannot write the database")
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return civic.Wrap(civic.Unavailable, err, "cannot write the database")
	}
	return dst.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return civic.Wrap(civic.Unavailable, err, "cannot sync the backup")
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return civic.Wrap(civic.Unavailable, err, "cannot protect the backup")
	}
	if err := f.Sync(); err != nil {
		return civic.Wrap(civic.Unavailable, err, "cannot sync the backup")
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil // best effort: some systems cannot open directories
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// MigrationState is one migration of the database's engine.
type MigrationState struct {
	Version int64
	File    string
	Applied bool
}

// MigrationStatus lists the migrations this binary knows and whether
// each is applied to the database at dsn, without changing anything.
func MigrationStatus(ctx context.Context, dsn string, opts Options) (current int64, ms []MigrationState, err error) {
	opts.skipMigrate = true
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		return 0, nil, err
	}
	defer s.Close()
	p, err := s.migrations(ctx)
	if err != nil {
		return 0, nil, err
	}
	if current, err = p.GetDBVersion(ctx); err != nil {
		return 0, nil, civic.Wrap(civic.Unavailable, fmt.Errorf("store: read schema version: %w", err), "cannot read the schema version")
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, nil, civic.Wrap(civic.Unavailable, fmt.Errorf("store: migration status: %w", err), "cannot read the migrations")
	}
	for _, m := range st {
		ms = append(ms, MigrationState{Version: m.Source.Version, File: filepath.Base(m.Source.Path), Applied: m.State == goose.StateApplied})
	}
	return current, ms, nil
}
