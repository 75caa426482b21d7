package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// This file implements civic.AlertStore. The unique partial index
// alerts_one_unresolved keeps one unresolved alert per bin and rule on both
// engines, whichever node writes; notifications go into alert_outbox in the
// transaction of the alert change they report.

var _ civic.AlertStore = (*Store)(nil)

const alertCols = `id, bin_id, device_id, rule, severity, status, message, value, opened_at, last_seen_at,
	acked_at, acked_by, resolved_at, resolved_by, note, cleared_at`

func scanAlert(r rowScanner) (civic.Alert, error) {
	var a civic.Alert
	var value sql.NullFloat64
	err := r.Scan(&a.ID, &a.BinID, &a.Device, &a.Rule, &a.Severity, &a.Status, &a.Message, &value,
		scanTime{&a.OpenedAt}, scanTime{&a.LastSeenAt}, scanTimePtr{&a.AckedAt}, &a.AckedBy,
		scanTimePtr{&a.ResolvedAt}, &a.ResolvedBy, &a.Note, scanTimePtr{&a.ClearedAt})
	if value.Valid {
		a.Value = &value.Float64
	}
	return a, err
}

func nullFloat(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func utcMs(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// OpenAlert implements civic.AlertStore. Errors: Invalid.
func (s *Store) OpenAlert(ctx context.Context, a *civic.Alert) (civic.Alert, bool, error) {
	if err := a.Validate(); err != nil {
		return civic.Alert{}, false, err
	}
	if a.ID == "" {
		a.ID = newID("al_")
	} else if err := civic.ValidateID("id", a.ID); err != nil {
		return civic.Alert{}, false, err
	}
	if a.Severity == "" {
		a.Severity = a.Rule.DefaultSeverity()
	}
	a.Status = civic.AlertOpen
	a.OpenedAt = utcMs(a.OpenedAt)
	if a.LastSeenAt.IsZero() || a.LastSeenAt.Before(a.OpenedAt) {
		a.LastSeenAt = a.OpenedAt
	}
	a.LastSeenAt = utcMs(a.LastSeenAt)
	a.AckedAt, a.AckedBy, a.ResolvedAt, a.ResolvedBy, a.Note, a.ClearedAt = nil, "", nil, "", "", nil
	var (
		out     civic.Alert
		created bool
	)
	// An unresolved duplicate may be resolved between the insert that
	// conflicts with it and the update: try again.
	for range 3 {
		err := s.inTx(ctx, errCtx{op: "open alert"}, func(tx *sql.Tx) error {
			var id string
			err := tx.QueryRowContext(ctx, `INSERT INTO alerts (`+alertCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, '', NULL, '', '', NULL)
				ON CONFLICT (bin_id, rule) WHERE status <> 'resolved' DO NOTHING RETURNING id`,
				a.ID, a.BinID, a.Device, string(a.Rule), string(a.Severity), string(a.Status), a.Message,
				nullFloat(a.Value), s.ts(a.OpenedAt), s.ts(a.LastSeenAt)).Scan(&id)
			if err == nil {
				out, created = *a, true
				return s.enqueue(ctx, tx, civic.EventOpened, a, a.OpenedAt)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			created = false
			out, err = scanAlert(tx.QueryRowContext(ctx, `UPDATE alerts SET
				last_seen_at = CASE WHEN last_seen_at < $3 THEN $3 ELSE last_seen_at END,
				value = $4, message = CASE WHEN $5 = '' THEN message ELSE $5 END, cleared_at = NULL
				WHERE bin_id = $1 AND rule = $2 AND status <> 'resolved' RETURNING `+alertCols,
				a.BinID, string(a.Rule), s.ts(a.LastSeenAt), nullFloat(a.Value), a.Message))
			return err
		})
		if errors.Is(err, sql.ErrNoRows) || civic.IsKind(err, civic.NotFound) {
			continue
		}
		return out, created, err
	}
	return civic.Alert{}, false, civic.Errorf(civic.Unavailable, "alert of bin %s changed concurrently, try again", a.BinID)
}

// AckAlert implements civic.AlertStore. Errors: NotFound, Conflict (the
// alert is resolved).
//
// Ack and resolve change the row only where its status still allows it
// (a conditional UPDATE), so concurrent changes on PostgreSQL cannot undo
// one another: the loser sees the winner's status.
func (s *Store) AckAlert(ctx context.Context, id, by string, at time.Time) (civic.Alert, error) {
	if strings.TrimSpace(by) == "" {
		return civic.Alert{}, civic.FieldError("by", "is required")
	}
	at = utcMs(at)
	var out civic.Alert
	err := s.inTx(ctx, errCtx{op: "acknowledge alert"}, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `UPDATE alerts SET status = $2, acked_at = $3, acked_by = $4
			WHERE id = $1 AND status = $5 RETURNING `+alertCols,
			id, string(civic.AlertAcknowledged), s.ts(at), by, string(civic.AlertOpen)))
		if errors.Is(err, sql.ErrNoRows) {
			if a, err = s.alertTx(ctx, tx, id); err != nil {
				return err
			}
			if a.Status == civic.AlertResolved {
				return civic.Errorf(civic.Conflict, "alert %s is resolved", id)
			}
			out = a // acknowledged already
			return nil
		}
		if err != nil {
			return err
		}
		out = a
		if err := s.enqueue(ctx, tx, civic.EventAcknowledged, &a, at); err != nil || a.ClearedAt == nil {
			return err
		}
		// A latched alert whose condition cleared: seen now, so closed.
		out, _, err = s.resolveWhere(ctx, tx, `id = $5`, []any{id}, by, "acknowledged after the condition cleared", at)
		return err
	})
	return out, err
}

// ResolveAlert implements civic.AlertStore. Errors: Invalid (no actor, a
// note over 2000 characters), NotFound, Conflict (resolved already).
func (s *Store) ResolveAlert(ctx context.Context, id, by, note string, at time.Time) (civic.Alert, error) {
	if strings.TrimSpace(by) == "" {
		return civic.Alert{}, civic.FieldError("by", "is required")
	}
	if len(note) > 2000 {
		return civic.Alert{}, civic.FieldError("note", "must be at most 2000 characters")
	}
	var out civic.Alert
	err := s.inTx(ctx, errCtx{op: "resolve alert"}, func(tx *sql.Tx) error {
		a, ok, err := s.resolveWhere(ctx, tx, `id = $5`, []any{id}, by, note, at)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := s.alertTx(ctx, tx, id); err != nil {
				return err
			}
			return civic.Errorf(civic.Conflict, "alert %s is resolved already", id)
		}
		out = a
		return nil
	})
	return out, err
}

// ResolveCleared implements civic.AlertStore.
func (s *Store) ResolveCleared(ctx context.Context, binID string, rule civic.RuleKind, note string, at time.Time) (civic.Alert, bool, error) {
	var (
		out civic.Alert
		ok  bool
	)
	err := s.inTx(ctx, errCtx{op: "resolve cleared alert"}, func(tx *sql.Tx) error {
		// A latched alert nobody has acknowledged stays open, marked
		// cleared (the first time only).
		a, err := scanAlert(tx.QueryRowContext(ctx, `UPDATE alerts SET cleared_at = CASE WHEN cleared_at IS NULL THEN $1 ELSE cleared_at END,
			note = CASE WHEN cleared_at IS NULL THEN $2 ELSE note END
			WHERE bin_id = $3 AND rule = $4 AND status = $5 AND severity = $6 RETURNING `+alertCols,
			s.ts(utcMs(at)), note, binID, string(rule), string(civic.AlertOpen), string(civic.SeverityCritical)))
		if err == nil {
			out = a
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out, ok, err = s.resolveWhere(ctx, tx, `bin_id = $5 AND rule = $6`, []any{binID, string(rule)}, civic.SystemActor, note, at)
		return err
	})
	return out, ok, err
}

// resolveWhere resolves the unresolved alert matching cond (whose
// placeholders start at $5) and queues its notifications; ok is false when
// there is none.
func (s *Store) resolveWhere(ctx context.Context, tx *sql.Tx, cond string, condArgs []any, by, note string, at time.Time) (civic.Alert, bool, error) {
	at = utcMs(at)
	args := append([]any{string(civic.AlertResolved), s.ts(at), by, note}, condArgs...)
	a, err := scanAlert(tx.QueryRowContext(ctx, `UPDATE alerts SET status = $1, resolved_at = $2, resolved_by = $3, note = $4
		WHERE `+cond+` AND status <> 'resolved' RETURNING `+alertCols, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	return a, true, s.enqueue(ctx, tx, civic.EventResolved, &a, at)
}

func (s *Store) alertTx(ctx context.Context, tx *sql.Tx, id string) (civic.Alert, error) {
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("alert", id)
	}
	return a, err
}

// enqueue queues a notification of ev for every subscription that wants
// it, in tx.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, ev civic.AlertEvent, a *civic.Alert, at time.Time) error {
	subs, err := listTx(ctx, tx, `SELECT `+subCols+` FROM alert_subscriptions ORDER BY id`, scanSub)
	if err != nil || len(subs) == 0 {
		return err
	}
	var zone sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT zone_id FROM bins WHERE id = $1`, a.BinID).Scan(&zone); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	notice := civic.AlertNotice{Event: ev, Time: at, Alert: *a, Zone: zone.String, Status: "ok"}
	if a.Status != civic.AlertResolved {
		notice.Status = civic.FIWAREStatus([]civic.Alert{*a})
	}
	payload, err := json.Marshal(notice)
	if err != nil {
		return err
	}
	urgent := a.Severity == civic.SeverityCritical
	for _, sub := range subs {
		if !sub.Matches(ev, a, zone.String) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_outbox (subscription_id, alert_id, event, urgent, payload, attempts, next_at, created_at)
			VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`,
			sub.ID, a.ID, string(ev), urgent, string(payload), s.ts(sub.NotifyAt(a, at)), s.ts(at)); err != nil {
			return err
		}
	}
	return nil
}

// Alert implements civic.AlertStore. Errors: NotFound.
func (s *Store) Alert(ctx context.Context, id string) (civic.Alert, error) {
	a, err := scanAlert(s.rdb.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("alert", id)
	}
	return a, s.fail(errCtx{op: "get alert"}, err)
}

// alertWhere is the WHERE clause (empty for none) and arguments of the
// alerts f selects; arg numbers an argument. Errors: Invalid.
func alertWhere(f civic.AlertFilter, arg func(any) string) (string, error) {
	var where []string
	if f.Status != "" {
		if !f.Status.Valid() {
			return "", civic.FieldError("status", "must be one of open, acknowledged, resolved")
		}
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Unresolved {
		where = append(where, "status <> 'resolved'")
	}
	if f.BinID != "" {
		where = append(where, "bin_id = "+arg(f.BinID))
	}
	if f.Rule != "" {
		if !f.Rule.Valid() {
			return "", civic.FieldError("rule", "is not a known rule")
		}
		where = append(where, "rule = "+arg(string(f.Rule)))
	}
	if len(where) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(where, " AND "), nil
}

// CountAlerts implements civic.AlertStore. Errors: Invalid (an unknown
// status or rule).
func (s *Store) CountAlerts(ctx context.Context, f civic.AlertFilter) (int, error) {
	var args []any
	where, err := alertWhere(f, func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	})
	if err != nil {
		return 0, err
	}
	var n int
	err = s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM alerts`+where, args...).Scan(&n)
	return n, s.fail(errCtx{op: "count alerts"}, err)
}

// UnresolvedAlertCounts implements civic.AlertStore.
func (s *Store) UnresolvedAlertCounts(ctx context.Context) (civic.AlertCounts, error) {
	var c civic.AlertCounts
	err := s.rdb.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'acknowledged' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END), 0)
		FROM alerts WHERE status <> 'resolved'`).Scan(&c.Open, &c.Acknowledged, &c.Critical)
	return c, s.fail(errCtx{op: "count unresolved alerts"}, err)
}

// ListAlerts implements civic.AlertStore: newest first, at most f.Limit
// (default 100). Errors: Invalid (an unknown status or rule).
func (s *Store) ListAlerts(ctx context.Context, f civic.AlertFilter) ([]civic.Alert, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where, err := alertWhere(f, arg)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if f.Offset < 0 {
		return nil, civic.FieldError("offset", "must not be negative")
	}
	q := `SELECT ` + alertCols + ` FROM alerts` + where
	switch f.Sort {
	case "", civic.AlertSortNewest:
		q += ` ORDER BY opened_at DESC, id DESC`
	case civic.AlertSortSeverity:
		q += ` ORDER BY CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END DESC, opened_at, id`
	default:
		return nil, civic.FieldError("sort", "must be newest or severity")
	}
	q += ` LIMIT ` + arg(limit) + ` OFFSET ` + arg(f.Offset)
	return list(ctx, s, "list alerts", q, scanAlert, args...)
}

// ---- subscriptions ----

const subCols = `id, name, kind, url, secret, email, rules, min_severity, zones, events, digest_minutes, created_at, created_by`

func scanSub(r rowScanner) (civic.Subscription, error) {
	var sub civic.Subscription
	var rules, zones, events string
	err := r.Scan(&sub.ID, &sub.Name, &sub.Kind, &sub.URL, &sub.Secret, &sub.Email, &rules, &sub.MinSeverity,
		&zones, &events, &sub.DigestMinutes, scanTime{&sub.CreatedAt}, &sub.CreatedBy)
	if err != nil {
		return sub, err
	}
	for _, p := range []struct {
		s string
		v any
	}{{rules, &sub.Rules}, {zones, &sub.Zones}, {events, &sub.Events}} {
		if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
			return sub, fmt.Errorf("subscription %s: %w", sub.ID, err)
		}
	}
	return sub, nil
}

func jsonList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateSubscription implements civic.AlertStore; CreatedAt is set by the
// store. Errors: Invalid, Conflict.
func (s *Store) CreateSubscription(ctx context.Context, sub *civic.Subscription) error {
	if err := sub.Validate(); err != nil {
		return err
	}
	sub.CreatedAt = s.stamp()
	return s.inTx(ctx, errCtx{op: "create subscription"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_subscriptions (`+subCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			sub.ID, sub.Name, string(sub.Kind), sub.URL, sub.Secret, sub.Email, jsonList(sub.Rules),
			string(sub.MinSeverity), jsonList(sub.Zones), jsonList(sub.Events), sub.DigestMinutes,
			s.ts(sub.CreatedAt), sub.CreatedBy)
		return err
	})
}

