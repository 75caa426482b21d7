package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The SQLite readings hot path: multi-row INSERT OR IGNORE statements of
// chunkRows rows (then smaller powers of two for the tail), prepared once on
// the single write connection and reused by every transaction. A statement
// never spans two batches, so RowsAffected counts each batch's new rows;
// SQLite applies the rows of one statement in order, so a repeat inside the
// call is skipped like any stored duplicate. OR IGNORE rather than
// ON CONFLICT DO NOTHING: a statement that cannot abort needs no statement
// journal, which saves copying every page it touches (WriteReadings has
// already checked the NOT NULL columns, the only other constraints).

// chunkRows is the largest number of rows in one INSERT statement: big
// enough to amortize the per-statement cost of database/sql and the driver,
// small enough to keep the parameter count well under SQLite's limit.
const chunkRows = 64

const (
	readingParams = 14 // parameters per reading row
	stateParams   = 11 // parameters per bin_state row
)

type sqliteWriter struct {
	mu     sync.Mutex
	insert map[int]*sql.Stmt // rows → prepared multi-row INSERT into readings_recent
	fresh  map[int]*sql.Stmt // the same, without the lookup in readings_main (see mainNewest)
	direct map[int]*sql.Stmt // rows → prepared multi-row INSERT into readings_main
	plain  map[int]*sql.Stmt // the same, for when readings_recent is empty
	state  map[int]*sql.Stmt // rows → prepared multi-row bin_state upsert
	args   []any             // reused argument buffer (guarded by the single write connection and mu)

	lastReceived int64 // received_at of the last call, Unix ms (guarded by mu)
	recent       int   // rows in readings_recent, or more (guarded by mu; counted when the statements are prepared)
	// mainNewest is the newest reading time in readings_main, Unix ms, or
	// later (guarded by mu; found when the statements are prepared, raised
	// by every write to readings_main). A reading newer than it cannot be a
	// repeat of one there, so it goes to readings_recent without the lookup.
	mainNewest int64

	// Live states not written yet (see pendingStates; guarded by mu).
	pend        []civic.Reading // copies of committed readings with a bin, in commit order
	pendVals    []float64       // the measurements pend points to
	pendFlags   []bool
	pendNewest  map[string]int64 // bin → the newest reading time in pend, Unix ms
	pendThrough int64            // received_at of the newest call in pend
	stateAt     time.Time        // when bin_state was last brought up to date
	armed       bool             // a timer will write pend
	shut        bool             // the store is closed: the timer does nothing
	npend       atomic.Int64     // len(pend), for readers that look without mu
}

// pendingStates: live states under sustained ingest. Every reading moves
// its bin's row in bin_state, and a commit of readings from many bins
// rewrote most of bin_state's pages: with 1,000 bins, some twenty of the
// write-ahead log's 4 KiB frames a commit however few readings it held, a
// large part of the store's cost of an MQTT reading. So while commits
// follow each other closely the writer keeps the committed readings'
// states in memory and writes them with the first commit at least
// stateEvery after the last write of bin_state, merged (binStateRows over
// them all gives the state that applying them one by one gives). The
// first commit after a quiet spell writes at once, as before.
//
// Nothing a reader sees changes: every method that reads bin_state (a
// bin, the bins, their states, open data, collections) first writes what
// is pending (syncStates), so a reading acknowledged is in the state read
// after it. A timer writes what is pending stateEvery after it began when
// no commit does, and Close writes it too. A crash may leave bin_state
// behind the readings of the last stateEvery: bin_state holds every
// reading received through the mark states_through (store_marks), and at
// open the store applies those of readings_recent received after it
// (repairStates). Readings that go straight to readings_main (a device's
// batch of directRows or more) and a fold, which empties readings_recent,
// write the states in their own commit.

// statePendingMax is how many readings pend holds at most.
const statePendingMax = 16384

// stateEvery is how long the live states may wait for a commit under
// sustained ingest, in nanoseconds (a variable for the tests).
var stateEvery = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(int64(250 * time.Millisecond))
	return &n
}()

