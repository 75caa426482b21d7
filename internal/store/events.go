package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
	"github.com/jackc/pgx/v5"
)

// Cross-node live events. Several civic nodes may share one PostgreSQL
// database; what one node commits, the others' live pages must show. The
// database carries the news: after a commit, the node that made it sends a
// NOTIFY on the channel "civic_events.SCHEMA" naming what changed (the bins
// whose state moved, the alerts that changed and how) and its own node id;
// every node LISTENs on a connection of its own and, on a wake-up, reads
// the current rows of what was named and hands them to its live pages.
//
// The notification names the changed rows instead of carrying a watermark
// (say bin_state.updated_at) because a watermark read would miss rows: the
// stamp is taken before the commit, so transactions of several nodes
// become visible out of stamp order, and every node stamps by its own
// clock. Reading the named rows back is exact and does not depend on
// clocks.
//
// Both directions are coalesced: a node sends at most one round of
// notifications per Interval (ingest commits hundreds of times a second),
// and reads back at most once per Interval whatever the notifications
// received meanwhile named. A round that would name more bins than a few
// notifications hold (PostgreSQL caps a payload below 8000 bytes) says
// "all" instead, and the receivers read every state.
//
// Notifications reach only connected listeners. When the listening
// connection drops, the listener reconnects with backoff, LISTENs again and
// then catches up: it reads every bin state and every unresolved alert,
// compares the alerts with those it knew, and reports the differences
// (alerts that disappeared from the unresolved set are read back and
// reported resolved). Changes whose node stopped between its commit and
// its next round (at most one Interval) are not announced; the next change
// of the same bin or alert is.
//
// On SQLite civic is one process and Events does nothing.

// Events sends this node's changes to the other nodes and delivers theirs.
// Create it with Store.NewEvents; it is safe for concurrent use.
type Events struct {
	s    *Store
	opts EventsOptions
	log  *slog.Logger

	// life runs the sender, which sends what is left and stops at Close,
	// and the listener, which stops once the sender has.
	life *lifecycle.Group
	wake chan struct{} // something to send

	channel string

	mu      sync.Mutex
	closed  bool
	outBins map[string]struct{}
	outAl   []alertRef
	// known are the unresolved alerts as this node last saw them (its
	// own changes and those read back), by id: what a catch-up compares
	// with.
	known map[string]civic.AlertStatus

	// Owned by the listener goroutine: what notifications named since the
	// last read.
	inBins map[string]struct{}
	inAll  bool
	inAl   []alertRef

	notified, received, reads, reconnects atomic.Uint64
	listenerPID                           atomic.Uint32
}

// EventsOptions configure Events. The zero value is usable, but then
// nothing is delivered.
type EventsOptions struct {
	// Node identifies this process in its notifications, so that it
	// ignores its own; random when empty.
	Node string
	// Interval bounds how often notifications are sent and how often the
	// changes they name are read back; 250 ms by default.
	Interval time.Duration
	// OnStates receives bin states that other nodes changed (on a
	// catch-up, every state). It runs on the listener's goroutine: keep it
	// quick.
	OnStates func(states []civic.BinState)
	// OnAlert receives an alert another node changed, as it is now, and
	// the change (the latest, when several came in one Interval). It runs
	// on the listener's goroutine: keep it quick.
	OnAlert func(a civic.Alert, ev civic.AlertEvent)
	// OnForget receives what any node changed in the API keys and devices
	// (this node included), as soon as the change commits, so that caches
	// of them drop it; after the listener was disconnected it receives
	// Forget{} (everything), as changes may have been missed. It runs on
	// the listener's goroutine: keep it quick.
	OnForget func(Forget)
	// Logger receives connection problems; the store's logger when nil.
	Logger *slog.Logger
}

// EventsStats are the counters of Events.
type EventsStats struct {
	Notified   uint64 // NOTIFY payloads sent
	Received   uint64 // notifications received from other nodes
	Reads      uint64 // reads of the changes notifications named
	Reconnects uint64 // reconnections of the listener (each followed by a catch-up)
}

