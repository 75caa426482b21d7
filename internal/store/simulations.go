package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/civic-city/civic/internal/civic"
)

// ---- stored what-if simulations ----
//
// A run is written once and read whole; the list leaves out the result
// and the report, which may be large.

var _ civic.SimulationStore = (*Store)(nil)

// SaveSimulation implements civic.SimulationStore. A zero CreatedAt takes
// the store's clock; times are kept in UTC to the millisecond. A run with
// no status is done (progress 1); UpdatedAt is set to CreatedAt. Errors:
// Invalid naming the field, Conflict (the id exists).
func (s *Store) SaveSimulation(ctx context.Context, r *civic.SimulationRun) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.stamp()
	}
	r.CreatedAt = utcMS(r.CreatedAt)
	r.UpdatedAt = r.CreatedAt
	if r.Status == "" {
		r.Status = civic.SimulationDone
	}
	if r.Status == civic.SimulationDone {
		r.Progress = 1
	}
	report := r.Report
	if report == nil {
		report = []byte{}
	}
	assumptions := ""
	if r.Assumptions != nil {
		b, err := json.Marshal(r.Assumptions)
		if err != nil {
			return civic.Wrap(civic.Internal, err, "internal error")
		}
		assumptions = string(b)
	}
	return s.inTx(ctx, errCtx{op: "save simulation"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO simulations (id, name, created_at, created_by, summary, result, report,
			status, progress, error, updated_at, assumptions)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $3, $11)`,
			r.ID, r.Name, s.ts(r.CreatedAt), r.CreatedBy, r.Summary, string(r.Result), report,
			string(r.Status), r.Progress, r.Error, assumptions)
		return err
	})
}

// scanAssumptions reads the assumptions column: nil when empty (a run
// stored before runs kept them).
func scanAssumptions(r *civic.SimulationRun, col string) error {
	if col == "" {
		return nil
	}
	r.Assumptions = new(civic.SimulationAssumptions)
	return json.Unmarshal([]byte(col), r.Assumptions)
}

// UpdateSimulation implements civic.SimulationStore: it writes a running
// run's status, progress, error, summary, result and report (not its
// assumptions, which are the ones it started with), and sets UpdatedAt to
// the store's clock. Errors: Invalid naming the field,
// NotFound, Conflict (the run is no longer running).
func (s *Store) UpdateSimulation(ctx context.Context, r *civic.SimulationRun) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Status == "" {
		return civic.FieldError("status", "must be running, done or failed")
	}
	if r.Status == civic.SimulationDone {
		r.Progress = 1
	}
	r.UpdatedAt = utcMS(s.stamp())
	report := r.Report
	if report == nil {
		report = []byte{}
	}
	return s.inTx(ctx, errCtx{op: "update simulation"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE simulations SET status = $2, progress = $3, error = $4, summary = $5,
			result = $6, report = $7, updated_at = $8 WHERE id = $1 AND status = 'running'`,
			r.ID, string(r.Status), r.Progress, r.Error, r.Summary, string(r.Result), report, s.ts(r.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if ok, err := exists(ctx, tx, "simulations", r.ID); err != nil || !ok {
			if err == nil {
				err = notFound("simulation", r.ID)
			}
			return err
		}
		return civic.Errorf(civic.Conflict, "simulation %s is no longer running", r.ID)
	})
}

// Simulation implements civic.SimulationStore. Errors: NotFound.
func (s *Store) Simulation(ctx context.Context, id string) (civic.SimulationRun, error) {
	var r civic.SimulationRun
	var result, assumptions string
	err := s.rdb.QueryRowContext(ctx, `SELECT id, name, created_at, created_by, summary, result, report,
		status, progress, error, updated_at, assumptions FROM simulations WHERE id = $1`, id).
		Scan(&r.ID, &r.Name, scanTime{&r.CreatedAt}, &r.CreatedBy, &r.Summary, &result, &r.Report,
			&r.Status, &r.Progress, &r.Error, scanTime{&r.UpdatedAt}, &assumptions)
	if err == sql.ErrNoRows {
		return r, notFound("simulation", id)
	}
	if err == nil {
		err = scanAssumptions(&r, assumptions)
	}
	if err != nil {
		return r, s.fail(errCtx{op: "get simulation"}, err)
	}
	if result != "" {
		r.Result = json.RawMessage(result)
	}
	return r, nil
}

// ListSimulations implements civic.SimulationStore: newest first, with
// their assumptions, without results or reports.
func (s *Store) ListSimulations(ctx context.Context) ([]civic.SimulationRun, error) {
	return list(ctx, s, "list simulations", `SELECT id, name, created_at, created_by, summary,
		status, progress, error, updated_at, assumptions FROM simulations
		ORDER BY created_at DESC, id DESC`, func(row rowScanner) (civic.SimulationRun, error) {
		var r civic.SimulationRun
		var assumptions string
		err := row.Scan(&r.ID, &r.Name, scanTime{&r.CreatedAt}, &r.CreatedBy, &r.Summary,
			&r.Status, &r.Progress, &r.Error, scanTime{&r.UpdatedAt}, &assumptions)
		if err == nil {
			err = scanAssumptions(&r, assumptions)
		}
		return r, err
	})
}

// DeleteSimulation implements civic.SimulationStore. Errors: NotFound.
func (s *Store) DeleteSimulation(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete simulation"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "simulation", id, `DELETE FROM simulations WHERE id = $1`, id)
	})
}
