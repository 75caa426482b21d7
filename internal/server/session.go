package server

import (
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// login is the body of POST /api/v1/session.
type login struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// sessionAnswer is the answer to a successful login.
type sessionAnswer struct {
	User      civic.User `json:"user"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// handleLogin checks a name and password and sets the session cookie
// (HttpOnly, SameSite=Lax, Secure when configured). Attempts are limited
// per client address by the middleware.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	info := infoFrom(r.Context())
	var in login
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	token, sess, u, err := s.auth.Login(r.Context(), in.Name, in.Password)
	if err != nil {
		if civic.IsKind(err, civic.Unauthorized) {
			s.log.WarnContext(r.Context(), "login failed", "name", in.Name, "remote", info.clientIP, "request_id", info.id)
		}
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    token,
		Path:     "/",
		Expires:  s.auth.SessionEnd(sess),
		MaxAge:   int(s.auth.SessionEnd(sess).Sub(s.now()) / time.Second),
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
	// The request came in anonymous; the audit entry is the user's.
	r = r.WithContext(civic.WithPrincipal(r.Context(), civic.Principal{UserID: u.ID, Name: u.Name, Role: u.Role}))
	s.audit(r, "session.login", "user/"+u.Name, "")
	writeJSON(w, http.StatusOK, sessionAnswer{User: u, ExpiresAt: sess.ExpiresAt})
	return nil
}

// handleLogout ends the session of the cookie, if any, and clears the
// cookie. It succeeds without a session too.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(s.cfg.CookieName)
	if err == nil && c.Value != "" {
		if err := s.auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
		if p := principal(r); p.UserID != "" {
			s.audit(r, "session.logout", "user/"+p.Name, "")
		}
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// me is the answer to GET /api/v1/me.
type me struct {
	Kind        string             `json:"kind"` // "user" or "key"
	Name        string             `json:"name"`
	UserID      string             `json:"user_id,omitempty"`
	Role        civic.Role         `json:"role,omitempty"`
	KeyID       string             `json:"key_id,omitempty"`
	Scopes      []civic.Scope      `json:"scopes,omitempty"`
	Permissions []civic.Permission `json:"permissions"`
}

var allPermissions = []civic.Permission{
	civic.PermRead, civic.PermIngest, civic.PermWriteAssets, civic.PermOperate,
	civic.PermWorkRoute, civic.PermOpen311, civic.PermManageAccess, civic.PermReports,
}

// handleMe tells the caller who they are and what they may do.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.IsAnonymous() {
		return civic.Errorf(civic.Unauthorized, "authentication required")
	}
	out := me{Name: p.Name, UserID: p.UserID, Role: p.Role, KeyID: p.KeyID, Scopes: p.Scopes, Permissions: []civic.Permission{}}
	out.Kind = "user"
	if p.KeyID != "" {
		out.Kind = "key"
	}
	for _, perm := range allPermissions {
		if p.Can(perm) {
			out.Permissions = append(out.Permissions, perm)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
