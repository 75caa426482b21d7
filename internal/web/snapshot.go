package web

import (
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"log/slog"

	"github.com/civic-city/civic/internal/civic"
)

// Flags of a bin on the map, a bit set in the compact row. The map's
// "alerts only" filter shows bins with any of them (or offline ones).
const (
	flagFull       = 1 << iota // fill at or above the bin's threshold
	flagFire                   // the sensor reports fire
	flagDoorOpen               // the door or lid is open
	flagTilted                 // tilted past tiltAlertDeg: knocked over
	flagLowBattery             // battery at or below lowBattery (civic.LowBattery)
)

const (
	tiltAlertDeg = 45.0
	lowBattery   = civic.LowBattery
	// offlineAfter is how long without a reading makes a bin "offline" on
	// the map and in the list.
	offlineAfter = 24 * time.Hour
	// maxBuffered bounds the readings kept while a reload runs; past it
	// another reload follows, since the buffer no longer has everything.
	maxBuffered = 200_000
)

// binEntry is one bin as the map knows it.
type binEntry struct {
	bin    civic.Bin
	st     civic.BinState
	hasSt  bool
	row    []byte // the bin's compact JSON row; replaced, never mutated
	zoneNm string
}

// snapshot is the pre-encoded map data at one sequence number of one load
// generation, plain and gzipped.
type snapshot struct {
	seq, gen uint64
	body, gz []byte
	etag     string
}

// zoneInfo is a zone as the filters and the overlay need it.
type zoneInfo struct {
	ID, Name string
}

// binCache holds every bin with its latest state in memory, their
// pre-encoded map snapshot and the changes not yet sent to browsers.
type binCache struct {
	store    civic.Store
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	hub      *hub

	loadMu  sync.Mutex // one load at a time
	flushMu sync.Mutex // one flush at a time, so snapshots go out in order
	snapMu  sync.Mutex // guards storing snap

	mu        sync.Mutex
	loaded    bool
	loading   bool
	closed    bool
	gen       uint64 // load generation, part of the ETag
	byID      map[string]*binEntry
	order     []*binEntry // by id
	zones     []zoneInfo
	zonesJSON []byte
	seq       uint64
	pending   map[string]*binEntry
	flushing  *time.Timer
	buffered  []civic.Reading
	bufStates []civic.BinState
	overflow  bool
	reloading bool

	snap atomic.Pointer[snapshot]
}

func newBinCache(st civic.Store, log *slog.Logger, now func() time.Time, interval time.Duration, h *hub) *binCache {
	return &binCache{store: st, log: log, now: now, interval: interval, hub: h, pending: map[string]*binEntry{}}
}

// ensure loads the bins once.
func (c *binCache) ensure(ctx context.Context) error {
	c.mu.Lock()
	ok := c.loaded
	c.mu.Unlock()
	if ok {
		return nil
	}
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	c.mu.Lock()
	ok = c.loaded
	c.mu.Unlock()
	if ok {
		return nil
	}
	return c.loadLocked(ctx)
}

// load reads bins, states and zones from the store and replaces the cache.
func (c *binCache) load(ctx context.Context) error {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	return c.loadLocked(ctx)
}

func (c *binCache) loadLocked(ctx context.Context) error {
	c.mu.Lock()
	c.loading = true
	c.buffered, c.bufStates, c.overflow = nil, nil, false
	c.mu.Unlock()

	views, err := c.store.ListBins(ctx, civic.BinFilter{})
	var zones []civic.Zone
	if err == nil {
		zones, err = c.store.ListZones(ctx)
	}
	if err != nil {
		c.mu.Lock()
		c.loading = false
		c.buffered, c.bufStates = nil, nil
		c.mu.Unlock()
		return err
	}
	zoneNames := make(map[string]string, len(zones))
	infos := make([]zoneInfo, 0, len(zones))
	for _, z := range zones {
		zoneNames[z.ID] = z.Name
		infos = append(infos, zoneInfo{z.ID, z.Name})
	}
	slices.SortFunc(infos, func(a, b zoneInfo) int { return cmp.Compare(a.Name, b.Name) })
	byID := make(map[string]*binEntry, len(views))
	order := make([]*binEntry, 0, len(views))
	for _, v := range views {
		e := &binEntry{bin: v.Bin, zoneNm: zoneNames[v.ZoneID]}
		if v.State != nil {
			e.st, e.hasSt = *v.State, true
		}
		e.row = encodeRow(nil, e)
		byID[e.bin.ID] = e
		order = append(order, e)
	}
	slices.SortFunc(order, func(a, b *binEntry) int { return cmp.Compare(a.bin.ID, b.bin.ID) })
	zj := zonesGeoJSON(zones)

	c.mu.Lock()
	c.byID, c.order, c.zones, c.zonesJSON = byID, order, infos, zj
	c.loaded, c.loading = true, false
	c.gen++
	again := c.overflow
	buffered, bufStates := c.buffered, c.bufStates
	c.buffered, c.bufStates, c.overflow = nil, nil, false
	c.pending = map[string]*binEntry{}
	// Readings committed while the store was read may be missing from
	// what it returned; merging is ordered by time, so applying them
	// again is harmless.
	for i := range buffered {
		c.applyReading(&buffered[i])
	}
	for i := range bufStates {
		c.applyState(&bufStates[i])
	}
	c.pending = map[string]*binEntry{}
	c.seq++
	c.buildLocked()
	c.mu.Unlock()
	// Browsers holding the old set (bins added or removed) resync.
	c.hub.broadcast([]byte(`{"reload":true}`))
	if again {
		c.scheduleReload()
	}
	return nil
}

