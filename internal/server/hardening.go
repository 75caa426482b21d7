package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// apiPolicy is the Content-Security-Policy of every answer that does not
// set its own: JSON and files load nothing and may not be framed. The web
// dashboard sets its pages' policy (internal/web).
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// hstsHeader tells browsers to use HTTPS only for a year once they have
// seen civic over HTTPS.
const hstsHeader = "max-age=31536000; includeSubDomains"

// harden sets the security headers of every answer (pages, API, static
// files), HSTS when the request came over HTTPS, and makes every cookie a
// handler sets Secure on HTTPS requests, whichever package set it.
func (s *Server) harden(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", apiPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.isHTTPS(r) {
			h.Set("Strict-Transport-Security", hstsHeader)
			w = &secureCookies{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the client reached civic over HTTPS: directly,
// or through a trusted proxy that says so in X-Forwarded-Proto.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.fromTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto"))), "https")
}

// fromTrustedProxy reports whether r comes from an address of
// Config.TrustedProxies (or TrustProxy is on): only then are the
// X-Forwarded-* headers believed.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if s.cfg.TrustProxy {
		return true
	}
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return first
}

// secureCookies adds the Secure attribute to every Set-Cookie of the
// answer before its header goes out.
type secureCookies struct {
	http.ResponseWriter
	done bool
}

func (w *secureCookies) fix() {
	if w.done {
		return
	}
	w.done = true
	cs := w.Header().Values("Set-Cookie")
	for i, c := range cs {
		if !strings.Contains(strings.ToLower(c), "; secure") {
			cs[i] = c + "; Secure"
		}
	}
}

func (w *secureCookies) WriteHeader(code int) {
	w.fix()
	w.ResponseWriter.WriteHeader(code)
}

func (w *secureCookies) Write(b []byte) (int, error) {
	w.fix()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (SSE flushes).
func (w *secureCookies) Unwrap() http.ResponseWriter { return w.ResponseWriter }
