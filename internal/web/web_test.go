package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func TestLoginLogout(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 12, config: Config{SecureCookies: true}})
	anon := f.client("")

	res, _ := f.get(anon, "/fleet?sort=battery")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Ffleet%3Fsort%3Dbattery" {
		t.Fatalf("anonymous /fleet: %d %q, want 303 to the login page with next", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := f.get(anon, "/login?next=/fleet")
	if res.StatusCode != 200 || !strings.Contains(body, `name="password"`) || !strings.Contains(body, `value="/fleet"`) {
		t.Fatalf("GET /login: %d, form missing:\n%s", res.StatusCode, body)
	}
	res, _ = f.get(anon, "/map/bins.json")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous bins.json: %d, want 401", res.StatusCode)
	}

	tests := []struct {
		name, user, password, next string
		status                     int
		location                   string
	}{
		{"wrong password", "super", "nope nope nope", "/fleet", 401, ""},
		{"unknown user", "ghost", testPassword, "", 401, ""},
		{"empty", "", "", "", 400, ""},
		{"next kept", "super", testPassword, "/fleet", 303, "/fleet"},
		{"other site refused", "super", testPassword, "//evil.example/", 303, "/"},
		{"backslash refused", "super", testPassword, `/\evil.example`, 303, "/"},
		{"tab refused", "super", testPassword, "/\t/evil.example", 303, "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client("")
			res, err := c.PostForm(f.srv.URL+"/login", url.Values{"name": {tc.user}, "password": {tc.password}, "next": {tc.next}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			if tc.status != 303 {
				if !strings.Contains(string(body), `role="alert"`) {
					t.Errorf("no error message shown:\n%s", body)
				}
				if len(res.Cookies()) != 0 {
					t.Errorf("failed login set cookies %v", res.Cookies())
				}
				return
			}
			if got := res.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			cs := res.Cookies()
			if len(cs) != 1 || cs[0].Name != DefaultSessionCookie || !cs[0].HttpOnly || !cs[0].Secure ||
				cs[0].SameSite != http.SameSiteLaxMode || cs[0].Path != "/" || cs[0].Value == "" {
				t.Errorf("session cookie %+v, want HttpOnly, Secure, SameSite=Lax, Path=/", cs)
			}
		})
	}

	// Log in (plain HTTP test server: the Secure cookie is sent by hand),
	// use the session, then log out and see it gone.
	c := f.client("")
	res, err := c.PostForm(f.srv.URL+"/login", url.Values{"name": {"super"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	token := res.Cookies()[0].Value
	withCookie := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, f.srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: DefaultSessionCookie, Value: token})
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := withCookie("GET", "/"); res.StatusCode != 200 {
		t.Fatalf("map with session: %d", res.StatusCode)
	}
	if res := withCookie("GET", "/login"); res.StatusCode != 303 {
		t.Errorf("login page while signed in: %d, want 303 to the map", res.StatusCode)
	}
	res = withCookie("POST", "/logout")
	if res.StatusCode != 303 || res.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if cs := res.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout cookie %+v, want it deleted", cs)
	}
	if res := withCookie("GET", "/"); res.StatusCode != 303 {
		t.Errorf("map after logout: %d, want 303 to login", res.StatusCode)
	}
}

func TestNavByRole(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 8})
	for _, tc := range []struct {
		user      string
		wantFleet bool
	}{{"super", true}, {"crew1", false}} {
		_, body := f.get(f.client(tc.user), "/")
		if got := strings.Contains(body, `href="/fleet"`); got != tc.wantFleet {
			t.Errorf("%s: fleet link shown %v, want %v", tc.user, got, tc.wantFleet)
		}
		if !strings.Contains(body, `>Map</a>`) || !strings.Contains(body, tc.user) {
			t.Errorf("%s: nav without map link or user name", tc.user)
		}
	}
}

