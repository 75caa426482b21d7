package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- crew reports and collections ----
//
// A collection empties the bin's live state: bin_state.fill becomes 0 and
// bin_state.time the collection time, but only when that is not older than
// the stored state. bin_state.time is thus the time of the newest thing
// known about the bin, reading or collection, and WriteReadings' rule (a
// reading updates the state only when its sensor time is newer than
// bin_state.time) keeps a reading taken before the collection, however
// late it arrives, from bringing the old fill back, while any reading
// taken after it applies as usual. A collection at the same millisecond as
// the stored state wins.

const collectionCols = `id, bin_id, time, stop_id, route_id, plan_id, truck_id, crew_id, by_user, fill_seen, fill_before,
	source, has_photo`

func scanCollection(r rowScanner) (civic.Collection, error) {
	var c civic.Collection
	var stop, route, plan, truck, crew sql.NullString
	var seen, before sql.NullFloat64
	err := r.Scan(&c.ID, &c.BinID, scanTime{&c.Time}, &stop, &route, &plan, &truck, &crew, &c.By, &seen, &before,
		&c.Source, &c.HasPhoto)
	c.StopID, c.RouteID, c.PlanID, c.TruckID, c.CrewID = stop.String, route.String, plan.String, truck.String, crew.String
	c.FillSeen, c.FillBefore = fptr(seen), fptr(before)
	return c, err
}

func (s *Store) insertCollection(ctx context.Context, tx *sql.Tx, c *civic.Collection) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO collections (`+collectionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.BinID, s.ts(c.Time), nullStr(c.StopID), nullStr(c.RouteID), nullStr(c.PlanID), nullStr(c.TruckID),
		nullStr(c.CrewID), c.By, fval(c.FillSeen), fval(c.FillBefore), c.Source, c.HasPhoto)
	return err
}

// emptyBin sets the live state of an existing bin to empty as of at,
// unless the stored state is newer (see the top of this file). A bin
// without a state gets one; a deleted bin gets none.
func (s *Store) emptyBin(ctx context.Context, tx *sql.Tx, binID string, at, now time.Time) error {
	ok, err := exists(ctx, tx, "bins", binID)
	if err != nil || !ok {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO bin_state (bin_id, time, fill, updated_at) VALUES ($1, $2, 0, $3)
		ON CONFLICT (bin_id) DO UPDATE SET fill = 0, time = excluded.time, updated_at = excluded.updated_at
		WHERE excluded.time >= bin_state.time`, binID, s.ms(at), s.ms(now))
	return err
}

// lastFillQuery selects bin $1's newest fill reading at or before $2.
const lastFillQuery = `SELECT time, fill FROM readings WHERE ` + binReadings + `
	AND time <= $2 AND fill IS NOT NULL ORDER BY time DESC LIMIT 1`

