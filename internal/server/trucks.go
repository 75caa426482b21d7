package server

import "github.com/civic-city/civic/internal/civic"

// trucks serves /api/v1/trucks: the collection fleet.
func (s *Server) trucks() *resource[civic.Truck] {
	st := s.store
	return &resource[civic.Truck]{
		s: s, name: "truck",
		list: st.ListTrucks, get: st.Truck, create: st.CreateTruck, update: st.UpdateTruck, delete: st.DeleteTruck,
		id:      func(t *civic.Truck) *string { return &t.ID },
		prepare: func(_, t *civic.Truck) { t.Normalize() },
	}
}
