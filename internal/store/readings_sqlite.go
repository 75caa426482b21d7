package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

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
	insert map[int]*sql.Stmt // rows → prepared multi-row readings INSERT
	state  map[int]*sql.Stmt // rows → prepared multi-row bin_state upsert
	args   []any             // reused argument buffer (guarded by the single write connection and mu)
}

func (w *sqliteWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.insert {
		st.Close()
	}
	for _, st := range w.state {
		st.Close()
	}
	w.insert, w.state = nil, nil
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

const sqliteInsertHead = `INSERT OR IGNORE INTO readings (device_id, time, bin_id, fill, temperature_c, battery, tilt_deg,
	compactions, door_open, fire, distance_mm, rssi_dbm, snr_db, received_at) VALUES `

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
	ins, st := map[int]*sql.Stmt{}, map[int]*sql.Stmt{}
	closeAll := func() {
		for _, s := range ins {
			s.Close()
		}
		for _, s := range st {
			s.Close()
		}
	}
	for _, n := range chunkSizes {
		s, err := db.PrepareContext(ctx, sqliteInsertHead+sqliteValues(n, readingParams, ""))
		if err != nil {
			closeAll()
			return err
		}
		ins[n] = s
		s, err = db.PrepareContext(ctx, sqliteStateHead+sqliteValues(n, stateParams, stateUpsertTail))
		if err != nil {
			closeAll()
			return err
		}
		st[n] = s
	}
	w.insert, w.state = ins, st
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
	var received any = s.stamp().UnixMilli() // boxed once, not per row
	states, _ := binStateRows(batches)

	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	txIns := make(map[int]*sql.Stmt, len(chunkSizes))
	txState := make(map[int]*sql.Stmt, len(chunkSizes))
	for _, n := range chunkSizes {
		txIns[n] = tx.StmtContext(ctx, w.insert[n])
		txState[n] = tx.StmtContext(ctx, w.state[n])
	}
	args := w.args
	var order []int32
	for b, batch := range batches {
		// Rows go in key order: consecutive inserts then land on the same
		// B-tree pages, which roughly halves the cost of a batch whose
		// readings interleave many devices. The sort is stable, so the
		// first of two equal keys in a batch is the one stored.
		order = order[:0]
		for i := range batch {
			order = append(order, int32(i))
		}
		slices.SortStableFunc(order, func(x, y int32) int {
			rx, ry := &batch[x], &batch[y]
			if c := strings.Compare(rx.Device, ry.Device); c != 0 {
				return c
			}
			return rx.Time.Compare(ry.Time)
		})
		stored := 0
		for i := 0; i < len(batch); {
			n := chunkFor(len(batch) - i)
			a := args[:n*readingParams]
			for k := 0; k < n; k++ {
				r := &batch[order[i+k]]
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
			res, err := txIns[n].ExecContext(ctx, a...)
			if err != nil {
				return err
			}
			affected, err := res.RowsAffected()
			if err != nil {
				return err
			}
			stored += int(affected)
			i += n
		}
		results[b] = civic.IngestResult{Accepted: stored, Duplicates: len(batch) - stored}
	}
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
			row[10] = received
		}
		if _, err := txState[n].ExecContext(ctx, a...); err != nil {
			return err
		}
		i += n
	}
	clear(args) // drop references to the caller's strings
	pairs := s.binDevs.unknown(batches)
	for _, p := range pairs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO bin_devices (bin_id, device_id) VALUES (?, ?)`,
			p.bin, p.device); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.walDirty.Store(true)
	s.binDevs.committed(pairs)
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
