package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/civic-city/civic/internal/civic"
)

// OIDCOptions configures single sign-on through an OpenID Connect provider
// (Keycloak, Microsoft Entra ID, Okta, Google Workspace, Authentik, ...).
type OIDCOptions struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration". Required.
	Issuer string
	// ClientID and ClientSecret are civic's registration at the provider.
	// The secret may be empty for a public client (PKCE protects the code
	// either way).
	ClientID     string
	ClientSecret string
	// RedirectURL is civic's callback, registered at the provider:
	// https://civic.example.org/login/oidc/callback. Required.
	RedirectURL string
	// Name is the provider as the login page names it ("Sign in with
	// Name"); the issuer's host by default.
	Name string
	// RoleClaim is the ID token claim that decides a user's role, a string
	// or a list of strings; "groups" by default. A name with dots that is
	// not a claim of its own is a path into nested objects
	// ("realm_access.roles").
	RoleClaim string
	// Roles maps values of RoleClaim to civic roles. The first mapping
	// whose value the claim holds decides; a user whose claim holds none
	// is refused. Required: nobody gets a role by default.
	Roles []RoleMapping
	// Scopes are requested besides "openid"; "profile" and "email" by
	// default.
	Scopes []string
	// HTTPClient talks to the provider; one with a 10-second timeout by
	// default.
	HTTPClient *http.Client
}

// RoleMapping gives a civic role to the users whose role claim holds
// Value.
type RoleMapping struct {
	Value string
	Role  civic.Role
}

// ParseRoleMappings reads "value=role,value=role" (e.g.
// "civic-admins=admin,dispatch=supervisor"). Values may not hold '=' or
// ','; roles must be civic roles. It fails with Invalid naming field
// "oidc-roles".
func ParseRoleMappings(s string) ([]RoleMapping, error) {
	var out []RoleMapping
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		value, role, ok := strings.Cut(part, "=")
		value, role = strings.TrimSpace(value), strings.TrimSpace(role)
		if !ok || value == "" {
			return nil, civic.FieldError("oidc-roles", "%q is not value=role", part)
		}
		if !civic.Role(role).Valid() {
			return nil, civic.FieldError("oidc-roles", "%q: role %q is not one of admin, supervisor, crew, analyst", part, role)
		}
		out = append(out, RoleMapping{Value: value, Role: civic.Role(role)})
	}
	if len(out) == 0 {
		return nil, civic.FieldError("oidc-roles", "map at least one claim value to a role, e.g. civic-admins=admin")
	}
	return out, nil
}

// OIDC signs users in through an OpenID Connect provider with the
// authorization code flow, PKCE (S256), state and nonce. The ID token's
// signature (the provider's JWKS), issuer, audience and expiry are checked
// by go-oidc. A person is known by the token's issuer and subject: the
// first login makes a civic user linked to them, and every login sets the
// user's role from the role claim, so a change at the provider takes
// effect at the next login. The civic session is the same as a password
// login's (idle and absolute expiry, ended when the user is disabled).
//
// The provider's discovery document is read at the first login, not at
// start-up, so civic starts while the provider is down; a failed read is
// retried at the next login.
type OIDC struct {
	svc  *Service
	opts OIDCOptions

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
	// failedAt and failure are the last failed discovery: logins fail
	// fast for discoveryRetry after it rather than each waiting for an
	// unreachable provider.
	failedAt time.Time
	failure  error
}

const discoveryRetry = 5 * time.Second

// NewOIDC returns single sign-on through the provider of opts, opening
// sessions of s. It checks opts without contacting the provider and fails
// with Invalid naming the option ("oidc-issuer", "oidc-client-id",
// "oidc-redirect-url", "oidc-roles").
func (s *Service) NewOIDC(opts OIDCOptions) (*OIDC, error) {
	iss, err := url.Parse(opts.Issuer)
	if opts.Issuer == "" || err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" {
		return nil, civic.FieldError("oidc-issuer", "must be the provider's issuer URL, https://...")
	}
	if opts.ClientID == "" {
		return nil, civic.FieldError("oidc-client-id", "is required with an issuer")
	}
	red, err := url.Parse(opts.RedirectURL)
	if opts.RedirectURL == "" || err != nil || (red.Scheme != "https" && red.Scheme != "http") || red.Host == "" {
		return nil, civic.FieldError("oidc-redirect-url", "must be an absolute URL of civic's /login/oidc/callback")
	}
	if len(opts.Roles) == 0 {
		return nil, civic.FieldError("oidc-roles", "map at least one claim value to a role, e.g. civic-admins=admin")
	}
	if opts.Name == "" {
		opts.Name = iss.Host
	}
	if opts.RoleClaim == "" {
		opts.RoleClaim = "groups"
	}
	if opts.Scopes == nil {
		opts.Scopes = []string{"profile", "email"}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{svc: s, opts: opts}, nil
}

