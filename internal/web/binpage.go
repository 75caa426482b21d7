package web

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// recentReadings is how many of a bin's latest readings its page lists.
const recentReadings = 20

// binData is the bin page's model.
type binData struct {
	View       civic.BinView
	Zone       string
	Fill       int
	Level      int
	Alerts     []string
	Seen       string
	Devices    []civic.Device
	Recent     []civic.Reading
	HistoryURL string
	// Forecast is the bin's predicted time to full; nil without a
	// forecaster or a forecast, when ForecastNote says why.
	Forecast     *forecastView
	ForecastNote string
	// Extra: collections, alert history, directions, device health
	// (binpage_extra.go).
	Extra binExtra
	// Plan is where the bin stands in today's plan (binpage_plan.go);
	// nil without one, and for crew members, who see no whole plan.
	Plan *binPlanView
}

func (u *UI) binPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := civic.ValidateID("id", id); err != nil {
		u.fail(w, r, civic.Errorf(civic.NotFound, "There is no bin %q.", id))
		return
	}
	v, err := u.deps.Store.Bin(ctx, id)
	if err != nil {
		if civic.IsKind(err, civic.NotFound) {
			err = civic.Errorf(civic.NotFound, "There is no bin %q.", id)
		}
		u.fail(w, r, err)
		return
	}
	devs, err := u.deps.Store.ListDevices(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.now()
	// The newest readings: the last two days is plenty at any sensible
	// uplink interval, and bounded.
	rs, err := u.deps.Store.Readings(ctx, civic.ReadingQuery{Bin: id, From: now.Add(-48 * time.Hour), To: now.Add(civic.MaxClockSkew)})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if len(rs) > recentReadings {
		rs = rs[len(rs)-recentReadings:]
	}
	slices.Reverse(rs)
	d := binData{View: v, Recent: rs, HistoryURL: "/bins/" + id + "/history.json", Seen: "never"}
	for _, dv := range devs {
		if dv.BinID == id {
			d.Devices = append(d.Devices, dv)
		}
	}
	e := &binEntry{bin: v.Bin}
	if v.State != nil {
		e.st, e.hasSt = *v.State, true
		d.Seen = ago(now, v.State.Time)
	}
	d.Fill = e.fillPct()
	d.Level = level(d.Fill)
	d.Alerts = alertLabels(e, now.Unix())
	d.Zone = v.ZoneID
	if _, zones, err := u.cache.entries(ctx); err == nil {
		for _, z := range zones {
			if z.ID == v.ZoneID {
				d.Zone = z.Name
			}
		}
	}
	u.binForecast(r, &d)
	u.binExtras(r, &d)
	if !p.CrewOnly() {
		d.Plan = u.binPlan(ctx, id)
	}
	if u.deps.ServiceDesk != nil {
		d.Extra.Desk, d.Extra.Queue = true, p.Can(civic.PermOperate)
		f := civic.ServiceRequestFilter{ObjectType: "bin", ObjectID: id, Limit: binHistorySize}
		if !d.Extra.Queue {
			f.PublicOnly = true // as the public pages show them
		}
		if d.Extra.Requests, err = u.deps.ServiceDesk.Requests(ctx, f); err != nil {
			u.log.ErrorContext(ctx, "bin page: 311 requests", "bin", id, "err", err)
		}
	}
	u.render(w, r, http.StatusOK, "bin", "", pageData{Title: v.Name, Active: "/", Principal: p, Data: d})
}

// forecastView is a bin's forecast as its page shows it: a sentence, and
// the projection the fill chart draws from (Now, Fill) to (FullAt,
// Threshold), in Unix seconds and percent (FullAt 0 when there is no
// crossing to draw).
type forecastView struct {
	Text      string
	Now       int64
	Fill      float64
	FullAt    int64
	Threshold float64
}

// binForecast adds the bin's forecast to d, or a note saying why there is
// none. Without a forecaster it adds nothing.
func (u *UI) binForecast(r *http.Request, d *binData) {
	if u.deps.Forecaster == nil {
		return
	}
	fc, err := u.deps.Forecaster.Forecast(r.Context(), d.View.ID)
	switch {
	case civic.IsKind(err, civic.NotFound):
		d.ForecastNote = "no forecast yet: no fill reading"
		return
	case civic.IsKind(err, civic.Unavailable):
		d.ForecastNote = "no forecast yet: the model is still training"
		return
	case err != nil:
		u.log.ErrorContext(r.Context(), "bin page: forecast", "bin", d.View.ID, "err", err)
		d.ForecastNote = "forecast unavailable"
		return
	}
	d.Forecast = newForecastView(fc, u.cfg.Location)
}

// Times are written in loc, the city's time zone.
func newForecastView(fc civic.Forecast, loc *time.Location) *forecastView {
	v := &forecastView{Now: fc.Now.Unix(), Fill: math.Round(fc.Fill*1000) / 10, Threshold: math.Round(fc.Threshold*1000) / 10}
	switch {
	case fc.FullAt == nil:
		v.Text = "not full within " + hoursText(fc.HorizonHours)
	case fc.HoursToFull != nil && *fc.HoursToFull <= 0:
		v.Text = "full now"
	default:
		v.FullAt = fc.FullAt.Unix()
		h := fc.FullAt.Sub(fc.Now).Hours()
		v.Text = "full in ~" + hoursText(h)
		if fc.FullAtLow != nil {
			lo := fc.FullAtLow.Sub(fc.Now).Hours()
			hi := "over " + hoursText(fc.HorizonHours)
			if fc.FullAtHigh != nil {
				hi = hoursText(fc.FullAtHigh.Sub(fc.Now).Hours())
			}
			v.Text += " (" + bandText(hoursText(lo), hi) + ")"
		}
		v.Text += ", " + fc.FullAt.In(loc).Format("Mon 15:04 MST")
	}
	return v
}

