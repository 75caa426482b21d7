package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The KPI dashboard: what sensor-driven collection changes, for leadership,
// by week and by zone (see civic.KPIQuery for the definitions), as tiles,
// uPlot charts, tables and a CSV download.

// kpiChart is what static/kpi.js draws: one entry per week (x is the
// week's Monday, Unix seconds), and the fill histogram.
type kpiChart struct {
	Weeks       []int64    `json:"weeks"`
	Collections []int      `json:"collections"`
	Baseline    []int      `json:"baseline"`
	KmRoutes    []float64  `json:"km_routes"`
	KmSaved     []*float64 `json:"km_saved"`
	Overflows   []int      `json:"overflows"`
	Late        []int      `json:"late"`
	Skipped     []int      `json:"skipped"`
	FillPct     []float64  `json:"fill_pct"` // bucket midpoints, %
	Fill        []int      `json:"fill"`
	Requests    []int      `json:"requests"` // 311
	SLAMet      []int      `json:"sla_met"`
	SLAMissed   []int      `json:"sla_missed"`
}

// kpiData is the KPI page's model.
type kpiData struct {
	Report civic.KPIReport
	Query  civic.KPIQuery
	Zones  []civic.Zone
	Chart  kpiChart
	CSVURL string
	// Scope names what the figures cover: "the city" or a zone's name.
	Scope string
	// Weeks are the weeks shown: the report's, less the leading weeks
	// before civic's records begin that have nothing to show (Before of
	// them).
	Weeks  []civic.KPIWeek
	Before int
	// Open311 is whether this server takes 311 service requests.
	Open311 bool
	// CanOperate is whether the viewer may open the 311 queue, which the
	// table by service then links to.
	CanOperate bool
}

func (u *UI) kpiModel(r *http.Request) (kpiData, error) {
	if u.deps.KPIs == nil {
		return kpiData{}, civic.Errorf(civic.Unavailable, "KPIs are not enabled on this server.")
	}
	v := r.URL.Query()
	q := civic.KPIQuery{From: v.Get("from"), To: v.Get("to"), Zone: v.Get("zone"), Location: u.cfg.Location}
	if err := q.Normalize(u.now()); err != nil {
		return kpiData{}, err
	}
	rep, err := u.deps.KPIs.KPIs(r.Context(), q)
	if err != nil {
		return kpiData{}, err
	}
	zones, err := u.deps.Store.ListZones(r.Context())
	if err != nil {
		return kpiData{}, err
	}
	d := kpiData{Report: rep, Query: q, Zones: zones, Scope: "the city", Open311: u.deps.ServiceDesk != nil}
	for _, z := range rep.Zones {
		if q.Zone != "" && z.ZoneID == q.Zone {
			d.Scope = z.Name
		}
	}
	d.CSVURL = "/kpi.csv?" + url.Values{"from": {q.From}, "to": {q.To}, "zone": {q.Zone}}.Encode()
	d.Weeks = rep.Weeks
	for len(d.Weeks) > 0 && beforeRecords(d.Weeks[0], rep.Assumptions.RecordsFrom) {
		d.Weeks = d.Weeks[1:]
		d.Before++
	}
	// The services' weeks are the weeks shown (on a copy: the report's
	// own slices stay whole).
	d.Report.Services = slices.Clone(d.Report.Services)
	for i := range d.Report.Services {
		sv := &d.Report.Services[i]
		sv.Weeks = sv.Weeks[min(d.Before, len(sv.Weeks)):]
	}
	c := &d.Chart
	for _, w := range d.Weeks {
		t, _ := time.ParseInLocation(time.DateOnly, w.Week, q.Location)
		c.Weeks = append(c.Weeks, t.Unix())
		c.Collections = append(c.Collections, w.Collections)
		c.Baseline = append(c.Baseline, w.Baseline)
		c.KmRoutes = append(c.KmRoutes, w.KmRoutes)
		c.KmSaved = append(c.KmSaved, w.KmSaved)
		c.Overflows = append(c.Overflows, w.Overflows)
		c.Late = append(c.Late, w.StopsLate)
		c.Skipped = append(c.Skipped, w.StopsSkipped)
		c.Requests = append(c.Requests, w.Requests)
		c.SLAMet = append(c.SLAMet, w.SLAMet)
		c.SLAMissed = append(c.SLAMissed, w.SLAMissed)
	}
	for _, b := range rep.Fill {
		c.FillPct = append(c.FillPct, (b.From+b.To)*50)
		c.Fill = append(c.Fill, b.N)
	}
	return d, nil
}

