package alert

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
)

// Source is what the Engine reads of the asset registry and telemetry;
// *store.Store provides it.
type Source interface {
	ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error)
	ListDevices(ctx context.Context) ([]civic.Device, error)
	Readings(ctx context.Context, q civic.ReadingQuery) ([]civic.Reading, error)
}

// EngineOptions configure an Engine. Alerts and Source are required.
type EngineOptions struct {
	Alerts civic.AlertStore
	Source Source
	// Now is the clock of evaluations and alert times; time.Now when nil.
	Now func() time.Time
	// FullAt, if set, is the fill forecast: when bin binID, now fill full,
	// is expected to reach its threshold (a time far ahead when not within
	// the forecast's horizon); ok false when there is no forecast, and the
	// overflow_predicted rule then decides nothing. The Engine asks again
	// only after ForecastEvery or when the fill moved by 5 %, so it may be
	// a store lookup.
	FullAt func(binID string, now time.Time, fill float64) (at time.Time, ok bool)
	// ForecastEvery is how long a bin's forecast is reused; 15 minutes
	// by default.
	ForecastEvery time.Duration
	// OnChange, if set, is called after the Engine opened or resolved an
	// alert (to wake the Notifier, update live pages). It runs on the
	// Engine's goroutine: keep it quick.
	OnChange func(a civic.Alert, ev civic.AlertEvent)
	// QueueSize bounds the committed batches waiting for evaluation; 4096
	// by default. When it is full, batches are dropped (counted in Stats)
	// and the next sweep re-reads every bin's latest state.
	QueueSize int
	// SweepInterval is how often every bin is re-evaluated for the rules
	// that fire on absence (offline, door open); 1 minute by default.
	SweepInterval time.Duration
	// RefreshInterval is how often bins, devices, rules and unresolved
	// alerts are reloaded from the store; 5 minutes by default.
	RefreshInterval time.Duration
	// TouchInterval is how often a condition that keeps firing refreshes
	// its alert's LastSeenAt; 10 minutes by default.
	TouchInterval time.Duration
	// History is how far back the readings of a bin are loaded the first
	// time it reports after start-up; 48 hours by default.
	History time.Duration
	// StaleAfter: committed readings older than this (a backfill, a
	// gateway emptying its buffer) update what the Engine knows but are
	// not evaluated one batch at a time, so replaying history does not
	// open and resolve alerts for every past state; the next sweep
	// evaluates where the bin stands. 2 hours by default.
	StaleAfter time.Duration
	// Singleton, if set, makes the sweep a job for one node at a time
	// when several share a database: the Engine sweeps only while it
	// holds the lock named SweepLock. It asks for it at start and at
	// every sweep until it gets it, then keeps it until Close or until
	// lost is closed (the lock was lost; it asks again). ok is false when
	// another node holds it or the lock cannot be taken. Evaluation of
	// committed readings is not affected: every node evaluates its own.
	Singleton func(ctx context.Context, name string) (lost <-chan struct{}, release func(), ok bool)
	// Logger receives store failures; slog.Default() when nil.
	Logger *slog.Logger
}

// SweepLock is the name of the lock the sweep takes through
// EngineOptions.Singleton.
const SweepLock = "alert-sweep"

// EngineStats are the Engine's counters.
type EngineStats struct {
	Evaluated uint64 // bin evaluations
	Sweeps    uint64 // sweeps run (not those left to another node holding SweepLock)
	Opened    uint64 // alerts created
	Resolved  uint64 // alerts resolved because their condition cleared
	Dropped   uint64 // committed batches dropped because the queue was full
	Errors    uint64 // store failures
	Queued    int    // committed batches waiting to be evaluated now (a gauge)
}

// Engine evaluates the alert rules as readings commit and on a timer. Create
// it with NewEngine, feed it with OnCommit, Start it, and Close it after the
// ingest writer has closed.
type Engine struct {
	opts EngineOptions
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex // guards queue sends against Close
	closed bool
	queue  chan []civic.Reading
	life   *lifecycle.Group
	resync atomic.Bool
	assets atomic.Bool // bins or devices changed: reload them at the next sweep
	sweepC chan chan struct{}

	evaluated, opened, resolved, dropped, errs, sweeps atomic.Uint64

	// Owned by the run goroutine.
	rules civic.AlertRules
	bins  map[string]*binEntry
	open  map[openKey]openEntry
	// latched are conditions whose alert someone resolved by hand while
	// they still held: no new alert opens until the condition clears.
	latched     map[openKey]bool
	lastRefresh time.Time
	lastReload  time.Time
	// The sweep lock, while held (EngineOptions.Singleton).
	lockLost    <-chan struct{}
	lockRelease func()
}

