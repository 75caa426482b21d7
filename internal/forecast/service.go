package forecast

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
)

// BinSource is what a Service reads of the asset registry;
// civic.AssetStore satisfies it. Bin fails with a civic.NotFound error for
// an unknown id.
type BinSource interface {
	Bin(ctx context.Context, id string) (civic.BinView, error)
	ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error)
	ListDevices(ctx context.Context) ([]civic.Device, error)
}

// ReadingSource is what a Service reads of the telemetry;
// civic.ReadingStore satisfies it.
type ReadingSource interface {
	Readings(ctx context.Context, q civic.ReadingQuery) ([]civic.Reading, error)
}

// ServiceOptions configure a Service. Zero values take the defaults noted.
type ServiceOptions struct {
	// Model tunes the model (time zone, horizon, ...).
	Model Options
	// Window is how much history a training reads: the readings of the
	// last Window before the clock's now. Default 28 days.
	Window time.Duration
	// Retrain is how often, in real time, the model is retrained from the
	// store to refresh its pools and profiles and forget readings older
	// than Window. Besides, a model is retrained once it has observed as
	// many new readings as it was trained on (at least MinGrowth), but not
	// sooner than MinGap after the previous training: a server that starts
	// with little history (a new city, the demo) gets pools learnt from
	// real data within minutes. Default 6 h.
	Retrain time.Duration
	// MinGrowth is the least number of observed readings that triggers an
	// early retraining (see Retrain). Default 10,000.
	MinGrowth int
	// MinGap is the least real time between the end of a training and the
	// start of an early one. Default 1 min.
	MinGap time.Duration
	// Loaders is how many devices a training reads from the store at
	// once. Default 1: a training is background work and should leave the
	// other cores to ingest and requests; on a 2-core machine with SQLite
	// two loaders were no faster. More may pay on PostgreSQL.
	Loaders int
	// QueueLen is how many batches Observe may queue for the model before
	// it drops batches (and schedules a retraining that reads them from
	// the store). Default 1,024.
	QueueLen int
	// Now is the clock forecasts are made from and the window ends at.
	// Default time.Now.
	Now func() time.Time
	// Logger receives training reports and failures. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o ServiceOptions) withDefaults() ServiceOptions {
	if o.Window <= 0 {
		o.Window = 28 * 24 * time.Hour
	}
	if o.Retrain <= 0 {
		o.Retrain = 6 * time.Hour
	}
	if o.MinGrowth <= 0 {
		o.MinGrowth = 10_000
	}
	if o.MinGap <= 0 {
		o.MinGap = time.Minute
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 1024
	}
	if o.Loaders <= 0 {
		o.Loaders = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Model = o.Model.withDefaults()
	return o
}

// maxBacklog bounds the readings a Service keeps for the model being
// trained; past it they are dropped and another training follows.
const maxBacklog = 2_000_000

// Service keeps a trained Model current for a running server and answers
// forecasts (civic.Forecaster). It trains in the background from the store
// (the readings of the last Window), applies the readings Observe is given
// as they commit, and retrains now and then.
//
// It is the package's one stateful part: the model stays pure, and the
// Service reaches the store only through the interfaces it is given and
// the time only through ServiceOptions.Now (and a real-time ticker for
// Retrain).
//
// Lifecycle (package lifecycle): NewService, Start, then Observe and Forecast from any
// goroutine, and Close. Forecast fails with civic.Unavailable until the
// first training ends. A Service runs once.
type Service struct {
	bins     BinSource
	readings ReadingSource
	opts     ServiceOptions
	log      *slog.Logger

	current atomic.Pointer[trained]
	queue   chan []obs
	wake    chan struct{} // asks the loop for a retraining
	life    *lifecycle.Group

	dropped atomic.Int64 // batches Observe could not queue

	statsMu sync.Mutex
	stats   ServiceStats
}

// trained is a model with the bin settings it was last given, so that a
// bin edited after training is updated in the model when it is asked for.
type trained struct {
	m    *Model
	mu   sync.Mutex
	bins map[string]civic.Bin
}

// obs is one fill reading waiting for the model.
type obs struct {
	bin  string
	t    time.Time
	fill float64
}

// ServiceStats describe a Service's trainings.
type ServiceStats struct {
	Trainings    int           // trainings completed
	LastTrained  time.Time     // the clock's now when the last training read its window
	LastDuration time.Duration // how long the last training took, reading included
	LastLoad     time.Duration // of which reading the store
	Bins         int           // bins in the last training
	Readings     int           // fill readings it was trained on
	Observed     int           // fill readings observed since
	Dropped      int64         // batches Observe dropped because the queue was full
}

// NewService returns a Service over the registry and the telemetry. It
// does nothing until Start.
func NewService(bins BinSource, readings ReadingSource, opts ServiceOptions) *Service {
	opts = opts.withDefaults()
	return &Service{
		bins:     bins,
		readings: readings,
		opts:     opts,
		log:      opts.Logger,
		queue:    make(chan []obs, opts.QueueLen),
		wake:     make(chan struct{}, 1),
		life:     lifecycle.New("forecast service"),
	}
}

// Start begins the first training in the background and the loop that
// applies observed readings and retrains (see package lifecycle); ctx is
// not used. It fails when the Service was started or closed before.
func (s *Service) Start(ctx context.Context) error {
	return s.life.Start(func() error {
		s.life.Go("train", s.run)
		return nil
	})
}

// Close stops the Service: it cancels a training in progress and waits for
// the loop to end, or for ctx. Readings still queued are dropped: the next
// start trains from the store, which holds them.
func (s *Service) Close(ctx context.Context) error { return s.life.Close(ctx) }

// Observe hands committed readings to the model: those with a Bin and a
// Fill in 0..1. It copies what it needs and never blocks, so it may run in
// the ingest writer's commit hook; when the queue is full the batch is
// dropped and a retraining, which reads it from the store, is scheduled.
func (s *Service) Observe(readings []civic.Reading) {
	var batch []obs
	for i := range readings {
		r := &readings[i]
		if r.Bin == "" || r.Fill == nil || !(*r.Fill >= 0 && *r.Fill <= 1) {
			continue
		}
		if batch == nil {
			batch = make([]obs, 0, len(readings)-i)
		}
		batch = append(batch, obs{bin: r.Bin, t: r.Time, fill: *r.Fill})
	}
	if len(batch) == 0 {
		return
	}
	select {
	case <-s.life.Stopping():
		return
	default:
	}
	select {
	case s.queue <- batch:
	default:
		s.dropped.Add(1)
		s.requestRetrain()
	}
}

func (s *Service) requestRetrain() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the Service's trainings.
func (s *Service) Stats() ServiceStats {
	s.statsMu.Lock()
	st := s.stats
	s.statsMu.Unlock()
	st.Dropped = s.dropped.Load()
	return st
}

// Forecast forecasts bin binID from the clock's now: from the fill the
// model estimates from the bin's readings, or from the bin's latest state
// when the model holds no reading of it (a bin created or first heard of
// since the training). A bin whose settings (threshold, zone, stream,
// compacting) changed since the training is updated in the model first.
// Errors: NotFound for an unknown bin or one without any fill reading;
// Unavailable until the first training ends.
func (s *Service) Forecast(ctx context.Context, binID string) (civic.Forecast, error) {
	v, err := s.bins.Bin(ctx, binID)
	if err != nil {
		return civic.Forecast{}, err
	}
	tr := s.current.Load()
	if tr == nil {
		return civic.Forecast{}, civic.Errorf(civic.Unavailable, "forecasts are not ready yet: the model is still training")
	}
	tr.sync(v.Bin)
	now := s.opts.Now()
	p, err := tr.m.PredictLatest(binID, now)
	if civic.IsKind(err, civic.NotFound) && v.State != nil && v.State.Fill != nil {
		p, err = tr.m.Predict(binID, now, *v.State.Fill)
	}
	if civic.IsKind(err, civic.NotFound) {
		return civic.Forecast{}, civic.Errorf(civic.NotFound, "bin %q has no fill reading to forecast from", binID)
	}
	if err != nil {
		return civic.Forecast{}, err
	}
	return toForecast(p, s.opts.Model.Horizon), nil
}

// sync gives the model b's settings if they changed since it last had them.
func (t *trained) sync(b civic.Bin) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.bins[b.ID]
	if ok && old.FullThreshold == b.FullThreshold && old.ZoneID == b.ZoneID &&
		old.Stream == b.Stream && old.Compacting == b.Compacting {
		return
	}
	t.m.SetBin(b)
	t.bins[b.ID] = b
}

