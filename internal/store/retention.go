package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// pruneBatch is how many rows one delete statement removes: each is its
// own short transaction, so ingest and readers wait for none of them for
// long.
const pruneBatch = 5000

// PruneReadings removes the readings whose sensor time is before before,
// and returns how many rows went. On PostgreSQL the monthly partitions
// that end at or before it are dropped whole (cheap: no row is visited,
// no vacuum needed); the rows left before it, in the month that straddles
// it and in the DEFAULT partition, are deleted in batches, as on SQLite.
// Batches go device by device along the primary key (device_id, time), so
// no statement scans the table.
func (s *Store) PruneReadings(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	if s.pg() {
		n, err := s.dropReadingPartitions(ctx, before)
		if err != nil {
			return 0, s.fail(errCtx{op: "prune readings"}, err)
		}
		total += n
	}
	// On SQLite readings is a view: the rows are in readings_main, by
	// (device_id, time), and readings_recent, by (time, device_id), which
	// holds a few thousand at most.
	table := "readings"
	if !s.pg() {
		table = "readings_main"
		res, err := s.wdb.ExecContext(ctx, `DELETE FROM readings_recent WHERE time < $1`, s.ms(before))
		if err != nil {
			return 0, s.fail(errCtx{op: "prune readings"}, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	device := ""
	for {
		// The next device with readings, by the primary key.
		err := s.wdb.QueryRowContext(ctx, `SELECT device_id FROM `+table+` WHERE device_id > $1 ORDER BY device_id LIMIT 1`, device).Scan(&device)
		if errors.Is(err, sql.ErrNoRows) {
			return total, nil
		}
		if err != nil {
			return total, s.fail(errCtx{op: "prune readings"}, err)
		}
		for {
			res, err := s.wdb.ExecContext(ctx, `DELETE FROM `+table+` WHERE device_id = $1 AND time IN
				(SELECT time FROM `+table+` WHERE device_id = $1 AND time < $2 ORDER BY time LIMIT `+strconv.Itoa(pruneBatch)+`)`,
				device, s.ms(before))
			if err != nil {
				return total, s.fail(errCtx{op: "prune readings"}, err)
			}
			n, _ := res.RowsAffected()
			total += n
			if n < pruneBatch {
				break
			}
		}
	}
}

// partitionName is the name ensurePartitions gives a month's partition.
var partitionName = regexp.MustCompile(`^readings_(\d{4})_(\d{2})$`)

// dropReadingPartitions drops the monthly readings partitions that end at
// or before before, and returns how many rows they held.
func (s *Store) dropReadingPartitions(ctx context.Context, before time.Time) (int64, error) {
	rows, err := s.wdb.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'readings'::regclass`)
	if err != nil {
		return 0, err
	}
	var drop []string
	var months []int
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		m := partitionName.FindStringSubmatch(name)
		if m == nil {
			continue // the DEFAULT partition
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		end := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		if !end.After(before) {
			drop = append(drop, name)
			months = append(months, y*12+mo-1)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for i, name := range drop {
		var n int64
		if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil {
			return total, err
		}
		if _, err := s.wdb.ExecContext(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
			return total, fmt.Errorf("drop partition %s: %w", name, err)
		}
		total += n
		// A late reading for that month goes to the DEFAULT partition,
		// unless this node makes the month's partition again.
		s.pgParts.mu.Lock()
		delete(s.pgParts.months, months[i])
		s.pgParts.mu.Unlock()
		s.log.Info("store: dropped a readings partition", "partition", name, "rows", n)
	}
	return total, nil
}

// PruneDeviceEvents removes the device events (joins, status reports,
// ingest failures) that happened before before, in batches, and returns
// how many went.
func (s *Store) PruneDeviceEvents(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.wdb.ExecContext(ctx, `DELETE FROM device_events WHERE id IN
			(SELECT id FROM device_events WHERE time < $1 ORDER BY id LIMIT `+strconv.Itoa(pruneBatch)+`)`, s.ts(before))
		if err != nil {
			return total, s.fail(errCtx{op: "prune device events"}, err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
