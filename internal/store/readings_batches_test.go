package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestWriteReadingsManyBatches: one call with many small batches (as the
// MQTT broker's messages arrive, one reading each) counts each batch's
// new and duplicate readings right, when statements span batches: a key
// already stored, one repeated in a later batch, one repeated within a
// batch.
func TestWriteReadingsManyBatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		at := clk.Now().Add(-time.Hour).Truncate(time.Second)
		r := func(dev string, sec int) civic.Reading {
			return civic.Reading{Device: dev, Time: at.Add(time.Duration(sec) * time.Second), Fill: f64(0.5)}
		}
		_, err := s.WriteReadings(ctx, [][]civic.Reading{{r("D-0", 0)}})
		must(t, "WriteReadings", err)

		var batches [][]civic.Reading
		var want []civic.IngestResult
		for i := range 150 {
			batches = append(batches, []civic.Reading{r(fmt.Sprintf("D-%d", i), 1)})
			want = append(want, civic.IngestResult{Accepted: 1})
		}
		batches[7] = []civic.Reading{r("D-0", 0)} // stored before
		want[7] = civic.IngestResult{Duplicates: 1}
		batches[90] = []civic.Reading{r("D-3", 1)} // in batch 3 already
		want[90] = civic.IngestResult{Duplicates: 1}
		batches[91] = []civic.Reading{r("D-91", 1), r("D-91", 1), r("D-91", 2)} // repeated within
		want[91] = civic.IngestResult{Accepted: 2, Duplicates: 1}
		got, err := s.WriteReadings(ctx, batches)
		must(t, "WriteReadings", err)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("batch %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		rs, err := s.Readings(ctx, civic.ReadingQuery{Device: "D-91"})
		must(t, "Readings", err)
		if len(rs) != 2 {
			t.Errorf("D-91 has %d readings, want 2", len(rs))
		}
	})
}
