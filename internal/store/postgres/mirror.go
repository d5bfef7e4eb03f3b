package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/mirror"
)

// PutMirrorTargets records targets not yet known; a known path whose
// signed content changed is recorded anew, not fetched.
func (s *Store) PutMirrorTargets(ctx context.Context, targets []mirror.Target) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		for _, t := range targets {
			if _, err := tx.Exec(ctx, `INSERT INTO mirror_targets (path, sha, size, seen_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (path) DO UPDATE SET sha = excluded.sha, size = excluded.size, seen_at = excluded.seen_at, fetched_at = NULL
				WHERE mirror_targets.sha <> excluded.sha`, t.Path, t.SHA256, t.Size, t.Seen.UTC()); err != nil {
				return mapErr(err, "")
			}
		}
		return nil
	})
}

// MarkFetched records that a target's content is in the blob store.
func (s *Store) MarkFetched(ctx context.Context, path string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE mirror_targets SET fetched_at = $1 WHERE path = $2", at.UTC(), path)
	if err != nil {
		return mapErr(err, "")
	}
	if tag.RowsAffected() == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no mirrored target %s", path)
	}
	return nil
}

// MirrorTargets returns every known target, by path.
func (s *Store) MirrorTargets(ctx context.Context) ([]mirror.Target, error) {
	rows, err := s.pool.Query(ctx, "SELECT path, sha, size, seen_at, fetched_at FROM mirror_targets ORDER BY path")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mirror.Target
	for rows.Next() {
		var t mirror.Target
		var fetched *time.Time
		if err := rows.Scan(&t.Path, &t.SHA256, &t.Size, &t.Seen, &fetched); err != nil {
			return nil, err
		}
		t.Seen = t.Seen.UTC()
		if fetched != nil {
			t.Fetched = fetched.UTC()
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