// Name is the provider as the login page names it.
func (o *OIDC) Name() string { return o.opts.Name }

// oidcFlow is what the browser keeps between Begin and Finish (in a
// short-lived cookie): the state, the nonce and the PKCE verifier, each
// 256 random bits. Whoever does not hold it cannot complete a login
// started elsewhere, and a code stolen on the way back is useless without
// the verifier.
type oidcFlow struct {
	State, Nonce, Verifier string
}

// encode joins the flow's parts with dots (base64url has none).
func (f oidcFlow) encode() string { return f.State + "." + f.Nonce + "." + f.Verifier }

func decodeFlow(s string) oidcFlow {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return oidcFlow{}
	}
	return oidcFlow{State: parts[0], Nonce: parts[1], Verifier: parts[2]}
}

// setup reads the provider's discovery document once it answers.
func (o *OIDC) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.oauth, o.verifier, nil
	}
	if o.failure != nil && o.svc.now().Sub(o.failedAt) < discoveryRetry {
		return nil, nil, o.failure
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.opts.HTTPClient), o.opts.Issuer)
	if err != nil {
		o.failedAt = o.svc.now()
		o.failure = civic.Wrap(civic.Unavailable, err, "the sign-in provider "+o.opts.Name+" cannot be reached, try again later")
		return nil, nil, o.failure
	}
	o.failure = nil
	o.provider = p
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.opts.ClientID, Now: o.svc.opts.Now})
	o.oauth = &oauth2.Config{
		ClientID:     o.opts.ClientID,
		ClientSecret: o.opts.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  o.opts.RedirectURL,
		Scopes:       append([]string{oidc.ScopeOpenID}, o.opts.Scopes...),
	}
	return o.oauth, o.verifier, nil
}

// Begin starts a login: it returns the provider's authorization URL to
// send the browser to and the flow, an opaque cookie-safe string the
// browser keeps until the callback (it is secret: state, nonce and PKCE
// verifier). It fails with Unavailable when the provider cannot be
// reached.
func (o *OIDC) Begin(ctx context.Context) (authURL, flow string, err error) {
	conf, _, err := o.setup(ctx)
	if err != nil {
		return "", "", err
	}
	var f oidcFlow
	for _, dst := range []*string{&f.State, &f.Nonce, &f.Verifier} {
		b, err := o.svc.random(32)
		if err != nil {
			return "", "", err
		}
		*dst = b64url.EncodeToString(b)
	}
	u := conf.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return u, f.encode(), nil
}

// Errors of Finish, worded for the person signing in.
var (
	errOIDCState   = civic.Errorf(civic.Invalid, "this sign-in was not started here or has expired: start again")
	errOIDCToken   = civic.Errorf(civic.Unauthorized, "the sign-in provider's answer could not be verified: start again")
	errOIDCNoRole  = "your account at %s is not in any group that has a civic role, so civic cannot let you in: ask a civic administrator to add you to one"
	errOIDCOffline = civic.Errorf(civic.Forbidden, "this civic account is disabled: ask a civic administrator")
)

// Finish completes a login at the callback: gotState and code are the
// callback's query parameters, flow what Begin returned. It exchanges the
// code (with the PKCE verifier), verifies the ID token and its nonce, maps
// the role claim and opens a session; it returns the session token for
// the cookie, the session and the user. It fails with Invalid when the
// state does not match, Unauthorized when the code or the token is
// refused (the cause is wrapped, for the log), Forbidden when no role
// maps or the civic user is disabled, and Unavailable when the provider
// cannot be reached.
func (o *OIDC) Finish(ctx context.Context, flow, gotState, code string) (string, civic.Session, civic.User, error) {
	f := decodeFlow(flow)
	fail := func(err error) (string, civic.Session, civic.User, error) {
		return "", civic.Session{}, civic.User{}, err
	}
	if f.State == "" || f.Nonce == "" || f.Verifier == "" ||
		subtle.ConstantTimeCompare([]byte(f.State), []byte(gotState)) != 1 {
		return fail(errOIDCState)
	}
	if code == "" {
		return fail(errOIDCState)
	}
	conf, verifier, err := o.setup(ctx)
	if err != nil {
		return fail(err)
	}
	ctx = oidc.ClientContext(ctx, o.opts.HTTPClient)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return fail(civic.Wrap(civic.Unauthorized, err, "the sign-in provider did not accept the login: start again"))
		}
		return fail(civic.Wrap(civic.Unavailable, err, "the sign-in provider "+o.opts.Name+" cannot be reached, try again later"))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fail(civic.Wrap(civic.Unauthorized, errors.New("oidc: no id_token in the token response"), civic.MessageOf(errOIDCToken)))
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return fail(civic.Wrap(civic.Unauthorized, err, civic.MessageOf(errOIDCToken)))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return fail(civic.Wrap(civic.Unauthorized, errors.New("oidc: the ID token's nonce is not this login's"), civic.MessageOf(errOIDCToken)))
	}
	if idt.Subject == "" {
		return fail(civic.Wrap(civic.Unauthorized, errors.New("oidc: the ID token has no subject"), civic.MessageOf(errOIDCToken)))
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return fail(civic.Wrap(civic.Unauthorized, err, civic.MessageOf(errOIDCToken)))
	}
	role, ok := o.role(claims)
	if !ok {
		return fail(civic.Errorf(civic.Forbidden, errOIDCNoRole, o.opts.Name))
	}
	u, err := o.user(ctx, idt.Issuer, idt.Subject, claims, role)
	if err != nil {
		return fail(err)
	}
	token, sess, err := o.svc.openSession(ctx, u)
	if err != nil {
		return fail(err)
	}
	return token, sess, u, nil
}

