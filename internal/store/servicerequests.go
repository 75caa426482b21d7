package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- 311: services catalogue and service requests ----
//
// Requests are numbered by the database (an identity column on
// PostgreSQL, AUTOINCREMENT on SQLite); the number, as a string, is the
// public id. Attributes, keywords and contact details are JSON text.

var _ civic.ServiceRequestStore = (*Store)(nil)

const serviceCols = `code, name, description, grp, keywords, department, sla_hours, attributes, waste_link, bin_link, active, created_at, updated_at`

func scanService(r rowScanner) (civic.Service, error) {
	var s civic.Service
	var kw, attrs string
	err := r.Scan(&s.Code, &s.Name, &s.Description, &s.Group, &kw, &s.Department, &s.SLAHours, &attrs,
		&s.WasteLink, &s.BinLink, &s.Active, scanTime{&s.CreatedAt}, scanTime{&s.UpdatedAt})
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(kw), &s.Keywords); err != nil {
		return s, fmt.Errorf("service %s keywords: %w", s.Code, err)
	}
	if err := json.Unmarshal([]byte(attrs), &s.Attributes); err != nil {
		return s, fmt.Errorf("service %s attributes: %w", s.Code, err)
	}
	if s.Attributes == nil {
		s.Attributes = []civic.ServiceAttribute{}
	}
	return s, nil
}

func serviceJSON(s *civic.Service) (kw, attrs string) {
	k := s.Keywords
	if k == nil {
		k = []string{}
	}
	a := s.Attributes
	if a == nil {
		a = []civic.ServiceAttribute{}
	}
	kb, _ := json.Marshal(k)
	ab, _ := json.Marshal(a)
	return string(kb), string(ab)
}

