// Package store is civic's one SQL store: it implements civic.Store over
// database/sql for SQLite (modernc.org/sqlite, pure Go, the embedded default)
// and PostgreSQL (github.com/jackc/pgx/v5, the scale-out option).
//
// Both engines share one SQL dialect ($N placeholders, ON CONFLICT,
// RETURNING); the differences are isolated: the readings hot path (multi-row
// prepared inserts on SQLite, COPY into a staging table on PostgreSQL),
// time-series partitioning (PostgreSQL only) and column types. Times are
// stored in UTC with millisecond precision: reading times as INTEGER Unix
// milliseconds and other times as fixed-width RFC 3339 text on SQLite,
// timestamptz on PostgreSQL.
//
// The schema is migrated with goose at Open from the migrations embedded in
// the binary; Open refuses a database whose schema is newer than this binary
// knows.
//
// Every method returns *civic.Error values: Invalid (naming the field) for
// input that does not validate or references a missing row, NotFound,
// Conflict for duplicates and rows still in use, Unavailable when the
// database is busy or the context ends, and Internal (wrapping the driver
// error with %w) for anything else.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine names returned by (*Store).Engine.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now is the clock used for CreatedAt, UpdatedAt, received_at and
	// session expiry; time.Now when nil.
	Now func() time.Time
	// Logger receives migration and maintenance messages; slog.Default()
	// when nil.
	Logger *slog.Logger
	// ReadConns caps the SQLite read pool (default 4). SQLite writes always
	// go through a single connection.
	ReadConns int

	skipMigrate bool // MigrationStatus: look, do not change
}

// Store implements civic.Store. It is safe for concurrent use.
type Store struct {
	engine string
	// rdb serves reads; wdb serves writes. On PostgreSQL and on in-memory
	// SQLite they are the same pool. On file SQLite wdb holds a single
	// connection, because SQLite admits one writer at a time and a single
	// Go-side queue is cheaper than SQLITE_BUSY retries.
	rdb, wdb *sql.DB
	now      func() time.Time
	log      *slog.Logger
	pgParts  *partitionCache              // PostgreSQL: months known to have a partition
	sqliteWr *sqliteWriter                // SQLite: readings hot path state
	binDevs  binDeviceCache               // (bin, device) pairs known to be in bin_devices
	channel  atomic.Pointer[string]       // PostgreSQL: the live events channel, once known
	onChange atomic.Pointer[func(Forget)] // see OnChange
	dsn      string                       // PostgreSQL: for sessions outside the pool (lock.go, events.go)
	locks    lockTable                    // singleton locks held through this store (lock.go)
	health   healthSnapshot               // the last whole-fleet health (RecentDeviceHealth)

	walDirty       atomic.Bool // SQLite: written since the last background checkpoint
	stopCheckpoint func()      // SQLite file databases: stops the checkpointer
	closeOnce      sync.Once
}

var _ civic.Store = (*Store)(nil)

// SQLitePath is how Open reads dsn: the SQLite database's file (or
// ":memory:") and true, or false for a PostgreSQL URL (postgres:// or
// postgresql://). A "sqlite:" prefix is optional.
func SQLitePath(dsn string) (path string, ok bool) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite:"), true
}

// Open connects to the database named by dsn, applies pending migrations
// and returns the store. dsn is "sqlite:PATH", a bare PATH, "sqlite::memory:"
// (a private in-memory database, for tests) or a "postgres://" or
// "postgresql://" URL. Open fails with Invalid for a malformed DSN, with
// Unavailable when the database does not answer or its schema is newer than
// this binary knows, and with Internal when a migration fails.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	var err error
	if path, ok := SQLitePath(dsn); ok {
		s.engine = EngineSQLite
		err = s.openSQLite(path, opts.ReadConns)
	} else {
		s.engine = EnginePostgres
		err = s.openPostgres(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		s.Close()
		return nil, civic.Wrap(civic.Unavailable, fmt.Errorf("store: connect %s: %w", s.engine, err), "database unavailable")
	}
	if opts.skipMigrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if !s.pg() {
		if err := s.repairStates(ctx); err != nil {
			s.Close()
			return nil, civic.Wrap(civic.Internal, fmt.Errorf("store: live states: %w", err), "internal error")
		}
	}
	return s, nil
}

