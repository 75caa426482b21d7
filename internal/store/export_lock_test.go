package store

import (
	"context"
	"database/sql"
	"time"
)

// SetLockCheck sets how often the PostgreSQL locks taken through s check
// their session from now on.
func SetLockCheck(s *Store, d time.Duration) {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	s.locks.check = d
}

// LockPID returns the PostgreSQL backend holding l.
func LockPID(l *Lock) uint32 { return l.pid }

// SetWALTruncate sets the log size past which the background
// checkpointers truncate the write-ahead log; it returns the previous
// size.
func SetWALTruncate(n int64) int64 { return walTruncateBytes.Swap(n) }

// ReadDB returns the read pool.
func ReadDB(s *Store) *sql.DB { return s.rdb }

// SetFoldRows sets how many rows readings_recent holds before a write
// moves them into readings_main (SQLite), and returns the previous value.
func SetFoldRows(n int64) int64 { return foldRows.Swap(n) }

// FoldReadings moves readings_recent into readings_main now (SQLite).
func FoldReadings(ctx context.Context, s *Store) error { return s.FoldReadings(ctx) }

// RecentReadings counts the rows of readings_recent (SQLite).
func RecentReadings(ctx context.Context, s *Store) (n int, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM readings_recent`).Scan(&n)
	return n, err
}

// SetStateEvery sets how long the live states may wait for a commit under
// sustained ingest (SQLite), and returns the previous value.
func SetStateEvery(d time.Duration) time.Duration { return time.Duration(stateEvery.Swap(int64(d))) }
