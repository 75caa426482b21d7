package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Day is the service day being planned.
type Day struct {
	Date string         // YYYY-MM-DD in Loc
	Loc  *time.Location // the city's time zone; nil means UTC
	// Start is when collection starts that day, "HH:MM" (the earliest
	// shift start); "" means 06:00. End is when it ends (the latest shift
	// end); "" means 8 hours after Start. The next service day's
	// collection is taken to run at the same times of day.
	Start, End string
}

// at returns the instant the wall clock shows sec seconds after midnight
// on the day d+days: on the days clocks change, 06:00 is still 06:00
// (time.Date normalises the overflowing seconds and days).
func (d Day) at(days int, sec float64) time.Time {
	y, m, dd := d.date().Date()
	whole := math.Floor(sec)
	return time.Date(y, m, dd+days, 0, 0, int(whole), int((sec-whole)*1e9), d.loc())
}

func (d Day) loc() *time.Location {
	if d.Loc == nil {
		return time.UTC
	}
	return d.Loc
}

// date returns the day's date; a bad Date is caught by check.
func (d Day) date() time.Time {
	t, _ := time.Parse(time.DateOnly, d.Date)
	return t
}

func (d Day) startMin() int {
	m, err := civic.ParseClock(d.Start)
	if err != nil {
		return 6 * 60
	}
	return m
}

// spanMin is how long collection lasts, in minutes: from Start to End,
// 8 hours when End is not given (or not after Start).
func (d Day) spanMin() int {
	if m, err := civic.ParseClock(d.End); err == nil && m > d.startMin() {
		return m - d.startMin()
	}
	return 8 * 60
}

func (d Day) check() error {
	if _, err := time.Parse(time.DateOnly, d.Date); err != nil {
		return civic.FieldError("date", "must be a date YYYY-MM-DD")
	}
	if d.Start != "" {
		if _, err := civic.ParseClock(d.Start); err != nil {
			return civic.FieldError("start", "must be a time HH:MM")
		}
	}
	if d.End != "" {
		if _, err := civic.ParseClock(d.End); err != nil {
			return civic.FieldError("end", "must be a time HH:MM")
		}
	}
	return nil
}

// Request is an open service request about a bin (a resident's 311
// report of an overflowing bin).
type Request struct {
	BinID  string
	Reason string    // what was reported, e.g. "overflowing bin"
	At     time.Time // when it was reported; zero means unknown (always counts)
}

// DecideInput is what Decide weighs for one service day.
type DecideInput struct {
	Day           Day
	Bins          []civic.Bin
	States        []civic.BinState          // the latest state of each bin that has one
	Forecasts     map[string]civic.Forecast // by bin id; absent means no forecast
	Alerts        []civic.Alert             // unresolved alerts; resolved ones are ignored
	LastCollected map[string]time.Time      // each bin's latest collection
	Requests      []Request
	Settings      civic.PlanSettings
}

