package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civic-city/civic/internal/civic"
)

// freeSpot returns a point inside the test city at least 200 m from every
// bin, so a marker placed there stands alone on the map.
func freeSpot(t *testing.T, f *fixture) (lat, lon float64) {
	t.Helper()
	b0 := f.city.Bins[0]
	for r := 0.002; r < 0.05; r += 0.002 {
		for _, d := range [][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}, {1, 1}, {-1, -1}, {1, -1}, {-1, 1}} {
			lat, lon := b0.Lat+d[0]*r, b0.Lon+d[1]*r
			free := true
			for _, b := range f.city.Bins {
				if civic.HaversineM(lat, lon, b.Lat, b.Lon) < 200 {
					free = false
					break
				}
			}
			if free {
				return lat, lon
			}
		}
	}
	t.Fatal("no free spot in the test city")
	return 0, 0
}

// apiStatus calls the JSON API with an API key and returns the status.
func apiStatus(t *testing.T, f *fixture, path, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestBrowserAdmin drives the admin pages in Chromium behind the real
// server: an admin creates a bin and finds it on the map, makes an API key
// that the API accepts, revokes it and the API refuses it; the rules and
// notification screens render; the lists read on a phone without
// sideways scrolling.
func TestBrowserAdmin(t *testing.T) {
	exe := chromium(t)
	const bins = 30
	f := newFixture(t, fixtureOpts{bins: bins, vendor: true, admin: true, api: true})
	ctx := context.Background()
	dir := artifacts(t)
	failDir = dir
	browser := startBrowser(t, exe)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	signIn(t, browser, f, "/admin", "admin1", `.adminlinks`)
	screenshot(t, browser, dir, "admin-desktop")

	// A new bin, placed where no other bin stands.
	lat, lon := freeSpot(t, f)
	do(t, browser, "bin form",
		chromedp.Navigate(f.srv.URL+"/admin/assets/bins/new"),
		chromedp.WaitVisible(css(`input[name=id]`)),
		chromedp.SendKeys(css(`input[name=id]`), "NEW-BIN"),
		chromedp.SendKeys(css(`input[name=name]`), "Library steps"),
		chromedp.SendKeys(css(`input[name=lat]`), fmt.Sprintf("%.6f", lat)),
		chromedp.SendKeys(css(`input[name=lon]`), fmt.Sprintf("%.6f", lon)),
		chromedp.SendKeys(css(`input[name=capacity_l]`), "240"),
		chromedp.SetValue(css(`select[name=stream]`), "recycling"),
	)
	screenshot(t, browser, dir, "admin-bin-form")
	do(t, browser, "create bin", chromedp.Click(css(`#save`)))
	waitAfterSubmit(t, browser, "bin saved", `!!document.getElementById("saved")`)
	if b, err := f.st.Bin(ctx, "NEW-BIN"); err != nil || b.Stream != civic.StreamRecycling || b.Name != "Library steps" {
		t.Fatalf("stored bin = %+v, %v", b.Bin, err)
	}

	// The map shows it (the dashboard reloads its bins within seconds).
	deadline := time.Now().Add(10 * time.Second)
	for {
		do(t, browser, "map", chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(css(`#map[data-ready="true"]`)))
		count := val(t, browser, "count", chromedp.AttributeValue(css(`#map`), "data-count")).Value
		if count == fmt.Sprint(bins+1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the map shows %s bins, want %d with the new one", count, bins+1)
		}
		time.Sleep(300 * time.Millisecond)
	}
	do(t, browser, "zoom to the new bin",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`civicMap.map.setView([%f, %f], 18, {animate: false}); true`, lat, lon))(ctx, tg)
			return err
		}),
		chromedp.WaitVisible(css(`span[data-bin="NEW-BIN"]`)),
	)
	screenshot(t, browser, dir, "admin-new-bin-on-map")

	// An API key: accepted, then revoked and refused.
	do(t, browser, "key form",
		chromedp.Navigate(f.srv.URL+"/admin/keys"),
		chromedp.WaitVisible(css(`#new-key-form`)),
		chromedp.SendKeys(css(`#new-key-form input[name=name]`), "gateway-north"),
		chromedp.Click(css(`#new-key-form input[value=read]`)),
		chromedp.Click(css(`#new-key-form button[type=submit]`)),
	)
	waitAfterSubmit(t, browser, "key made", `!!document.getElementById("key-secret")`)
	secret := val(t, browser, "secret", chromedp.Text(css(`#key-secret`)))
	keyID := val(t, browser, "key id", chromedp.AttributeValue(css(`#new-key`), "data-id")).Value
	if secret == "" || keyID == "" {
		t.Fatalf("key %q with secret %q", keyID, secret)
	}
	if code := apiStatus(t, f, "/api/v1/bins?limit=1", secret); code != 200 {
		t.Fatalf("GET /api/v1/bins with the new key: %d, want 200", code)
	}
	screenshot(t, browser, dir, "admin-key-made")
	do(t, browser, "revoke", chromedp.Click(css(`#key-`+keyID+` button.revoke`)))
	waitAfterSubmit(t, browser, "key revoked", fmt.Sprintf(`(document.getElementById(%q) || {textContent: ""}).textContent.includes("revoked")`, "key-"+keyID))
	if code := apiStatus(t, f, "/api/v1/bins?limit=1", secret); code != 401 {
		t.Fatalf("GET /api/v1/bins with the revoked key: %d, want 401", code)
	}
	if n := val(t, browser, "secret gone", chromedp.Evaluate[int](`document.querySelectorAll("#key-secret").length`)); n != 0 {
		t.Error("the secret is still shown after leaving the page")
	}
	screenshot(t, browser, dir, "admin-key-revoked")

	for _, p := range []struct{ path, sel, name string }{
		{"/admin/rules", "#rules-form", "admin-rules"},
		{"/admin/subscriptions", "#new-sub-form", "admin-subscriptions"},
		{"/admin/users", "#new-user", "admin-users"},
		{"/admin/assets/bins?q=library", "#asset-NEW-BIN", "admin-bins"},
	} {
		do(t, browser, p.name, chromedp.Navigate(f.srv.URL+p.path), chromedp.WaitVisible(css(p.sel)))
		screenshot(t, browser, dir, p.name)
	}

	phone := phoneTab(t, browser)
	for _, p := range []struct{ path, sel, name string }{
		{"/admin", ".adminlinks", "admin-phone"},
		{"/admin/assets/bins", "table.admin", "admin-bins-phone"},
		{"/admin/assets/bins/NEW-BIN", "#save", "admin-bin-phone"},
		{"/admin/keys", "#new-key-form", "admin-keys-phone"},
		{"/admin/rules", "#rules-form", "admin-rules-phone"},
	} {
		do(t, phone, p.name, chromedp.Navigate(f.srv.URL+p.path), chromedp.WaitVisible(css(p.sel)))
		if over := val(t, phone, "sideways", chromedp.Evaluate[int](sideways)); over > 0 {
			t.Errorf("phone: %s scrolls sideways by %d px", p.path, over)
		}
		screenshot(t, phone, dir, p.name)
	}
}
