package server

import (
	"errors"

	"github.com/civic-city/civic/internal/civic"
)

// zones serves /api/v1/zones: areas of the city with GeoJSON boundaries.
func (s *Server) zones() *resource[civic.Zone] {
	st := s.store
	return &resource[civic.Zone]{
		s: s, name: "zone",
		list: st.ListZones, get: st.Zone, create: st.CreateZone, update: st.UpdateZone, delete: st.DeleteZone,
		id: func(z *civic.Zone) *string { return &z.ID },
		// The boundary decodes itself and names fields relative to the
		// geometry; its errors are the only civic errors decoding a zone
		// returns.
		decodeErr: func(err error) error {
			var ce *civic.Error
			if errors.As(err, &ce) {
				return civic.PrefixField("boundary", err)
			}
			return err
		},
	}
}
