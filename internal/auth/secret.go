package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
)

var (
	b64url = base64.RawURLEncoding
	b32    = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
)

// HashSecret returns the hex SHA-256 of a random secret (a session token, an
// API key or a device password). A fast hash is enough for secrets with 256
// bits of entropy; use HashPassword for anything a person chose.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// VerifySecret reports, in constant time, whether secret hashes to hash (as
// made by HashSecret).
func VerifySecret(hash, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}

// NewSecret returns a new random secret of 32 bytes, base32 encoded, and its
// hash. Use it for device (MQTT) passwords: the secret is shown once, the
// hash is stored.
func (s *Service) NewSecret() (secret, hash string, err error) {
	b, err := s.random(32)
	if err != nil {
		return "", "", err
	}
	secret = b32.EncodeToString(b)
	return secret, HashSecret(secret), nil
}
