package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL readings hot path, one transaction on one pgx connection.
// Repeats inside the call are dropped first. Optimistically, the readings
// are COPYed straight into the partitioned readings table behind a
// savepoint; if one is already stored (a unique violation), the savepoint
// is rolled back and the counting path runs instead: the readings are
// COPYed into a per-session temporary staging table and one
// INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING moves them and
// counts per batch what was new. Bin state is merged from the staging table
// by one INSERT ... SELECT ... ON CONFLICT DO UPDATE; on the optimistic path
// only each bin's newest reading is staged for it (all readings when some
// bin's readings carry measurements its newest lacks).

const pgStageTable = `CREATE TEMP TABLE IF NOT EXISTS civic_readings_stage (
	batch integer NOT NULL,
	device_id text NOT NULL,
	time timestamptz NOT NULL,
	bin_id text,
	fill double precision,
	temperature_c double precision,
	battery double precision,
	tilt_deg double precision,
	compactions integer,
	door_open boolean,
	fire boolean,
	distance_mm double precision,
	rssi_dbm double precision,
	snr_db double precision,
	newest boolean NOT NULL, -- the newest staged reading of its bin
	seq integer NOT NULL -- position in the call, repeats left out
) ON COMMIT DELETE ROWS`

var pgStageCols = []string{"batch", "device_id", "time", "bin_id", "fill", "temperature_c", "battery", "tilt_deg",
	"compactions", "door_open", "fire", "distance_mm", "rssi_dbm", "snr_db", "newest", "seq"}

const pgMoveReadings = `WITH ins AS (
	INSERT INTO readings (device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, compactions, door_open,
		fire, distance_mm, rssi_dbm, snr_db, received_at)
	SELECT device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, compactions, door_open,
		fire, distance_mm, rssi_dbm, snr_db, $1
	FROM civic_readings_stage
	ON CONFLICT (device_id, time) DO NOTHING
	RETURNING device_id, time)
SELECT s.batch, count(*) FROM ins JOIN civic_readings_stage s USING (device_id, time) GROUP BY s.batch`

// pgNewestState sets each bin's state from its newest staged reading, as
// flagged while staging: exact when that reading carries every measurement
// the bin's other staged readings carry (see binStateRows).
const pgNewestState = `INSERT INTO bin_state (bin_id, device_id, time, fill, temperature_c, battery, tilt_deg,
	door_open, fire, rssi_dbm, updated_at)
SELECT bin_id, device_id, time, fill, temperature_c, battery, tilt_deg, door_open, fire, rssi_dbm, $1
FROM civic_readings_stage WHERE newest AND bin_id IS NOT NULL` + stateUpsertTail

// pgMergeState folds, per bin, the staged readings newer than its state the
// way civic.BinState.Apply does, oldest first: each measurement takes its
// newest non-null value among them. Of readings with equal times only the
// first in the call counts (Apply leaves the state alone at an equal time),
// hence DISTINCT ON (bin_id, time) by seq.
const pgMergeState = `INSERT INTO bin_state (bin_id, device_id, time, fill, temperature_c, battery, tilt_deg,
	door_open, fire, rssi_dbm, updated_at)
SELECT s.bin_id,
	(array_agg(s.device_id ORDER BY s.time DESC))[1],
	max(s.time),
	(array_agg(s.fill ORDER BY s.time DESC) FILTER (WHERE s.fill IS NOT NULL))[1],
	(array_agg(s.temperature_c ORDER BY s.time DESC) FILTER (WHERE s.temperature_c IS NOT NULL))[1],
	(array_agg(s.battery ORDER BY s.time DESC) FILTER (WHERE s.battery IS NOT NULL))[1],
	(array_agg(s.tilt_deg ORDER BY s.time DESC) FILTER (WHERE s.tilt_deg IS NOT NULL))[1],
	(array_agg(s.door_open ORDER BY s.time DESC) FILTER (WHERE s.door_open IS NOT NULL))[1],
	(array_agg(s.fire ORDER BY s.time DESC) FILTER (WHERE s.fire IS NOT NULL))[1],
	(array_agg(s.rssi_dbm ORDER BY s.time DESC) FILTER (WHERE s.rssi_dbm IS NOT NULL))[1],
	$1
FROM (SELECT DISTINCT ON (bin_id, time) * FROM civic_readings_stage WHERE bin_id IS NOT NULL
	ORDER BY bin_id, time, seq) s
LEFT JOIN bin_state b ON b.bin_id = s.bin_id
WHERE b.time IS NULL OR s.time > b.time
GROUP BY s.bin_id` + stateUpsertTail

// pgReadingCols are the columns the optimistic path COPYs into readings.
var pgReadingCols = []string{"device_id", "time", "bin_id", "fill", "temperature_c", "battery", "tilt_deg",
	"compactions", "door_open", "fire", "distance_mm", "rssi_dbm", "snr_db", "received_at"}

// pgCountedInsert moves the staged readings that are not stored yet and
// counts them per batch into stored.
func pgCountedInsert(ctx context.Context, tx pgx.Tx, received time.Time, stored []int) error {
	counts, err := tx.Query(ctx, pgMoveReadings, received)
	if err != nil {
		return err
	}
	defer counts.Close()
	for counts.Next() {
		var b int32
		var n int64
		if err := counts.Scan(&b, &n); err != nil {
			return err
		}
		stored[b] = int(n)
	}
	return counts.Err()
}

type readingKey struct {
	device string
	ms     int64
}