// Subscription implements civic.AlertStore. Errors: NotFound.
func (s *Store) Subscription(ctx context.Context, id string) (civic.Subscription, error) {
	sub, err := scanSub(s.rdb.QueryRowContext(ctx, `SELECT `+subCols+` FROM alert_subscriptions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, notFound("subscription", id)
	}
	return sub, s.fail(errCtx{op: "get subscription"}, err)
}

// ListSubscriptions implements civic.AlertStore, ordered by id.
func (s *Store) ListSubscriptions(ctx context.Context) ([]civic.Subscription, error) {
	return list(ctx, s, "list subscriptions", `SELECT `+subCols+` FROM alert_subscriptions ORDER BY id`, scanSub)
}

// DeleteSubscription implements civic.AlertStore; its outbox rows go with
// it. Errors: NotFound.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete subscription"}, func(tx *sql.Tx) error {
		// SQLite enforces ON DELETE CASCADE only with foreign_keys on;
		// delete the rows explicitly so both engines agree regardless.
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE subscription_id = $1`, id); err != nil {
			return err
		}
		return execOne(ctx, tx, "subscription", id, `DELETE FROM alert_subscriptions WHERE id = $1`, id)
	})
}

// ---- rules ----

// AlertRules implements civic.AlertStore.
func (s *Store) AlertRules(ctx context.Context) (civic.AlertRules, error) {
	var (
		config string
		r      civic.AlertRules
	)
	err := s.rdb.QueryRowContext(ctx, `SELECT config, updated_at, updated_by FROM alert_rules WHERE id = 1`).
		Scan(&config, scanTime{&r.UpdatedAt}, &r.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return civic.DefaultAlertRules(), nil
	}
	if err != nil {
		return r, s.fail(errCtx{op: "get alert rules"}, err)
	}
	at, by := r.UpdatedAt, r.UpdatedBy
	if err := json.Unmarshal([]byte(config), &r); err != nil {
		return r, s.fail(errCtx{op: "get alert rules"}, err)
	}
	r.UpdatedAt, r.UpdatedBy = at, by
	if r.Overrides == nil {
		r.Overrides = []civic.RuleOverride{}
	}
	return r, nil
}

