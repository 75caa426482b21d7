package server_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/server"
)

// TestSecurityHeaders: every answer carries the security headers; HSTS and
// Secure cookies come with HTTPS, direct or reported by a trusted proxy,
// and never on the word of any other client.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, server.Config{LoginRate: rate.Inf, AnonymousRate: rate.Inf,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	login := func(remote string, tlsOn bool, proto string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"name":"admin1","password":"password for admin"}`))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = remote
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("login from %s: %d %s", remote, rec.Code, rec.Body)
		}
		return rec
	}
	for _, c := range []struct {
		name   string
		remote string
		tls    bool
		proto  string
		https  bool
	}{
		{"plain HTTP", "192.0.2.1:5000", false, "", false},
		{"TLS", "192.0.2.1:5000", true, "", true},
		{"trusted proxy says https", "10.1.2.3:5000", false, "https", true},
		{"trusted proxy says http", "10.1.2.3:5000", false, "http", false},
		{"untrusted client says https", "192.0.2.1:5000", false, "https", false},
	} {
		rec := login(c.remote, c.tls, c.proto)
		h := rec.Header()
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
		} {
			if h.Get(k) != want {
				t.Errorf("%s: %s = %q, want %q", c.name, k, h.Get(k), want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", c.name, csp)
		}
		if got := h.Get("Strict-Transport-Security") != ""; got != c.https {
			t.Errorf("%s: HSTS sent %v, want %v", c.name, got, c.https)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Secure != c.https {
			t.Errorf("%s: cookies %+v, want one with Secure %v", c.name, cookies, c.https)
		}
	}
}
