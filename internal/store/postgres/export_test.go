package postgres

import "context"

// Exec runs raw SQL on the pool, for tests only.
func (s *Store) Exec(ctx context.Context, sql string) error {
	_, err := s.pool.Exec(ctx, sql)
	return err
}

// QueryInt runs a query returning one integer, for tests only.
func (s *Store) QueryInt(ctx context.Context, sql string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

// LatestVersion is the schema version the embedded migrations reach.
func LatestVersion() (int, error) {
	ms, err := migrations()
	return len(ms), err
}
