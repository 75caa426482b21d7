package whatif

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteWeeksCSV writes one row per policy and ISO week.
func (r *Result) WriteWeeksCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{"policy", "week", "days"}, figureHeader...))
	for _, p := range r.Policies {
		for _, wk := range p.Weeks {
			_ = cw.Write(append([]string{p.Policy, wk.Week, strconv.Itoa(wk.Days)}, figureRow(wk.Figures)...))
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteZonesCSV writes one row per policy and zone.
func (r *Result) WriteZonesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(append([]string{"policy", "zone", "zone_name"}, figureHeader...))
	for _, p := range r.Policies {
		for _, z := range p.Zones {
			_ = cw.Write(append([]string{p.Policy, z.Zone, r.zoneName(z.Zone)}, figureRow(z.Figures)...))
		}
	}
	cw.Flush()
	return cw.Error()
}

var figureHeader = []string{"visits", "visits_under_half_full", "visits_to_full_bins", "routes", "disposal_trips", "km", "driver_hours",
	"overflow_events", "overflow_bin_hours", "overflowed_l", "collected_l", "generated_l", "fuel_l", "co2_kg", "cost_eur"}

func figureRow(f Figures) []string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	return []string{strconv.Itoa(f.Visits), strconv.Itoa(f.LowVisits), strconv.Itoa(f.FullVisits), strconv.Itoa(f.Routes), strconv.Itoa(f.Disposals),
		g(f.Km), g(f.Hours), strconv.Itoa(f.Overflows), g(f.OverflowBinHours), g(f.OverflowedL), g(f.CollectedL),
		g(f.GeneratedL), g(f.FuelL), g(f.CO2Kg), g(f.Cost)}
}

func (r *Result) zoneName(id string) string {
	for _, z := range r.Zones {
		if z.ID == id {
			return z.Name
		}
	}
	return id
}

// policyColors are the charts' colours, by report order.
var policyColors = map[string]string{
	PolicyDaily: "#7f7f7f", PolicyThrice: "#bcbd22", PolicyFixed: "#1f77b4",
	PolicyThreshold: "#ff7f0e", PolicyPlanner: "#2ca02c", PolicyPerfect: "#9467bd",
}

var policyNames = map[string]string{
	PolicyDaily: "Daily (Mon-Sat)", PolicyThrice: "Three times a week", PolicyFixed: "Fixed schedule",
	PolicyThreshold: "Sensor threshold", PolicyPlanner: "civic planner",
	PolicyPerfect: "Perfect forecasts",
}

