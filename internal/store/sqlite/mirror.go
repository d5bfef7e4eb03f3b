package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/mirror"
)

// PutMirrorTargets records targets not yet known; a known path whose
// signed content changed is recorded anew, not fetched.
func (s *Store) PutMirrorTargets(ctx context.Context, targets []mirror.Target) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range targets {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mirror_targets (path, sha, size, seen_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (path) DO UPDATE SET sha = excluded.sha, size = excluded.size, seen_at = excluded.seen_at, fetched_at = NULL
				WHERE mirror_targets.sha <> excluded.sha`, t.Path, t.SHA256, t.Size, ts(t.Seen)); err != nil {
				return mapErr(err, "")
			}
		}
		return nil
	})
}

// MarkFetched records that a target's content is in the blob store.
func (s *Store) MarkFetched(ctx context.Context, path string, at time.Time) error {
	res, err := s.write.ExecContext(ctx, "UPDATE mirror_targets SET fetched_at = ? WHERE path = ?", ts(at), path)
	if err != nil {
		return mapErr(err, "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no mirrored target %s", path)
	}
	return nil
}

// MirrorTargets returns every known target, by path.
func (s *Store) MirrorTargets(ctx context.Context) ([]mirror.Target, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT path, sha, size, seen_at, fetched_at FROM mirror_targets ORDER BY path")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mirror.Target
	for rows.Next() {
		var t mirror.Target
		var seen int64
		var fetched sql.NullInt64
		if err := rows.Scan(&t.Path, &t.SHA256, &t.Size, &seen, &fetched); err != nil {
			return nil, err
		}
		t.Seen = fromTS(seen)
		if fetched.Valid {
			t.Fetched = fromTS(fetched.Int64)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
