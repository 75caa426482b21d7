package forecast

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// memStore is an in-memory BinSource and ReadingSource. gate, when set,
// holds ListBins (the start of a training) until it is closed.
type memStore struct {
	mu       sync.Mutex
	bins     map[string]civic.BinView
	readings []civic.Reading
	devices  map[string]bool
	gate     chan struct{}
	lists    int
}

func newMemStore(bins ...civic.Bin) *memStore {
	s := &memStore{bins: map[string]civic.BinView{}, devices: map[string]bool{}}
	for _, b := range bins {
		b.Normalize()
		s.bins[b.ID] = civic.BinView{Bin: b}
	}
	return s
}

func (s *memStore) Bin(_ context.Context, id string) (civic.BinView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.bins[id]
	if !ok {
		return v, civic.Errorf(civic.NotFound, "no bin %q", id)
	}
	return v, nil
}

func (s *memStore) ListBins(ctx context.Context, _ civic.BinFilter) ([]civic.BinView, error) {
	s.mu.Lock()
	gate := s.gate
	s.lists++
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []civic.BinView
	for _, v := range s.bins {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b civic.BinView) int { return cmpString(a.ID, b.ID) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *memStore) ListDevices(context.Context) ([]civic.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []civic.Device
	for id := range s.devices {
		out = append(out, civic.Device{ID: id})
	}
	return out, nil
}

func (s *memStore) Readings(_ context.Context, q civic.ReadingQuery) ([]civic.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []civic.Reading
	for _, r := range s.readings {
		match := r.Bin == q.Bin
		if q.Device != "" {
			match = r.Device == q.Device && (q.Bin == "" || r.Bin == q.Bin)
		}
		if match && !r.Time.Before(q.From) && r.Time.Before(q.To) {
			out = append(out, r)
		}
	}
	return out, nil
}

// add stores readings and sets the bins' states from the newest.
func (s *memStore) add(rs []civic.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readings = append(s.readings, rs...)
	for _, r := range rs {
		s.devices[r.Device] = true
		v := s.bins[r.Bin]
		if v.State == nil || r.Time.After(v.State.Time) {
			v.State = &civic.BinState{BinID: r.Bin, Time: r.Time, Fill: r.Fill}
			s.bins[r.Bin] = v
		}
	}
}

var svcNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// rising returns n half-hourly readings of bin ending at end, fill rising
// by perHour from start.
func rising(bin string, end time.Time, n int, start, perHour float64) []civic.Reading {
	rs := make([]civic.Reading, n)
	for i := range rs {
		f := start + perHour*float64(i)/2
		rs[i] = civic.Reading{Device: "S-" + bin, Bin: bin, Time: end.Add(-time.Duration(n-1-i) * 30 * time.Minute), Fill: &f}
	}
	return rs
}

func startService(t *testing.T, st *memStore, o ServiceOptions) *Service {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return svcNow }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := NewService(st, st, o)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func trainedOnce(s *Service) func() bool {
	return func() bool { return s.Stats().Trainings > 0 }
}

func TestServiceForecast(t *testing.T) {
	st := newMemStore(
		civic.Bin{ID: "B1", Name: "one", ZoneID: "Z"},
		civic.Bin{ID: "B2", Name: "two", ZoneID: "Z"},
		civic.Bin{ID: "B3", Name: "no readings", ZoneID: "Z"},
	)
	// Two days at 1%/h: B1 at 40% now, B2 emptied a day ago.
	st.add(rising("B1", svcNow, 96, 0.0, 0.01)[56:])
	st.add(rising("B2", svcNow, 48, 0.1, 0.012))
	st.gate = make(chan struct{})
	s := startService(t, st, ServiceOptions{})

	ctx := context.Background()
	if _, err := s.Forecast(ctx, "B1"); !civic.IsKind(err, civic.Unavailable) {
		t.Fatalf("before the first training: err %v, want unavailable", err)
	}
	close(st.gate)
	waitFor(t, "the first training", trainedOnce(s))

	f, err := s.Forecast(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if f.BinID != "B1" || !f.Now.Equal(svcNow) || f.Threshold != civic.DefaultFullThreshold {
		t.Errorf("forecast %+v: wrong bin, now or threshold", f)
	}
	if f.FullAt == nil || f.FullAtLow == nil || f.FullAtHigh == nil || f.HoursToFull == nil {
		t.Fatalf("forecast %+v: want full_at and its band", f)
	}
	if f.FullAtLow.After(*f.FullAt) || f.FullAt.After(*f.FullAtHigh) {
		t.Errorf("band %v .. %v does not hold %v", f.FullAtLow, f.FullAtHigh, f.FullAt)
	}
	// 40% now at about 1%/h: the threshold of 90% in about two days.
	if h := *f.HoursToFull; h < 25 || h > 100 {
		t.Errorf("hours to full %.1f, want about 50", h)
	}
	if got := f.FullAt.Sub(f.Now).Hours(); got-*f.HoursToFull > 0.01 || *f.HoursToFull-got > 0.01 {
		t.Errorf("full_at - now = %.2f h, hours_to_full %.2f", got, *f.HoursToFull)
	}
	if f.Samples == 0 || f.RatePerHour <= 0 || f.HorizonHours != 14*24 {
		t.Errorf("forecast %+v: want samples, a positive rate and the default horizon", f)
	}

	if _, err := s.Forecast(ctx, "nope"); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("unknown bin: err %v, want not_found", err)
	}
	if _, err := s.Forecast(ctx, "B3"); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("bin without readings: err %v, want not_found", err)
	}

	// A bin created after the training, with a state but no reading the
	// model saw: the forecast starts from the state with the pool's rate.
	fill := 0.5
	st.mu.Lock()
	st.bins["B4"] = civic.BinView{Bin: civic.Bin{ID: "B4", Name: "new", ZoneID: "Z", FullThreshold: 0.9},
		State: &civic.BinState{BinID: "B4", Time: svcNow.Add(-time.Minute), Fill: &fill}}
	st.mu.Unlock()
	f, err = s.Forecast(ctx, "B4")
	if err != nil {
		t.Fatal(err)
	}
	if f.Fill != 0.5 || f.Confidence != 0 || f.FullAt == nil {
		t.Errorf("new bin: %+v, want fill 0.5 from its state, confidence 0 and a full_at", f)
	}

	// A threshold changed after the training is used at once.
	st.mu.Lock()
	v := st.bins["B1"]
	v.FullThreshold = 0.5
	st.bins["B1"] = v
	st.mu.Unlock()
	f2, err := s.Forecast(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if f2.Threshold != 0.5 || f2.HoursToFull == nil || *f2.HoursToFull >= *f.HoursToFull {
		t.Errorf("after lowering the threshold: %+v", f2)
	}
}

func TestServiceAlreadyFullAndBeyond(t *testing.T) {
	st := newMemStore(civic.Bin{ID: "F", Name: "full"}, civic.Bin{ID: "S", Name: "slow"})
	st.add(rising("F", svcNow, 20, 0.80, 0.02)) // 0.99 now
	// Flat at 0.1: no rise within the horizon.
	flat := rising("S", svcNow, 200, 0.1, 0)
	for i := range flat {
		v := 0.1 + 0.0001*float64(i%2)
		flat[i].Fill = &v
	}
	st.add(flat)
	s := startService(t, st, ServiceOptions{Model: Options{Horizon: 24 * time.Hour}})
	waitFor(t, "the first training", trainedOnce(s))
	f, err := s.Forecast(context.Background(), "F")
	if err != nil {
		t.Fatal(err)
	}
	if f.FullAt == nil || !f.FullAt.Equal(svcNow) || f.HoursToFull == nil || *f.HoursToFull != 0 {
		t.Errorf("full bin: %+v, want full_at now", f)
	}
	f, err = s.Forecast(context.Background(), "S")
	if err != nil {
		t.Fatal(err)
	}
	if f.FullAt != nil || f.HoursToFull != nil || f.HorizonHours != 24 {
		t.Errorf("slow bin: %+v, want no full_at within the 24 h horizon", f)
	}
}

// TestServiceObserve checks that readings observed after the training, and
// during it, reach the model.
func TestServiceObserve(t *testing.T) {
	st := newMemStore(civic.Bin{ID: "B1", Name: "one"}, civic.Bin{ID: "B2", Name: "two"})
	st.add(rising("B1", svcNow.Add(-24*time.Hour), 48, 0.0, 0.015))
	st.gate = make(chan struct{})
	now := svcNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := startService(t, st, ServiceOptions{Now: clock})

	// During the training: B2's first readings, which the store does not
	// have (as if committed after the training read its window).
	s.Observe(rising("B2", svcNow.Add(-12*time.Hour), 10, 0.0, 0.02))
	waitFor(t, "the backlog", func() bool { return s.Stats().Observed == 10 })
	close(st.gate)
	waitFor(t, "the first training", trainedOnce(s))
	ctx := context.Background()
	f, err := s.Forecast(ctx, "B2")
	if err != nil {
		t.Fatalf("B2 after the training: %v", err)
	}
	if f.Samples == 0 {
		t.Errorf("B2: %+v, want the observed readings counted", f)
	}

	// After the training: B1 was emptied and fills again.
	before, err := s.Forecast(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	rs := rising("B1", svcNow, 12, 0.05, 0.015)
	// Junk the service must skip: no bin, no fill, out of range.
	bad := 1.5
	rs = append(rs, civic.Reading{Device: "x", Time: svcNow}, civic.Reading{Bin: "B1", Time: svcNow},
		civic.Reading{Bin: "B1", Time: svcNow, Fill: &bad})
	s.Observe(rs)
	waitFor(t, "the observed readings", func() bool { return s.Stats().Observed == 22 })
	after, err := s.Forecast(ctx, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if !(after.Fill < 0.3 && before.Fill > 0.5) {
		t.Errorf("fill before %.2f, after the emptying %.2f", before.Fill, after.Fill)
	}
}

// TestServiceRetrain checks the early retraining once the model has seen
// as many new readings as it was trained on, and that a full queue drops
// batches and asks for a retraining.
func TestServiceRetrain(t *testing.T) {
	st := newMemStore(civic.Bin{ID: "B1", Name: "one"})
	st.add(rising("B1", svcNow.Add(-6*time.Hour), 10, 0.0, 0.01))
	s := startService(t, st, ServiceOptions{MinGrowth: 5, MinGap: time.Nanosecond})
	waitFor(t, "the first training", trainedOnce(s))
	if got := s.Stats().Readings; got != 10 {
		t.Fatalf("trained on %d readings, want 10", got)
	}
	more := rising("B1", svcNow, 12, 0.06, 0.01)
	st.add(more)
	s.Observe(more)
	waitFor(t, "the second training", func() bool { return s.Stats().Trainings >= 2 })
	if got := s.Stats().Readings; got != 22 {
		t.Errorf("retrained on %d readings, want 22", got)
	}

	// Not started: the queue of one batch fills and the rest is dropped.
	q := NewService(st, st, ServiceOptions{QueueLen: 1})
	q.Observe(more)
	q.Observe(more)
	q.Observe(more)
	if got := q.Stats().Dropped; got != 2 {
		t.Errorf("dropped %d batches, want 2", got)
	}
	if err := q.Close(context.Background()); err != nil {
		t.Errorf("Close without Start: %v", err)
	}
	q.Observe(more) // after Close: ignored, no panic
}

// TestServiceRetrainAfterGap checks that readings observed before MinGap
// is up still bring the early retraining when no batch follows them.
func TestServiceRetrainAfterGap(t *testing.T) {
	st := newMemStore(civic.Bin{ID: "B1", Name: "one"})
	st.add(rising("B1", svcNow.Add(-6*time.Hour), 10, 0.0, 0.01))
	s := startService(t, st, ServiceOptions{MinGrowth: 5, MinGap: 300 * time.Millisecond})
	waitFor(t, "the first training", trainedOnce(s))
	more := rising("B1", svcNow, 12, 0.06, 0.01)
	st.add(more)
	s.Observe(more) // within MinGap of the first training's end: no retraining yet
	if got := s.Stats().Trainings; got != 1 {
		t.Fatalf("%d trainings at once, want 1 until MinGap is up", got)
	}
	waitFor(t, "the retraining once MinGap is up", func() bool { return s.Stats().Trainings >= 2 })
	if got := s.Stats().Readings; got != 22 {
		t.Errorf("retrained on %d readings, want 22", got)
	}
}

// TestServiceCloseDuringTraining checks that Close cancels a training that
// waits on the store.
func TestServiceCloseDuringTraining(t *testing.T) {
	st := newMemStore(civic.Bin{ID: "B1", Name: "one"})
	st.gate = make(chan struct{})
	s := NewService(st, st, ServiceOptions{Now: func() time.Time { return svcNow }, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the training to start", func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.lists > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Forecast(ctx, "B1"); !civic.IsKind(err, civic.Unavailable) {
		t.Errorf("after Close without a model: %v, want unavailable", err)
	}
}

// foldingStore is a memStore that, like the store on SQLite, keeps its
// newest readings apart and can fold them into the devices' histories.
type foldingStore struct {
	*memStore
	folds       atomic.Int32
	readsBefore atomic.Int32 // Readings calls before the first fold
	err         error        // what FoldReadings returns
}

func (f *foldingStore) FoldReadings(context.Context) error {
	f.folds.Add(1)
	return f.err
}

func (f *foldingStore) Readings(ctx context.Context, q civic.ReadingQuery) ([]civic.Reading, error) {
	if f.folds.Load() == 0 {
		f.readsBefore.Add(1)
	}
	return f.memStore.Readings(ctx, q)
}

// TestServiceFoldsBeforeTraining: a training that reads every device's
// history from a store that can fold its newest readings folds them first,
// once, so that each device's read seeks.
func TestServiceFoldsBeforeTraining(t *testing.T) {
	st := &foldingStore{memStore: newMemStore(civic.Bin{ID: "B1", Name: "one", ZoneID: "Z"}, civic.Bin{ID: "B2", Name: "two", ZoneID: "Z"})}
	st.add(rising("B1", svcNow, 48, 0, 0.01))
	st.add(rising("B2", svcNow, 48, 0.2, 0.01))
	s := NewService(st, st, ServiceOptions{Now: func() time.Time { return svcNow }, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	waitFor(t, "the first training", trainedOnce(s))
	if n := st.folds.Load(); n != 1 {
		t.Errorf("%d folds in a training, want 1", n)
	}
	if n := st.readsBefore.Load(); n != 0 {
		t.Errorf("%d devices read before the fold, want 0", n)
	}

	// A fold that fails makes the reads slower, not wrong: the training
	// goes on.
	failing := &foldingStore{memStore: st.memStore, err: errors.New("disk I/O error")}
	s2 := NewService(failing, failing, ServiceOptions{Now: func() time.Time { return svcNow }, Logger: slog.New(slog.DiscardHandler)})
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s2.Close(context.Background())
	waitFor(t, "a training after a failed fold", trainedOnce(s2))
	if got := s2.Stats().Bins; got != 2 {
		t.Errorf("trained on %d bins after a failed fold, want 2", got)
	}
}
