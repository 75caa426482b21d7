package server

import (
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// handleListAudit returns audit entries, newest first, filtered by actor,
// action and since (RFC 3339); limit defaults to 100, at most 1000.
func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	q := r.URL.Query()
	f := civic.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action")}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return civic.FieldError("since", "must be an RFC 3339 time")
		}
		f.Since = t.UTC()
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1, 1000); err != nil {
		return err
	}
	entries, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []civic.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, list[civic.AuditEntry]{Items: entries})
	return nil
}
