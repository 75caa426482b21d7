package alert_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/store"
)

// storeSingleton is EngineOptions.Singleton over the store's locks, as
// civic serve wires it.
func storeSingleton(st *store.Store) func(context.Context, string) (<-chan struct{}, func(), bool) {
	return func(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
		l, ok, err := st.TryLock(ctx, name)
		if err != nil || !ok {
			return nil, nil, false
		}
		return l.Done(), l.Release, true
	}
}

func sweep(t *testing.T, e *alert.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
}

func closeEngine(t *testing.T, e *alert.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestEngineSweepSingleton: two Engines sharing a store (two nodes) sweep
// one at a time: the one holding the sweep lock; when it closes, the other
// takes over at its next sweep.
func TestEngineSweepSingleton(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t, clk)
	newEngine := func() *alert.Engine {
		e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet,
			SweepInterval: time.Hour, Singleton: storeSingleton(st)})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return e
	}
	e1 := newEngine()
	sweep(t, e1) // e1 asked for the lock when it started, before this sweep
	e2 := newEngine()
	sweep(t, e2)
	sweep(t, e1)
	if s1, s2 := e1.Stats().Sweeps, e2.Stats().Sweeps; s1 != 2 || s2 != 0 {
		t.Fatalf("sweeps: first engine %d, second %d; want 2 and 0 (only the lock holder sweeps)", s1, s2)
	}
	if e2.Stats().Evaluated != 0 {
		t.Errorf("the engine without the lock evaluated %d bins in its sweep", e2.Stats().Evaluated)
	}
	closeEngine(t, e1) // releases the lock
	sweep(t, e2)
	if s2 := e2.Stats().Sweeps; s2 != 1 {
		t.Errorf("after the holder closed, the second engine swept %d times, want 1", s2)
	}
	closeEngine(t, e2)
}

// TestEngineSweepLockLost: an Engine whose sweep lock is lost stops
// counting on it, lets it go and asks again before it sweeps.
func TestEngineSweepLockLost(t *testing.T) {
	clk := &clock{t: t0}
	st := openStore(t, clk)
	var (
		mu       sync.Mutex
		lost     []chan struct{} // one per time the lock was granted
		released int
	)
	take := storeSingleton(st)
	e := alert.NewEngine(alert.EngineOptions{Alerts: st, Source: st, Now: clk.Now, Logger: quiet, SweepInterval: time.Hour,
		Singleton: func(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
			_, release, ok := take(ctx, name)
			if !ok {
				return nil, nil, false
			}
			mu.Lock()
			defer mu.Unlock()
			c := make(chan struct{})
			lost = append(lost, c)
			return c, func() {
				mu.Lock()
				released++
				mu.Unlock()
				release()
			}, true
		}})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer closeEngine(t, e)
	sweep(t, e)
	mu.Lock()
	close(lost[0]) // the lock's session died
	mu.Unlock()
	sweep(t, e)
	mu.Lock()
	granted, rel := len(lost), released
	mu.Unlock()
	if granted != 2 || rel != 1 {
		t.Errorf("lock granted %d times and released %d times, want 2 and 1 (let go after the loss, then taken again)", granted, rel)
	}
	if s := e.Stats().Sweeps; s != 2 {
		t.Errorf("sweeps = %d, want 2", s)
	}
}
