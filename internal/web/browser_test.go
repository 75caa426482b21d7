package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/civic"
)

// chromium finds Debian's Chromium (or $CIVIC_CHROMIUM). The browser tests
// fail, never skip, without it: CI must install it (apt-get install
// chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CIVIC_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium not found: install it (apt-get install -y chromium) or set CIVIC_CHROMIUM")
	return ""
}

// artifacts returns the folder screenshots go to: $CIVIC_ARTIFACTS/web, or
// a temporary folder that is kept for looking at afterwards.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CIVIC_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "civic-artifacts-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// stepTimeout bounds one step of a browser test.
const stepTimeout = 20 * time.Second

// failDir is where do and val save a screenshot of a failed step.
var failDir string

// do runs browser steps, failing the test with what was being done and a
// screenshot of the page as it was.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	val(t, ctx, what, chromedp.Steps(steps...))
}

// val runs one browser action and returns its value.
func val[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		if failDir != "" {
			screenshot(t, ctx, failDir, "failed-"+strings.ReplaceAll(what, " ", "-"))
		}
		// What the page was doing: the map's state and every resource
		// it fetched with its status.
		dctx, cancelDebug := context.WithTimeout(ctx, 5*time.Second)
		state, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href,
			map: document.getElementById("map") && Object.assign({}, document.getElementById("map").dataset),
			status: document.getElementById("map-status") && document.getElementById("map-status").textContent,
			resources: performance.getEntriesByType("resource").map(e => [e.name, e.responseStatus, Math.round(e.duration)])})`))
		cancelDebug()
		t.Logf("page state: %s", state)
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// useVendorAssets makes sure ui serves the vendor packages; call it before
// ui.Handler. They are embedded at build time from static/dist, which
// `make web` fills (npm); a fresh clone has none, and the test fails
// saying so rather than running npm itself.
func useVendorAssets(t testing.TB, ui *UI) {
	t.Helper()
	if !ui.static.vendor {
		t.Fatal("the front-end files are not built (internal/web/static/dist has no vendor files): run make web, then the tests again")
	}
}

// isolatedBin returns the index of a bin with readings and no other bin
// within 60 m, so its marker stands alone when zoomed in.
func isolatedBin(f *fixture) int {
	for i, b := range f.city.Bins[:len(f.city.Bins)-1] {
		alone := true
		for j, o := range f.city.Bins {
			if i != j && civic.HaversineM(b.Lat, b.Lon, o.Lat, o.Lon) < 60 {
				alone = false
				break
			}
		}
		if alone {
			return i
		}
	}
	f.t.Fatal("no isolated bin in the test city")
	return 0
}

// startBrowser starts headless Chromium for the test, logging the page's
// exceptions and console errors; it closes when the test ends.
func startBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1280, 800),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			t.Logf("browser: exception at %s:%d: %s %+v", d.URL, d.LineNumber, msg, d.Exception)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				t.Logf("browser: console.%s: %s", ev.Type, strings.Join(parts, " "))
			}
		}
	}))
	t.Cleanup(cancelTab)
	// The first run starts the browser; it must not carry the timeout.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return browser
}

// TestBrowser drives the dashboard in headless Chromium against a real
// SQLite store: sign in, the map shows every bin, a committed and published
// reading recolours its marker live, the bin page draws its charts, the
// fleet table sorts, and a phone-sized screen is usable.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	const bins = 60
	// The tile server is unreachable, as on a machine without internet:
	// markers and zones must render on the plain background regardless.
	f := newFixture(t, fixtureOpts{bins: bins, vendor: true, config: Config{TileURL: "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"}})
	dir := artifacts(t)

	browser := startBrowser(t, exe)
	ctx := browser
	failDir = dir
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// Sign in: the map redirects to the login page and back.
	do(t, ctx, "sign in", signInSteps(f, "/", "super", `#map[data-ready="true"]`))
	count := val(t, ctx, "count", chromedp.AttributeValue(css(`#map`), "data-count")).Value
	layers := val(t, ctx, "markers", chromedp.Evaluate[int](`civicMap.cluster.getLayers().length`))
	if count != fmt.Sprint(bins) || layers != bins {
		t.Fatalf("map shows %q bins (%d markers), want %d", count, layers, bins)
	}
	status := val(t, ctx, "status", chromedp.Text(css(`#map-status`)))
	if !strings.Contains(status, fmt.Sprintf("%d of %d bins", bins, bins)) {
		t.Errorf("map status %q", status)
	}
	screenshot(t, ctx, dir, "map")

	// Live: zoom to one bin, commit a reading, watch its marker change.
	idx := isolatedBin(f)
	id, b := f.binID(idx), f.city.Bins[idx]
	sel := fmt.Sprintf(`span[data-bin=%q]`, id)
	do(t, ctx, "zoom to bin",
		chromedp.WaitVisible(css(`#map[data-live="true"]`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`civicMap.map.setView([%f, %f], 18, {animate: false}); true`, b.Lat, b.Lon))(ctx, tg)
			return err
		}),
		chromedp.WaitVisible(css(sel)),
	)
	before := val(t, ctx, "marker fill", chromedp.AttributeValue(css(sel), "data-fill")).Value
	if before == "97" {
		t.Fatalf("bin %s already at 97 %%", id)
	}
	start := time.Now()
	f.commit(idx, 0.97, f.now.Add(time.Minute))
	val(t, ctx, "marker recoloured",
		chromedp.Poll[bool](fmt.Sprintf(`(() => { const s = document.querySelector(%q); return !!s && s.dataset.fill === "97" && s.parentElement.classList.contains("lvl-3"); })()`, sel),
			chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
	if took := time.Since(start); took > time.Second {
		t.Errorf("marker took %v to change after the commit, want < 1 s", took)
	} else {
		t.Logf("marker recoloured %v after the commit (was %s %%)", took.Round(time.Millisecond), before)
	}
	// Cluster animations move markers after a zoom; wait until the marker
	// rests where the map puts it before the screenshot.
	val(t, ctx, "marker in view", chromedp.Poll[bool](fmt.Sprintf(`(() => { const s = document.querySelector(%q); const r = s.getBoundingClientRect(); const m = document.getElementById("map").getBoundingClientRect(); return Math.abs(r.left + r.width / 2 - (m.left + m.width / 2)) < 3 && Math.abs(r.top + r.height / 2 - (m.top + m.height / 2)) < 3; })()`, sel),
		chromedp.WithPollingTimeout(5*time.Second)))
	screenshot(t, ctx, dir, "map-live")

	// The bin page draws its charts.
	do(t, ctx, "bin page",
		chromedp.Navigate(f.srv.URL+"/bins/"+id),
		chromedp.WaitVisible(css(`#charts[data-ready="true"]`)),
	)
	points := val(t, ctx, "points", chromedp.AttributeValue(css(`#charts`), "data-points")).Value
	size := val(t, ctx, "canvas", chromedp.Evaluate[[]int](`(() => { const c = document.querySelector("#chart-fill canvas"); return c ? [c.width, c.height] : [0, 0]; })()`))
	if len(size) != 2 || size[0] == 0 || size[1] == 0 || points == "0" || points == "" {
		t.Fatalf("fill chart canvas %v with %q points, want a drawn chart", size, points)
	}
	if n := val(t, ctx, "charts", chromedp.Evaluate[int](`document.querySelectorAll(".chart canvas").length`)); n != 3 {
		t.Errorf("%d charts, want fill, temperature and battery", n)
	}
	screenshot(t, ctx, dir, "bin")
	do(t, ctx, "range 24h",
		chromedp.Click(css(`[data-range="86400"]`)),
		chromedp.WaitVisible(css(`[data-range="86400"][aria-pressed="true"]`)),
	)

	// The fleet table sorts in place through htmx.
	do(t, ctx, "fleet",
		chromedp.Navigate(f.srv.URL+"/fleet"),
		chromedp.WaitVisible(css(`table.fleet`)),
		chromedp.Click(css(`th a[href*="sort=battery"]`)),
		chromedp.WaitVisible(css(`th[aria-sort] a[href*="sort=battery"]`)),
	)
	if sorted := val(t, ctx, "sorted", chromedp.Text(css(`th[aria-sort]`))); !strings.Contains(sorted, "Battery") {
		t.Errorf("sorted column %q, want Battery", sorted)
	}
	screenshot(t, ctx, dir, "fleet")

	// A phone: the map is visible and the menu opens.
	phone, cancelPhone := chromedp.NewContext(ctx)
	defer cancelPhone()
	if err := chromedp.Do(phone); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	do(t, phone, "phone map",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(css(`#map[data-ready="true"]`)),
	)
	mapBox := val(t, phone, "map box", chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("map").getBoundingClientRect(); return [r.width, r.height]; })()`))
	navHidden := val(t, phone, "nav hidden", chromedp.Evaluate[bool](`document.querySelector('#nav a[href="/"]').offsetParent === null`))
	overflow := val(t, phone, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if len(mapBox) != 2 || mapBox[0] < 380 || mapBox[1] < 300 {
		t.Errorf("phone map box %v, want full width and ≥ 300 px high", mapBox)
	}
	if !navHidden {
		t.Error("phone: the menu is open before the toggle is pressed")
	}
	if overflow > 0 {
		t.Errorf("phone: the page scrolls sideways by %d px", overflow)
	}
	screenshot(t, phone, dir, "phone-map")
	do(t, phone, "phone menu",
		chromedp.Click(css(`#navtoggle`)),
		chromedp.WaitVisible(css(`#nav a[href="/"]`)),
	)
	if !val(t, phone, "sign-out", chromedp.Evaluate[bool](`document.querySelector('#nav button[type=submit]').offsetParent !== null`)) {
		t.Error("phone: sign-out not reachable in the open menu")
	}
	screenshot(t, phone, dir, "phone-menu")
}