// Limits of one round of notifications.
const (
	maxPayload  = 7000 // PostgreSQL refuses payloads of 8000 bytes or more
	maxMessages = 8    // past this, one "all" notification instead
	// listenPing is how often an idle listening connection is checked.
	listenPing = 30 * time.Second
	// Reconnection backoff of the listener.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// alertRef names a changed alert in a notification.
type alertRef struct {
	ID    string           `json:"id"`
	Event civic.AlertEvent `json:"event"`
}

// eventMsg is a notification's payload.
type eventMsg struct {
	Node   string     `json:"node"`
	Bins   []string   `json:"bins,omitempty"`
	Alerts []alertRef `json:"alerts,omitempty"`
	// All: anything may have changed; read everything.
	All bool `json:"all,omitempty"`
	// Forget names what every node must stop trusting its cache of: sent
	// by the store inside the transaction that changes it, so it is
	// delivered exactly when the change commits (node is empty).
	Forget []Forget `json:"forget,omitempty"`
}

// Forget names a record that changed, so that whoever caches it drops it:
// an API key, a device, a bin or a zone (Kind), by ID; an empty ID means
// every record of the kind, an empty Kind anything cached.
type Forget struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Kinds of Forget.
const (
	ForgetKey    = "key"
	ForgetDevice = "device"
	ForgetBin    = "bin"
	ForgetZone   = "zone"
)

// NewEvents returns the cross-node events of s; Start starts them.
func (s *Store) NewEvents(opts EventsOptions) *Events {
	if opts.Node == "" {
		var b [6]byte
		rand.Read(b[:])
		opts.Node = hex.EncodeToString(b[:])
	}
	opts.Interval = cmp.Or(opts.Interval, 250*time.Millisecond)
	return &Events{
		s: s, opts: opts, log: cmp.Or(opts.Logger, s.log),
		life:    lifecycle.New("live events"),
		wake:    make(chan struct{}, 1),
		outBins: map[string]struct{}{}, known: map[string]civic.AlertStatus{},
		inBins: map[string]struct{}{},
	}
}

// Node returns the id this process signs its notifications with.
func (e *Events) Node() string { return e.opts.Node }

// Stats returns the counters.
func (e *Events) Stats() EventsStats {
	return EventsStats{Notified: e.notified.Load(), Received: e.received.Load(), Reads: e.reads.Load(), Reconnects: e.reconnects.Load()}
}

// Start starts sending and listening. It returns once this node listens,
// so that what other nodes commit from then on is delivered, and what they
// committed before is in the store for pages loaded afterwards; if the
// listening connection cannot be made, it logs why and keeps trying in the
// background. On SQLite it does nothing. Errors: Unavailable (the database
// does not answer); lifecycle.ErrStarted or ErrClosed (wrapped) when the
// Events were started or closed before.
func (e *Events) Start(ctx context.Context) error {
	return e.life.Start(func() error {
		if !e.s.pg() {
			return nil
		}
		channel, err := e.s.eventsChannel(ctx, e.s.rdb)
		if err != nil {
			return e.s.fail(errCtx{op: "start live events"}, err)
		}
		e.mu.Lock()
		e.channel = channel
		e.mu.Unlock()
		e.life.Go("send", e.sendLoop)
		conn, err := e.connect(ctx)
		if err == nil {
			if err = e.catchUp(ctx, false); err != nil {
				closeSession(conn)
				conn = nil
			}
		}
		if err != nil {
			e.log.Warn("live events: cannot listen to other nodes yet; retrying", "err", err)
		}
		e.life.Serve("listen", func(ctx context.Context) error {
			e.listenLoop(ctx, conn)
			return nil
		})
		return nil
	})
}

// channelOf is the notification channel of schema; channel names are at
// most 63 bytes.
func channelOf(schema string) string {
	ch := "civic_events." + schema
	if len(ch) > 63 {
		h := fnv.New64a()
		h.Write([]byte(schema))
		ch = "civic_events." + strconv.FormatUint(h.Sum64(), 16)
	}
	return ch
}

// OnChange sets fn to be called, in this process and on either engine,
// after every commit that revokes an API key or creates, changes or deletes
// a device, a bin or a zone, once for each record it names. Several nodes
// on PostgreSQL hear of each other's changes through Events.OnForget. fn
// runs on the committing goroutine: keep it quick.
func (s *Store) OnChange(fn func(Forget)) { s.onChange.Store(&fn) }

// change runs fn in a transaction; fn calls note for each record it
// changes. On PostgreSQL the transaction also notifies every node's Events
// of them (delivered when it commits, never if it rolls back); after the
// commit the OnChange hook hears of them.
func (s *Store) change(ctx context.Context, c errCtx, fn func(tx *sql.Tx, note func(Forget)) error) error {
	var changed []Forget
	err := s.inTx(ctx, c, func(tx *sql.Tx) error {
		changed = changed[:0]
		if err := fn(tx, func(f Forget) { changed = append(changed, f) }); err != nil {
			return err
		}
		for _, f := range changed {
			if err := s.notifyForget(ctx, tx, f); err != nil {
				return err
			}
		}
		return nil
	})
	if fn := s.onChange.Load(); err == nil && fn != nil {
		for _, f := range changed {
			(*fn)(f)
		}
	}
	return err
}

// notifyForget tells every node's Events, from inside tx, that f changed:
// PostgreSQL delivers the notification when tx commits, and not at all if
// it rolls back. On SQLite, one process, it does nothing.
func (s *Store) notifyForget(ctx context.Context, tx *sql.Tx, f Forget) error {
	if !s.pg() {
		return nil
	}
	ch, err := s.eventsChannel(ctx, tx)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(eventMsg{Forget: []Forget{f}})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, ch, string(payload))
	return err
}

