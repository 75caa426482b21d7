package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- plans, routes and stops ----
//
// A plan row carries its decisions, unplanned bins and stats as JSON text:
// they are read and written whole, with the plan, and never queried.
// Routes and stops are rows of their own, because crews read and report
// them one by one. Stops name bins and facilities by plain id (see the
// migration 00040): a plan stays readable after its assets are deleted.

var _ civic.PlanStore = (*Store)(nil)

const planCols = `id, date, status, created_by, decisions, unplanned, stats, created_at, updated_at`

const routeCols = `r.id, r.plan_id, r.seq, r.truck_id, r.crew_id, r.depot_id, r.stream, r.status, r.start_at, r.end_at,
	r.distance_m, r.duration_s, r.capacity_l`

const stopCols = `s.id, s.route_id, s.seq, s.kind, s.bin_id, s.facility_id, s.name, s.address, s.lat, s.lon, s.eta,
	s.depart, s.load_before_l, s.load_after_l, s.distance_m, s.decision, s.reason, s.access_window, s.status,
	s.done_at, s.skip_reason, s.fill_seen, s.fill_at_arrival`

func scanPlan(r rowScanner) (civic.Plan, error) {
	var p civic.Plan
	var decisions, unplanned, stats string
	if err := r.Scan(&p.ID, &p.Date, &p.Status, &p.CreatedBy, &decisions, &unplanned, &stats,
		scanTime{&p.CreatedAt}, scanTime{&p.UpdatedAt}); err != nil {
		return p, err
	}
	for _, c := range []struct {
		name, text string
		v          any
	}{{"decisions", decisions, &p.Decisions}, {"unplanned", unplanned, &p.Unplanned}, {"stats", stats, &p.Stats}} {
		if err := json.Unmarshal([]byte(c.text), c.v); err != nil {
			return p, fmt.Errorf("plan %s: stored %s: %w", p.ID, c.name, err)
		}
	}
	p.Routes = []civic.Route{}
	return p, nil
}

func scanRoute(r rowScanner) (civic.Route, error) {
	var rt civic.Route
	var crew sql.NullString
	err := r.Scan(&rt.ID, &rt.PlanID, &rt.Seq, &rt.TruckID, &crew, &rt.DepotID, &rt.Stream, &rt.Status,
		scanTime{&rt.Start}, scanTime{&rt.End}, &rt.DistanceM, &rt.DurationS, &rt.CapacityL)
	rt.CrewID = crew.String
	return rt, err
}

func scanStop(r rowScanner) (civic.Stop, error) {
	var st civic.Stop
	var bin, facility sql.NullString
	var fillSeen, fillArrival sql.NullFloat64
	err := r.Scan(&st.ID, &st.RouteID, &st.Seq, &st.Kind, &bin, &facility, &st.Name, &st.Address, &st.Lat, &st.Lon,
		scanTime{&st.ETA}, scanTime{&st.Depart}, &st.LoadBefore, &st.LoadAfter, &st.DistanceM, &st.Decision, &st.Reason,
		&st.Window, &st.Status, scanTimePtr{&st.DoneAt}, &st.SkipReason, &fillSeen, &fillArrival)
	st.BinID, st.FacilityID = bin.String, facility.String
	st.FillSeen, st.FillAtArrival = fptr(fillSeen), fptr(fillArrival)
	return st, err
}

// listQ runs a query on q and scans every row.
func listQ[T any](ctx context.Context, q querier, query string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

// loadRoutes returns the routes where (over routes r) selects, ordered by
// plan and seq, with their stops when withStops.
func loadRoutes(ctx context.Context, q querier, where string, withStops bool, args ...any) ([]civic.Route, error) {
	routes, err := listQ(ctx, q, `SELECT `+routeCols+` FROM routes r WHERE `+where+` ORDER BY r.plan_id, r.seq`,
		scanRoute, args...)
	if err != nil || !withStops || len(routes) == 0 {
		return routes, err
	}
	byID := make(map[string]*civic.Route, len(routes))
	for i := range routes {
		routes[i].Stops = []civic.Stop{}
		byID[routes[i].ID] = &routes[i]
	}
	stops, err := listQ(ctx, q, `SELECT `+stopCols+` FROM stops s JOIN routes r ON r.id = s.route_id WHERE `+where+`
		ORDER BY s.route_id, s.seq`, scanStop, args...)
	if err != nil {
		return nil, err
	}
	for _, st := range stops {
		if r := byID[st.RouteID]; r != nil {
			r.Stops = append(r.Stops, st)
		}
	}
	return routes, nil
}

// loadPlan returns the plan where (over plans) selects, with its routes
// and their stops; sql.ErrNoRows when there is none.
func loadPlan(ctx context.Context, q querier, where string, arg any) (civic.Plan, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planCols+` FROM plans WHERE `+where, arg))
	if err != nil {
		return p, err
	}
	p.Routes, err = loadRoutes(ctx, q, `r.plan_id = $1`, true, p.ID)
	return p, err
}

