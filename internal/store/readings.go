package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// WriteReadings stores batches of normalized readings in one transaction,
// skipping readings whose (Device, Time) is already stored or appears
// earlier in the call, and returns per batch how many were stored and how
// many were duplicates. In the same transaction it moves each touched bin's
// state forward as civic.BinState.Apply defines, the call's readings oldest
// first: a missing measurement keeps the previous value, and a reading that
// arrives late never overwrites newer state.
// Readings with an empty Bin are stored but touch no state. When it returns
// nil the readings are durable. Errors: Invalid (a reading without device or
// time), Unavailable, Internal.
func (s *Store) WriteReadings(ctx context.Context, batches [][]civic.Reading) ([]civic.IngestResult, error) {
	total := 0
	for b, batch := range batches {
		for i := range batch {
			r := &batch[i]
			if r.Device == "" {
				return nil, civic.FieldError(fmt.Sprintf("batches[%d][%d].device", b, i), "is required")
			}
			if r.Time.IsZero() {
				return nil, civic.FieldError(fmt.Sprintf("batches[%d][%d].time", b, i), "is required")
			}
		}
		total += len(batch)
	}
	results := make([]civic.IngestResult, len(batches))
	if total == 0 {
		return results, nil
	}
	var err error
	if s.pg() {
		err = s.writeReadingsPG(ctx, batches, results)
	} else {
		err = s.writeReadingsSQLite(ctx, batches, results)
	}
	if err != nil {
		return nil, s.fail(errCtx{op: "write readings"}, err)
	}
	return results, nil
}

// binDevice is a row of bin_devices: a device that has reported for a bin.
type binDevice struct{ bin, device string }

// binDeviceCache remembers the bin_devices rows known to be stored, so that
// WriteReadings inserts a pair only with the first reading that carries it.
// It only ever skips an insert of a row that is committed; a row it does not
// know is inserted again, which the insert ignores.
type binDeviceCache struct {
	mu    sync.Mutex
	known map[binDevice]struct{}
}

// unknown returns the distinct (bin, device) pairs of batches not known to
// be stored.
func (c *binDeviceCache) unknown(batches [][]civic.Reading) []binDevice {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []binDevice
	var fresh map[binDevice]struct{}
	var last binDevice
	for _, batch := range batches {
		for i := range batch {
			p := binDevice{batch[i].Bin, batch[i].Device}
			if p.bin == "" || p == last {
				continue
			}
			last = p
			if _, ok := c.known[p]; ok {
				continue
			}
			if _, ok := fresh[p]; ok {
				continue
			}
			if fresh == nil {
				fresh = make(map[binDevice]struct{})
			}
			fresh[p] = struct{}{}
			out = append(out, p)
		}
	}
	return out
}

