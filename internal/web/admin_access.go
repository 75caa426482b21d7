package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// The users and API keys screens (PermManageAccess).

var roles = []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleCrew, civic.RoleAnalyst}

var scopes = []civic.Scope{civic.ScopeRead, civic.ScopeIngest, civic.ScopeOpen311, civic.ScopeAdmin}

// usersData is the users screen's model.
type usersData struct {
	Users []civic.User
	// SSO is the OpenID Connect issuer, by user id, of the users who sign
	// in through single sign-on: no password of theirs is used, and the
	// provider's claim sets their role at each sign-in.
	SSO     map[string]string
	Roles   []civic.Role
	Self    string // the caller's user id: they cannot demote or disable themselves
	Flash   string
	Error   string
	Enabled bool // the admin hooks are wired: users can be created
}

func (u *UI) adminUsers(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	u.renderUsers(w, r, p, http.StatusOK, r.URL.Query().Get("done"), "")
}

func (u *UI) renderUsers(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, flash, msg string) {
	users, err := u.deps.Store.ListUsers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	sso, err := u.deps.Store.UserIssuers(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := usersData{Users: users, SSO: sso, Roles: roles, Self: p.UserID, Flash: flash, Error: msg, Enabled: u.deps.Admin != nil && u.deps.Admin.AddUser != nil}
	u.render(w, r, status, "adminusers", "", pageData{Title: "Users and roles", Active: "/admin", Principal: p, Data: d})
}

// changeFailed re-shows a screen with err, or fails for unexpected errors.
func (u *UI) changeFailed(w http.ResponseWriter, r *http.Request, err error, show func(status int, msg string)) {
	if civic.KindOf(err) == civic.Internal {
		u.fail(w, r, err)
		return
	}
	show(httpStatusOf(err), fieldMessage(err))
}

func (u *UI) adminUserCreate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	show := func(status int, msg string) { u.renderUsers(w, r, p, status, "", msg) }
	if u.deps.Admin == nil || u.deps.Admin.AddUser == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Users cannot be created on this server's pages."))
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	nu := civic.User{Name: strings.TrimSpace(r.PostFormValue("name")), Role: civic.Role(r.PostFormValue("role")),
		DisplayName: strings.TrimSpace(r.PostFormValue("display_name")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if err := u.deps.Admin.AddUser(r.Context(), &nu, r.PostFormValue("password")); err != nil {
		u.changeFailed(w, r, err, show)
		return
	}
	u.audit(r, p, "user.create", "user/"+nu.Name, "role "+string(nu.Role))
	http.Redirect(w, r, "/admin/users?done="+url.QueryEscape("created "+nu.Name), http.StatusSeeOther)
}

// adminUserUpdate changes a user's role, whether they may sign in, and
// optionally their password.
func (u *UI) adminUserUpdate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	show := func(status int, msg string) { u.renderUsers(w, r, p, status, "", msg) }
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	usr, err := u.deps.Store.User(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	usr.Role = civic.Role(r.PostFormValue("role"))
	usr.Disabled = r.PostFormValue("disabled") != ""
	if usr.ID == p.UserID && (usr.Disabled || usr.Role != civic.RoleAdmin) {
		show(http.StatusBadRequest, "You cannot demote or disable yourself; ask another admin.")
		return
	}
	if err := usr.Validate(); err != nil {
		u.changeFailed(w, r, err, show)
		return
	}
	pw := r.PostFormValue("password")
	if pw != "" {
		sso, err := u.deps.Store.UserIssuers(r.Context())
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if _, ok := sso[usr.ID]; ok {
			show(http.StatusBadRequest, "password: "+usr.Name+" signs in through single sign-on, which does not use a password of theirs.")
			return
		}
	}
	if pw != "" && (u.deps.Admin == nil || u.deps.Admin.SetPassword == nil) {
		show(http.StatusServiceUnavailable, "Passwords cannot be set on this server's pages.")
		return
	}
	usr.UpdatedAt = u.now().UTC()
	if err := u.deps.Store.UpdateUser(r.Context(), &usr); err != nil {
		u.changeFailed(w, r, err, show)
		return
	}
	detail := "role " + string(usr.Role)
	if usr.Disabled {
		detail += ", disabled"
	}
	if pw != "" {
		if err := u.deps.Admin.SetPassword(r.Context(), usr.ID, pw); err != nil {
			u.changeFailed(w, r, err, show)
			return
		}
		detail += ", password"
	}
	u.audit(r, p, "user.update", "user/"+usr.Name, detail)
	http.Redirect(w, r, "/admin/users?done="+url.QueryEscape("saved "+usr.Name), http.StatusSeeOther)
}

// keysData is the API keys screen's model.
type keysData struct {
	Keys    []civic.APIKey
	Scopes  []civic.Scope
	Flash   string
	Error   string
	Enabled bool
	// NewKey and Secret: the key just made, whose secret is shown this
	// once.
	NewKey *civic.APIKey
	Secret string
}

func (u *UI) adminKeys(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	u.renderKeys(w, r, p, http.StatusOK, keysData{Flash: r.URL.Query().Get("done")})
}

func (u *UI) renderKeys(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, d keysData) {
	keys, err := u.deps.Store.ListAPIKeys(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	slices.SortStableFunc(keys, func(a, b civic.APIKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	d.Keys, d.Scopes = keys, scopes
	d.Enabled = u.deps.Admin != nil && u.deps.Admin.CreateAPIKey != nil && u.deps.Admin.RevokeAPIKey != nil
	// The secret is in this answer only: keep it out of caches.
	u.render(w, r, status, "adminkeys", "", pageData{Title: "API keys", Active: "/admin", Principal: p, Data: d})
}

func (u *UI) adminKeyCreate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if u.deps.Admin == nil || u.deps.Admin.CreateAPIKey == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "API keys cannot be made on this server's pages."))
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	var sc []civic.Scope
	for _, s := range r.PostForm["scope"] {
		sc = append(sc, civic.Scope(s))
	}
	secret, k, err := u.deps.Admin.CreateAPIKey(r.Context(), strings.TrimSpace(r.PostFormValue("name")), sc, actorOf(p))
	if err != nil {
		u.changeFailed(w, r, err, func(status int, msg string) { u.renderKeys(w, r, p, status, keysData{Error: msg}) })
		return
	}
	u.audit(r, p, "key.create", "key/"+k.ID, "scopes "+strings.Join(strs(k.Scopes), ","))
	u.renderKeys(w, r, p, http.StatusCreated, keysData{NewKey: &k, Secret: secret})
}

func (u *UI) adminKeyRevoke(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if u.deps.Admin == nil || u.deps.Admin.RevokeAPIKey == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "API keys cannot be revoked on this server's pages."))
		return
	}
	id := r.PathValue("id")
	if err := u.deps.Admin.RevokeAPIKey(r.Context(), id); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "key.revoke", "key/"+id, "admin page")
	http.Redirect(w, r, "/admin/keys?done="+url.QueryEscape("revoked "+id), http.StatusSeeOther)
}
