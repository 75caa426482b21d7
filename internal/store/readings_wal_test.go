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
// with every commit. Readings are written while two readers overlap until
// the log has been truncated (at least four seconds, at most thirty: a
// truncation waits for the readers, and on a machine busy with other test
// packages under -race a reader's 10 ms can last longer than the
// truncation's wait); the log must be truncated.
func TestWALBoundedUnderReads(t *testing.T) {
	defer store.SetWALTruncate(store.SetWALTruncate(1 << 20))
	path := filepath.Join(t.TempDir(), "civic.db")
	s := storetest.OpenDSN(t, "sqlite:"+path, store.Options{})
	ctx := context.Background()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Go(func() {
			time.Sleep(time.Duration(r) * 5 * time.Millisecond) // staggered: one is always reading
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
				// A short read that keeps its snapshot for 10 ms.
				var n int
				if err := tx.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM readings LIMIT 10)`).Scan(&n); err != nil {
					t.Error(err)
				}
				time.Sleep(10 * time.Millisecond)
				_ = tx.Rollback()
			}
		})
	}
	g := newReadingGen(500)
	var maxWAL, last int64
	emptied := 0 // times the log was seen shorter than before: truncated
	start := time.Now()
	for time.Since(start) < 4*time.Second || (emptied == 0 && time.Since(start) < 30*time.Second) {
		if _, err := s.WriteReadings(ctx, [][]civic.Reading{g.batch(500)}); err != nil {
			t.Fatal(err)
		}
		// The ingest writer commits a group, then gathers the next: a
		// pause between commits, in which a checkpoint takes the lock.
		time.Sleep(5 * time.Millisecond)
		if fi, err := os.Stat(path + "-wal"); err == nil {
			if fi.Size() < last {
				emptied++
			}
			last, maxWAL = fi.Size(), max(maxWAL, fi.Size())
		}
	}
	close(stop)
	wg.Wait()
	// SQLite alone never shortens the log file: it only grows, or is
	// written again from its start. On a loaded machine readers may keep a
	// truncation waiting past its time, so the test asks for one at least.
	if emptied == 0 {
		t.Errorf("the write-ahead log was never truncated in %v (%d bytes at the end) while readers kept reading", time.Since(start).Round(time.Second), last)
	}
	t.Logf("write-ahead log: truncated %d times in %v; %d bytes at the end, at most %d", emptied, time.Since(start).Round(time.Second), last, maxWAL)
}
