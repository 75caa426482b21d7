package whatif

import (
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Explanation says where a policy's overflow and visits came from: each
// hour a bin spent full is put down to what the policy had decided for
// the bin that day (the day runs from one planning time to the next), and
// each visit to the reason the bin was on the day's routes. It is what a
// planner's overflow is diagnosed with (Options.Explain).
type Explanation struct {
	// OverflowBinHours by cause: "visited, before the truck came (R)",
	// "visited, refilled after the visit (R)", "not visited (R)", where R
	// is the day's decision for the bin ("must: forecast full", "may-go",
	// "skip: expected fill", "skip: no service day", ..., with ", no
	// reading for a day" when the planner had none; "scheduled" or "not
	// scheduled" for the policies without a planner).
	OverflowBinHours map[string]float64 `json:"overflow_bin_hours"`
	// FastOverflowBinHours is the part of OverflowBinHours at bins whose
	// mean waste is at least one bin a day (they overflow even when
	// emptied daily), by the same causes.
	FastOverflowBinHours map[string]float64 `json:"fast_overflow_bin_hours"`
	// Visits and LowVisits (under half full) by the decision's reason.
	Visits    map[string]int `json:"visits"`
	LowVisits map[string]int `json:"low_visits"`
}

// silentAfter: a bin whose latest reading is older than this when the
// day is planned is explained as one without readings (its sensor has
// gone silent).
const silentAfter = 24 * time.Hour

// mark is what the day's plan holds for one bin.
type mark struct {
	why    string    // the decision's reason, in a category
	served bool      // on a route today
	eta    time.Time // its first visit today
}

// explainer keeps the marks and the running full hours.
type explainer struct {
	ex    Explanation
	marks []mark
	full  []float64 // each bin's full hours at the last hour looked at
	fast  []bool
	buf   []float64
}

func newExplainer(r *runner) *explainer {
	n := len(r.city.Bins)
	e := &explainer{marks: make([]mark, n), fast: make([]bool, n), ex: Explanation{
		OverflowBinHours: map[string]float64{}, FastOverflowBinHours: map[string]float64{},
		Visits: map[string]int{}, LowVisits: map[string]int{},
	}}
	return e
}

// category shortens a decision to its kind and first reason, without the
// figures and times that make every reason different.
func category(d civic.BinDecision) string {
	reason := d.Reason
	if i := strings.Index(reason, ";"); i >= 0 {
		reason = reason[:i]
	}
	switch d.Decision {
	case civic.MustGo:
		switch {
		case strings.HasPrefix(reason, "forecast full") && strings.Contains(reason, "trucks can reach it"):
			return "must: forecast full during the next service day"
		case strings.HasPrefix(reason, "forecast full"):
			return "must: forecast full before the next service day"
		case strings.HasPrefix(reason, "full:"):
			return "must: full at the last reading"
		case strings.HasPrefix(reason, "hygiene"):
			return "must: hygiene"
		}
		return "must: " + firstWords(reason, 2)
	case civic.MayGo:
		return "may-go"
	}
	switch {
	case strings.HasPrefix(reason, "no ") && strings.Contains(reason, " service on "):
		return "skip: no service day"
	case strings.HasPrefix(reason, "expected"):
		return "skip: expected fill below may-go"
	case strings.HasPrefix(reason, "emptied"):
		return "skip: emptied recently"
	}
	return "skip: " + firstWords(reason, 2)
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// plan marks the day's decisions: every bin not decided is "not
// scheduled".
func (e *explainer) plan(r *runner, decisions []civic.BinDecision, must []int, why string) {
	for i := range e.marks {
		e.marks[i] = mark{why: "not scheduled"}
	}
	for _, i := range must {
		e.marks[i].why = why
	}
	for _, d := range decisions {
		if i, ok := r.city.BinIndex(d.BinID); ok {
			e.marks[i].why = category(d)
			if r.latest == nil {
				continue // PolicyPerfect: no sensors, the truth
			}
			if st := r.latest[i]; st.Fill == nil || r.now.Sub(st.Time) > silentAfter {
				e.marks[i].why += ", no reading for a day"
			}
		}
	}
}

// routed marks a bin on a route at eta.
func (e *explainer) routed(bin int, eta time.Time) {
	m := &e.marks[bin]
	if !m.served || eta.Before(m.eta) {
		m.served, m.eta = true, eta
	}
}

func (e *explainer) visit(bin int, fill float64) {
	w := e.marks[bin].why
	e.ex.Visits[w]++

	if fill < 0.5 {
		e.ex.LowVisits[w]++
	}
}

// hour puts the full hours gained up to `to` down to their causes.
func (e *explainer) hour(r *runner, to time.Time) {
	e.buf = r.s.FullHours(e.buf[:0])
	if e.full == nil {
		e.full = append([]float64(nil), e.buf...)
		for i := range e.fast {
			e.fast[i] = r.s.MeanRate(r.city.Bins[i].ID)*24 >= 1
		}
		return
	}
	for i, h := range e.buf {
		d := h - e.full[i]
		if d <= 0 {
			continue
		}
		m := e.marks[i]
		var cause string
		switch {
		case m.served && to.After(m.eta):
			cause = "visited, refilled after the visit (" + m.why + ")"
		case m.served:
			cause = "visited, before the truck came (" + m.why + ")"
		default:
			cause = "not visited (" + m.why + ")"
		}
		e.ex.OverflowBinHours[cause] += d
		if e.fast[i] {
			e.ex.FastOverflowBinHours[cause] += d
		}
	}
	e.full, e.buf = e.buf, e.full
}