// admit appends to into the readings of rows (binStateRows's for one call)
// that may still move their bin's state after the readings before them,
// whose newest time for each bin (Unix ms) is in newest, else in before,
// and records theirs in newest. Applied one by one, a reading moves a state only when
// it is newer than the state, which is at least as new as every reading
// applied before it: one no newer than an earlier reading of its bin
// changes nothing, whatever the stored state. The readings left are newer
// than all their bin's readings before them, so binStateRows over all the
// calls' admitted readings gives the state that applying the calls one
// after the other gives.
func admit(into []civic.Reading, rows []*civic.Reading, before, newest map[string]int64) []civic.Reading {
	for _, r := range rows {
		ms := r.Time.UnixMilli()
		m, ok := newest[r.Bin]
		if !ok {
			m, ok = before[r.Bin]
		}
		if ok && ms <= m {
			continue
		}
		newest[r.Bin] = ms
		into = append(into, *r)
	}
	return into
}

// keep appends to pend a copy of r's device, bin, time and measurements
// of state; it keeps none of the caller's memory but strings.
func (w *sqliteWriter) keep(r *civic.Reading) {
	f := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		if len(w.pendVals) == cap(w.pendVals) {
			w.pendVals = make([]float64, 0, 1024)
		}
		w.pendVals = append(w.pendVals, *p)
		return &w.pendVals[len(w.pendVals)-1]
	}
	b := func(p *bool) *bool {
		if p == nil {
			return nil
		}
		if len(w.pendFlags) == cap(w.pendFlags) {
			w.pendFlags = make([]bool, 0, 1024)
		}
		w.pendFlags = append(w.pendFlags, *p)
		return &w.pendFlags[len(w.pendFlags)-1]
	}
	w.pend = append(w.pend, civic.Reading{Device: r.Device, Bin: r.Bin, Time: r.Time,
		Fill: f(r.Fill), TemperatureC: f(r.TemperatureC), Battery: f(r.Battery), TiltDeg: f(r.TiltDeg),
		DoorOpen: b(r.DoorOpen), Fire: b(r.Fire), RSSI: f(r.RSSI)})
}

// statesWritten forgets pend once a committed transaction wrote its
// states.
func (w *sqliteWriter) statesWritten() {
	clear(w.pend) // drop the strings
	w.pend, w.pendVals, w.pendFlags = w.pend[:0], nil, nil
	clear(w.pendNewest)
	w.npend.Store(0)
	w.stateAt = time.Now()
}

// writePending writes the states pend holds in tx, stamped updated; the
// caller calls statesWritten once tx commits.
func (w *sqliteWriter) writePending(ctx context.Context, tx *sql.Tx, updated any) error {
	states, _ := binStateRows([][]civic.Reading{w.pend})
	return w.writeStates(ctx, tx, states, updated, w.pendThrough)
}

// markStatesSQL records that bin_state holds the readings received through ?.
const markStatesSQL = `INSERT INTO store_marks (name, value) VALUES ('states_through', ?)
	ON CONFLICT (name) DO UPDATE SET value = excluded.value`

// writeStates upserts states (binStateRows's) in tx, stamped updated, and
// marks bin_state as holding the readings received through through. The
// caller holds mu, with the statements prepared.
func (w *sqliteWriter) writeStates(ctx context.Context, tx *sql.Tx, states []*civic.Reading, updated any, through int64) error {
	args := w.args
	for i := 0; i < len(states); {
		n := chunkFor(len(states) - i)
		a := args[:n*stateParams]
		for k := 0; k < n; k++ {
			r := states[i+k]
			row := a[k*stateParams : (k+1)*stateParams : (k+1)*stateParams]
			row[0] = r.Bin
			row[1] = r.Device
			row[2] = r.Time.UnixMilli()
			row[3] = fval(r.Fill)
			row[4] = fval(r.TemperatureC)
			row[5] = fval(r.Battery)
			row[6] = fval(r.TiltDeg)
			row[7] = bval(r.DoorOpen)
			row[8] = bval(r.Fire)
			row[9] = fval(r.RSSI)
			row[10] = updated
		}
		if _, err := tx.StmtContext(ctx, w.state[n]).ExecContext(ctx, a...); err != nil {
			return err
		}
		i += n
	}
	clear(args) // drop references to the caller's strings
	_, err := tx.ExecContext(ctx, markStatesSQL, through)
	return err
}

