package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/civic"
)

// TestBrowserCrewOffline: the crew view opens without a connection. A
// phone that loaded its route once keeps it (crew-sw.js); with the server
// out of reach, /crew shows the kept copy and says so, and a report made
// there waits in the phone's queue. The login page deletes the copy.
func TestBrowserCrewOffline(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 20, vendor: true, planning: true, config: Config{TileURL: "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"}})
	dir := artifacts(t)
	failDir = dir
	ctx := context.Background()
	pl, err := f.ui.deps.Planner.MakePlan(ctx, f.date(), "super", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ui.deps.Planner.SetStatus(ctx, pl.ID, civic.PlanLocked, "super"); err != nil {
		t.Fatal(err)
	}
	phone := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do(t, phone, "crew sign in", crewSignIn(f), chromedp.WaitVisible(css(`.nextstop:not([hidden])`)))
	next := func() string { return nextStop(t, phone) }
	first := next()
	val(t, phone, "kept for offline", chromedp.Poll[bool](`document.getElementById("crew").dataset.offline === "ready"`,
		chromedp.WithPollingTimeout(stepTimeout)))
	if !val(t, phone, "note hidden online", chromedp.Evaluate[bool](`document.getElementById("offline-copy").hidden`)) {
		t.Error("the page loaded from the server says it is a kept copy")
	}

	// The server is out of reach: no new connections, the open ones cut.
	f.srv.Listener.Close()
	f.srv.CloseClientConnections()
	do(t, phone, "open without a connection",
		chromedp.Navigate(f.srv.URL+"/crew"),
		chromedp.WaitVisible(css(`#crew[data-ready="true"]`)),
		chromedp.WaitVisible(css(`#offline-copy`)),
	)
	if got := next(); got != first {
		t.Errorf("kept copy: next stop %q, want %q", got, first)
	}
	if note := val(t, phone, "note", chromedp.Text(css(`#offline-copy`))); !strings.Contains(note, "as loaded") {
		t.Errorf("kept copy's note %q", note)
	}
	if n := val(t, phone, "styled", chromedp.Evaluate[int](`document.styleSheets.length`)); n == 0 {
		t.Error("the kept copy has no style sheets: its files were not kept")
	}
	do(t, phone, "collect offline",
		chromedp.Click(css(`.nextstop:not([hidden]) button.ok`)),
		chromedp.WaitVisible(css(`#queue-status`)),
	)
	if q := val(t, phone, "queue", chromedp.Text(css(`#queue-status`))); !strings.Contains(q, "1 report waiting") {
		t.Errorf("queue status %q, want 1 report waiting", q)
	}
	if overflow := val(t, phone, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); overflow > 0 {
		t.Errorf("phone: the kept copy scrolls sideways by %d px", overflow)
	}
	screenshot(t, phone, dir, "crew-offline-copy")
	fullScreenshot(t, phone, dir, "crew-offline-copy-full")
}

// crewSignIn opens /crew at phone size and signs in as the fixture's crew
// member crew1, until the crew view is ready.
func crewSignIn(f *fixture) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		signInSteps(f, "/crew", "crew1", `#crew[data-ready="true"]`),
	)
}

// nextStop is the stop id of the crew view's next-stop card, "" when none
// shows.
func nextStop(t *testing.T, phone context.Context) string {
	t.Helper()
	return val(t, phone, "next stop", chromedp.Evaluate[string](`(document.querySelector(".nextstop:not([hidden])") || {dataset: {}}).dataset.stop || ""`))
}
