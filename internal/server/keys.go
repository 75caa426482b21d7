package server

import (
	"net/http"

	"github.com/civic-city/civic/internal/civic"
)

// newKey is the body of POST /api/v1/keys.
type newKey struct {
	Name   string        `json:"name"`
	Scopes []civic.Scope `json:"scopes"`
}

// createdKey is the answer to POST /api/v1/keys: the only time the secret
// is shown.
type createdKey struct {
	Key    civic.APIKey `json:"key"`
	Secret string       `json:"secret"`
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	keys, err := s.store.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []civic.APIKey{}
	}
	writeJSON(w, http.StatusOK, list[civic.APIKey]{Items: keys})
	return nil
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermManageAccess)
	if err != nil {
		return err
	}
	var in newKey
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	secret, k, err := s.auth.CreateAPIKey(r.Context(), in.Name, in.Scopes, actor(p))
	if err != nil {
		return err
	}
	scopes := ""
	for i, sc := range k.Scopes {
		if i > 0 {
			scopes += ","
		}
		scopes += string(sc)
	}
	s.audit(r, "key.create", "key/"+k.ID, "scopes "+scopes)
	w.Header().Set("Location", "/api/v1/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, createdKey{Key: k, Secret: secret})
	return nil
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	k, err := s.store.APIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

// handleRevokeKey revokes a key; it stays listed, with revoked_at set.
func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.auth.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "key.revoke", "key/"+id, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
