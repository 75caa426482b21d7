package civic

import "net/netip"

// sharedAddressSpace is RFC 6598's carrier-grade NAT range: not on the
// public internet either.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// InternalAddr reports whether ip is not a public internet address:
// loopback, private (RFC 1918, RFC 4193), link-local (cloud metadata
// services live there), shared (RFC 6598), unspecified or multicast.
// Webhooks go to public addresses only unless an admin allows the others:
// a subscription must not make civic reach into its own network (SSRF).
func InternalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) ||
		(ip.Is4() && ip.As4()[0] == 0)
}
