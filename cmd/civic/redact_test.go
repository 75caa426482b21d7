package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, c := range []struct {
		in, want string
		secrets  []string
	}{
		{"postgres://civic:hunter2@db:5432/civic", "postgres://civic:***@db:5432/civic", []string{"hunter2"}},
		{"postgres://civic:p@ss:w/rd@db/civic?sslmode=disable", "postgres://civic:***@db/civic?sslmode=disable", []string{"p@ss:w/rd"}},
		{"postgres://civic@db/civic?password=hunter2&sslmode=require", "postgres://civic@db/civic?password=***&sslmode=require", []string{"hunter2"}},
		{"postgres://db/civic?sslpassword=x1y2z3&application_name=civic", "postgres://db/civic?sslpassword=***&application_name=civic", []string{"x1y2z3"}},
		{"postgres://u:a%40b%3Ac@db/civic", "postgres://u:***@db/civic", []string{"a%40b%3Ac", "a@b:c"}},
		{"mqtts://gateway:brokerpw@broker.city:8883", "mqtts://gateway:***@broker.city:8883", []string{"brokerpw"}},
		{"mqtt://broker:1883", "mqtt://broker:1883", nil},
		{"sqlite:/var/lib/civic/civic.db", "sqlite:/var/lib/civic/civic.db", nil},
	} {
		if got := redactURL(c.in); got != c.want {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := urlSecrets(c.in); strings.Join(got, "|") != strings.Join(c.secrets, "|") {
			t.Errorf("urlSecrets(%q) = %q, want %q", c.in, got, c.secrets)
		}
	}
}

// TestSecretsNotLogged: the start-up log line (config.String) and the error
// of a database that cannot be opened name neither the --db password (in
// the user info, with an '@' in it, or as ?password=) nor the
// --mqtt-broker's.
func TestSecretsNotLogged(t *testing.T) {
	dir := t.TempDir()
	secrets := []string{"hunter@2pw", "qwerty123x", "brokerpw99"}
	c, err := parseServe(t, nil, "--data", dir,
		"--db", "postgres://civic:hunter@2pw@127.0.0.1:1/civic?password=qwerty123x&connect_timeout=1&sslmode=disable",
		"--mqtt-broker", "mqtt://gateway:brokerpw99@127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	line := c.String()
	_, openErr := openApp(context.Background(), &c)
	if openErr == nil {
		t.Fatal("opening a database on port 1 succeeded")
	}
	for _, s := range secrets {
		for what, text := range map[string]string{"start-up log": line, "open error": openErr.Error()} {
			if strings.Contains(text, s) || strings.Contains(text, strings.ReplaceAll(s, "@", "%40")) {
				t.Errorf("%s shows secret %q: %s", what, s, text)
			}
		}
	}
	if !strings.Contains(line, "127.0.0.1:1") {
		t.Errorf("the start-up log lost the hosts: %s", line)
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	c, err := parseServe(t, nil, "--data", t.TempDir(), "--trusted-proxy", "10.0.0.0/8, 192.0.2.7,::1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.trustedProxies); got != "[10.0.0.0/8 192.0.2.7/32 ::1/128]" {
		t.Errorf("trusted proxies %s", got)
	}
	if _, err := parseServe(t, nil, "--data", t.TempDir(), "--trusted-proxy", "proxy.local"); err == nil || !strings.Contains(err.Error(), "--trusted-proxy") {
		t.Errorf("a host name as a trusted proxy: %v, want an error", err)
	}
	if _, err := parseServe(t, nil, "--data", t.TempDir(), "--tls-cert", "x.pem"); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("--tls-cert alone: %v, want an error", err)
	}
	if c, err := parseServe(t, nil, "--data", t.TempDir(), "--tls-cert", "x.pem", "--tls-key", "x.key"); err != nil || !c.SecureCookies {
		t.Errorf("with TLS: secure cookies %v, %v", c.SecureCookies, err)
	}
}

// FuzzRedactURL: a password put in a URL's user info or ?password= never
// survives redaction, whatever else the URL holds.
func FuzzRedactURL(f *testing.F) {
	f.Add("civic", "hunter2", "db:5432/civic", "sslmode=disable")
	f.Add("u", "p@ss:w/rd?x", "host", "a=b@c")
	f.Fuzz(func(t *testing.T, user, password, hostPath, query string) {
		// hostPath is a host and a path: a '?' or '#' in it would start
		// the query or the fragment early.
		if len(password) < 3 || strings.ContainsAny(user, ":@/?#") || strings.ContainsAny(hostPath, "@?#") || strings.Contains(query, "@") {
			return
		}
		// Each URL with the password where redaction should leave "***":
		// a password that shows there too (say the user and the host
		// around an '@') is in plain sight, and the URL proves nothing.
		for _, u := range []struct{ raw, public string }{
			{"postgres://" + user + ":" + password + "@" + hostPath + "?" + query,
				"postgres://" + user + ":***@" + hostPath + "?" + query},
			{"postgres://" + user + "@" + hostPath + "?password=" + url.QueryEscape(password) + "&" + query,
				"postgres://" + user + "@" + hostPath + "?password=***&" + query},
		} {
			if strings.Contains(u.public, password) || strings.Contains(u.public, url.QueryEscape(password)) {
				continue
			}
			if got := redactURL(u.raw); strings.Contains(got, password) || (url.QueryEscape(password) != password && strings.Contains(got, url.QueryEscape(password))) {
				t.Fatalf("redactURL(%q) = %q shows the password %q", u.raw, got, password)
			}
		}
	})
}
