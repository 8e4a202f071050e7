package postgres

import "context"

// MigrateDownTo rolls the schema back to version, for tests of the
// migrations' Down sections.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	_, err := s.migrations.DownTo(ctx, version)
	return err
}

// MigrationVersions lists the versions of the migrations, ascending.
func (s *Store) MigrationVersions() []int64 {
	var out []int64
	for _, src := range s.migrations.ListSources() {
		out = append(out, src.Version)
	}
	return out
}

// Exec runs one statement on the store's pool, for tests that put rows
// in place as an older release wrote them.
func (s *Store) Exec(ctx context.Context, query string) error {
	_, err := s.pool.Exec(ctx, query)
	return err
}
