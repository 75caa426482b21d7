package main

import (
	"net/url"
	"strings"
)

// redactURL hides the secrets of a database or broker URL for logs and
// errors: the password of its user info (which may itself hold '@', ':' or
// '/'), and the value of every query parameter whose name speaks of a
// secret (password=, sslpassword=, token=, secret=, key=). It errs on the
// side of hiding too much when the URL is ambiguous.
func redactURL(raw string) string {
	red, _ := splitSecrets(raw)
	return red
}

// splitSecrets returns raw redacted and the secrets it hid. The user info
// ends at the last '@' (a password may hold '@'); should a query value hold
// one too, the host is hidden with the password.
func splitSecrets(raw string) (string, []string) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw, nil
	}
	var secrets []string
	head, rest := raw[:i+3], raw[i+3:]
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user, pw, hasPassword := strings.Cut(rest[:at], ":")
		if hasPassword {
			head += user + ":***@"
			secrets = append(secrets, pw)
		} else {
			head += rest[:at+1]
		}
		rest = rest[at+1:]
	}
	hostPath, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return head + hostPath, secrets
	}
	parts := strings.Split(query, "&")
	for j, p := range parts {
		if k, v, ok := strings.Cut(p, "="); ok && secretParam(k) {
			parts[j] = k + "=***"
			secrets = append(secrets, v)
		}
	}
	return head + hostPath + "?" + strings.Join(parts, "&"), secrets
}

func secretParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, s := range []string{"pass", "secret", "token", "key"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// urlSecrets returns the secrets redactURL hides in raw, as written and
// unescaped, to scrub from error messages that quote them.
func urlSecrets(raw string) []string {
	_, found := splitSecrets(raw)
	var out []string
	for _, s := range found {
		if len(s) < 3 { // shorter would scrub ordinary words
			continue
		}
		out = append(out, s)
		if u, err := url.QueryUnescape(s); err == nil && u != s {
			out = append(out, u)
		}
	}
	return out
}

// redactedError hides secrets in the message of an error that may quote a
// URL (a driver's parse error, a broker's refusal), keeping the chain.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

func (e redactedError) Unwrap() error { return e.err }

// redactErr returns err with the secrets of rawURL hidden from its
// message; nil for nil.
func redactErr(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	return redactedError{err: err, secrets: urlSecrets(rawURL)}
}
