package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// PlanSettings implements civic.PlanStore: the stored settings, or
// civic.DefaultPlanSettings() when none were set.
func (s *Store) PlanSettings(ctx context.Context) (civic.PlanSettings, error) {
	var (
		config string
		at     time.Time
		by     string
	)
	err := s.rdb.QueryRowContext(ctx, `SELECT config, updated_at, updated_by FROM plan_settings WHERE id = 1`).
		Scan(&config, scanTime{&at}, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return civic.DefaultPlanSettings(), nil
	}
	if err != nil {
		return civic.PlanSettings{}, s.fail(errCtx{op: "get plan settings"}, err)
	}
	var ps civic.PlanSettings
	if err := json.Unmarshal([]byte(config), &ps); err != nil {
		return civic.PlanSettings{}, s.fail(errCtx{op: "get plan settings"}, err)
	}
	ps.UpdatedAt, ps.UpdatedBy = at, by
	return ps, nil
}

// SetPlanSettings implements civic.PlanStore; UpdatedAt is set by the
// store. Errors: Invalid.
func (s *Store) SetPlanSettings(ctx context.Context, ps *civic.PlanSettings) error {
	if err := ps.Validate(); err != nil {
		return err
	}
	ps.UpdatedAt = s.stamp()
	cfg := *ps
	cfg.UpdatedAt, cfg.UpdatedBy = time.Time{}, ""
	b, err := json.Marshal(cfg)
	if err != nil {
		return civic.Wrap(civic.Internal, err, "internal error")
	}
	return s.inTx(ctx, errCtx{op: "set plan settings"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO plan_settings (id, config, updated_at, updated_by) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			string(b), s.ts(ps.UpdatedAt), ps.UpdatedBy)
		return err
	})
}
