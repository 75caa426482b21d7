package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civic-city/civic/internal/store"
)

const backupUsage = `civic backup --out FILE [--data DIR | --db sqlite:PATH]
    Writes a consistent copy of the SQLite database to FILE (which must not exist)
    while civic serve keeps running: the copy holds everything committed when it
    began. On PostgreSQL use pg_dump (see docs/deploy.md).`

const restoreUsage = `civic restore --from FILE [--data DIR | --db sqlite:PATH] [--force]
    Checks the backup FILE (integrity, a schema this civic knows) and puts it in
    place of the SQLite database. It refuses while civic serve (or another civic
    command) has the database open: stop it first. --force replaces an existing
    database. On PostgreSQL use pg_restore or psql (see docs/deploy.md).`

const migrateUsage = `civic migrate [up|status] [--data DIR | --db URL]
    up (the default) applies the schema migrations this civic knows (civic serve
    does so at start too); status lists them and whether each is applied.`

func runBackup(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("backup")
	storeFlags(fs, &c, e.getenv)
	out := fs.String("out", "", "the backup file to write")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usageErrorf("--out FILE is required")
	}
	path, err := sqlitePath(&c, "pg_dump")
	if err != nil {
		return err
	}
	start := time.Now()
	if err := store.BackupSQLite(ctx, path, *out); err != nil {
		return describe(err)
	}
	version, readings, err := store.CheckSQLiteBackup(ctx, *out)
	if err != nil {
		return describe(err)
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(e.stdout, "backup: %s, schema %d, %d readings, %.1f MiB in %s\n",
		*out, version, readings, float64(st.Size())/(1<<20), time.Since(start).Round(time.Millisecond))
	return nil
}

func runRestore(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("restore")
	storeFlags(fs, &c, e.getenv)
	from := fs.String("from", "", "the backup file to restore")
	force := fs.Bool("force", false, "replace an existing database")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *from == "" {
		return usageErrorf("--from FILE is required")
	}
	path, err := sqlitePath(&c, "pg_restore")
	if err != nil {
		return err
	}
	// Replacing the file under a running server would lose what it
	// writes next and could corrupt the database; hold the lock every
	// store user shares, exclusively, until the new file is in place.
	lock, err := lockData(c.DB, true)
	if err != nil {
		return err
	}
	defer lock.release()
	if err := store.RestoreSQLite(ctx, *from, path, *force); err != nil {
		return describe(err)
	}
	version, readings, err := store.CheckSQLiteBackup(ctx, path)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(e.stdout, "restored %s to %s: schema %d, %d readings\n", *from, path, version, readings)
	return nil
}

// sqlitePath is the SQLite database file of c; PostgreSQL has tools of
// its own (tool).
func sqlitePath(c *config, tool string) (string, error) {
	if err := c.finish(); err != nil {
		return "", err
	}
	if !strings.HasPrefix(c.DB, "sqlite:") {
		return "", usageErrorf("civic backup and restore work on SQLite; for PostgreSQL use %s (docs/deploy.md)", tool)
	}
	return strings.TrimPrefix(c.DB, "sqlite:"), nil
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("migrate")
	storeFlags(fs, &c, e.getenv)
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.finish(); err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	switch action {
	case "", "up":
		before, _, err := store.MigrationStatus(ctx, c.DB, store.Options{Logger: log})
		if err != nil {
			return describe(err)
		}
		lock, err := lockData(c.DB, false) // not during a restore
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, c.DB, store.Options{Logger: log})
		if err != nil {
			lock.release()
			return describe(err)
		}
		st.Close()
		lock.release()
		after, _, err := store.MigrationStatus(ctx, c.DB, store.Options{Logger: log})
		if err != nil {
			return describe(err)
		}
		if after == before {
			fmt.Fprintf(e.stdout, "schema %d: up to date\n", after)
		} else {
			fmt.Fprintf(e.stdout, "schema %d -> %d\n", before, after)
		}
		return nil
	case "status":
		current, ms, err := store.MigrationStatus(ctx, c.DB, store.Options{Logger: log})
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tFILE\tSTATE")
		pending := 0
		for _, m := range ms {
			state := "applied"
			if !m.Applied {
				state, pending = "pending", pending+1
			}
			fmt.Fprintf(w, "%05d\t%s\t%s\n", m.Version, m.File, state)
		}
		w.Flush()
		fmt.Fprintf(e.stdout, "schema %d, %d pending\n", current, pending)
		return nil
	}
	return usageErrorf("unknown migrate action %q: up or status", action)
}