// Decide says, for every bin that is not removed, whether it must be
// emptied on the service day, may be emptied if it is cheap to add, or is
// left, with the reason. The result is sorted by bin id.
//
// The rules, in order (the first that applies decides):
//
//   - a bin whose status is not active is skipped ("in maintenance");
//   - a bin with an unresolved fire alert is skipped, "fire alert open: not
//     collected until cleared": a burning bin needs the fire brigade, and a
//     crew emptying smouldering waste into a compacting truck can set the
//     truck's load on fire. Once the alert is resolved the bin is planned
//     again, and its fill and any full alert make it a must-go;
//   - on a day that is not one of its zone and stream's service days, the
//     bin is skipped;
//   - a bin emptied within RecentHours before collection is skipped
//     ("emptied 3 h ago"), unless there is news since the emptying: a full
//     or overflow alert last seen after it, a service request made after
//     it, or a reading taken after it from which the forecast says full
//     before the bin's next chance (below). Such news means the bin really
//     filled up again (a market day, a bin that fills faster than once a
//     day); an older alert is stale, since the emptying dealt with it;
//   - must-go, for every one of these reasons (joined with "; "): a full
//     alert, an overflow alert, a service request, a forecast (or with no
//     forecast, the last reading) that may reach the must-go fill before
//     the bin's next chance, and hygiene: the bin would go longer
//     than HygieneDays without being emptied if left until the next
//     service day. Days are counted from the last collection, or, for a
//     bin never collected, from its installation, but only when a reading
//     shows it in use: a bin never collected and never read is not a
//     hygiene case. Alerts and requests older than the last collection are
//     stale and ignored;
//   - may-go when the expected fill at collection time reaches MayGoFill;
//   - skip otherwise.
//
// A bin's next chance is when the next service day's plan can have a
// truck there: a bin forecast full during that day's shifts gets a due
// time (Build), from DueLead after the day's start; a bin with an access
// window is served within it, at its close at the latest. "May reach"
// takes the forecast's uncertainty: a bin is left only when the chance
// that it fills before its next chance is at most the policy's
// OverflowRisk (by default the early end of the forecast's band,
// FullAtLow, about one chance in ten); the reason names both times
// ("forecast full Sat 12:00 (maybe Fri 23:00)").
//
// The fill expected at a time comes from the forecast (its fill and
// average rate, from the forecast's instant), or else the last reading held
// constant; a collection after either restarts it from empty. A bin's
// expected visit time is the middle of the day's collection (Day.Start to
// Day.End), or the opening of its access window if that is later than the
// start; may-go and LoadL take the fill expected then. LoadL is that fill
// times the bin's capacity (the threshold when nothing is known), at most
// the capacity. "Emptied 3 h ago" counts to the start of collection (or
// the window's opening).
func Decide(in DecideInput) []civic.BinDecision {
	states := make(map[string]*civic.BinState, len(in.States))
	for i := range in.States {
		states[in.States[i].BinID] = &in.States[i]
	}
	alerts := map[string][]*civic.Alert{}
	for i := range in.Alerts {
		a := &in.Alerts[i]
		if a.Status == civic.AlertResolved {
			continue
		}
		alerts[a.BinID] = append(alerts[a.BinID], a)
	}
	requests := map[string][]Request{}
	for _, r := range in.Requests {
		requests[r.BinID] = append(requests[r.BinID], r)
	}
	d := decider{day: in.Day, set: &in.Settings, start: in.Day.at(0, float64(in.Day.startMin())*60),
		span: time.Duration(in.Day.spanMin()) * time.Minute}
	out := make([]civic.BinDecision, 0, len(in.Bins))
	for i := range in.Bins {
		b := &in.Bins[i]
		if b.Status == civic.StatusRemoved {
			continue
		}
		var fc *civic.Forecast
		if f, ok := in.Forecasts[b.ID]; ok {
			fc = &f
		}
		var last *time.Time
		if t, ok := in.LastCollected[b.ID]; ok && !t.IsZero() {
			last = &t
		}
		out = append(out, d.decide(b, states[b.ID], fc, alerts[b.ID], requests[b.ID], last))
	}
	slices.SortFunc(out, func(a, b civic.BinDecision) int { return strings.Compare(a.BinID, b.BinID) })
	return out
}

type decider struct {
	day   Day
	set   *civic.PlanSettings
	start time.Time     // the day's collection start
	span  time.Duration // how long collection lasts
}

// fillModel is what is known of a bin's fill: fill0 at t0, rising by rate
// per hour.
type fillModel struct {
	known bool
	fill0 float64
	t0    time.Time
	rate  float64
}

// at returns the expected fill at t (never before t0), at most 1.
func (m fillModel) at(t time.Time) float64 {
	h := max(t.Sub(m.t0).Hours(), 0)
	return math.Min(m.fill0+m.rate*h, 1)
}

// reaches returns when the fill reaches thr, and false if it never does
// at the present rate.
func (m fillModel) reaches(thr float64) (time.Time, bool) {
	if m.fill0 >= thr {
		return m.t0, true
	}
	if !(m.rate > 0) {
		return time.Time{}, false
	}
	h := (thr - m.fill0) / m.rate
	return m.t0.Add(time.Duration(h * float64(time.Hour))), true
}

