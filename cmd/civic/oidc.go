package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
)

// oidcConfig is single sign-on through an OpenID Connect provider; off
// without an issuer.
type oidcConfig struct {
	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecret     string // secret: from the environment or a file, never a flag (ps shows flags)
	OIDCClientSecretFile string
	OIDCRedirectURL      string // default: --base-url + /login/oidc/callback
	OIDCName             string
	OIDCRoleClaim        string
	OIDCRoles            string // claim value=role, ...
	OIDCScopes           string
}

const oidcUsage = `  --oidc-issuer URL       single sign-on through this OpenID Connect provider (env CIVIC_OIDC_ISSUER)
  --oidc-client-id ID     civic's client id at the provider (env CIVIC_OIDC_CLIENT_ID)
  --oidc-client-secret-file F  file holding the client secret (env CIVIC_OIDC_CLIENT_SECRET_FILE or
                          CIVIC_OIDC_CLIENT_SECRET; none for a public client)
  --oidc-redirect-url URL the callback registered at the provider (default --base-url + /login/oidc/callback;
                          env CIVIC_OIDC_REDIRECT_URL)
  --oidc-name NAME        the provider on the login page, "Sign in with NAME" (default its host; env CIVIC_OIDC_NAME)
  --oidc-role-claim NAME  the ID token claim holding the user's groups or roles (default groups;
                          a.b reads a nested claim; env CIVIC_OIDC_ROLE_CLAIM)
  --oidc-roles LIST       claim value=civic role, first match wins, e.g. civic-admins=admin,dispatch=supervisor,
                          drivers=crew; a user with no match is refused (env CIVIC_OIDC_ROLES)
  --oidc-scopes LIST      scopes besides openid (default profile,email; env CIVIC_OIDC_SCOPES)
`

func oidcFlags(fs *flag.FlagSet, c *oidcConfig, getenv func(string) string) {
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", getenv("CIVIC_OIDC_ISSUER"), "OpenID Connect issuer URL: enables single sign-on (env CIVIC_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", getenv("CIVIC_OIDC_CLIENT_ID"), "client id at the OpenID Connect provider (env CIVIC_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCClientSecretFile, "oidc-client-secret-file", getenv("CIVIC_OIDC_CLIENT_SECRET_FILE"), "file holding the OpenID Connect client secret (env CIVIC_OIDC_CLIENT_SECRET_FILE or CIVIC_OIDC_CLIENT_SECRET)")
	c.OIDCClientSecret = getenv("CIVIC_OIDC_CLIENT_SECRET")
	fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", getenv("CIVIC_OIDC_REDIRECT_URL"), "callback URL registered at the provider (default --base-url + /login/oidc/callback; env CIVIC_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.OIDCName, "oidc-name", getenv("CIVIC_OIDC_NAME"), "provider name on the login page (env CIVIC_OIDC_NAME)")
	fs.StringVar(&c.OIDCRoleClaim, "oidc-role-claim", envOr(getenv, "CIVIC_OIDC_ROLE_CLAIM", "groups"), "ID token claim that decides the role (env CIVIC_OIDC_ROLE_CLAIM)")
	fs.StringVar(&c.OIDCRoles, "oidc-roles", getenv("CIVIC_OIDC_ROLES"), "claim value=role mappings, first match wins, e.g. admins=admin,ops=supervisor (env CIVIC_OIDC_ROLES)")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", envOr(getenv, "CIVIC_OIDC_SCOPES", "profile,email"), "scopes requested besides openid (env CIVIC_OIDC_SCOPES)")
}

// options checks c and returns the options of auth.NewOIDC; ok is false
// when single sign-on is off. baseURL is --base-url.
func (c *oidcConfig) options(baseURL string) (opts auth.OIDCOptions, ok bool, err error) {
	if c.OIDCIssuer == "" {
		for _, f := range [][2]string{{"--oidc-client-id", c.OIDCClientID}, {"--oidc-roles", c.OIDCRoles}, {"--oidc-redirect-url", c.OIDCRedirectURL}} {
			if f[1] != "" {
				return opts, false, usageErrorf("%s needs --oidc-issuer", f[0])
			}
		}
		return opts, false, nil
	}
	if c.OIDCClientSecretFile != "" {
		b, err := os.ReadFile(c.OIDCClientSecretFile)
		if err != nil {
			return opts, false, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		c.OIDCClientSecret = strings.TrimSpace(string(b))
	}
	redirect := c.OIDCRedirectURL
	if redirect == "" {
		if baseURL == "" {
			return opts, false, usageErrorf("--oidc-issuer needs --base-url (or --oidc-redirect-url) to tell the provider where to send people back")
		}
		redirect = strings.TrimRight(baseURL, "/") + "/login/oidc/callback"
	}
	if u, err := url.Parse(redirect); err != nil || u.Path != "/login/oidc/callback" {
		return opts, false, usageErrorf("--oidc-redirect-url must be civic's https://HOST/login/oidc/callback")
	}
	roles, err := auth.ParseRoleMappings(c.OIDCRoles)
	if err != nil {
		return opts, false, usageErrorf("--%s: %s", civic.FieldOf(err), civic.MessageOf(err))
	}
	scopes := []string{}
	for s := range strings.SplitSeq(c.OIDCScopes, ",") {
		if s = strings.TrimSpace(s); s != "" && s != "openid" {
			scopes = append(scopes, s)
		}
	}
	opts = auth.OIDCOptions{
		Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, RedirectURL: redirect,
		Name: c.OIDCName, RoleClaim: c.OIDCRoleClaim, Roles: roles, Scopes: scopes,
	}
	return opts, true, nil
}

// sso is the login page's single sign-on: auth.OIDC, with an audit entry
// for each login as the API's password login writes.
type sso struct {
	*auth.OIDC
	svc   *auth.Service
	audit civic.AuditStore
	now   func() time.Time
	log   *slog.Logger
}

func (s sso) Finish(ctx context.Context, flow, state, code string) (string, time.Time, error) {
	token, sess, u, err := s.OIDC.Finish(ctx, flow, state, code)
	if err != nil {
		return "", time.Time{}, err
	}
	e := civic.AuditEntry{Time: s.now().UTC(), Actor: u.Name, Action: "session.login", Target: "user/" + u.Name,
		Detail: "oidc role " + string(u.Role), Remote: civic.ClientAddrFrom(ctx)}
	if err := s.audit.AppendAudit(context.WithoutCancel(ctx), &e); err != nil {
		s.log.Error("audit entry lost", "err", err, "action", e.Action, "target", e.Target)
	}
	return token, s.svc.SessionEnd(sess), nil
}