type binEntry struct {
	bin     civic.Bin
	devices []civic.Device
	recent  []civic.Reading // oldest first
	history bool            // recent holds the stored history, not just the latest state
	// uplink is when the bin's readings last arrived, by the Engine's
	// clock.
	uplink time.Time
	// fill and fillSince: the newest fill value and since when it has
	// been reported unchanged, tracked beyond recent.
	fill      *float64
	fillSince time.Time
	// The last forecast: asked at fcAt from fill fcFill.
	fcAt, fcFullAt time.Time
	fcFill         float64
	fcOK           bool
}

type openKey struct {
	bin  string
	rule civic.RuleKind
}

type openEntry struct {
	id      string
	touched time.Time
	// cleared: a latched alert whose condition cleared; it waits for
	// someone to acknowledge it.
	cleared bool
}

// recentCap is how many readings of a bin the Engine keeps at least.
const recentCap = 32

// NewEngine returns an Engine; it panics without Alerts or Source (a
// wiring bug).
func NewEngine(opts EngineOptions) *Engine {
	if opts.Alerts == nil || opts.Source == nil {
		panic("alert.NewEngine: Alerts and Source are required")
	}
	opts.QueueSize = cmp.Or(opts.QueueSize, 4096)
	opts.SweepInterval = cmp.Or(opts.SweepInterval, time.Minute)
	opts.RefreshInterval = cmp.Or(opts.RefreshInterval, 5*time.Minute)
	opts.TouchInterval = cmp.Or(opts.TouchInterval, 10*time.Minute)
	opts.History = cmp.Or(opts.History, 48*time.Hour)
	opts.StaleAfter = cmp.Or(opts.StaleAfter, 2*time.Hour)
	opts.ForecastEvery = cmp.Or(opts.ForecastEvery, 15*time.Minute)
	e := &Engine{
		opts:    opts,
		log:     cmp.Or(opts.Logger, slog.Default()),
		now:     opts.Now,
		queue:   make(chan []civic.Reading, opts.QueueSize),
		life:    lifecycle.New("alert engine"),
		sweepC:  make(chan chan struct{}),
		rules:   civic.DefaultAlertRules(),
		bins:    map[string]*binEntry{},
		open:    map[openKey]openEntry{},
		latched: map[openKey]bool{},
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// OnCommit hands committed readings to the Engine without blocking: it is
// meant for ingest.WriterOptions.OnCommit. rs is queued as it is, so the
// caller must not modify it afterwards (the writer does not). Readings
// without a Bin are ignored.
func (e *Engine) OnCommit(rs []civic.Reading) {
	if len(rs) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	select {
	case e.queue <- rs:
	default:
		e.dropped.Add(1)
		e.resync.Store(true)
	}
}

// Start loads bins, devices, rules and unresolved alerts and starts
// evaluating in the background (see package lifecycle); ctx is not used:
// the Engine runs until Close. It fails when the Engine was started or
// closed before.
func (e *Engine) Start(ctx context.Context) error {
	return e.life.Start(func() error {
		e.life.Go("evaluate", e.run)
		return nil
	})
}

// Close stops accepting readings, evaluates those already queued and stops
// the Engine. It returns ctx's error if ctx ends first.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return e.life.Close(ctx)
}

// Sweep evaluates every bin now and returns when done, as the timer does;
// for tests and for callers that just changed the rules. It returns
// ctx's error if ctx ends first or the Engine is not running.
func (e *Engine) Sweep(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case e.sweepC <- ack:
	case <-e.life.Done():
		return errors.New("alert: engine stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AssetsChanged tells the Engine that bins or devices were created,
// changed or deleted: it reloads them at its next sweep rather than at the
// next RefreshInterval. It never blocks.
func (e *Engine) AssetsChanged() { e.assets.Store(true) }

// Stats returns the Engine's counters.
func (e *Engine) Stats() EngineStats {
	return EngineStats{
		Evaluated: e.evaluated.Load(), Sweeps: e.sweeps.Load(), Opened: e.opened.Load(), Resolved: e.resolved.Load(),
		Dropped: e.dropped.Load(), Errors: e.errs.Load(), Queued: len(e.queue),
	}
}

// run evaluates until stop, then evaluates what is queued; store calls
// use ctx, which ends when Close gives up.
func (e *Engine) run(ctx context.Context, stop <-chan struct{}) error {
	// Each bin's history is read when its first readings arrive, most of
	// them soon after the start: a store that keeps its newest readings
	// apart (SQLite) moves them to their devices first, so those reads seek.
	if f, ok := e.opts.Source.(civic.ReadingFolder); ok {
		if err := f.FoldReadings(ctx); err != nil {
			e.fail("fold readings", err)
		}
	}
	e.refresh(ctx, true)
	e.holdSweepLock(ctx)
	defer e.releaseSweepLock()
	sweep := time.NewTicker(e.opts.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case rs := <-e.queue:
			e.handle(ctx, rs)
		case <-sweep.C:
			e.sweep(ctx)
		case ack := <-e.sweepC:
			e.drain(ctx)
			e.sweep(ctx)
			close(ack)
		case <-stop:
			e.drain(ctx)
			return nil
		}
	}
}

// drain evaluates what is queued.
func (e *Engine) drain(ctx context.Context) {
	for {
		select {
		case rs := <-e.queue:
			e.handle(ctx, rs)
		default:
			return
		}
	}
}

func (e *Engine) fail(what string, err error) {
	e.errs.Add(1)
	e.log.Error("alert engine: "+what, "err", err)
}

// refresh reloads the rules, the unresolved alerts and, with assets set or
// when due, bins and devices. Bins keep the readings the Engine holds.
func (e *Engine) refresh(ctx context.Context, assets bool) {
	now := e.now()
	if r, err := e.opts.Alerts.AlertRules(ctx); err != nil {
		e.fail("load rules", err)
	} else {
		e.rules = r
	}
	if open, err := e.opts.Alerts.ListAlerts(ctx, civic.AlertFilter{Unresolved: true, Limit: 1 << 30}); err != nil {
		e.fail("load unresolved alerts", err)
	} else {
		cached := e.open
		e.open = make(map[openKey]openEntry, len(open))
		for _, a := range open {
			e.open[openKey{a.BinID, a.Rule}] = openEntry{id: a.ID, touched: a.LastSeenAt, cleared: a.ClearedAt != nil}
		}
		// Alerts the Engine knew open and that are gone were resolved by
		// hand: latch them.
		for k, c := range cached {
			if _, ok := e.open[k]; !ok && !c.cleared {
				e.latched[k] = true
			}
		}
	}
	e.lastRefresh = now
	if assets || e.resync.Load() {
		e.reloadAssets(ctx)
	}
}

func (e *Engine) reloadAssets(ctx context.Context) {
	resync := e.resync.Swap(false)
	views, err := e.opts.Source.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		e.fail("load bins", err)
		return
	}
	devs, err := e.opts.Source.ListDevices(ctx)
	if err != nil {
		e.fail("load devices", err)
		return
	}
	byBin := map[string][]civic.Device{}
	for _, d := range devs {
		if d.BinID != "" {
			byBin[d.BinID] = append(byBin[d.BinID], d)
		}
	}
	bins := make(map[string]*binEntry, len(views))
	for _, v := range views {
		b := e.bins[v.ID]
		if b == nil {
			b = &binEntry{}
		}
		b.bin, b.devices = v.Bin, byBin[v.ID]
		if v.State != nil && (len(b.recent) == 0 || resync) {
			b.recent = merge(b.recent, []civic.Reading{v.State.Reading()})
		}
		bins[v.ID] = b
	}
	e.bins = bins
	e.lastReload = e.now()
}

// merge adds rs to recent, oldest first, without duplicates of (device,
// time), keeping the newest entries.
func merge(recent, rs []civic.Reading) []civic.Reading {
	for _, r := range rs {
		i, found := slices.BinarySearchFunc(recent, r, func(a, b civic.Reading) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Device, b.Device))
		})
		if found {
			continue
		}
		recent = slices.Insert(recent, i, r)
	}
	if n := len(recent); n > recentCap*2 {
		recent = slices.Clone(recent[n-recentCap:])
	}
	return recent
}

