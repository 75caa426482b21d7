package auth

import (
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Login throttling. Failed logins are counted per login name, whether or
// not an account has that name, and per client address: past the limit the
// name (or address) is locked for a while, and every login for it fails
// at once with the same message, whether the account exists or not and
// whether the password is right or not. A success clears the name's
// count, never the address's (an attacker with an account of their own
// must not be able to reset it). The counts live in this node's memory:
// several nodes behind a balancer each allow the limit.

// ThrottleOptions tune login throttling; zero values take the defaults.
type ThrottleOptions struct {
	// NameFailures is how many failed logins a name may have in Window
	// before it is locked; 5 by default.
	NameFailures int
	// AddrFailures is the same for a client address (one office behind a
	// NAT may mistype more); 20 by default.
	AddrFailures int
	// Window is how long a failure counts; 15 minutes by default.
	Window time.Duration
	// Lockout is how long a name or address stays locked after its last
	// failure past the limit; 15 minutes by default.
	Lockout time.Duration
}

func (o *ThrottleOptions) setDefaults() {
	if o.NameFailures <= 0 {
		o.NameFailures = 5
	}
	if o.AddrFailures <= 0 {
		o.AddrFailures = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
}

// maxTracked bounds the names and addresses tracked at once; beyond it,
// entries whose window has passed are dropped first.
const maxTracked = 100000

type failures struct {
	times  []time.Time // failures within the window, oldest first
	locked time.Time   // locked until
}

type throttle struct {
	opts ThrottleOptions
	mu   sync.Mutex
	m    map[string]*failures // "name:x" or "addr:x"
}

func newThrottle(o ThrottleOptions) *throttle {
	o.setDefaults()
	return &throttle{opts: o, m: map[string]*failures{}}
}

func nameKey(name string) string { return "name:" + strings.ToLower(strings.TrimSpace(name)) }

// check fails with the lockout error when the name or the address is
// locked at now.
func (t *throttle) check(name, addr string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var until time.Time
	for _, k := range t.keys(name, addr) {
		if f := t.m[k]; f != nil && now.Before(f.locked) && f.locked.After(until) {
			until = f.locked
		}
	}
	if until.IsZero() {
		return nil
	}
	mins := int((until.Sub(now) + time.Minute - 1) / time.Minute)
	return civic.Errorf(civic.Unavailable, "too many failed logins for this name or from this address: try again in %d %s", mins, civic.Plural(mins, "minute"))
}

func (t *throttle) keys(name, addr string) []string {
	ks := []string{nameKey(name)}
	if addr != "" {
		ks = append(ks, "addr:"+addr)
	}
	return ks
}

// fail counts a failed login.
func (t *throttle) fail(name, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxTracked {
		t.sweep(now)
	}
	for i, k := range t.keys(name, addr) {
		limit := t.opts.NameFailures
		if i == 1 {
			limit = t.opts.AddrFailures
		}
		f := t.m[k]
		if f == nil {
			if len(t.m) >= maxTracked {
				continue // full of live entries: the rate limits still hold
			}
			f = &failures{}
			t.m[k] = f
		}
		cut := 0
		for cut < len(f.times) && now.Sub(f.times[cut]) >= t.opts.Window {
			cut++
		}
		f.times = append(f.times[cut:], now)
		if len(f.times) > limit {
			f.times = f.times[len(f.times)-limit:]
		}
		if len(f.times) >= limit {
			f.locked = now.Add(t.opts.Lockout)
		}
	}
}

// succeed clears the name's failures after a good login.
func (t *throttle) succeed(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, nameKey(name))
}

func (t *throttle) sweep(now time.Time) {
	for k, f := range t.m {
		if now.After(f.locked) && (len(f.times) == 0 || now.Sub(f.times[len(f.times)-1]) >= t.opts.Window) {
			delete(t.m, k)
		}
	}
}
