package store

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/jackc/pgx/v5"
)

// Singleton locks: a job that must run on one node at a time (the alert
// sweep, nightly planning) holds a named lock while it is that node's job.
//
// On PostgreSQL the lock is a session advisory lock
// (pg_try_advisory_lock) taken on a connection of its own, outside the
// pools, and held for as long as that session lives: the server releases it
// when the holder unlocks, closes, crashes or is cut off. The key is
// hashtextextended('SCHEMA:NAME', 0), so civic installations in different
// schemas of one database do not exclude each other. The holder checks its
// session every few seconds and, when the check fails, stops considering
// itself the holder (Lock.Done is closed and Lock.Lost reports true). The
// session also asks the server for TCP keepalives of a few seconds, so the
// server notices a vanished holder within about half a minute and frees the
// lock for another node.
//
// On SQLite, civic is one process: the lock is held in the Store.

// lockCheck is how often a held PostgreSQL lock's session is checked, and
// lockPingTimeout how long one check may take before the lock counts as
// lost.
const (
	lockCheck       = 2 * time.Second
	lockPingTimeout = 5 * time.Second
)

// lockTable is the locks held through one Store, by name.
type lockTable struct {
	mu     sync.Mutex
	byName map[string]*Lock
	closed bool
	check  time.Duration // lockCheck when zero; tests shorten it
}

// Lock is a singleton lock held by this process; see Store.TryLock.
type Lock struct {
	name string
	t    *lockTable
	pid  uint32 // PostgreSQL: the backend holding the lock

	done   chan struct{} // closed once the lock is released or lost
	lost   atomic.Bool
	stop   func() // asks the holder to let go
	stopMu sync.Once
}

// TryLock takes the singleton lock name if no one holds it, without
// waiting: ok is false when another node, or another holder in this
// process, has it. The lock is held until Release, until the store closes,
// or until it is lost (PostgreSQL: the session holding it died or stopped
// answering); Done is closed in all three cases. Errors: Invalid (an empty
// name), Unavailable (the database does not answer, or the store is
// closed).
func (s *Store) TryLock(ctx context.Context, name string) (l *Lock, ok bool, err error) {
	if name == "" {
		return nil, false, civic.FieldError("name", "a lock name is required")
	}
	t := &s.locks
	l = &Lock{name: name, t: t, done: make(chan struct{})}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, false, civic.Errorf(civic.Unavailable, "store closed")
	}
	if t.byName[name] != nil {
		t.mu.Unlock()
		return nil, false, nil
	}
	if t.byName == nil {
		t.byName = map[string]*Lock{}
	}
	if !s.pg() {
		l.stop = func() { t.drop(l); close(l.done) }
		t.byName[name] = l
		t.mu.Unlock()
		return l, true, nil
	}
	t.byName[name] = l // reserved while the database is asked
	check := cmp.Or(t.check, lockCheck)
	t.mu.Unlock()

	conn, err := s.sessionConn(ctx, "civic lock "+name)
	if err != nil {
		t.drop(l)
		return nil, false, err
	}
	err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKey+`)`, name).Scan(&ok)
	if err != nil || !ok {
		closeSession(conn)
		t.drop(l)
		if err != nil {
			return nil, false, civic.Wrap(civic.Unavailable, fmt.Errorf("store: try lock %s: %w", name, err), "database unavailable")
		}
		return nil, false, nil
	}
	l.pid = conn.PgConn().PID()
	hctx, cancel := context.WithCancel(context.Background())
	go l.hold(hctx, conn, check)
	t.mu.Lock()
	l.stop = cancel
	closed := t.closed
	t.mu.Unlock()
	if closed { // the store closed while the database was asked
		l.Release()
		return nil, false, civic.Errorf(civic.Unavailable, "store closed")
	}
	return l, true, nil
}

// lockKey is the advisory lock key of the lock named $1.
const lockKey = `hashtextextended(current_schema() || ':' || $1, 0)`

// hold owns the session of a PostgreSQL lock: it checks the session until
// the lock is released (ctx ends) or the check fails, then ends the
// session.
func (l *Lock) hold(ctx context.Context, conn *pgx.Conn, check time.Duration) {
	defer func() {
		l.t.drop(l)
		close(l.done)
	}()
	t := time.NewTicker(check)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Unlock explicitly, so the lock is free when Release returns;
			// ending the session would free it too, a moment later.
			uctx, cancel := context.WithTimeout(context.Background(), lockPingTimeout)
			_, _ = conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockKey+`)`, l.name)
			cancel()
			closeSession(conn)
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, lockPingTimeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			// The server may still hold the lock for this session until it
			// notices, but another node may hold it as soon as it does:
			// stop acting as the holder now.
			l.lost.Store(true)
			closeSession(conn)
			return
		}
	}
}

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// Done returns a channel closed once the lock is released or lost: a job
// holding it must stop when it closes.
func (l *Lock) Done() <-chan struct{} { return l.done }

// Lost reports whether the lock was lost rather than released: its
// PostgreSQL session died or stopped answering.
func (l *Lock) Lost() bool { return l.lost.Load() }

// Release lets go of the lock and returns once another node can take it.
// Calls after the first, and calls after the lock was lost, only wait for
// that.
func (l *Lock) Release() {
	l.stopMu.Do(l.stop)
	<-l.done
}

// drop forgets l, if it is still the holder of its name.
func (t *lockTable) drop(l *Lock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName[l.name] == l {
		delete(t.byName, l.name)
	}
}

// releaseAll releases every lock and refuses new ones: the store closes.
func (t *lockTable) releaseAll() {
	t.mu.Lock()
	t.closed = true
	held := make([]*Lock, 0, len(t.byName))
	for _, l := range t.byName {
		if l.stop != nil { // not a reservation still asking the database (TryLock releases those)
			held = append(held, l)
		}
	}
	t.mu.Unlock()
	for _, l := range held {
		l.Release()
	}
}

// sessionConn opens a PostgreSQL connection of its own, outside the pools,
// for a session that must outlive any one query (LISTEN, a session advisory
// lock). It is named after purpose in pg_stat_activity. Errors: Unavailable.
func (s *Store) sessionConn(ctx context.Context, purpose string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return nil, civic.Wrap(civic.Invalid, err, "bad PostgreSQL URL")
	}
	if len(purpose) > 63 {
		purpose = purpose[:63]
	}
	cfg.RuntimeParams["application_name"] = purpose
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, civic.Wrap(civic.Unavailable, fmt.Errorf("store: connect for %s: %w", purpose, err), "database unavailable")
	}
	// A dead session keeps its advisory locks and holds back the
	// notification queue until the server notices: make that seconds,
	// not the system's default of hours. Best effort: the settings only
	// apply to TCP connections, and a session works without them.
	if _, err := conn.Exec(ctx, `SELECT set_config('tcp_keepalives_idle', '10', false),
		set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)`); err != nil {
		s.log.Debug("store: session keepalives", "purpose", purpose, "err", err)
	}
	return conn, nil
}

// closeSession ends a session opened by sessionConn without waiting long
// for a server that does not answer.
func closeSession(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