// SetAlertRules implements civic.AlertStore; UpdatedAt is set by the
// store. Errors: Invalid.
func (s *Store) SetAlertRules(ctx context.Context, r *civic.AlertRules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Overrides == nil {
		r.Overrides = []civic.RuleOverride{}
	}
	r.UpdatedAt = s.stamp()
	cfg := *r
	cfg.UpdatedAt, cfg.UpdatedBy = time.Time{}, ""
	b, err := json.Marshal(cfg)
	if err != nil {
		return civic.Wrap(civic.Internal, err, "internal error")
	}
	return s.inTx(ctx, errCtx{op: "set alert rules"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_rules (id, config, updated_at, updated_by) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			string(b), s.ts(r.UpdatedAt), r.UpdatedBy)
		return err
	})
}

// ---- outbox ----

const outboxCols = `id, subscription_id, alert_id, event, urgent, payload, attempts, next_at, created_at, delivered_at, failed, last_error`

func scanNotification(r rowScanner) (civic.Notification, error) {
	var n civic.Notification
	var payload string
	err := r.Scan(&n.ID, &n.SubscriptionID, &n.AlertID, &n.Event, &n.Urgent, &payload, &n.Attempts,
		scanTime{&n.NextAt}, scanTime{&n.CreatedAt}, scanTimePtr{&n.DeliveredAt}, &n.Failed, &n.LastError)
	n.Payload = []byte(payload)
	return n, err
}

