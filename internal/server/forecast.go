package server

import (
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// handleBinForecast answers GET /api/v1/bins/{id}/forecast: when the bin
// is expected to reach its full threshold, with a P10-P90 band. It needs
// the read permission; it answers 404 for an unknown bin or one without a
// fill reading, and 503 while the forecast model is still training or when
// this server runs no forecaster.
func (s *Server) handleBinForecast(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	if s.forecast == nil {
		return civic.Errorf(civic.Unavailable, "forecasts are not enabled on this server")
	}
	id := r.PathValue("id")
	if err := civic.ValidateID("id", id); err != nil {
		return civic.Errorf(civic.NotFound, "no bin %q", id)
	}
	f, err := s.forecast.Forecast(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}
