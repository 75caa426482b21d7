package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/civic"
)

// setOffline cuts the page off the network, as a phone in a basement:
// requests fail and navigator.onLine turns false (with its "offline"
// event), or back.
func setOffline(offline bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		rules := []*network.Conditions{}
		if offline {
			rules = append(rules, &network.Conditions{URLPattern: "", Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// fullScreenshot saves the whole page, not just the viewport.
func fullScreenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// stopStatus reads a stop's status from the store.
func (f *fixture) stopStatus(routeID, stopID string) civic.StopStatus {
	f.t.Helper()
	rt, err := f.plans.Route(context.Background(), routeID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range rt.Stops {
		if s.ID == stopID {
			return s.Status
		}
	}
	f.t.Fatalf("no stop %s in route %s", stopID, routeID)
	return ""
}

// TestBrowserPlans drives a collection day in Chromium: a supervisor
// makes the plan and sees its routes on the map, locks it; a crew member
// opens the route on a phone, marks a stop collected, loses the network,
// marks the next one (queued on the phone), gets the network back and the
// queue goes out; the operations map shows the bin emptied.
func TestBrowserPlans(t *testing.T) {
	exe := chromium(t)
	// Behind the real server: the phone's script reports to the JSON API,
	// through the server's session and cross-origin checks.
	f := newFixture(t, fixtureOpts{bins: 40, vendor: true, planning: true, api: true, config: Config{TileURL: "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"}})
	dir := artifacts(t)
	failDir = dir
	ctx := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	num := func(what, js string) int { return val(t, ctx, what, chromedp.Evaluate[int](js)) }

	// The supervisor makes the day's plan.
	do(t, ctx, "sign in",
		chromedp.EmulateViewport(1366, 900),
		signInSteps(f, "/plans", "super", `#makeplan`),
	)
	if got := val(t, ctx, "date", chromedp.Value(css(`#makeplan input[name=date]`))); got != f.date() {
		t.Errorf("date picker shows %q, want the service day %s", got, f.date())
	}
	screenshot(t, ctx, dir, "plans-empty")
	do(t, ctx, "make plan",
		chromedp.Click(css(`#makeplan-go`)),
		chromedp.WaitVisible(css(`#planmap[data-ready="true"]`)),
	)
	routes := num("routes", `document.querySelectorAll("section.route").length`)
	paths := num("paths", `document.querySelectorAll("#planmap path.leaflet-interactive").length`)
	markers := num("markers", `document.querySelectorAll("#planmap .leaflet-marker-icon").length`)
	depots := num("depots", `document.querySelectorAll("#planmap .stop-marker.k-depot").length`)
	facilities := num("facilities", `document.querySelectorAll("#planmap .stop-marker.k-disposal").length`)
	charts := num("charts", `document.querySelectorAll(".loadchart canvas").length`)
	if routes == 0 || paths != routes || markers == 0 || depots == 0 || facilities == 0 || charts != routes {
		t.Fatalf("plan page: %d routes, %d polylines, %d markers (%d depots, %d facility stops), %d load charts", routes, paths, markers, depots, facilities, charts)
	}
	t.Logf("plan: %d routes, %d markers", routes, markers)
	// The load chart tells time in the city's zone (UTC here), not the
	// browser's: in Tokyo, its legend gives the first point's time as the
	// page's own times do.
	do(t, ctx, "browser in Tokyo",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
			return err
		}),
		chromedp.Reload(),
		chromedp.WaitVisible(css(`.loadchart[data-ready="true"]`)),
	)
	times := val(t, ctx, "chart time", chromedp.Evaluate[[]string](`(() => {
		const box = document.querySelector(".loadchart"), over = box.querySelector(".u-over"), r = over.getBoundingClientRect();
		over.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + 1, clientY: r.top + r.height / 2, bubbles: true}));
		const t0 = new Date(JSON.parse(box.dataset.load)[0][0] * 1000);
		const fmt = tz => t0.toLocaleTimeString("en-US", {timeZone: tz, hour: "numeric", minute: "2-digit"}).replace(" ", "").toLowerCase();
		return [box.querySelector(".u-legend .u-value").textContent, fmt(document.body.dataset.tz), fmt("Asia/Tokyo")]; })()`))
	if len(times) != 3 || !strings.HasSuffix(times[0], " "+times[1]) || times[1] == times[2] {
		t.Errorf("load chart's first point %q, want the city's time %q (the browser's: %q)", times, times[1], times[2])
	}
	do(t, ctx, "browser back home", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{})
		return err
	}))
	screenshot(t, ctx, dir, "plan")
	fullScreenshot(t, ctx, dir, "plan-full")
	planID := val(t, ctx, "plan id", chromedp.Evaluate[string](`location.pathname.split("/")[2]`))

	do(t, ctx, "lock",
		chromedp.Click(css(`#lock`)),
		chromedp.WaitVisible(css(`#unlock`)),
	)
	if st := val(t, ctx, "status", chromedp.Text(css(`#plan-status`))); st != "locked" {
		t.Fatalf("plan status %q after lock", st)
	}
	pl, err := f.plans.Plan(context.Background(), planID)
	if err != nil {
		t.Fatal(err)
	}
	crew := f.city.Crews[0]
	var mine civic.Route
	for _, r := range pl.Routes {
		if r.CrewID == crew.ID || r.CrewID == "" && r.TruckID == crew.TruckID {
			mine = r
		}
	}
	var bins []civic.Stop
	for _, s := range mine.Stops {
		if s.Kind == civic.StopBin {
			bins = append(bins, s)
		}
	}
	if len(bins) < 2 {
		t.Fatalf("crew %s's route has %d bins, want at least 2", crew.ID, len(bins))
	}
	do(t, ctx, "sheet", chromedp.Navigate(f.srv.URL+"/plans/"+planID+"/routes/"+mine.ID+"/sheet"), chromedp.WaitVisible(css(`table.sheet`)))
	screenshot(t, ctx, dir, "sheet")

	// The crew member, on a phone.
	phone := ctx
	do(t, phone, "crew sign in",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		crewSignIn(f),
	)
	next := func() string { return nextStop(t, phone) }
	if got := next(); got != bins[0].ID {
		t.Fatalf("next stop %q, want %s", got, bins[0].ID)
	}
	overflow := val(t, phone, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if overflow > 0 {
		t.Errorf("phone: the crew page scrolls sideways by %d px", overflow)
	}
	if n := val(t, phone, "crew map", chromedp.Evaluate[int](`document.querySelectorAll(".crewmap path.leaflet-interactive").length`)); n == 0 {
		t.Error("the crew page's map draws nothing")
	}
	screenshot(t, phone, dir, "crew-phone")
	fullScreenshot(t, phone, dir, "crew-phone-full")

	// Collected, online: it reaches the server.
	do(t, phone, "collect 1",
		chromedp.Click(css(`.nextstop:not([hidden]) button.ok`)),
		chromedp.WaitVisible(css(`#crew[data-sent="1"]`)),
	)
	if st := f.stopStatus(mine.ID, bins[0].ID); st != civic.StopCollected {
		t.Fatalf("stop 1 is %s on the server after Collected, want collected", st)
	}
	if via := val(t, phone, "via", chromedp.AttributeValue(css(`#crew`), "data-via")).Value; via != "api" {
		t.Errorf("the report went to the %q endpoint, want the API", via)
	}
	if got := next(); got != bins[1].ID {
		t.Fatalf("after the report the next stop is %q, want %s", got, bins[1].ID)
	}

	// Offline: the report waits on the phone.
	do(t, phone, "offline", setOffline(true))
	val(t, phone, "navigator offline", chromedp.Poll[bool](`!navigator.onLine`, chromedp.WithPollingTimeout(3*time.Second)))
	do(t, phone, "collect 2 offline",
		chromedp.Click(css(`.nextstop:not([hidden]) button.ok`)),
		chromedp.WaitVisible(css(`#queue-status`)),
	)
	queued := val(t, phone, "queue text", chromedp.Text(css(`#queue-status`)))
	if !strings.Contains(queued, "1 report waiting") {
		t.Fatalf("queue status %q, want 1 report waiting", queued)
	}
	if n := val(t, phone, "stored queue", chromedp.Evaluate[int](`JSON.parse(localStorage.getItem("civic.crew.queue.v1")).length`)); n != 1 {
		t.Errorf("%d reports in localStorage, want 1", n)
	}
	screenshot(t, phone, dir, "crew-offline")
	time.Sleep(300 * time.Millisecond)
	if st := f.stopStatus(mine.ID, bins[1].ID); st != civic.StopPending {
		t.Fatalf("stop 2 is %s on the server while the phone is offline", st)
	}

	// Online again: the queue goes out by itself.
	do(t, phone, "online",
		setOffline(false),
		chromedp.WaitVisible(css(`#crew[data-queued="0"][data-sent="2"]`)),
	)
	if st := f.stopStatus(mine.ID, bins[1].ID); st != civic.StopCollected {
		t.Fatalf("stop 2 is %s on the server after the queue flushed", st)
	}
	if !val(t, phone, "queue hidden", chromedp.Evaluate[bool](`document.getElementById("queue-status").hidden`)) {
		t.Errorf("queue status still shown: %q", val(t, phone, "queue text", chromedp.Text(css(`#queue-status`))))
	}
	screenshot(t, phone, dir, "crew-after")

	// A crew member sees their own route's sheet on the phone, and no
	// whole plan: those pages are the supervisors'.
	for _, path := range []string{"/plans/" + planID, "/plans/" + planID + "/report", "/plans"} {
		do(t, phone, "crew refused "+path, chromedp.Navigate(f.srv.URL+path), chromedp.WaitVisible(css(`h1`)))
		if h := val(t, phone, "heading", chromedp.Text(css(`h1`))); h != "Forbidden" {
			t.Errorf("crew on %s: heading %q, want Forbidden", path, h)
		}
	}
	for _, pg := range []struct{ name, path, ready string }{
		{"phone-sheet", "/plans/" + planID + "/routes/" + mine.ID + "/sheet", `table.sheet`},
	} {
		do(t, phone, pg.name, chromedp.Navigate(f.srv.URL+pg.path), chromedp.WaitVisible(css(pg.ready)))
		if overflow := val(t, phone, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); overflow > 0 {
			t.Errorf("phone: %s scrolls sideways by %d px", pg.path, overflow)
		}
		screenshot(t, phone, dir, pg.name)
	}
	do(t, phone, "desktop crew", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(f.srv.URL+"/crew"), chromedp.WaitVisible(css(`#crew[data-ready="true"]`)))
	screenshot(t, phone, dir, "crew-desktop")

	// The operations map shows the bin emptied.
	bin := bins[1].BinID
	do(t, phone, "map", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(css(`#map[data-ready="true"]`)))
	do(t, phone, "plan outline", chromedp.WaitVisible(css(`#map[data-planned]`)))
	cls := func(id string) string {
		return val(t, phone, "marker class", chromedp.Evaluate[string](fmt.Sprintf(`civicMap.bins.get(%q).marker.options.icon.options.className`, id)))
	}
	if c := cls(bin); strings.Contains(c, "planned") {
		t.Errorf("collected bin %s is still outlined as to collect: %q", bin, c)
	}
	if c := cls(bins[2].BinID); !strings.Contains(c, "planned") {
		t.Errorf("pending bin %s is not outlined as to collect: %q", bins[2].BinID, c)
	}
	fill := val(t, phone, "bin fill", chromedp.Evaluate[string](fmt.Sprintf(`String(civicMap.bins.get(%q).row[3])`, bin)))
	if fill != "0" {
		t.Errorf("bin %s shows fill %s on the map after its collection, want 0", bin, fill)
	}
	js := fmt.Sprintf(`fetch("/map/bins.json").then(r => r.json()).then(s => { const row = s.bins.find(b => b[0] === %q); return row ? String(row[3]) : "missing"; })`, bin)
	if fill := val(t, phone, "bins.json", chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise)); fill != "0" {
		t.Errorf("/map/bins.json has fill %s for bin %s after its collection, want 0", fill, bin)
	}
	screenshot(t, phone, dir, "map-after")

	// Planned versus actual shows the two collections, to the supervisor.
	val(t, phone, "sign out", chromedp.Evaluate[bool](`fetch("/logout", {method: "POST"}).then(() => true)`, chromedp.EvalAwaitPromise))
	do(t, phone, "supervisor again", signInSteps(f, "/plans/"+planID+"/report", "super", `#report`))
	screenshot(t, phone, dir, "report")
}
