package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// secureConfig is the part of the configuration that hardens civic serve:
// HTTPS, connection caps and the proxy in front of it.
type secureConfig struct {
	TLSCert  string // PEM files: when both are set civic serves HTTPS
	TLSKey   string
	MaxConns int // HTTP connections open at once

	SessionIdle time.Duration // a session unused this long ends
	SessionMax  time.Duration // a session ends this long after login

	DemoAnyway bool // --demo even on a store with data that is not the demo's

	WebhookAllowInternal bool // webhooks may go to loopback, private, link-local addresses

	TrustedProxy   string         // comma-separated addresses or CIDR ranges
	trustedProxies []netip.Prefix // parsed by check
}

// secureFlags registers the flags of secureConfig.
func secureFlags(fs *flag.FlagSet, c *secureConfig, getenv func(string) string) {
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("CIVIC_TLS_CERT"), "PEM certificate; with --tls-key civic serves HTTPS, sends HSTS and marks cookies Secure (env CIVIC_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("CIVIC_TLS_KEY"), "PEM private key for --tls-cert (env CIVIC_TLS_KEY)")
	fs.IntVar(&c.MaxConns, "max-conns", 4096, "HTTP connections open at once; more wait until one closes")
	fs.StringVar(&c.TrustedProxy, "trusted-proxy", getenv("CIVIC_TRUSTED_PROXY"), "reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed: client addresses, HSTS and Secure cookies behind TLS termination (env CIVIC_TRUSTED_PROXY)")
	fs.BoolVar(&c.WebhookAllowInternal, "webhook-allow-internal", envBool(getenv, "CIVIC_WEBHOOK_ALLOW_INTERNAL", false), "let webhook subscriptions reach loopback, private and link-local addresses (refused by default: SSRF) (env CIVIC_WEBHOOK_ALLOW_INTERNAL)")
	fs.BoolVar(&c.DemoAnyway, "demo-anyway", false, "with --demo, add the demo city and users (published passwords) even to a data folder that holds other data")
	fs.DurationVar(&c.SessionIdle, "session-idle", 2*time.Hour, "a login not used for this long ends")
	fs.DurationVar(&c.SessionMax, "session-max", 12*time.Hour, "a login ends this long after it was made, however busy")
}

// check validates c.
func (c *secureConfig) check() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if c.SessionIdle < time.Minute || c.SessionMax < c.SessionIdle {
		return usageErrorf("--session-idle must be at least 1m and at most --session-max")
	}
	c.trustedProxies = nil
	for _, f := range strings.Split(c.TrustedProxy, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return usageErrorf("--trusted-proxy: %q is neither an address nor a CIDR range", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, p.Masked())
	}
	if c.MaxConns <= 0 {
		return usageErrorf("--max-conns must be positive")
	}
	return nil
}

// tlsConfig loads the HTTPS certificate; nil without --tls-cert.
func (c *secureConfig) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
