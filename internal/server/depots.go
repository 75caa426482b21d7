package server

import "github.com/civic-city/civic/internal/civic"

// depots serves /api/v1/depots: where trucks start and end their shifts.
func (s *Server) depots() *resource[civic.Depot] {
	st := s.store
	return &resource[civic.Depot]{
		s: s, name: "depot",
		list: st.ListDepots, get: st.Depot, create: st.CreateDepot, update: st.UpdateDepot, delete: st.DeleteDepot,
		id: func(d *civic.Depot) *string { return &d.ID },
	}
}
