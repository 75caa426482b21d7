package main

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestDemoResume: a demo city whose faster clock ran ahead of the present
// resumes at its newest bin state, not at the present; one that did not
// resumes now.
func TestDemoResume(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	ahead := now.Add(31 * time.Hour)
	st := storetest.Open(t, store.EngineSQLite, store.Options{Now: func() time.Time { return ahead }})
	got, err := demoResume(ctx, st, now)
	if err != nil || !got.Equal(now) {
		t.Fatalf("an empty city resumes at %s (%v), want now %s", got, err, now)
	}
	for _, id := range []string{"B-1", "B-2"} {
		if err := st.CreateBin(ctx, &civic.Bin{ID: id, Name: id, Lat: 40, Lon: -75, CapacityL: 240}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDevice(ctx, &civic.Device{ID: "D-" + id, BinID: id}); err != nil {
			t.Fatal(err)
		}
	}
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Now: func() time.Time { return ahead }})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	fill := 0.4
	for _, r := range []civic.Reading{
		{Device: "D-B-1", Time: now.Add(-2 * time.Hour), Fill: &fill},
		{Device: "D-B-2", Time: ahead, Fill: &fill},
	} {
		if _, err := w.Ingest(ctx, []civic.Reading{r}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = demoResume(ctx, st, now)
	if err != nil || !got.Equal(ahead) {
		t.Errorf("a city with a reading %s ahead resumes at %s (%v), want %s", ahead.Sub(now), got, err, ahead)
	}
	if got, _ := demoResume(ctx, st, ahead.Add(time.Hour)); !got.Equal(ahead.Add(time.Hour)) {
		t.Errorf("a city behind the present resumes at %s, want the present", got)
	}
}