func (w *sqliteWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range []map[int]*sql.Stmt{w.insert, w.fresh, w.direct, w.plain, w.state} {
		for _, st := range m {
			st.Close()
		}
	}
	w.insert, w.fresh, w.direct, w.plain, w.state = nil, nil, nil, nil, nil
}

// chunkSizes are the statement sizes, largest first.
var chunkSizes = func() []int {
	var out []int
	for n := chunkRows; n >= 1; n /= 2 {
		out = append(out, n)
	}
	return out
}()

func sqliteValues(rows, params int, tail string) string {
	var b strings.Builder
	b.Grow(rows * params * 6)
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for p := 0; p < params; p++ {
			if p > 0 {
				b.WriteString(", ")
			}
			// Anonymous parameters: SQLite resolves a named or numbered
			// one with a linear search, quadratic over a long VALUES list.
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	b.WriteString(tail)
	return b.String()
}

// readingColumns are the columns of readings_main and readings_recent, in
// the order of their definition and of readingParams.
const readingColumns = `device_id, time, bin_id, fill, temperature_c, battery, tilt_deg,
	compactions, door_open, fire, distance_mm, rssi_dbm, snr_db, received_at`

// The hot path's inserts wrap their VALUES between a head and a tail: a
// reading goes to readings_recent unless readings_main holds its key (a
// resend after a fold), or, for a device with directRows readings or more
// in the call, straight to readings_main unless readings_recent holds its
// key; each table's primary key ignores the keys it holds already.
const (
	recentInsertHead = `INSERT OR IGNORE INTO readings_recent (` + readingColumns + `) SELECT * FROM (VALUES `
	recentInsertTail = `) AS v WHERE NOT EXISTS (SELECT 1 FROM readings_main m WHERE m.device_id = v.column1 AND m.time = v.column2)`
	mainInsertHead   = `INSERT OR IGNORE INTO readings_main (` + readingColumns + `) SELECT * FROM (VALUES `
	mainInsertTail   = `) AS v WHERE NOT EXISTS (SELECT 1 FROM readings_recent r WHERE r.time = v.column2 AND r.device_id = v.column1)`
)

// directRows is how many readings of one device a call must hold for them
// to go straight to readings_main: that device's newest page is then
// written once for directRows readings or more, about what a fold costs a
// reading, without storing them twice. HTTP batches of a device's
// readings take this way; the MQTT broker's one reading a message does not.
const directRows = 4

// freshInsertHead inserts into readings_recent readings newer than any in
// readings_main (see sqliteWriter.mainNewest), which need no lookup there.
const freshInsertHead = `INSERT OR IGNORE INTO readings_recent (` + readingColumns + `) VALUES `

// mainNewestSQL finds the newest reading time in readings_main with two
// seeks a device, not a scan of the table (readings_main has no index on
// time alone): it walks the distinct device ids in key order, then takes
// each one's newest time. 0 when the table is empty.
const mainNewestSQL = `WITH RECURSIVE d(id) AS (
	SELECT min(device_id) FROM readings_main
	UNION ALL
	SELECT (SELECT min(m.device_id) FROM readings_main m WHERE m.device_id > d.id) FROM d WHERE d.id IS NOT NULL)
SELECT coalesce(max((SELECT max(m.time) FROM readings_main m WHERE m.device_id = d.id)), 0) FROM d WHERE d.id IS NOT NULL`

// rawInsertHead inserts straight into readings_main (see RawInsert).
const rawInsertHead = `INSERT OR IGNORE INTO readings_main (` + readingColumns + `) VALUES `

// foldRows is how many rows readings_recent holds before the write that
// reaches it moves them all into readings_main, sorted by its key: the
// larger, the more readings each device's page takes in one write, and the
// longer the scan of readings_recent in a reader's query of one device.
// (A variable for the tests.)
//
// BenchmarkWriteReadingsMQTT (commits of 100 one-reading batches from a
// 1,000-device fleet) measured 22–25 CPU µs a reading at 8,192 rows,
// 18–20 at 16,384, 15–16 at 32,768 and 15–17 at 65,536; a device's day of
// readings (BenchmarkReadingsRecent) took 4.9 ms to read with 8,192 rows
// waiting and 10.8 ms with 32,768. The readers that read every device's
// history at once (the forecast's training, the alert engine's start,
// device health) fold first (FoldReadings).
var foldRows = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(32768)
	return &n
}()

