package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/civic-city/civic/internal/civic"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams follow the second recommendation of RFC 9106 (section 4),
// with two lanes for a 2-core server: 64 MiB, one pass.
var DefaultParams = Params{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests. Never use them in production.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password length limits. The upper bound only stops absurd inputs.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 1024
)

// CheckPassword returns an Invalid error for field "password" when pw does
// not meet the password policy: at least MinPasswordLen characters, at most
// MaxPasswordLen bytes, and not on the list of common passwords
// (IsCommonPassword).
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return civic.FieldError("password", "must be at least %d characters", MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return civic.FieldError("password", "must be at most %d bytes", MaxPasswordLen)
	}
	if IsCommonPassword(pw) {
		return civic.FieldError("password", "is one of the most common passwords, which attackers try first: choose another")
	}
	return nil
}

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and returns it in the PHC string
// format: $argon2id$v=19$m=65536,t=1,p=2$SALT$HASH. salt must be p.SaltLen
// random bytes.
func HashPassword(pw string, salt []byte, p Params) string {
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// errMalformedHash is returned for stored hashes civic cannot read.
var errMalformedHash = errors.New("auth: malformed argon2id hash")

// VerifyPassword reports whether pw matches the PHC-format argon2id hash,
// comparing in constant time. It uses the parameters stored in the hash, so
// hashes made with older parameters keep working. It fails only for a hash it
// cannot parse.
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parseHash(hash string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errMalformedHash
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 || p.Time > 100 {
		return p, nil, nil, errMalformedHash
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errMalformedHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}