// toForecast turns a prediction into the domain's forecast: instants capped
// at the horizon become nil.
func toForecast(p Prediction, horizon time.Duration) civic.Forecast {
	limit := p.Now.Add(horizon)
	at := func(t time.Time) *time.Time {
		if !t.Before(limit) {
			return nil
		}
		t = t.UTC()
		return &t
	}
	f := civic.Forecast{
		BinID:        p.BinID,
		Now:          p.Now.UTC(),
		Fill:         p.Fill,
		Threshold:    p.Threshold,
		RatePerHour:  p.RatePerHour,
		FullAtLow:    at(p.FullAtLow),
		FullAtHigh:   at(p.FullAtHigh),
		HorizonHours: horizon.Hours(),
		Confidence:   p.Confidence,
		Samples:      p.Samples,
	}
	if !p.Beyond {
		f.FullAt = at(p.FullAt)
		if f.FullAt != nil {
			h := p.HoursToFull
			f.HoursToFull = &h
		}
	}
	return f
}

// trainResult is what a background training hands the loop.
type trainResult struct {
	tr       *trained
	bins     int
	readings int
	at       time.Time
	load     time.Duration
	took     time.Duration
	err      error
}

// run is the Service's loop: it owns the backlog and swaps trained models
// in. At stop it cancels the training in progress and waits for it.
func (s *Service) run(ctx context.Context, stop <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ticker := time.NewTicker(s.opts.Retrain)
	defer ticker.Stop()
	results := make(chan trainResult, 1)
	training := false
	var (
		backlog  []obs // observed while training, for the new model
		overflow bool  // the backlog overflowed: train again
		trainedN int   // readings the current model was trained on
		observed int   // readings observed since
		lastEnd  time.Time
		pending  bool // a retraining was asked for during one
	)
	begin := func() {
		if training {
			pending = true
			return
		}
		training, pending, overflow, backlog = true, false, false, nil
		go func() { results <- s.train(ctx) }()
	}
	// gap fires when an early retraining is due but waits for MinGap:
	// no later batch may come to ask again.
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	defer gap.Stop()
	early := func() {
		if training || observed < max(trainedN, s.opts.MinGrowth) {
			return
		}
		if wait := s.opts.MinGap - time.Since(lastEnd); wait > 0 {
			gap.Reset(wait)
			return
		}
		begin()
	}
	begin()
	for {
		select {
		case <-gap.C:
			early()
		case <-stop:
			// Cancel a training in progress and wait for it.
			cancel()
			if training {
				<-results
			}
			return nil
		case <-ticker.C:
			begin()
		case <-s.wake:
			begin()
		case batch := <-s.queue:
			// Take whatever else is queued: the model refits each bin
			// once per call.
			all := batch
		drain:
			for len(all) < 100_000 {
				select {
				case b := <-s.queue:
					all = append(all, b...)
				default:
					break drain
				}
			}
			if tr := s.current.Load(); tr != nil {
				tr.m.Observe(readingsOf(all))
			}
			if training {
				if len(backlog)+len(all) <= maxBacklog {
					backlog = append(backlog, all...)
				} else {
					overflow = true
				}
			}
			observed += len(all)
			s.statsMu.Lock()
			s.stats.Observed = observed
			s.statsMu.Unlock()
			early()
		case res := <-results:
			training = false
			lastEnd = time.Now()
			if res.err != nil {
				if ctx.Err() == nil {
					s.log.Error("forecast: training failed", "err", res.err)
				}
				continue
			}
			if len(backlog) > 0 {
				res.tr.m.Observe(readingsOf(backlog))
			}
			s.current.Store(res.tr)
			trainedN, observed = res.readings, len(backlog)
			backlog = nil
			s.statsMu.Lock()
			s.stats.Trainings++
			s.stats.LastTrained, s.stats.LastDuration, s.stats.LastLoad = res.at, res.took, res.load
			s.stats.Bins, s.stats.Readings, s.stats.Observed = res.bins, res.readings, observed
			s.statsMu.Unlock()
			s.log.Info("forecast: model trained", "bins", res.bins, "readings", res.readings,
				"window_from", res.at.Add(-s.opts.Window), "load", res.load.Round(time.Millisecond), "took", res.took.Round(time.Millisecond))
			if overflow || pending {
				begin()
			} else {
				early()
			}
		}
	}
}

