package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func TestParseRoleMappings(t *testing.T) {
	got, err := ParseRoleMappings(" civic-admins=admin, ops = supervisor,drivers=crew,,")
	if err != nil {
		t.Fatal(err)
	}
	want := []RoleMapping{{"civic-admins", civic.RoleAdmin}, {"ops", civic.RoleSupervisor}, {"drivers", civic.RoleCrew}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRoleMappings = %v, want %v", got, want)
	}
	for _, bad := range []string{"", " , ", "admins", "=admin", "admins=root", "admins=admin,ops"} {
		if _, err := ParseRoleMappings(bad); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != "oidc-roles" {
			t.Errorf("ParseRoleMappings(%q) = %v, want Invalid naming oidc-roles", bad, err)
		}
	}
}

// TestOIDCRole: the first mapping the claim holds decides, whatever order
// the provider lists groups in; a string claim, a nested claim and a
// claim of another type are read as documented; nothing maps to nothing.
func TestOIDCRole(t *testing.T) {
	s := New(newMem(), Options{Params: TestParams})
	roles := []RoleMapping{{"admins", civic.RoleAdmin}, {"ops", civic.RoleSupervisor}}
	mk := func(claim string) *OIDC {
		o, err := s.NewOIDC(OIDCOptions{Issuer: "https://id.example", ClientID: "c", RedirectURL: "https://civic.example/login/oidc/callback", RoleClaim: claim, Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	for _, tc := range []struct {
		claim  string
		claims map[string]any
		want   civic.Role
	}{
		{"groups", map[string]any{"groups": []any{"staff", "ops", "admins"}}, civic.RoleAdmin},
		{"groups", map[string]any{"groups": []any{"ops"}}, civic.RoleSupervisor},
		{"groups", map[string]any{"groups": "ops"}, civic.RoleSupervisor},
		{"groups", map[string]any{"groups": []any{"Admins", "admin", 7}}, ""},
		{"groups", map[string]any{"groups": map[string]any{"admins": true}}, ""},
		{"groups", map[string]any{"roles": []any{"admins"}}, ""},
		{"realm_access.roles", map[string]any{"realm_access": map[string]any{"roles": []any{"ops"}}}, civic.RoleSupervisor},
		{"realm_access.roles", map[string]any{"realm_access": "ops"}, ""},
		{"https://city.example/roles", map[string]any{"https://city.example/roles": []any{"admins"}}, civic.RoleAdmin},
	} {
		got, ok := mk(tc.claim).role(tc.claims)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("role(%s in %v) = %q, %t; want %q", tc.claim, tc.claims, got, ok, tc.want)
		}
	}
}

func TestNewOIDCChecksOptions(t *testing.T) {
	s := New(newMem(), Options{Params: TestParams})
	good := OIDCOptions{Issuer: "https://id.example", ClientID: "c", RedirectURL: "https://civic.example/login/oidc/callback", Roles: []RoleMapping{{"a", civic.RoleAdmin}}}
	o, err := s.NewOIDC(good)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name() != "id.example" {
		t.Errorf("Name() = %q, want the issuer's host", o.Name())
	}
	for field, change := range map[string]func(*OIDCOptions){
		"oidc-issuer":       func(o *OIDCOptions) { o.Issuer = "id.example" },
		"oidc-client-id":    func(o *OIDCOptions) { o.ClientID = "" },
		"oidc-redirect-url": func(o *OIDCOptions) { o.RedirectURL = "/login/oidc/callback" },
		"oidc-roles":        func(o *OIDCOptions) { o.Roles = nil },
	} {
		opts := good
		change(&opts)
		if _, err := s.NewOIDC(opts); civic.FieldOf(err) != field {
			t.Errorf("bad %s: %v", field, err)
		}
	}
}

func TestLoginName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                "alice",
		"Alice.Smith@city.gov": "Alice.Smith-city.gov",
		"--x":                  "x",
		"josé":                 "jos-",
		"   ":                  "",
		"---":                  "",
	} {
		if got := loginName(in); got != want {
			t.Errorf("loginName(%q) = %q, want %q", in, got, want)
		}
		if got := loginName(in); got != "" && civic.ValidateID("name", got) != nil {
			t.Errorf("loginName(%q) = %q, not a valid name", in, got)
		}
	}
}

// TestPasswordLoginWithoutPassword: a user made by single sign-on has no
// password hash; a password login for them is refused like a wrong
// password, not an internal error.
func TestPasswordLoginWithoutPassword(t *testing.T) {
	m := newMem()
	s := New(m, Options{Params: TestParams})
	u := civic.User{ID: "u-1", Name: "sso-user", Role: civic.RoleAdmin}
	if err := m.CreateUserWithIdentity(context.Background(), &u, "https://id.example", "sub"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Login(context.Background(), "sso-user", ""); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("empty password: %v, want Unauthorized", err)
	}
	if _, _, _, err := s.Login(context.Background(), "sso-user", "any password at all"); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("a password: %v, want Unauthorized", err)
	}
}

// TestOIDCProviderDown: Begin fails with Unavailable while the provider
// cannot be reached, without asking it again within discoveryRetry, and
// works once it answers.
func TestOIDCProviderDown(t *testing.T) {
	var calls atomic.Int32
	var up atomic.Bool
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q}`,
			srv.URL, srv.URL+"/authorize", srv.URL+"/token", srv.URL+"/jwks")
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := New(newMem(), Options{Params: TestParams, Now: func() time.Time { return now }})
	o, err := s.NewOIDC(OIDCOptions{Issuer: srv.URL, ClientID: "c", RedirectURL: "https://civic.example/login/oidc/callback", Roles: []RoleMapping{{"a", civic.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := o.Begin(context.Background()); !civic.IsKind(err, civic.Unavailable) {
			t.Fatalf("Begin with the provider down: %v, want Unavailable", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the provider was asked %d times within %s, want 1", n, discoveryRetry)
	}
	up.Store(true)
	now = now.Add(discoveryRetry)
	authURL, flow, err := o.Begin(context.Background())
	if err != nil {
		t.Fatalf("Begin with the provider up: %v", err)
	}
	f := decodeFlow(flow)
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Path != "/authorize" || q.Get("state") != f.State || q.Get("nonce") != f.Nonce || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || strings.Contains(authURL, f.Verifier) || q.Get("client_id") != "c" || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorization URL %s for flow %+v", authURL, f)
	}
	if _, _, _, err := o.Finish(context.Background(), flow, "other", "code"); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("Finish with another state: %v, want Invalid", err)
	}
	if _, _, _, err := o.Finish(context.Background(), "garbage", "", "code"); !civic.IsKind(err, civic.Invalid) {
		t.Errorf("Finish without a flow: %v, want Invalid", err)
	}
}
