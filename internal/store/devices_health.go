package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

var _ civic.DeviceHealthStore = (*Store)(nil)

// Health windows: uplink counts and mean signal over a day, battery level
// and trend over a week.
const (
	healthDay  = 24 * time.Hour
	healthWeek = 7 * 24 * time.Hour
	// maxEventLimit caps one page of device events.
	maxEventLimit = 1000
	// maxFailureText caps the stored reason of a decode failure.
	maxFailureText = 500
)

// RecordDeviceEvent stores e and moves the device's last event (and its
// battery, when e reports one) forward, unless a newer one is known.
// Errors: Invalid, Unavailable, Internal.
func (s *Store) RecordDeviceEvent(ctx context.Context, e *civic.DeviceEvent) error {
	if err := e.Validate(); err != nil {
		return err
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	now := s.stamp()
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, errCtx{op: "record device event"}, func(tx *sql.Tx) error {
		id, err := s.insertEvent(ctx, tx, e, detail, now)
		if err != nil {
			return err
		}
		e.ID = id
		var batteryAt any
		if e.Battery != nil {
			batteryAt = s.ts(e.Time)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO device_health (device_id, last_event_at, last_event_kind, battery, battery_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (device_id) DO UPDATE SET
			last_event_kind = CASE WHEN device_health.last_event_at IS NULL OR excluded.last_event_at >= device_health.last_event_at
				THEN excluded.last_event_kind ELSE device_health.last_event_kind END,
			last_event_at = CASE WHEN device_health.last_event_at IS NULL OR excluded.last_event_at >= device_health.last_event_at
				THEN excluded.last_event_at ELSE device_health.last_event_at END,
			battery = CASE WHEN excluded.battery IS NOT NULL AND (device_health.battery_at IS NULL OR excluded.battery_at >= device_health.battery_at)
				THEN excluded.battery ELSE device_health.battery END,
			battery_at = CASE WHEN excluded.battery IS NOT NULL AND (device_health.battery_at IS NULL OR excluded.battery_at >= device_health.battery_at)
				THEN excluded.battery_at ELSE device_health.battery_at END`,
			e.Device, s.ts(e.Time), e.Kind, e.Battery, batteryAt)
		return err
	})
	if err != nil {
		return err
	}
	e.ReceivedAt = now
	return nil
}

// RecordDecodeFailure counts an undecodable uplink of device and records it
// as an event of kind civic.EventDecodeFailure whose detail carries reason
// (as "error") besides detail. Errors: Invalid, Unavailable, Internal.
func (s *Store) RecordDecodeFailure(ctx context.Context, device string, at time.Time, reason string, detail map[string]any) error {
	if len(reason) > maxFailureText {
		reason = reason[:maxFailureText]
	}
	d := make(map[string]any, len(detail)+1)
	for k, v := range detail {
		d[k] = v
	}
	d["error"] = reason
	e := civic.DeviceEvent{Device: device, Time: at, Kind: civic.EventDecodeFailure, Detail: d}
	if err := e.Validate(); err != nil {
		return err
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	text, err := encodeDetail(e.Detail)
	if err != nil {
		return err
	}
	now := s.stamp()
	return s.inTx(ctx, errCtx{op: "record decode failure"}, func(tx *sql.Tx) error {
		if _, err := s.insertEvent(ctx, tx, &e, text, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO device_health (device_id, decode_failures, last_failure_at, last_failure)
			VALUES ($1, 1, $2, $3)
			ON CONFLICT (device_id) DO UPDATE SET
			decode_failures = device_health.decode_failures + 1,
			last_failure = CASE WHEN device_health.last_failure_at IS NULL OR excluded.last_failure_at >= device_health.last_failure_at
				THEN excluded.last_failure ELSE device_health.last_failure END,
			last_failure_at = CASE WHEN device_health.last_failure_at IS NULL OR excluded.last_failure_at >= device_health.last_failure_at
				THEN excluded.last_failure_at ELSE device_health.last_failure_at END`,
			device, s.ts(e.Time), reason)
		return err
	})
}

// RecordGateway notes the gateway that heard device's latest uplink.
// Errors: Invalid, Unavailable, Internal.
func (s *Store) RecordGateway(ctx context.Context, device, gateway string) error {
	if err := civic.ValidateID("device", device); err != nil {
		return err
	}
	if len(gateway) > 128 {
		return civic.FieldError("gateway", "is too long")
	}
	return s.inTx(ctx, errCtx{op: "record gateway"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO device_health (device_id, gateway) VALUES ($1, $2)
			ON CONFLICT (device_id) DO UPDATE SET gateway = excluded.gateway`, device, gateway)
		return err
	})
}

func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, e *civic.DeviceEvent, detail string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO device_events (device_id, time, kind, detail, battery, received_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		e.Device, s.ts(e.Time), e.Kind, detail, e.Battery, s.ts(now)).Scan(&id)
	return id, err
}

func encodeDetail(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", civic.FieldError("detail", "cannot be encoded as JSON: %v", err)
	}
	return string(b), nil
}

// DeviceEvents returns the events of q.Device, newest first (in the order
// civic recorded them), at most q.Limit (default 100, at most 1000).
// Errors: Invalid (no device, or a limit out of range).
func (s *Store) DeviceEvents(ctx context.Context, q civic.DeviceEventQuery) ([]civic.DeviceEvent, error) {
	if q.Device == "" {
		return nil, civic.FieldError("device", "is required")
	}
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > maxEventLimit {
		return nil, civic.FieldError("limit", "must be between 1 and %d", maxEventLimit)
	}
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	return list(ctx, s, "device events", `SELECT id, device_id, time, kind, detail, battery, received_at
		FROM device_events WHERE device_id = $1 AND id < $2 ORDER BY id DESC LIMIT `+fmt.Sprint(limit),
		func(r rowScanner) (civic.DeviceEvent, error) {
			var e civic.DeviceEvent
			var detail string
			var battery sql.NullFloat64
			if err := r.Scan(&e.ID, &e.Device, scanTime{&e.Time}, &e.Kind, &detail, &battery, scanTime{&e.ReceivedAt}); err != nil {
				return e, err
			}
			e.Battery = fptr(battery)
			if detail != "" && detail != "{}" {
				if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
					return e, fmt.Errorf("device event %d: detail: %w", e.ID, err)
				}
			}
			return e, nil
		}, q.Device, before)
}

// DeviceHealth returns the health of every device, ordered by id, as of
// now, assessed with civic.DefaultOfflineIntervals. See civic.DeviceHealth
// for what each field means. Last seen, uplinks, battery and signal come
// from the readings through their primary key (device_id, time): per
// device, a few index seeks and range scans of its last day, never of its
// whole history; the rest from device_health. A device that reports no
// battery costs a scan of its last 7 days, to find none.
func (s *Store) DeviceHealth(ctx context.Context, now time.Time) ([]civic.DeviceHealth, error) {
	return s.deviceHealth(ctx, "", nil, now)
}

// healthSnapshot is the last whole-fleet DeviceHealth, for
// RecentDeviceHealth. mu also serializes the computations, so that
// requests arriving together share one.
type healthSnapshot struct {
	mu   sync.Mutex
	now  time.Time // the now it was computed for
	list []civic.DeviceHealth
}

// RecentDeviceHealth is DeviceHealth as of now from readings at most
// maxAge older: the last whole-fleet health computed, when it was computed
// for a now from maxAge before this one up to this one, else a new one.
// Every device is assessed again as of now. The whole fleet's health
// reads every device's last day, seconds for thousands of devices; the
// fleet page (once per filter typed) and the KPI tile share one instead.
// The caller owns the returned slice.
func (s *Store) RecentDeviceHealth(ctx context.Context, now time.Time, maxAge time.Duration) ([]civic.DeviceHealth, error) {
	c := &s.health
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list == nil || now.Before(c.now) || now.Sub(c.now) > maxAge {
		list, err := s.DeviceHealth(ctx, now)
		if err != nil {
			return nil, err
		}
		c.now, c.list = now, list
	}
	out := slices.Clone(c.list)
	for i := range out {
		out[i].Assess(now, civic.DefaultOfflineIntervals)
	}
	return out, nil
}

// DeviceHealthBetween returns the health of the devices whose ids are from
// first to last, both included, ordered by id: the work is that of those
// devices alone.
func (s *Store) DeviceHealthBetween(ctx context.Context, first, last string, now time.Time) ([]civic.DeviceHealth, error) {
	return s.deviceHealth(ctx, " WHERE d.id >= $4 AND d.id <= $5", []any{first, last}, now)
}

// DeviceHealthOf returns one device's health as of now. Errors: NotFound.
func (s *Store) DeviceHealthOf(ctx context.Context, id string, now time.Time) (civic.DeviceHealth, error) {
	hs, err := s.deviceHealth(ctx, " WHERE d.id = $4", []any{id}, now)
	if err != nil {
		return civic.DeviceHealth{}, err
	}
	if len(hs) == 0 {
		return civic.DeviceHealth{}, notFound("device", id)
	}
	return hs[0], nil
}

// trendPoints is how many battery readings at each end of the week the
// battery trend averages: enough to smooth a sensor's jitter, few enough to
// be two short index scans.
const trendPoints = 8

// deviceHealthQuery is the health query on SQLite. Every readings
// subquery is correlated on d.id so that it runs as index seeks per
// device; a join of readings on a time range would scan the table, as the
// planner cannot seek on time alone. It reads readings_main, not the view
// readings (whose correlated subqueries SQLite would run as a scan of
// both tables): deviceHealth first moves readings_recent into it. $1 is a
// week ago, $2 a day ago, $3 now; {days} is a reading's time in days from
// now (negative); {where} selects devices by id.
const deviceHealthQuery = `SELECT d.id, d.kind, d.bin_id, d.firmware, d.status, d.expected_interval_s, d.created_at,
	(SELECT max(r.time) FROM readings_main r WHERE r.device_id = d.id),
	(SELECT min(r.time) FROM readings_main r WHERE r.device_id = d.id),
	(SELECT r.rssi_dbm FROM readings_main r WHERE r.device_id = d.id ORDER BY r.time DESC LIMIT 1),
	(SELECT r.snr_db FROM readings_main r WHERE r.device_id = d.id ORDER BY r.time DESC LIMIT 1),
	(SELECT count(*) FROM readings_main r WHERE r.device_id = d.id AND r.time >= $2),
	(SELECT avg(r.rssi_dbm) FROM readings_main r WHERE r.device_id = d.id AND r.time >= $2),
	(SELECT avg(r.snr_db) FROM readings_main r WHERE r.device_id = d.id AND r.time >= $2),
	(SELECT r.battery FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1 AND r.battery IS NOT NULL
		ORDER BY r.time DESC LIMIT 1),
	(SELECT r.time FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1 AND r.battery IS NOT NULL
		ORDER BY r.time DESC LIMIT 1),
	(SELECT avg(e.b) FROM (SELECT r.battery AS b FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1
		AND r.battery IS NOT NULL ORDER BY r.time LIMIT {n}) e),
	(SELECT avg(e.x) FROM (SELECT {days} AS x FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1
		AND r.battery IS NOT NULL ORDER BY r.time LIMIT {n}) e),
	(SELECT avg(e.b) FROM (SELECT r.battery AS b FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1
		AND r.battery IS NOT NULL ORDER BY r.time DESC LIMIT {n}) e),
	(SELECT avg(e.x) FROM (SELECT {days} AS x FROM readings_main r WHERE r.device_id = d.id AND r.time >= $1
		AND r.battery IS NOT NULL ORDER BY r.time DESC LIMIT {n}) e),
	` + healthCols + `
	FROM devices d LEFT JOIN device_health h ON h.device_id = d.id{where} ORDER BY d.id`

// deviceHealthQueryPG is deviceHealthQuery for PostgreSQL, whose LATERAL
// joins let one index scan yield several values: half as many subplans,
// each of which starts a scan of every partition of readings.
const deviceHealthQueryPG = `SELECT d.id, d.kind, d.bin_id, d.firmware, d.status, d.expected_interval_s, d.created_at,
	lst.time, fst.time, lst.rssi_dbm, lst.snr_db, day.n, day.rssi, day.snr, bat.battery, bat.time, b0.b, b0.x, b1.b, b1.x,
	` + healthCols + `
	FROM devices d LEFT JOIN device_health h ON h.device_id = d.id
	LEFT JOIN LATERAL (SELECT r.time, r.rssi_dbm, r.snr_db FROM readings r WHERE r.device_id = d.id
		ORDER BY r.time DESC LIMIT 1) lst ON true
	LEFT JOIN LATERAL (SELECT r.time FROM readings r WHERE r.device_id = d.id ORDER BY r.time LIMIT 1) fst ON true
	CROSS JOIN LATERAL (SELECT count(*) AS n, avg(r.rssi_dbm) AS rssi, avg(r.snr_db) AS snr FROM readings r
		WHERE r.device_id = d.id AND r.time >= $2) day
	LEFT JOIN LATERAL (SELECT r.battery, r.time FROM readings r WHERE r.device_id = d.id AND r.time >= $1
		AND r.battery IS NOT NULL ORDER BY r.time DESC LIMIT 1) bat ON true
	CROSS JOIN LATERAL (SELECT avg(e.b) AS b, avg(e.x) AS x FROM (SELECT r.battery AS b, {days} AS x FROM readings r
		WHERE r.device_id = d.id AND r.time >= $1 AND r.battery IS NOT NULL ORDER BY r.time LIMIT {n}) e) b0
	CROSS JOIN LATERAL (SELECT avg(e.b) AS b, avg(e.x) AS x FROM (SELECT r.battery AS b, {days} AS x FROM readings r
		WHERE r.device_id = d.id AND r.time >= $1 AND r.battery IS NOT NULL ORDER BY r.time DESC LIMIT {n}) e) b1
	{where} ORDER BY d.id`

// sqliteDays is {days} on SQLite.
const sqliteDays = `((r.time - $3) / 86400000.0)`

// healthCols are the device_health columns of the health queries.
const healthCols = `h.decode_failures, h.last_failure_at, h.last_failure, h.gateway, h.battery, h.battery_at,
	h.last_event_at, h.last_event_kind`

// deviceHealth runs the health query for the devices where selects ("" for
// all, else a WHERE clause on d.id whose parameters, from $4, are args).
func (s *Store) deviceHealth(ctx context.Context, where string, args []any, now time.Time) ([]civic.DeviceHealth, error) {
	now = now.UTC()
	query, days := deviceHealthQuery, sqliteDays
	if s.pg() {
		query, days = deviceHealthQueryPG, `(extract(epoch FROM r.time - $3::timestamptz)::float8 / 86400.0)`
	} else if err := s.foldReadings(ctx); err != nil {
		return nil, s.fail(errCtx{op: "device health"}, err)
	}
	args = append([]any{s.ms(now.Add(-healthWeek)), s.ms(now.Add(-healthDay)), s.ms(now)}, args...)
	q := strings.NewReplacer("{days}", days, "{where}", where, "{n}", fmt.Sprint(trendPoints)).Replace(query)
	return list(ctx, s, "device health", q, func(r rowScanner) (civic.DeviceHealth, error) {
		var h civic.DeviceHealth
		var bin, failure, gateway, eventKind sql.NullString
		var failures sql.NullInt64
		var first, batteryAt, eventBatteryAt *time.Time
		var lastRSSI, lastSNR, rssi, snr, battery, eventBattery sql.NullFloat64
		var b0, x0, b1, x1 sql.NullFloat64
		err := r.Scan(&h.Device, &h.Kind, &bin, &h.Firmware, &h.DeviceStatus, &h.ExpectedInterval, scanTime{&h.RegisteredAt},
			scanTimePtr{&h.LastSeen}, scanTimePtr{&first}, &lastRSSI, &lastSNR, &h.Uplinks24h, &rssi, &snr,
			&battery, scanTimePtr{&batteryAt}, &b0, &x0, &b1, &x1,
			&failures, scanTimePtr{&h.LastDecodeFailure}, &failure, &gateway, &eventBattery, scanTimePtr{&eventBatteryAt},
			scanTimePtr{&h.LastEvent}, &eventKind)
		if err != nil {
			return h, err
		}
		h.BinID, h.LastDecodeError, h.Gateway, h.LastEventKind = bin.String, failure.String, gateway.String, eventKind.String
		h.DecodeFailures = failures.Int64

		// The rate is over the last day, or the part of it the device has
		// existed (registered or first heard), at least an hour.
		start := h.RegisteredAt
		if first != nil && first.Before(start) {
			start = *first
		}
		window := min(healthDay, max(time.Hour, now.Sub(start)))
		h.UplinkRatePerH = float64(h.Uplinks24h) / window.Hours()

		// Signal: the last day's means, else the newest reading's.
		h.RSSI, h.SNR = fptr(rssi), fptr(snr)
		if h.Uplinks24h == 0 {
			h.RSSI, h.SNR = fptr(lastRSSI), fptr(lastSNR)
		}

		// Battery: the newest of the week's readings and events.
		h.Battery = fptr(battery)
		if eventBattery.Valid && eventBatteryAt != nil && !eventBatteryAt.Before(now.Add(-healthWeek)) &&
			(batteryAt == nil || !eventBatteryAt.Before(*batteryAt)) {
			h.Battery = fptr(eventBattery)
		}
		// Trend: the slope between the means of the first and the last
		// battery readings of the week, when they are a day apart.
		if b0.Valid && b1.Valid && x0.Valid && x1.Valid && x1.Float64-x0.Float64 >= 1 {
			v := (b1.Float64 - b0.Float64) / (x1.Float64 - x0.Float64)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				h.BatteryTrendPerDay = &v
			}
		}
		h.Assess(now, civic.DefaultOfflineIntervals)
		return h, nil
	}, args...)
}
