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
