package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per caller (client IP, user or API key).
// Buckets idle for longer than it takes them to refill are dropped, so the
// map stays as small as the set of recent callers.
type limiters struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	now       func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long an unused bucket is kept; a bucket refilled by then
// is the same as a new one for every rate the server uses. maxBuckets bounds
// the memory a flood from many addresses can take: beyond it buckets idle
// for a minute go, and if that is not enough, all of them.
const (
	idleAfter  = 10 * time.Minute
	maxBuckets = 200_000
)

func newLimiters(*Config) *limiters {
	return &limiters{buckets: make(map[string]*bucket), now: time.Now}
}

// allow takes a token from the bucket of key, made with rate r and burst b
// when first seen.
func (l *limiters) allow(key string, r rate.Limit, b int) bool {
	if r == rate.Inf {
		return true
	}
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now, idleAfter)
	}
	if len(l.buckets) >= maxBuckets {
		l.sweep(now, time.Minute)
		if len(l.buckets) >= maxBuckets {
			clear(l.buckets)
		}
	}
	bk, ok := l.buckets[key]
	if !ok {
		bk = &bucket{lim: rate.NewLimiter(r, b)}
		l.buckets[key] = bk
	}
	bk.seen = now
	l.mu.Unlock()
	return bk.lim.AllowN(now, 1)
}

func (l *limiters) sweep(now time.Time, idle time.Duration) {
	for k, v := range l.buckets {
		if now.Sub(v.seen) > idle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