// fillBefore is the bin's fill as the sensors last knew it at time at: the
// live state's when it is not newer than at (the usual case). Otherwise
// (a report that arrives late, after newer readings) it is the newest
// reading's fill before at, or 0 when the bin was collected after that
// reading; nil when nothing is known.
func (s *Store) fillBefore(ctx context.Context, tx *sql.Tx, binID string, at time.Time) (*float64, error) {
	var stTime time.Time
	var fill sql.NullFloat64
	err := tx.QueryRowContext(ctx, `SELECT time, fill FROM bin_state WHERE bin_id = $1`, binID).Scan(scanTime{&stTime}, &fill)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !stTime.After(at) {
		return fptr(fill), nil
	}
	var rdTime time.Time
	err = tx.QueryRowContext(ctx, lastFillQuery, binID, s.ms(at)).Scan(scanTime{&rdTime}, &fill)
	if err != nil && err != sql.ErrNoRows {
		return nil, err
	}
	var collected int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM collections WHERE bin_id = $1 AND time >= $2 AND time <= $3`,
		binID, s.ts(rdTime), s.ts(at)).Scan(&collected); err != nil {
		return nil, err
	}
	if collected > 0 {
		zero := 0.0
		return &zero, nil
	}
	if !fill.Valid || rdTime.IsZero() {
		return nil, nil
	}
	return fptr(fill), nil
}

func loadStop(ctx context.Context, q querier, id string) (civic.Stop, error) {
	return scanStop(q.QueryRowContext(ctx, `SELECT `+stopCols+` FROM stops s WHERE s.id = $1`, id))
}

// ReportStop applies a crew's report on a bin stop in one transaction (see
// civic.PlanStore). A report without a time takes the store's clock; times
// are kept in UTC to the millisecond.
//
// A stop may be reported again under a new ClientID (skipped, then
// collected after all): its outcome follows the report with the latest At,
// and the first collected report creates its only collection event. c is
// that event when this call created it, nil otherwise. Reports are kept in
// stop_reports, the latest photo in stop_photos. A plan is done, and so
// are all its routes, once none of its bin stops is pending; a done plan
// still takes corrections. Errors: Invalid naming the field, NotFound (no
// such stop), Conflict (the plan is a draft, the stop is not a bin stop,
// or the ClientID was used for another stop).
func (s *Store) ReportStop(ctx context.Context, r *civic.StopReport) (civic.Stop, *civic.Collection, bool, error) {
	if err := r.Validate(); err != nil {
		return civic.Stop{}, nil, false, err
	}
	if err := s.readStates(ctx, "report stop"); err != nil {
		return civic.Stop{}, nil, false, err
	}
	now := s.stamp()
	at := utcMS(r.At)
	if r.At.IsZero() {
		at = now
	}
	var (
		stop    civic.Stop
		coll    *civic.Collection
		applied bool
	)
	err := s.inTx(ctx, errCtx{op: "report stop"}, func(tx *sql.Tx) error {
		stop, coll, applied = civic.Stop{}, nil, false
		var kind civic.StopKind
		var binID, crewID sql.NullString
		var routeID, planID, truckID string
		err := tx.QueryRowContext(ctx, `SELECT s.kind, s.bin_id, r.id, r.plan_id, r.truck_id, r.crew_id
			FROM stops s JOIN routes r ON r.id = s.route_id WHERE s.id = $1`, r.StopID).
			Scan(&kind, &binID, &routeID, &planID, &truckID, &crewID)
		if err == sql.ErrNoRows {
			return notFound("stop", r.StopID)
		}
		if err != nil {
			return err
		}
		// Reports on one plan take turns: route and plan progress count
		// the other stops' outcomes. (SQLite has one writer anyway.)
		lock := ""
		if s.pg() {
			lock = " FOR UPDATE"
		}
		var planStatus civic.PlanStatus
		if err := tx.QueryRowContext(ctx, `SELECT status FROM plans WHERE id = $1`+lock, planID).Scan(&planStatus); err != nil {
			return err
		}
		if planStatus == civic.PlanDraft {
			return civic.Errorf(civic.Conflict, "plan %q is a draft: crews report stops of locked plans", planID)
		}
		if kind != civic.StopBin {
			return civic.Errorf(civic.Conflict, "stop %q is a %s stop: only bin stops are reported", r.StopID, kind)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO stop_reports (client_id, stop_id, status, skip_reason, fill_seen,
			note, reported_at, by_user, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (client_id) DO NOTHING`,
			r.ClientID, r.StopID, string(r.Status), string(r.SkipReason), fval(r.FillSeen), r.Note, s.ts(at), r.By, s.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var first string
			if err := tx.QueryRowContext(ctx, `SELECT stop_id FROM stop_reports WHERE client_id = $1`, r.ClientID).
				Scan(&first); err != nil {
				return err
			}
			if first != r.StopID {
				return &civic.Error{Kind: civic.Conflict, Field: "client_id",
					Message: fmt.Sprintf("was already used for stop %q", first)}
			}
			stop, err = loadStop(ctx, tx, r.StopID)
			return err
		}
		applied = true

		var doneAt *time.Time
		if err := tx.QueryRowContext(ctx, `SELECT done_at FROM stops WHERE id = $1`, r.StopID).
			Scan(scanTimePtr{&doneAt}); err != nil {
			return err
		}
		fill, err := s.fillBefore(ctx, tx, binID.String, at)
		if err != nil {
			return err
		}
		if doneAt == nil || !at.Before(*doneAt) {
			if _, err := tx.ExecContext(ctx, `UPDATE stops SET status = $2, done_at = $3, skip_reason = $4,
				fill_seen = $5, fill_at_arrival = $6 WHERE id = $1`,
				r.StopID, string(r.Status), s.ts(at), string(r.SkipReason), fval(r.FillSeen), fval(fill)); err != nil {
				return err
			}
		}
		hasPhoto := len(r.Photo) > 0
		if hasPhoto {
			if _, err := tx.ExecContext(ctx, `INSERT INTO stop_photos (stop_id, content_type, data, client_id, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (stop_id) DO UPDATE SET content_type = excluded.content_type,
				data = excluded.data, client_id = excluded.client_id, created_at = excluded.created_at`,
				r.StopID, r.PhotoType, r.Photo, r.ClientID, s.ts(now)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE collections SET has_photo = $2 WHERE stop_id = $1`,
				r.StopID, true); err != nil {
				return err
			}
		}
		if r.Status == civic.StopCollected {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM collections WHERE stop_id = $1`, r.StopID).
				Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				c := &civic.Collection{ID: "col-" + r.StopID, BinID: binID.String, Time: at, StopID: r.StopID,
					RouteID: routeID, PlanID: planID, TruckID: truckID, CrewID: crewID.String, By: r.By,
					FillSeen: r.FillSeen, FillBefore: fill, Source: "crew", HasPhoto: hasPhoto}
				if err := s.insertCollection(ctx, tx, c); err != nil {
					return err
				}
				if err := s.emptyBin(ctx, tx, c.BinID, at, now); err != nil {
					return err
				}
				coll = c
			}
		}
		if err := s.advance(ctx, tx, planID, routeID, planStatus, now); err != nil {
			return err
		}
		stop, err = loadStop(ctx, tx, r.StopID)
		return err
	})
	if err != nil {
		return civic.Stop{}, nil, false, err
	}
	return stop, coll, applied, nil
}

