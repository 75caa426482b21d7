package web

import (
	"net/url"
	"strings"
)

// pagePolicy is the Content-Security-Policy of the dashboard's pages:
// scripts only from civic's own static files (no inline script, no inline
// event handlers, no eval), connections (fetch, SSE) only to civic, images
// from civic and the configured tile server, no framing by any site.
// Inline styles stay allowed: Leaflet and htmx position elements with
// them, and a style cannot run code. Handlers with stricter needs set
// their own (the stored simulation reports do).
func pagePolicy(tileURL string) string {
	img := "'self' data: blob:"
	if u, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(tileURL)); err == nil && u.Host != "" &&
		(u.Scheme == "https" || u.Scheme == "http") {
		img += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src " + img +
		"; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
		"frame-src 'self'; frame-ancestors 'none'"
}
