package sqlite

import (
	"context"
	"database/sql"

	"github.com/patchday/patchday/internal/audit"
)

func appendAudit(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, who, from_addr, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ts(e.At), e.Who, e.From, e.Action, e.Subject, e.Detail)
	return mapErr(err, "")
}

// AppendAudit records an entry that belongs to no other change.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e) })
}

// ListAudit returns entries newest first.
func (s *Store) ListAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, at, who, from_addr, action, subject, detail FROM audit
		WHERE id < ? ORDER BY id DESC LIMIT ?`, before, q.Clamp())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	entries := []audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Who, &e.From, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		entries = append(entries, e)
	}
	return entries, rows.Err()
}