// advance moves a route that has a report on: in progress, or done when
// none of its bin stops is pending; and its plan: from locked to in
// progress, or done, with all its routes, when none of its bin stops is
// pending.
func (s *Store) advance(ctx context.Context, tx *sql.Tx, planID, routeID string, planStatus civic.PlanStatus, now time.Time) error {
	pending := func(where, id string) (int, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stops s JOIN routes r ON r.id = s.route_id
			WHERE `+where+` AND s.kind = 'bin' AND s.status = 'pending'`, id).Scan(&n)
		return n, err
	}
	n, err := pending("r.id = $1", routeID)
	if err != nil {
		return err
	}
	route := civic.RouteInProgress
	if n == 0 {
		route = civic.RouteDone
	}
	if _, err := tx.ExecContext(ctx, `UPDATE routes SET status = $2 WHERE id = $1 AND status <> 'done'`,
		routeID, string(route)); err != nil {
		return err
	}
	n, err = pending("r.plan_id = $1", planID)
	if err != nil {
		return err
	}
	next := planStatus
	if n == 0 {
		next = civic.PlanDone
		if _, err := tx.ExecContext(ctx, `UPDATE routes SET status = 'done' WHERE plan_id = $1`, planID); err != nil {
			return err
		}
	} else if planStatus == civic.PlanLocked {
		next = civic.PlanInProgress
	}
	if next == planStatus {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE plans SET status = $2, updated_at = $3 WHERE id = $1`,
		planID, string(next), s.ts(now))
	return err
}

