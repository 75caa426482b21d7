package sim

import (
	"context"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// PlanSource reads the plan of a service day.
type PlanSource interface {
	PlanForDate(ctx context.Context, date string) (civic.Plan, error)
}

// Crews works a simulated city's collection plans as its crews would: each
// service day it has the day's plan made (through the real planner) and
// locked, then, as the simulated clock passes each bin stop's planned
// arrival give or take a few minutes, it reports the stop collected (or,
// now and then, skipped because the bin was blocked) through the real
// report path and empties the bin in the sensor model, so the bin's sensor
// goes on from empty. A route's stops are done in order, each no earlier
// than the one before it nor than the sensors' clock. Bins are emptied because a stop was collected, never
// by the sensor model's own round: give the Sensors PolicyNone.
type Crews struct {
	Planner civic.Planner
	Plans   PlanSource
	Sensors *Sensors
	// Location is the city's time zone; service days are its dates.
	Location *time.Location
	// PlanAt is when, in minutes after local midnight, the day's plan is
	// made and locked if it does not exist yet (default 03:00); after
	// PlanUntil (default 12:00) a day without a plan is left unplanned, as
	// a city would rather not send trucks out at two in the afternoon. A
	// plan that exists (a supervisor made it) is worked whenever it is.
	PlanAt, PlanUntil int
	// SkipRate is the share of stops skipped as blocked (default 0.02;
	// negative means none).
	SkipRate float64
	// LateSD is the spread of arrivals around the planned time (default
	// 8 minutes); crews are never early by more than that.
	LateSD time.Duration
	Seed   uint64
	Logger *slog.Logger

	date     string
	plan     civic.Plan
	loaded   bool
	reported map[string]bool
	doneAt   map[string]time.Time // when each reported stop was done
	failed   string               // the date whose planning failed: not retried every step
}

// Step plans and works the day up to now. It is not safe for concurrent
// use; call it from one loop.
func (c *Crews) Step(ctx context.Context, now time.Time) error {
	c.defaults()
	local := now.In(c.Location)
	date := local.Format(time.DateOnly)
	if date != c.date {
		c.date, c.loaded, c.reported, c.doneAt = date, false, map[string]bool{}, map[string]time.Time{}
	}
	if !c.loaded {
		minutes := local.Hour()*60 + local.Minute()
		if minutes < c.PlanAt || c.failed == date {
			return nil
		}
		p, err := c.Plans.PlanForDate(ctx, date)
		switch {
		case civic.IsKind(err, civic.NotFound) && minutes >= c.PlanUntil:
			c.failed = date // too late today: wait for tomorrow
			return nil
		case civic.IsKind(err, civic.NotFound):
			c.Logger.Info("demo: planning the day", "date", date)
			if p, err = c.Planner.MakePlan(ctx, date, "demo", nil); err != nil {
				c.failed = date
				return err
			}
		case err != nil:
			return err
		}
		if p.Status == civic.PlanDraft {
			if p, err = c.Planner.SetStatus(ctx, p.ID, civic.PlanLocked, "demo"); err != nil {
				c.failed = date
				return err
			}
		}
		// A day with nothing to collect (a Sunday: no service) is done
		// as soon as it is locked; it would otherwise stay locked.
		if p.Status == civic.PlanLocked && len(p.Routes) == 0 {
			if p, err = c.Planner.SetStatus(ctx, p.ID, civic.PlanDone, "demo"); err != nil {
				c.failed = date
				return err
			}
		}
		c.plan, c.loaded = p, true
		for _, r := range p.Routes {
			for _, s := range r.Stops {
				if s.Kind == civic.StopBin && s.Status != civic.StopPending {
					c.reported[s.ID] = true
					if s.DoneAt != nil {
						c.doneAt[s.ID] = *s.DoneAt
					}
				}
			}
		}
		c.Logger.Info("demo: crews out", "date", date, "routes", len(p.Routes), "stops", p.Stats.Planned)
	}
	for _, r := range c.plan.Routes {
		// The crew works its stops in order: a stop is done no earlier
		// than the one before it, however late that was.
		var last time.Time
		for _, s := range r.Stops {
			if s.Kind != civic.StopBin {
				continue
			}
			if c.reported[s.ID] {
				if t, ok := c.doneAt[s.ID]; ok && t.After(last) {
					last = t
				}
				continue
			}
			at := s.ETA.Add(c.delay(s.ID))
			if at.Before(last) {
				at = last
			}
			if at.After(now) {
				break
			}
			at, err := c.work(ctx, s, at)
			if err != nil {
				return err
			}
			c.reported[s.ID], c.doneAt[s.ID], last = true, at, at
		}
	}
	return nil
}

// work empties the bin of a stop in the sensor model and reports the stop
// done, or skipped, and returns when it was done: at, or later when the
// sensors have already sent readings past at (a reading after the report
// must not show the bin full). A report sent again (a copy of the crews
// working from an older read of the plan) changes nothing in the store,
// thanks to its client id, though the model's bin is emptied again.
func (c *Crews) work(ctx context.Context, s civic.Stop, at time.Time) (time.Time, error) {
	r := civic.StopReport{ClientID: "demo-" + s.ID, StopID: s.ID, Status: civic.StopCollected, By: "demo"}
	if c.SkipRate > 0 && c.chance(s.ID) < c.SkipRate {
		r.Status, r.SkipReason = civic.StopSkipped, civic.SkipBlocked
	} else {
		done, fill, err := c.Sensors.EmptyNotBefore(s.BinID, at)
		if err != nil && !civic.IsKind(err, civic.NotFound) {
			return at, err
		}
		if err == nil {
			at = done
			seen := math.Round(fill*10) / 10 // a crew's eye: to the nearest tenth
			r.FillSeen = &seen
		}
	}
	r.At = at
	if _, _, err := c.Planner.Report(ctx, &r); err != nil {
		// A stop the planner refuses (a plan replaced meanwhile) is left.
		if civic.IsKind(err, civic.Invalid) || civic.IsKind(err, civic.NotFound) || civic.IsKind(err, civic.Conflict) {
			c.Logger.Warn("demo: stop report refused", "stop", s.ID, "err", err)
			return at, nil
		}
		return at, err
	}
	return at, nil
}

func (c *Crews) defaults() {
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.PlanAt == 0 {
		c.PlanAt = 3 * 60
	}
	if c.PlanUntil == 0 {
		c.PlanUntil = 12 * 60
	}
	if c.SkipRate == 0 {
		c.SkipRate = 0.02
	}
	if c.LateSD == 0 {
		c.LateSD = 8 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.reported == nil {
		c.reported = map[string]bool{}
	}
	if c.doneAt == nil {
		c.doneAt = map[string]time.Time{}
	}
}

// rng is a stop's own random stream, so a restarted demo draws the same.
func (c *Crews) rng(stopID string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stopID))
	return rand.New(rand.NewPCG(c.Seed, h.Sum64()))
}

// delay is how late the crew reaches a stop against the plan.
func (c *Crews) delay(stopID string) time.Duration {
	d := c.rng(stopID).NormFloat64() * float64(c.LateSD)
	return time.Duration(math.Max(d, -float64(c.LateSD)))
}

func (c *Crews) chance(stopID string) float64 {
	r := c.rng(stopID)
	r.NormFloat64() // the delay's draw
	return r.Float64()
}
