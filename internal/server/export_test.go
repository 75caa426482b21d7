package server

import "net/http"

// RoutePatterns returns the patterns of the route table.
func (s *Server) RoutePatterns() []string {
	var ps []string
	for _, r := range s.routes() {
		ps = append(ps, r.pattern)
	}
	return ps
}

// HandleTest adds a route the way routes.go does, for tests that need a
// handler of their own (one that panics, say).
func (s *Server) HandleTest(pattern string, f func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.Handle(pattern, s.track(s.api(f)))
}

// OpenAPIDocument returns the embedded OpenAPI document.
func OpenAPIDocument() []byte { return openapiJSON }

// CheckStrings is checkStrings, for its unit test.
func CheckStrings(v any) error { return checkStrings(v) }