// beforeRecords reports whether w ends before civic's records begin (or
// there are none) and has nothing to show.
func beforeRecords(w civic.KPIWeek, recordsFrom string) bool {
	start, err := time.Parse(time.DateOnly, w.Week)
	if err != nil {
		return false
	}
	ended := recordsFrom == "" || start.AddDate(0, 0, 7).Format(time.DateOnly) <= recordsFrom
	return ended && w.Collections == 0 && w.Baseline == 0 && w.Overflows == 0 && w.StopsPlanned == 0 && w.Requests == 0
}

func (u *UI) kpiPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d, err := u.kpiModel(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.CanOperate = p.Can(civic.PermOperate)
	u.render(w, r, http.StatusOK, "kpi", "", pageData{Title: "KPIs", Active: "/kpi", Principal: p, Data: d})
}

// kpiCSV writes the report as CSV: one row per week, per zone, the total
// and one per 311 service, with every figure (empty where unknown).
func (u *UI) kpiCSV(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	d, err := u.kpiModel(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	rep := d.Report
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	name := "civic-kpi-" + rep.From + "-" + rep.To
	if rep.Zone != "" {
		name += "-" + exportSafe(rep.Zone)
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"scope", "key", "name", "days", "collections", "baseline_visits", "avoided", "avoided_pct",
		"km_routes", "km_baseline", "km_saved", "co2_saved_kg", "overflows", "fill_n", "fill_mean", "fill_under_half",
		"fill_under_half_pct", "stops_planned", "stops_collected", "stops_skipped", "stops_pending", "stops_late",
		"requests", "sla_met", "sla_missed", "sla_open", "sla_met_pct", "close_hours_median"})
	row := func(scope, key, name string, f civic.KPIFigures) {
		i := strconv.Itoa
		cw.Write([]string{scope, cell(key), cell(name), i(f.Days), i(f.Collections), i(f.Baseline), i(f.Avoided),
			fnum(f.AvoidedPct, 4), strconv.FormatFloat(f.KmRoutes, 'f', 2, 64), fnum(f.KmBaseline, 2), fnum(f.KmSaved, 2),
			fnum(f.CO2SavedKg, 1), i(f.Overflows), i(f.FillN), fnum(f.FillMean, 4), i(f.FillUnderHalf),
			fnum(f.FillUnderHalfPct, 4), i(f.StopsPlanned), i(f.StopsCollected), i(f.StopsSkipped), i(f.StopsPending),
			i(f.StopsLate), i(f.Requests), i(f.SLAMet), i(f.SLAMissed), i(f.SLAOpen), fnum(f.SLAMetPct, 4),
			fnum(f.CloseHoursMedian, 2)})
	}
	for _, wk := range rep.Weeks {
		row("week", wk.Week, "", wk.KPIFigures)
	}
	for _, z := range rep.Zones {
		row("zone", z.ZoneID, z.Name, z.KPIFigures)
	}
	row("total", rep.From+".."+rep.To, d.Scope, rep.Total)
	// The services' rows carry the 311 figures only: the columns of
	// collections and stops are empty.
	for _, sv := range rep.Services {
		r := make([]string, 28)
		r[0], r[1], r[2], r[3] = "service", cell(sv.Code), cell(sv.Name), strconv.Itoa(rep.Total.Days)
		r[22], r[23], r[24], r[25] = strconv.Itoa(sv.Requests), strconv.Itoa(sv.SLAMet), strconv.Itoa(sv.SLAMissed), strconv.Itoa(sv.SLAOpen)
		r[26], r[27] = fnum(sv.SLAMetPct, 4), fnum(sv.CloseHoursMedian, 2)
		cw.Write(r)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		u.log.Error("web: writing KPI CSV", "err", err)
	}
}

// exportSafe keeps the letters, digits and dashes of s for a file name.
func exportSafe(s string) string {
	b := []byte{}
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b = append(b, c)
		}
	}
	return string(b)
}
