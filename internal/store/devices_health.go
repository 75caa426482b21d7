package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
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
// for what each field means; last seen, uplinks, battery and signal come
// from the readings (one index seek per device for the last reading, one
// range scan of its last 7 days), the rest from device_health.
func (s *Store) DeviceHealth(ctx context.Context, now time.Time) ([]civic.DeviceHealth, error) {
	return s.deviceHealth(ctx, "", now)
}

// DeviceHealthOf returns one device's health as of now. Errors: NotFound.
func (s *Store) DeviceHealthOf(ctx context.Context, id string, now time.Time) (civic.DeviceHealth, error) {
	hs, err := s.deviceHealth(ctx, id, now)
	if err != nil {
		return civic.DeviceHealth{}, err
	}
	if len(hs) == 0 {
		return civic.DeviceHealth{}, notFound("device", id)
	}
	return hs[0], nil
}

// readingStats is what the last 7 days of a device's readings say.
type readingStats struct {
	n24              int
	rssi24, snr24    sql.NullFloat64
	rssi7, snr7      sql.NullFloat64
	first            time.Time
	nBattery         int
	lastBattery      *time.Time
	sx, sy, sxx, sxy sql.NullFloat64
	minX, maxX       sql.NullFloat64
}

func (s *Store) deviceHealth(ctx context.Context, id string, now time.Time) ([]civic.DeviceHealth, error) {
	now = now.UTC()
	weekAgo, dayAgo := now.Add(-healthWeek), now.Add(-healthDay)
	where, args := "", []any{s.ms(weekAgo)}
	if id != "" {
		where, args = " WHERE d.id = $2", append(args, id)
	}
	type row struct {
		h          civic.DeviceHealth
		batteryR   sql.NullFloat64
		batteryEv  sql.NullFloat64
		batteryEvT *time.Time
	}
	rows, err := list(ctx, s, "device health", `SELECT d.id, d.kind, d.bin_id, d.firmware, d.status, d.expected_interval_s, d.created_at,
		(SELECT max(r.time) FROM readings r WHERE r.device_id = d.id),
		(SELECT r.battery FROM readings r WHERE r.device_id = d.id AND r.time >= $1 AND r.battery IS NOT NULL
			ORDER BY r.time DESC LIMIT 1),
		h.decode_failures, h.last_failure_at, h.last_failure, h.gateway, h.battery, h.battery_at, h.last_event_at, h.last_event_kind
		FROM devices d LEFT JOIN device_health h ON h.device_id = d.id`+where+` ORDER BY d.id`,
		func(r rowScanner) (row, error) {
			var x row
			h := &x.h
			var bin, failure, gateway, eventKind sql.NullString
			var failures sql.NullInt64
			err := r.Scan(&h.Device, &h.Kind, &bin, &h.Firmware, &h.DeviceStatus, &h.ExpectedInterval, scanTime{&h.RegisteredAt},
				scanTimePtr{&h.LastSeen}, &x.batteryR,
				&failures, scanTimePtr{&h.LastDecodeFailure}, &failure, &gateway, &x.batteryEv, scanTimePtr{&x.batteryEvT},
				scanTimePtr{&h.LastEvent}, &eventKind)
			h.BinID, h.LastDecodeError, h.Gateway, h.LastEventKind = bin.String, failure.String, gateway.String, eventKind.String
			h.DecodeFailures = failures.Int64
			return x, err
		}, args...)
	if err != nil {
		return nil, err
	}
	stats, err := s.readingStats(ctx, id, now, weekAgo, dayAgo)
	if err != nil {
		return nil, err
	}
	out := make([]civic.DeviceHealth, len(rows))
	for i := range rows {
		x := &rows[i]
		h := &x.h
		var lastBattery *time.Time
		if st, ok := stats[h.Device]; ok {
			lastBattery = st.lastBattery
			h.Uplinks24h = st.n24
			// The window is the last day, or the part of it the device
			// has existed (registered or first heard), at least an hour.
			start := h.RegisteredAt
			if !st.first.IsZero() && st.first.Before(start) {
				start = st.first
			}
			window := min(healthDay, max(time.Hour, now.Sub(start)))
			h.UplinkRatePerH = float64(st.n24) / window.Hours()
			h.RSSI, h.SNR = fptr(st.rssi24), fptr(st.snr24)
			if h.RSSI == nil {
				h.RSSI = fptr(st.rssi7)
			}
			if h.SNR == nil {
				h.SNR = fptr(st.snr7)
			}
			h.BatteryTrendPerDay = st.trend()
		}
		h.Battery = fptr(x.batteryR)
		if x.batteryEv.Valid && x.batteryEvT != nil && !x.batteryEvT.Before(now.Add(-healthWeek)) &&
			(h.Battery == nil || lastBattery == nil || !x.batteryEvT.Before(*lastBattery)) {
			h.Battery = fptr(x.batteryEv)
		}
		h.Assess(now, civic.DefaultOfflineIntervals)
		out[i] = *h
	}
	return out, nil
}