// foldSQL moves readings_recent into readings_main. OR IGNORE is a safety
// net only: the hot path stores no key readings_main holds.
const foldSQL = `INSERT OR IGNORE INTO readings_main (` + readingColumns + `)
	SELECT ` + readingColumns + ` FROM readings_recent ORDER BY device_id, time`

const sqliteStateHead = `INSERT INTO bin_state (bin_id, device_id, time, fill, temperature_c, battery, tilt_deg,
	door_open, fire, rssi_dbm, updated_at) VALUES `

const stateUpsertTail = ` ON CONFLICT (bin_id) DO UPDATE SET device_id = excluded.device_id, time = excluded.time,
	fill = COALESCE(excluded.fill, bin_state.fill),
	temperature_c = COALESCE(excluded.temperature_c, bin_state.temperature_c),
	battery = COALESCE(excluded.battery, bin_state.battery),
	tilt_deg = COALESCE(excluded.tilt_deg, bin_state.tilt_deg),
	door_open = COALESCE(excluded.door_open, bin_state.door_open),
	fire = COALESCE(excluded.fire, bin_state.fire),
	rssi_dbm = COALESCE(excluded.rssi_dbm, bin_state.rssi_dbm),
	updated_at = excluded.updated_at
	WHERE excluded.time > bin_state.time`