// RecordCollection stores a collection not tied to a crew's report (the
// demo, an import, the API) and empties the bin's live state as ReportStop
// does. Defaults: Time the store's clock, Source "api", FillBefore the
// bin's fill at Time, ID "col-BIN-UNIXMS". Errors: Invalid (a missing bin,
// a fill_seen outside 0..1), Conflict (the id exists, or StopID has a
// collection).
func (s *Store) RecordCollection(ctx context.Context, c *civic.Collection) error {
	if err := s.readStates(ctx, "record collection"); err != nil {
		return err
	}
	if err := civic.ValidateID("bin_id", c.BinID); err != nil {
		return err
	}
	if c.FillSeen != nil && !(*c.FillSeen >= 0 && *c.FillSeen <= 1) {
		return civic.FieldError("fill_seen", "must be between 0 and 1")
	}
	if c.FillBefore != nil && !(*c.FillBefore >= 0 && *c.FillBefore <= 1) {
		return civic.FieldError("fill_before", "must be between 0 and 1")
	}
	now := s.stamp()
	if c.Time.IsZero() {
		c.Time = now
	}
	c.Time = utcMS(c.Time)
	if c.Source == "" {
		c.Source = "api"
	}
	if c.ID == "" {
		c.ID = fmt.Sprintf("col-%s-%d", c.BinID, c.Time.UnixMilli())
	}
	if err := civic.ValidateID("id", c.ID); err != nil {
		return err
	}
	return s.inTx(ctx, errCtx{op: "record collection"}, func(tx *sql.Tx) error {
		if err := mustRef(ctx, tx, "bin_id", "bins", c.BinID); err != nil {
			return err
		}
		if c.FillBefore == nil {
			fill, err := s.fillBefore(ctx, tx, c.BinID, c.Time)
			if err != nil {
				return err
			}
			c.FillBefore = fill
		}
		if err := s.insertCollection(ctx, tx, c); err != nil {
			return err
		}
		return s.emptyBin(ctx, tx, c.BinID, c.Time, now)
	})
}

// ListCollections returns the collections f selects, newest first.
// Errors: Invalid (a negative limit).
func (s *Store) ListCollections(ctx context.Context, f civic.CollectionFilter) ([]civic.Collection, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.BinID != "" {
		where = append(where, "bin_id = "+arg(f.BinID))
	}
	if f.PlanID != "" {
		where = append(where, "plan_id = "+arg(f.PlanID))
	}
	if !f.From.IsZero() {
		where = append(where, "time >= "+arg(s.ts(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "time < "+arg(s.ts(f.To)))
	}
	if f.Limit < 0 {
		return nil, civic.FieldError("limit", "must not be negative")
	}
	if f.Offset < 0 {
		return nil, civic.FieldError("offset", "must not be negative")
	}
	q := `SELECT ` + collectionCols + ` FROM collections`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(int64(f.Limit))
	} else if f.Offset > 0 && !s.pg() {
		q += " LIMIT -1" // SQLite takes OFFSET only after a LIMIT
	}
	if f.Offset > 0 {
		q += " OFFSET " + arg(int64(f.Offset))
	}
	return list(ctx, s, "list collections", q, scanCollection, args...)
}

// LastCollections returns each bin's latest collection time, bins deleted
// since included.
func (s *Store) LastCollections(ctx context.Context) (map[string]time.Time, error) {
	type last struct {
		bin string
		t   time.Time
	}
	rows, err := list(ctx, s, "last collections", `SELECT bin_id, max(time) FROM collections GROUP BY bin_id`,
		func(r rowScanner) (last, error) {
			var l last
			err := r.Scan(&l.bin, scanTime{&l.t})
			return l, err
		})
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, l := range rows {
		out[l.bin] = l.t
	}
	return out, nil
}

// StopPhoto returns the latest photo of a stop and its content type.
// Errors: NotFound (no such stop, or no photo).
func (s *Store) StopPhoto(ctx context.Context, stopID string) ([]byte, string, error) {
	var data []byte
	var ctype string
	err := s.rdb.QueryRowContext(ctx, `SELECT data, content_type FROM stop_photos WHERE stop_id = $1`, stopID).
		Scan(&data, &ctype)
	if err == sql.ErrNoRows {
		return nil, "", civic.Errorf(civic.NotFound, "no photo for stop %q", stopID)
	}
	if err != nil {
		return nil, "", s.fail(errCtx{op: "get stop photo"}, err)
	}
	return data, ctype, nil
}