func TestMapPageAndList(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 30})
	c := f.client("super")
	res, body := f.get(c, "/")
	if res.StatusCode != 200 {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	for _, want := range []string{`id="map"`, `data-bins="/map/bins.json"`, `data-events="/events"`, `id="binlist"`,
		`<strong id="bin-count" data-matched="30">30</strong> of 30 bins`, `hx-get="/map/list"`} {
		if !strings.Contains(body, want) {
			t.Errorf("map page lacks %q", want)
		}
	}
	if f.ui.static.vendor && !strings.Contains(body, `src="/static/dist/leaflet.`) {
		t.Error("map page does not load Leaflet by its hashed URL")
	}
	// Without JavaScript the form reloads the page with the filter.
	_, body = f.get(c, "/?min=90&max=100")
	if !strings.Contains(body, `value="90"`) {
		t.Errorf("filter not kept in the form")
	}
	// htmx asks for the list alone.
	res, body = f.get(c, "/map/list?min=90", "HX-Request", "true")
	if res.StatusCode != 200 || strings.Contains(body, "<html") || !strings.HasPrefix(strings.TrimSpace(body), `<div id="binlist"`) {
		t.Fatalf("htmx list: %d\n%.300s", res.StatusCode, body)
	}
	// The list is sorted by fill, most urgent first, and matches the filter.
	var fills []int
	for _, part := range strings.Split(body, `class="badge lvl-`)[1:] {
		_, after, _ := strings.Cut(part, `">`)
		num, _, _ := strings.Cut(after, "%")
		var n int
		for _, ch := range num {
			n = n*10 + int(ch-'0')
		}
		fills = append(fills, n)
	}
	if len(fills) == 0 {
		t.Fatal("no bins at 90 % or more")
	}
	for i, v := range fills {
		if v < 90 || (i > 0 && v > fills[i-1]) {
			t.Fatalf("list fills %v: want all ≥ 90, descending", fills)
		}
	}
	// alerts-only includes the bin that never reported (offline).
	_, body = f.get(c, "/map/list?alerts=1", "HX-Request", "true")
	if !strings.Contains(body, f.binID(len(f.city.Devices)-1)) {
		t.Errorf("alerts-only list lacks the offline bin %s", f.binID(len(f.city.Devices)-1))
	}
}

type snapshotJSON struct {
	V    uint64            `json:"v"`
	Bins []json.RawMessage `json:"bins"`
}

func decodeRows(t *testing.T, rows []json.RawMessage) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, r := range rows {
		var row []any
		if err := json.Unmarshal(r, &row); err != nil || len(row) != 9 {
			t.Fatalf("row %s: %v (len %d)", r, err, len(row))
		}
		out[row[0].(string)] = row
	}
	return out
}