func (s *Store) openPostgres(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return civic.Wrap(civic.Invalid, err, "bad PostgreSQL URL")
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.rdb, s.wdb = db, db
	s.dsn = dsn
	s.pgParts = newPartitionCache()
	return nil
}

// sqlitePragmas are applied to every SQLite connection. WAL with
// synchronous=NORMAL keeps every committed transaction across a crash of the
// process (only an OS crash or power loss may lose the last commits).
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)"

// sqliteWriterPragmas add to sqlitePragmas for the write connection: a
// 16 MiB page cache, an automatic checkpoint only past 16k pages (64 MiB of
// WAL; the background checkpointer normally runs long before) and
// BEGIN IMMEDIATE, so a write transaction takes the write lock up front.
// The writer's pages are the ends of readings_recent, bin_state, and the
// newest page of each device in readings_main (4 MiB for 1,000 devices):
// a 64 MiB cache, which no checkpoint empties any more (see restartWAL),
// filled for minutes under `civic bench load` without serving it better.
const sqliteWriterPragmas = "&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(16384)&_txlock=immediate"

// privateFiles makes the database file and its journals (-wal, -shm) owner
// only (0600) whatever the umask or the folder allow: they hold password
// hashes and every reading. SQLite creates the journals with the mode of
// the database file, so creating that one 0600 first is enough for new
// databases; existing files are tightened.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) openSQLite(path string, readConns int) error {
	if path == "" {
		return civic.FieldError("dsn", "an SQLite database path is required")
	}
	if readConns <= 0 {
		readConns = 4
	}
	if path == ":memory:" {
		// Each connection to ":memory:" is a separate database: keep exactly
		// one, forever, for reads and writes alike.
		db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return civic.Wrap(civic.Internal, err, "internal error")
		}
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.rdb, s.wdb = db, db
		s.sqliteWr = &sqliteWriter{}
		return nil
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return civic.Wrap(civic.Unavailable, fmt.Errorf("store: %w", err), "cannot create the data directory")
		}
	}
	if err := privateFiles(path); err != nil {
		return civic.Wrap(civic.Unavailable, fmt.Errorf("store: %w", err), "cannot create the database file")
	}
	// The log restarted, its first commit cuts the file back to a quarter
	// of the size that makes the checkpointer restart it (see
	// startCheckpointer).
	limit := fmt.Sprintf("&_pragma=journal_size_limit(%d)", walTruncateBytes.Load()/4)
	wdb, err := sql.Open("sqlite", path+"?"+sqlitePragmas+sqliteWriterPragmas+limit)
	if err != nil {
		return civic.Wrap(civic.Internal, err, "internal error")
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	rdb, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=cache_size(-16384)")
	if err != nil {
		wdb.Close()
		return civic.Wrap(civic.Internal, err, "internal error")
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	s.rdb, s.wdb = rdb, wdb
	s.sqliteWr = &sqliteWriter{}
	s.startCheckpointer(path + "-wal")
	return nil
}

// walTruncateBytes is the size of the write-ahead log past which the
// background checkpointer truncates it (see startCheckpointer).
var walTruncateBytes = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(64 << 20)
	return &n
}()

// walTruncateWait is how long a truncating checkpoint waits for the
// readers still reading the log; new writers wait meanwhile, so it is
// short: when readers take longer, the next tick tries again.
const walTruncateWait = 200 * time.Millisecond

// walTruncateBackoff is how long the checkpointer leaves the log alone
// after a truncation did not complete: a long read (an export, a backup,
// a forecast training) would otherwise hold up the writer for
// walTruncateWait at every tick while it lasts. Longer back-offs let the
// log grow by hundreds of MiB under heavy ingest.
const walTruncateBackoff = time.Second

