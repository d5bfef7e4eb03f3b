package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
)

const releaseColumns = "id, at, kind, justification, approved_by, approved_at, published_at, created_at"

func scanRelease(row pgx.Row) (release.Release, error) {
	var r release.Release
	var approved, published *time.Time
	if err := row.Scan(&r.ID, &r.At, &r.Kind, &r.Justification, &r.ApprovedBy, &approved, &published, &r.CreatedAt); err != nil {
		return release.Release{}, mapErr(err, "")
	}
	r.At, r.CreatedAt = r.At.UTC(), r.CreatedAt.UTC()
	if approved != nil {
		r.ApprovedAt = approved.UTC()
	}
	if published != nil {
		r.PublishedAt = published.UTC()
	}
	return r, nil
}

func (s *Store) releases(ctx context.Context, query string, args ...any) ([]release.Release, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+releaseColumns+" FROM releases "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []release.Release{}
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRelease inserts a release.
func (s *Store) CreateRelease(ctx context.Context, r *release.Release, e audit.Entry) error {
	r.CreatedAt = e.At
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO releases (at, kind, justification, approved_by, created_at) VALUES ($1, $2, $3, '', $4) RETURNING id`,
			ts(r.At), string(r.Kind), r.Justification, ts(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "there is already a train release at "+r.At.UTC().Format(time.RFC3339))
		}
		return appendAudit(ctx, tx, e)
	})
}

// ReleaseByID returns one release.
func (s *Store) ReleaseByID(ctx context.Context, id int64) (release.Release, error) {
	return scanRelease(s.pool.QueryRow(ctx, "SELECT "+releaseColumns+" FROM releases WHERE id = $1", id))
}

// TrainAt returns the train release at exactly t.
func (s *Store) TrainAt(ctx context.Context, t time.Time) (release.Release, error) {
	return scanRelease(s.pool.QueryRow(ctx, "SELECT "+releaseColumns+" FROM releases WHERE kind = 'train' AND at = $1", ts(t)))
}

// ListReleases returns releases from since on, by time.
func (s *Store) ListReleases(ctx context.Context, since time.Time) ([]release.Release, error) {
	return s.releases(ctx, "WHERE at >= $1 ORDER BY at, id", ts(since))
}

// DueReleases returns approved, unpublished releases due by now.
func (s *Store) DueReleases(ctx context.Context, now time.Time) ([]release.Release, error) {
	return s.releases(ctx, "WHERE approved_at IS NOT NULL AND published_at IS NULL AND at <= $1 ORDER BY at, id", ts(now))
}

// AssignCase puts a case in a release.
func (s *Store) AssignCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO release_cases (release_id, case_id) VALUES ($1, $2)", releaseID, caseID); err != nil {
			return mapErr(err, "the case is already in a release")
		}
		return appendAudit(ctx, tx, e)
	})
}

// RemoveCase takes a case out of a release and out of its advisory; an
// advisory left without cases goes too (it was never published: only
// unapproved releases change).
func (s *Store) RemoveCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM release_cases WHERE release_id = $1 AND case_id = $2", releaseID, caseID)
		if err != nil {
			return mapErr(err, "")
		}
		if res.RowsAffected() == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "the case is not in this release")
		}
		// A case is in one advisory at most; one left without cases goes.
		var adv int64
		err = tx.QueryRow(ctx, `SELECT ac.advisory_id FROM advisory_cases ac JOIN advisories a ON a.id = ac.advisory_id
			WHERE ac.case_id = $1 AND a.release_id = $2`, caseID, releaseID).Scan(&adv)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return mapErr(err, "")
		}
		if err == nil {
			if _, err := tx.Exec(ctx, "DELETE FROM advisory_cases WHERE advisory_id = $1 AND case_id = $2", adv, caseID); err != nil {
				return mapErr(err, "")
			}
			if _, err := tx.Exec(ctx, `DELETE FROM advisory_revisions WHERE advisory_id = $1
				AND NOT EXISTS (SELECT 1 FROM advisory_cases WHERE advisory_id = $1)`, adv); err != nil {
				return mapErr(err, "")
			}
			if _, err := tx.Exec(ctx, `DELETE FROM advisories WHERE id = $1
				AND NOT EXISTS (SELECT 1 FROM advisory_cases WHERE advisory_id = $1)`, adv); err != nil {
				return mapErr(err, "")
			}
		}
		return appendAudit(ctx, tx, e)
	})
}

// ReleaseCases returns the ids of a release's cases.
func (s *Store) ReleaseCases(ctx context.Context, releaseID int64) ([]int64, error) {
	rows, err := s.pool.Query(ctx, "SELECT case_id FROM release_cases WHERE release_id = $1 ORDER BY case_id", releaseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReleaseOfCase returns the release a case is in.
func (s *Store) ReleaseOfCase(ctx context.Context, caseID int64) (release.Release, error) {
	return scanRelease(s.pool.QueryRow(ctx, "SELECT "+releaseColumns+
		" FROM releases WHERE id = (SELECT release_id FROM release_cases WHERE case_id = $1)", caseID))
}

// ApproveRelease marks a release approved.
func (s *Store) ApproveRelease(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, "UPDATE releases SET approved_by = $1, approved_at = $2 WHERE id = $3", by, ts(at), id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}