// chart draws one weekly series per policy as an inline SVG line chart,
// leaving out the partial weeks at the ends of the run.
func (r *Result) chart(title, unit string, value func(Figures) float64) template.HTML {
	full := func(ws []Week) []Week {
		var out []Week
		for _, w := range ws {
			if w.Days == 7 {
				out = append(out, w)
			}
		}
		if len(out) == 0 {
			return ws // a run shorter than a week
		}
		return out
	}
	const w, h, left, right, top, bottom = 760.0, 260.0, 60.0, 150.0, 28.0, 30.0
	maxV, weeks := 0.0, 0
	for _, p := range r.Policies {
		weeks = max(weeks, len(full(p.Weeks)))
		for _, wk := range full(p.Weeks) {
			maxV = math.Max(maxV, value(wk.Figures))
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	x := func(i int) float64 {
		if weeks <= 1 {
			return left
		}
		return left + float64(i)*(w-left-right)/float64(weeks-1)
	}
	y := func(v float64) float64 { return top + (h-top-bottom)*(1-v/maxV) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-weight="bold">%s</text>`, left, template.HTMLEscapeString(title))
	for k := 0; k <= 4; k++ {
		v := maxV * float64(k) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" font-size="11">%s</text>`, left-6, y(v)+4, short(v))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11">%s per ISO week (whole weeks only)</text>`, left, h-8, template.HTMLEscapeString(unit))
	for n, p := range r.Policies {
		var pts []string
		for i, wk := range full(p.Weeks) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(value(wk.Figures))))
		}
		color := policyColors[p.Policy]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		ly := top + 16*float64(n)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="4" fill="%s"/><text x="%.0f" y="%.0f" font-size="12">%s</text>`,
			w-right+10, ly, color, w-right+26, ly+5, template.HTMLEscapeString(policyNames[p.Policy]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and escaped names
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

type zoneRow struct {
	Zone  string
	Cells []Figures
}

// WriteHTML writes the self-contained report: no scripts, no external
// files; charts are inline SVG.
// forecastWorth says, in words, what the perfect-forecast policy did
// better or worse than civic's planner: the most better sensors and
// forecasts could change. "" unless both ran.
func (r *Result) forecastWorth() string {
	pl, pf := r.Policy(PolicyPlanner), r.Policy(PolicyPerfect)
	if pl == nil || pf == nil {
		return ""
	}
	// change words now against then: less or more, a format of the
	// amount, and the share of then.
	change := func(then, now float64, less, more string) string {
		d, f := now-then, less
		if d > 0 {
			f = more
		}
		out := fmt.Sprintf(f, humanInt(math.Abs(d)))
		if then > 0 {
			out += fmt.Sprintf(" (%.0f%%)", 100*math.Abs(d)/then)
		}
		return out
	}
	return fmt.Sprintf("What better forecasts are worth: told every morning how full each bin truly is and when it will be full, "+
		"civic's planner would have made %s, driven %s, and left bins full %s. "+
		"That is the most better sensors and forecasts could change, under the same rules (service days, the longest time between collections, the trucks' shifts).",
		change(float64(pl.Total.Visits), float64(pf.Total.Visits), "%s fewer collections", "%s more collections"),
		change(pl.Total.Km, pf.Total.Km, "%s km less", "%s km more"),
		change(pl.Total.OverflowBinHours, pf.Total.OverflowBinHours, "%s hours less", "%s hours more"))
}

// humanInt writes v rounded, with thousands separated by commas.
func humanInt(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (r *Result) WriteHTML(w io.Writer) error {
	var zones []zoneRow
	if len(r.Policies) > 0 {
		for i, z := range r.Policies[0].Zones {
			row := zoneRow{Zone: r.zoneName(z.Zone)}
			for _, p := range r.Policies {
				row.Cells = append(row.Cells, p.Zones[i].Figures)
			}
			zones = append(zones, row)
		}
	}
	data := map[string]any{
		"R":     r,
		"Names": policyNames,
		"Zones": zones,
		"Worth": r.forecastWorth(),
		"Charts": []template.HTML{
			r.chart("Bins emptied", "bins emptied", func(f Figures) float64 { return float64(f.Visits) }),
			r.chart("Kilometres driven", "km", func(f Figures) float64 { return f.Km }),
			r.chart("Overflow bin-hours", "hours bins spent full", func(f Figures) float64 { return f.OverflowBinHours }),
		},
	}
	return reportTmpl.Execute(w, data)
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"n": func(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) },
	"pct": func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>civic what-if: {{.R.Bins}} bins, {{.R.Days}} days</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1000px; color: #222; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart { width: 100%; height: auto; margin: 1em 0; }
.summary { font-family: monospace; background: #f4f4f4; padding: .5em; }
</style>
</head>
<body>
<h1>What if the city collected its bins differently?</h1>
<p>A simulation of {{if .R.Own}}the city's own {{end}}{{.R.Bins}} bins over {{.R.Days}} days ({{.R.From}} to {{.R.To}}), seed {{.R.Seed}}, comparing ways of deciding which bins to empty. Every way sees exactly the same waste.</p>
<p class="summary">{{.R.Summary}}</p>
<h2>Results</h2>
<div class="wide"><table>
<tr><th>Way of collecting</th><th>Bins emptied</th><th>Of which under half full</th><th>Of which found overflowing</th><th>Truck trips</th><th>Unloading trips</th><th>km</th><th>Crew hours</th><th>Times a bin overflowed</th><th>Overflow bin-hours</th><th>Fuel (L)</th><th>CO2 (kg)</th><th>Cost (EUR)</th><th>Extra trucks needed</th><th>Bins left unserved</th><th>Sensors gone silent</th></tr>
{{range .R.Policies}}<tr><td>{{index $.Names .Policy}}</td><td>{{.Total.Visits}}</td><td>{{pct .Total.LowVisits .Total.Visits}}</td><td>{{pct .Total.FullVisits .Total.Visits}}</td><td>{{.Total.Routes}}</td><td>{{.Total.Disposals}}</td><td>{{n .Total.Km}}</td><td>{{n .Total.Hours}}</td><td>{{.Total.Overflows}}</td><td>{{n .Total.OverflowBinHours}}</td><td>{{n .Total.FuelL}}</td><td>{{n .Total.CO2Kg}}</td><td>{{n .Total.Cost}}</td><td>{{.ExtraTrucks}}</td><td>{{.Unserved}}</td><td>{{if .SilentSensors}}{{.SilentSensors}}{{else}}-{{end}}</td></tr>
{{end}}</table></div>
{{with .Worth}}<p id="forecast-worth">{{.}}</p>{{end}}
<h2>Week by week</h2>
{{range .Charts}}{{.}}
{{end}}
<h2>By zone</h2>
<p>Bins emptied / kilometres / overflow bin-hours in each zone.</p>
<div class="wide"><table>
<tr><th>Zone</th>{{range .R.Policies}}<th>{{index $.Names .Policy}}</th>{{end}}</tr>
{{range .Zones}}<tr><td>{{.Zone}}</td>{{range .Cells}}<td>{{.Visits}} / {{n .Km}} / {{n .OverflowBinHours}}</td>{{end}}</tr>
{{end}}</table></div>
<h2>Where the waste went</h2>
<div class="wide"><table>
<tr><th>Way of collecting</th><th>In bins at the start (L)</th><th>Thrown away (L)</th><th>Collected (L)</th><th>In bins at the end (L)</th><th>Overflowed (L)</th></tr>
{{range .R.Policies}}<tr><td>{{index $.Names .Policy}}</td><td>{{n .Waste.InBinStart}}</td><td>{{n .Waste.Generated}}</td><td>{{n .Waste.Collected}}</td><td>{{n .Waste.InBinEnd}}</td><td>{{n .Waste.Overflowed}}</td></tr>
{{end}}</table></div>
<h2>What these figures assume</h2>
<ul>
{{range .R.Assumptions}}<li>{{.}}</li>
{{end}}</ul>
</body>
</html>
`))

// WriteTable writes the per-policy table the CLI prints.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tvisits\t<50%\tfull\troutes\tdisposals\tkm\thours\toverflows\toverflow h\tfuel L\tCO2 kg\tcost EUR\textra trucks\tunserved\tplan s\t")
	for _, p := range r.Policies {
		t := p.Total
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t%.1f\t\n", p.Policy, t.Visits, t.LowVisits, t.FullVisits,
			t.Routes, t.Disposals, t.Km, t.Hours, t.Overflows, t.OverflowBinHours, t.FuelL, t.CO2Kg, t.Cost, p.ExtraTrucks, p.Unserved, p.PlanSeconds)
	}
	return tw.Flush()
}
