package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestWALBoundedUnderReads: with readers always reading (as the pages and
// the API do under load), SQLite never rewrites the write-ahead log from
// its start by itself; the background checkpointer must, or the log grows
// with every commit. Readings are written for two seconds while two
// readers overlap; the log must stay near the truncation size.
func TestWALBoundedUnderReads(t *testing.T) {
	const limit = 1 << 20
	defer store.SetWALTruncate(store.SetWALTruncate(limit))
	path := filepath.Join(t.TempDir(), "civic.db")
	s := storetest.OpenDSN(t, "sqlite:"+path, store.Options{})
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Go(func() {
			time.Sleep(time.Duration(r) * 15 * time.Millisecond) // staggered: one is always reading
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx, err := store.ReadDB(s).BeginTx(ctx, nil)
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				if err := tx.QueryRow(`SELECT count(*) FROM readings`).Scan(&n); err != nil {
					t.Error(err)
				}
				time.Sleep(30 * time.Millisecond)
				_ = tx.Rollback()
			}
		})
	}
	g := newReadingGen(500)
	maxWAL := int64(0)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		if _, err := s.WriteReadings(ctx, [][]civic.Reading{g.batch(500)}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, fi.Size())
		}
	}
	close(stop)
	wg.Wait()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// A tick's worth of commits past the limit is fine; an unbounded log
	// reaches tens of MiB in two seconds.
	if fi.Size() > 8*limit {
		t.Errorf("write-ahead log %d bytes at the end (at most %d during the run), want it kept near %d", fi.Size(), maxWAL, limit)
	}
	t.Logf("write-ahead log: %d bytes at the end, at most %d", fi.Size(), maxWAL)
}
