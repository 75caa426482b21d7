package server

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// checkWebhookTarget refuses a webhook URL whose host is, or resolves to,
// an internal address (civic.InternalAddr) unless Config.AllowInternalWebhooks:
// a subscription must not turn civic into a way into its own network. A
// name that does not resolve now is accepted; the notifier checks the
// address again at every delivery, when it connects.
func (s *Server) checkWebhookTarget(ctx context.Context, raw string) error {
	if s.cfg.AllowInternalWebhooks {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil // the subscription's own validation names the problem
	}
	host := u.Hostname()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		ips, _ = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	for _, ip := range ips {
		if civic.InternalAddr(ip) {
			return civic.FieldError("url", "%s is an internal address (%s): webhooks go to public addresses unless civic runs with --webhook-allow-internal", host, ip.Unmap())
		}
	}
	return nil
}
