package server

// opendataRoutes mounts the open data portal (Deps.OpenData): public,
// behind the same middleware as everything else (anonymous callers count
// against the per-address rate limit). Without a portal the paths fall
// through to the dashboard, which answers 404.
func (s *Server) opendataRoutes() []route {
	if s.openData == nil {
		return nil
	}
	return []route{
		{"GET /data.json", s.openData},
		{"GET /data/{file}", s.openData},
		{"GET /data/{name}/{file}", s.openData},
		{"GET /ngsi-ld/", s.openData},
	}
}
