package web

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"

	"github.com/civic-city/civic/internal/civic"
)

// Planned versus actual: per route, what the crews reported against what
// was planned — stops collected, skipped (by reason) and pending, how late
// against the ETAs, the distance, and how full bins were on arrival.

// outcome sums up one route, or the whole plan.
type outcome struct {
	Label          string
	RouteID        string
	Colour         string
	Planned        int
	Collected      int
	Skipped        int
	SkipBy         map[civic.SkipReason]int
	Pending        int
	LateN          int     // reported stops with an ETA
	LateMeanMin    float64 // mean minutes late (early counts as 0)
	LateMaxMin     float64
	lateSum        float64
	KmPlanned      float64
	KmDone         float64 // estimated along the reported order
	KmDoneKnown    bool
	FillN          int
	FillMean       float64 // fill at arrival, 0..1
	fillSum        float64
	FillUnderHalf  int
	SkipReasonList []skipCount
}

type skipCount struct {
	Reason civic.SkipReason
	N      int
}

// reportData is the report page's model.
type reportData struct {
	Plan   civic.Plan
	Routes []outcome
	Total  outcome
}

// circuity turns straight lines into road distance for the estimate of
// the distance driven; the planner's default.
var circuity = civic.DefaultPlanSettings().Circuity

// routeOutcome compares a route's plan with its reports. The distance
// driven is not reported: it is estimated as the depot, the reported stops
// in the order they were reported and the depot again, in straight lines
// times the planner's circuity (facility trips are not known, so they are
// left out).
func routeOutcome(rt civic.Route) outcome {
	o := outcome{RouteID: rt.ID, Colour: routeColour(rt.Seq), SkipBy: map[civic.SkipReason]int{}, KmPlanned: rt.DistanceM / 1000}
	var done []civic.Stop
	var depot *civic.Stop
	for i, s := range rt.Stops {
		if s.Kind == civic.StopDepot && depot == nil {
			depot = &rt.Stops[i]
		}
		if s.Kind != civic.StopBin {
			continue
		}
		o.Planned++
		switch s.Status {
		case civic.StopCollected:
			o.Collected++
		case civic.StopSkipped:
			o.Skipped++
			o.SkipBy[s.SkipReason]++
		default:
			o.Pending++
		}
		if s.DoneAt != nil {
			done = append(done, s)
			if !s.ETA.IsZero() {
				late := max(0, s.DoneAt.Sub(s.ETA).Minutes())
				o.LateN++
				o.lateSum += late
				o.LateMaxMin = max(o.LateMaxMin, late)
			}
		}
		if s.FillAtArrival != nil && s.Status == civic.StopCollected {
			o.FillN++
			o.fillSum += *s.FillAtArrival
			if *s.FillAtArrival < 0.5 {
				o.FillUnderHalf++
			}
		}
	}
	if len(done) > 0 && depot != nil {
		slices.SortStableFunc(done, func(a, b civic.Stop) int { return a.DoneAt.Compare(*b.DoneAt) })
		lat, lon := depot.Lat, depot.Lon
		m := 0.0
		for _, s := range done {
			m += civic.HaversineM(lat, lon, s.Lat, s.Lon)
			lat, lon = s.Lat, s.Lon
		}
		if o.Pending == 0 {
			m += civic.HaversineM(lat, lon, depot.Lat, depot.Lon)
		}
		o.KmDone, o.KmDoneKnown = m*circuity/1000, true
	}
	o.finish()
	return o
}

func (o *outcome) finish() {
	if o.LateN > 0 {
		o.LateMeanMin = o.lateSum / float64(o.LateN)
	}
	if o.FillN > 0 {
		o.FillMean = o.fillSum / float64(o.FillN)
	}
	o.SkipReasonList = nil
	for _, r := range skipReasons {
		if n := o.SkipBy[r.Value]; n > 0 {
			o.SkipReasonList = append(o.SkipReasonList, skipCount{r.Value, n})
		}
	}
}

// add sums route outcomes into a plan's total.
func (o *outcome) add(x outcome) {
	o.Planned += x.Planned
	o.Collected += x.Collected
	o.Skipped += x.Skipped
	o.Pending += x.Pending
	for k, v := range x.SkipBy {
		o.SkipBy[k] += v
	}
	o.LateN += x.LateN
	o.lateSum += x.lateSum
	o.LateMaxMin = max(o.LateMaxMin, x.LateMaxMin)
	o.KmPlanned += x.KmPlanned
	if x.KmDoneKnown {
		o.KmDone += x.KmDone
		o.KmDoneKnown = true
	}
	o.FillN += x.FillN
	o.fillSum += x.fillSum
	o.FillUnderHalf += x.FillUnderHalf
}

func (u *UI) reportModel(r *http.Request) (reportData, error) {
	if err := u.plansEnabled(); err != nil {
		return reportData{}, err
	}
	pl, err := u.deps.Plans.Plan(r.Context(), r.PathValue("id"))
	if err != nil {
		return reportData{}, err
	}
	n, err := u.assetNames(r)
	if err != nil {
		return reportData{}, err
	}
	d := reportData{Plan: pl, Total: outcome{Label: "All routes", SkipBy: map[civic.SkipReason]int{}}}
	for _, rt := range pl.Routes {
		o := routeOutcome(rt)
		o.Label = "Route " + strconv.Itoa(rt.Seq) + " · " + cmp.Or(n.trucks[rt.TruckID], rt.TruckID)
		d.Routes = append(d.Routes, o)
		d.Total.add(o)
	}
	d.Total.finish()
	return d, nil
}

func (u *UI) planReport(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d, err := u.reportModel(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "planreport", "", pageData{Title: "Planned versus actual " + d.Plan.Date, Active: "/plans", Principal: p, Data: d})
}

func (u *UI) planReportCSV(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	d, err := u.reportModel(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+exportName(d.Plan, nil, "report.csv")+`"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	head := []string{"route", "route_id", "planned", "collected", "skipped", "pending"}
	for _, s := range skipReasons {
		head = append(head, "skipped_"+string(s.Value))
	}
	head = append(head, "late_mean_min", "late_max_min", "km_planned", "km_done_estimated", "fill_at_arrival_mean", "fill_under_50")
	cw.Write(head)
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, o := range append(d.Routes, d.Total) {
		row := []string{cell(o.Label), cell(o.RouteID), strconv.Itoa(o.Planned), strconv.Itoa(o.Collected), strconv.Itoa(o.Skipped), strconv.Itoa(o.Pending)}
		for _, s := range skipReasons {
			row = append(row, strconv.Itoa(o.SkipBy[s.Value]))
		}
		late, lateMax, kmDone, fill := "", "", "", ""
		if o.LateN > 0 {
			late, lateMax = f(o.LateMeanMin, 1), f(o.LateMaxMin, 1)
		}
		if o.KmDoneKnown {
			kmDone = f(o.KmDone, 1)
		}
		if o.FillN > 0 {
			fill = f(o.FillMean, 3)
		}
		row = append(row, late, lateMax, f(o.KmPlanned, 1), kmDone, fill, strconv.Itoa(o.FillUnderHalf))
		cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		u.log.Error("web: writing plan report CSV", "err", err)
	}
}
