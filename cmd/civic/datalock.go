package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/civic-city/civic/internal/store"
)

// errDataInUse says a lock on the database is held by another program.
var errDataInUse = errors.New("in use")

// dataLock is a lock on a SQLite database, held in a file beside it
// (PATH.lock): every command that opens the store (serve, import, user,
// key, ...) holds it shared for as long as the store is open, and civic
// restore holds it exclusively while it replaces the file. So restore
// refuses a database a running server uses, and a server does not start
// on a database being restored. Several shared holders are fine (a
// command may run beside serve, as before). The operating system drops
// the lock when the process ends, SIGKILL included, so a crash leaves
// nothing to clean up. PostgreSQL needs none: nothing is restored in
// place there.
type dataLock struct {
	f *os.File
}

// lockData takes the lock of the database DB (a --db value) if it is
// SQLite: shared, or exclusive for a restore. It never waits: a lock held
// the other way fails at once with an error that says what to do.
func lockData(db string, exclusive bool) (*dataLock, error) {
	path, sqlite := store.SQLitePath(db)
	if !sqlite || path == ":memory:" {
		return &dataLock{}, nil
	}
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", lockPath, err)
	}
	if err := flockFile(f, exclusive); err != nil {
		f.Close()
		if !errors.Is(err, errDataInUse) {
			return nil, fmt.Errorf("lock file %s: %w", lockPath, err)
		}
		if exclusive {
			return nil, fmt.Errorf("%s is in use by a running civic (civic serve, or another command holding %s): stop it before restoring", path, lockPath)
		}
		return nil, fmt.Errorf("%s is being restored by civic restore (%s is locked): wait for it to finish", path, lockPath)
	}
	return &dataLock{f: f}, nil
}

// release drops the lock. The lock file stays: removing it would race
// with a program opening it.
func (l *dataLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = funlockFile(l.f)
	l.f.Close()
	l.f = nil
}