// eventsChannel returns the notification channel of the store's schema,
// asking q for the schema the first time.
func (s *Store) eventsChannel(ctx context.Context, q querier) (string, error) {
	if ch := s.channel.Load(); ch != nil {
		return *ch, nil
	}
	var schema string
	if err := q.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", err
	}
	ch := channelOf(schema)
	s.channel.Store(&ch)
	return ch, nil
}

// Close sends what is pending and stops. It returns ctx's error if ctx
// ends first.
func (e *Events) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return e.life.Close(ctx)
}

// ReadingsCommitted tells the other nodes that the states of the bins of
// rs moved. It is meant for the ingest writer's commit hook: it never
// blocks on the database.
func (e *Events) ReadingsCommitted(rs []civic.Reading) {
	if !e.s.pg() || len(rs) == 0 {
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	last := ""
	for i := range rs {
		if b := rs[i].Bin; b != "" && b != last {
			e.outBins[b] = struct{}{}
			last = b
		}
	}
	e.mu.Unlock()
	e.kick()
}

// AlertChanged tells the other nodes that alert a changed (ev). Call it
// after the change committed.
func (e *Events) AlertChanged(a civic.Alert, ev civic.AlertEvent) {
	if !e.s.pg() || a.ID == "" {
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.noteAlertLocked(&a)
	e.outAl = addAlertRef(e.outAl, alertRef{a.ID, ev})
	e.mu.Unlock()
	e.kick()
}

// noteAlertLocked records a's status in known. e.mu is held.
func (e *Events) noteAlertLocked(a *civic.Alert) {
	if a.Status == civic.AlertResolved {
		delete(e.known, a.ID)
	} else {
		e.known[a.ID] = a.Status
	}
}

// addAlertRef adds r to refs, replacing an earlier change of the same
// alert: the later change is what matters.
func addAlertRef(refs []alertRef, r alertRef) []alertRef {
	if i := slices.IndexFunc(refs, func(x alertRef) bool { return x.ID == r.ID }); i >= 0 {
		refs = slices.Delete(refs, i, i+1)
	}
	return append(refs, r)
}

func (e *Events) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// ---- sending ----

func (e *Events) sendLoop(_ context.Context, stop <-chan struct{}) error {
	var last time.Time
	for {
		select {
		case <-e.wake:
		case <-stop:
			e.flush()
			return nil
		}
		if wait := time.Until(last.Add(e.opts.Interval)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				e.flush()
				return nil
			}
		}
		last = time.Now()
		if !e.flush() {
			// Try again after a pause; what was pending is kept.
			t := time.NewTimer(4 * e.opts.Interval)
			select {
			case <-t.C:
				e.kick()
			case <-stop:
				t.Stop()
				e.flush()
				return nil
			}
		}
	}
}

// flush sends what is pending; on failure it puts it back and reports
// false.
func (e *Events) flush() bool {
	e.mu.Lock()
	bins, alerts := e.outBins, e.outAl
	e.outBins, e.outAl = map[string]struct{}{}, nil
	e.mu.Unlock()
	if len(bins) == 0 && len(alerts) == 0 {
		return true
	}
	ids := make([]string, 0, len(bins))
	for b := range bins {
		ids = append(ids, b)
	}
	slices.Sort(ids)
	msgs := encodeEvents(e.opts.Node, ids, alerts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.s.wdb.ExecContext(ctx, `SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m`, e.channel, msgs)
	if err != nil {
		e.log.Warn("live events: notify other nodes", "err", err)
		e.mu.Lock()
		for _, b := range ids {
			e.outBins[b] = struct{}{}
		}
		for _, r := range alerts {
			if !slices.ContainsFunc(e.outAl, func(x alertRef) bool { return x.ID == r.ID }) {
				e.outAl = append(e.outAl, r)
			}
		}
		e.mu.Unlock()
		return false
	}
	e.notified.Add(uint64(len(msgs)))
	return true
}

// encodeEvents splits one round of changes into payloads below maxPayload
// bytes, or one "all" payload when that would take more than maxMessages.
func encodeEvents(node string, bins []string, alerts []alertRef) []string {
	head := `{"node":` + quoteJSON(node)
	allMsg := []string{head + `,"all":true}`}
	var (
		out          []string
		binPart, alP []byte
	)
	size := func() int { return len(head) + len(`,"bins":[],"alerts":[]}`) + len(binPart) + len(alP) }
	finish := func() {
		if len(binPart) == 0 && len(alP) == 0 {
			return
		}
		m := head
		if len(binPart) > 0 {
			m += `,"bins":[` + string(binPart) + `]`
		}
		if len(alP) > 0 {
			m += `,"alerts":[` + string(alP) + `]`
		}
		out = append(out, m+`}`)
		binPart, alP = nil, nil
	}
	add := func(part *[]byte, item string) bool {
		if len(head)+len(item)+32 > maxPayload {
			return false
		}
		if size()+len(item)+1 > maxPayload {
			finish()
		}
		if len(*part) > 0 {
			*part = append(*part, ',')
		}
		*part = append(*part, item...)
		return len(out) < maxMessages
	}
	for _, b := range bins {
		if !add(&binPart, quoteJSON(b)) {
			return allMsg
		}
	}
	for _, r := range alerts {
		if !add(&alP, `{"id":`+quoteJSON(r.ID)+`,"event":`+quoteJSON(string(r.Event))+`}`) {
			return allMsg
		}
	}
	finish()
	if len(out) > maxMessages {
		return allMsg
	}
	return out
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- listening ----

// connect opens the listening session and LISTENs.
func (e *Events) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := e.s.sessionConn(ctx, "civic events "+e.opts.Node)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{e.channel}.Sanitize()); err != nil {
		closeSession(conn)
		return nil, civic.Wrap(civic.Unavailable, err, "database unavailable")
	}
	e.listenerPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listenLoop receives on conn (nil: not connected) and reconnects, with
// backoff and a catch-up, until ctx ends (Close).
func (e *Events) listenLoop(ctx context.Context, conn *pgx.Conn) {
	backoff := minBackoff
	for {
		if conn == nil {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			backoff = min(2*backoff, maxBackoff)
			c, err := e.connect(ctx)
			if err == nil {
				e.reconnects.Add(1)
				// Keys and devices may have changed unannounced meanwhile.
				if e.opts.OnForget != nil {
					e.opts.OnForget(Forget{})
				}
				// LISTEN first, then read: what commits after the read
				// is announced on c.
				if err = e.catchUp(ctx, true); err != nil {
					closeSession(c)
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				e.log.Warn("live events: reconnect", "err", err, "retry_in", backoff.String())
				continue
			}
			conn, backoff = c, minBackoff
			e.log.Info("live events: listening to other nodes again")
		}
		err := e.receive(ctx, conn)
		closeSession(conn)
		conn = nil
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("live events: lost the listening connection; reconnecting", "err", err)
	}
}

// receive takes notifications from conn and reads back what they name, at
// most once per Interval, until conn fails or Close.
func (e *Events) receive(ctx context.Context, conn *pgx.Conn) error {
	var due, last time.Time // due: when to read back; zero when nothing is pending
	for {
		wait := listenPing
		if !due.IsZero() {
			wait = max(time.Until(due), 0)
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil && e.take(n.Payload) && due.IsZero() {
			due = last.Add(e.opts.Interval)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			if due.IsZero() { // idle: is the connection still there?
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := conn.Ping(pctx)
				cancel()
				if err != nil {
					return err
				}
			}
		default:
			return err
		}
		if !due.IsZero() && !time.Now().Before(due) {
			last = time.Now()
			due = time.Time{}
			if err := e.readBack(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				e.log.Warn("live events: read changes", "err", err)
				due = time.Now().Add(4 * e.opts.Interval) // kept pending: try again
			}
		}
	}
}

// take records what a notification names; it reports whether it was
// another node's.
func (e *Events) take(payload string) bool {
	var m eventMsg
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		e.log.Warn("live events: bad notification", "payload", payload, "err", err)
		return false
	}
	if e.opts.OnForget != nil {
		for _, f := range m.Forget {
			e.opts.OnForget(f)
		}
	}
	if m.Node == e.opts.Node || m.Node == "" {
		return false
	}
	e.received.Add(1)
	e.inAll = e.inAll || m.All
	for _, b := range m.Bins {
		e.inBins[b] = struct{}{}
	}
	for _, r := range m.Alerts {
		e.inAl = addAlertRef(e.inAl, r)
	}
	return true
}

// readBack reads the current rows of what notifications named and
// delivers them. What it could not read stays pending.
func (e *Events) readBack(ctx context.Context) error {
	e.reads.Add(1)
	if e.inAll {
		if err := e.catchUp(ctx, true); err != nil {
			return err
		}
		e.inAll, e.inAl = false, nil
		clear(e.inBins)
		return nil
	}
	if len(e.inBins) > 0 {
		ids := make([]string, 0, len(e.inBins))
		for b := range e.inBins {
			ids = append(ids, b)
		}
		slices.Sort(ids)
		states, err := e.s.statesOf(ctx, ids)
		if err != nil {
			return err
		}
		clear(e.inBins)
		if len(states) > 0 && e.opts.OnStates != nil {
			e.opts.OnStates(states)
		}
	}
	if len(e.inAl) > 0 {
		ids := make([]string, len(e.inAl))
		for i, r := range e.inAl {
			ids[i] = r.ID
		}
		got, err := e.s.alertsOf(ctx, ids)
		if err != nil {
			return err
		}
		refs := e.inAl
		e.inAl = nil
		e.mu.Lock()
		for i := range got {
			e.noteAlertLocked(&got[i])
		}
		e.mu.Unlock()
		for _, r := range refs {
			if i := slices.IndexFunc(got, func(a civic.Alert) bool { return a.ID == r.ID }); i >= 0 && e.opts.OnAlert != nil {
				e.opts.OnAlert(got[i], r.Event)
			}
		}
	}
	return nil
}

// catchUp reads every bin state and every unresolved alert. With deliver,
// it delivers the states and the alerts that changed from what this node
// knew; without, it only learns the unresolved alerts (at start-up, when
// pages have not loaded anything yet).
func (e *Events) catchUp(ctx context.Context, deliver bool) error {
	var states []civic.BinState
	if deliver {
		var err error
		if states, err = e.s.BinStates(ctx); err != nil {
			return err
		}
	}
	open, err := list(ctx, e.s, "unresolved alerts", `SELECT `+alertCols+` FROM alerts WHERE status <> 'resolved'`, scanAlert)
	if err != nil {
		return err
	}
	now := make(map[string]civic.AlertStatus, len(open))
	for _, a := range open {
		now[a.ID] = a.Status
	}
	e.mu.Lock()
	before := e.known
	e.known = now
	e.mu.Unlock()
	if !deliver {
		return nil
	}
	var changed []civic.Alert
	for _, a := range open {
		if before[a.ID] != a.Status {
			changed = append(changed, a)
		}
	}
	var gone []string
	for id := range before {
		if _, ok := now[id]; !ok {
			gone = append(gone, id)
		}
	}
	var resolved []civic.Alert
	if len(gone) > 0 {
		if resolved, err = e.s.alertsOf(ctx, gone); err != nil {
			return err
		}
	}
	if len(states) > 0 && e.opts.OnStates != nil {
		e.opts.OnStates(states)
	}
	if e.opts.OnAlert != nil {
		for _, a := range changed {
			ev := civic.EventOpened
			if a.Status == civic.AlertAcknowledged {
				ev = civic.EventAcknowledged
			}
			e.opts.OnAlert(a, ev)
		}
		for _, a := range resolved {
			if a.Status == civic.AlertResolved {
				e.opts.OnAlert(a, civic.EventResolved)
			}
		}
	}
	return nil
}

// statesOf returns the states of the given existing bins, ordered by bin
// id.
func (s *Store) statesOf(ctx context.Context, bins []string) ([]civic.BinState, error) {
	return list(ctx, s, "bin states", `SELECT `+stateCols+` FROM bin_state st JOIN bins b ON b.id = st.bin_id
		WHERE st.bin_id = ANY($1) ORDER BY st.bin_id`, func(r rowScanner) (civic.BinState, error) {
		var st stateScan
		if err := r.Scan(st.dest()...); err != nil {
			return civic.BinState{}, err
		}
		return *st.state(), nil
	}, bins)
}

// alertsOf returns the alerts with the given ids that exist, ordered by id.
func (s *Store) alertsOf(ctx context.Context, ids []string) ([]civic.Alert, error) {
	return list(ctx, s, "alerts", `SELECT `+alertCols+` FROM alerts WHERE id = ANY($1) ORDER BY id`, scanAlert, ids)
}
