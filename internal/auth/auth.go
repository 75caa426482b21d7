// Package auth is who may use civic: user accounts with argon2id passwords,
// browser sessions, API keys for programs and secrets for devices. It turns a
// session token or an API key secret into a civic.Principal; the HTTP layer
// decides what that principal may do with civic.Principal.Require.
//
// Only hashes of secrets are stored: argon2id for passwords (slow on
// purpose, they are guessable), SHA-256 for session tokens, API keys and
// device secrets (random, 256 bits, so a fast hash is enough).
package auth

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Options configures a Service. Zero values take the defaults.
type Options struct {
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Rand is the source of tokens, salts and key ids; crypto/rand by
	// default. Tests may make it deterministic.
	Rand io.Reader
	// Params are the argon2id parameters for new password hashes;
	// DefaultParams by default. TestParams is much cheaper for tests.
	// Existing hashes are verified with the parameters they carry.
	Params Params
	// SessionTTL is the longest a login lasts however busy it is (its
	// absolute expiry); 12 hours by default.
	SessionTTL time.Duration
	// IdleTimeout ends a session not used for this long; 2 hours by
	// default, never more than SessionTTL. Each use moves the deadline
	// (written at most once a minute per session).
	IdleTimeout time.Duration
	// KeyCacheTTL is how long a verified API key is trusted without asking
	// the store again; 10 seconds by default. A key revoked on another
	// node stops working after at most this long, or at once when
	// ForgetKey is called for it.
	KeyCacheTTL time.Duration
	// TouchInterval is how often an API key's last-used time is written;
	// once a minute by default.
	TouchInterval time.Duration
	// Throttle tunes how failed logins lock a name or an address.
	Throttle ThrottleOptions
	// MaxConcurrentHashes bounds the password hashes computed at once, so
	// a burst of logins cannot take all memory (each takes Params.Memory);
	// 4 by default.
	MaxConcurrentHashes int
}

// Service manages accounts, sessions and API keys over a civic.AccountStore.
// It is safe for concurrent use.
type Service struct {
	accounts civic.AccountStore
	opts     Options
	hashSem  chan struct{}

	dummyOnce sync.Once
	dummyHash string

	throttle *throttle

	mu      sync.Mutex
	keys    map[string]cachedKey // by key id
	touched map[string]time.Time // by key id: when LastUsedAt was last written
}

type cachedKey struct {
	key     civic.APIKey
	expires time.Time
}

// New returns a Service storing accounts in accounts.
func New(accounts civic.AccountStore, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Hour
	}
	opts.IdleTimeout = min(opts.IdleTimeout, opts.SessionTTL)
	if opts.KeyCacheTTL <= 0 {
		opts.KeyCacheTTL = 10 * time.Second
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = time.Minute
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = 4
	}
	return &Service{
		accounts: accounts,
		opts:     opts,
		hashSem:  make(chan struct{}, opts.MaxConcurrentHashes),
		throttle: newThrottle(opts.Throttle),
		keys:     make(map[string]cachedKey),
		touched:  make(map[string]time.Time),
	}
}

// SessionTTL returns the longest a session lasts.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }

// SessionEnd is when sess ends at the latest, however busy (its absolute
// expiry): the expiry to give its cookie.
func (s *Service) SessionEnd(sess civic.Session) time.Time {
	return sess.CreatedAt.Add(s.opts.SessionTTL)
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// random returns n random bytes from the service's source.
func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.opts.Rand, b); err != nil {
		return nil, civic.Wrap(civic.Internal, err, "")
	}
	return b, nil
}

// acquireHash waits for a password-hashing slot.
func (s *Service) acquireHash(ctx context.Context) (release func(), err error) {
	select {
	case s.hashSem <- struct{}{}:
		return func() { <-s.hashSem }, nil
	case <-ctx.Done():
		return nil, civic.Wrap(civic.Unavailable, ctx.Err(), "too many logins at once, try again")
	}
}