// startCheckpointer moves WAL checkpoints off the write path. SQLite's
// automatic checkpoint runs inside the commit that crosses the threshold,
// stalling ingest while it copies pages into the database file and syncs
// it; a background PASSIVE checkpoint on a read connection does the same
// work on another core without blocking the writer. The writer keeps a
// large automatic threshold (see sqliteWriterPragmas) as a backstop.
//
// A checkpoint copies the log into the database, but the log is only
// rewritten from its start when a write begins while no reader is reading
// it; under a steady read load some reader always is, and the log grew
// without end (2 GB in 5 minutes of `civic bench load`, over a database
// of 10 MB), and with it the shared-memory index SQLite maps. So once the
// log passes walTruncateBytes the checkpointer runs a RESTART checkpoint
// (see restartWAL), which waits up to walTruncateWait for the readers to
// finish, so that the next write starts the log again from its start and
// cuts the file back (the write connection's journal_size_limit); when
// they take longer, it tries again walTruncateBackoff later.
func (s *Store) startCheckpointer(walPath string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stopCheckpoint = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var notBefore time.Time // of the next truncation
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !s.walDirty.Swap(false) {
				continue
			}
			if _, err := s.rdb.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
				s.log.Warn("store: background checkpoint", "err", err)
			}
			if fi, err := os.Stat(walPath); err == nil && fi.Size() > walTruncateBytes.Load() && !time.Now().Before(notBefore) {
				done, err := s.restartWAL(ctx)
				if err != nil && ctx.Err() == nil {
					s.log.Warn("store: restarting the write-ahead log", "err", err)
				}
				if !done {
					notBefore = time.Now().Add(walTruncateBackoff)
				}
			}
		}
	}()
}

// restartWAL runs a RESTART checkpoint on a read connection whose busy
// timeout is walTruncateWait for the while, and reports whether it
// completed: the next write then starts the log from its beginning and
// cuts the file back to its journal_size_limit. It takes the write lock
// between two commits (writers wait while it holds it), then waits for the
// readers. A log still in use by then is left for a later attempt, which
// is not an error.
//
// RESTART rather than TRUNCATE: a TRUNCATE checkpoint rewrites the log's
// header itself, and every other connection, the writer included, then
// drops its whole page cache (the writer's pages then read back one by
// one under `civic bench mqtt`); after a RESTART the writer rewrites the header
// and keeps its cache. (On the write connection instead, waiting its turn
// with the writes, the checkpoint completed less often under `civic bench
// load`: the log reached 300 MiB.)
func (s *Store) restartWAL(ctx context.Context) (done bool, err error) {
	c, err := s.rdb.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", walTruncateWait.Milliseconds())); err != nil {
		return false, err
	}
	var busy, logged, copied int
	err = c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logged, &copied)
	// Back to the connection's busy timeout (sqlitePragmas) whatever happened;
	// a connection that cannot be reset is dropped from the pool.
	if _, rerr := c.ExecContext(context.Background(), "PRAGMA busy_timeout = 10000"); rerr != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
		return false, errors.Join(err, rerr)
	}
	return err == nil && busy == 0, err
}

// Engine returns EngineSQLite or EnginePostgres.
func (s *Store) Engine() string { return s.engine }

// DB returns the pool that writes go through, for tools such as the raw
// driver benchmark (see RawInsert). Callers must not close it.
func (s *Store) DB() *sql.DB { return s.wdb }

// Ping checks the database answers; it fails with Unavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return civic.Wrap(civic.Unavailable, fmt.Errorf("store: ping: %w", err), "database unavailable")
	}
	return nil
}

// Close releases the locks taken with TryLock and closes the connection
// pools; calls after the first do nothing. On SQLite it first checkpoints the write-ahead log so the database file is
// complete on its own.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.close() })
	return err
}

func (s *Store) close() error {
	var errs []error
	s.locks.releaseAll()
	if s.sqliteWr != nil {
		if err := s.syncStates(context.Background()); err != nil {
			s.log.Warn("store: writing live states at close", "err", err)
		}
		s.sqliteWr.mu.Lock()
		s.sqliteWr.shut = true
		s.sqliteWr.mu.Unlock()
	}
	if s.stopCheckpoint != nil {
		s.stopCheckpoint()
	}
	if s.engine == EngineSQLite && s.wdb != s.rdb {
		if _, err := s.wdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("store: checkpoint at close", "err", err)
		}
	}
	if s.sqliteWr != nil {
		s.sqliteWr.close()
	}
	if s.rdb != nil && s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

func (s *Store) pg() bool { return s.engine == EnginePostgres }

// stamp is the store's clock, in UTC, at the precision both engines keep.
func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// textTime is the SQLite text form of a time: fixed width, so it sorts.
const textTime = "2006-01-02T15:04:05.000Z"