// utcMS is t at the precision and in the zone the store keeps.
func utcMS(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func utcMSPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utcMS(*t)
	return &u
}

// normalizeDecisions returns ds with times in UTC, as they read back.
func normalizeDecisions(ds []civic.BinDecision) []civic.BinDecision {
	for i := range ds {
		if ds[i].FullAt != nil {
			u := ds[i].FullAt.UTC()
			ds[i].FullAt = &u
		}
	}
	return ds
}

func validDate(field, date string) error {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return civic.FieldError(field, "must be a date YYYY-MM-DD")
	}
	return nil
}

// normalizeRoutes fills the routes' defaults in place and checks what the
// store relies on: route ids planID-rSEQ and stop ids ROUTE-sSEQ where
// empty, route seqs 1, 2, ... where zero, stop seqs by position when every
// one is zero (else they must increase), statuses planned and pending,
// times in UTC at millisecond precision. Errors: Invalid naming the field,
// e.g. "routes[1].stops[4].kind".
func normalizeRoutes(planID string, routes []civic.Route) error {
	seqs := make(map[int]bool, len(routes))
	for i := range routes {
		r := &routes[i]
		field := fmt.Sprintf("routes[%d]", i)
		if r.Seq == 0 {
			r.Seq = i + 1
		}
		if seqs[r.Seq] {
			return civic.FieldError(field+".seq", "%d is used by another route", r.Seq)
		}
		seqs[r.Seq] = true
		if r.ID == "" {
			r.ID = fmt.Sprintf("%s-r%d", planID, r.Seq)
		}
		if err := civic.ValidateID(field+".id", r.ID); err != nil {
			return err
		}
		r.PlanID = planID
		if err := civic.ValidateID(field+".truck_id", r.TruckID); err != nil {
			return err
		}
		if !r.Stream.Valid() {
			return civic.FieldError(field+".stream", "must be one of trash, recycling, paper, bottles_cans, compost")
		}
		if r.Status == "" {
			r.Status = civic.RoutePlanned
		}
		switch r.Status {
		case civic.RoutePlanned, civic.RouteInProgress, civic.RouteDone:
		default:
			return civic.FieldError(field+".status", "must be planned, in_progress or done")
		}
		r.Start, r.End = utcMS(r.Start), utcMS(r.End)
		if r.Stops == nil {
			r.Stops = []civic.Stop{}
		}
		byPosition := len(r.Stops) > 1
		for _, st := range r.Stops {
			byPosition = byPosition && st.Seq == 0
		}
		prev := -1
		for j := range r.Stops {
			st := &r.Stops[j]
			sf := fmt.Sprintf("%s.stops[%d]", field, j)
			if byPosition {
				st.Seq = j
			}
			if st.Seq <= prev {
				return civic.FieldError(sf+".seq", "must increase along the route")
			}
			prev = st.Seq
			if st.ID == "" {
				st.ID = fmt.Sprintf("%s-s%d", r.ID, st.Seq)
			}
			if err := civic.ValidateID(sf+".id", st.ID); err != nil {
				return err
			}
			st.RouteID = r.ID
			switch st.Kind {
			case civic.StopBin:
				if st.BinID == "" {
					return civic.FieldError(sf+".bin_id", "is required for a bin stop")
				}
			case civic.StopDepot, civic.StopDisposal, civic.StopBreak:
			default:
				return civic.FieldError(sf+".kind", "must be depot, bin, disposal or break")
			}
			if st.Status == "" {
				st.Status = civic.StopPending
			}
			switch st.Status {
			case civic.StopPending, civic.StopCollected, civic.StopSkipped:
			default:
				return civic.FieldError(sf+".status", "must be pending, collected or skipped")
			}
			st.ETA, st.Depart, st.DoneAt = utcMS(st.ETA), utcMS(st.Depart), utcMSPtr(st.DoneAt)
		}
	}
	return nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// insertRoutes stores routes, normalized, with their stops.
func (s *Store) insertRoutes(ctx context.Context, tx *sql.Tx, routes []civic.Route) error {
	if len(routes) == 0 {
		return nil
	}
	rs, err := tx.PrepareContext(ctx, `INSERT INTO routes (id, plan_id, seq, truck_id, crew_id, depot_id, stream, status,
		start_at, end_at, distance_m, duration_s, capacity_l)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
	if err != nil {
		return err
	}
	defer rs.Close()
	ss, err := tx.PrepareContext(ctx, `INSERT INTO stops (id, route_id, seq, kind, bin_id, facility_id, name, address,
		lat, lon, eta, depart, load_before_l, load_after_l, distance_m, decision, reason, access_window, status,
		done_at, skip_reason, fill_seen, fill_at_arrival)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`)
	if err != nil {
		return err
	}
	defer ss.Close()
	for i := range routes {
		r := &routes[i]
		if _, err := rs.ExecContext(ctx, r.ID, r.PlanID, r.Seq, r.TruckID, nullStr(r.CrewID), r.DepotID, string(r.Stream),
			string(r.Status), s.ts(r.Start), s.ts(r.End), r.DistanceM, r.DurationS, r.CapacityL); err != nil {
			return err
		}
		for j := range r.Stops {
			st := &r.Stops[j]
			if _, err := ss.ExecContext(ctx, st.ID, st.RouteID, st.Seq, string(st.Kind), nullStr(st.BinID),
				nullStr(st.FacilityID), st.Name, st.Address, st.Lat, st.Lon, s.ts(st.ETA), s.ts(st.Depart), st.LoadBefore,
				st.LoadAfter, st.DistanceM, string(st.Decision), st.Reason, st.Window, string(st.Status),
				s.tsPtr(st.DoneAt), string(st.SkipReason), fval(st.FillSeen), fval(st.FillAtArrival)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SavePlan stores p with its routes and stops in one transaction, after
// filling defaults in p: the id "plan-DATE", status draft, the route and
// stop ids and seqs (see normalizeRoutes), CreatedAt and UpdatedAt. A
// draft stored for the same date is replaced, routes, stops and all.
// Errors: Invalid naming the field, Conflict (a plan for the date that is
// not a draft, or an id used by another plan, route or stop).
func (s *Store) SavePlan(ctx context.Context, p *civic.Plan) error {
	if err := validDate("date", p.Date); err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = "plan-" + p.Date
	}
	if err := civic.ValidateID("id", p.ID); err != nil {
		return err
	}
	if p.Status == "" {
		p.Status = civic.PlanDraft
	}
	if !p.Status.Valid() {
		return civic.FieldError("status", "must be draft, locked, in_progress or done")
	}
	if p.Routes == nil {
		p.Routes = []civic.Route{}
	}
	if err := normalizeRoutes(p.ID, p.Routes); err != nil {
		return err
	}
	p.Decisions, p.Unplanned = normalizeDecisions(p.Decisions), normalizeDecisions(p.Unplanned)
	decisions, err := jsonText(p.Decisions)
	if err != nil {
		return civic.FieldError("decisions", "cannot be encoded: %v", err)
	}
	unplanned, err := jsonText(p.Unplanned)
	if err != nil {
		return civic.FieldError("unplanned", "cannot be encoded: %v", err)
	}
	stats, err := jsonText(p.Stats)
	if err != nil {
		return civic.FieldError("stats", "cannot be encoded: %v", err)
	}
	now := s.stamp()
	err = s.inTx(ctx, errCtx{op: "save plan"}, func(tx *sql.Tx) error {
		var oldID string
		var old civic.PlanStatus
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM plans WHERE date = $1`, p.Date).Scan(&oldID, &old)
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return err
		case old != civic.PlanDraft:
			return civic.Errorf(civic.Conflict, "the plan for %s is %s: only a draft can be replaced", p.Date, old)
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE id = $1`, oldID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO plans (`+planCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			p.ID, p.Date, string(p.Status), p.CreatedBy, decisions, unplanned, stats, s.ts(now), s.ts(now)); err != nil {
			return err
		}
		return s.insertRoutes(ctx, tx, p.Routes)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

// ReplaceDraft stores a re-planned draft: p's routes (normalized as in
// SavePlan, in place), decisions, unplanned bins and stats replace those of
// the stored plan p.ID, whose date, status, creator and creation time stay.
// It returns the plan as stored. Errors: Invalid naming the field,
// NotFound, Conflict (the plan is not a draft, or an id is used by another
// plan's route or stop).
func (s *Store) ReplaceDraft(ctx context.Context, p *civic.Plan) (civic.Plan, error) {
	if p.Routes == nil {
		p.Routes = []civic.Route{}
	}
	if err := normalizeRoutes(p.ID, p.Routes); err != nil {
		return civic.Plan{}, err
	}
	p.Decisions, p.Unplanned = normalizeDecisions(p.Decisions), normalizeDecisions(p.Unplanned)
	decisions, err := jsonText(p.Decisions)
	if err != nil {
		return civic.Plan{}, civic.FieldError("decisions", "cannot be encoded: %v", err)
	}
	unplanned, err := jsonText(p.Unplanned)
	if err != nil {
		return civic.Plan{}, civic.FieldError("unplanned", "cannot be encoded: %v", err)
	}
	stats, err := jsonText(p.Stats)
	if err != nil {
		return civic.Plan{}, civic.FieldError("stats", "cannot be encoded: %v", err)
	}
	now := s.stamp()
	var out civic.Plan
	err = s.inTx(ctx, errCtx{op: "replace draft"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plans SET decisions = $2, unplanned = $3, stats = $4, updated_at = $5
			WHERE id = $1 AND status = 'draft'`, p.ID, decisions, unplanned, stats, s.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return planNotIn(ctx, tx, p.ID, civic.PlanDraft)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE plan_id = $1`, p.ID); err != nil {
			return err
		}
		if err := s.insertRoutes(ctx, tx, p.Routes); err != nil {
			return err
		}
		out, err = loadPlan(ctx, tx, `id = $1`, p.ID)
		return err
	})
	return out, err
}

