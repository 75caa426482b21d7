package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
)

// post sends a form as c and returns the status and body.
func (f *fixture) post(c *http.Client, path string, form url.Values) (int, string) {
	f.t.Helper()
	res, err := c.PostForm(f.srv.URL+path, form)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// upload posts a file as the form field "file".
func (f *fixture) upload(c *http.Client, path, name, content string) (int, string) {
	f.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.Close()
	res, err := c.Post(f.srv.URL+path, mw.FormDataContentType(), &buf)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAdminPages: every admin screen renders for an admin; supervisors
// reach assets and rules but not users, keys and subscriptions; crews
// none; and each screen's change reaches the store or is refused naming
// the field.
func TestAdminPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 8, admin: true})
	ctx := context.Background()
	admin, super, crew := f.client("admin1"), f.client("super"), f.client("crew1")
	pages := []string{"/admin", "/admin/assets/bins", "/admin/assets/bins/new", "/admin/assets/bins/" + f.binID(0),
		"/admin/assets/devices", "/admin/assets/devices/" + f.city.Devices[0].ID, "/admin/assets/zones", "/admin/assets/zones/new",
		"/admin/assets/zones/" + f.city.Zones[0].ID, "/admin/assets/depots/new", "/admin/assets/trucks/new", "/admin/assets/crews/new",
		"/admin/assets/facilities/new", "/admin/rules", "/admin/rules?scope=stream&target=recycling", "/admin/users", "/admin/keys", "/admin/subscriptions"}
	for _, p := range pages {
		if res, body := f.get(admin, p); res.StatusCode != 200 {
			t.Errorf("GET %s as admin: %d\n%s", p, res.StatusCode, body)
		}
	}
	for _, c := range []struct {
		c    *http.Client
		who  string
		path string
		want int
	}{
		{super, "supervisor", "/admin/assets/bins", 200}, {super, "supervisor", "/admin/rules", 200},
		{super, "supervisor", "/admin/users", 403}, {super, "supervisor", "/admin/keys", 403}, {super, "supervisor", "/admin/subscriptions", 403},
		{crew, "crew", "/admin", 403}, {crew, "crew", "/admin/assets/bins", 403}, {admin, "admin", "/admin/assets/rockets", 404},
	} {
		if res, _ := f.get(c.c, c.path); res.StatusCode != c.want {
			t.Errorf("GET %s as %s: %d, want %d", c.path, c.who, res.StatusCode, c.want)
		}
	}
	if code, _ := f.post(super, "/admin/keys", url.Values{"name": {"x"}, "scope": {"read"}}); code != 403 {
		t.Errorf("POST /admin/keys as supervisor: %d, want 403", code)
	}

	// Bins: a bad latitude is refused naming the field; a good bin is made.
	bin := url.Values{"id": {"NEW-1"}, "name": {"Town hall"}, "lat": {"123"}, "lon": {"-71.05"}, "stream": {"recycling"}, "capacity_l": {"240"}}
	if code, body := f.post(admin, "/admin/assets/bins/new", bin); code != 400 || !strings.Contains(body, "lat") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bin with lat 123: %d\n%s", code, body)
	}
	if _, err := f.st.Bin(ctx, "NEW-1"); !civic.IsKind(err, civic.NotFound) {
		t.Fatalf("refused bin stored: %v", err)
	}
	bin.Set("lat", "42.36")
	if code, body := f.post(admin, "/admin/assets/bins/new", bin); code != 303 {
		t.Fatalf("create bin: %d\n%s", code, body)
	}
	if b, err := f.st.Bin(ctx, "NEW-1"); err != nil || b.Stream != civic.StreamRecycling || b.CapacityL != 240 || b.Status != civic.StatusActive {
		t.Fatalf("created bin = %+v, %v", b.Bin, err)
	}
	if res, body := f.get(admin, "/admin/assets/bins?q=town+hall"); res.StatusCode != 200 || !strings.Contains(body, "NEW-1") || strings.Contains(body, f.binID(0)+"</a>") {
		t.Errorf("search for town hall:\n%s", body)
	}
	bin.Set("name", "Town hall east")
	if code, _ := f.post(admin, "/admin/assets/bins/NEW-1", bin); code != 303 {
		t.Fatalf("update bin: %d", code)
	}
	if code, _ := f.post(admin, "/admin/assets/bins/NEW-1/deactivate", nil); code != 303 {
		t.Fatalf("deactivate: %d", code)
	}
	if b, _ := f.st.Bin(ctx, "NEW-1"); b.Name != "Town hall east" || b.Status != civic.StatusInactive {
		t.Errorf("after edit and deactivate: %+v", b.Bin)
	}

	// Import: every faulty line is listed, and nothing is stored.
	csv := "id,name,lat,lon,stream,capacity_l\nIMP-1,A,42.3,-71.0,trash,120\nIMP-2,B,95,-71.0,trash,120\nIMP-3,C,42.3,-71.0,glass,120\nIMP-4,D,42.3,-71.0,trash,120\n"
	code, body := f.upload(admin, "/admin/assets/bins/import", "bins.csv", csv)
	if code != 400 || !strings.Contains(body, "bins.csv:3: lat") || !strings.Contains(body, "bins.csv:4: stream") {
		t.Fatalf("import with two bad lines: %d\n%s", code, body)
	}
	if _, err := f.st.Bin(ctx, "IMP-1"); !civic.IsKind(err, civic.NotFound) {
		t.Fatalf("a refused import stored IMP-1: %v", err)
	}
	geo := `{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"Point","coordinates":[-71,42.3]},"properties":{"id":"G-1","name":"A","stream":"trash","capacity_l":120}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[-71,42.3]},"properties":{"id":"G-2","name":"B","stream":"trash","capacity_l":-5}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[-71,42.3]},"properties":{"id":"G-3","name":"C","stream":"lava","capacity_l":120}}]}`
	code, body = f.upload(admin, "/admin/assets/bins/import", "bins.geojson", geo)
	if code != 400 || !strings.Contains(body, "features[1]") || !strings.Contains(body, "features[2]") {
		t.Fatalf("GeoJSON import with two bad features: %d\n%s", code, body)
	}
	if code, body = f.upload(admin, "/admin/assets/bins/import", "bins.csv", strings.ReplaceAll(strings.ReplaceAll(csv, ",95,", ",42.1,"), "glass", "paper")); code != 200 || !strings.Contains(body, "Imported 4 bins") {
		t.Fatalf("good import: %d\n%s", code, body)
	}

	// Rules: full alerts for recycling bins only.
	form := url.Values{"scope": {"stream"}, "target": {"recycling"}, "set_rules": {"1"}, "raise": {"fire", "tilt", "full"}, "low_battery": {"0.25"}}
	if code, body := f.post(super, "/admin/rules", form); code != 303 {
		t.Fatalf("save rules: %d\n%s", code, body)
	}
	rules, _ := f.st.AlertRules(ctx)
	rb := civic.Bin{ID: "x", Stream: civic.StreamRecycling}
	tb := civic.Bin{ID: "y", Stream: civic.StreamTrash}
	if s := rules.For(&rb); !s.Enabled(civic.RuleFull) || s.Enabled(civic.RuleOffline) || s.LowBattery != 0.25 {
		t.Errorf("recycling settings = %+v", s)
	}
	if s := rules.For(&tb); s.Enabled(civic.RuleFull) || !s.Enabled(civic.RuleOffline) {
		t.Errorf("trash settings = %+v", s)
	}
	form.Set("low_battery", "7")
	if code, body := f.post(super, "/admin/rules", form); code != 400 || !strings.Contains(body, "low_battery") {
		t.Errorf("battery 7: %d\n%s", code, body)
	}

	// Users: create a crew member, promote them.
	if code, body := f.post(admin, "/admin/users", url.Values{"name": {"dana"}, "role": {"crew"}, "password": {testPassword}}); code != 303 {
		t.Fatalf("create user: %d\n%s", code, body)
	}
	dana, err := f.st.UserByName(ctx, "dana")
	if err != nil || dana.Role != civic.RoleCrew {
		t.Fatalf("dana = %+v, %v", dana, err)
	}
	if code, _ := f.post(admin, "/admin/users/"+dana.ID, url.Values{"role": {"supervisor"}}); code != 303 {
		t.Fatalf("promote: %d", code)
	}
	if u, _ := f.st.User(ctx, dana.ID); u.Role != civic.RoleSupervisor {
		t.Errorf("dana's role %s", u.Role)
	}
	me, _ := f.st.UserByName(ctx, "admin1")
	if code, body := f.post(admin, "/admin/users/"+me.ID, url.Values{"role": {"analyst"}}); code != 400 || !strings.Contains(body, "cannot demote") {
		t.Errorf("self-demotion: %d", code)
	}
	if code, body := f.post(admin, "/admin/users", url.Values{"name": {"eve"}, "role": {"emperor"}, "password": {testPassword}}); code != 400 || !strings.Contains(body, "role") {
		t.Errorf("bad role: %d\n%s", code, body)
	}

	// A user who signs in through single sign-on is marked, has no
	// password field, and cannot be given a password.
	sso := civic.User{Name: "omar", Role: civic.RoleAnalyst, CreatedAt: f.clock(), UpdatedAt: f.clock()}
	if err := f.st.CreateUserWithIdentity(ctx, &sso, "https://id.city.example", "sub-omar"); err != nil {
		t.Fatal(err)
	}
	_, page := f.get(admin, "/admin/users")
	row := func(name string) string {
		i := strings.Index(page, `<tr id="user-`+name+`">`)
		if i < 0 {
			t.Fatalf("no row for %s in\n%s", name, page)
		}
		return page[i : i+strings.Index(page[i:], "</tr>")]
	}
	if r := row("omar"); !strings.Contains(r, "single sign-on") || strings.Contains(r, `name="password"`) {
		t.Errorf("omar's row should say single sign-on and have no password field:\n%s", r)
	}
	if r := row("dana"); strings.Contains(r, "single sign-on") || !strings.Contains(r, `name="password"`) {
		t.Errorf("dana's row should have a password field and no single sign-on mark:\n%s", r)
	}
	if code, body := f.post(admin, "/admin/users/"+sso.ID, url.Values{"role": {"analyst"}, "password": {testPassword + "x"}}); code != 400 || !strings.Contains(body, "single sign-on") {
		t.Errorf("password for an SSO user: %d\n%s", code, body)
	}

	// Subscriptions: a webhook, and its test reaches the receiver signed.
	var mu sync.Mutex
	var got []http.Header
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
	}))
	defer hook.Close()
	if code, body := f.post(admin, "/admin/subscriptions", url.Values{"kind": {"webhook"}, "target": {"ftp://nope"}}); code != 400 || !strings.Contains(body, "target") {
		t.Errorf("ftp webhook: %d\n%s", code, body)
	}
	code, body = f.post(admin, "/admin/subscriptions", url.Values{"kind": {"webhook"}, "target": {hook.URL}, "name": {"ops"}, "rule": {"fire"}})
	if code != 201 || !strings.Contains(body, `class="secret"`) {
		t.Fatalf("create subscription: %d\n%s", code, body)
	}
	subs, _ := f.st.ListSubscriptions(ctx)
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions", len(subs))
	}
	if code, body := f.post(admin, "/admin/subscriptions/"+subs[0].ID+"/test", nil); code != 200 || !strings.Contains(body, "test sent") {
		t.Fatalf("send test: %d\n%s", code, body)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Get(alert.SignatureHeader) == "" {
		t.Errorf("the webhook got %v", got)
	}
	mu.Unlock()
}
