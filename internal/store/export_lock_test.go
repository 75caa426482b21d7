package store

import "time"

// SetLockCheck sets how often the PostgreSQL locks taken through s check
// their session from now on.
func SetLockCheck(s *Store, d time.Duration) {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	s.locks.check = d
}

// LockPID returns the PostgreSQL backend holding l.
func LockPID(l *Lock) uint32 { return l.pid }