func TestBinsJSON(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 25})
	c := f.client("super")
	res, body := f.get(c, "/map/bins.json")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("bins.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var s snapshotJSON
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("bins.json does not decode: %v", err)
	}
	rows := decodeRows(t, s.Bins)
	if len(rows) != 25 {
		t.Fatalf("%d bins, want 25", len(rows))
	}
	b0 := f.city.Bins[0]
	row := rows[f.binID(0)]
	if row[1].(float64) != round6(b0.Lat) || row[4] != string(b0.Stream) || row[5] != b0.ZoneID || row[6] != string(b0.Status) {
		t.Errorf("row %v does not match bin %+v", row, b0)
	}
	if last := rows[f.binID(len(f.city.Devices)-1)]; last[3] != nil || last[8].(float64) != 0 {
		t.Errorf("bin without readings: %v, want fill null and time 0", last)
	}

	// gzip, and the ETag answers 304 until something changes.
	res, gz := f.get(c, "/map/bins.json", "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", res.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != body {
		t.Errorf("gzip body differs from the plain one")
	}
	etag := res.Header.Get("ETag")
	if res, _ := f.get(c, "/map/bins.json", "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}
	f.commit(0, 0.42, f.now.Add(time.Minute))
	f.ui.cache.flush()
	res, body = f.get(c, "/map/bins.json", "If-None-Match", etag)
	if res.StatusCode != 200 {
		t.Fatalf("after a change: %d, want 200", res.StatusCode)
	}
	json.Unmarshal([]byte(body), &s)
	if got := decodeRows(t, s.Bins)[f.binID(0)][3]; got != 42.0 {
		t.Errorf("fill after publish %v, want 42", got)
	}

	res, body = f.get(c, "/map/zones.geojson")
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			ID       string          `json:"id"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(body), &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != len(f.city.Zones) {
		t.Errorf("zones: %d %v %+v", res.StatusCode, err, fc)
	}
}

// sseReader reads events from /events.
type sseReader struct {
	res *http.Response
	sc  *bufio.Scanner
}

func openEvents(t *testing.T, f *fixture, c *http.Client) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/events", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &sseReader{res: res, sc: sc}
}

// next returns the next event's name and data.
func (s *sseReader) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if name != "" || data != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("event stream ended: %v", s.sc.Err())
	return "", ""
}

func TestLiveEvents(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10})
	c := f.client("super")
	ev := openEvents(t, f, c)
	name, data := ev.next(t)
	if name != "hello" {
		t.Fatalf("first event %q %s, want hello", name, data)
	}
	var hello struct{ V uint64 }
	json.Unmarshal([]byte(data), &hello)

	start := time.Now()
	f.commit(3, 0.93, f.now.Add(time.Minute))
	name, data = ev.next(t)
	took := time.Since(start)
	if name != "bins" {
		t.Fatalf("event %q, want bins", name)
	}
	var msg snapshotJSON
	if err := json.Unmarshal([]byte(data), &msg); err != nil {
		t.Fatalf("event data %s: %v", data, err)
	}
	rows := decodeRows(t, msg.Bins)
	row, ok := rows[f.binID(3)]
	if !ok || row[3] != 93.0 || int(row[7].(float64))&flagFull == 0 {
		t.Fatalf("event rows %v: want %s at 93 %% flagged full", rows, f.binID(3))
	}
	if msg.V <= hello.V {
		t.Errorf("event v %d not after hello v %d", msg.V, hello.V)
	}
	if took > time.Second {
		t.Errorf("update took %v to reach the stream, want < 1 s", took)
	}
	// A late reading (older than the state) changes nothing.
	f.commit(3, 0.10, f.now.Add(-time.Hour))
	f.ui.cache.flush()
	if e := f.ui.cache.entry(f.binID(3)); e.fillPct() != 93 {
		t.Errorf("late reading moved the fill to %d", e.fillPct())
	}
	// Anonymous callers get no stream.
	res, _ := f.get(f.client(""), "/events")
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous /events: %d, want 401", res.StatusCode)
	}
}

func TestHubDropsSlowClients(t *testing.T) {
	h := newHub(2, 0, 2)
	slow, _ := h.join("a")
	fast, _ := h.join("b")
	if c, err := h.join("c"); c != nil || err != errHubFull {
		t.Fatal("hub accepted more clients than its maximum")
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			h.broadcast([]byte("x"))
			<-fast.ch
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("broadcast blocked on a slow client")
	}
	select {
	case <-slow.kick:
	default:
		t.Fatal("slow client was not dropped")
	}
	select {
	case <-fast.kick:
		t.Fatal("fast client was dropped")
	default:
	}
	if h.count() != 1 {
		t.Errorf("%d clients, want 1", h.count())
	}
	h.close()
	<-fast.kick
}

func TestPublishUnknownBinAndBeforeLoad(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 6})
	// Publishing before anything loaded is harmless: the load reads the
	// store, which has the reading.
	r := f.commit(1, 0.77, f.now.Add(time.Minute))
	s, err := f.ui.cache.current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var snap snapshotJSON
	json.Unmarshal(s.body, &snap)
	if got := decodeRows(t, snap.Bins)[r.Bin][3]; got != 77.0 {
		t.Errorf("fill %v, want 77", got)
	}
	// Readings without a bin are ignored; unknown bins trigger a reload.
	f.ui.Publish([]civic.Reading{{Device: "x", Time: f.now, Fill: r.Fill}})
	f.ui.Publish([]civic.Reading{{Device: "x", Bin: "nowhere", Time: f.now, Fill: r.Fill}})
	f.ui.cache.mu.Lock()
	reloading := f.ui.cache.reloading
	f.ui.cache.mu.Unlock()
	if !reloading {
		t.Error("unknown bin did not schedule a reload")
	}
	// PublishStates replaces a state.
	fill := 0.05
	f.ui.PublishStates([]civic.BinState{{BinID: r.Bin, Time: f.now.Add(2 * time.Minute), Fill: &fill}})
	if e := f.ui.cache.entry(r.Bin); e.fillPct() != 5 {
		t.Errorf("after PublishStates fill %d, want 5", e.fillPct())
	}
}

// TestAssetsChanged: bins created or deleted elsewhere (the API, an
// import, another node) reach the map once the dashboard is told.
func TestAssetsChanged(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 6})
	ctx := context.Background()
	mapHas := func(id string) bool {
		s, err := f.ui.cache.current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var snap snapshotJSON
		if err := json.Unmarshal(s.body, &snap); err != nil {
			t.Fatal(err)
		}
		_, ok := decodeRows(t, snap.Bins)[id]
		return ok
	}
	waitMap := func(id string, want bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); mapHas(id) != want; {
			if time.Now().After(deadline) {
				t.Fatalf("map holds %s = %v after 10 s, want %v", id, !want, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	old := f.city.Bins[0].ID
	if mapHas("NEW-1") || !mapHas(old) {
		t.Fatalf("before: map holds NEW-1 or misses %s", old)
	}
	b := &civic.Bin{ID: "NEW-1", Name: "New bin", Lat: f.city.Bins[0].Lat, Lon: f.city.Bins[0].Lon, CapacityL: 240}
	if err := f.st.CreateBin(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := f.st.DeleteBin(ctx, old); err != nil {
		t.Fatal(err)
	}
	if mapHas("NEW-1") || !mapHas(old) {
		t.Fatal("the map changed before it was told")
	}
	f.ui.AssetsChanged()
	f.ui.AssetsChanged() // a burst makes one reload
	waitMap("NEW-1", true)
	waitMap(old, false)
}

func TestBinPageAndHistory(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10})
	c := f.client("super")
	id := f.binID(2)
	res, body := f.get(c, "/bins/"+id)
	if res.StatusCode != 200 {
		t.Fatalf("bin page: %d", res.StatusCode)
	}
	for _, want := range []string{f.city.Bins[2].Name, f.city.Devices[2].ID, `id="recent"`, `data-history="/bins/` + id + `/history.json"`, `id="charts"`} {
		if !strings.Contains(body, want) {
			t.Errorf("bin page lacks %q", want)
		}
	}
	if n := strings.Count(body, "<tr><td>20"); n != recentReadings {
		t.Errorf("%d recent readings listed, want %d", n, recentReadings)
	}
	if res, _ := f.get(c, "/bins/nope"); res.StatusCode != 404 {
		t.Errorf("unknown bin: %d, want 404", res.StatusCode)
	}

	from, to := f.now.Add(-24*time.Hour).Unix(), f.now.Add(time.Minute).Unix()
	res, body = f.get(c, "/bins/"+id+"/history.json?from="+itoa64(from)+"&to="+itoa64(to)+"&step=1h")
	if res.StatusCode != 200 {
		t.Fatalf("history: %d %s", res.StatusCode, body)
	}
	var h struct {
		Step    int64      `json:"step"`
		T       []int64    `json:"t"`
		Fill    []*float64 `json:"fill"`
		Battery []*float64 `json:"battery"`
		Temp    []*float64 `json:"temp"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if h.Step != 3600 || len(h.T) < 24 || len(h.T) > 26 || len(h.Fill) != len(h.T) || len(h.Temp) != len(h.T) {
		t.Fatalf("history step %d, %d points (fill %d)", h.Step, len(h.T), len(h.Fill))
	}
	if *h.Fill[len(h.Fill)-1] < *h.Fill[0] || *h.Fill[0] > 100 || *h.Battery[0] > 100 {
		t.Errorf("fill not rising or not in percent: %v … %v", *h.Fill[0], *h.Fill[len(h.Fill)-1])
	}
	// Automatic step: 30 days fits in ~400 points.
	_, body = f.get(c, "/bins/"+id+"/history.json?from="+f.now.Add(-30*24*time.Hour).Format(time.RFC3339))
	json.Unmarshal([]byte(body), &h)
	if h.Step != 7200 {
		t.Errorf("auto step for 30 days: %d s, want 7200", h.Step)
	}
	// span asks for the latest stretch by the server's clock: the same
	// points as the explicit range ending at the fixture's now.
	_, body = f.get(c, "/bins/"+id+"/history.json?span=86400&step=1h")
	var hs struct {
		T []int64 `json:"t"`
	}
	if err := json.Unmarshal([]byte(body), &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs.T) < 24 || len(hs.T) > 26 || hs.T[len(hs.T)-1] > f.now.Unix() {
		t.Errorf("span=86400: %d points ending %d, want about 24 ending by %d", len(hs.T), hs.T[len(hs.T)-1], f.now.Unix())
	}
	for _, bad := range []string{"?step=1s&from=" + itoa64(from), "?from=x", "?from=" + itoa64(to) + "&to=" + itoa64(from), "?step=-5", "?span=0", "?span=x"} {
		if res, _ := f.get(c, "/bins/"+id+"/history.json"+bad); res.StatusCode != 400 {
			t.Errorf("history%s: %d, want 400", bad, res.StatusCode)
		}
	}
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

func TestFleet(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 15})
	c := f.client("super")
	res, body := f.get(c, "/fleet?sort=battery&dir=asc")
	if res.StatusCode != 200 {
		t.Fatalf("fleet: %d", res.StatusCode)
	}
	if !strings.Contains(body, `aria-sort="ascending"`) || !strings.Contains(body, "never seen") || !strings.Contains(body, f.city.Devices[0].ID) {
		t.Errorf("fleet page lacks sort state, health or devices")
	}
	res, body = f.get(c, "/fleet.csv?sort=battery&dir=desc")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("fleet.csv: %d %v", res.StatusCode, res.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(f.city.Devices)+1 || recs[0][0] != "device" || recs[0][7] != "battery" {
		t.Fatalf("csv has %d records, header %v", len(recs), recs[0])
	}
	prev := 2.0
	for _, r := range recs[1:] {
		if r[7] == "" {
			continue // unknown sorts last when descending
		}
		var b float64
		json.Unmarshal([]byte(r[7]), &b)
		if b > prev {
			t.Fatalf("csv not sorted by battery descending: %v after %v", b, prev)
		}
		prev = b
	}
	_, body = f.get(c, "/fleet.csv?problems=1")
	recs, _ = csv.NewReader(strings.NewReader(body)).ReadAll()
	for _, r := range recs[1:] {
		if r[5] == "ok" {
			t.Errorf("problems-only CSV lists a healthy device %v", r)
		}
	}
	if cell("=cmd()") != "'=cmd()" || cell("fw-1") != "fw-1" {
		t.Error("cell does not defuse formulas")
	}
}

func TestAssets(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 3})
	u := f.ui.static.url("app.js")
	if !strings.HasPrefix(u, "/static/app.") || !strings.HasSuffix(u, ".js") || u == "/static/app.js" {
		t.Fatalf("hashed url %q", u)
	}
	c := f.client("")
	res, body := f.get(c, u, "Accept-Encoding", "gzip")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		res.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("hashed asset: %d %v", res.StatusCode, res.Header)
	}
	zr, _ := gzip.NewReader(strings.NewReader(body))
	plain, _ := io.ReadAll(zr)
	want, _ := files.ReadFile("static/app.js")
	if !bytes.Equal(plain, want) {
		t.Error("asset body differs from the embedded file")
	}
	res, _ = f.get(c, "/static/app.js")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("plain asset: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if res, _ := f.get(c, res.Request.URL.Path, "If-None-Match", res.Header.Get("ETag")); res.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", res.StatusCode)
	}
	if res, _ := f.get(c, "/static/nope.js"); res.StatusCode != 404 {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
	// Without `make web` the pages say what is missing instead of failing.
	f.ui.static.vendor = false
	if _, body := f.get(f.client("super"), "/"); !strings.Contains(body, `id="vendor-missing"`) || strings.Contains(body, "dist/leaflet.") {
		t.Errorf("map page without vendor assets: no notice, or still loads them")
	}
	if res, body := f.get(f.client("super"), "/no/such/page"); res.StatusCode != 404 || !strings.Contains(body, "Back to the map") {
		t.Errorf("unknown page: %d", res.StatusCode)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"B-0001", `quo"te\`, "tab\tnl\n", "<script>&", "Zürich ☃", "\u2028x", "bad\xffutf8", ""} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, got, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/fleet": "/fleet", "/bins/B-1?x=1": "/bins/B-1?x=1", "//evil": "/", `/\evil`: "/",
		"https://evil": "/", "/login?next=/": "/", "/a\r\nSet-Cookie: x": "/",
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/\r/evil.example": "/", "/ /evil": "/",
		"/\x00/evil": "/", "/\x7f/evil": "/", "/\u0085/evil": "/", "/a\\b": "/", "evil.example": "/",
		"/%09/evil.example": "/%09/evil.example", "/plans/2026-03-02?x=%2F%2Fevil": "/plans/2026-03-02?x=%2F%2Fevil",
		"javascript:alert(1)": "/", "/login": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMapFilter(t *testing.T) {
	fill := func(v float64) *float64 { return &v }
	now := time.Now()
	full := &binEntry{bin: civic.Bin{ID: "a", Stream: civic.StreamPaper, ZoneID: "z1", FullThreshold: 0.9}, hasSt: true,
		st: civic.BinState{Time: now, Fill: fill(0.95)}}
	empty := &binEntry{bin: civic.Bin{ID: "b", Stream: civic.StreamTrash, ZoneID: "z2", FullThreshold: 0.9}, hasSt: true,
		st: civic.BinState{Time: now, Fill: fill(0.1)}}
	unknown := &binEntry{bin: civic.Bin{ID: "c", Stream: civic.StreamTrash}}
	tests := []struct {
		query string
		want  []bool // full, empty, unknown
	}{
		{"", []bool{true, true, true}},
		{"stream=paper", []bool{true, false, false}},
		{"zone=z2", []bool{false, true, false}},
		{"min=50", []bool{true, false, false}},
		{"min=0&max=20", []bool{false, true, false}},
		{"max=20&min=90", []bool{false, false, false}}, // swapped to 20..90
		{"alerts=1", []bool{true, false, true}},        // full, and never reported
		{"stream=bogus", []bool{true, true, true}},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		mf := parseMapFilter(q)
		for i, e := range []*binEntry{full, empty, unknown} {
			if got := mf.matches(e, now.Unix()); got != tc.want[i] {
				t.Errorf("%q: bin %s matches %v, want %v", tc.query, e.bin.ID, got, tc.want[i])
			}
		}
	}
}
