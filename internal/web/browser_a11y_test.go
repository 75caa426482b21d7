package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, the accessibility engine, which `make web`
// installs with the front-end packages (a development dependency: the
// binary does not embed it).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run make web, then the tests again", err)
	}
	return string(b)
}

// axeViolations runs axe-core on the page the tab shows, every
// disclosure opened (closed ones hide their content from it), against
// WCAG 2.2 levels A and AA, and returns one line per rule broken: its
// impact, id, how many elements and the first of them. Map markers are
// left out of the target-size rule alone: WCAG 2.5.8 excepts targets
// whose place is the information (a bin's marker is where the bin is),
// and neighbours on a map overlap at some zoom; the list beside the map
// and the fleet table offer every bin as a full-size target.
func axeViolations(t *testing.T, tab context.Context, src, what string) []string {
	t.Helper()
	val(t, tab, what+": open details", chromedp.Evaluate[int](`document.querySelectorAll("details").forEach(d => d.open = true); 0`))
	val(t, tab, what+": load axe", chromedp.Evaluate[int](src+";0"))
	return val(t, tab, what+": axe", chromedp.Evaluate[[]string](`(async () => {
		const tags = {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]};
		const all = await axe.run(document, {runOnly: tags, rules: {"target-size": {enabled: false}}});
		const size = await axe.run({exclude: [[".leaflet-marker-pane"]]}, {runOnly: {type: "rule", values: ["target-size"]}});
		return all.violations.concat(size.violations).map(v =>
			v.impact + " " + v.id + " (" + v.nodes.length + "): " + v.help + "; first: " + v.nodes[0].target.join(" ") +
			" " + (v.nodes[0].failureSummary || "").replace(/\s+/g, " "));
	})()`, chromedp.EvalAwaitPromise))
}

// TestBrowserAccessibility checks every kind of page, as each role sees
// it, at laptop and phone sizes, with axe-core against WCAG 2.2 A and AA
// (what public bodies are held to: EN 301 549, Section 508): colour
// contrast, names of controls, landmarks, language, keyboard access to
// scrolling regions. A page with any violation fails the test, named.
func TestBrowserAccessibility(t *testing.T) {
	exe := chromium(t)
	src := axeSource(t)
	f := newFixture(t, fixtureOpts{bins: 40, vendor: true, planning: true, alerts: true, admin: true, open311: true, simulator: true, api: true,
		config: Config{TileURL: "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"}})
	// Days of plans, collections and a crew's worked route; 311
	// requests open and closed; a stored simulation; today's plan,
	// locked, so the crew's phone shows a route.
	f.addHistory(7)
	request := f.addRequest(30, 48, -1)
	f.addRequest(60, 24, 12)
	f.addSimulation("sim-a11y", "Sensors on every bin")
	super := f.client("super")
	pl := f.makePlan(super)
	if code, body := f.post(super, "/plans/"+pl.ID+"/status", url.Values{"to": {"locked"}}); code != http.StatusSeeOther {
		t.Fatalf("locking the plan: %d %s", code, body)
	}
	bin := f.binID(0)

	dir := artifacts(t)
	failDir = dir
	laptop := startBrowser(t, exe)
	do(t, laptop, "laptop size", chromedp.EmulateViewport(1280, 900))
	phone := phoneTab(t, laptop)
	signOut := chromedp.Evaluate[bool](`fetch("/logout", {method: "POST"}).then(() => true)`, chromedp.EvalAwaitPromise)

	// A simulation's report (/simulations/{id}/report) is left out: its
	// Content-Security-Policy sandboxes it without scripts, so axe cannot
	// run in it. A report civic simulate --out wrote passed axe when
	// opened as a file (2026-12-06, laptop and phone sizes).
	for _, who := range []struct {
		user  string // "" anonymous
		pages []string
	}{
		{"", []string{"/login", "/report", "/requests", "/requests/" + request, "/data", "/no-such-page"}},
		{"super", []string{"/", "/plans", "/plans/" + pl.ID, "/plans/" + pl.ID + "/report", "/plans/" + pl.ID + "/routes/" + pl.Routes[0].ID + "/sheet",
			"/fleet", "/alerts", "/alerts?status=resolved", "/kpi", "/simulations", "/simulations/sim-a11y",
			"/queue", "/queue/" + request, "/bins/" + bin}},
		{"crew1", []string{"/crew"}},
		{"admin1", []string{"/admin", "/admin/users", "/admin/keys", "/admin/rules", "/admin/subscriptions",
			"/admin/assets/bins", "/admin/assets/bins/" + bin, "/admin/assets/bins/new", "/admin/assets/trucks"}},
	} {
		for _, tab := range []struct {
			name string
			ctx  context.Context
		}{{"laptop", laptop}, {"phone", phone}} {
			if who.user != "" {
				// Signed in when the page has the sign-out form (hidden
				// behind the menu on a phone).
				do(t, tab.ctx, tab.name+" sign in as "+who.user,
					chromedp.Navigate(f.srv.URL+who.pages[0]),
					chromedp.WaitVisible(chromedp.CSS(`#name`)),
					chromedp.SendKeys(chromedp.CSS(`#name`), who.user),
					chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
					chromedp.Click(chromedp.CSS(`.loginbox button[type=submit]`)),
					chromedp.WaitReady(chromedp.CSS(`form.logout`)))
			}
			for _, p := range who.pages {
				what := fmt.Sprintf("%s, %s, %s", tab.name, cmp.Or(who.user, "anonymous"), p)
				do(t, tab.ctx, what, chromedp.Navigate(f.srv.URL+p), chromedp.WaitReady(chromedp.CSS(`body`)))
				if got := val(t, tab.ctx, what+": url", chromedp.Evaluate[string](`location.pathname`)); got == "/login" && p != "/login" {
					t.Errorf("%s: sent to the login page", what)
					continue
				}
				if v := axeViolations(t, tab.ctx, src, what); len(v) > 0 {
					t.Errorf("%s: %d accessibility rules broken:\n  %s", what, len(v), strings.Join(v, "\n  "))
					screenshot(t, tab.ctx, dir, "a11y-"+tab.name+"-"+strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(p))
				}
			}
			if who.user != "" {
				val(t, tab.ctx, tab.name+" sign out", signOut)
			}
		}
	}

	// The keyboard's first stop on a page is the link past the header
	// (WCAG 2.4.1), shown while it has the focus; following it puts the
	// focus in the page's main content.
	do(t, laptop, "skip link", chromedp.Navigate(f.srv.URL+"/report"), chromedp.WaitReady(chromedp.CSS(`main`)),
		chromedp.KeyEvent("\t"))
	if got := val(t, laptop, "first focus", chromedp.Evaluate[[]string](`[document.activeElement.className,
		String(document.activeElement.getBoundingClientRect().top >= 0)]`)); len(got) != 2 || got[0] != "skiplink" || got[1] != "true" {
		t.Errorf("the first Tab focuses %v, want the skip link, on screen", got)
	}
	do(t, laptop, "follow skip link", chromedp.KeyEvent("\r"))
	if got := val(t, laptop, "focus after skip", chromedp.Evaluate[bool](`document.getElementById("main").contains(document.activeElement)`)); !got {
		t.Error("following the skip link leaves the focus outside the main content")
	}
}