// role is the civic role of the first mapping whose value the role claim
// holds.
func (o *OIDC) role(claims map[string]any) (civic.Role, bool) {
	v, ok := claims[o.opts.RoleClaim]
	if !ok && strings.Contains(o.opts.RoleClaim, ".") {
		var cur any = claims
		for key := range strings.SplitSeq(o.opts.RoleClaim, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				cur = nil
				break
			}
			cur = m[key]
		}
		v = cur
	}
	var held []string
	switch x := v.(type) {
	case string:
		held = []string{x}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				held = append(held, s)
			}
		}
	}
	for _, m := range o.opts.Roles {
		for _, h := range held {
			if h == m.Value {
				return m.Role, true
			}
		}
	}
	return "", false
}

// user finds or makes the civic user of an identity and gives it role. A
// user is never matched by name or e-mail: a provider account called
// "admin" does not become civic's admin. A disabled user stays refused.
func (o *OIDC) user(ctx context.Context, issuer, subject string, claims map[string]any, role civic.Role) (civic.User, error) {
	u, err := o.svc.accounts.UserByIdentity(ctx, issuer, subject)
	switch {
	case err == nil:
		if u.Disabled {
			return civic.User{}, errOIDCOffline
		}
		if u.Role != role {
			u.Role = role
			u.UpdatedAt = o.svc.now()
			if err := o.svc.accounts.UpdateUser(ctx, &u); err != nil {
				return civic.User{}, err
			}
		}
		return u, nil
	case !civic.IsKind(err, civic.NotFound):
		return civic.User{}, err
	}

	str := func(k string) string { s, _ := claims[k].(string); return strings.TrimSpace(s) }
	nu := civic.User{Role: role, DisplayName: str("name")}
	if len(nu.DisplayName) > 200 {
		nu.DisplayName = nu.DisplayName[:200]
	}
	if e := str("email"); strings.Contains(e, "@") && len(e) <= 254 {
		nu.Email = e
	}
	base := loginName(str("preferred_username"))
	if base == "" {
		base = loginName(strings.SplitN(nu.Email, "@", 2)[0])
	}
	sum := sha256.Sum256([]byte(issuer + "\x00" + subject))
	tag := hex.EncodeToString(sum[:4])
	if base == "" {
		base = "sso-" + tag
	}
	// The name a person sees is theirs when it is free; a taken name
	// (a local user, or someone else at the provider) gets the
	// identity's tag, then a counter.
	var err2 error
	for _, name := range []string{base, base + "-" + tag, base + "-" + tag + "-2", base + "-" + tag + "-3"} {
		b, err := o.svc.random(8)
		if err != nil {
			return civic.User{}, err
		}
		nu.ID, nu.Name = "u-"+hex.EncodeToString(b), name
		err2 = o.svc.accounts.CreateUserWithIdentity(ctx, &nu, issuer, subject)
		if err2 == nil {
			return nu, nil
		}
		if !civic.IsKind(err2, civic.Conflict) {
			return civic.User{}, err2
		}
		// Another login of the same person may have linked it just now.
		if u, lerr := o.svc.accounts.UserByIdentity(ctx, issuer, subject); lerr == nil {
			if u.Disabled {
				return civic.User{}, errOIDCOffline
			}
			return u, nil
		}
	}
	return civic.User{}, civic.Wrap(civic.Internal, fmt.Errorf("oidc: no free user name for %q: %w", base, err2), "")
}

// loginName turns a provider's user name into a civic one: letters,
// digits, '.', '_', ':' and '-', starting with a letter or digit, at most
// 64 characters; "" when nothing usable is left.
func loginName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == ':', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), ".:_-")
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}
