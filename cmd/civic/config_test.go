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