// prepare prepares the statements on the write pool. It must run outside a
// transaction: the write pool has a single connection.
func (w *sqliteWriter) prepare(ctx context.Context, db *sql.DB) error {
	if w.insert != nil {
		return nil
	}
	ins, fresh, dir, plain, st := map[int]*sql.Stmt{}, map[int]*sql.Stmt{}, map[int]*sql.Stmt{}, map[int]*sql.Stmt{}, map[int]*sql.Stmt{}
	closeAll := func() {
		for _, m := range []map[int]*sql.Stmt{ins, fresh, dir, plain, st} {
			for _, s := range m {
				s.Close()
			}
		}
	}
	for _, n := range chunkSizes {
		for _, q := range []struct {
			into  map[int]*sql.Stmt
			query string
		}{
			{ins, recentInsertHead + sqliteValues(n, readingParams, recentInsertTail)},
			{fresh, freshInsertHead + sqliteValues(n, readingParams, "")},
			{dir, mainInsertHead + sqliteValues(n, readingParams, mainInsertTail)},
			{plain, rawInsertHead + sqliteValues(n, readingParams, "")},
			{st, sqliteStateHead + sqliteValues(n, stateParams, stateUpsertTail)},
		} {
			s, err := db.PrepareContext(ctx, q.query)
			if err != nil {
				closeAll()
				return err
			}
			q.into[n] = s
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM readings_recent`).Scan(&w.recent); err != nil {
		closeAll()
		return err
	}
	if err := db.QueryRowContext(ctx, mainNewestSQL).Scan(&w.mainNewest); err != nil {
		closeAll()
		return fmt.Errorf("store: newest reading: %w", err)
	}
	w.insert, w.fresh, w.direct, w.plain, w.state = ins, fresh, dir, plain, st
	w.args = make([]any, chunkRows*readingParams)
	return nil
}

func fval(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func bval(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

func ival(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func (s *Store) writeReadingsSQLite(ctx context.Context, batches [][]civic.Reading, results []civic.IngestResult) error {
	w := s.sqliteWr
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.prepare(ctx, s.wdb); err != nil {
		return err
	}
	// received_at tells the rows this call stores from those stored
	// before (see below): it is unique per call, one millisecond past the
	// last call's at least.
	now := s.stamp().UnixMilli()
	rc := max(now, w.lastReceived+1)
	w.lastReceived = rc
	var received any = rc // boxed once, not per row
	var updated any = now

	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// With readings_recent empty (w.recent counts too many at worst), the
	// rows that go straight to readings_main need not be looked up in it.
	direct := w.direct
	if w.recent == 0 {
		direct = w.plain
	}
	// Every row of the call, each table's in its key order: consecutive
	// inserts then land on the same B-tree pages. The rows of a device
	// all go to the same table (see directRows). The sorts are stable
	// over the batches in order, so the first of two equal keys (in a
	// batch, or in the earlier batch) is the one stored.
	perDevice := make(map[string]int, 64)
	for _, batch := range batches {
		for i := range batch {
			perDevice[batch[i].Device]++
		}
	}
	var recent, toMain []rowRef
	for b, batch := range batches {
		for i := range batch {
			if perDevice[batch[i].Device] >= directRows {
				toMain = append(toMain, rowRef{int32(b), int32(i)})
			} else {
				recent = append(recent, rowRef{int32(b), int32(i)})
			}
		}
	}
	slices.SortStableFunc(recent, func(x, y rowRef) int {
		rx, ry := &batches[x.b][x.i], &batches[y.b][y.i]
		if c := cmp.Compare(rx.Time.UnixMilli(), ry.Time.UnixMilli()); c != 0 {
			return c
		}
		return strings.Compare(rx.Device, ry.Device)
	})
	slices.SortStableFunc(toMain, func(x, y rowRef) int {
		rx, ry := &batches[x.b][x.i], &batches[y.b][y.i]
		if c := strings.Compare(rx.Device, ry.Device); c != 0 {
			return c
		}
		return cmp.Compare(rx.Time.UnixMilli(), ry.Time.UnixMilli())
	})
	stored := make([]int, len(batches))
	// recent is in time order: the readings after the first one newer
	// than readings_main's newest need not be looked up there.
	split, _ := slices.BinarySearchFunc(recent, w.mainNewest, func(x rowRef, t int64) int {
		return cmp.Compare(batches[x.b][x.i].Time.UnixMilli(), t+1)
	})
	for _, part := range []struct {
		stmts map[int]*sql.Stmt
		rows  []rowRef
	}{{w.insert, recent[:split]}, {w.fresh, recent[split:]}} {
		n, err := w.insertRows(ctx, tx, part.stmts, batches, part.rows, received, rc, stored)
		if err != nil {
			return err
		}
		w.recent += n
	}
	if _, err := w.insertRows(ctx, tx, direct, batches, toMain, received, rc, stored); err != nil {
		return err
	}
	// Raised before the commit: should it fail, mainNewest is only later
	// than it needs to be, which costs lookups, never correctness.
	for _, rf := range toMain {
		w.mainNewest = max(w.mainNewest, batches[rf.b][rf.i].Time.UnixMilli())
	}
	for b, batch := range batches {
		results[b] = civic.IngestResult{Accepted: stored[b], Duplicates: len(batch) - stored[b]}
	}
	pairs := s.binDevs.unknown(batches)
	for _, p := range pairs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO bin_devices (bin_id, device_id) VALUES (?, ?)`,
			p.bin, p.device); err != nil {
			return err
		}
	}
	folded := int64(w.recent) >= foldRows.Load()
	if folded {
		if err := w.foldRecent(ctx, tx); err != nil {
			return err
		}
	}
	// The live states: with this commit, or with a later one (see
	// pendingStates).
	rows, _ := binStateRows(batches)
	var cur []civic.Reading // this call's readings that may move a state
	if len(rows) > 0 {
		// This call's readings join pend only once committed.
		cur = admit(make([]civic.Reading, 0, len(rows)), rows, w.pendNewest, make(map[string]int64, len(rows)))
	}
	write := folded || len(toMain) > 0 || len(w.pend)+len(cur) > statePendingMax || time.Since(w.stateAt) >= time.Duration(stateEvery.Load())
	if write && len(w.pend)+len(cur) > 0 {
		states := rows // nothing pending: this call's own, as before
		if len(w.pend) > 0 {
			states, _ = binStateRows([][]civic.Reading{w.pend, cur})
		}
		if err := w.writeStates(ctx, tx, states, updated, rc); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err // w.recent now counts too many at worst: the next fold comes early
	}
	if folded {
		w.recent = 0
	}
	if write {
		w.statesWritten()
	} else {
		if w.pendNewest == nil {
			w.pendNewest = make(map[string]int64)
		}
		for i := range cur {
			w.keep(&cur[i])
			w.pendNewest[cur[i].Bin] = cur[i].Time.UnixMilli()
		}
		w.pendThrough = rc
		w.npend.Store(int64(len(w.pend)))
		if !w.armed && len(w.pend) > 0 {
			w.armed = true
			time.AfterFunc(time.Duration(stateEvery.Load()), func() {
				if err := s.syncStates(context.Background()); err != nil {
					s.log.Warn("store: writing live states", "err", err)
				}
			})
		}
	}
	s.walDirty.Store(true)
	s.binDevs.committed(pairs)
	return nil
}

