package auth

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// API key secrets look like civic_<id>_<secret>: the id finds the key
// without a scan, the secret is 32 random bytes in base32.
const (
	keyPrefix    = "civic_"
	keyIDLen     = 16 // hex digits
	keySecretLen = 52 // base32 digits of 32 bytes
)

// errBadKey is the one answer to an API key that is malformed, unknown,
// wrong or revoked.
var errBadKey = civic.Errorf(civic.Unauthorized, "invalid or revoked API key")

// CreateAPIKey makes an API key with the given scopes. It returns the secret
// to hand to the program (shown once: only its hash is stored) and the key.
// It fails with Invalid (field "name" or "scopes").
func (s *Service) CreateAPIKey(ctx context.Context, name string, scopes []civic.Scope, createdBy string) (string, civic.APIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 {
		return "", civic.APIKey{}, civic.FieldError("name", "is required (at most 128 characters)")
	}
	sc := slices.Clone(scopes)
	slices.Sort(sc)
	sc = slices.Compact(sc)
	idb, err := s.random(keyIDLen / 2)
	if err != nil {
		return "", civic.APIKey{}, err
	}
	sb, err := s.random(32)
	if err != nil {
		return "", civic.APIKey{}, err
	}
	id := hex.EncodeToString(idb)
	secret := keyPrefix + id + "_" + b32.EncodeToString(sb)
	k := civic.APIKey{
		ID:        id,
		Name:      name,
		Scopes:    sc,
		Hash:      HashSecret(secret),
		CreatedBy: createdBy,
		CreatedAt: s.now(),
	}
	if err := k.Validate(); err != nil {
		return "", civic.APIKey{}, err
	}
	if err := s.accounts.CreateAPIKey(ctx, &k); err != nil {
		return "", civic.APIKey{}, err
	}
	return secret, k, nil
}

// parseKeyID returns the id part of an API key secret.
func parseKeyID(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, keyPrefix)
	if !ok {
		return "", false
	}
	id, sec, ok := strings.Cut(rest, "_")
	if !ok || len(id) != keyIDLen || len(sec) != keySecretLen {
		return "", false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return id, true
}

// KeyPrincipal returns the principal of an API key secret. Keys found valid
// are cached for Options.KeyCacheTTL, so a busy sender does not cost a store
// lookup per request; the secret is still compared on every call. It fails
// with Unauthorized for a malformed, unknown, wrong or revoked key.
func (s *Service) KeyPrincipal(ctx context.Context, secret string) (civic.Principal, error) {
	id, ok := parseKeyID(secret)
	if !ok {
		return civic.Principal{}, errBadKey
	}
	now := s.now()
	s.mu.Lock()
	c, cached := s.keys[id]
	s.mu.Unlock()
	cached = cached && now.Before(c.expires)
	k := c.key
	if !cached {
		var err error
		k, err = s.accounts.APIKey(ctx, id)
		if civic.IsKind(err, civic.NotFound) {
			return civic.Principal{}, errBadKey
		}
		if err != nil {
			return civic.Principal{}, err
		}
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(k.Hash)) != 1 || k.RevokedAt != nil {
		return civic.Principal{}, errBadKey
	}
	touch := false
	s.mu.Lock()
	if !cached {
		s.keys[id] = cachedKey{key: k, expires: now.Add(s.opts.KeyCacheTTL)}
	}
	if last, ok := s.touched[id]; !ok || now.Sub(last) >= s.opts.TouchInterval {
		s.touched[id] = now
		touch = true
	}
	s.mu.Unlock()
	if touch {
		// Last use is informational: a failed write must not fail the
		// request, and the next interval tries again.
		_ = s.accounts.TouchAPIKey(ctx, id, now)
	}
	return civic.Principal{KeyID: k.ID, Name: k.Name, Scopes: slices.Clone(k.Scopes)}, nil
}

// RevokeAPIKey revokes the key with id. It stops working at once on this
// node, and on others within Options.KeyCacheTTL, or as soon as they call
// ForgetKey (civic serve on PostgreSQL does when the revocation commits).
// It fails with NotFound.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) error {
	if err := s.accounts.RevokeAPIKey(ctx, id, s.now()); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.keys, id)
	s.mu.Unlock()
	return nil
}

// ForgetKey drops what is cached about key id (every key when id is
// empty), so that its next use is checked against the store: how a
// revocation made elsewhere takes effect at once.
func (s *Service) ForgetKey(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		clear(s.keys)
		return
	}
	delete(s.keys, id)
}
