package civic

import "context"

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The HTTP layer sets it once per
// request after authentication; handlers and page renderers read it with
// PrincipalFrom.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or Anonymous.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Anonymous
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the caller's network address (after
// trusted proxies), for throttling logins per address.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFrom returns the caller's address in ctx, or "".
func ClientAddrFrom(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}