// CreateService implements civic.ServiceRequestStore. Errors: Invalid,
// Conflict.
func (s *Store) CreateService(ctx context.Context, sv *civic.Service) error {
	if err := sv.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	sv.CreatedAt, sv.UpdatedAt = now, now
	kw, attrs := serviceJSON(sv)
	return s.inTx(ctx, errCtx{op: "create service"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO services (`+serviceCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			sv.Code, sv.Name, sv.Description, sv.Group, kw, sv.Department, sv.SLAHours, attrs,
			sv.WasteLink, sv.BinLink, sv.Active, s.ts(now), s.ts(now))
		return err
	})
}

// UpdateService implements civic.ServiceRequestStore. Errors: Invalid,
// NotFound.
func (s *Store) UpdateService(ctx context.Context, sv *civic.Service) error {
	if err := sv.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	kw, attrs := serviceJSON(sv)
	err := s.inTx(ctx, errCtx{op: "update service"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "service", sv.Code, `UPDATE services SET name = $2, description = $3, grp = $4,
			keywords = $5, department = $6, sla_hours = $7, attributes = $8, waste_link = $9, bin_link = $10, active = $11, updated_at = $12
			WHERE code = $1`,
			sv.Code, sv.Name, sv.Description, sv.Group, kw, sv.Department, sv.SLAHours, attrs, sv.WasteLink, sv.BinLink, sv.Active, s.ts(now))
	})
	if err != nil {
		return err
	}
	sv.UpdatedAt = now
	got, err := s.Service(ctx, sv.Code)
	if err == nil {
		sv.CreatedAt = got.CreatedAt
	}
	return err
}

// Service implements civic.ServiceRequestStore. Errors: NotFound.
func (s *Store) Service(ctx context.Context, code string) (civic.Service, error) {
	sv, err := scanService(s.rdb.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE code = $1`, code))
	if err == sql.ErrNoRows {
		return sv, notFound("service", code)
	}
	return sv, s.fail(errCtx{op: "get service"}, err)
}

// ListServices implements civic.ServiceRequestStore.
func (s *Store) ListServices(ctx context.Context, all bool) ([]civic.Service, error) {
	q := `SELECT ` + serviceCols + ` FROM services`
	if !all {
		q += ` WHERE active = $1`
		return list(ctx, s, "list services", q+` ORDER BY grp, name, code`, scanService, true)
	}
	return list(ctx, s, "list services", q+` ORDER BY grp, name, code`, scanService)
}

const requestCols = `r.id, r.token, r.service_code, v.name, r.status, r.close_reason, r.description, r.lat, r.long,
	r.address, r.address_id, r.zipcode, r.media_url, r.attributes, r.object_type, r.object_id, r.contact,
	r.department, r.assigned_to, r.status_notes, r.moderation, r.moderation_reason, r.duplicate_of, r.channel,
	r.media_count, r.requested_at, r.updated_at, r.expected_at, r.closed_at`

const requestFrom = ` FROM service_requests r JOIN services v ON v.code = r.service_code`

func scanRequest(row rowScanner) (civic.ServiceRequest, error) {
	var r civic.ServiceRequest
	var id int64
	var lat, long sql.NullFloat64
	var attrs, contact string
	err := row.Scan(&id, &r.Token, &r.ServiceCode, &r.ServiceName, &r.Status, &r.CloseReason, &r.Description, &lat, &long,
		&r.Address, &r.AddressID, &r.Zipcode, &r.MediaURL, &attrs, &r.ObjectType, &r.ObjectID, &contact,
		&r.Department, &r.AssignedTo, &r.StatusNotes, &r.Moderation, &r.ModerationReason, &r.DuplicateOf, &r.Channel,
		&r.MediaCount, scanTime{&r.RequestedAt}, scanTime{&r.UpdatedAt}, scanTimePtr{&r.ExpectedAt}, scanTimePtr{&r.ClosedAt})
	if err != nil {
		return r, err
	}
	r.ID = strconv.FormatInt(id, 10)
	if lat.Valid && long.Valid {
		r.Lat, r.Long = &lat.Float64, &long.Float64
	}
	if attrs != "{}" && attrs != "" {
		if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
			return r, fmt.Errorf("request %s attributes: %w", r.ID, err)
		}
	}
	if contact != "{}" && contact != "" {
		if err := json.Unmarshal([]byte(contact), &r.Contact); err != nil {
			return r, fmt.Errorf("request %s contact: %w", r.ID, err)
		}
	}
	return r, nil
}

func floatPtr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateServiceRequest implements civic.ServiceRequestStore. Errors:
// Invalid (naming the field; "service_code" for an unknown service),
// Conflict (the token exists).
func (s *Store) CreateServiceRequest(ctx context.Context, r *civic.ServiceRequest, first *civic.RequestNote, media []civic.RequestMedia) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Token == "" {
		return civic.FieldError("token", "is required")
	}
	if !r.Status.Valid() {
		return civic.FieldError("status", "is not a known status")
	}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = s.stamp()
	}
	r.RequestedAt = utcMS(r.RequestedAt)
	if r.UpdatedAt.IsZero() || r.UpdatedAt.Before(r.RequestedAt) {
		r.UpdatedAt = r.RequestedAt
	}
	r.UpdatedAt = utcMS(r.UpdatedAt)
	attrs := []byte("{}")
	if len(r.Attributes) > 0 {
		attrs, _ = json.Marshal(r.Attributes)
	}
	contact, _ := json.Marshal(r.Contact)
	r.MediaCount = len(media)
	return s.inTx(ctx, errCtx{op: "create service request", fkField: "service_code"}, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM services WHERE code = $1`, r.ServiceCode).Scan(&name)
		if err == sql.ErrNoRows {
			return civic.FieldError("service_code", "%q is not a service", r.ServiceCode)
		}
		if err != nil {
			return err
		}
		r.ServiceName = name
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO service_requests (token, service_code, status, close_reason, description,
			lat, long, address, address_id, zipcode, media_url, attributes, object_type, object_id, contact, department,
			assigned_to, status_notes, moderation, moderation_reason, duplicate_of, channel, media_count, requested_at,
			updated_at, expected_at, closed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
			$23, $24, $25, $26, $27) RETURNING id`,
			r.Token, r.ServiceCode, r.Status, r.CloseReason, r.Description, floatPtr(r.Lat), floatPtr(r.Long),
			r.Address, r.AddressID, r.Zipcode, r.MediaURL, string(attrs), r.ObjectType, r.ObjectID, string(contact),
			r.Department, r.AssignedTo, r.StatusNotes, r.Moderation, r.ModerationReason, r.DuplicateOf, r.Channel,
			len(media), s.ts(r.RequestedAt), s.ts(r.UpdatedAt), s.tsPtr(r.ExpectedAt), s.tsPtr(r.ClosedAt)).Scan(&id)
		if err != nil {
			return err
		}
		r.ID = strconv.FormatInt(id, 10)
		for i := range media {
			m := &media[i]
			m.RequestID = r.ID
			if err := tx.QueryRowContext(ctx, `INSERT INTO service_request_media (request_id, content_type, data)
				VALUES ($1, $2, $3) RETURNING id`, id, m.ContentType, m.Data).Scan(&m.ID); err != nil {
				return err
			}
		}
		if first != nil {
			if first.Time.IsZero() {
				first.Time = r.RequestedAt
			}
			return s.insertNote(ctx, tx, id, first)
		}
		return nil
	})
}

