package open311

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// answerCache keeps recent GET answers of the requests resources by
// format and query. An answer is reused while nothing changed through the
// desk (its generation) and for at most ttl, which bounds how stale an
// answer can be after a change made by another node. GeoReport clients
// poll the same few queries; the cache spares the store those repeats.
type answerCache struct {
	ttl  time.Duration
	mu   sync.Mutex
	m    map[string]cachedAnswer
	hits atomic.Int64
	miss atomic.Int64
}

type cachedAnswer struct {
	gen  uint64
	at   time.Time
	body []byte
	ct   string
}

// maxCached bounds the cache; past it the cache starts afresh.
const maxCached = 4096

func (c *answerCache) get(key string, gen uint64, now time.Time) (cachedAnswer, bool) {
	c.mu.Lock()
	a, ok := c.m[key]
	c.mu.Unlock()
	if ok && a.gen == gen && now.Sub(a.at) < c.ttl {
		c.hits.Add(1)
		return a, true
	}
	c.miss.Add(1)
	return a, false
}

func (c *answerCache) put(key string, a cachedAnswer) {
	c.mu.Lock()
	if len(c.m) >= maxCached {
		c.m = map[string]cachedAnswer{}
	}
	c.m[key] = a
	c.mu.Unlock()
}

// CacheStats returns how many GET answers came from the cache and how
// many were computed.
func (h *Handler) CacheStats() (hits, misses int64) {
	if h.cache == nil {
		return 0, 0
	}
	return h.cache.hits.Load(), h.cache.miss.Load()
}

// bufferedWriter collects an answer to cache it.
type bufferedWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.h }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// cached serves r from the cache, or runs fn and caches a 200 answer.
// The key is the path (format included) and the raw query.
func (h *Handler) cached(w http.ResponseWriter, r *http.Request, fn func(w http.ResponseWriter) error) error {
	if h.cache == nil {
		return fn(w)
	}
	key := r.URL.Path + "?" + r.URL.RawQuery
	gen := h.o.Desk.Generation()
	now := time.Now()
	if a, ok := h.cache.get(key, gen, now); ok {
		w.Header().Set("Content-Type", a.ct)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.Write(a.body)
		return nil
	}
	bw := &bufferedWriter{h: http.Header{}, status: http.StatusOK}
	if err := fn(bw); err != nil {
		return err
	}
	for k, v := range bw.h {
		w.Header()[k] = v
	}
	w.WriteHeader(bw.status)
	w.Write(bw.buf.Bytes())
	if bw.status == http.StatusOK {
		h.cache.put(key, cachedAnswer{gen: gen, at: now, body: bw.buf.Bytes(), ct: bw.h.Get("Content-Type")})
	}
	return nil
}