func (d *decider) decide(b *civic.Bin, st *civic.BinState, fc *civic.Forecast, alerts []*civic.Alert, reqs []Request, last *time.Time) civic.BinDecision {
	dec := civic.BinDecision{BinID: b.ID, Stream: b.Stream, Decision: civic.Skip}
	pol := d.set.Policy(b.ZoneID, b.Stream)
	thr := pol.MustGoLine(b)
	at := d.collectionTime(b)
	visit := d.visitTime(b)

	// What is known of the fill.
	var m fillModel
	silent := false
	switch {
	case fc != nil:
		m = fillModel{known: true, fill0: fc.Fill, t0: fc.Now, rate: fc.RatePerHour}
		f := fc.Fill
		dec.Fill = &f
		if st != nil && st.Fill != nil {
			f := *st.Fill
			dec.Fill = &f
		}
		dec.FullAt = fc.FullAt
		if st != nil && st.Fill != nil && fc.Now.Sub(st.Time) > SilentAfter {
			// A silent sensor: the forecast knows no more of the fill
			// than the state does, whatever instant it starts from, but
			// its rate is the bin's. Start from what was last known.
			m.fill0, m.t0, silent = *st.Fill, st.Time, true
		}
	case st != nil && st.Fill != nil:
		m = fillModel{known: true, fill0: *st.Fill, t0: st.Time}
		f := *st.Fill
		dec.Fill = &f
	}
	emptiedSince := m.known && last != nil && last.After(m.t0)
	if emptiedSince {
		m.fill0, m.t0 = 0, *last
	}
	if m.known {
		dec.LoadL = math.Min(m.at(visit), 1) * b.CapacityL
	} else {
		dec.LoadL = thr * b.CapacityL
	}
	dec.LoadL = math.Max(dec.LoadL, 0)

	if b.Status != civic.StatusActive {
		dec.Reason = statusReason(b.Status)
		return dec
	}
	for _, a := range alerts {
		if a.Rule == civic.RuleFire {
			dec.Reason = "fire alert open: not collected until cleared"
			return dec
		}
	}
	if !slices.Contains(pol.ServiceDays, d.start.Weekday()) {
		dec.Reason = fmt.Sprintf("no %s service on %s", b.Stream.Label(), d.start.Weekday())
		return dec
	}

	// Evidence newer than the last collection.
	fresh := func(t time.Time) bool { return last == nil || t.IsZero() || t.After(*last) }
	var must []string
	var news bool
	for _, rule := range []civic.RuleKind{civic.RuleFull, civic.RuleOverflowSoon} {
		for _, a := range alerts {
			if a.Rule == rule && fresh(seen(a)) {
				news = true
				if rule == civic.RuleFull {
					must = append(must, "full alert open")
				} else {
					must = append(must, "overflow alert open")
				}
				break
			}
		}
	}
	for _, r := range reqs {
		if fresh(r.At) {
			news = true
			reason := strings.TrimSpace(r.Reason)
			if reason == "" {
				reason = "service requested"
			}
			must = append(must, "311 request: "+reason)
			break
		}
	}
	next := d.nextService(pol)
	var fcMust []string
	if m.known {
		// Left today, the bin is next served on the next service day, by
		// the time that day's plan can promise (see nextChance). The
		// forecast's early bound counts: the chance that the bin fills
		// before then must stay small, not even.
		by := d.nextChance(b, next)
		full, early, ok := d.fullAt(m, fc, thr, emptiedSince || silent, pol.Risk())
		if ok && early.Before(by) {
			when := full.In(d.day.loc()).Format("Mon 15:04")
			if early.Before(full) {
				when += fmt.Sprintf(" (maybe %s)", early.In(d.day.loc()).Format("Mon 15:04"))
			}
			switch {
			case !full.After(m.t0):
				fcMust = append(fcMust, fmt.Sprintf("full: %s at the last reading", pct(m.fill0)))
			case early.Before(next):
				fcMust = append(fcMust, fmt.Sprintf("forecast full %s, before the next service day (%s)",
					when, next.Weekday().String()[:3]))
			default:
				fcMust = append(fcMust, fmt.Sprintf("forecast full %s, before the next service day's trucks can reach it (%s)",
					when, by.In(d.day.loc()).Format("Mon 15:04")))
			}
		}
	}
	// A reading since the last collection that says the bin fills before
	// its next chance is news: the bin really filled up again.
	if len(fcMust) > 0 && !emptiedSince {
		news = true
	}
	if last != nil && pol.RecentHours > 0 && !news {
		if ago := at.Sub(*last); ago < time.Duration(pol.RecentHours*float64(time.Hour)) {
			dec.Reason = "emptied " + agoText(max(ago, 0))
			return dec
		}
	}

	must = append(must, fcMust...)
	if pol.HygieneDays > 0 {
		since, what := time.Time{}, ""
		switch {
		case last != nil:
			since, what = *last, "not emptied for "
		case m.known:
			since, what = inService(b)
		}
		if !since.IsZero() {
			limit := time.Duration(pol.HygieneDays * 24 * float64(time.Hour))
			now, then := at.Sub(since), next.Sub(since)
			switch {
			case now >= limit && last != nil:
				must = append(must, "hygiene: "+what+daysText(now))
			case now >= limit:
				must = append(must, "hygiene: "+what+daysText(now)+" ago")
			case then > limit:
				must = append(must, fmt.Sprintf("hygiene: %s by the next service day (%s), over the %g-day limit",
					daysText(then), next.Weekday().String()[:3], pol.HygieneDays))
			}
		}
	}
	if len(must) > 0 {
		dec.Decision = civic.MustGo
		dec.Reason = strings.Join(must, "; ")
		return dec
	}
	if !m.known {
		dec.Reason = "no fill reading"
		return dec
	}
	f := m.at(visit)
	when := visit.In(d.day.loc()).Format("15:04")
	if f >= pol.MayGoFill {
		dec.Decision = civic.MayGo
		dec.Reason = fmt.Sprintf("expected %s full at %s", pct(f), when)
		return dec
	}
	dec.Reason = fmt.Sprintf("expected %s full at %s, below %s", pct(f), when, pct(pol.MayGoFill))
	return dec
}