// ClaimNotifications implements civic.AlertStore. On PostgreSQL the claim
// skips rows other nodes are claiming (FOR UPDATE SKIP LOCKED); SQLite has
// one writer.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]civic.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
	lock := ""
	if s.pg() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []civic.Notification
	err := s.inTx(ctx, errCtx{op: "claim notifications"}, func(tx *sql.Tx) error {
		var err error
		out, err = listTx(ctx, tx, `UPDATE alert_outbox SET next_at = $1 WHERE id IN (
			SELECT id FROM alert_outbox WHERE delivered_at IS NULL AND NOT failed AND next_at <= $2
			ORDER BY next_at, id LIMIT $3`+lock+`) RETURNING `+outboxCols,
			scanNotification, s.ts(now.Add(lease)), s.ts(now), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b civic.Notification) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// MarkDelivered implements civic.AlertStore. Errors: NotFound.
func (s *Store) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	return s.inTx(ctx, errCtx{op: "mark notification delivered"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "notification", fmt.Sprint(id),
			`UPDATE alert_outbox SET delivered_at = $2, last_error = '' WHERE id = $1`, id, s.ts(at))
	})
}

// RescheduleNotification implements civic.AlertStore. Errors: NotFound.
func (s *Store) RescheduleNotification(ctx context.Context, id int64, next time.Time, lastErr string, failed bool) error {
	if len(lastErr) > 1000 {
		lastErr = lastErr[:1000]
	}
	return s.inTx(ctx, errCtx{op: "reschedule notification"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "notification", fmt.Sprint(id),
			`UPDATE alert_outbox SET attempts = attempts + 1, next_at = $2, last_error = $3, failed = $4 WHERE id = $1`,
			id, s.ts(next), lastErr, failed)
	})
}

// PruneNotifications implements civic.AlertStore.
func (s *Store) PruneNotifications(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, errCtx{op: "prune notifications"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_outbox WHERE created_at < $1 AND (delivered_at IS NOT NULL OR failed)`, s.ts(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// listTx is list inside a transaction.
func listTx[T any](ctx context.Context, tx *sql.Tx, query string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
