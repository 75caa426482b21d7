package server

import (
	"net/http"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
)

// newUser is the body of POST /api/v1/users.
type newUser struct {
	Name        string     `json:"name"`
	Role        civic.Role `json:"role"`
	Password    string     `json:"password"`
	DisplayName string     `json:"display_name"`
	Email       string     `json:"email"`
}

// userPatch is the body of PATCH /api/v1/users/{id}: fields present change.
type userPatch struct {
	Role        *civic.Role `json:"role"`
	Disabled    *bool       `json:"disabled"`
	DisplayName *string     `json:"display_name"`
	Email       *string     `json:"email"`
	Password    *string     `json:"password"`
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	if users == nil {
		users = []civic.User{}
	}
	writeJSON(w, http.StatusOK, list[civic.User]{Items: users})
	return nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	var in newUser
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u := civic.User{Name: in.Name, Role: in.Role, DisplayName: in.DisplayName, Email: in.Email}
	if err := s.auth.AddUser(r.Context(), &u, in.Password); err != nil {
		return err
	}
	s.audit(r, "user.create", "user/"+u.Name, "role "+string(u.Role))
	u, err := s.store.User(r.Context(), u.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	u, err := s.store.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// handlePatchUser changes a user's role, state, names or password. Admins
// cannot demote or disable themselves, so the last admin cannot lock
// everyone out by mistake.
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermManageAccess)
	if err != nil {
		return err
	}
	var in userPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.store.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if in.Password != nil {
		if err := auth.CheckPassword(*in.Password); err != nil {
			return err
		}
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if in.DisplayName != nil {
		u.DisplayName = *in.DisplayName
	}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if u.ID == p.UserID && (u.Disabled || u.Role != civic.RoleAdmin) {
		return civic.FieldError("role", "you cannot demote or disable yourself; ask another admin")
	}
	if err := u.Validate(); err != nil {
		return err
	}
	u.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateUser(r.Context(), &u); err != nil {
		return err
	}
	if in.Password != nil {
		if err := s.auth.SetPassword(r.Context(), u.ID, *in.Password); err != nil {
			return err
		}
	}
	s.audit(r, "user.update", "user/"+u.Name, userChanges(in))
	u, err = s.store.User(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// userChanges describes a patch for the audit log, without the password.
func userChanges(in userPatch) string {
	var d string
	add := func(s string) {
		if d != "" {
			d += ", "
		}
		d += s
	}
	if in.Role != nil {
		add("role " + string(*in.Role))
	}
	if in.Disabled != nil {
		if *in.Disabled {
			add("disabled")
		} else {
			add("enabled")
		}
	}
	if in.DisplayName != nil || in.Email != nil {
		add("profile")
	}
	if in.Password != nil {
		add("password")
	}
	return d
}