func (e *Engine) handle(ctx context.Context, rs []civic.Reading) {
	byBin := map[string][]civic.Reading{}
	for _, r := range rs {
		if r.Bin != "" {
			byBin[r.Bin] = append(byBin[r.Bin], r)
		}
	}
	for id, batch := range byBin {
		b := e.bins[id]
		if b == nil && e.now().Sub(e.lastReload) > 30*time.Second {
			e.reloadAssets(ctx) // a bin added since the last reload
			b = e.bins[id]
		}
		if b == nil {
			continue
		}
		if !b.history {
			e.loadHistory(ctx, b)
		}
		b.recent = merge(b.recent, batch)
		b.trackFill()
		now := e.now()
		b.uplink = now
		newest := batch[0].Time
		for _, r := range batch[1:] {
			if r.Time.After(newest) {
				newest = r.Time
			}
		}
		if now.Sub(newest) <= e.opts.StaleAfter {
			e.evaluate(ctx, b)
		}
	}
}

func (e *Engine) loadHistory(ctx context.Context, b *binEntry) {
	now := e.now()
	rs, err := e.opts.Source.Readings(ctx, civic.ReadingQuery{Bin: b.bin.ID, From: now.Add(-e.opts.History), To: now.Add(civic.MaxClockSkew), Limit: 5000})
	if err != nil {
		e.fail("load history of "+b.bin.ID, err)
		return
	}
	b.history = true
	if n := len(rs); n > recentCap {
		rs = rs[n-recentCap:]
	}
	b.recent = merge(b.recent, rs)
}

