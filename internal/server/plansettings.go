package server

import (
	"context"
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// handleGetPlanSettings returns the planner's thresholds: defaults, per
// stream and per zone and stream.
func (s *Server) handleGetPlanSettings(w http.ResponseWriter, r *http.Request) error {
	return readPlans(s, w, r, func(ctx context.Context, ps civic.PlanStore) (civic.PlanSettings, error) {
		return ps.PlanSettings(ctx)
	})
}

// handlePutPlanSettings replaces the planner's settings whole; the next
// plan, on any node, uses them.
func (s *Server) handlePutPlanSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	var settings civic.PlanSettings
	if err := decodeJSON(r, &settings); err != nil {
		return err
	}
	settings.UpdatedBy = actor(p)
	if err := ps.SetPlanSettings(r.Context(), &settings); err != nil {
		return err
	}
	s.audit(r, "plan_settings.update", "plan-settings", "")
	stored, err := ps.PlanSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored)
	return nil
}