// fullAt returns when the bin reaches thr, and the time before which it
// fills with chance risk (see bandAt): at the default risk, 0.1, the early
// end of the forecast's band (FullAtLow). The forecaster's own FullAt
// follows the weekly pattern of the fill rate, so it is preferred when it
// is for the same threshold and no collection came after the forecast;
// otherwise the forecast's average rate is extrapolated, and its band, as
// a share of its time to full, is applied to the extrapolated time to
// full.
func (d *decider) fullAt(m fillModel, fc *civic.Forecast, thr float64, emptied bool, risk float64) (full, early time.Time, ok bool) {
	if fc != nil && !emptied && math.Abs(fc.Threshold-thr) < 1e-9 {
		if fc.FullAt != nil {
			early = *fc.FullAt
			if fc.FullAtLow != nil && fc.FullAtLow.Before(early) {
				early = bandAt(*fc.FullAt, *fc.FullAtLow, fc.Now, risk)
			}
			return *fc.FullAt, early, true
		}
		// Beyond the horizon: not full before it; after it, only the
		// average rate says anything.
		horizon := fc.Now.Add(time.Duration(fc.HorizonHours * float64(time.Hour)))
		if t, ok := m.reaches(thr); ok && t.After(horizon) {
			return t, t, true
		}
		if fc.FullAtLow != nil {
			// The median is beyond the horizon, the early bound is not:
			// the horizon stands in for the median.
			return horizon, bandAt(horizon, *fc.FullAtLow, fc.Now, risk), true
		}
		return time.Time{}, time.Time{}, false
	}
	t, ok := m.reaches(thr)
	if !ok {
		return t, t, false
	}
	// The band of the forecast, as a share of its time to full, applies to
	// the extrapolation too: a bin emptied since, or whose sensor fell
	// silent, is as uncertain as its forecast says.
	early = t
	if fc != nil && fc.FullAt != nil && fc.FullAtLow != nil && fc.FullAt.After(fc.Now) && t.After(m.t0) {
		low := bandAt(*fc.FullAt, *fc.FullAtLow, fc.Now, risk)
		share := float64(low.Sub(fc.Now)) / float64(fc.FullAt.Sub(fc.Now))
		if share > 0 && share < 1 {
			early = m.t0.Add(time.Duration(share * float64(t.Sub(m.t0))))
		}
	}
	return t, early, true
}

