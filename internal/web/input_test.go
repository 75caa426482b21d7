package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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

// TestLiveStreamsPerUser: one user cannot take every live-update slot; the
// cap is per user and per stream, and a closed stream frees its slot.
func TestLiveStreamsPerUser(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 4, config: Config{MaxLiveClients: 100, MaxLiveClientsPerUser: 2}})
	open := func(user, path string) (*http.Response, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
		res, err := f.client(user).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res, func() { cancel(); res.Body.Close() }
	}
	for _, path := range []string{"/events", "/alerts/events"} {
		a, closeA := open("super", path)
		b, closeB := open("super", path)
		c, closeC := open("super", path)
		other, closeOther := open("analyst1", path)
		if a.StatusCode != 200 || b.StatusCode != 200 {
			t.Fatalf("%s: the first two streams of a user: %d %d", path, a.StatusCode, b.StatusCode)
		}
		if c.StatusCode != http.StatusServiceUnavailable || c.Header.Get("Retry-After") == "" {
			t.Errorf("%s: a third stream of the same user: %d, want 503 with Retry-After", path, c.StatusCode)
		}
		if other.StatusCode != 200 {
			t.Errorf("%s: another user's stream: %d, want 200", path, other.StatusCode)
		}
		closeA()
		var d *http.Response
		var closeD func()
		for range 50 { // the server notices the closed stream shortly
			d, closeD = open("super", path)
			if d.StatusCode == 200 {
				break
			}
			closeD()
			time.Sleep(20 * time.Millisecond)
		}
		if d.StatusCode != 200 {
			t.Errorf("%s: a slot freed by a closed stream is not reusable: %d", path, d.StatusCode)
		}
		closeB()
		closeC()
		closeD()
		closeOther()
	}
}

// FuzzSafeNext: whatever next is, the redirect stays on this site: a path
// with no scheme, no host, no control characters, spaces or backslashes,
// not starting with "//".
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/fleet?x=1", "//evil", "/\t/evil.example", `/\evil`, "https://evil", "/%09/x", "javascript:alert(1)", "/\u0085/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\n\r ") {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeNext(%q) = %q parses to host %q scheme %q (%v)", next, got, u.Host, u.Scheme, err)
		}
		for _, c := range got {
			if c < ' ' || c == 0x7f || (c >= 0x80 && c <= 0x9f) {
				t.Fatalf("safeNext(%q) = %q holds control character %U", next, got, c)
			}
		}
	})
}
