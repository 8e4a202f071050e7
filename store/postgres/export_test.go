package postgres

import "context"

// MigrateDownTo rolls the schema back to version, for tests of the
// migrations' Down sections.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	_, err := s.migrations.DownTo(ctx, version)
	return err
}