// planNotIn is the error for a plan that a write expected in status want:
// NotFound when it does not exist, Conflict otherwise.
func planNotIn(ctx context.Context, q querier, id string, want civic.PlanStatus) error {
	var got civic.PlanStatus
	err := q.QueryRowContext(ctx, `SELECT status FROM plans WHERE id = $1`, id).Scan(&got)
	if err == sql.ErrNoRows {
		return notFound("plan", id)
	}
	if err != nil {
		return err
	}
	return civic.Errorf(civic.Conflict, "plan %q is %s, not %s", id, got, want)
}

// Plan returns a plan with its routes and their stops. Errors: NotFound.
func (s *Store) Plan(ctx context.Context, id string) (civic.Plan, error) {
	p, err := loadPlan(ctx, s.rdb, `id = $1`, id)
	if err == sql.ErrNoRows {
		return p, notFound("plan", id)
	}
	return p, s.fail(errCtx{op: "get plan"}, err)
}

// PlanForDate returns the plan for a service day, whatever its status,
// with its routes and their stops. Errors: Invalid (not a date), NotFound.
func (s *Store) PlanForDate(ctx context.Context, date string) (civic.Plan, error) {
	if err := validDate("date", date); err != nil {
		return civic.Plan{}, err
	}
	p, err := loadPlan(ctx, s.rdb, `date = $1`, date)
	if err == sql.ErrNoRows {
		return p, civic.Errorf(civic.NotFound, "no plan for %s", date)
	}
	return p, s.fail(errCtx{op: "get plan for date"}, err)
}