func (s *Store) insertNote(ctx context.Context, tx *sql.Tx, id int64, n *civic.RequestNote) error {
	n.RequestID = strconv.FormatInt(id, 10)
	n.Time = utcMS(n.Time)
	return tx.QueryRowContext(ctx, `INSERT INTO service_request_notes (request_id, time, author, type, status, public, text)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		id, s.ts(n.Time), n.Author, n.Type, n.Status, n.Public, n.Text).Scan(&n.ID)
}

// requestID parses a public request id; ok is false for anything that
// cannot be one.
func requestID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

// ServiceRequest implements civic.ServiceRequestStore. Errors: NotFound.
func (s *Store) ServiceRequest(ctx context.Context, id string) (civic.ServiceRequest, error) {
	n, ok := requestID(id)
	if !ok {
		return civic.ServiceRequest{}, notFound("service request", id)
	}
	r, err := scanRequest(s.rdb.QueryRowContext(ctx, `SELECT `+requestCols+requestFrom+` WHERE r.id = $1`, n))
	if err == sql.ErrNoRows {
		return r, notFound("service request", id)
	}
	return r, s.fail(errCtx{op: "get service request"}, err)
}

// ServiceRequestByToken implements civic.ServiceRequestStore. Errors:
// NotFound.
func (s *Store) ServiceRequestByToken(ctx context.Context, token string) (civic.ServiceRequest, error) {
	r, err := scanRequest(s.rdb.QueryRowContext(ctx, `SELECT `+requestCols+requestFrom+` WHERE r.token = $1`, token))
	if err == sql.ErrNoRows {
		return r, notFound("token", token)
	}
	return r, s.fail(errCtx{op: "get service request by token"}, err)
}

// requestWhere builds the WHERE clause of f. With zone (f.Zone's), it
// keeps the requests about a bin of the zone and those about no zoned bin
// located in the zone's bounding box: requestZone.holds then checks the
// boundary.
func (s *Store) requestWhere(f civic.ServiceRequestFilter, zone *civic.Zone) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	in := func(col string, vals []any) {
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = arg(v)
		}
		conds = append(conds, col+" IN ("+strings.Join(ps, ", ")+")")
	}
	if f.IDs != nil {
		var ids []any
		for _, id := range f.IDs {
			if n, ok := requestID(id); ok {
				ids = append(ids, n)
			}
		}
		if len(ids) == 0 {
			return " WHERE 1 = 0", nil
		}
		in("r.id", ids)
	}
	if len(f.ServiceCodes) > 0 {
		vals := make([]any, len(f.ServiceCodes))
		for i, c := range f.ServiceCodes {
			vals[i] = c
		}
		in("r.service_code", vals)
	}
	if len(f.Statuses) > 0 {
		vals := make([]any, len(f.Statuses))
		for i, c := range f.Statuses {
			vals[i] = string(c)
		}
		in("r.status", vals)
	}
	if !f.RequestedFrom.IsZero() {
		conds = append(conds, "r.requested_at >= "+arg(s.ts(f.RequestedFrom)))
	}
	if !f.RequestedTo.IsZero() {
		conds = append(conds, "r.requested_at <= "+arg(s.ts(f.RequestedTo)))
	}
	if !f.UpdatedAfter.IsZero() {
		conds = append(conds, "r.updated_at > "+arg(s.ts(f.UpdatedAfter)))
	}
	if !f.UpdatedBefore.IsZero() {
		conds = append(conds, "r.updated_at < "+arg(s.ts(f.UpdatedBefore)))
	}
	if f.ObjectType != "" {
		conds = append(conds, "r.object_type = "+arg(f.ObjectType))
	}
	if f.ObjectID != "" {
		conds = append(conds, "r.object_id = "+arg(f.ObjectID))
	}
	if f.PublicOnly {
		conds = append(conds, "r.moderation = ''")
	}
	if f.Moderation != "" {
		conds = append(conds, "r.moderation = "+arg(string(f.Moderation)))
	}
	if f.NotHidden {
		conds = append(conds, "r.moderation <> "+arg(string(civic.ModHidden)))
	}
	if zone != nil {
		const zoned = `SELECT 1 FROM bins b WHERE r.object_type = 'bin' AND b.id = r.object_id AND b.zone_id `
		bb := zone.Boundary.BBox()
		conds = append(conds, "(EXISTS ("+zoned+"= "+arg(zone.ID)+") OR (NOT EXISTS ("+zoned+"IS NOT NULL)"+
			" AND r.lat BETWEEN "+arg(bb.MinLat)+" AND "+arg(bb.MaxLat)+
			" AND r.long BETWEEN "+arg(bb.MinLon)+" AND "+arg(bb.MaxLon)+"))")
	}
	if f.Department != "" {
		conds = append(conds, "r.department = "+arg(f.Department))
	}
	if f.AssignedTo != "" {
		conds = append(conds, "r.assigned_to = "+arg(f.AssignedTo))
	}
	if !f.OverdueAt.IsZero() {
		conds = append(conds, "r.status <> 'closed' AND r.expected_at IS NOT NULL AND r.expected_at < "+arg(s.ts(f.OverdueAt)))
	}
	if f.Near {
		// A bounding box here; the exact distance is checked in Go.
		dLat := f.RadiusM / 111_195
		dLon := dLat / math.Max(math.Cos(f.Lat*math.Pi/180), 0.01)
		conds = append(conds, "r.lat BETWEEN "+arg(f.Lat-dLat)+" AND "+arg(f.Lat+dLat),
			"r.long BETWEEN "+arg(f.Long-dLon)+" AND "+arg(f.Long+dLon))
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListServiceRequests implements civic.ServiceRequestStore: newest first
// (by requested time, then id). Errors: Invalid ("zone") for an unknown
// f.Zone.
func (s *Store) ListServiceRequests(ctx context.Context, f civic.ServiceRequestFilter) ([]civic.ServiceRequest, error) {
	zf, err := s.zoneFilter(ctx, f)
	if err != nil {
		return nil, err
	}
	where, args := s.requestWhere(f, zf.zone)
	order := ` ORDER BY r.requested_at DESC, r.id DESC`
	switch {
	case s.pg():
	case !f.UpdatedAfter.IsZero() || !f.UpdatedBefore.IsZero():
		// Without statistics SQLite walks the requested_at index to
		// avoid sorting and tests every row's updated_at; "+" keeps it to
		// the updated_at index, whose few rows are then sorted.
		order = ` ORDER BY +r.requested_at DESC, r.id DESC`
	default:
		// The listing indexes end in the rowid, so walking them
		// backwards is a total order already: ties on requested_at
		// (rare) come in index order rather than by id, and no row goes
		// through a sorter.
		order = ` ORDER BY r.requested_at DESC`
	}
	q := `SELECT ` + requestCols + requestFrom + where + order
	if !f.Near && zf.zone == nil {
		if f.Limit > 0 {
			q += fmt.Sprintf(" LIMIT %d", f.Limit)
			if f.Offset > 0 {
				q += fmt.Sprintf(" OFFSET %d", f.Offset)
			}
		}
		return list(ctx, s, "list service requests", q, scanRequest, args...)
	}
	// The circle of Near and the boundary of Zone are checked here,
	// after the query: then so is the page. Only the page is kept.
	out := []civic.ServiceRequest{}
	seen := 0
	err = s.eachFiltered(ctx, f, &zf, q, args, func(r *civic.ServiceRequest) bool {
		if seen >= f.Offset && (f.Limit <= 0 || len(out) < f.Limit) {
			out = append(out, *r)
		}
		seen++
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out, err
}

// eachFiltered runs q and calls keep with each request that passes the
// checks of f made in Go (Near's circle, zf's boundary), in order, until
// it returns false. A request's memory is reused: keep copies what it
// keeps.
func (s *Store) eachFiltered(ctx context.Context, f civic.ServiceRequestFilter, zf *requestZone, q string, args []any, keep func(*civic.ServiceRequest) bool) error {
	const op = "list service requests"
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return s.fail(errCtx{op: op}, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return s.fail(errCtx{op: op}, err)
		}
		if f.Near && (r.Lat == nil || civic.HaversineM(f.Lat, f.Long, *r.Lat, *r.Long) > f.RadiusM) {
			continue
		}
		if zf.zone != nil && !zf.holds(&r) {
			continue
		}
		if !keep(&r) {
			return nil
		}
	}
	return s.fail(errCtx{op: op}, rows.Err())
}

// CountServiceRequests implements civic.ServiceRequestStore: the requests
// ListServiceRequests would list without Limit and Offset. Errors:
// Invalid ("zone") for an unknown f.Zone.
func (s *Store) CountServiceRequests(ctx context.Context, f civic.ServiceRequestFilter) (int, error) {
	if f.Zone != "" || f.Near {
		// Counted as they pass, none kept.
		zf, err := s.zoneFilter(ctx, f)
		if err != nil {
			return 0, err
		}
		where, args := s.requestWhere(f, zf.zone)
		n := 0
		err = s.eachFiltered(ctx, f, &zf, `SELECT `+requestCols+requestFrom+where, args, func(*civic.ServiceRequest) bool {
			n++
			return true
		})
		return n, err
	}
	where, args := s.requestWhere(f, nil)
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM service_requests r`+where, args...).Scan(&n)
	return n, s.fail(errCtx{op: "count service requests"}, err)
}

