package alert

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Input is what the rules know about one bin at one instant.
type Input struct {
	Bin civic.Bin
	// Devices are the devices mounted on the bin.
	Devices []civic.Device
	// Recent are the bin's latest readings, oldest first: enough for the
	// sensor-fault rule's window (Settings.StuckReadings fill readings).
	Recent []civic.Reading
	// Now is the instant of the evaluation.
	Now time.Time
	// Settings are the thresholds that apply to the bin
	// (civic.AlertRules.For).
	Settings civic.RuleSettings
	// FullAt is when the forecast expects the bin to reach its threshold;
	// zero when there is no forecast (the overflow rule then decides
	// nothing).
	FullAt time.Time
	// LastUplink is when the bin's sensors were last heard from, by
	// civic's clock; a backfill of old readings is an uplink. Zero: the
	// newest reading's time.
	LastUplink time.Time
	// FillSince is since when the newest fill value has been reported
	// unchanged, as far back as the caller knows (Recent may hold fewer
	// readings); zero: as far as Recent shows.
	FillSince time.Time
}

// Finding is one rule's decision: the condition holds (Firing) or has
// cleared. Rules that cannot decide (no data, or inside the hysteresis
// band) return no finding, so an open alert stays as it is.
type Finding struct {
	Rule     civic.RuleKind
	Firing   bool
	Severity civic.Severity
	Device   string
	Value    *float64 // the measurement behind the decision, in its unit
	Message  string
}

// Hysteresis bands: a condition clears only this far on the safe side of
// its threshold, so a value hovering at the threshold does not open and
// resolve alerts on every reading.
const (
	fillMargin    = 0.05 // fill fraction
	tempMargin    = 10.0 // °C
	tiltMargin    = 5.0  // degrees
	batteryMargin = 0.05 // battery fraction
	// riseWindow bounds how far apart two temperature readings may be to
	// measure a rise; riseMinSpan keeps two readings close in time from
	// making a small difference look fast.
	riseWindow  = 2 * time.Hour
	riseMinSpan = 10 * time.Minute
	// jumpWindow is the time within which a fill rise of JumpFill is
	// impossible; lostEchoAround is the fill both neighbours of a lone zero
	// must have for the zero to count as a lost echo.
	jumpWindow     = 30 * time.Minute
	lostEchoAround = 0.2
)

// Evaluate runs every enabled rule over in and returns their decisions, in
// the order of civic.RuleKinds. It is pure: the same input gives the same
// findings.
func Evaluate(in Input) []Finding {
	out := make([]Finding, 0, len(civic.RuleKinds))
	for _, k := range civic.RuleKinds {
		if !in.Settings.Enabled(k) {
			continue
		}
		var (
			f  Finding
			ok bool
		)
		switch k {
		case civic.RuleFull:
			f, ok = ruleFull(&in)
		case civic.RuleOverflowSoon:
			f, ok = ruleOverflow(&in)
		case civic.RuleFire:
			f, ok = ruleFire(&in)
		case civic.RuleTilt:
			f, ok = ruleTilt(&in)
		case civic.RuleDoorOpen:
			f, ok = ruleDoorOpen(&in)
		case civic.RuleLowBattery:
			f, ok = ruleLowBattery(&in)
		case civic.RuleOffline:
			f, ok = ruleOffline(&in)
		case civic.RuleSensorFault:
			f, ok = ruleSensorFault(&in)
		}
		if ok {
			f.Rule = k
			f.Severity = k.DefaultSeverity()
			out = append(out, f)
		}
	}
	return out
}

// latest returns the newest reading for which has reports true.
func latest(rs []civic.Reading, has func(*civic.Reading) bool) (*civic.Reading, int) {
	for i := len(rs) - 1; i >= 0; i-- {
		if has(&rs[i]) {
			return &rs[i], i
		}
	}
	return nil, -1
}

func hasFill(r *civic.Reading) bool { return r.Fill != nil }

func firing(dev string, v float64, format string, args ...any) (Finding, bool) {
	return Finding{Firing: true, Device: dev, Value: &v, Message: fmt.Sprintf(format, args...)}, true
}

// cleared is a finding that the condition cleared. Its message is a
// constant: rules run on every reading and most of them clear, so they
// should not format; Value carries the number.
func cleared(dev string, v float64, msg string) (Finding, bool) {
	return Finding{Firing: false, Device: dev, Value: &v, Message: msg}, true
}

func (in *Input) fullThreshold() float64 {
	if in.Settings.FullFill > 0 {
		return in.Settings.FullFill
	}
	return in.Bin.Threshold()
}