func (e *Engine) sweep(ctx context.Context) {
	if e.now().Sub(e.lastRefresh) >= e.opts.RefreshInterval || e.resync.Load() || e.assets.Swap(false) {
		e.refresh(ctx, true)
	}
	if !e.holdSweepLock(ctx) {
		return
	}
	e.sweeps.Add(1)
	ids := make([]string, 0, len(e.bins))
	for id := range e.bins {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		select {
		case <-e.lockLost: // nil without Singleton: never ready
			e.holdSweepLock(ctx) // notes the loss
			return
		default:
		}
		e.evaluate(ctx, e.bins[id])
	}
}

// holdSweepLock reports whether this Engine may sweep: always without
// EngineOptions.Singleton; otherwise while it holds SweepLock, which it
// asks for when it does not.
func (e *Engine) holdSweepLock(ctx context.Context) bool {
	if e.opts.Singleton == nil {
		return true
	}
	if e.lockRelease != nil {
		select {
		case <-e.lockLost:
			e.log.Warn("alert engine: lost the sweep lock; another node may sweep")
			e.releaseSweepLock()
		default:
			return true
		}
	}
	lost, release, ok := e.opts.Singleton(ctx, SweepLock)
	if !ok {
		return false
	}
	if release == nil {
		release = func() {}
	}
	e.lockLost, e.lockRelease = lost, release
	e.log.Info("alert engine: took the sweep lock; this node sweeps")
	return true
}

func (e *Engine) releaseSweepLock() {
	if e.lockRelease != nil {
		e.lockRelease()
	}
	e.lockLost, e.lockRelease = nil, nil
}

