package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// The tests of singleton locks open two Stores on one PostgreSQL schema:
// two civic nodes sharing a database.

// await bounds every wait for something another node does.
const await = 15 * time.Second

// TestLock: a singleton lock has one holder at a time, across the two
// stores of one PostgreSQL database or within the one SQLite process, and
// is free again once the holder releases it or closes its store.
func TestLock(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := newDSN(t, engine)
			s1 := openStore(t, dsn, nil)
			s2 := s1 // SQLite: one process, one store
			if engine == store.EnginePostgres {
				s2 = openStore(t, dsn, nil)
			}
			l1, ok, err := s1.TryLock(ctx, "sweep")
			must(t, "TryLock", err)
			if !ok {
				t.Fatal("TryLock of a free lock failed")
			}
			if _, ok, err := s2.TryLock(ctx, "sweep"); err != nil || ok {
				t.Fatalf("second TryLock = %v, %v; want false: the lock is held", ok, err)
			}
			other, ok, err := s2.TryLock(ctx, "plan")
			if err != nil || !ok {
				t.Fatalf("TryLock of another name = %v, %v; want true", ok, err)
			}
			other.Release()
			_, _, err = s1.TryLock(ctx, "")
			wantKind(t, "TryLock without a name", err, civic.Invalid, "name")

			l1.Release()
			if !closed(l1.Done()) || l1.Lost() {
				t.Errorf("after Release: done %v, lost %v; want done, not lost", closed(l1.Done()), l1.Lost())
			}
			l1.Release() // a second call only waits
			l2, ok, err := s2.TryLock(ctx, "sweep")
			if err != nil || !ok {
				t.Fatalf("TryLock after the holder released = %v, %v; want true", ok, err)
			}
			if _, ok, _ := s1.TryLock(ctx, "sweep"); ok {
				t.Fatal("two holders after a release")
			}

			must(t, "Close the holder's store", s2.Close())
			if !closed(l2.Done()) || l2.Lost() {
				t.Errorf("after the store closed: done %v, lost %v; want done, not lost", closed(l2.Done()), l2.Lost())
			}
			_, _, err = s2.TryLock(ctx, "sweep")
			wantKind(t, "TryLock on a closed store", err, civic.Unavailable)
			if engine == store.EnginePostgres {
				l3, ok, err := s1.TryLock(ctx, "sweep")
				if err != nil || !ok {
					t.Fatalf("TryLock after the holder closed = %v, %v; want true", ok, err)
				}
				l3.Release()
			}
		})
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestLockLost: when the session holding a PostgreSQL lock dies, the
// holder learns it has lost the lock, and another node can take it.
func TestLockLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := postgresDSN(t)
	s1, s2 := openStore(t, dsn, nil), openStore(t, dsn, nil)
	store.SetLockCheck(s1, 50*time.Millisecond)
	l, ok, err := s1.TryLock(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	var killed bool
	// With a timeout, pg_terminate_backend waits until the backend is gone.
	must(t, "terminate the holder's session", s2.DB().QueryRowContext(ctx, `SELECT pg_terminate_backend($1, 5000)`,
		int64(store.LockPID(l))).Scan(&killed))
	if !killed {
		t.Fatal("pg_terminate_backend found no session")
	}
	l2, ok, err := s2.TryLock(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("TryLock after the holder's session died = %v, %v; want true", ok, err)
	}
	defer l2.Release()
	select {
	case <-l.Done():
	case <-time.After(await):
		t.Fatalf("the holder did not notice the loss within %s", await)
	}
	if !l.Lost() {
		t.Error("Lost() = false after the session died")
	}
	if _, ok, _ := s1.TryLock(ctx, "sweep"); ok {
		t.Error("the old holder took the lock again while the new one holds it")
	}
}

// TestLockPerSchema: civic installations in two schemas of one database
// do not share locks.
func TestLockPerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s1, s2 := openStore(t, postgresDSN(t), nil), openStore(t, postgresDSN(t), nil)
	for i, s := range []*store.Store{s1, s2} {
		l, ok, err := s.TryLock(ctx, "sweep")
		if err != nil || !ok {
			t.Fatalf("schema %d: TryLock = %v, %v; want true", i+1, ok, err)
		}
		defer l.Release()
	}
}

// TestClaimsAcrossNodes backs the Notifier's claim that several nodes may
// drain one outbox: claims from two stores at once never overlap.
func TestClaimsAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := postgresDSN(t)
	s1, s2 := openStore(t, dsn, nil), openStore(t, dsn, nil)
	must(t, "CreateSubscription", s1.CreateSubscription(ctx, webhookSub("hook")))
	const n = 60
	for i := range n {
		_, _, err := s1.OpenAlert(ctx, newAlert(fmt.Sprintf("B-%02d", i), civic.RuleFire, t0))
		must(t, "OpenAlert", err)
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]int{}
		wg      sync.WaitGroup
	)
	for _, s := range []*store.Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimNotifications(ctx, t0, 3, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					claimed[c.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var twice []string
	for id, k := range claimed {
		if k > 1 {
			twice = append(twice, fmt.Sprint(id))
		}
	}
	if len(claimed) != n || len(twice) > 0 {
		t.Errorf("claimed %d distinct notifications of %d; claimed more than once: %s", len(claimed), n, strings.Join(twice, ", "))
	}
}