// syncStates writes the live states pending (see pendingStates) in a
// transaction of its own, so that a reader of bin_state then sees every
// reading committed before the call. It does nothing on PostgreSQL or
// with nothing pending.
func (s *Store) syncStates(ctx context.Context) error {
	w := s.sqliteWr
	if s.pg() || w == nil || w.npend.Load() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if len(w.pend) == 0 || w.shut {
		return nil
	}
	if err := w.prepare(ctx, s.wdb); err != nil {
		return err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := w.writePending(ctx, tx, s.stamp().UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.statesWritten()
	s.walDirty.Store(true)
	return nil
}

// readStates is syncStates for the methods that read bin_state: its
// failure is theirs, op.
func (s *Store) readStates(ctx context.Context, op string) error {
	if err := s.syncStates(ctx); err != nil {
		return s.fail(errCtx{op: op}, err)
	}
	return nil
}

// repairStates applies to bin_state, in one transaction, the readings of
// readings_recent received after the mark states_through, which a crash
// may have kept out of it (see pendingStates); the readings of bins since
// deleted are left out. Applying a reading bin_state holds already
// changes nothing: a state moves only for a newer reading.
func (s *Store) repairStates(ctx context.Context) error {
	w := s.sqliteWr
	w.mu.Lock()
	defer w.mu.Unlock()
	var mark int64
	if err := s.wdb.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM store_marks WHERE name = 'states_through'), 0)`).
		Scan(&mark); err != nil {
		return err
	}
	// received_at keeps growing past the mark, whatever the clock does.
	w.lastReceived = max(w.lastReceived, mark)
	rows, err := s.wdb.QueryContext(ctx, `SELECT device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, door_open,
		fire, rssi_dbm, received_at FROM readings_recent
		WHERE received_at > ? AND bin_id IN (SELECT id FROM bins) ORDER BY received_at, time`, mark)
	if err != nil {
		return err
	}
	// The readings, call by call (a call's readings share a received_at),
	// admitted as the writer admits them into pend.
	var rs, call []civic.Reading
	newest := make(map[string]int64)
	flush := func() {
		if len(call) == 0 {
			return
		}
		states, _ := binStateRows([][]civic.Reading{call})
		rs = admit(rs, states, nil, newest)
		call = call[:0]
	}
	through := mark
	for rows.Next() {
		var r civic.Reading
		var ms, rc int64
		var fill, temp, battery, tilt, rssi sql.NullFloat64
		var door, fire sql.NullBool
		if err := rows.Scan(&r.Device, &ms, &r.Bin, &fill, &temp, &battery, &tilt, &door, &fire, &rssi, &rc); err != nil {
			rows.Close()
			return err
		}
		r.Time = time.UnixMilli(ms).UTC()
		r.Fill, r.TemperatureC, r.Battery, r.TiltDeg, r.RSSI = fptr(fill), fptr(temp), fptr(battery), fptr(tilt), fptr(rssi)
		r.DoorOpen, r.Fire = bptr(door), bptr(fire)
		if rc != through {
			flush()
		}
		call = append(call, r)
		through = max(through, rc)
	}
	flush()
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil // the usual open: the statements wait for the first write
	}
	if err := w.prepare(ctx, s.wdb); err != nil {
		return err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	states, _ := binStateRows([][]civic.Reading{rs})
	if err := w.writeStates(ctx, tx, states, s.stamp().UnixMilli(), through); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Info("store: live states brought up to date after an interrupted run", "readings", len(rs), "bins", len(states))
	return nil
}

var _ civic.ReadingFolder = (*Store)(nil)

// FoldReadings moves the newest readings, which SQLite keeps in a small
// table in time order, to their devices' pages now, in a transaction of
// its own. A reader of many devices' histories calls it first: each
// device's query then seeks instead of scanning that table. On PostgreSQL
// it does nothing.
func (s *Store) FoldReadings(ctx context.Context) error {
	if s.pg() {
		return nil
	}
	if err := s.foldReadings(ctx); err != nil {
		return s.fail(errCtx{op: "fold readings"}, err)
	}
	return nil
}

// foldReadings moves readings_recent into readings_main now, in a
// transaction of its own, for a reader that reads readings_main alone (see
// deviceHealthQuery): it then sees every reading committed before the call.
func (s *Store) foldReadings(ctx context.Context) error {
	w := s.sqliteWr
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.insert != nil && w.recent == 0 {
		return nil // counted when prepared, and nothing stored since
	}
	if len(w.pend) > 0 {
		// The statements that write them, outside the transaction.
		if err := w.prepare(ctx, s.wdb); err != nil {
			return err
		}
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The pending live states first: the mark says which rows of
	// readings_recent bin_state may lack, and they are about to leave it.
	pending := len(w.pend) > 0
	if pending {
		if err := w.writePending(ctx, tx, s.stamp().UnixMilli()); err != nil {
			return err
		}
	}
	if err := w.foldRecent(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.recent = 0
	if pending {
		w.statesWritten()
	}
	s.walDirty.Store(true)
	return nil
}

// foldRecent moves every row of readings_recent into readings_main, in
// readings_main's key order, in the caller's transaction, and raises
// mainNewest to the newest of them. The caller holds mu.
func (w *sqliteWriter) foldRecent(ctx context.Context, tx *sql.Tx) error {
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(time) FROM readings_recent`).Scan(&newest); err != nil {
		return fmt.Errorf("store: moving recent readings: %w", err)
	}
	w.mainNewest = max(w.mainNewest, newest.Int64)
	if _, err := tx.ExecContext(ctx, foldSQL); err != nil {
		return fmt.Errorf("store: moving recent readings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM readings_recent`); err != nil {
		return fmt.Errorf("store: moving recent readings: %w", err)
	}
	return nil
}