// buildLocked encodes and stores the snapshot of the current entries while
// c.mu is held. Only loads do this; flushes encode outside the lock.
func (c *binCache) buildLocked() {
	c.storeSnap(encodeSnapshot(c.seq, c.gen, c.rowsLocked()))
}

// rowsLocked returns the encoded rows in id order. Rows are never modified
// once made, so they may be joined after c.mu is released.
func (c *binCache) rowsLocked() [][]byte {
	rows := make([][]byte, len(c.order))
	for i, e := range c.order {
		rows[i] = e.row
	}
	return rows
}

// encodeSnapshot joins rows into the map snapshot and compresses it, so no
// request ever waits for either.
func encodeSnapshot(seq, gen uint64, rows [][]byte) *snapshot {
	size := 32
	for _, r := range rows {
		size += len(r) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"v":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"bins":[`...)
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, "]}\n"...)
	return &snapshot{seq: seq, gen: gen, body: b, gz: gzipBytes(b, gzip.BestSpeed),
		etag: `"` + strconv.FormatUint(gen, 36) + "-" + strconv.FormatUint(seq, 36) + `"`}
}

// storeSnap publishes s unless a newer snapshot is already out (a flush
// that encoded outside the lock may finish after a reload).
func (c *binCache) storeSnap(s *snapshot) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if cur := c.snap.Load(); cur != nil && (cur.gen > s.gen || cur.gen == s.gen && cur.seq >= s.seq) {
		return
	}
	c.snap.Store(s)
}

// current returns the latest snapshot, loading the bins first if needed.
func (c *binCache) current(ctx context.Context) (*snapshot, error) {
	if err := c.ensure(ctx); err != nil {
		return nil, err
	}
	return c.snap.Load(), nil
}

func (c *binCache) publishReadings(rs []civic.Reading) {
	unknown := false
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.loading {
		if len(c.buffered)+len(rs) > maxBuffered {
			c.overflow = true
		} else {
			c.buffered = append(c.buffered, rs...)
		}
	}
	if c.loaded {
		for i := range rs {
			if !c.applyReading(&rs[i]) {
				unknown = true
			}
		}
		c.scheduleFlushLocked()
	}
	c.mu.Unlock()
	if unknown {
		c.scheduleReload()
	}
}

func (c *binCache) publishStates(sts []civic.BinState) {
	unknown := false
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.loading {
		if len(c.bufStates)+len(sts) > maxBuffered {
			c.overflow = true
		} else {
			c.bufStates = append(c.bufStates, sts...)
		}
	}
	if c.loaded {
		for i := range sts {
			if !c.applyState(&sts[i]) {
				unknown = true
			}
		}
		c.scheduleFlushLocked()
	}
	c.mu.Unlock()
	if unknown {
		c.scheduleReload()
	}
}

// applyReading moves r's bin's state by r as the store does
// (civic.BinState.Apply). It reports false for an unknown bin. c.mu is held.
func (c *binCache) applyReading(r *civic.Reading) bool {
	if r.Bin == "" {
		return true
	}
	e, ok := c.byID[r.Bin]
	if !ok {
		return false
	}
	st := e.st
	if !st.Apply(*r) {
		return true
	}
	st.UpdatedAt = c.now().UTC()
	c.replaceLocked(e, st)
	return true
}

// applyState replaces a bin's state unless it is older than the one known.
func (c *binCache) applyState(s *civic.BinState) bool {
	e, ok := c.byID[s.BinID]
	if !ok {
		return false
	}
	if e.hasSt && s.Time.Before(e.st.Time) {
		return true
	}
	c.replaceLocked(e, *s)
	return true
}

// replaceLocked swaps in a new entry (entries are shared with readers that
// copied c.order without the lock, so they are never modified in place).
func (c *binCache) replaceLocked(old *binEntry, st civic.BinState) {
	e := &binEntry{bin: old.bin, st: st, hasSt: true, zoneNm: old.zoneNm}
	e.row = encodeRow(make([]byte, 0, len(old.row)+8), e)
	c.byID[e.bin.ID] = e
	i, found := slices.BinarySearchFunc(c.order, e.bin.ID, func(x *binEntry, id string) int { return cmp.Compare(x.bin.ID, id) })
	if found {
		c.order[i] = e
	}
	c.pending[e.bin.ID] = e
}

// scheduleFlushLocked arms the flush timer if there are changes to send.
func (c *binCache) scheduleFlushLocked() {
	if len(c.pending) == 0 || c.flushing != nil || c.closed {
		return
	}
	c.flushing = time.AfterFunc(c.interval, c.flush)
}

// flush advances the sequence, re-encodes the snapshot outside the lock and
// then sends the changed rows to the live clients: a browser that fetches
// the snapshot after an event was sent gets a snapshot at least that new.
func (c *binCache) flush() {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	c.flushing = nil
	if len(c.pending) == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	c.seq++
	changed := make([]*binEntry, 0, len(c.pending))
	for _, e := range c.pending {
		changed = append(changed, e)
	}
	clear(c.pending)
	seq, gen, rows := c.seq, c.gen, c.rowsLocked()
	c.mu.Unlock()

	c.storeSnap(encodeSnapshot(seq, gen, rows))
	size := 32
	for _, e := range changed {
		size += len(e.row) + 1
	}
	msg := make([]byte, 0, size)
	msg = append(msg, `{"v":`...)
	msg = strconv.AppendUint(msg, seq, 10)
	msg = append(msg, `,"bins":[`...)
	for i, e := range changed {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, e.row...)
	}
	msg = append(msg, "]}"...)
	c.hub.broadcast(msg)
}

// scheduleReload reloads the bins in the background soon, at most one
// reload pending at a time.
func (c *binCache) scheduleReload() {
	c.mu.Lock()
	if c.reloading || c.closed {
		c.mu.Unlock()
		return
	}
	c.reloading = true
	c.mu.Unlock()
	time.AfterFunc(2*time.Second, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.mu.Lock()
		c.reloading = false
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		if err := c.load(ctx); err != nil {
			c.log.Error("web: reloading bins", "err", err)
		}
	})
}

func (c *binCache) close() {
	c.mu.Lock()
	c.closed = true
	if c.flushing != nil {
		c.flushing.Stop()
		c.flushing = nil
	}
	c.mu.Unlock()
}

// entries returns the bins in id order and the zones. The entries must not
// be modified.
func (c *binCache) entries(ctx context.Context) ([]*binEntry, []zoneInfo, error) {
	if err := c.ensure(ctx); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order), c.zones, nil
}

// entry returns one bin's entry, or nil.
func (c *binCache) entry(id string) *binEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[id]
}

// zonesBody returns the zones as a GeoJSON FeatureCollection.
func (c *binCache) zonesBody(ctx context.Context) ([]byte, error) {
	if err := c.ensure(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zonesJSON, nil
}

func zonesGeoJSON(zones []civic.Zone) []byte {
	type props struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	type feature struct {
		Type       string             `json:"type"`
		ID         string             `json:"id"`
		Properties props              `json:"properties"`
		Geometry   civic.MultiPolygon `json:"geometry"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: []feature{}}
	for _, z := range zones {
		fc.Features = append(fc.Features, feature{"Feature", z.ID, props{z.ID, z.Name}, z.Boundary})
	}
	b, err := json.Marshal(fc)
	if err != nil {
		return []byte(`{"type":"FeatureCollection","features":[]}`)
	}
	return b
}

// flags returns the entry's alert flags.
func (e *binEntry) flags() int {
	if !e.hasSt {
		return 0
	}
	f := 0
	st := &e.st
	if st.Fill != nil && *st.Fill >= e.bin.Threshold() {
		f |= flagFull
	}
	if st.Fire != nil && *st.Fire {
		f |= flagFire
	}
	if st.DoorOpen != nil && *st.DoorOpen {
		f |= flagDoorOpen
	}
	if st.TiltDeg != nil && *st.TiltDeg >= tiltAlertDeg {
		f |= flagTilted
	}
	if st.Battery != nil && *st.Battery <= lowBattery {
		f |= flagLowBattery
	}
	return f
}

// fillPct returns the fill in whole percent, or -1 when unknown.
func (e *binEntry) fillPct() int {
	if !e.hasSt || e.st.Fill == nil {
		return -1
	}
	return int(math.Round(*e.st.Fill * 100))
}

// encodeRow appends the bin's compact map row:
//
//	[id, lat, lon, fill %|null, stream, zone, status, flags, last reading (Unix s, 0 if none)]
//
// The order is fixed and documented in static/map.js.
func encodeRow(b []byte, e *binEntry) []byte {
	b = append(b, '[')
	b = appendJSONString(b, e.bin.ID)
	b = append(b, ',')
	b = strconv.AppendFloat(b, round6(e.bin.Lat), 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, round6(e.bin.Lon), 'f', -1, 64)
	b = append(b, ',')
	if p := e.fillPct(); p >= 0 {
		b = strconv.AppendInt(b, int64(p), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, ',')
	b = appendJSONString(b, string(e.bin.Stream))
	b = append(b, ',')
	b = appendJSONString(b, e.bin.ZoneID)
	b = append(b, ',')
	b = appendJSONString(b, string(e.bin.Status))
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.flags()), 10)
	b = append(b, ',')
	var t int64
	if e.hasSt && !e.st.Time.IsZero() {
		t = e.st.Time.Unix()
	}
	b = strconv.AppendInt(b, t, 10)
	return append(b, ']')
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Ids are plain ASCII, but
// names of zones and free text may not be.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
