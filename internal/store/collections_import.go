package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// ImportCollections stores collections from a city's past (a vendor's
// collection log) in one transaction, so KPIs and forecasts start from
// history. Defaults: Source "import", ID "imp-BIN-UNIXMS", which makes
// importing the same log again add nothing: a collection whose id exists
// is skipped and not counted. Each bin's live state is emptied as of its
// newest imported collection, unless the state is newer (see the top of
// collections.go). With dryRun the same work is done and counted, then
// rolled back. It returns how many collections were (or would be) added.
// Errors: Invalid naming collections[i] (a bin that does not exist, a fill
// outside 0..1, a bad id); nothing is stored then.
func (s *Store) ImportCollections(ctx context.Context, cols []civic.Collection, dryRun bool) (int, error) {
	if err := s.readStates(ctx, "import collections"); err != nil {
		return 0, err
	}
	for i := range cols {
		c := &cols[i]
		if c.Source == "" {
			c.Source = "import"
		}
		c.Time = utcMS(c.Time)
		if c.ID == "" {
			c.ID = fmt.Sprintf("imp-%s-%d", c.BinID, c.Time.UnixMilli())
		}
		field := fmt.Sprintf("collections[%d]", i)
		if err := civic.ValidateID("bin_id", c.BinID); err != nil {
			return 0, civic.PrefixField(field, err)
		}
		if err := civic.ValidateID("id", c.ID); err != nil {
			return 0, civic.PrefixField(field, err)
		}
		if c.Time.IsZero() {
			return 0, civic.FieldError(field+".time", "is required")
		}
		for name, f := range map[string]*float64{"fill_seen": c.FillSeen, "fill_before": c.FillBefore} {
			if f != nil && !(*f >= 0 && *f <= 1) {
				return 0, civic.FieldError(field+"."+name, "must be between 0 and 1")
			}
		}
	}
	now := s.stamp()
	added := 0
	err := s.inTx(ctx, errCtx{op: "import collections"}, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO collections (`+collectionCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		known := map[string]bool{}
		newest := map[string]time.Time{}
		for i := range cols {
			c := &cols[i]
			if !known[c.BinID] {
				if err := mustRef(ctx, tx, fmt.Sprintf("collections[%d].bin_id", i), "bins", c.BinID); err != nil {
					return err
				}
				known[c.BinID] = true
			}
			res, err := stmt.ExecContext(ctx, c.ID, c.BinID, s.ts(c.Time), nullStr(c.StopID), nullStr(c.RouteID),
				nullStr(c.PlanID), nullStr(c.TruckID), nullStr(c.CrewID), c.By, fval(c.FillSeen), fval(c.FillBefore),
				c.Source, c.HasPhoto)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				added++
				if c.Time.After(newest[c.BinID]) {
					newest[c.BinID] = c.Time
				}
			}
		}
		for bin, at := range newest {
			if err := s.emptyBin(ctx, tx, bin, at, now); err != nil {
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, errDryRun) {
		return added, nil
	}
	if err != nil {
		return 0, err
	}
	return added, nil
}
