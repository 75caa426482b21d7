package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
)

// DeviceSource looks devices up in the registry; civic.AssetStore satisfies
// it. Device fails with a civic.NotFound error for an unknown id.
type DeviceSource interface {
	Device(ctx context.Context, id string) (civic.Device, error)
}

// WriterOptions configures a Writer. Zero values take the defaults.
type WriterOptions struct {
	// MaxRows caps the readings committed in one transaction; batches are
	// never split, so one batch larger than MaxRows commits alone.
	// Default 20,000.
	MaxRows int
	// QueueLen is how many batches may wait for the commit loop before
	// Ingest blocks (back-pressure). Default 4,096.
	QueueLen int
	// DeviceTTL is how long a device found in the registry is cached:
	// changes to devices are seen within it, or at once when whoever
	// changes a device calls ForgetDevice. An unknown device is cached for
	// at most unknownDeviceTTL, so that a device registered after its first
	// attempt gets in soon. Default 1 min.
	DeviceTTL time.Duration
	// Now is the clock that bounds sensor timestamps and expires the device
	// cache. Default time.Now.
	Now func() time.Time
	// CacheNow, if set, expires the device cache instead of Now: the demo
	// bounds sensor times by its faster simulated clock, while DeviceTTL
	// stays real time.
	CacheNow func() time.Time
	// OnCommit, if set, is called by the commit loop after each commit,
	// once for every batch the commit stored, with that batch's normalized
	// readings (duplicates included). It runs before the next commit starts,
	// so it must be quick: hand the work to another goroutine. It must not
	// modify the slice.
	OnCommit func([]civic.Reading)
	// Logger receives commit failures. Default slog.Default().
	Logger *slog.Logger
}

// Writer validates readings against the device registry and commits them
// with group commit: one goroutine gathers the batches of all concurrent
// callers and stores them in one transaction, then answers each caller with
// its own result. Ingest returns only after its readings are committed, so
// whatever a sender sees acknowledged is durable.
//
// Lifecycle (package lifecycle): NewWriter, then Start (or Run in a
// goroutine of one's own), Ingest from any number of goroutines, and Close,
// which drains what was accepted. A Writer runs once.
type Writer struct {
	store   civic.ReadingStore
	devices DeviceSource
	opts    WriterOptions
	now     func() time.Time
	log     *slog.Logger

	queue chan *request

	mu      sync.RWMutex // guards closed against pending.Add
	closed  bool
	pending sync.WaitGroup // batches accepted and not yet answered

	// life runs the commit loop; Close stops it once everything accepted
	// is answered.
	life *lifecycle.Group

	cacheMu sync.RWMutex
	cache   map[string]cachedDevice

	accepted, duplicates, rejected  atomic.Int64
	batches, commits, commitErrors  atomic.Int64
	commitNanos, maxCommitNanos     atomic.Int64
	lastCommitRows, maxCommitGroups atomic.Int64
}

type request struct {
	readings []civic.Reading
	done     chan response // buffered: the loop never waits for a caller
}

type response struct {
	res civic.IngestResult
	err error
}

type cachedDevice struct {
	dev     civic.Device
	err     error
	expires time.Time
}

// maxCachedDevices bounds the device cache; past it the cache starts over,
// so a flood of made-up device ids cannot grow it without limit.
const maxCachedDevices = 200_000

// maxYields bounds how many times the commit loop lets other goroutines
// run to gather a bigger group.
const maxYields = 4

// unknownDeviceTTL caps how long "no such device" is cached.
const unknownDeviceTTL = 5 * time.Second

// NewWriter returns a Writer that stores readings in store and looks
// devices up in devices. It does nothing until Start or Run.
func NewWriter(store civic.ReadingStore, devices DeviceSource, opts WriterOptions) *Writer {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 20_000
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 4096
	}
	if opts.DeviceTTL <= 0 {
		opts.DeviceTTL = time.Minute
	}
	w := &Writer{
		store:   store,
		devices: devices,
		opts:    opts,
		now:     opts.Now,
		log:     opts.Logger,
		queue:   make(chan *request, opts.QueueLen),
		life:    lifecycle.New("ingest writer"),
		cache:   make(map[string]cachedDevice),
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	return w
}

