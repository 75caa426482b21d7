package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/storetest"
)

// send is do without the OpenAPI check, for answers the document need not
// list on every operation (a 400 for a NUL in a path id).
func (f *fixture) send(method, url, contentType, body, as string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if strings.HasPrefix(as, "key:") {
		r.Header.Set("Authorization", "Bearer "+f.keys[as])
	} else if as != "" {
		r.AddCookie(&http.Cookie{Name: "civic_session", Value: f.sessions[as]})
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

var wildcard = regexp.MustCompile(`\{([a-zA-Z_]+)(\.\.\.)?\}`)

// TestTextInputClass sends NULs, invalid UTF-8 and overlong text through
// every route's path wildcards and query, and through JSON and form
// bodies, on both engines: each answers 400 naming the field, never a 5xx,
// and nothing is stored.
func TestTextInputClass(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixtureOn(t, server.Config{AnonymousRate: rate.Inf, LoginRate: rate.Inf, KeyRate: rate.Inf}, engine)
		bad := map[string]string{"NUL": "a%00b", "invalid UTF-8": "a%FFb", "overlong": strings.Repeat("x", civic.MaxTextBytes+1)}
		for _, pattern := range f.srv.RoutePatterns() {
			method, path, ok := strings.Cut(pattern, " ")
			if !ok || !strings.HasPrefix(path, "/api/") {
				continue
			}
			for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
				for what, v := range bad {
					url := wildcard.ReplaceAllStringFunc(path, func(w string) string {
						if w == m[0] {
							return v
						}
						return "x1"
					})
					rec := f.send(method, url, "application/json", "{}", "key:admin")
					if code, _, field := errorOf(t, rec); rec.Code != http.StatusBadRequest || code != "invalid" || field != m[1] {
						t.Errorf("%s with %s in {%s}: %d %s field %q, want 400 invalid field %q", pattern, what, m[1], rec.Code, code, field, m[1])
					}
				}
			}
			url := wildcard.ReplaceAllString(path, "x1")
			for what, v := range bad {
				for _, as := range []string{"", "key:admin"} {
					rec := f.send(method, url+"?status=ok&filter="+v, "application/json", "{}", as)
					if code, _, field := errorOf(t, rec); rec.Code != http.StatusBadRequest || field != "filter" {
						t.Errorf("%s as %q with %s in a query filter: %d %s field %q, want 400 field filter", pattern, as, what, rec.Code, code, field)
					}
				}
			}
			if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
				for _, body := range []string{`{"name":"a\u0000b"}`, `{"id":"x\u0000","name":"n"}`, `{"note":"` + strings.Repeat("y", 1<<20) + `"}`} {
					rec := f.send(method, url, "application/json", body, "key:admin")
					if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
						t.Errorf("%s with a bad body: %d %s", pattern, rec.Code, rec.Body)
					}
				}
			}
		}

		// Fields named, without authentication too.
		for _, c := range []struct {
			name, method, url, ctype, body, as, field string
		}{
			{"login name", "POST", "/api/v1/session", "application/json", `{"name":"admin1\u0000","password":"password for admin"}`, "", "name"},
			{"login password", "POST", "/api/v1/session", "application/json", `{"name":"admin1","password":"pw\u0000"}`, "", "password"},
			{"login overlong name", "POST", "/api/v1/session", "application/json", `{"name":"` + strings.Repeat("a", 1e6) + `","password":"x"}`, "", "name"},
			{"depot name of a million characters", "POST", "/api/v1/depots", "application/json", `{"id":"D9","name":"` + strings.Repeat("d", 1e6-100) + `","lat":42.3,"lon":-71.1}`, "key:admin", "name"},
			{"depot name with NUL", "POST", "/api/v1/depots", "application/json", `{"id":"D9","name":"a\u0000b","lat":42.3,"lon":-71.1}`, "key:admin", "name"},
			{"bin patch", "PATCH", "/api/v1/bins/B1", "application/json", `{"name":"a\u0000b"}`, "key:admin", "name"},
			{"crew members", "POST", "/api/v1/crews", "application/json", `{"id":"C9","name":"c","depot_id":"D1","members":["ok","a\u0000"]}`, "key:admin", "members[1]"},
			{"page path", "GET", "/bins/a%00", "", "", "admin", "path"},
			{"page query", "GET", "/?zone=a%00", "", "", "admin", "zone"},
		} {
			rec := f.send(c.method, c.url, c.ctype, c.body, c.as)
			code, msg, field := errorOf(t, rec)
			if rec.Code != http.StatusBadRequest || code != "invalid" || field != c.field {
				t.Errorf("%s: %d %s field %q (%s), want 400 invalid field %q", c.name, rec.Code, code, field, msg, c.field)
			}
		}
		if _, err := f.store.Depot(t.Context(), "D9"); !civic.IsKind(err, civic.NotFound) {
			t.Errorf("a refused depot was stored: %v", err)
		}
		b, err := f.store.Bin(t.Context(), "B1")
		if err != nil || strings.ContainsRune(b.Name, 0) {
			t.Errorf("bin B1 after a refused patch: %q, %v", b.Name, err)
		}
	})
}

func TestCheckStringsNamesTheField(t *testing.T) {
	type stop struct {
		Note string `json:"note" maxlen:"5"`
	}
	type body struct {
		Name  string            `json:"name"`
		Stops []stop            `json:"stops"`
		Attrs map[string]any    `json:"attrs"`
		Tags  map[string]string `json:"tags"`
		Raw   []byte            `json:"raw"`
		skip  string
	}
	for _, c := range []struct {
		v     body
		field string
	}{
		{body{Name: "ok", Raw: []byte{0}, skip: "\x00"}, ""},
		{body{Name: "a\x00"}, "name"},
		{body{Stops: []stop{{Note: "fine"}, {Note: "too long"}}}, "stops[1].note"},
		{body{Attrs: map[string]any{"colour": []any{"red", "\xff"}}}, "attrs.colour[1]"},
		{body{Tags: map[string]string{"a\x00": "v"}}, "tags.(key)"},
	} {
		err := server.CheckStrings(&c.v)
		if got := civic.FieldOf(err); got != c.field || (c.field == "") != (err == nil) {
			t.Errorf("%+v: field %q (%v), want %q", c.v, got, err, c.field)
		}
	}
}

// TestLoRaWANText: a network server's message with a NUL in any string (the
// device name, a decoded payload's text) is a 400 naming it, not stored.
func TestLoRaWANText(t *testing.T) {
	f := lorawanFixture(t, lorawanSecrets)
	raw, err := os.ReadFile("../ingest/testdata/chirpstack-v4-up.json")
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	msg["deviceInfo"].(map[string]any)["deviceName"] = "sensor\x00one"
	body, _ := json.Marshal(msg)
	rec := f.do(request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: string(body), header: map[string]string{"X-Civic-Secret": csToken}})
	if code, msg, field := errorOf(t, rec); rec.Code != http.StatusBadRequest || code != "invalid" || field != "NetworkID" {
		t.Errorf("NUL in the device name: %d %s field %q (%s), want 400 naming it", rec.Code, code, field, msg)
	}
}
