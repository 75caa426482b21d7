package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// hub fans messages out to the connected live clients. A client whose buffer
// is full is disconnected rather than waited for: the browser reconnects and
// fetches a fresh snapshot, and the publisher never blocks.
type hub struct {
	max, perOwner, buffer int

	mu      sync.Mutex
	clients map[*liveClient]struct{}
	owners  map[string]int // streams open per owner
	closed  bool
}

type liveClient struct {
	owner string
	ch    chan []byte
	kick  chan struct{} // closed when the hub drops the client
}

func newHub(max, perOwner, buffer int) *hub {
	return &hub{max: max, perOwner: perOwner, buffer: buffer, clients: map[*liveClient]struct{}{}, owners: map[string]int{}}
}

// Why join refused a client.
var (
	errHubFull   = civic.Errorf(civic.Unavailable, "too many live connections, try again")
	errOwnerFull = civic.Errorf(civic.Unavailable, "you have too many live connections open; close a tab")
)

// join adds a client of owner (a user or key: who may not take every
// slot); errHubFull when the hub is full or closed, errOwnerFull when owner
// holds perOwner streams already.
func (h *hub) join(owner string) (*liveClient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= h.max {
		return nil, errHubFull
	}
	if h.perOwner > 0 && h.owners[owner] >= h.perOwner {
		return nil, errOwnerFull
	}
	c := &liveClient{owner: owner, ch: make(chan []byte, h.buffer), kick: make(chan struct{})}
	h.clients[c] = struct{}{}
	h.owners[owner]++
	return c, nil
}

// drop removes c; h.mu is held.
func (h *hub) drop(c *liveClient) {
	delete(h.clients, c)
	if h.owners[c.owner]--; h.owners[c.owner] <= 0 {
		delete(h.owners, c.owner)
	}
	close(c.kick)
}

func (h *hub) leave(c *liveClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		h.drop(c)
	}
}

// broadcast queues msg for every client without blocking.
func (h *hub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.ch <- msg:
		default:
			h.drop(c)
		}
	}
}

// count returns the number of connected clients.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for c := range h.clients {
		h.drop(c)
	}
}

// joinLive joins p's stream to h, or answers 503 with Retry-After when the
// hub or p's share of it is full.
func (u *UI) joinLive(w http.ResponseWriter, h *hub, p civic.Principal) (*liveClient, bool) {
	owner := "user:" + p.UserID
	if p.KeyID != "" {
		owner = "key:" + p.KeyID
	}
	c, err := h.join(owner)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, civic.MessageOf(err), http.StatusServiceUnavailable)
		return nil, false
	}
	return c, true
}

// heartbeat keeps idle streams alive through proxies.
const heartbeat = 20 * time.Second

// events streams bin changes as Server-Sent Events:
//
//	event: hello  data: {"v":SEQ}               once, on connect
//	event: bins   data: {"v":SEQ,"bins":[ROW...]} changed bins, rows as in bins.json
//	event: bins   data: {"reload":true}           the set of bins changed: refetch
//
// A browser first connects, then fetches /map/bins.json and applies the
// events whose v is above the snapshot's.
func (u *UI) events(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	snap, err := u.cache.current(r.Context())
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	c, ok := u.joinLive(w, u.hub, p)
	if !ok {
		return
	}
	defer u.hub.leave(c)
	rc := http.NewResponseController(w)
	// Streams outlive the server's write timeout by design.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\nevent: hello\ndata: {\"v\":" + strconv.FormatUint(snap.seq, 10) + "}\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case msg := <-c.ch:
			if _, err := w.Write(append(append([]byte("event: bins\ndata: "), msg...), "\n\n"...)); err != nil {
				return
			}
		case <-tick.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		case <-c.kick:
			return
		case <-r.Context().Done():
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
