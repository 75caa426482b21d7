package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handlerAttr  = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	jsURL        = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*["']?\s*javascript:`)
	srcAttr      = regexp.MustCompile(`(?i)\ssrc\s*=`)
	jsonDataType = regexp.MustCompile(`(?i)\stype\s*=\s*"application/(ld\+)?json"`)
)

// TestPagesHaveNoInlineScript renders every page a supervisor and a crew
// member see and checks the class the Content-Security-Policy forbids: no
// inline <script> (JSON data blocks aside, which never run), no on*=
// handlers, no javascript: URLs; and every page carries the policy with
// script-src 'self' and frame-ancestors 'none'. The browser tests then run
// the pages under that policy.
func TestPagesHaveNoInlineScript(t *testing.T) {
	f := newFixture(t, fixtureOpts{bins: 8, planning: true})
	id := f.binID(0)
	for _, c := range []struct{ user, path string }{
		{"", "/login"},
		{"super", "/"}, {"super", "/bins/" + id}, {"super", "/fleet"}, {"super", "/alerts"},
		{"super", "/plans"}, {"super", "/kpi"}, {"super", "/simulations"}, {"super", "/map/list"},
		{"crew1", "/crew"},
	} {
		res, body := f.get(f.client(c.user), c.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s as %q: %d", c.path, c.user, res.StatusCode)
			continue
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
		for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
			if !srcAttr.MatchString(m[1]) && !jsonDataType.MatchString(m[1]) && strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s has an inline script: %.120s", c.path, m[0])
			}
		}
		if m := handlerAttr.FindString(body); m != "" {
			t.Errorf("%s has an inline event handler: %.120s", c.path, m)
		}
		if m := jsURL.FindString(body); m != "" {
			t.Errorf("%s has a javascript: URL: %s", c.path, m)
		}
	}
	// The policy names the tile server, and nothing else, for images.
	if p := pagePolicy("https://tile.openstreetmap.org/{z}/{x}/{y}.png"); !strings.Contains(p, "img-src 'self' data: blob: https://tile.openstreetmap.org;") {
		t.Errorf("policy with tiles: %s", p)
	}
	if p := pagePolicy(""); !strings.Contains(p, "img-src 'self' data: blob:;") {
		t.Errorf("policy without tiles: %s", p)
	}
}
