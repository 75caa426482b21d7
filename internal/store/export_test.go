package store

import "context"

// MigrateDownTo rolls the schema of s back to version, for tests of a
// migration's data steps; Migrate brings it up again.
func MigrateDownTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrations(ctx)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	s.forgetSchema()
	return err
}

// Migrate applies the pending migrations of s.
func Migrate(ctx context.Context, s *Store) error { return s.migrate(ctx) }
