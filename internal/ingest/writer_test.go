package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// t0 is "now" in the writer tests.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// openStore opens a fresh SQLite store with bins B-1, B-2 and devices
// P-1 (percent scale, on B-1), F-1 (fraction, on B-2), X-1 (inactive, on B-1)
// and R-1 (removed).
func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.EngineSQLite, store.Options{})
	for _, id := range []string{"B-1", "B-2"} {
		b := &civic.Bin{ID: id, Name: "Bin " + id, Lat: 40.7, Lon: -74, CapacityL: 240}
		if err := st.CreateBin(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []civic.Device{
		{ID: "P-1", BinID: "B-1", FillScale: civic.ScalePercent},
		{ID: "F-1", BinID: "B-2", FillScale: civic.ScaleFraction},
		{ID: "X-1", BinID: "B-1", Status: civic.StatusInactive},
		{ID: "R-1", Status: civic.StatusRemoved},
	} {
		if err := st.CreateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// startWriter starts a Writer on st and closes it when the test ends.
func startWriter(t testing.TB, st civic.Store, opts ingest.WriterOptions) *ingest.Writer {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	w := ingest.NewWriter(st, st, opts)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

func fill(v float64) *float64 { return &v }

func TestWriterIngest(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var committed atomic.Int64
	w := startWriter(t, st, ingest.WriterOptions{OnCommit: func(rs []civic.Reading) { committed.Add(int64(len(rs))) }})

	in := []civic.Reading{
		{Device: "P-1", Time: t0.Add(-2 * time.Minute), Fill: fill(40)},
		{Device: "P-1", Time: t0.Add(-time.Minute).Add(123456 * time.Nanosecond), Fill: fill(45)},
		{Device: "F-1", Time: t0.In(time.FixedZone("x", 3600)), Fill: fill(0.25)},
	}
	res, err := w.Ingest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res != (civic.IngestResult{Accepted: 3}) {
		t.Errorf("result = %+v, want 3 accepted", res)
	}
	if *in[0].Fill != 40 || in[0].Bin != "" {
		t.Errorf("Ingest modified its input: %+v", in[0])
	}

	got, err := st.Readings(ctx, civic.ReadingQuery{Device: "P-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got[0].Fill != 0.4 || *got[1].Fill != 0.45 || got[0].Bin != "B-1" ||
		!got[1].Time.Equal(t0.Add(-time.Minute)) {
		t.Errorf("stored P-1 readings = %+v", got)
	}
	got, err = st.Readings(ctx, civic.ReadingQuery{Bin: "B-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || *got[0].Fill != 0.25 || !got[0].Time.Equal(t0) || got[0].Device != "F-1" {
		t.Errorf("stored B-2 readings = %+v", got)
	}

	// Resending is idempotent.
	res, err = w.Ingest(ctx, in)
	if err != nil || res != (civic.IngestResult{Duplicates: 3}) {
		t.Errorf("resend = %+v, %v; want 3 duplicates", res, err)
	}
	s := w.Stats()
	if s.ReadingsAccepted != 3 || s.ReadingsDuplicate != 3 || s.Batches != 2 || s.Commits != 2 || s.CommitSeconds <= 0 {
		t.Errorf("stats = %+v", s)
	}
	// Callers are answered before OnCommit runs: wait for it.
	for deadline := time.Now().Add(5 * time.Second); committed.Load() < 6 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if committed.Load() != 6 {
		t.Errorf("OnCommit saw %d readings, want 6", committed.Load())
	}
	if res, err := w.Ingest(ctx, nil); err != nil || res != (civic.IngestResult{}) {
		t.Errorf("empty batch = %+v, %v", res, err)
	}
}

func TestWriterRejects(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	w := startWriter(t, st, ingest.WriterOptions{})
	ok := civic.Reading{Device: "P-1", Time: t0, Fill: fill(50)}
	tests := []struct {
		name  string
		bad   civic.Reading
		field string
	}{
		{"unknown device", civic.Reading{Device: "NOPE", Time: t0, Fill: fill(1)}, "readings[1].device"},
		{"malformed device", civic.Reading{Device: "-x", Time: t0, Fill: fill(1)}, "readings[1].device"},
		{"inactive device", civic.Reading{Device: "X-1", Time: t0, Fill: fill(1)}, "readings[1].device"},
		{"removed device", civic.Reading{Device: "R-1", Time: t0, Fill: fill(1)}, "readings[1].device"},
		{"fill over percent scale", civic.Reading{Device: "P-1", Time: t0.Add(time.Second), Fill: fill(130)}, "readings[1].fill"},
		{"fill over fraction scale", civic.Reading{Device: "F-1", Time: t0, Fill: fill(2)}, "readings[1].fill"},
		{"future", civic.Reading{Device: "P-1", Time: t0.Add(25 * time.Hour), Fill: fill(1)}, "readings[1].time"},
		{"no time", civic.Reading{Device: "P-1", Fill: fill(1)}, "readings[1].time"},
		{"no measurement", civic.Reading{Device: "P-1", Time: t0.Add(time.Second)}, "readings[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.Ingest(ctx, []civic.Reading{ok, tt.bad})
			if !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tt.field {
				t.Fatalf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
	got, err := st.Readings(ctx, civic.ReadingQuery{Device: "P-1"})
	if err != nil || len(got) != 0 {
		t.Errorf("rejected batches stored %d readings (%v)", len(got), err)
	}
	if s := w.Stats(); s.ReadingsRejected != int64(2*len(tests)) || s.Commits != 0 {
		t.Errorf("stats = %+v", s)
	}
	big := make([]civic.Reading, civic.MaxBatch+1)
	if _, err := w.Ingest(ctx, big); !civic.IsKind(err, civic.TooLarge) {
		t.Errorf("oversized batch: err = %v, want too_large", err)
	}
}

// TestWriterDeviceCache checks registry changes are seen once the cache
// entry expires, and not before.
func TestWriterDeviceCache(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := storetest.NewClock(t0)
	w := startWriter(t, st, ingest.WriterOptions{Now: clock.Now, DeviceTTL: 5 * time.Second})
	r := []civic.Reading{{Device: "N-1", Time: t0, Fill: fill(0.5)}}
	if _, err := w.Ingest(ctx, r); civic.FieldOf(err) != "readings[0].device" {
		t.Fatalf("unknown device: err = %v", err)
	}
	if err := st.CreateDevice(ctx, &civic.Device{ID: "N-1", BinID: "B-1"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Second)
	if _, err := w.Ingest(ctx, r); civic.FieldOf(err) != "readings[0].device" {
		t.Fatalf("within the TTL: err = %v, want the cached answer", err)
	}
	clock.Advance(2 * time.Second)
	if res, err := w.Ingest(ctx, r); err != nil || res.Accepted != 1 {
		t.Fatalf("after the TTL: %+v, %v", res, err)
	}
	// Deactivating is seen after the TTL too.
	d, err := st.Device(ctx, "N-1")
	if err != nil {
		t.Fatal(err)
	}
	d.Status = civic.StatusInactive
	if err := st.UpdateDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Second)
	r[0].Time = t0.Add(time.Second)
	if _, err := w.Ingest(ctx, r); civic.FieldOf(err) != "readings[0].device" {
		t.Fatalf("inactive device: err = %v", err)
	}

	// ForgetDevice, for one device or for all, makes a change apply at once.
	for i, forget := range []func(){func() { w.ForgetDevice("N-1") }, func() { w.ForgetDevice("") }} {
		d.Status = civic.StatusActive
		if i == 1 {
			d.Status = civic.StatusInactive
		}
		if err := st.UpdateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
		r[0].Time = t0.Add(time.Duration(2+i) * time.Second)
		_, before := w.Ingest(ctx, r)
		forget()
		_, after := w.Ingest(ctx, r)
		if i == 0 && (before == nil || after != nil) {
			t.Errorf("reactivated, then ForgetDevice(id): before %v, after %v; want refused, then accepted", before, after)
		}
		if i == 1 && (before != nil || civic.FieldOf(after) != "readings[0].device") {
			t.Errorf("deactivated, then ForgetDevice(\"\"): before %v, after %v; want accepted, then refused", before, after)
		}
	}
}

// TestWriterConcurrent checks group commit under concurrent callers: every
// acknowledged reading is stored, once.
func TestWriterConcurrent(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	const devices, senders, batches, perBatch = 50, 8, 20, 100
	for i := range devices {
		if err := st.CreateDevice(ctx, &civic.Device{ID: fmt.Sprintf("C-%d", i), BinID: "B-1"}); err != nil {
			t.Fatal(err)
		}
	}
	w := startWriter(t, st, ingest.WriterOptions{MaxRows: 500})
	var wg sync.WaitGroup
	var accepted, dups atomic.Int64
	for s := range senders {
		wg.Go(func() {
			for b := range batches {
				rs := make([]civic.Reading, perBatch)
				for i := range rs {
					n := (b*perBatch + i) % (batches * perBatch / 2) // every reading twice per sender
					rs[i] = civic.Reading{Device: fmt.Sprintf("C-%d", (s*7+i)%devices),
						Time: t0.Add(-time.Duration(n+s*10000) * time.Second), Fill: fill(float64(i%100) / 100)}
				}
				res, err := w.Ingest(ctx, rs)
				if err != nil {
					t.Error(err)
					return
				}
				accepted.Add(int64(res.Accepted))
				dups.Add(int64(res.Duplicates))
			}
		})
	}
	wg.Wait()
	total := int64(senders * batches * perBatch)
	if accepted.Load()+dups.Load() != total {
		t.Fatalf("accepted %d + duplicates %d != %d sent", accepted.Load(), dups.Load(), total)
	}
	stored := 0
	for i := range devices {
		rs, err := st.Readings(ctx, civic.ReadingQuery{Device: fmt.Sprintf("C-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		stored += len(rs)
	}
	if int64(stored) != accepted.Load() {
		t.Errorf("stored %d readings, acknowledged %d as new", stored, accepted.Load())
	}
	s := w.Stats()
	t.Logf("%d batches in %d commits (at most %d in one), %.1f ms in the store", s.Batches, s.Commits, s.MaxBatchesInCommit, s.CommitSeconds*1000)
	if s.Batches != senders*batches || s.Commits > s.Batches {
		t.Errorf("stats = %+v", s)
	}
}

// TestWriterClose checks Close drains what was accepted and refuses the
// rest: every caller that saw success has its readings stored.
func TestWriterClose(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Now: func() time.Time { return t0 }})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var acked, refused atomic.Int64
	for s := range 4 {
		wg.Go(func() {
			for b := 0; ; b++ {
				rs := []civic.Reading{{Device: "P-1", Time: t0.Add(-time.Duration(s*100000+b) * time.Second), Fill: fill(10)}}
				res, err := w.Ingest(ctx, rs)
				if civic.IsKind(err, civic.Unavailable) {
					refused.Add(1)
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked.Add(int64(res.Accepted))
			}
		})
	}
	// Close only once some batches went through, however slow the machine.
	for deadline := time.Now().Add(30 * time.Second); acked.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if refused.Load() != 4 || acked.Load() == 0 {
		t.Errorf("acked %d, refused %d callers; want some acked and all 4 refused at the end", acked.Load(), refused.Load())
	}
	rs, err := st.Readings(ctx, civic.ReadingQuery{Device: "P-1"})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rs)) != acked.Load() {
		t.Errorf("stored %d readings, acknowledged %d", len(rs), acked.Load())
	}
	if err := w.Close(cctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestWriterRunContext checks Run returns when its context ends and
// callers are then refused.
func TestWriterRunContext(t *testing.T) {
	st := openStore(t)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Now: func() time.Time { return t0 }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if _, err := w.Ingest(context.Background(), []civic.Reading{{Device: "P-1", Time: t0, Fill: fill(1)}}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if _, err := w.Ingest(context.Background(), []civic.Reading{{Device: "P-1", Time: t0.Add(-time.Second), Fill: fill(1)}}); !civic.IsKind(err, civic.Unavailable) {
		t.Errorf("after Run ended: err = %v, want unavailable", err)
	}
	if err := w.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

// failingStore wraps the real store to inject commit failures, which a
// healthy SQLite cannot be made to produce on demand.
type failingStore struct {
	civic.Store
	fail func(batches [][]civic.Reading) error
}

func (f *failingStore) WriteReadings(ctx context.Context, batches [][]civic.Reading) ([]civic.IngestResult, error) {
	if err := f.fail(batches); err != nil {
		return nil, err
	}
	return f.Store.WriteReadings(ctx, batches)
}

func TestWriterCommitErrors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var mode atomic.Int32
	fs := &failingStore{Store: st, fail: func(batches [][]civic.Reading) error {
		switch mode.Load() {
		case 1:
			return errors.New("disk on fire")
		case 2: // refuse any transaction holding a reading with fill 0.99
			for _, b := range batches {
				for _, r := range b {
					if r.Fill != nil && *r.Fill == 0.99 {
						return civic.FieldError("fill", "refused")
					}
				}
			}
		}
		return nil
	}}
	w := startWriter(t, fs, ingest.WriterOptions{})

	mode.Store(1)
	_, err := w.Ingest(ctx, []civic.Reading{{Device: "P-1", Time: t0, Fill: fill(10)}})
	if !civic.IsKind(err, civic.Unavailable) {
		t.Errorf("store failure: err = %v, want unavailable", err)
	}
	if s := w.Stats(); s.CommitErrors != 1 {
		t.Errorf("stats = %+v", s)
	}

	// A batch the store refuses fails alone, not the batches grouped with it.
	mode.Store(2)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			v := 50.0
			if i == 7 {
				v = 99
			}
			_, errs[i] = w.Ingest(ctx, []civic.Reading{{Device: "P-1", Time: t0.Add(-time.Duration(i) * time.Second), Fill: fill(v)}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != (err != nil) {
			t.Errorf("batch %d: err = %v", i, err)
		}
	}
}

func BenchmarkWriterIngest(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
	for i := range 1000 {
		if err := st.CreateDevice(ctx, &civic.Device{ID: fmt.Sprintf("D-%d", i), BinID: "B-1"}); err != nil {
			b.Fatal(err)
		}
	}
	w := startWriter(b, st, ingest.WriterOptions{Now: time.Now})
	const batch = 1000
	var n atomic.Int64
	base := time.Now().Add(-time.Hour)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rs := make([]civic.Reading, batch)
		for pb.Next() {
			k := n.Add(1)
			for i := range rs {
				rs[i] = civic.Reading{Device: fmt.Sprintf("D-%d", i), Time: base.Add(time.Duration(k) * time.Millisecond), Fill: fill(0.5)}
			}
			if _, err := w.Ingest(ctx, rs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "readings/s")
	s := w.Stats()
	b.ReportMetric(float64(s.Batches)/float64(s.Commits), "batches/commit")
	b.ReportMetric(s.CommitSeconds/float64(s.Commits)*1000, "ms/commit")
}

// BenchmarkStoreWriteReadings is the raw store limit the Writer is compared
// with: one caller, 4,000 readings per transaction, no validation.
func BenchmarkStoreWriteReadings(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
	const batch = 4000
	base := time.Now().Add(-time.Hour)
	rs := make([]civic.Reading, batch)
	b.ResetTimer()
	for k := range b.N {
		for i := range rs {
			rs[i] = civic.Reading{Device: fmt.Sprintf("D-%d", i%1000), Bin: "B-1", Time: base.Add(time.Duration(k*4+i/1000) * time.Millisecond), Fill: fill(0.5)}
		}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "readings/s")
}

// brokenDevices fails every registry lookup, as a database that is down.
type brokenDevices struct{}

func (brokenDevices) Device(context.Context, string) (civic.Device, error) {
	return civic.Device{}, errors.New("connection refused")
}

func TestWriterRegistryDown(t *testing.T) {
	st := openStore(t)
	w := ingest.NewWriter(st, brokenDevices{}, ingest.WriterOptions{Now: func() time.Time { return t0 }})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	_, err := w.Ingest(context.Background(), []civic.Reading{{Device: "P-1", Time: t0, Fill: fill(1)}})
	if !civic.IsKind(err, civic.Unavailable) {
		t.Errorf("err = %v, want unavailable", err)
	}
}

// countingDevices counts the registry lookups it answers.
type countingDevices struct {
	ingest.DeviceSource
	n atomic.Int64
}

func (c *countingDevices) Device(ctx context.Context, id string) (civic.Device, error) {
	c.n.Add(1)
	return c.DeviceSource.Device(ctx, id)
}

// TestWriterCacheClock checks that CacheNow, not Now, expires the device
// cache: the demo's simulated clock runs hours ahead in seconds, and its
// devices must not be looked up again at every batch.
func TestWriterCacheClock(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sim := storetest.NewClock(t0)
	wall := storetest.NewClock(t0)
	devs := &countingDevices{DeviceSource: st}
	w := ingest.NewWriter(st, devs, ingest.WriterOptions{Now: sim.Now, CacheNow: wall.Now, DeviceTTL: time.Minute})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(ctx) })
	for i := range 5 {
		sim.Advance(time.Hour)
		r := []civic.Reading{{Device: "F-1", Time: sim.Now(), Fill: fill(0.1 * float64(i))}}
		if res, err := w.Ingest(ctx, r); err != nil || res.Accepted != 1 {
			t.Fatalf("batch %d: %+v, %v", i, res, err)
		}
	}
	if n := devs.n.Load(); n != 1 {
		t.Errorf("%d registry lookups over five hours of simulated time in no real time, want 1", n)
	}
	wall.Advance(2 * time.Minute)
	if _, err := w.Ingest(ctx, []civic.Reading{{Device: "F-1", Time: sim.Now().Add(time.Second), Fill: fill(0.5)}}); err != nil {
		t.Fatal(err)
	}
	if n := devs.n.Load(); n != 2 {
		t.Errorf("%d registry lookups after the real TTL passed, want 2", n)
	}
}