// requestZone is what a zone filter needs: the zone, every zone (a
// location belongs to the first that contains it) and the zone's bins.
type requestZone struct {
	zone  *civic.Zone
	zones []civic.Zone
	bins  map[string]bool
}

// zoneFilter loads what filtering by f.Zone needs (nothing without it),
// reading the zones unless f.Zones has them.
func (s *Store) zoneFilter(ctx context.Context, f civic.ServiceRequestFilter) (requestZone, error) {
	var zf requestZone
	id := f.Zone
	if id == "" {
		return zf, nil
	}
	zones := f.Zones
	if zones == nil {
		var err error
		if zones, err = s.ListZones(ctx); err != nil {
			return zf, err
		}
	}
	for i := range zones {
		if zones[i].ID == id {
			zf.zone = &zones[i]
		}
	}
	if zf.zone == nil {
		return zf, civic.FieldError("zone", "is not a known zone")
	}
	zf.zones = zones
	ids, err := list(ctx, s, "list zone bins", `SELECT id FROM bins WHERE zone_id = $1`,
		func(r rowScanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, id)
	if err != nil {
		return zf, err
	}
	zf.bins = make(map[string]bool, len(ids))
	for _, b := range ids {
		zf.bins[b] = true
	}
	return zf, nil
}

// holds reports whether r, selected by requestWhere with the zone, is in
// it: about one of its bins, or else located in it and in no zone before
// it.
func (zf *requestZone) holds(r *civic.ServiceRequest) bool {
	if r.ObjectType == "bin" && zf.bins[r.ObjectID] {
		return true
	}
	return r.Lat != nil && r.Long != nil && zoneFor(zf.zones, *r.Long, *r.Lat) == zf.zone.ID
}

// UpdateServiceRequest implements civic.ServiceRequestStore. Errors:
// NotFound, Conflict (changed since r was read), Invalid.
func (s *Store) UpdateServiceRequest(ctx context.Context, r *civic.ServiceRequest, note *civic.RequestNote) error {
	n, ok := requestID(r.ID)
	if !ok {
		return notFound("service request", r.ID)
	}
	if !r.Status.Valid() {
		return civic.FieldError("status", "is not a known status")
	}
	if r.CloseReason != "" && !r.CloseReason.Valid() {
		return civic.FieldError("close_reason", "is not a known reason")
	}
	now := s.stamp()
	if !now.After(r.UpdatedAt) {
		// Keep updated_at strictly increasing so it works as a version.
		now = r.UpdatedAt.Add(time.Millisecond)
	}
	return s.inTx(ctx, errCtx{op: "update service request"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE service_requests SET status = $2, close_reason = $3, department = $4,
			assigned_to = $5, status_notes = $6, moderation = $7, moderation_reason = $8, duplicate_of = $9,
			expected_at = $10, closed_at = $11, updated_at = $12
			WHERE id = $1 AND updated_at = $13`,
			n, r.Status, r.CloseReason, r.Department, r.AssignedTo, r.StatusNotes, r.Moderation, r.ModerationReason,
			r.DuplicateOf, s.tsPtr(r.ExpectedAt), s.tsPtr(r.ClosedAt), s.ts(now), s.ts(utcMS(r.UpdatedAt)))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM service_requests WHERE id = $1`, n).Scan(&one); err == sql.ErrNoRows {
				return notFound("service request", r.ID)
			} else if err != nil {
				return err
			}
			return civic.Errorf(civic.Conflict, "service request %s was changed by someone else; reload it", r.ID)
		}
		if note != nil {
			note.Time = now
			if err := s.insertNote(ctx, tx, n, note); err != nil {
				return err
			}
		}
		r.UpdatedAt = now
		return nil
	})
}