// hoursText is a duration in hours as people read it (a crew, the KPI
// page): minutes under an hour, hours under two days, days beyond.
func hoursText(h float64) string {
	switch {
	case h < 1:
		return strconv.Itoa(max(1, int(math.Round(h*60)))) + " min"
	case h < 48:
		return strconv.Itoa(int(math.Round(h))) + " h"
	}
	return strconv.FormatFloat(math.Round(h/24*10)/10, 'f', -1, 64) + " days"
}

// bandText joins two durations, sharing their unit: "10–19 h".
func bandText(lo, hi string) string {
	if i, j := strings.LastIndexByte(lo, ' '), strings.LastIndexByte(hi, ' '); i > 0 && j > 0 && lo[i:] == hi[j:] && !strings.HasPrefix(hi, "over") {
		return lo[:i] + "–" + hi
	}
	return lo + " – " + hi
}

// History limits: a chart has no use for more points than pixels.
const (
	maxHistorySpan   = 400 * 24 * time.Hour
	maxHistoryPoints = 5000
	targetPoints     = 400
)

// niceSteps are the bucket sizes history is downsampled to.
var niceSteps = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// autoStep picks the smallest nice step that keeps span under targetPoints
// buckets.
func autoStep(span time.Duration) time.Duration {
	for _, s := range niceSteps {
		if span/s <= targetPoints {
			return s
		}
	}
	return niceSteps[len(niceSteps)-1]
}

// parseTimeParam reads RFC 3339 or Unix seconds.
func parseTimeParam(field, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
		return time.UnixMilli(int64(n * 1000)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, civic.FieldError(field, "must be RFC 3339 or Unix seconds")
	}
	return t.UTC(), nil
}

// historyJSON is a bin's downsampled history as columns, the shape uPlot
// draws: {"from","to","step" (seconds), "t" (Unix s), "fill", "fill_min",
// "fill_max", "battery" (percent), "temp" (°C)}; null where a bucket has no
// value.
func (u *UI) historyJSON(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	id := r.PathValue("id")
	if err := civic.ValidateID("id", id); err != nil {
		u.dataError(w, r, err)
		return
	}
	q := r.URL.Query()
	now := u.now().UTC()
	to, err := parseTimeParam("to", q.Get("to"), now)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	// span (seconds) asks for the latest stretch by the server's clock,
	// which in the demo runs faster than the browser's.
	back := 7 * 24 * time.Hour
	if s := q.Get("span"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			u.dataError(w, r, civic.FieldError("span", "must be a positive number of seconds"))
			return
		}
		back = time.Duration(n) * time.Second
	}
	from, err := parseTimeParam("from", q.Get("from"), to.Add(-back))
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	span := to.Sub(from)
	if span <= 0 {
		u.dataError(w, r, civic.FieldError("to", "must be after from"))
		return
	}
	if span > maxHistorySpan {
		u.dataError(w, r, civic.FieldError("from", "the range may span at most 400 days"))
		return
	}
	step := autoStep(span)
	if s := q.Get("step"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			step = time.Duration(n) * time.Second
		} else if step, err = time.ParseDuration(s); err != nil {
			u.dataError(w, r, civic.FieldError("step", "must be a duration like 15m or seconds"))
			return
		}
		if step < time.Second {
			u.dataError(w, r, civic.FieldError("step", "must be at least a second"))
			return
		}
		if span/step > maxHistoryPoints {
			u.dataError(w, r, civic.FieldError("step", "is too small for the range: at most %d points", maxHistoryPoints))
			return
		}
	}
	if _, err := u.deps.Store.Bin(r.Context(), id); err != nil {
		u.dataError(w, r, err)
		return
	}
	pts, err := u.deps.Store.BinHistory(r.Context(), id, from, to, step)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	type series []*float64
	out := struct {
		From    int64   `json:"from"`
		To      int64   `json:"to"`
		Step    int64   `json:"step"`
		T       []int64 `json:"t"`
		Fill    series  `json:"fill"`
		FillMin series  `json:"fill_min"`
		FillMax series  `json:"fill_max"`
		Battery series  `json:"battery"`
		Temp    series  `json:"temp"`
	}{From: from.Unix(), To: to.Unix(), Step: int64(step / time.Second), T: []int64{}}
	out.Fill, out.FillMin, out.FillMax, out.Battery, out.Temp = series{}, series{}, series{}, series{}, series{}
	for _, p := range pts {
		out.T = append(out.T, p.Time.Unix())
		out.Fill = append(out.Fill, scaled(p.Fill, 100))
		out.FillMin = append(out.FillMin, scaled(p.FillMin, 100))
		out.FillMax = append(out.FillMax, scaled(p.FillMax, 100))
		out.Battery = append(out.Battery, scaled(p.Battery, 100))
		out.Temp = append(out.Temp, scaled(p.TemperatureC, 1))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-cache")
	json.NewEncoder(w).Encode(out)
}

// scaled multiplies v and rounds to a tenth, keeping nil.
func scaled(v *float64, k float64) *float64 {
	if v == nil {
		return nil
	}
	x := math.Round(*v*k*10) / 10
	return &x
}