// trend is the least-squares slope of battery over time in days, or nil
// when the battery readings span less than a day.
func (st *readingStats) trend() *float64 {
	if st.nBattery < 2 || !st.minX.Valid || !st.maxX.Valid || st.maxX.Float64-st.minX.Float64 < 1 {
		return nil
	}
	n := float64(st.nBattery)
	den := n*st.sxx.Float64 - st.sx.Float64*st.sx.Float64
	if den <= 0 {
		return nil
	}
	v := (n*st.sxy.Float64 - st.sx.Float64*st.sy.Float64) / den
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// readingStats aggregates the last 7 days of readings per device, in one
// pass: a range scan of the primary key (device_id, time) per device.
func (s *Store) readingStats(ctx context.Context, id string, now, weekAgo, dayAgo time.Time) (map[string]*readingStats, error) {
	// x is a reading's time in days before now (negative), for the battery
	// slope; small numbers keep the sums exact enough.
	x := `((r.time - $3) / 86400000.0)`
	if s.pg() {
		x = `(extract(epoch FROM r.time - $3::timestamptz)::float8 / 86400.0)`
	}
	bat := ` FILTER (WHERE r.battery IS NOT NULL)`
	where, args := "", []any{s.ms(weekAgo), s.ms(dayAgo), s.ms(now)}
	if id != "" {
		where, args = " WHERE d.id = $4", append(args, id)
	}
	q := `SELECT r.device_id, count(*) FILTER (WHERE r.time >= $2),
		avg(r.rssi_dbm) FILTER (WHERE r.time >= $2), avg(r.snr_db) FILTER (WHERE r.time >= $2),
		avg(r.rssi_dbm), avg(r.snr_db), min(r.time),
		count(r.battery), max(r.time)` + bat + `,
		sum({x})` + bat + `, sum(r.battery), sum({x} * {x})` + bat + `, sum({x} * r.battery), min({x})` + bat + `, max({x})` + bat + `
		FROM devices d JOIN readings r ON r.device_id = d.id AND r.time >= $1` + where + `
		GROUP BY r.device_id`
	q = strings.ReplaceAll(q, "{x}", x)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(errCtx{op: "device reading stats"}, err)
	}
	defer rows.Close()
	out := map[string]*readingStats{}
	for rows.Next() {
		var dev string
		st := &readingStats{}
		if err := rows.Scan(&dev, &st.n24, &st.rssi24, &st.snr24, &st.rssi7, &st.snr7, scanTime{&st.first},
			&st.nBattery, scanTimePtr{&st.lastBattery}, &st.sx, &st.sy, &st.sxx, &st.sxy, &st.minX, &st.maxX); err != nil {
			return nil, s.fail(errCtx{op: "device reading stats"}, err)
		}
		out[dev] = st
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(errCtx{op: "device reading stats"}, err)
	}
	return out, nil
}
