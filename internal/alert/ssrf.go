package alert

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// webhookTransport connects webhooks directly (no proxy from the
// environment) and, unless allowInternal, only to public addresses: the
// address is checked when the socket connects, after DNS, so a name that
// resolves to a public address when the subscription is made and to an
// internal one later (DNS rebinding) is refused too.
func webhookTransport(allowInternal bool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowInternal {
		d.Control = refuseInternal
	}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
	}
}

// refuseInternal is a net.Dialer Control function refusing internal
// addresses.
func refuseInternal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if civic.InternalAddr(ip) {
		return fmt.Errorf("webhook to %s refused: an internal address (allow with --webhook-allow-internal)", ip)
	}
	return nil
}
