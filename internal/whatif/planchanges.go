package whatif

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// PlanChanges change the planner's settings for one simulation: civic
// simulate's --overflow-risk and --hygiene-days, and the assumptions of a
// run started from the web app, applied the same way.
type PlanChanges struct {
	// OverflowRisk, unless 0, is the default policy's and every stream's
	// overflow risk, 0.01 to 0.5 (zones keep their own).
	OverflowRisk float64
	// HygieneDays, when set, is the default policy's longest time between
	// two collections of a bin, in days (0: no limit).
	HygieneDays *float64
	// StreamHygieneDays are streams' own longest times; a stream without
	// a policy of its own gets the default's, with these days.
	StreamHygieneDays map[civic.Stream]float64
}

// Apply returns base as c changes it; base is not modified. Errors:
// Invalid naming the field (overflow_risk, hygiene_days).
func (c PlanChanges) Apply(base civic.PlanSettings) (civic.PlanSettings, error) {
	ps := base
	ps.Streams = maps.Clone(base.Streams)
	if ps.Streams == nil {
		ps.Streams = map[civic.Stream]civic.PlanPolicy{}
	}
	if c.OverflowRisk != 0 {
		if !(c.OverflowRisk >= 0.01 && c.OverflowRisk <= 0.5) {
			return base, civic.FieldError("overflow_risk", "must be between 0.01 and 0.5")
		}
		ps.Default.OverflowRisk = c.OverflowRisk
		for st, p := range ps.Streams {
			p.OverflowRisk = c.OverflowRisk
			ps.Streams[st] = p
		}
	}
	days := func(d float64) error {
		if !(d >= 0 && d <= 365) {
			return civic.FieldError("hygiene_days", "must be a number of days from 0 to 365")
		}
		return nil
	}
	if c.HygieneDays != nil {
		if err := days(*c.HygieneDays); err != nil {
			return base, err
		}
		ps.Default.HygieneDays = *c.HygieneDays
	}
	for st, d := range c.StreamHygieneDays {
		if !st.Valid() {
			return base, civic.FieldError("hygiene_days", "unknown stream %q (streams: %s)", st, civic.Streams)
		}
		if err := days(d); err != nil {
			return base, err
		}
		p, ok := ps.Streams[st]
		if !ok {
			p = ps.Default
		}
		p.HygieneDays = d
		ps.Streams[st] = p
	}
	if err := ps.Validate(); err != nil {
		return base, err
	}
	return ps, nil
}

// ParseHygieneDays reads civic simulate's --hygiene-days: the default
// policy's longest days between collections, then stream=days overrides
// ("7,compost=3"); a stream without one keeps its own (civic's compost 3)
// unless it has none, when it follows the default.
func ParseHygieneDays(spec string) (PlanChanges, error) {
	days := func(s string) (float64, error) {
		d, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(d >= 0 && d <= 365) {
			return 0, fmt.Errorf("%q is not a number of days from 0 to 365", s)
		}
		return d, nil
	}
	parts := strings.Split(spec, ",")
	d, err := days(parts[0])
	if err != nil {
		return PlanChanges{}, err
	}
	c := PlanChanges{HygieneDays: &d}
	for _, part := range parts[1:] {
		name, v, ok := strings.Cut(part, "=")
		st := civic.Stream(strings.TrimSpace(name))
		if !ok || !st.Valid() {
			return PlanChanges{}, fmt.Errorf("%q is not stream=days (streams: %s)", part, civic.Streams)
		}
		d, err := days(v)
		if err != nil {
			return PlanChanges{}, err
		}
		if c.StreamHygieneDays == nil {
			c.StreamHygieneDays = map[civic.Stream]float64{}
		}
		c.StreamHygieneDays[st] = d
	}
	return c, nil
}
