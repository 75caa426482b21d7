package server

// Patterns returns the ServeMux patterns of every route the server
// registers, the catch-all for the pages included: the access-control test
// checks each against its table.
func (s *Server) Patterns() []string {
	var ps []string
	for _, r := range s.routes() {
		ps = append(ps, r.pattern)
	}
	return ps
}
