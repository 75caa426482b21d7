package server

import (
	"context"
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

type status struct {
	Status string `json:"status"`
}

// handleHealthz is the liveness probe: the process serves HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, status{Status: "ok"})
	return nil
}

// handleReadyz is the readiness probe: the store answers within 2 seconds.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready: store ping failed", "err", err)
		return civic.Wrap(civic.Unavailable, err, "the database is not answering")
	}
	writeJSON(w, http.StatusOK, status{Status: "ready"})
	return nil
}