// insertRows stores rows through stmts (by statement size, prepared on the
// write pool) in tx, adds to stored, per batch, the rows stored, and
// returns their number. Statements span batches (the MQTT broker hands in
// one reading a batch): a statement whose rows come from one batch, or
// that stores all its rows, tells each batch's count by RowsAffected; for
// one that mixes batches and meets a duplicate, attributeStored looks its
// rows up.
func (w *sqliteWriter) insertRows(ctx context.Context, tx *sql.Tx, stmts map[int]*sql.Stmt, batches [][]civic.Reading,
	rows []rowRef, received any, rc int64, stored []int) (int, error) {
	args := w.args
	total := 0
	for i := 0; i < len(rows); {
		n := chunkFor(len(rows) - i)
		chunk := rows[i : i+n]
		a := args[:n*readingParams]
		mixed := false
		for k, rf := range chunk {
			r := &batches[rf.b][rf.i]
			mixed = mixed || rf.b != chunk[0].b
			row := a[k*readingParams : (k+1)*readingParams : (k+1)*readingParams]
			row[0] = r.Device
			row[1] = r.Time.UnixMilli()
			row[2] = nullStr(r.Bin)
			row[3] = fval(r.Fill)
			row[4] = fval(r.TemperatureC)
			row[5] = fval(r.Battery)
			row[6] = fval(r.TiltDeg)
			row[7] = ival(r.Compactions)
			row[8] = bval(r.DoorOpen)
			row[9] = bval(r.Fire)
			row[10] = fval(r.DistanceMM)
			row[11] = fval(r.RSSI)
			row[12] = fval(r.SNR)
			row[13] = received
		}
		res, err := tx.StmtContext(ctx, stmts[n]).ExecContext(ctx, a...)
		if err != nil {
			return total, err
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(affected)
		switch {
		case !mixed:
			stored[chunk[0].b] += int(affected)
		case int(affected) == n:
			for _, rf := range chunk {
				stored[rf.b]++
			}
		default:
			if err := attributeStored(ctx, tx, batches, rows, i, n, rc, stored); err != nil {
				return total, err
			}
		}
		i += n
	}
	return total, nil
}

// rowRef is a reading of a WriteReadings call: batch b, index i.
type rowRef struct{ b, i int32 }

// attributeStored adds to stored, per batch, the rows rows[i:i+n] stored,
// after a statement that mixed batches stored fewer than all of them. A
// row whose key equals the previous row's (in the call's key order) is a
// duplicate of it; any other row was stored by this call if its
// received_at is the call's own, rc, unique to the call.
func attributeStored(ctx context.Context, tx *sql.Tx, batches [][]civic.Reading, rows []rowRef, i, n int, rc int64, stored []int) error {
	for j := i; j < i+n; j++ {
		r := &batches[rows[j].b][rows[j].i]
		if j > 0 {
			p := &batches[rows[j-1].b][rows[j-1].i]
			if p.Device == r.Device && p.Time.UnixMilli() == r.Time.UnixMilli() {
				continue
			}
		}
		var at int64
		if err := tx.QueryRowContext(ctx, `SELECT received_at FROM readings WHERE device_id = ? AND time = ?`,
			r.Device, r.Time.UnixMilli()).Scan(&at); err != nil {
			return fmt.Errorf("store: reading back a stored reading: %w", err)
		}
		if at == rc {
			stored[rows[j].b]++
		}
	}
	return nil
}

// chunkFor returns the largest statement size not above left.
func chunkFor(left int) int {
	for _, n := range chunkSizes {
		if n <= left {
			return n
		}
	}
	return 1
}

// binStateRows returns the readings to upsert into bin_state, in an order
// where applying them one by one (each only if newer than the stored state,
// merging missing measurements) yields the exact merged state. For a bin
// whose newest reading carries every measurement its other readings carry —
// the usual case — the newest reading alone does; otherwise all of the
// bin's readings go, oldest first, and mixed is true.
func binStateRows(batches [][]civic.Reading) (rows []*civic.Reading, mixed bool) {
	type agg struct {
		newest      *civic.Reading
		union, mask uint8
		all         []*civic.Reading
	}
	bins := make(map[string]*agg)
	var order []*agg
	for b := range batches {
		batch := batches[b]
		for i := range batch {
			r := &batch[i]
			if r.Bin == "" {
				continue
			}
			m := stateMask(r)
			a := bins[r.Bin]
			if a == nil {
				a = &agg{newest: r, union: m, mask: m}
				bins[r.Bin] = a
				order = append(order, a)
				continue
			}
			a.union |= m
			if r.Time.After(a.newest.Time) {
				a.newest, a.mask = r, m
			}
		}
	}
	out := make([]*civic.Reading, 0, len(order))
	for _, a := range order {
		if a.union&^a.mask != 0 {
			mixed = true
			a.all = []*civic.Reading{} // marks the bin; filled below
			continue
		}
		out = append(out, a.newest)
	}
	if !mixed {
		return out, false
	}
	for b := range batches {
		batch := batches[b]
		for i := range batch {
			r := &batch[i]
			if r.Bin == "" {
				continue
			}
			if a := bins[r.Bin]; a.all != nil {
				a.all = append(a.all, r)
			}
		}
	}
	for _, a := range order {
		if a.all == nil {
			continue
		}
		slices.SortStableFunc(a.all, func(x, y *civic.Reading) int { return x.Time.Compare(y.Time) })
		out = append(out, a.all...)
	}
	return out, true
}
