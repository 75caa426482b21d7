package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserKPI draws the KPI page over a demo-like history in Chromium,
// on a laptop and a phone, and shows a stored simulation's report with its
// SVG chart.
func TestBrowserKPI(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 40, vendor: true, planning: true, open311: true})
	f.addHistory(10)
	for _, r := range [][2]float64{{200, 12}, {190, 30}, {100, 12}, {90, 30}, {40, 12}, {60, -1}} {
		f.addRequest(r[0], 24, r[1]) // promised a day: closed in time, closed late, left open
	}
	f.addSimulation("sim-1", "Sensors on every bin")
	dir := artifacts(t)
	failDir = dir
	ctx := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	do(t, ctx, "sign in",
		chromedp.EmulateViewport(1366, 900),
		signInSteps(f, "/kpi", "analyst1", `#kpi-charts[data-ready="true"]`),
	)
	checkCharts := func(what string, minWidth float64) {
		t.Helper()
		canvases := val(t, ctx, what+" canvases", chromedp.Evaluate[[][]float64](`Array.from(document.querySelectorAll("#kpi-charts canvas")).map(c => [c.width, c.height, c.getBoundingClientRect().width])`))
		if len(canvases) != 5 {
			t.Fatalf("%s: %d chart canvases, want 5", what, len(canvases))
		}
		for i, c := range canvases {
			if c[0] == 0 || c[1] == 0 || c[2] < minWidth {
				t.Errorf("%s: canvas %d is %v, want drawn and at least %.0f px wide", what, i, c, minWidth)
			}
		}
	}
	checkCharts("laptop", 400)
	figures := val(t, ctx, "figures", chromedp.Evaluate[[]float64](`(() => { const d = JSON.parse(document.getElementById("kpi-data").textContent);
		const sum = a => a.reduce((s, v) => s + (v || 0), 0);
		return [sum(d.collections), sum(d.baseline), sum(d.km_routes), sum(d.overflows), sum(d.fill), d.weeks.length,
			sum(d.requests), sum(d.sla_met), sum(d.sla_missed)]; })()`))
	for i, name := range []string{"collections", "baseline visits", "route km", "overflows", "fill histogram", "weeks",
		"311 requests", "on time", "late"} {
		if i >= len(figures) || figures[i] <= 0 {
			t.Errorf("charted %s: %v, want > 0", name, figures)
		}
	}
	if tiles := val(t, ctx, "tiles", chromedp.Text(css(`#kpi-avoided`))); tiles == "–" || tiles == "" {
		t.Errorf("avoided tile %q", tiles)
	}
	screenshot(t, ctx, dir, "kpi")
	fullScreenshot(t, ctx, dir, "kpi-full")

	// A stored simulation: the page frames the report; the report alone
	// draws its SVG.
	do(t, ctx, "simulations",
		chromedp.Navigate(f.srv.URL+"/simulations"),
		chromedp.WaitVisible(css(`a[href="/simulations/sim-1"]`)),
		chromedp.Click(css(`a[href="/simulations/sim-1"]`)),
		chromedp.WaitVisible(css(`#simreport`)),
	)
	frame := val(t, ctx, "frame", chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("simreport").getBoundingClientRect(); return [r.width, r.height]; })()`))
	if len(frame) != 2 || frame[0] < 600 || frame[1] < 400 {
		t.Errorf("report frame %v, want a large frame", frame)
	}
	// The frame's document is an opaque origin: wait for its load in the
	// page's resource timing.
	val(t, ctx, "report loaded", chromedp.Poll[bool](`performance.getEntriesByType("resource").some(e => e.name.endsWith("/simulations/sim-1/report") && e.responseStatus === 200)`,
		chromedp.WithPollingTimeout(5*time.Second)))
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	screenshot(t, ctx, dir, "simulation")
	do(t, ctx, "report alone",
		chromedp.Navigate(f.srv.URL+"/simulations/sim-1/report"),
		chromedp.WaitVisible(css(`svg#chart rect`)),
	)
	svg := val(t, ctx, "svg", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector("svg#chart").getBoundingClientRect(); return [r.width, r.height, document.querySelectorAll("svg#chart rect").length]; })()`))
	if len(svg) != 3 || svg[0] < 100 || svg[1] < 50 || svg[2] != 2 {
		t.Errorf("report SVG %v, want a drawn chart of two bars", svg)
	}
	// The report's own script does not run: the policy forbids it.
	if ran := val(t, ctx, "script", chromedp.Evaluate[bool](`document.body.dataset.ran === "yes"`)); ran {
		t.Error("the stored report's script ran")
	}
	screenshot(t, ctx, dir, "simulation-report")

	// A phone: the charts fit, nothing scrolls sideways.
	phone, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(phone); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx = phone
	do(t, ctx, "phone kpi",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(f.srv.URL+"/kpi"),
		chromedp.WaitVisible(css(`#kpi-charts[data-ready="true"]`)),
	)
	checkCharts("phone", 240)
	if overflow := val(t, ctx, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); overflow > 0 {
		t.Errorf("phone: the KPI page scrolls sideways by %d px", overflow)
	}
	screenshot(t, ctx, dir, "phone-kpi")
	fullScreenshot(t, ctx, dir, "phone-kpi-full")
	do(t, ctx, "phone simulation",
		chromedp.Navigate(f.srv.URL+"/simulations/sim-1"),
		chromedp.WaitVisible(css(`#simreport`)),
	)
	if overflow := val(t, ctx, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); overflow > 0 {
		t.Errorf("phone: the simulation page scrolls sideways by %d px", overflow)
	}
	screenshot(t, ctx, dir, "phone-simulation")
}