// readingsOf turns queued observations into readings for Model.Observe.
func readingsOf(batch []obs) []civic.Reading {
	fills := make([]float64, len(batch))
	rs := make([]civic.Reading, len(batch))
	for i, o := range batch {
		fills[i] = o.fill
		rs[i] = civic.Reading{Bin: o.bin, Time: o.t, Fill: &fills[i]}
	}
	return rs
}

// train reads the bins and the readings of the window and fits a model.
// Readings are read device by device, a few devices at once
// (ServiceOptions.Loaders): the store keeps them in (device, time) order,
// so a device's window is one range scan where a bin's costs a lookup per
// reading, and reading is most of a training's cost. Each reading counts
// for the bin it was taken on; only compact points are held. Readings of
// devices no longer in the registry are left out.
func (s *Service) train(ctx context.Context) trainResult {
	start := time.Now()
	now := s.opts.Now()
	res := trainResult{at: now}
	views, err := s.bins.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		res.err = err
		return res
	}
	devices, err := s.bins.ListDevices(ctx)
	if err != nil {
		res.err = err
		return res
	}
	bins := make([]civic.Bin, len(views))
	settings := make(map[string]civic.Bin, len(views))
	for i, v := range views {
		bins[i] = v.Bin
		settings[v.ID] = v.Bin
	}
	// A store that keeps its newest readings apart (SQLite) moves them to
	// their devices first, so that each device's read seeks; without that
	// the reads are slower, not wrong.
	if f, ok := s.readings.(civic.ReadingFolder); ok {
		if err := f.FoldReadings(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("forecast: moving the newest readings before training", "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(s.opts.Loaders, max(len(devices), 1))
	loaded := make([]map[string][]point, workers)
	var (
		next    atomic.Int64
		read    atomic.Int64 // fill readings read, before thinning
		wg      sync.WaitGroup
		errOnce sync.Once
	)
	for w := range workers {
		loaded[w] = map[string][]point{}
		wg.Add(1)
		go func(pts map[string][]point) {
			defer wg.Done()
			q := civic.ReadingQuery{From: now.Add(-s.opts.Window), To: now.Add(civic.MaxClockSkew)}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(devices) || ctx.Err() != nil {
					return
				}
				q.Device = devices[i].ID
				rs, err := s.readings.Readings(ctx, q)
				if err != nil {
					errOnce.Do(func() { res.err = err })
					cancel()
					return
				}
				var fills int64
				touched := map[string]bool{}
				for j := range rs {
					if r := &rs[j]; r.Bin != "" {
						if p, ok := pointOf(r); ok {
							pts[r.Bin] = append(pts[r.Bin], p)
							touched[r.Bin] = true
							fills++
						}
					}
				}
				// Thinned as they come (Resolution): what a training holds
				// is bounded by the bins and the window, not by how often
				// their sensors report.
				for bin := range touched {
					p := sortPoints(pts[bin])
					if cap(p) > 2*len(p)+64 { // not the unthinned array
						p = slices.Clone(p)
					}
					pts[bin] = p
				}
				read.Add(fills)
			}
		}(loaded[w])
	}
	wg.Wait()
	if res.err == nil {
		res.err = ctx.Err()
	}
	if res.err != nil {
		return res
	}
	pts := loaded[0]
	for _, more := range loaded[1:] {
		for id, p := range more {
			pts[id] = append(pts[id], p...)
		}
	}
	for id, p := range pts {
		p = sortPoints(p)
		pts[id] = p[:len(p):len(p)]
	}
	// Counted as read, so that the readings observed since (which trigger
	// an early retraining when as many) are compared with like.
	res.readings = int(read.Load())
	res.load = time.Since(start)
	res.bins = len(bins)
	res.tr = &trained{m: train(bins, pts, s.opts.Model), bins: settings}
	res.took = time.Since(start)
	return res
}

// FullAt is the forecast as the alert engine asks for it: when bin binID
// is expected to be full, seen from now. A bin not full within the
// horizon is reported full at the horizon's end; ok is false when there is
// no forecast, and the rule then decides nothing.
func (s *Service) FullAt(binID string, now time.Time, _ float64) (at time.Time, ok bool) {
	f, err := s.Forecast(context.Background(), binID)
	if err != nil {
		return time.Time{}, false
	}
	if f.FullAt == nil {
		return now.Add(time.Duration(f.HorizonHours * float64(time.Hour))), true
	}
	return *f.FullAt, true
}
