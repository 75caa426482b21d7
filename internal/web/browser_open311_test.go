package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser311 drives 311 in Chromium at desktop (1280x800) and phone
// (390x844) size: a resident reports an overflowing bin with a photo,
// picking the place on the map, and gets the request number; a
// supervisor finds it in the queue, assigns it to a crew with a bulk
// action and closes it as fixed; the public status page shows the
// outcome.
func TestBrowser311(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, fixtureOpts{bins: 12, vendor: true})
	desk := with311(t, f, 0)
	dir := artifacts(t)
	failDir = dir
	photoPath := writePhoto(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	for _, size := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		t.Run(size.name, func(t *testing.T) {
			browser := startBrowser(t, exe)
			ctx := browser
			view := chromedp.EmulateViewport(size.w, size.h)
			if size.mobile {
				view = chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateScale(2), chromedp.EmulateMobile)
			}
			name := func(s string) string { return "311-" + size.name + "-" + s }
			b := f.city.Bins[map[bool]int{false: 2, true: 5}[size.mobile]]

			// The resident: no account, straight to the form.
			do(t, ctx, "choose service", view,
				chromedp.Navigate(f.srv.URL+"/report"),
				chromedp.WaitVisible(css(`#choose`)),
				chromedp.Click(css(`input[value="overflowing-bin"]`)),
			)
			screenshot(t, ctx, dir, name("choose"))
			do(t, ctx, "form", chromedp.Click(css(`#choose button[type=submit]`)), chromedp.WaitVisible(css(`#pick[data-ready="true"]`)))
			// Tap the map: the picker fills in the coordinates (the test
			// then types the bin's exact ones).
			do(t, ctx, "tap the map", chromedp.ScrollIntoView(css(`#pick`)), chromedp.Click(css(`#pick`)))
			if v := val(t, ctx, "picked", chromedp.Value(css(`#lat`))); v == "" {
				t.Errorf("tapping the map left the latitude empty")
			}
			lat, long := fmt.Sprintf("%.6f", b.Lat), fmt.Sprintf("%.6f", b.Lon)
			do(t, ctx, "fill the form",
				chromedp.SetValue(css(`#lat`), lat),
				chromedp.SetValue(css(`#long`), long),
				chromedp.SetValue(css(`#a-bin_kind`), "litter"),
				chromedp.SetValue(css(`#a-spilled`), "yes"),
				chromedp.SendKeys(css(`#description`), "Bags piled next to the bin, gulls everywhere."),
				chromedp.SetUploadFiles(css(`#media`), []string{photoPath}),
				chromedp.SendKeys(css(`#email`), "resident@example.org"),
			)
			screenshot(t, ctx, dir, name("form"))
			fullScreenshot(t, ctx, dir, name("form-full"))
			do(t, ctx, "send", chromedp.Click(css(`#send`)), chromedp.WaitVisible(css(`#confirmation`)))
			id := val(t, ctx, "request id", chromedp.Text(css(`#request-id`)))
			if id == "" {
				t.Fatal("no request id on the confirmation page")
			}
			loaded := val(t, ctx, "photo", chromedp.Evaluate[bool](`(() => { const i = document.querySelector(".photos img"); return !!i && i.complete && i.naturalWidth === 64; })()`))
			if !loaded {
				t.Errorf("the photo does not show on the confirmation page")
			}
			if page := val(t, ctx, "page", chromedp.Text(css(`#request`))); strings.Contains(page, "resident@example.org") {
				t.Errorf("the reporter's e-mail is on the public page")
			}
			screenshot(t, ctx, dir, name("confirmation"))
			stored, err := desk.Request(context.Background(), id)
			if err != nil || stored.ObjectID != f.binID(map[bool]int{false: 2, true: 5}[size.mobile]) || stored.MediaCount != 1 {
				t.Errorf("stored %+v, %v: want the bin linked and one photo", stored, err)
			}

			// The supervisor: sign in, the queue, assign with a bulk
			// action, then close from the request's page.
			do(t, ctx, "sign in", signInSteps(f, "/queue", "super", `#q-`+id))
			screenshot(t, ctx, dir, name("queue"))
			do(t, ctx, "bulk assign",
				chromedp.Click(css(`#q-`+id+` input[type=checkbox]`)),
				chromedp.SetValue(css(`#bulk-action`), "assign"),
				chromedp.SendKeys(css(`#bulk-assignee`), "crew:C1"),
				chromedp.Click(css(`#bulk-apply`)),
				chromedp.WaitVisible(css(`#queue-msg`)),
			)
			if msg := val(t, ctx, "bulk result", chromedp.Text(css(`#queue-msg`))); !strings.Contains(msg, "assign: 1 done") {
				t.Errorf("bulk result %q", msg)
			}
			if row := val(t, ctx, "row", chromedp.Text(css(`#q-`+id))); !strings.Contains(row, "crew:C1") || !strings.Contains(row, "assigned") {
				t.Errorf("queue row after assign: %q", row)
			}
			screenshot(t, ctx, dir, name("queue-assigned"))
			do(t, ctx, "close",
				chromedp.Navigate(f.srv.URL+"/queue/"+id),
				chromedp.WaitVisible(css(`#act-close`)),
				chromedp.SetValue(css(`#close-reason`), "fixed"),
				chromedp.SendKeys(css(`#close-text`), "Emptied and the pavement swept."),
				chromedp.Click(css(`#act-close button[type=submit]`)),
				chromedp.WaitVisible(css(`#queue-item[data-status="closed"]`)),
			)
			screenshot(t, ctx, dir, name("closed-staff"))

			// The public status page shows the outcome.
			do(t, ctx, "status page", chromedp.Navigate(f.srv.URL+"/requests/"+id), chromedp.WaitVisible(css(`#request[data-status="closed"]`)))
			outcome := val(t, ctx, "outcome", chromedp.Text(css(`#outcome`)))
			timeline := val(t, ctx, "timeline", chromedp.Text(css(`#timeline`)))
			if !strings.Contains(outcome, "closed") || !strings.Contains(outcome, "Fixed") || !strings.Contains(outcome, "Emptied and the pavement swept.") ||
				!strings.Contains(timeline, "passed to the team") || strings.Contains(timeline, "crew:C1") {
				t.Errorf("public page: outcome %q, timeline %q", outcome, timeline)
			}
			screenshot(t, ctx, dir, name("status"))
			do(t, ctx, "map of requests", chromedp.Navigate(f.srv.URL+"/requests"), chromedp.WaitVisible(css(`#reqmap[data-ready="true"]`)))
			screenshot(t, ctx, dir, name("requests-map"))
		})
	}
}
