// Package retention runs the job that removes old telemetry: readings
// and device events past their configured age. It runs on one node of a
// cluster at a time (a singleton lock, as the nightly plan and the alert
// sweep take), and the store decides how to remove (dropping PostgreSQL
// partitions, or deleting in batches).
package retention

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/lifecycle"
)

// Pruner removes telemetry older than a time and says how many rows went;
// the store implements it.
type Pruner interface {
	PruneReadings(ctx context.Context, before time.Time) (int64, error)
	PruneDeviceEvents(ctx context.Context, before time.Time) (int64, error)
}

// LockName is the name of the job's cluster-wide lock.
const LockName = "retention"

// Options configure a Job. A zero age keeps that kind of data forever.
type Options struct {
	Store Pruner
	// Readings and DeviceEvents are how long each is kept, counted from
	// the sensor's time (readings) or the event's (events).
	Readings, DeviceEvents time.Duration
	// Every is how often the job runs; one hour if zero. It runs once at
	// start too.
	Every time.Duration
	// Singleton takes the job's cluster-wide lock (see
	// alert.EngineOptions.Singleton); nil means this node is alone.
	Singleton func(ctx context.Context, name string) (lost <-chan struct{}, release func(), ok bool)
	Now       func() time.Time // time.Now if nil
	Logger    *slog.Logger     // slog.Default() if nil
}

// Job removes old telemetry every Options.Every. Lifecycle: New, Start,
// Close (package lifecycle); Close abandons a run in progress only when
// its context ends (each delete is a short transaction of its own).
type Job struct {
	o    Options
	log  *slog.Logger
	life *lifecycle.Group

	runs, readings, events atomic.Int64
}

// New returns a Job; it does nothing until Start, and nothing at all when
// both ages are zero.
func New(o Options) *Job {
	if o.Every <= 0 {
		o.Every = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Job{o: o, log: o.Logger, life: lifecycle.New("retention")}
}

// Start runs the job in the background when an age is set.
func (j *Job) Start(ctx context.Context) error {
	return j.life.Start(func() error {
		if j.o.Readings > 0 || j.o.DeviceEvents > 0 {
			j.life.Go("prune", j.loop)
		}
		return nil
	})
}

// Close stops the job.
func (j *Job) Close(ctx context.Context) error { return j.life.Close(ctx) }

// Stats are the job's counters on this node.
type Stats struct {
	Runs         int64 // runs this node made (holding the lock)
	Readings     int64 // readings it removed
	DeviceEvents int64 // device events it removed
}

// Stats returns the job's counters.
func (j *Job) Stats() Stats {
	return Stats{Runs: j.runs.Load(), Readings: j.readings.Load(), DeviceEvents: j.events.Load()}
}

func (j *Job) loop(ctx context.Context, stop <-chan struct{}) error {
	t := time.NewTicker(j.o.Every)
	defer t.Stop()
	for {
		j.Run(ctx)
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Run removes what is past its age now, if this node holds the job's
// lock, and reports whether it ran.
func (j *Job) Run(ctx context.Context) bool {
	if j.o.Singleton != nil {
		lost, release, ok := j.o.Singleton(ctx, LockName)
		if !ok {
			return false
		}
		defer release()
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-lost:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	j.runs.Add(1)
	now := j.o.Now()
	start := time.Now()
	var readings, events int64
	var err error
	if j.o.Readings > 0 {
		readings, err = j.o.Store.PruneReadings(ctx, now.Add(-j.o.Readings))
		j.readings.Add(readings)
		if err != nil {
			j.log.Error("retention: readings", "err", err, "removed", readings)
		}
	}
	if j.o.DeviceEvents > 0 {
		events, err = j.o.Store.PruneDeviceEvents(ctx, now.Add(-j.o.DeviceEvents))
		j.events.Add(events)
		if err != nil {
			j.log.Error("retention: device events", "err", err, "removed", events)
		}
	}
	j.log.Info("retention: pruned", "readings", readings, "device_events", events, "took", time.Since(start).Round(time.Millisecond))
	return true
}
