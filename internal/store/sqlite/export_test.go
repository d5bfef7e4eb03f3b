package sqlite

import "context"

// Exec runs raw SQL on the write connection, for tests only.
func (s *Store) Exec(ctx context.Context, sql string) error {
	_, err := s.write.ExecContext(ctx, sql)
	return err
}
