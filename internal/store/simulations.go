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
// the store's clock; times are kept in UTC to the millisecond. Errors:
// Invalid naming the field, Conflict (the id exists).
func (s *Store) SaveSimulation(ctx context.Context, r *civic.SimulationRun) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.stamp()
	}
	r.CreatedAt = utcMS(r.CreatedAt)
	report := r.Report
	if report == nil {
		report = []byte{}
	}
	return s.inTx(ctx, errCtx{op: "save simulation"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO simulations (id, name, created_at, created_by, summary, result, report)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.ID, r.Name, s.ts(r.CreatedAt), r.CreatedBy, r.Summary, string(r.Result), report)
		return err
	})
}

// Simulation implements civic.SimulationStore. Errors: NotFound.
func (s *Store) Simulation(ctx context.Context, id string) (civic.SimulationRun, error) {
	var r civic.SimulationRun
	var result string
	err := s.rdb.QueryRowContext(ctx, `SELECT id, name, created_at, created_by, summary, result, report
		FROM simulations WHERE id = $1`, id).
		Scan(&r.ID, &r.Name, scanTime{&r.CreatedAt}, &r.CreatedBy, &r.Summary, &result, &r.Report)
	if err == sql.ErrNoRows {
		return r, notFound("simulation", id)
	}
	if err != nil {
		return r, s.fail(errCtx{op: "get simulation"}, err)
	}
	if result != "" {
		r.Result = json.RawMessage(result)
	}
	return r, nil
}

// ListSimulations implements civic.SimulationStore: newest first, without
// results or reports.
func (s *Store) ListSimulations(ctx context.Context) ([]civic.SimulationRun, error) {
	return list(ctx, s, "list simulations", `SELECT id, name, created_at, created_by, summary FROM simulations
		ORDER BY created_at DESC, id DESC`, func(row rowScanner) (civic.SimulationRun, error) {
		var r civic.SimulationRun
		err := row.Scan(&r.ID, &r.Name, scanTime{&r.CreatedAt}, &r.CreatedBy, &r.Summary)
		return r, err
	})
}

// DeleteSimulation implements civic.SimulationStore. Errors: NotFound.
func (s *Store) DeleteSimulation(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete simulation"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "simulation", id, `DELETE FROM simulations WHERE id = $1`, id)
	})
}
