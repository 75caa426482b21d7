package web

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/server"
)

// with311 serves f's dashboard with the 311 desk behind the real server
// (its authentication, cross-origin protection, GeoReport handler for the
// photos), as civic serve does. anonBurst limits anonymous reports.
func with311(t *testing.T, f *fixture, anonBurst int) *open311.Desk {
	t.Helper()
	limit := rate.Limit(rate.Inf)
	if anonBurst > 0 {
		limit = rate.Every(time.Hour)
	}
	desk := open311.NewDesk(open311.Options{Store: f.st, AnonymousRate: limit, AnonymousBurst: anonBurst,
		BinExists: func(ctx context.Context, id string) (bool, error) {
			_, err := f.st.Bin(ctx, id)
			return err == nil, nil
		}})
	if err := desk.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ui := New(f.ui.cfg, Deps{Store: f.st, ServiceDesk: desk, KPIs: f.st, ClientIP: server.ClientIP,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			tok, sess, _, err := f.auth.Login(ctx, name, password)
			return tok, sess.ExpiresAt, err
		},
		Logout: f.auth.Logout})
	geo := open311.NewHandler(open311.HandlerOptions{Desk: desk, Keys: f.auth.KeyPrincipal, ClientIP: server.ClientIP})
	h := server.New(server.Config{CookieName: ui.cfg.SessionCookie}, server.Deps{Store: f.st, Auth: f.auth, Pages: ui.Handler(),
		Logger: slog.New(slog.DiscardHandler), ServiceDesk: desk, Open311: geo}).Handler()
	f.srv.Close()
	f.ui.Close(context.Background())
	f.ui = ui
	f.srv = httptest.NewServer(h)
	return desk
}