// bandAt is the time before which a bin whose forecast says full at
// median (even odds) and at low (one chance in ten sooner, the band's
// early end) fills with chance risk: read off the band as if the time to
// full were normal, between median (risk 0.5) and low (0.1) and beyond
// low for smaller risks, never before now.
func bandAt(median, low, now time.Time, risk float64) time.Time {
	if risk == civic.DefaultOverflowRisk {
		return low // exact: the forecast's own band
	}
	k := normalQuantile(1-risk) / normalQuantile(1-civic.DefaultOverflowRisk)
	t := median.Add(-time.Duration(k * float64(median.Sub(low))))
	if t.Before(now) {
		return now
	}
	return t
}

// normalQuantile is the standard normal distribution's quantile of p.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// SilentAfter is how long a bin's latest state (a reading, or a
// collection) may be older than its forecast before Decide takes the
// sensor for silent: sensors report a few times an hour, so a day without
// news is a dead battery or a broken sensor. The forecast of such a bin
// starts from the state's fill at the state's time (a collection's 0), as
// the forecaster cannot know better, and grows at the forecast's rate.
const SilentAfter = 24 * time.Hour

// DueLead is how long after the first shift starts a must-go bin's
// forecast full time starts to be kept as its visit's due (Build): before
// that the trucks have no time to get there.
const DueLead = 2 * time.Hour

// nextChance is the latest a bin left today can count on being emptied
// on the next service day (whose collection starts at next): if its
// forecast says full during that day's shifts, that day's plan has its
// truck come before then (Build's due), from DueLead after the start; a
// bin with an access window is served within it, at its close at the
// latest.
func (d *decider) nextChance(b *civic.Bin, next time.Time) time.Time {
	if b.AccessWindow != "" {
		if _, to, err := civic.ParseWindow(b.AccessWindow); err == nil {
			y, m, dd := next.Date()
			return time.Date(y, m, dd, 0, to, 0, 0, next.Location())
		}
	}
	return next.Add(DueLead)
}

// visitTime is when the bin is expected to be emptied if it is planned:
// the opening of its access window when it has one that opens after the
// day's start, else the middle of the day's collection (the truck may
// come at any time of its shift).
func (d *decider) visitTime(b *civic.Bin) time.Time {
	if at := d.collectionTime(b); at.After(d.start) {
		return at
	}
	return d.start.Add(d.span / 2)
}

// collectionTime is the day's start, or the bin's access window's opening
// when that is later.
func (d *decider) collectionTime(b *civic.Bin) time.Time {
	if b.AccessWindow != "" {
		if from, _, err := civic.ParseWindow(b.AccessWindow); err == nil && from > d.day.startMin() {
			return d.day.at(0, float64(from)*60)
		}
	}
	return d.start
}

// nextService is the collection start of the next service day after this
// one for the policy; a policy without service days is served weekly.
func (d *decider) nextService(p civic.PlanPolicy) time.Time {
	wd := d.start.Weekday()
	for k := 1; k <= 7; k++ {
		if slices.Contains(p.ServiceDays, (wd+time.Weekday(k))%7) {
			return d.day.at(k, float64(d.day.startMin())*60)
		}
	}
	return d.day.at(7, float64(d.day.startMin())*60)
}

// seen is the latest time an alert's condition was found.
func seen(a *civic.Alert) time.Time {
	if a.LastSeenAt.After(a.OpenedAt) {
		return a.LastSeenAt
	}
	return a.OpenedAt
}

// inService is when civic's record of a bin never collected starts: its
// installation date, or its registration in civic if that is later. A
// city that starts with civic knows nothing of the collections before
// it: its bins are not all hygiene cases on the first day, only once the
// limit has passed with civic keeping the record.
func inService(b *civic.Bin) (time.Time, string) {
	t, err := time.Parse(time.DateOnly, b.InstalledOn)
	if err != nil || b.CreatedAt.After(t) {
		return b.CreatedAt, "no collection recorded since it was registered "
	}
	return t, "never emptied, installed "
}

func statusReason(s civic.AssetStatus) string {
	if s == civic.StatusMaintenance {
		return "in maintenance"
	}
	return "status " + string(s)
}

func pct(f float64) string { return fmt.Sprintf("%.0f %%", f*100) }

func agoText(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h ago", int(d.Hours()))
}

func daysText(d time.Duration) string {
	days := d.Hours() / 24
	if days == math.Trunc(days) {
		return fmt.Sprintf("%.0f days", days)
	}
	return fmt.Sprintf("%.1f days", days)
}
