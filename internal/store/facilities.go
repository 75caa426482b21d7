package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- facilities ----

const facilityCols = `id, name, kind, lat, lon, address, streams, opens, closes, unload_min, status, created_at, updated_at`

func scanFacility(r rowScanner) (civic.Facility, error) {
	var f civic.Facility
	var streams string
	if err := r.Scan(&f.ID, &f.Name, &f.Kind, &f.Lat, &f.Lon, &f.Address, &streams, &f.Opens, &f.Closes, &f.UnloadMin,
		&f.Status, scanTime{&f.CreatedAt}, scanTime{&f.UpdatedAt}); err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(streams), &f.Streams); err != nil {
		return f, fmt.Errorf("facility %s: stored streams: %w", f.ID, err)
	}
	return f, nil
}

// facilityStreams is the stored form of f.Streams: a JSON array, which
// Validate has checked to hold known stream names only.
func facilityStreams(f *civic.Facility) string {
	b, _ := json.Marshal(f.Streams) // a []Stream always encodes
	return string(b)
}

// CreateFacility stores a new disposal facility, with defaults filled in
// (see civic.Facility.Normalize). Errors: Invalid, Conflict (the id
// exists).
func (s *Store) CreateFacility(ctx context.Context, f *civic.Facility) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create facility"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO facilities (`+facilityCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			f.ID, f.Name, string(f.Kind), f.Lat, f.Lon, f.Address, facilityStreams(f), f.Opens, f.Closes, f.UnloadMin,
			string(f.Status), s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	f.CreatedAt, f.UpdatedAt = now, now
	return nil
}

// UpdateFacility replaces a facility's fields. Errors: Invalid, NotFound.
func (s *Store) UpdateFacility(ctx context.Context, f *civic.Facility) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	err := s.inTx(ctx, errCtx{op: "update facility"}, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE facilities SET name = $2, kind = $3, lat = $4, lon = $5, address = $6,
			streams = $7, opens = $8, closes = $9, unload_min = $10, status = $11, updated_at = $12
			WHERE id = $1 RETURNING created_at`,
			f.ID, f.Name, string(f.Kind), f.Lat, f.Lon, f.Address, facilityStreams(f), f.Opens, f.Closes, f.UnloadMin,
			string(f.Status), s.ts(now)).Scan(scanTime{&created})
		if err == sql.ErrNoRows {
			return notFound("facility", f.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	f.CreatedAt, f.UpdatedAt = created, now
	return nil
}

// DeleteFacility removes a facility. Stored plans keep their disposal
// stops: a stop names its facility by id and carries its name and
// position. Errors: NotFound.
func (s *Store) DeleteFacility(ctx context.Context, id string) error {
	return s.inTx(ctx, errCtx{op: "delete facility"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "facility", id, `DELETE FROM facilities WHERE id = $1`, id)
	})
}

// Facility returns a facility. Errors: NotFound.
func (s *Store) Facility(ctx context.Context, id string) (civic.Facility, error) {
	f, err := scanFacility(s.rdb.QueryRowContext(ctx, `SELECT `+facilityCols+` FROM facilities WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return f, notFound("facility", id)
	}
	return f, s.fail(errCtx{op: "get facility"}, err)
}

// ListFacilities returns every facility ordered by id.
func (s *Store) ListFacilities(ctx context.Context) ([]civic.Facility, error) {
	return list(ctx, s, "list facilities", `SELECT `+facilityCols+` FROM facilities ORDER BY id`, scanFacility)
}