// ListPlans returns the plans f selects, newest date first, with their
// routes but not the routes' stops (Stops is nil). Errors: Invalid (a bad
// date or status, a negative limit).
func (s *Store) ListPlans(ctx context.Context, f civic.PlanFilter) ([]civic.Plan, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.From != "" {
		if err := validDate("from", f.From); err != nil {
			return nil, err
		}
		where = append(where, "date >= "+arg(f.From))
	}
	if f.To != "" {
		if err := validDate("to", f.To); err != nil {
			return nil, err
		}
		where = append(where, "date <= "+arg(f.To))
	}
	if f.Status != "" {
		if !f.Status.Valid() {
			return nil, civic.FieldError("status", "must be draft, locked, in_progress or done")
		}
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Limit < 0 {
		return nil, civic.FieldError("limit", "must not be negative")
	}
	sel := `FROM plans`
	if len(where) > 0 {
		sel += " WHERE " + strings.Join(where, " AND ")
	}
	sel += " ORDER BY date DESC"
	if f.Limit > 0 {
		sel += " LIMIT " + arg(int64(f.Limit))
	}
	plans, err := listQ(ctx, s.rdb, `SELECT `+planCols+` `+sel, scanPlan, args...)
	if err != nil {
		return nil, s.fail(errCtx{op: "list plans"}, err)
	}
	if len(plans) == 0 {
		return plans, nil
	}
	routes, err := loadRoutes(ctx, s.rdb, `r.plan_id IN (SELECT id `+sel+`)`, false, args...)
	if err != nil {
		return nil, s.fail(errCtx{op: "list plans"}, err)
	}
	byID := make(map[string]*civic.Plan, len(plans))
	for i := range plans {
		byID[plans[i].ID] = &plans[i]
	}
	for _, r := range routes {
		if p := byID[r.PlanID]; p != nil {
			p.Routes = append(p.Routes, r)
		}
	}
	return plans, nil
}

// SetPlanStatus moves a plan from status from to status to and returns it.
// Errors: Invalid (civic.PlanStatus.CanBecome forbids the move), NotFound,
// Conflict (the plan is not in from).
func (s *Store) SetPlanStatus(ctx context.Context, id string, from, to civic.PlanStatus) (civic.Plan, error) {
	if !from.CanBecome(to) {
		return civic.Plan{}, civic.FieldError("status", "a %s plan cannot become %s", from, to)
	}
	now := s.stamp()
	var p civic.Plan
	err := s.inTx(ctx, errCtx{op: "set plan status"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plans SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2`,
			id, string(from), string(to), s.ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return planNotIn(ctx, tx, id, from)
		}
		p, err = loadPlan(ctx, tx, `id = $1`, id)
		return err
	})
	return p, err
}

// Route returns a route with its stops. Errors: NotFound.
func (s *Store) Route(ctx context.Context, id string) (civic.Route, error) {
	routes, err := loadRoutes(ctx, s.rdb, `r.id = $1`, true, id)
	if err != nil {
		return civic.Route{}, s.fail(errCtx{op: "get route"}, err)
	}
	if len(routes) == 0 {
		return civic.Route{}, notFound("route", id)
	}
	return routes[0], nil
}

// RouteOfStop returns the route, with its stops, that holds stop stopID.
// Errors: NotFound.
func (s *Store) RouteOfStop(ctx context.Context, stopID string) (civic.Route, error) {
	routes, err := loadRoutes(ctx, s.rdb, `r.id = (SELECT route_id FROM stops WHERE id = $1)`, true, stopID)
	if err != nil {
		return civic.Route{}, s.fail(errCtx{op: "get route of stop"}, err)
	}
	if len(routes) == 0 {
		return civic.Route{}, notFound("stop", stopID)
	}
	return routes[0], nil
}

// RoutesFor returns, with their stops and ordered by seq, the routes of
// the plan for date assigned to crewID, or all of them when crewID is
// empty; none while that plan is a draft. Errors: Invalid (not a date).
func (s *Store) RoutesFor(ctx context.Context, date, crewID string) ([]civic.Route, error) {
	if err := validDate("date", date); err != nil {
		return nil, err
	}
	where := `r.plan_id = (SELECT id FROM plans WHERE date = $1 AND status <> 'draft')`
	args := []any{date}
	if crewID != "" {
		where += ` AND r.crew_id = $2`
		args = append(args, crewID)
	}
	routes, err := loadRoutes(ctx, s.rdb, where, true, args...)
	return routes, s.fail(errCtx{op: "routes for crew"}, err)
}
