package server

import (
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// handleKPIs answers the leadership KPIs by week and zone: ?from=&to=
// (local dates, both included; by default the eight weeks up to
// yesterday), ?zone=. Analysts, supervisors, admins and read keys.
func (s *Server) handleKPIs(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermReports); err != nil {
		return err
	}
	if s.kpis == nil {
		return civic.Errorf(civic.Unavailable, "KPIs are not enabled on this server")
	}
	q := r.URL.Query()
	kq := civic.KPIQuery{From: q.Get("from"), To: q.Get("to"), Zone: q.Get("zone"), Location: s.loc}
	if err := kq.Normalize(s.now()); err != nil {
		return err
	}
	rep, err := s.kpis.KPIs(r.Context(), kq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
