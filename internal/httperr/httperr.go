// Package httperr maps civic's error kinds to HTTP statuses: the one table
// both HTTP packages (internal/server, the JSON API, and internal/web, the
// pages) answer with. It lives apart from internal/civic because the domain
// knows nothing of HTTP, and apart from either HTTP package because
// adapters do not import each other.
package httperr

import (
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// Status is the HTTP status of an error of kind k; unknown kinds are
// internal errors.
func Status(k civic.Kind) int {
	switch k {
	case civic.Invalid:
		return http.StatusBadRequest
	case civic.NotFound:
		return http.StatusNotFound
	case civic.Conflict:
		return http.StatusConflict
	case civic.Unauthorized:
		return http.StatusUnauthorized
	case civic.Forbidden:
		return http.StatusForbidden
	case civic.Unavailable:
		return http.StatusServiceUnavailable
	case civic.TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}
