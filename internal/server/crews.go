package server

import "github.com/civic-city/civic/internal/civic"

// crews serves /api/v1/crews: the teams that work the trucks' routes.
func (s *Server) crews() *resource[civic.Crew] {
	st := s.store
	return &resource[civic.Crew]{
		s: s, name: "crew",
		list: st.ListCrews, get: st.Crew, create: st.CreateCrew, update: st.UpdateCrew, delete: st.DeleteCrew,
		id: func(c *civic.Crew) *string { return &c.ID },
		prepare: func(_, c *civic.Crew) {
			if c.Members == nil {
				c.Members = []string{}
			}
		},
	}
}