func (s *Store) writeReadingsPG(ctx context.Context, batches [][]civic.Reading, results []civic.IngestResult) error {
	total := 0
	for _, b := range batches {
		total += len(b)
	}
	// Repeats inside the call are counted here so that the staging table
	// holds each key once and the RETURNING join attributes every stored
	// row to exactly one batch.
	type staged struct {
		batch  int32
		newest bool
		r      *civic.Reading
	}
	rows := make([]staged, 0, total)
	seen := make(map[readingKey]struct{}, total)
	months := map[int]bool{}
	newest := map[string]int{} // bin → index in rows of its newest reading
	for b := range batches {
		for i := range batches[b] {
			r := &batches[b][i]
			k := readingKey{r.Device, r.Time.UnixMilli()}
			if _, dup := seen[k]; dup {
				results[b].Duplicates++
				continue
			}
			seen[k] = struct{}{}
			if r.Bin != "" {
				if j, ok := newest[r.Bin]; !ok || r.Time.After(rows[j].r.Time) {
					newest[r.Bin] = len(rows)
				}
			}
			rows = append(rows, staged{batch: int32(b), r: r})
			t := r.Time.UTC()
			months[t.Year()*12+int(t.Month())-1] = true
		}
	}
	for _, j := range newest {
		rows[j].newest = true
	}
	_, mixed := binStateRows(batches)
	if err := s.ensurePartitions(ctx, months); err != nil {
		return err
	}
	received := s.stamp()

	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		// stage COPYs the rows keep selects into the staging table.
		stage := func(keep func(staged) bool) error {
			if _, err := tx.Exec(ctx, pgStageTable); err != nil {
				return err
			}
			var sel []int
			for i := range rows {
				if keep(rows[i]) {
					sel = append(sel, i)
				}
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"civic_readings_stage"}, pgStageCols,
				pgx.CopyFromSlice(len(sel), func(i int) ([]any, error) {
					row := &rows[sel[i]]
					r := row.r
					return []any{row.batch, r.Device, r.Time, nullStr(r.Bin), r.Fill, r.TemperatureC, r.Battery,
						r.TiltDeg, r.Compactions, r.DoorOpen, r.Fire, r.DistanceMM, r.RSSI, r.SNR, row.newest,
						int32(sel[i])}, nil
				}))
			return err
		}
		all := func(staged) bool { return true }

		stored := make([]int, len(batches))
		// Most calls carry only new readings: COPY them straight into
		// readings; on a unique violation roll back to the savepoint and
		// take the counting path through the staging table.
		if _, err := tx.Exec(ctx, "SAVEPOINT civic_optimistic"); err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"readings"}, pgReadingCols,
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i].r
				return []any{r.Device, r.Time, nullStr(r.Bin), r.Fill, r.TemperatureC, r.Battery, r.TiltDeg,
					r.Compactions, r.DoorOpen, r.Fire, r.DistanceMM, r.RSSI, r.SNR, received}, nil
			}))
		var pe *pgconn.PgError
		stagedAll := false
		switch {
		case err == nil:
			for _, row := range rows {
				stored[row.batch]++
			}
		case errors.As(err, &pe) && pe.Code == "23505":
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT civic_optimistic"); err != nil {
				return err
			}
			if err := stage(all); err != nil {
				return err
			}
			stagedAll = true
			if err := pgCountedInsert(ctx, tx, received, stored); err != nil {
				return err
			}
		default:
			return err
		}
		for b := range batches {
			results[b].Accepted = stored[b]
			results[b].Duplicates = len(batches[b]) - stored[b]
		}
		// Bin state: from each bin's newest reading alone, or, when some
		// bin's readings carry measurements its newest lacks, from all.
		merge, keep := pgNewestState, func(r staged) bool { return r.newest }
		if mixed {
			merge, keep = pgMergeState, all
		}
		if !stagedAll {
			if err := stage(keep); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, merge, received); err != nil {
			return err
		}
		pairs := s.binDevs.unknown(batches)
		if len(pairs) > 0 {
			bins, devices := make([]string, len(pairs)), make([]string, len(pairs))
			for i, p := range pairs {
				bins[i], devices[i] = p.bin, p.device
			}
			if _, err := tx.Exec(ctx, `INSERT INTO bin_devices (bin_id, device_id)
				SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, bins, devices); err != nil {
				return err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		s.binDevs.committed(pairs)
		return nil
	})
}

// partitionCache remembers the months known to have a readings partition.
type partitionCache struct {
	mu     sync.Mutex
	months map[int]bool
}

func newPartitionCache() *partitionCache { return &partitionCache{months: map[int]bool{}} }

// ensurePartitions creates the monthly readings partitions the months
// (year*12 + month-1) need, outside the ingest transaction. A month whose
// rows already sit in the DEFAULT partition keeps using it: the DEFAULT
// partition accepts anything, so ingest never fails for want of a partition.
func (s *Store) ensurePartitions(ctx context.Context, months map[int]bool) error {
	c := s.pgParts
	c.mu.Lock()
	defer c.mu.Unlock()
	for m := range months {
		if c.months[m] {
			continue
		}
		from := time.Date(m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS readings_%04d_%02d PARTITION OF readings FOR VALUES FROM ('%s') TO ('%s')`,
			from.Year(), int(from.Month()), from.Format(time.RFC3339), to.Format(time.RFC3339))
		if _, err := s.wdb.ExecContext(ctx, q); err != nil {
			var pe *pgconn.PgError
			switch {
			case errors.As(err, &pe) && (pe.Code == "42P07" || pe.Code == "23505"):
				// Another node created it at the same moment.
			case errors.As(err, &pe) && pe.Code == "23514":
				s.log.Warn("store: readings for this month are in the DEFAULT partition; not creating a monthly one",
					"month", from.Format("2006-01"))
			default:
				return fmt.Errorf("create readings partition %s: %w", from.Format("2006-01"), err)
			}
		}
		c.months[m] = true
	}
	return nil
}