// Start runs the commit loop in a new goroutine until Close (see package
// lifecycle). ctx is not used: the loop's store calls run until Close. It
// fails when the Writer was started or closed before.
func (w *Writer) Start(ctx context.Context) error {
	return w.life.Start(func() error {
		w.life.Go("commit loop", w.loop)
		return nil
	})
}

// Run is Start, then waits: it returns nil once Close has drained the
// accepted batches, or ctx's error when ctx ends first; then the loop stops
// as when Close gives up (batches still waiting fail with
// civic.Unavailable and are not stored). For callers that run the writer
// in a goroutine of their own.
func (w *Writer) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	select {
	case <-w.life.Done():
		return nil
	case <-ctx.Done():
		_ = w.Close(ctx) // ctx has ended: refuses, cancels the loop, returns at once
		<-w.life.Done()
		return ctx.Err()
	}
}

// loop is the commit loop: it commits what Ingest queues until stop, when
// everything accepted has been answered, or until ctx ends (Close gave
// up), when it fails what is still queued.
func (w *Writer) loop(ctx context.Context, stop <-chan struct{}) error {
	group := make([]*request, 0, 64)
	for {
		var first *request
		select {
		case first = <-w.queue:
		case <-stop:
			return nil
		case <-ctx.Done():
			w.abort()
			return ctx.Err()
		}
		group = append(group[:0], first)
		rows := len(first.readings)
		for yields, seen := 0, 0; rows < w.opts.MaxRows; {
			select {
			case r := <-w.queue:
				group = append(group, r)
				rows += len(r.readings)
				continue
			default:
			}
			// The queue is empty. Goroutines that are ready to run may be
			// about to add to it (on a busy machine, callers the last commit
			// answered and that already have their next batch): let them
			// run first, as long as that brings more batches. A commit costs
			// about the same for one batch as for dozens, so this saves
			// store work; on an idle machine nothing is ready, and yielding
			// returns at once.
			if yields == maxYields || yields > 0 && len(group) == seen {
				break
			}
			yields++
			seen = len(group)
			runtime.Gosched()
		}
		w.commit(ctx, group, rows)
		clear(group)
	}
}

// abort refuses new work and fails the batches still queued.
func (w *Writer) abort() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	for {
		select {
		case r := <-w.queue:
			r.done <- response{err: errShuttingDown()}
			w.pending.Done()
		default:
			return
		}
	}
}

func errShuttingDown() error {
	return civic.Errorf(civic.Unavailable, "ingest is shutting down; try again")
}

// Close stops accepting readings (Ingest then fails with civic.Unavailable),
// waits until every batch already accepted is committed and answered, and
// stops the commit loop. If ctx ends first, Close stops the loop, fails
// what is still queued and returns ctx's error.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		w.pending.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
	}
	// With ctx ended, this cancels the loop's context: the loop fails what
	// is queued.
	return w.life.Close(ctx)
}

// Ingest validates readings against the registry, normalizes them (fill to
// a 0..1 fraction in the device's scale, time to UTC milliseconds, Bin from
// the device) and returns after they are committed. It does not modify
// readings.
//
// Errors: civic.Invalid naming the first bad reading's field, e.g.
// "readings[3].fill" or "readings[0].device" for an unknown, inactive or
// removed device — nothing of the batch is stored; civic.TooLarge for more
// than civic.MaxBatch readings; civic.Unavailable when the Writer is closed;
// ctx's error if ctx ends first (the batch may still be committed:
// resending is safe, duplicates are recognised); civic.Unavailable when the
// registry lookup or the commit fails (the store's own civic error kind is
// kept when it has one).
func (w *Writer) Ingest(ctx context.Context, readings []civic.Reading) (civic.IngestResult, error) {
	if len(readings) == 0 {
		return civic.IngestResult{}, nil
	}
	if len(readings) > civic.MaxBatch {
		w.rejected.Add(int64(len(readings)))
		return civic.IngestResult{}, &civic.Error{Kind: civic.TooLarge, Field: "readings",
			Message: fmt.Sprintf("more than %d readings in one batch", civic.MaxBatch)}
	}
	if w.isClosed() {
		return civic.IngestResult{}, errShuttingDown()
	}
	batch, err := w.normalize(ctx, readings)
	if err != nil {
		if civic.IsKind(err, civic.Invalid) {
			w.rejected.Add(int64(len(readings)))
		}
		return civic.IngestResult{}, err
	}

	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return civic.IngestResult{}, errShuttingDown()
	}
	w.pending.Add(1)
	w.mu.RUnlock()

	req := &request{readings: batch, done: make(chan response, 1)}
	select {
	case w.queue <- req:
	case <-ctx.Done():
		w.pending.Done()
		return civic.IngestResult{}, ctx.Err()
	case <-w.life.Done():
		w.pending.Done()
		return civic.IngestResult{}, errShuttingDown()
	}
	select {
	case resp := <-req.done:
		return resp.res, resp.err
	case <-ctx.Done():
		return civic.IngestResult{}, ctx.Err()
	case <-w.life.Done():
		select {
		case resp := <-req.done:
			return resp.res, resp.err
		default:
			return civic.IngestResult{}, errShuttingDown()
		}
	}
}