func ruleFull(in *Input) (Finding, bool) {
	r, _ := latest(in.Recent, hasFill)
	if r == nil {
		return Finding{}, false
	}
	fill, thr := *r.Fill, in.fullThreshold()
	switch {
	case fill >= thr:
		return firing(r.Device, fill, "%s is %.0f %% full (threshold %.0f %%)", in.Bin.ID, fill*100, thr*100)
	case fill < thr-fillMargin:
		return cleared(r.Device, fill, "fill below the threshold")
	}
	return Finding{}, false
}

func ruleOverflow(in *Input) (Finding, bool) {
	r, _ := latest(in.Recent, hasFill)
	if r == nil {
		return Finding{}, false
	}
	fill, thr := *r.Fill, in.fullThreshold()
	if fill >= thr {
		// Full already: the full rule speaks for the bin.
		return cleared(r.Device, fill, "full now")
	}
	if in.FullAt.IsZero() {
		return Finding{}, false
	}
	h := math.Max(0, in.FullAt.Sub(in.Now).Hours())
	if h < 0.1 {
		return firing(r.Device, h, "%s is expected to be full by now (%.0f %%, forecast %s)", in.Bin.ID, fill*100, in.FullAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if h <= in.Settings.OverflowHours {
		return firing(r.Device, h, "%s is expected to be full in %.1f h (at %s)", in.Bin.ID, h, in.FullAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return cleared(r.Device, h, "full expected later")
}

func ruleFire(in *Input) (Finding, bool) {
	s := &in.Settings
	flag, _ := latest(in.Recent, func(r *civic.Reading) bool { return r.Fire != nil })
	if flag != nil && *flag.Fire {
		return firing(flag.Device, 1, "%s: the device reports fire", in.Bin.ID)
	}
	t, i := latest(in.Recent, func(r *civic.Reading) bool { return r.TemperatureC != nil })
	if t == nil {
		if flag != nil {
			return cleared(flag.Device, 0, "no fire reported")
		}
		return Finding{}, false
	}
	temp := *t.TemperatureC
	if temp >= s.FireTempC {
		return firing(t.Device, temp, "%s: temperature %.0f °C (limit %.0f °C)", in.Bin.ID, temp, s.FireTempC)
	}
	rate := 0.0
	if p, _ := latest(in.Recent[:i], func(r *civic.Reading) bool {
		return r.TemperatureC != nil && r.Device == t.Device
	}); p != nil && t.Time.Sub(p.Time) <= riseWindow {
		span := max(t.Time.Sub(p.Time), riseMinSpan)
		rate = (temp - *p.TemperatureC) / span.Hours()
	}
	if temp >= s.FireRiseFloorC && rate >= s.FireRiseCPerHour {
		return firing(t.Device, temp, "%s: temperature %.0f °C rising %.0f °C/h", in.Bin.ID, temp, rate)
	}
	if temp < s.FireTempC-tempMargin {
		return cleared(t.Device, temp, "temperature normal")
	}
	return Finding{}, false
}

func ruleTilt(in *Input) (Finding, bool) {
	r, _ := latest(in.Recent, func(r *civic.Reading) bool { return r.TiltDeg != nil })
	if r == nil {
		return Finding{}, false
	}
	tilt, lim := *r.TiltDeg, in.Settings.TiltDeg
	switch {
	case tilt >= lim:
		return firing(r.Device, tilt, "%s is tilted %.0f° (limit %.0f°): dropped?", in.Bin.ID, tilt, lim)
	case tilt < lim-tiltMargin:
		return cleared(r.Device, tilt, "standing upright")
	}
	return Finding{}, false
}

func ruleDoorOpen(in *Input) (Finding, bool) {
	hasDoor := func(r *civic.Reading) bool { return r.DoorOpen != nil }
	r, i := latest(in.Recent, hasDoor)
	if r == nil {
		return Finding{}, false
	}
	if !*r.DoorOpen {
		return cleared(r.Device, 0, "door closed")
	}
	// The door has been open since the first reading of the run of open
	// readings that ends with r.
	since := r.Time
	for j := i - 1; j >= 0; j-- {
		x := &in.Recent[j]
		if x.DoorOpen == nil {
			continue
		}
		if !*x.DoorOpen {
			break
		}
		since = x.Time
	}
	open := in.Now.Sub(since)
	if mins := open.Minutes(); mins >= in.Settings.DoorOpenMinutes {
		return firing(r.Device, mins, "%s: door or lid open for %.0f min", in.Bin.ID, mins)
	}
	return Finding{}, false
}

func ruleLowBattery(in *Input) (Finding, bool) {
	r, _ := latest(in.Recent, func(r *civic.Reading) bool { return r.Battery != nil })
	if r == nil {
		return Finding{}, false
	}
	b, lim := *r.Battery, in.Settings.LowBattery
	switch {
	case b <= lim:
		return firing(r.Device, b, "%s: battery at %.0f %%", cmp.Or(r.Device, in.Bin.ID), b*100)
	case b >= lim+batteryMargin:
		return cleared(r.Device, b, "battery recharged or replaced")
	}
	return Finding{}, false
}

func ruleOffline(in *Input) (Finding, bool) {
	interval, dev := 0, ""
	for i := range in.Devices {
		d := &in.Devices[i]
		if d.Status != civic.StatusActive && d.Status != "" {
			continue
		}
		iv := cmp.Or(d.ExpectedInterval, civic.DefaultExpectedInterval)
		if interval == 0 || iv < interval {
			interval, dev = iv, d.ID
		}
	}
	if interval == 0 {
		// No active sensor is supposed to report.
		return cleared("", 0, "no active device")
	}
	if len(in.Recent) == 0 {
		return Finding{}, false // never seen: the fleet page lists those
	}
	last := &in.Recent[len(in.Recent)-1]
	for i := range in.Recent {
		if r := &in.Recent[i]; r.Time.After(last.Time) {
			last = r
		}
	}
	seen := last.Time
	if in.LastUplink.After(seen) {
		seen = in.LastUplink
	}
	gap := in.Now.Sub(seen)
	h := gap.Hours()
	if limit := time.Duration(in.Settings.OfflineIntervals * float64(interval) * float64(time.Second)); gap > limit {
		return firing(cmp.Or(last.Device, dev), h, "%s: no uplink for %s (expected every %s)", in.Bin.ID,
			gap.Round(time.Minute), time.Duration(interval)*time.Second)
	}
	return cleared(cmp.Or(last.Device, dev), h, "reporting again")
}

func ruleSensorFault(in *Input) (Finding, bool) {
	s := &in.Settings
	var buf [32]*civic.Reading // StuckReadings is at most 30
	fills := buf[:0]
	for i := len(in.Recent) - 1; i >= 0 && len(fills) < s.StuckReadings; i-- {
		if in.Recent[i].Fill != nil {
			fills = append(fills, &in.Recent[i])
		}
	}
	if len(fills) < 2 {
		return Finding{}, false
	}
	// fills is newest first; turn it oldest first.
	for i, j := 0, len(fills)-1; i < j; i, j = i+1, j-1 {
		fills[i], fills[j] = fills[j], fills[i]
	}
	newest := fills[len(fills)-1]
	thr := in.fullThreshold()

	if len(fills) >= s.StuckReadings {
		v, stuck := *fills[0].Fill, true
		for _, r := range fills[1:] {
			if !sameFill(*r.Fill, v) {
				stuck = false
				break
			}
		}
		since := fills[0].Time
		if !in.FillSince.IsZero() && in.FillSince.Before(since) {
			since = in.FillSince
		}
		if d := in.Now.Sub(since); stuck && v < thr && d.Hours() >= s.StuckHours {
			return firing(newest.Device, v, "%s: fill stuck at %.1f %% for %s", in.Bin.ID, v*100, d.Round(time.Minute))
		}
	}
	for i := 1; i < len(fills); i++ {
		a, b := fills[i-1], fills[i]
		if *a.Fill == 0 {
			// Back from a lost echo (exactly 0), which the lone-zero
			// check counts; not a jump.
			continue
		}
		if rise := *b.Fill - *a.Fill; rise >= s.JumpFill && b.Time.Sub(a.Time) <= jumpWindow {
			return firing(b.Device, rise, "%s: fill jumped %.0f %% → %.0f %% within %s", in.Bin.ID,
				*a.Fill*100, *b.Fill*100, b.Time.Sub(a.Time).Round(time.Second))
		}
	}
	zeros := 0
	for i := 1; i+1 < len(fills); i++ {
		if *fills[i].Fill == 0 && *fills[i-1].Fill >= lostEchoAround && *fills[i+1].Fill >= lostEchoAround {
			zeros++
		}
	}
	if zeros >= s.ZeroGlitches {
		return firing(newest.Device, float64(zeros), "%s: %d lone zero readings among the last %d (lost echoes)", in.Bin.ID, zeros, len(fills))
	}
	return cleared(newest.Device, *newest.Fill, "fill readings plausible")
}

// sameFill reports whether two fill readings are the same value: sensors
// report steps of 1 % or finer.
func sameFill(a, b float64) bool { return math.Abs(a-b) <= 0.001 }