// RequestNotes implements civic.ServiceRequestStore: oldest first.
func (s *Store) RequestNotes(ctx context.Context, id string, publicOnly bool) ([]civic.RequestNote, error) {
	n, ok := requestID(id)
	if !ok {
		return nil, notFound("service request", id)
	}
	q := `SELECT id, request_id, time, author, type, status, public, text FROM service_request_notes WHERE request_id = $1`
	if publicOnly {
		q += ` AND public = $2`
		return list(ctx, s, "list request notes", q+` ORDER BY id`, scanNote, n, true)
	}
	return list(ctx, s, "list request notes", q+` ORDER BY id`, scanNote, n)
}

func scanNote(row rowScanner) (civic.RequestNote, error) {
	var n civic.RequestNote
	var rid int64
	err := row.Scan(&n.ID, &rid, scanTime{&n.Time}, &n.Author, &n.Type, &n.Status, &n.Public, &n.Text)
	n.RequestID = strconv.FormatInt(rid, 10)
	return n, err
}

// RequestMedia implements civic.ServiceRequestStore: the request's
// index-th photo, counting from 1. Errors: NotFound.
func (s *Store) RequestMedia(ctx context.Context, reqID string, index int) (civic.RequestMedia, error) {
	var m civic.RequestMedia
	n, ok := requestID(reqID)
	if !ok || index < 1 {
		return m, notFound("media", reqID)
	}
	err := s.rdb.QueryRowContext(ctx, fmt.Sprintf(`SELECT id, content_type, data FROM service_request_media WHERE request_id = $1
		ORDER BY id LIMIT 1 OFFSET %d`, index-1), n).Scan(&m.ID, &m.ContentType, &m.Data)
	if err == sql.ErrNoRows {
		return m, notFound("media", reqID+"/"+strconv.Itoa(index))
	}
	m.RequestID = reqID
	return m, s.fail(errCtx{op: "get request media"}, err)
}