func (w *Writer) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}

// normalize returns a validated copy of readings.
func (w *Writer) normalize(ctx context.Context, readings []civic.Reading) ([]civic.Reading, error) {
	now := w.now()
	expiry := now // the device cache's clock
	if w.opts.CacheNow != nil {
		expiry = w.opts.CacheNow()
	}
	out := make([]civic.Reading, len(readings))
	copy(out, readings)
	var (
		lastID  string
		lastDev civic.Device
	)
	for i := range out {
		r := &out[i]
		if r.Device != lastID || lastID == "" {
			c, ok := w.cached(r.Device, expiry)
			if !ok {
				// Only valid ids are cached: a cached one needs no check.
				if err := civic.ValidateID("device", r.Device); err != nil {
					return nil, civic.PrefixField(readingField(i), err)
				}
				c.dev, c.err = w.lookup(ctx, r.Device, expiry)
			}
			dev, err := c.dev, c.err
			if err != nil {
				if civic.IsKind(err, civic.NotFound) {
					return nil, civic.FieldError(fieldName(i, "device"), "unknown device %q", r.Device)
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if !isCivicError(err) || civic.IsKind(err, civic.Internal) {
					err = civic.Wrap(civic.Unavailable, err, "the device registry is unavailable; try again")
				}
				return nil, err
			}
			switch dev.Status {
			case civic.StatusRemoved, civic.StatusInactive:
				return nil, civic.FieldError(fieldName(i, "device"), "device %q is %s", r.Device, dev.Status)
			}
			lastID, lastDev = r.Device, dev
		}
		scale := lastDev.FillScale
		if scale == "" {
			scale = civic.ScaleFraction
		}
		if err := r.Normalize(scale, now); err != nil {
			return nil, civic.PrefixField(readingField(i), err)
		}
		r.Bin = lastDev.BinID
	}
	return out, nil
}

// cached returns what the cache holds about device id, if still fresh.
func (w *Writer) cached(id string, now time.Time) (cachedDevice, bool) {
	w.cacheMu.RLock()
	c, ok := w.cache[id]
	w.cacheMu.RUnlock()
	return c, ok && now.Before(c.expires)
}

// lookup reads device id, a valid id, from the registry and caches the
// answer: a device for DeviceTTL, "not found" for at most
// unknownDeviceTTL. Other lookup errors are not cached.
func (w *Writer) lookup(ctx context.Context, id string, now time.Time) (civic.Device, error) {
	dev, err := w.devices.Device(ctx, id)
	ttl := w.opts.DeviceTTL
	if err != nil {
		if !civic.IsKind(err, civic.NotFound) {
			return civic.Device{}, err
		}
		ttl = min(ttl, unknownDeviceTTL)
	}
	w.cacheMu.Lock()
	if len(w.cache) >= maxCachedDevices {
		clear(w.cache)
	}
	w.cache[id] = cachedDevice{dev: dev, err: err, expires: now.Add(ttl)}
	w.cacheMu.Unlock()
	return dev, err
}

// ForgetDevice drops what the Writer has cached about device id (about
// every device when id is empty), so that the next reading of that device
// is checked against the registry again. Whoever creates, changes or
// deletes a device calls it to have the change apply at once rather than
// within DeviceTTL.
func (w *Writer) ForgetDevice(id string) {
	w.cacheMu.Lock()
	defer w.cacheMu.Unlock()
	if id == "" {
		clear(w.cache)
		return
	}
	delete(w.cache, id)
}

// commit stores a group of batches in one transaction and answers their
// callers.
func (w *Writer) commit(ctx context.Context, group []*request, rows int) {
	batches := make([][]civic.Reading, len(group))
	for i, r := range group {
		batches[i] = r.readings
	}
	start := time.Now()
	results, err := w.store.WriteReadings(ctx, batches)
	if err == nil && len(results) != len(batches) {
		err = fmt.Errorf("ingest: store returned %d results for %d batches", len(results), len(batches))
	}
	elapsed := time.Since(start)
	w.commits.Add(1)
	w.commitNanos.Add(int64(elapsed))
	if int64(elapsed) > w.maxCommitNanos.Load() {
		w.maxCommitNanos.Store(int64(elapsed))
	}
	w.lastCommitRows.Store(int64(rows))
	if int64(len(group)) > w.maxCommitGroups.Load() {
		w.maxCommitGroups.Store(int64(len(group)))
	}

	if err != nil && len(group) > 1 && (civic.IsKind(err, civic.Invalid) || civic.IsKind(err, civic.Conflict)) {
		// One batch the store refused must not fail its neighbours: commit
		// each on its own.
		for _, r := range group {
			w.commit(ctx, []*request{r}, len(r.readings))
		}
		return
	}
	if err != nil {
		w.commitErrors.Add(1)
		w.log.Error("ingest commit failed", "batches", len(group), "readings", rows, "err", err)
		if !isCivicError(err) || civic.IsKind(err, civic.Internal) {
			err = civic.Wrap(civic.Unavailable, err, "could not store the readings; try again")
		}
		for _, r := range group {
			r.done <- response{err: err}
			w.pending.Done()
		}
		return
	}
	for i, r := range group {
		w.accepted.Add(int64(results[i].Accepted))
		w.duplicates.Add(int64(results[i].Duplicates))
		w.batches.Add(1)
		r.done <- response{res: results[i]}
		w.pending.Done()
	}
	if w.opts.OnCommit != nil {
		for _, r := range group {
			w.opts.OnCommit(r.readings)
		}
	}
}

func isCivicError(err error) bool {
	var e *civic.Error
	return errors.As(err, &e)
}

// WriterStats is a snapshot of a Writer's counters, named for Prometheus
// export (counters only grow).
type WriterStats struct {
	ReadingsAccepted   int64   // civic_ingest_readings_total{result="accepted"}: newly stored
	ReadingsDuplicate  int64   // civic_ingest_readings_total{result="duplicate"}: already stored
	ReadingsRejected   int64   // civic_ingest_readings_total{result="rejected"}: in batches that failed validation
	Batches            int64   // civic_ingest_batches_total: caller batches committed
	Commits            int64   // civic_ingest_commits_total: store transactions attempted
	CommitErrors       int64   // civic_ingest_commit_errors_total
	CommitSeconds      float64 // civic_ingest_commit_seconds_sum: time spent in the store
	MaxCommitSeconds   float64 // the slowest commit so far
	MaxBatchesInCommit int64   // the most caller batches grouped in one commit
	Queued             int     // batches waiting for the commit loop now (a gauge)
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{
		ReadingsAccepted:   w.accepted.Load(),
		ReadingsDuplicate:  w.duplicates.Load(),
		ReadingsRejected:   w.rejected.Load(),
		Batches:            w.batches.Load(),
		Commits:            w.commits.Load(),
		CommitErrors:       w.commitErrors.Load(),
		CommitSeconds:      time.Duration(w.commitNanos.Load()).Seconds(),
		MaxCommitSeconds:   time.Duration(w.maxCommitNanos.Load()).Seconds(),
		MaxBatchesInCommit: w.maxCommitGroups.Load(),
		Queued:             len(w.queue),
	}
}

var _ civic.Ingester = (*Writer)(nil)
