package sqlite

import (
	"context"
	"time"
)

// TakeLease gives holder the named lease until the given time if it is
// free, expired, or already theirs; it reports whether holder has it.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.until <= ? OR leases.holder = excluded.holder`, name, holder, ts(until), ts(now))
	if err != nil {
		return false, mapErr(err, "")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkReminder records that a reminder was sent; it reports false if it
// had been sent before.
func (s *Store) MarkReminder(ctx context.Context, caseID int64, clock, kind string, at time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `INSERT INTO sla_reminders (case_id, clock, kind, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, caseID, clock, kind, ts(at))
	if err != nil {
		return false, mapErr(err, "")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