// OpenBinRequests implements civic.ServiceRequestStore.
func (s *Store) OpenBinRequests(ctx context.Context) ([]civic.BinRequest, error) {
	return list(ctx, s, "list open bin requests", `SELECT r.object_id, r.id, v.name, r.description, r.requested_at`+requestFrom+`
		WHERE v.waste_link = $1 AND r.object_type = 'bin' AND r.object_id <> '' AND r.status <> 'closed' AND r.moderation <> 'hidden'
		ORDER BY r.object_id, r.id`, func(row rowScanner) (civic.BinRequest, error) {
		var b civic.BinRequest
		var id int64
		err := row.Scan(&b.BinID, &id, &b.ServiceName, &b.Description, scanTime{&b.RequestedAt})
		b.RequestID = strconv.FormatInt(id, 10)
		return b, err
	}, true)
}

// ImportServiceRequests stores many requests in one transaction (a
// migration from another 311 system, the benchmark's data set): each
// needs a token, a known service and a status, and keeps its times. IDs
// are assigned and set. All or nothing. Errors as CreateServiceRequest.
func (s *Store) ImportServiceRequests(ctx context.Context, rs []civic.ServiceRequest) error {
	for i := range rs {
		r := &rs[i]
		if err := r.Validate(); err != nil {
			return civic.PrefixField(fmt.Sprintf("[%d]", i), err)
		}
		if r.Token == "" || !r.Status.Valid() {
			return civic.FieldError(fmt.Sprintf("[%d].token", i), "a token and a known status are required")
		}
		if r.RequestedAt.IsZero() {
			r.RequestedAt = s.stamp()
		}
		r.RequestedAt = utcMS(r.RequestedAt)
		if r.UpdatedAt.Before(r.RequestedAt) {
			r.UpdatedAt = r.RequestedAt
		}
		r.UpdatedAt = utcMS(r.UpdatedAt)
	}
	return s.inTx(ctx, errCtx{op: "import service requests", fkField: "service_code"}, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO service_requests (token, service_code, status, close_reason, description,
			lat, long, address, object_type, object_id, attributes, contact, department, assigned_to, status_notes,
			moderation, channel, requested_at, updated_at, expected_at, closed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range rs {
			r := &rs[i]
			attrs := []byte("{}")
			if len(r.Attributes) > 0 {
				attrs, _ = json.Marshal(r.Attributes)
			}
			contact, _ := json.Marshal(r.Contact)
			var id int64
			if err := stmt.QueryRowContext(ctx, r.Token, r.ServiceCode, r.Status, r.CloseReason, r.Description,
				floatPtr(r.Lat), floatPtr(r.Long), r.Address, r.ObjectType, r.ObjectID, string(attrs), string(contact),
				r.Department, r.AssignedTo, r.StatusNotes, r.Moderation, r.Channel, s.ts(r.RequestedAt), s.ts(r.UpdatedAt),
				s.tsPtr(r.ExpectedAt), s.tsPtr(r.ClosedAt)).Scan(&id); err != nil {
				return err
			}
			r.ID = strconv.FormatInt(id, 10)
		}
		return nil
	})
}
