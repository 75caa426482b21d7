package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// alertFixture is the dashboard fixture with alerts enabled, an analyst
// user, and two open alerts: fire on the first bin and low battery on the
// second.
func alertFixture(t *testing.T) (f *fixture, fire, battery civic.Alert) {
	t.Helper()
	f = newFixture(t, fixtureOpts{bins: 6})
	ctx := context.Background()
	if _, err := f.auth.CreateUser(ctx, "ana", civic.RoleAnalyst, testPassword); err != nil {
		t.Fatal(err)
	}
	f.ui = New(Config{FlushInterval: 50 * time.Millisecond}, Deps{
		Store:  f.st,
		Alerts: f.st,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			tok, sess, _, err := f.auth.Login(ctx, name, password)
			return tok, sess.ExpiresAt, err
		},
		Logout: f.auth.Logout,
	})
	f.srv = httptest.NewServer(sessionMiddleware(f.auth, f.ui.cfg.SessionCookie, f.ui.Handler()))
	t.Cleanup(func() {
		f.ui.Close(context.Background())
		f.srv.Close()
	})
	var err error
	fire, _, err = f.st.OpenAlert(ctx, &civic.Alert{BinID: f.binID(0), Rule: civic.RuleFire, Message: "temperature 85 °C <hot>", OpenedAt: f.now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	battery, _, err = f.st.OpenAlert(ctx, &civic.Alert{BinID: f.binID(1), Rule: civic.RuleLowBattery, Message: "battery at 20 %", OpenedAt: f.now.Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return f, fire, battery
}

func openAlertEvents(t *testing.T, f *fixture, c *http.Client) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/alerts/events", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/alerts/events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return &sseReader{res: res, sc: bufio.NewScanner(res.Body)}
}

func TestAlertsPage(t *testing.T) {
	f, fire, battery := alertFixture(t)
	super := f.client("super")

	res, body := f.get(super, "/alerts")
	if res.StatusCode != 200 {
		t.Fatalf("/alerts: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{
		`aria-current="page">Alerts</a>`, "temperature 85 °C &lt;hot&gt;", "battery at 20 %", "(burning)",
		`action="/alerts/` + fire.ID + `/ack"`, `action="/alerts/` + battery.ID + `/resolve"`,
		`<strong>1</strong> critical`, `<strong>2</strong> open`, `data-events="/alerts/events"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/alerts lacks %q", want)
		}
	}
	_, body = f.get(super, "/alerts?rule=fire&status=open")
	if !strings.Contains(body, fire.ID) || strings.Contains(body, battery.ID) {
		t.Errorf("rule filter: fire shown %v, battery shown %v", strings.Contains(body, fire.ID), strings.Contains(body, battery.ID))
	}

	// Acknowledge through the form; the live stream reports it.
	ev := openAlertEvents(t, f, super)
	if name, _ := ev.next(t); name != "hello" {
		t.Fatalf("first event %q, want hello", name)
	}
	res, err := super.PostForm(f.srv.URL+"/alerts/"+fire.ID+"/ack", url.Values{"back": {"status=all&rule=fire"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/alerts?rule=fire&status=all" {
		t.Fatalf("ack: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	name, data := ev.next(t)
	var msg alertEvent
	if err := json.Unmarshal([]byte(data), &msg); err != nil || name != "alert" || msg.ID != fire.ID || msg.Event != civic.EventAcknowledged {
		t.Fatalf("event %q %s (%v), want the acknowledgement", name, data, err)
	}
	got, err := f.st.Alert(context.Background(), fire.ID)
	if err != nil || got.Status != civic.AlertAcknowledged || got.AckedBy != "super" {
		t.Fatalf("after ack: %+v, %v", got, err)
	}

	// Resolve with a note.
	res, err = super.PostForm(f.srv.URL+"/alerts/"+fire.ID+"/resolve", url.Values{"note": {"brigade came"}, "back": {"status=resolved"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", res.StatusCode)
	}
	if name, data := ev.next(t); !strings.Contains(data, `"event":"resolved"`) {
		t.Fatalf("event %q %s, want the resolution", name, data)
	}
	_, body = f.get(super, "/alerts?status=resolved")
	if !strings.Contains(body, "resolved by super: brigade came") || strings.Contains(body, `/alerts/`+fire.ID+`/resolve"`) {
		t.Errorf("resolved alert shown wrongly:\n%s", body)
	}
	// Resolving again (someone else was faster) just shows the page.
	res, err = super.PostForm(f.srv.URL+"/alerts/"+fire.ID+"/resolve", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("resolve twice: %d, want 303", res.StatusCode)
	}

	// The engine's hook reaches the stream too.
	f.ui.PublishAlert(battery, civic.EventOpened)
	if _, data := ev.next(t); !strings.Contains(data, battery.ID) {
		t.Errorf("PublishAlert event %s", data)
	}
}

// TestAlertsPagePaging: a page counts the alerts its filter selects and
// links its neighbours; the summary cards count every unresolved alert,
// whatever the page.
func TestAlertsPagePaging(t *testing.T) {
	f, _, _ := alertFixture(t)
	ctx := context.Background()
	for i := range 60 { // 60 resolved full alerts, oldest first
		a, _, err := f.st.OpenAlert(ctx, &civic.Alert{BinID: f.binID(i % 6), Rule: civic.RuleFull, Message: "full", OpenedAt: f.now.Add(time.Duration(i-200) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.ResolveAlert(ctx, a.ID, "super", "", f.now.Add(time.Duration(i-199)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	super := f.client("super")
	_, body := f.get(super, "/alerts?status=all&sort=newest")
	for _, want := range []string{"1–50 of 62 alerts", `href="/alerts?offset=50&amp;sort=newest&amp;status=all" rel="next"`,
		`<strong>1</strong> critical`, `<strong>2</strong> open`, `<strong>0</strong> acknowledged`} {
		if !strings.Contains(body, want) {
			t.Errorf("first page lacks %q", want)
		}
	}
	if strings.Contains(body, `rel="prev"`) {
		t.Error("first page links a previous one")
	}
	_, body = f.get(super, "/alerts?status=all&sort=newest&offset=50")
	for _, want := range []string{"51–62 of 62 alerts", `href="/alerts?sort=newest&amp;status=all" rel="prev"`, `<strong>2</strong> open`} {
		if !strings.Contains(body, want) {
			t.Errorf("second page lacks %q", want)
		}
	}
	if strings.Contains(body, `rel="next"`) {
		t.Error("last page links a next one")
	}
	// One page: no count query needed, the total is the page.
	_, body = f.get(super, "/alerts?status=resolved&rule=fire")
	if !strings.Contains(body, "0 alerts") {
		t.Error("an empty filter does not say 0 alerts")
	}
	_, body = f.get(super, "/alerts")
	if !strings.Contains(body, "1–2 of 2 alerts") {
		t.Error("the unresolved alerts do not count 2")
	}
}

func TestAlertsPagePermissions(t *testing.T) {
	f, fire, _ := alertFixture(t)
	res, _ := f.get(f.client(""), "/alerts")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous /alerts: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	ana := f.client("ana")
	res, body := f.get(ana, "/alerts")
	if res.StatusCode != 200 || !strings.Contains(body, fire.ID) || strings.Contains(body, "Acknowledge") {
		t.Errorf("analyst /alerts: %d, buttons shown %v", res.StatusCode, strings.Contains(body, "Acknowledge"))
	}
	res, err := ana.PostForm(f.srv.URL+"/alerts/"+fire.ID+"/ack", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("analyst ack: %d, want 403", res.StatusCode)
	}
	_, body = f.get(f.client("crew1"), "/")
	if strings.Contains(body, `href="/alerts"`) {
		t.Error("crews see the alerts link")
	}
	res, _ = f.get(f.client(""), "/alerts/events")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous /alerts/events: %d, want 401", res.StatusCode)
	}
}

func TestAlertsPageDisabled(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 2})
	res, body := f.get(f.client("super"), "/alerts")
	if res.StatusCode != 200 || !strings.Contains(body, "Alerts are not enabled") {
		t.Errorf("/alerts without an AlertStore: %d\n%s", res.StatusCode, body)
	}
}
