package civic

import (
	"slices"
	"strings"
	"time"
)

// Role is what a user does in civic; it decides what they may change.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"      // everything, including users, keys and settings
	RoleSupervisor Role = "supervisor" // assets, plans, alerts, service requests
	RoleCrew       Role = "crew"       // their routes and stops; report problems
	RoleAnalyst    Role = "analyst"    // read everything, change nothing
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleCrew, RoleAnalyst:
		return true
	}
	return false
}

// User is a person who logs in to civic.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"` // login name
	DisplayName  string    `json:"display_name,omitempty"`
	Email        string    `json:"email,omitempty"`
	Role         Role      `json:"role"`
	Disabled     bool      `json:"disabled"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Validate checks u (not the password).
func (u *User) Validate() error {
	if err := ValidateID("name", u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return FieldError("role", "must be one of admin, supervisor, crew, analyst")
	}
	if u.Email != "" && (!strings.Contains(u.Email, "@") || len(u.Email) > 254) {
		return FieldError("email", "is not an e-mail address")
	}
	return nil
}

// Scope is what an API key may be used for.
type Scope string

// The API key scopes.
const (
	ScopeIngest  Scope = "ingest"  // send readings
	ScopeRead    Scope = "read"    // read the API
	ScopeOpen311 Scope = "open311" // post service requests as an Open311 client
	ScopeAdmin   Scope = "admin"   // everything an admin user may do
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool {
	switch s {
	case ScopeIngest, ScopeRead, ScopeOpen311, ScopeAdmin:
		return true
	}
	return false
}

// APIKey lets a program call civic. Only a hash of the secret is stored; the
// secret is shown once when the key is made.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []Scope    `json:"scopes"`
	Hash       string     `json:"-"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Validate checks k.
func (k *APIKey) Validate() error {
	if err := ValidateID("id", k.ID); err != nil {
		return err
	}
	if len(k.Scopes) == 0 {
		return FieldError("scopes", "at least one scope is required")
	}
	for _, s := range k.Scopes {
		if !s.Valid() {
			return FieldError("scopes", "unknown scope %q (ingest, read, open311, admin)", s)
		}
	}
	return nil
}

// Session is a logged-in browser. Only a hash of its token is stored.
type Session struct {
	TokenHash string    `json:"-"`
	UserID    string    `json:"user_id"`
	CSRFToken string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Principal is who is calling: a logged-in user or an API key.
type Principal struct {
	UserID string  // set for users
	Name   string  // user name or key name, for the audit log
	Role   Role    // set for users
	KeyID  string  // set for API keys
	Scopes []Scope // set for API keys
}

// Anonymous is the principal of an unauthenticated caller (residents on the
// public pages and Open311).
var Anonymous = Principal{Name: "anonymous"}

// IsAnonymous reports whether p is nobody in particular.
func (p Principal) IsAnonymous() bool { return p.UserID == "" && p.KeyID == "" }

// Permission is an action guarded by roles and scopes.
type Permission string

// The permissions civic checks.
const (
	PermRead         Permission = "read"          // read internal data (assets, readings, alerts)
	PermIngest       Permission = "ingest"        // send readings
	PermWriteAssets  Permission = "write_assets"  // create, change, delete, import assets
	PermOperate      Permission = "operate"       // plans, alerts, service-request workflow
	PermWorkRoute    Permission = "work_route"    // crews: check off stops, report problems
	PermOpen311      Permission = "open311"       // submit service requests as a client
	PermManageAccess Permission = "manage_access" // users, keys, audit log
	// PermReports reads the leadership reports: KPIs and stored what-if
	// simulations. Crews, who read the map to work, do not need them.
	PermReports Permission = "reports"
)

var rolePerms = map[Role][]Permission{
	RoleAdmin:      {PermRead, PermIngest, PermWriteAssets, PermOperate, PermWorkRoute, PermOpen311, PermManageAccess, PermReports},
	RoleSupervisor: {PermRead, PermWriteAssets, PermOperate, PermWorkRoute, PermOpen311, PermReports},
	RoleCrew:       {PermRead, PermWorkRoute, PermOpen311},
	RoleAnalyst:    {PermRead, PermReports},
}

var scopePerms = map[Scope][]Permission{
	ScopeAdmin:   {PermRead, PermIngest, PermWriteAssets, PermOperate, PermWorkRoute, PermOpen311, PermManageAccess, PermReports},
	ScopeRead:    {PermRead, PermReports},
	ScopeIngest:  {PermIngest},
	ScopeOpen311: {PermOpen311},
}

// Can reports whether p holds permission perm.
func (p Principal) Can(perm Permission) bool {
	if p.KeyID != "" {
		for _, s := range p.Scopes {
			if slices.Contains(scopePerms[s], perm) {
				return true
			}
		}
		return false
	}
	if p.UserID != "" {
		return slices.Contains(rolePerms[p.Role], perm)
	}
	return false
}

// CrewOnly reports whether p works routes without running the plans: a
// crew member. Such callers see and report only their own crews' routes,
// never a whole plan.
func (p Principal) CrewOnly() bool { return p.Can(PermWorkRoute) && !p.Can(PermOperate) }

// Require returns nil if p holds perm, Unauthorized for an anonymous caller
// and Forbidden otherwise.
func (p Principal) Require(perm Permission) error {
	if p.Can(perm) {
		return nil
	}
	if p.IsAnonymous() {
		return Errorf(Unauthorized, "authentication required")
	}
	return Errorf(Forbidden, "%s may not %s", p.Name, strings.ReplaceAll(string(perm), "_", " "))
}

// AuditEntry records who changed what.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // user or key name
	Action string    `json:"action"` // e.g. "bin.create", "key.revoke"
	Target string    `json:"target"` // e.g. "bin/B-0001"
	Detail string    `json:"detail,omitempty"`
	Remote string    `json:"remote,omitempty"` // client address
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Action string
	Since  time.Time
	Limit  int
}