// committed records pairs whose insert has committed.
func (c *binDeviceCache) committed(pairs []binDevice) {
	if len(pairs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known == nil {
		c.known = make(map[binDevice]struct{})
	}
	for _, p := range pairs {
		c.known[p] = struct{}{}
	}
}

// State fields a reading may carry, as bits, to tell whether the newest
// reading of a bin alone carries everything the others do.
const (
	hasFill = 1 << iota
	hasTemp
	hasBattery
	hasTilt
	hasDoor
	hasFire
	hasRSSI
)

func stateMask(r *civic.Reading) uint8 {
	var m uint8
	if r.Fill != nil {
		m |= hasFill
	}
	if r.TemperatureC != nil {
		m |= hasTemp
	}
	if r.Battery != nil {
		m |= hasBattery
	}
	if r.TiltDeg != nil {
		m |= hasTilt
	}
	if r.DoorOpen != nil {
		m |= hasDoor
	}
	if r.Fire != nil {
		m |= hasFire
	}
	if r.RSSI != nil {
		m |= hasRSSI
	}
	return m
}

const readingCols = `device_id, time, bin_id, fill, temperature_c, battery, tilt_deg, compactions, door_open, fire,
	distance_mm, rssi_dbm, snr_db`

func scanReading(r rowScanner) (civic.Reading, error) {
	var rd civic.Reading
	var bin sql.NullString
	var fill, temp, battery, tilt, dist, rssi, snr sql.NullFloat64
	var comp sql.NullInt64
	var door, fire sql.NullBool
	if err := r.Scan(&rd.Device, scanTime{&rd.Time}, &bin, &fill, &temp, &battery, &tilt, &comp, &door, &fire,
		&dist, &rssi, &snr); err != nil {
		return rd, err
	}
	rd.Bin = bin.String
	rd.Fill, rd.TemperatureC, rd.Battery, rd.TiltDeg = fptr(fill), fptr(temp), fptr(battery), fptr(tilt)
	rd.DistanceMM, rd.RSSI, rd.SNR = fptr(dist), fptr(rssi), fptr(snr)
	rd.DoorOpen, rd.Fire = bptr(door), bptr(fire)
	if comp.Valid {
		c := int(comp.Int64)
		rd.Compactions = &c
	}
	return rd, nil
}

// binReadings selects the readings of bin $1 through the primary key
// (device_id, time) of the devices that have reported for it; the bin_id
// test keeps out what such a device reported while on another bin.
const binReadings = `device_id IN (SELECT device_id FROM bin_devices WHERE bin_id = $1) AND bin_id = $1`

// readingsQuery selects the readings that match where ($1 and, with a
// bin and a device, $4) over [$2, $3), oldest first. On SQLite readings is
// a view of two tables: TestReadingPlans checks the query seeks in both.
func readingsQuery(where string) string {
	return `SELECT ` + readingCols + ` FROM readings WHERE ` + where + ` AND time >= $2 AND time < $3 ORDER BY time, device_id`
}

// binHistoryQuery is BinHistory's query for the engine's bucket expression
// (of step $2) over [$3, $4).
func binHistoryQuery(bucket string) string {
	return `SELECT ` + bucket + ` AS bucket, count(*), avg(fill), min(fill), max(fill), avg(temperature_c), avg(battery)
		FROM readings WHERE ` + binReadings + ` AND time >= $3 AND time < $4 GROUP BY 1 ORDER BY 1`
}

// Readings returns the raw readings of q.Bin or q.Device over [From, To),
// oldest first, at most q.Limit when it is positive. A zero To means no
// upper bound. Errors: Invalid (neither bin nor device given).
func (s *Store) Readings(ctx context.Context, q civic.ReadingQuery) ([]civic.Reading, error) {
	var where string
	var key string
	switch {
	case q.Device != "":
		where, key = "device_id = $1", q.Device
		if q.Bin != "" {
			where += " AND bin_id = $4"
		}
	case q.Bin != "":
		where, key = binReadings, q.Bin
	default:
		return nil, civic.FieldError("bin", "a bin or a device is required")
	}
	to := q.To
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	args := []any{key, s.ms(q.From), s.ms(to)}
	if q.Device != "" && q.Bin != "" {
		args = append(args, q.Bin)
	}
	query := readingsQuery(where)
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return list(ctx, s, "readings", query, scanReading, args...)
}

// BinHistory returns the bin's readings over [from, to) downsampled into
// buckets of step aligned to Unix time (millisecond resolution), oldest
// first; empty buckets are left out. Errors: Invalid (step below a
// millisecond, or to not after from).
func (s *Store) BinHistory(ctx context.Context, binID string, from, to time.Time, step time.Duration) ([]civic.HistoryPoint, error) {
	if step < time.Millisecond {
		return nil, civic.FieldError("step", "must be at least a millisecond")
	}
	if !to.After(from) {
		return nil, civic.FieldError("to", "must be after from")
	}
	bucket := `(time / $2) * $2`
	if s.pg() {
		bucket = `(floor(extract(epoch FROM time) * 1000)::bigint / $2::bigint) * $2::bigint`
	}
	return list(ctx, s, "bin history", binHistoryQuery(bucket), func(r rowScanner) (civic.HistoryPoint, error) {
		var p civic.HistoryPoint
		var ms int64
		var fill, fmin, fmax, temp, battery sql.NullFloat64
		err := r.Scan(&ms, &p.Count, &fill, &fmin, &fmax, &temp, &battery)
		p.Time = time.UnixMilli(ms).UTC()
		p.Fill, p.FillMin, p.FillMax, p.TemperatureC, p.Battery = fptr(fill), fptr(fmin), fptr(fmax), fptr(temp), fptr(battery)
		return p, err
	}, binID, step.Milliseconds(), s.ms(from), s.ms(to))
}

// BinStates returns the latest state of every existing bin that has one,
// ordered by bin id.
func (s *Store) BinStates(ctx context.Context) ([]civic.BinState, error) {
	if err := s.readStates(ctx, "bin states"); err != nil {
		return nil, err
	}
	return list(ctx, s, "bin states", `SELECT `+stateCols+` FROM bin_state st JOIN bins b ON b.id = st.bin_id
		ORDER BY st.bin_id`, func(r rowScanner) (civic.BinState, error) {
		var st stateScan
		err := r.Scan(st.dest()...)
		if err != nil {
			return civic.BinState{}, err
		}
		return *st.state(), nil
	})
}