// photo is a small real PNG.
func photo(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(60 + x*2), uint8(120 + y), 60, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// postReport sends the report form as a browser does.
func postReport(t *testing.T, c *http.Client, base string, fields url.Values, files ...[]byte) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("media[]", "photo.png")
		w.Write(f)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/report", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestReportPages checks the public 311 pages without a browser: the
// form needs no login, a report lands on its confirmation page, contact
// details never show publicly, markup is escaped or held, a duplicate is
// offered, and anonymous reports are rate limited.
func TestReportPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10})
	desk := with311(t, f, 4)
	anon := f.client("")
	b := f.city.Bins[0]
	lat, long := b.Lat, b.Lon

	res, err := anon.Get(f.srv.URL + "/report?service_code=overflowing-bin")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, `name="attribute[bin_kind]"`) {
		t.Fatalf("report form: %d %.300s", res.StatusCode, body)
	}
	form := url.Values{"service_code": {"overflowing-bin"}, "attribute[bin_kind]": {"litter"},
		"lat": {ftoa(lat)}, "long": {ftoa(long)}, "description": {"Overflowing & smelly"}, "email": {"secret.resident@example.org"}}
	res = postReport(t, anon, f.srv.URL, form, photo(t))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/requests/") {
		t.Fatalf("submit: %d %s %s", res.StatusCode, res.Header.Get("Location"), readBody(t, res))
	}
	loc := res.Header.Get("Location")
	id := strings.TrimPrefix(strings.TrimSuffix(loc, "?new=1"), "/requests/")
	res, _ = anon.Get(f.srv.URL + loc)
	page := readBody(t, res)
	if !strings.Contains(page, `id="request-id">`+id+`<`) || !strings.Contains(page, "Overflowing &amp; smelly") ||
		strings.Contains(page, "secret.resident") || !strings.Contains(page, "/open311/v2/requests/"+id+"/media/1") {
		t.Errorf("confirmation page: %.2000s", page)
	}
	stored, err := desk.Request(context.Background(), id)
	if err != nil || stored.ObjectID != b.ID || stored.MediaCount != 1 || stored.Channel != "web" {
		t.Errorf("stored %+v (%v): want it linked to the nearest bin %s with one photo", stored, err, b.ID)
	}
	res, _ = anon.Get(f.srv.URL + "/open311/v2/requests/" + id + "/media/1")
	if body := readBody(t, res); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("photo: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// The same problem again: offered as already reported, not stored.
	res = postReport(t, anon, f.srv.URL, form)
	if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, `id="report-dups"`) || !strings.Contains(body, "/requests/"+id) {
		t.Errorf("duplicate: %d %.500s", res.StatusCode, body)
	}
	// Markup is held for moderation and never rendered as markup.
	evil := url.Values{"service_code": {"litter"}, "address_string": {"<b>Main</b> St"},
		"description": {`<script>alert("x")</script> rubbish`}}
	res = postReport(t, anon, f.srv.URL, evil)
	loc = res.Header.Get("Location")
	readBody(t, res)
	res, _ = anon.Get(f.srv.URL + loc)
	page = readBody(t, res)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>Main") || !strings.Contains(page, "waiting for a moderator") {
		t.Errorf("held report page: %.1500s", page)
	}
	// A bad field is named, nothing stored.
	res = postReport(t, anon, f.srv.URL, url.Values{"service_code": {"overflowing-bin"}, "lat": {"95"}, "long": {"1"}, "attribute[bin_kind]": {"litter"}})
	if body := readBody(t, res); res.StatusCode != 400 || !strings.Contains(body, "lat: ") {
		t.Errorf("bad latitude: %d %.300s", res.StatusCode, body)
	}
	// The fifth anonymous report within the hour is refused.
	res = postReport(t, anon, f.srv.URL, url.Values{"service_code": {"graffiti"}, "attribute[surface]": {"wall"}, "address_string": {"1 Elm St"}})
	readBody(t, res)
	res = postReport(t, anon, f.srv.URL, url.Values{"service_code": {"graffiti"}, "attribute[surface]": {"wall"}, "address_string": {"2 Elm St"}})
	if body := readBody(t, res); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "too many reports") {
		t.Errorf("rate limit: %d %.300s", res.StatusCode, body)
	}

	// Staff see the contact, escaped markup, and act from the queue.
	sup := f.client("super")
	res, _ = sup.Get(f.srv.URL + "/queue?status=all")
	page = readBody(t, res)
	if res.StatusCode != 200 || !strings.Contains(page, "&lt;script&gt;") || strings.Contains(page, "<script>alert") {
		t.Errorf("queue: %d %.2000s", res.StatusCode, page)
	}
	res, _ = sup.Get(f.srv.URL + "/queue/" + id)
	if page = readBody(t, res); !strings.Contains(page, "secret.resident@example.org") {
		t.Errorf("staff page lacks the contact: %.1500s", page)
	}
	// A request past its SLA is highlighted, and the overdue filter
	// finds it.
	past := time.Now().Add(-72 * time.Hour)
	due := past.Add(24 * time.Hour)
	late := []civic.ServiceRequest{{Token: "late-1", ServiceCode: "pothole", Status: civic.StatusAcknowledged,
		Address: "9 Late Lane", RequestedAt: past, ExpectedAt: &due}}
	if err := f.st.ImportServiceRequests(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	res, _ = sup.Get(f.srv.URL + "/queue?overdue=true")
	page = readBody(t, res)
	if !strings.Contains(page, `<tr class="overdue" id="q-`+late[0].ID+`">`) || strings.Contains(page, `id="q-`+id+`"`) {
		t.Errorf("overdue queue: %.2500s", page)
	}
	res, _ = f.client("crew1").Get(f.srv.URL + "/queue")
	if readBody(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("crew opens the queue: %d", res.StatusCode)
	}
	res, _ = anon.Get(f.srv.URL + "/requests")
	if page = readBody(t, res); res.StatusCode != 200 || !strings.Contains(page, `href="/requests/`+id+`"`) {
		t.Errorf("public list: %d %.800s", res.StatusCode, page)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// writePhoto saves a PNG for the browser's file input.
func writePhoto(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "overflowing-bin.png")
	if err := os.WriteFile(p, photo(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportMapTiles: the 311 pages' maps get the city's tile server and
// its credit (open311.js reads them from the body), like every other map.
func TestReportMapTiles(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 4, config: Config{TileURL: "https://tiles.example/{z}/{x}/{y}.png", TileAttribution: "© Example contributors"}})
	with311(t, f, 1)
	anon := f.client("")
	for _, path := range []string{"/report", "/requests"} {
		res, err := anon.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, res)
		if res.StatusCode != 200 || !strings.Contains(body, `data-tiles="https://tiles.example/{z}/{x}/{y}.png"`) ||
			!strings.Contains(body, `data-attribution="© Example contributors"`) {
			t.Errorf("%s: %d, the body does not carry the tile server and its credit:\n%.600s", path, res.StatusCode, body)
		}
	}
}

// TestReportDamagedBinLinked: a damaged bin reported next to a bin is
// linked to it (BinLink), as a full one is, but does not make it must-go;
// litter reported at the same spot is not about the bin.
func TestReportDamagedBinLinked(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 10})
	desk := with311(t, f, 0)
	anon := f.client("")
	b := f.city.Bins[1]
	report := func(form url.Values) civic.ServiceRequest {
		t.Helper()
		form.Set("lat", ftoa(b.Lat))
		form.Set("long", ftoa(b.Lon))
		res := postReport(t, anon, f.srv.URL, form)
		loc := res.Header.Get("Location")
		readBody(t, res)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/") {
			t.Fatalf("submit %v: %d %s", form, res.StatusCode, loc)
		}
		r, err := desk.Request(context.Background(), strings.TrimPrefix(strings.TrimSuffix(loc, "?new=1"), "/requests/"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	damaged := report(url.Values{"service_code": {"damaged-bin"}, "attribute[bin_kind]": {"litter"}, "attribute[damage]": {"lid"},
		"description": {"The lid is hanging off"}})
	if damaged.ObjectType != "bin" || damaged.ObjectID != b.ID {
		t.Errorf("damaged bin: linked to %s %q, want bin %s", damaged.ObjectType, damaged.ObjectID, b.ID)
	}
	litter := report(url.Values{"service_code": {"litter"}, "description": {"Crisp packets"}})
	if litter.ObjectID != "" {
		t.Errorf("litter linked to %s %q, want no link", litter.ObjectType, litter.ObjectID)
	}
	open, err := desk.OpenBinRequests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range open {
		if o.RequestID == damaged.ID {
			t.Errorf("the damaged-bin report is among the requests that make a bin must-go: %+v", o)
		}
	}
	// The queue's page words the reporter's answers as the form asked.
	if res, body := f.get(f.client("super"), "/queue/"+damaged.ID); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, "<dt>What is wrong with it?</dt><dd>Lid broken or missing</dd>") || !strings.Contains(body, "bin <a href=\"/bins/"+b.ID) {
		t.Errorf("queue page of the damaged-bin report: %d, without its bin or its answers worded:\n%s", res.StatusCode, body)
	}
	// The bin's page lists it.
	res, body := f.get(f.client("super"), "/bins/"+b.ID)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "/queue/"+damaged.ID) {
		t.Errorf("bin page: %d, no link to the damaged-bin request %s", res.StatusCode, damaged.ID)
	}
}

// TestAnswers: a request's attribute values read as the form asked them,
// in its order, with the values' names; unknown ones keep their codes.
func TestAnswers(t *testing.T) {
	svc := civic.Service{Attributes: []civic.ServiceAttribute{
		{Code: "damage", Order: 2, Description: "What is wrong with it?", Values: []civic.AttributeValue{{Key: "lid", Name: "Lid broken or missing"}, {Key: "burnt", Name: "Burnt"}}},
		{Code: "bin_kind", Order: 1, Description: "What kind of bin is it?", Values: []civic.AttributeValue{{Key: "litter", Name: "Street litter bin"}}},
		{Code: "note", Order: 3},
	}}
	got := answers(svc, map[string][]string{"damage": {"burnt", "lid", "other"}, "bin_kind": {"litter"}, "note": {"by the gate"}, "old": {"x"}})
	want := []answer{
		{Question: "What kind of bin is it?", Values: []string{"Street litter bin"}},
		{Question: "What is wrong with it?", Values: []string{"Burnt", "Lid broken or missing", "other"}},
		{Question: "note", Values: []string{"by the gate"}},
		{Question: "old", Values: []string{"x"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answers = %+v, want %+v", got, want)
	}
}
