package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseServe parses serve flags over the given environment.
func parseServe(t *testing.T, env map[string]string, args ...string) (config, error) {
	t.Helper()
	var c config
	fs := newFlagSet("serve")
	serveFlags(fs, &c, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, c.finishServe()
}

func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "ttn.secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseServe(t, map[string]string{"CIVIC_ADDR": "127.0.0.1:9999", "CIVIC_SMTP_PASSWORD": "pw"},
		"--data", dir, "--lorawan-ttn-secret-file", secret)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" {
		t.Errorf("addr from CIVIC_ADDR = %q", c.Addr)
	}
	if want := "sqlite:" + filepath.Join(dir, "civic.db"); c.DB != want {
		t.Errorf("db = %q, want %q", c.DB, want)
	}
	if c.TTNSecret != "s3cret" {
		t.Errorf("TTN secret from file = %q, want s3cret (trimmed)", c.TTNSecret)
	}
	dump := c.String()
	for _, leak := range []string{"s3cret", "pw "} {
		if strings.Contains(dump+" ", leak) {
			t.Errorf("config dump %q shows a secret", dump)
		}
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"tls pair", []string{"--mqtt-tls-cert", "c.pem"}, "go together"},
		{"bad db", []string{"--db", "mysql://x"}, "--db"},
		{"bad zone", []string{"--tz", "Mars/Olympus"}, "time zone"},
		{"bad speed", []string{"--speed", "0"}, "--speed"},
		{"missing secret file", []string{"--lorawan-chirpstack-secret-file", filepath.Join(dir, "none")}, "chirpstack"},
	} {
		_, err := parseServe(t, nil, append([]string{"--data", dir}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
	if got := redactURL("postgres://civic:hunter2@db:5432/civic"); strings.Contains(got, "hunter2") {
		t.Errorf("redactURL kept the password: %s", got)
	}
}

// TestOIDCConfig: single sign-on is off without an issuer (and its other
// flags then refused); with one, the redirect comes from --base-url, the
// secret from the environment or a file and never shows in the logged
// configuration, and a missing redirect or a bad role mapping is a usage
// error naming the flag.
func TestOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := parseServe(t, nil, "--data", dir)
	if err != nil || c.oidcOn {
		t.Fatalf("no issuer: on=%t, %v", c.oidcOn, err)
	}
	if _, err := parseServe(t, nil, "--data", dir, "--oidc-roles", "a=admin"); err == nil || !strings.Contains(err.Error(), "--oidc-roles needs --oidc-issuer") {
		t.Errorf("--oidc-roles alone: %v", err)
	}
	base := []string{"--data", dir, "--oidc-issuer", "https://id.example", "--oidc-client-id", "civic", "--oidc-roles", "admins=admin, ops=supervisor"}
	c, err = parseServe(t, map[string]string{"CIVIC_OIDC_CLIENT_SECRET": "env-secret"}, append(base, "--base-url", "https://civic.example/")...)
	if err != nil || !c.oidcOn {
		t.Fatalf("issuer: on=%t, %v", c.oidcOn, err)
	}
	if c.oidc.RedirectURL != "https://civic.example/login/oidc/callback" || c.oidc.ClientSecret != "env-secret" || len(c.oidc.Roles) != 2 ||
		c.oidc.RoleClaim != "groups" || strings.Join(c.oidc.Scopes, " ") != "profile email" {
		t.Errorf("options %+v", c.oidc)
	}
	if strings.Contains(c.String(), "env-secret") {
		t.Errorf("the configuration log shows the client secret: %s", c)
	}
	secret := filepath.Join(dir, "oidc.secret")
	if err := os.WriteFile(secret, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = parseServe(t, nil, append(base, "--oidc-client-secret-file", secret, "--oidc-redirect-url", "https://sso.civic.example/login/oidc/callback")...)
	if err != nil || c.oidc.ClientSecret != "file-secret" || c.oidc.RedirectURL != "https://sso.civic.example/login/oidc/callback" {
		t.Errorf("secret file and redirect: %+v, %v", c.oidc, err)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{base, "--base-url"},
		{append(base, "--oidc-redirect-url", "https://civic.example/elsewhere"), "--oidc-redirect-url"},
		{append(base, "--base-url", "https://c.example", "--oidc-roles", "admins=root"), "--oidc-roles"},
		{append(base, "--base-url", "https://c.example", "--oidc-roles", ""), "--oidc-roles"},
	} {
		if _, err := parseServe(t, nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.says)
		}
	}
}
