package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFormTextClass posts NULs, invalid UTF-8 and overlong values to the
// login form and a signed-in form: each is a 400 naming the field, before
// any handler runs, and no session is made.
func TestFormTextClass(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 4})
	for _, c := range []struct {
		name, user, path string
		form             url.Values
		field            string
	}{
		{"login name with NUL", "", "/login", url.Values{"name": {"super\x00"}, "password": {testPassword}}, "name"},
		{"login password with NUL", "", "/login", url.Values{"name": {"super"}, "password": {testPassword + "\x00"}}, "password"},
		{"login next not UTF-8", "", "/login", url.Values{"name": {"super"}, "password": {testPassword}, "next": {"/\xff"}}, "next"},
		{"login name of a megabyte", "", "/login", url.Values{"name": {strings.Repeat("n", 60<<10)}, "password": {"x"}}, "name"},
		{"alert note with NUL", "super", "/alerts/1/resolve", url.Values{"note": {"a\x00b"}}, "note"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := f.client(c.user).PostForm(f.srv.URL+c.path, c.form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "&#34;"+c.field+"&#34;") {
				t.Errorf("status %d, want 400 naming %q:\n%s", res.StatusCode, c.field, body)
			}
			if len(res.Cookies()) != 0 {
				t.Errorf("cookies set: %v", res.Cookies())
			}
		})
	}
}