// ts is the argument for a time column other than reading times.
func (s *Store) ts(t time.Time) any {
	if s.pg() {
		return t.UTC()
	}
	return t.UTC().Format(textTime)
}

// tsPtr is ts for an optional time; nil stays NULL.
func (s *Store) tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.ts(*t)
}

// ms is the argument for a reading-time column (readings, bin_state).
func (s *Store) ms(t time.Time) any {
	if s.pg() {
		return t.UTC()
	}
	return t.UnixMilli()
}

// scanTime scans any time column of either engine into a UTC time.Time.
type scanTime struct{ t *time.Time }

func (d scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = x.UTC()
	case int64:
		*d.t = time.UnixMilli(x).UTC()
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T into a time", v)
	}
	return nil
}

func (d scanTime) parse(s string) error {
	if t, ok := parseTextTime(s); ok {
		*d.t = t
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad time %q: %w", s, err)
	}
	*d.t = t.UTC()
	return nil
}

// parseTextTime parses the textTime layout without time.Parse's
// generality: listings parse two of these per row.
func parseTextTime(s string) (time.Time, bool) {
	if len(s) != len(textTime) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec, ms := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 3)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC), true
}

// scanTimePtr scans a nullable time column.
type scanTimePtr struct{ t **time.Time }

func (d scanTimePtr) Scan(v any) error {
	if v == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (scanTime{&t}).Scan(v); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// nullStr stores an empty string as NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// errCtx says which foreign-key field a failed write names.
type errCtx struct {
	op      string // e.g. "create device"
	fkField string // on a foreign key failure while writing: Invalid naming this field
	inUse   string // on a foreign key failure while deleting: Conflict with this message
}

// fail converts err into a *civic.Error as documented on the package.
func (s *Store) fail(c errCtx, err error) error {
	if err == nil {
		return nil
	}
	var ce *civic.Error
	if errors.As(err, &ce) {
		return err
	}
	wrapped := fmt.Errorf("store: %s: %w", c.op, err)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return civic.Wrap(civic.NotFound, wrapped, "not found")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return civic.Wrap(civic.Unavailable, wrapped, "request cancelled or timed out")
	}
	switch classify(err) {
	case errUnique:
		return civic.Wrap(civic.Conflict, wrapped, "already exists")
	case errForeignKey:
		if c.inUse != "" {
			return civic.Wrap(civic.Conflict, wrapped, c.inUse)
		}
		if c.fkField != "" {
			return &civic.Error{Kind: civic.Invalid, Field: c.fkField, Message: "refers to something that does not exist", Err: wrapped}
		}
		return civic.Wrap(civic.Conflict, wrapped, "still referenced by other records")
	case errBusy:
		return civic.Wrap(civic.Unavailable, wrapped, "database busy, try again")
	}
	return civic.Wrap(civic.Internal, wrapped, "internal error")
}

type errClass int

const (
	errOther errClass = iota
	errUnique
	errForeignKey
	errBusy
)

func classify(err error) errClass {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
		// ON DELETE RESTRICT fails with SQLITE_CONSTRAINT_TRIGGER.
		if se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(se.Error(), "FOREIGN KEY") {
			return errForeignKey
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errBusy
		}
		return errOther
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errUnique
		case "23503":
			return errForeignKey
		case "40001", "40P01", "55P03", "53300":
			return errBusy
		}
	}
	return errOther
}

// notFound is the NotFound error for a missing row of kind what.
func notFound(what, id string) error {
	return civic.Errorf(civic.NotFound, "%s %q not found", what, id)
}

// inTx runs fn in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, c errCtx, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(c, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.fail(c, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(c, err)
	}
	return nil
}

// execOne runs a write that must touch exactly one row; NotFound otherwise.
func execOne(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, what, id, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// exists reports whether table has a row with the given id.
func exists(ctx context.Context, tx *sql.Tx, table, id string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = $1", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// mustRef fails with Invalid naming field when id is set and table has no
// such row. Checking first names the field on both engines; SQLite's own
// foreign key errors do not say which key failed.
func mustRef(ctx context.Context, tx *sql.Tx, field, table, id string) error {
	if id == "" {
		return nil
	}
	ok, err := exists(ctx, tx, table, id)
	if err != nil {
		return err
	}
	if !ok {
		return civic.FieldError(field, "%q does not exist", id)
	}
	return nil
}
