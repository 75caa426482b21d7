package server

import (
	"context"

	"github.com/civic-city/civic/internal/civic"
)

// facilities serves /api/v1/facilities: where trucks unload (transfer
// stations, recycling centres, landfills, composting sites).
func (s *Server) facilities() *resource[civic.Facility] {
	return &resource[civic.Facility]{
		s: s, name: "facility",
		list: func(ctx context.Context) ([]civic.Facility, error) {
			ps, err := s.planStore()
			if err != nil {
				return nil, err
			}
			return ps.ListFacilities(ctx)
		},
		get: func(ctx context.Context, id string) (civic.Facility, error) {
			ps, err := s.planStore()
			if err != nil {
				return civic.Facility{}, err
			}
			return ps.Facility(ctx, id)
		},
		create: func(ctx context.Context, f *civic.Facility) error {
			ps, err := s.planStore()
			if err != nil {
				return err
			}
			return ps.CreateFacility(ctx, f)
		},
		update: func(ctx context.Context, f *civic.Facility) error {
			ps, err := s.planStore()
			if err != nil {
				return err
			}
			return ps.UpdateFacility(ctx, f)
		},
		delete: func(ctx context.Context, id string) error {
			ps, err := s.planStore()
			if err != nil {
				return err
			}
			return ps.DeleteFacility(ctx, id)
		},
		id: func(f *civic.Facility) *string { return &f.ID },
	}
}

// planStore returns the plan store, or Unavailable when the server has
// none.
func (s *Server) planStore() (civic.PlanStore, error) {
	if s.plans == nil {
		return nil, civic.Errorf(civic.Unavailable, "planning is not enabled on this server")
	}
	return s.plans, nil
}

// planService returns the planner, or Unavailable when the server has none.
func (s *Server) planService() (civic.Planner, error) {
	if s.planner == nil || s.plans == nil {
		return nil, civic.Errorf(civic.Unavailable, "planning is not enabled on this server")
	}
	return s.planner, nil
}
