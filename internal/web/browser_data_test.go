package web

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/server"
)

// TestBrowserOpenData opens the open data catalogue page in Chromium as a
// resident who is not signed in, on a laptop and a phone, behind the real
// HTTP server with the portal mounted: every dataset is listed with its
// frequency, last update, licence, downloads and data dictionary, the
// downloads answer, and nothing overflows the phone's width.
func TestBrowserOpenData(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 30, vendor: true})
	portal, err := opendata.New(opendata.Config{Publisher: "City of Testville", ContactName: "Open Data Team",
		ContactEmail: "opendata@testville.example"}, opendata.Deps{Data: f.st, Bins: f.st})
	if err != nil {
		t.Fatal(err)
	}
	f.ui.deps.OpenData = portal
	// The page's downloads are all fetched at once below, twice, from one
	// anonymous address: more than the default per-address limit lets
	// through on a fast machine, and the limit is not what this tests.
	srv := httptest.NewServer(server.New(server.Config{CookieName: f.ui.cfg.SessionCookie, AnonymousRate: rate.Inf}, server.Deps{Store: f.st, Auth: f.auth,
		Pages: f.ui.Handler(), OpenData: portal.Handler(), Logger: slog.New(slog.DiscardHandler)}).Handler())
	t.Cleanup(srv.Close)
	dir := artifacts(t)
	failDir = dir
	ctx := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"data-desktop", 1366, 900}, {"data-phone", 390, 844}} {
		do(t, ctx, "open the catalogue on "+vp.name,
			chromedp.EmulateViewport(vp.width, vp.height),
			chromedp.Navigate(srv.URL+"/data"),
			chromedp.WaitVisible(css(`section.dataset#bins`)),
		)
		if u := val(t, ctx, "url", chromedp.Evaluate[string](`location.pathname`)); u != "/data" {
			t.Fatalf("an anonymous visitor was sent to %s: the catalogue is public", u)
		}
		titles := val(t, ctx, "titles", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("section.dataset h2")).map(h => h.textContent)`))
		if len(titles) != len(portal.Datasets()) {
			t.Fatalf("%s: %d datasets listed (%v), want %d", vp.name, len(titles), titles, len(portal.Datasets()))
		}
		meta := val(t, ctx, "bins meta", chromedp.Text(css(`#bins .datameta`)))
		for _, want := range []string{"hourly", "UTC", "Creative Commons Attribution 4.0", "CSV", "JSON", "GeoJSON"} {
			if !strings.Contains(meta, want) {
				t.Errorf("%s: bins metadata %q lacks %q", vp.name, meta, want)
			}
		}
		if lead := val(t, ctx, "lead", chromedp.Text(css(`.lead`))); !strings.Contains(lead, "City of Testville") || !strings.Contains(lead, "opendata@testville.example") {
			t.Errorf("%s: lead %q lacks the publisher and contact", vp.name, lead)
		}
		screenshot(t, ctx, dir, vp.name)
		do(t, ctx, "open the bins dictionary", chromedp.Click(css(`#bins details.dictionary summary`)), chromedp.WaitVisible(css(`#bins details.dictionary table`)))
		cols := val(t, ctx, "columns", chromedp.Evaluate[int](`document.querySelectorAll("#bins details.dictionary tbody tr").length`))
		if d := portal.Datasets()[0]; cols != len(d.Columns) {
			t.Errorf("%s: bins dictionary shows %d columns, want %d", vp.name, cols, len(d.Columns))
		}
		statuses := val(t, ctx, "downloads", chromedp.Evaluate[[]int](`Promise.all(Array.from(document.querySelectorAll("section.dataset a[download], section.dataset .hint a")).map(a => fetch(a.href).then(r => r.status)))`,
			chromedp.EvalAwaitPromise))
		if len(statuses) < 15 {
			t.Errorf("%s: %d download and example links, want at least 15", vp.name, len(statuses))
		}
		for i, s := range statuses {
			if s != 200 {
				t.Errorf("%s: link %d answered %d", vp.name, i, s)
			}
		}
		overflow := val(t, ctx, "overflow", chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
		if overflow > 1 {
			t.Errorf("%s: the page is %v px wider than the screen", vp.name, overflow)
		}
		do(t, ctx, "settle", chromedp.Sleep(200*time.Millisecond))
		screenshot(t, ctx, dir, vp.name+"-dictionary")
		fullScreenshot(t, ctx, dir, vp.name+"-full")
	}
}