func (e *Engine) evaluate(ctx context.Context, b *binEntry) {
	if b.bin.Status != civic.StatusActive && b.bin.Status != "" {
		return
	}
	e.evaluated.Add(1)
	now := e.now()
	in := Input{Bin: b.bin, Devices: b.devices, Recent: b.recent, Now: now, Settings: e.rules.For(&b.bin),
		LastUplink: b.uplink, FillSince: b.fillSince}
	if e.opts.FullAt != nil && in.Settings.Enabled(civic.RuleOverflowSoon) {
		if r, _ := latest(b.recent, hasFill); r != nil {
			if b.fcAt.IsZero() || now.Sub(b.fcAt) >= e.opts.ForecastEvery || now.Before(b.fcAt) || math.Abs(*r.Fill-b.fcFill) >= 0.05 {
				b.fcFullAt, b.fcOK = e.opts.FullAt(b.bin.ID, now, *r.Fill)
				b.fcAt, b.fcFill = now, *r.Fill
			}
			if b.fcOK {
				in.FullAt = b.fcFullAt
			}
		}
	}
	for _, f := range Evaluate(in) {
		e.apply(ctx, b.bin.ID, f, now)
	}
	// Rules switched off resolve their alerts.
	for _, k := range civic.RuleKinds {
		if !in.Settings.Enabled(k) {
			if _, ok := e.open[openKey{b.bin.ID, k}]; ok {
				e.apply(ctx, b.bin.ID, Finding{Rule: k, Message: "rule disabled"}, now)
			}
		}
	}
}

func (e *Engine) apply(ctx context.Context, bin string, f Finding, now time.Time) {
	key := openKey{bin, f.Rule}
	cur, isOpen := e.open[key]
	if f.Firing {
		if e.latched[key] {
			return
		}
		if isOpen && !cur.cleared && now.Sub(cur.touched) < e.opts.TouchInterval {
			return
		}
		if isOpen {
			// Refresh LastSeenAt, unless someone resolved it meanwhile.
			a, err := e.opts.Alerts.Alert(ctx, cur.id)
			if err != nil && !civic.IsKind(err, civic.NotFound) {
				e.fail("check alert", err)
				return
			}
			if err != nil || a.Status == civic.AlertResolved {
				delete(e.open, key)
				if !cur.cleared {
					e.latched[key] = true
					return
				}
				// Acknowledged after its condition cleared: burning
				// again is a new alert.
			}
		}
		a, created, err := e.opts.Alerts.OpenAlert(ctx, &civic.Alert{
			BinID: bin, Device: f.Device, Rule: f.Rule, Severity: f.Severity, Message: f.Message,
			Value: f.Value, OpenedAt: now, LastSeenAt: now,
		})
		if err != nil {
			e.fail("open alert", err)
			return
		}
		e.open[key] = openEntry{id: a.ID, touched: now}
		if created {
			e.opened.Add(1)
			if e.opts.OnChange != nil {
				e.opts.OnChange(a, civic.EventOpened)
			}
		}
		return
	}
	delete(e.latched, key)
	if !isOpen || cur.cleared {
		return
	}
	note := "cleared: " + f.Message
	if f.Value != nil && *f.Value != 0 {
		note += " (" + strconv.FormatFloat(*f.Value, 'g', 4, 64) + ")"
	}
	a, ok, err := e.opts.Alerts.ResolveCleared(ctx, bin, f.Rule, note, now)
	if err != nil {
		e.fail("resolve alert", err)
		return
	}
	if !ok && a.ID != "" && a.ClearedAt != nil {
		// Latched: it stays open until someone acknowledges it.
		e.open[key] = openEntry{id: a.ID, touched: cur.touched, cleared: true}
		return
	}
	delete(e.open, key)
	if ok {
		e.resolved.Add(1)
		if e.opts.OnChange != nil {
			e.opts.OnChange(a, civic.EventResolved)
		}
	}
}

// trackFill moves fill and fillSince forward after recent changed: the
// run of equal fills at the end of recent, extended by what was known
// before when the run reaches back to recent's oldest fill.
func (b *binEntry) trackFill() {
	var (
		newest   *float64
		runStart time.Time
		whole    = true
	)
	for i := len(b.recent) - 1; i >= 0; i-- {
		r := &b.recent[i]
		if r.Fill == nil {
			continue
		}
		if newest == nil {
			newest = r.Fill
		} else if !sameFill(*r.Fill, *newest) {
			whole = false
			break
		}
		runStart = r.Time
	}
	if newest == nil {
		return
	}
	if whole && b.fill != nil && sameFill(*b.fill, *newest) && !b.fillSince.IsZero() && b.fillSince.Before(runStart) {
		runStart = b.fillSince
	}
	v := *newest
	b.fill, b.fillSince = &v, runStart
}
