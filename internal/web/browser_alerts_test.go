package web

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/storetest"
)

// signIn signs user in through the login page of f and waits for sel.
func signIn(t *testing.T, ctx context.Context, f *fixture, path, user, sel string) {
	t.Helper()
	do(t, ctx, "sign in as "+user, signInSteps(f, path, user, sel))
}

// signInSteps opens path on f, which shows the login page, signs user in
// and waits for sel on the page it leads back to.
func signInSteps(f *fixture, path, user, sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(f.srv.URL+path),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.Click(chromedp.CSS(`.loginbox button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
}

// phoneTab opens a second tab at 390×844, as a phone.
func phoneTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	phone, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(phone); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	do(t, phone, "phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	return phone
}

// waitAfterSubmit waits until cond holds on the page a form submission
// navigated to; evaluating while the navigation runs fails, so it tries
// again until stepTimeout.
func waitAfterSubmit(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ectx, cancel := context.WithTimeout(ctx, time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			screenshot(t, ctx, failDir, "failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %s is not true after %v (%v)", what, cond, stepTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// critical reads the alerts page's critical counter.
const critical = `(document.querySelector("#alert-summary .bad strong") || {}).textContent`

// sideways is how far the page scrolls sideways, in CSS pixels.
const sideways = `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`

// TestBrowserAlerts: the real alert engine opens a fire alert; the fire
// goes out and the alert stays at the top of the page, open, saying when
// its condition cleared, until a supervisor acknowledges it; bulk
// acknowledge and paging work; and at 390×844 the table needs no sideways
// scrolling.
func TestBrowserAlerts(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 40, vendor: true, alerts: true})
	ctx := context.Background()
	dir := artifacts(t)
	failDir = dir
	clk := storetest.NewClock(f.now.Add(time.Minute))
	eng := alert.NewEngine(alert.EngineOptions{Alerts: f.st, Source: f.st, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
		OnChange: f.ui.PublishAlert, SweepInterval: time.Hour})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	send := func(i int, temp float64) {
		t.Helper()
		clk.Advance(time.Minute)
		d := f.city.Devices[i]
		rs := []civic.Reading{{Device: d.ID, Bin: d.BinID, Time: clk.Now(), TemperatureC: &temp}}
		if _, err := f.st.WriteReadings(ctx, [][]civic.Reading{rs}); err != nil {
			t.Fatal(err)
		}
		eng.OnCommit(rs)
		if err := eng.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Many warnings, older than the fire, so the fire must sort first,
	// and more than a page of them.
	for i := 1; i < 38; i++ {
		for _, rule := range []civic.RuleKind{civic.RuleTilt, civic.RuleDoorOpen} {
			if _, _, err := f.st.OpenAlert(ctx, &civic.Alert{BinID: f.binID(i), Rule: rule, Message: fmt.Sprintf("%s of %s", rule, f.binID(i)),
				OpenedAt: f.now.Add(-time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	fireBin := f.binID(0)
	send(0, 95)
	fires, err := f.st.ListAlerts(ctx, civic.AlertFilter{BinID: fireBin, Rule: civic.RuleFire})
	if err != nil || len(fires) != 1 {
		t.Fatalf("fire alerts after 95 °C: %v, %v", fires, err)
	}
	fire := fires[0]

	browser := startBrowser(t, exe)
	signIn(t, browser, f, "/alerts", "super", `#alert-table`)
	first := val(t, browser, "first group", chromedp.AttributeValue(chromedp.CSS(`#alert-table tbody.alertgroup`), "id")).Value
	if first != "group-"+fireBin {
		t.Errorf("first group %q, want the fire's bin %s", first, fireBin)
	}
	screenshot(t, browser, dir, "alerts-desktop")

	// The fire goes out: the alert stays, open, marked cleared, and is
	// still counted as critical.
	send(0, 20)
	send(0, 19)
	row := "#alert-" + fire.ID
	do(t, browser, "reload", chromedp.Navigate(f.srv.URL+"/alerts"), chromedp.WaitVisible(chromedp.CSS(row+" .cleared")))
	text := val(t, browser, "fire row", chromedp.Text(chromedp.CSS(row)))
	if !strings.Contains(text, "condition cleared at") || !strings.Contains(text, "open") || !strings.Contains(text, "needs an acknowledgement") {
		t.Errorf("latched fire row: %q", text)
	}
	if crit := val(t, browser, "critical", chromedp.Evaluate[string](critical)); crit != "1" {
		t.Errorf("critical counter %q after the fire went out, want 1", crit)
	}
	screenshot(t, browser, dir, "alerts-latched")
	fullScreenshot(t, browser, dir, "alerts-latched-full")

	// Acknowledging closes it.
	do(t, browser, "acknowledge the fire",
		chromedp.Click(chromedp.CSS(row+` form[action$="/ack"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(row)),
	)
	if a, err := f.st.Alert(ctx, fire.ID); err != nil || a.Status != civic.AlertResolved || a.AckedBy != "super" {
		t.Fatalf("fire after the acknowledgement = %+v, %v", a, err)
	}
	// The live refresh may replace the table meanwhile: read it whole.
	waitAfterSubmit(t, browser, "critical counter 0", critical+` === "0"`)

	// Bulk acknowledge the first two selectable alerts.
	ids := val(t, browser, "ids", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input[name=id][form=bulk]')).slice(0, 2).map(c => { c.checked = true; return c.value; })`))
	if len(ids) != 2 {
		t.Fatalf("selectable alerts %v", ids)
	}
	do(t, browser, "bulk acknowledge", chromedp.Click(chromedp.CSS(`#bulk-ack`)))
	waitAfterSubmit(t, browser, "acknowledged rows", `document.querySelectorAll('tr.alert-acknowledged').length === 2`)
	for _, id := range ids {
		if a, _ := f.st.Alert(ctx, id); a.Status != civic.AlertAcknowledged || a.AckedBy != "super" {
			t.Errorf("alert %s after bulk acknowledge: %s by %q", id, a.Status, a.AckedBy)
		}
	}

	// Paging: 74 warnings and more alerts the engine found make two pages.
	do(t, browser, "next page", chromedp.Click(chromedp.CSS(`.pager a[rel=next]`)), chromedp.WaitVisible(chromedp.CSS(`.pager a[rel=prev]`)))
	if loc := val(t, browser, "url", chromedp.Evaluate[string](`location.search`)); !strings.Contains(loc, "offset=50") {
		t.Errorf("second page at %q", loc)
	}
	if n := val(t, browser, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#alert-table tr[id^=alert-]').length`)); n == 0 {
		t.Error("the second page is empty")
	}
	do(t, browser, "status all", chromedp.Navigate(f.srv.URL+"/alerts?status=all"), chromedp.WaitVisible(chromedp.CSS(`#alert-table`)))
	if n := val(t, browser, "resolved rows", chromedp.Evaluate[int](`document.querySelectorAll('tr.alert-resolved').length`)); n == 0 {
		t.Error("status=all shows no resolved alert")
	}

	// A phone: the table reads without sideways scrolling, and the
	// buttons are reachable.
	phone := phoneTab(t, browser)
	do(t, phone, "phone alerts", chromedp.Navigate(f.srv.URL+"/alerts"), chromedp.WaitVisible(chromedp.CSS(`#alert-table tbody.alertgroup`)))
	if over := val(t, phone, "sideways", chromedp.Evaluate[int](sideways)); over > 0 {
		t.Errorf("phone: the alerts page scrolls sideways by %d px", over)
	}
	if w := val(t, phone, "table width", chromedp.Evaluate[float64](`document.querySelector("table.alerts").getBoundingClientRect().right`)); w > 390 {
		t.Errorf("phone: the alerts table ends at %.0f px, beyond 390", w)
	}
	btn := val(t, phone, "ack button", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('#alert-table form[action$="/ack"] button').getBoundingClientRect(); return [r.left, r.right, r.height]; })()`))
	if len(btn) != 3 || btn[0] < 0 || btn[1] > 390 || btn[2] < 30 {
		t.Errorf("phone: acknowledge button at %v, want inside the screen and ≥ 30 px high", btn)
	}
	screenshot(t, phone, dir, "alerts-phone")
	fullScreenshot(t, phone, dir, "alerts-phone-full")
}
