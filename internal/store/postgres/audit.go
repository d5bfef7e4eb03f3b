package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
)

func appendAudit(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit (at, who, from_addr, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		ts(e.At), e.Who, e.From, e.Action, e.Subject, e.Detail)
	return mapErr(err, "")
}

// AppendAudit records an entry that belongs to no other change.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return appendAudit(ctx, tx, e) })
}

// ListAudit returns entries newest first.
func (s *Store) ListAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, who, from_addr, action, subject, detail FROM audit
		WHERE id < $1 ORDER BY id DESC LIMIT $2`, before, q.Clamp())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	entries := []audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		var at time.Time
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.From, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, err
		}
		e.At = at.UTC()
		entries = append(entries, e)
	}
	return entries, rows.Err()
}
