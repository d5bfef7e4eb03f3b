package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
)

const releaseColumns = "id, at, kind, justification, approved_by, approved_at, published_at, created_at"

func scanRelease(row interface{ Scan(...any) error }) (release.Release, error) {
	var r release.Release
	var at, created int64
	var approved, published sql.NullInt64
	if err := row.Scan(&r.ID, &at, &r.Kind, &r.Justification, &r.ApprovedBy, &approved, &published, &created); err != nil {
		return release.Release{}, mapErr(err, "")
	}
	r.At, r.CreatedAt = fromTS(at), fromTS(created)
	if approved.Valid {
		r.ApprovedAt = fromTS(approved.Int64)
	}
	if published.Valid {
		r.PublishedAt = fromTS(published.Int64)
	}
	return r, nil
}

func (s *Store) releases(ctx context.Context, query string, args ...any) ([]release.Release, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+releaseColumns+" FROM releases "+query, args...)
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO releases (at, kind, justification, approved_by, created_at) VALUES (?, ?, ?, '', ?) RETURNING id`,
			ts(r.At), string(r.Kind), r.Justification, ts(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "there is already a train release at "+r.At.UTC().Format(time.RFC3339))
		}
		return appendAudit(ctx, tx, e)
	})
}

// ReleaseByID returns one release.
func (s *Store) ReleaseByID(ctx context.Context, id int64) (release.Release, error) {
	return scanRelease(s.read.QueryRowContext(ctx, "SELECT "+releaseColumns+" FROM releases WHERE id = ?", id))
}

// TrainAt returns the train release at exactly t.
func (s *Store) TrainAt(ctx context.Context, t time.Time) (release.Release, error) {
	return scanRelease(s.read.QueryRowContext(ctx, "SELECT "+releaseColumns+" FROM releases WHERE kind = 'train' AND at = ?", ts(t)))
}

// ListReleases returns releases from since on, by time.
func (s *Store) ListReleases(ctx context.Context, since time.Time) ([]release.Release, error) {
	return s.releases(ctx, "WHERE at >= ? ORDER BY at, id", ts(since))
}

// DueReleases returns approved, unpublished releases due by now.
func (s *Store) DueReleases(ctx context.Context, now time.Time) ([]release.Release, error) {
	return s.releases(ctx, "WHERE approved_at IS NOT NULL AND published_at IS NULL AND at <= ? ORDER BY at, id", ts(now))
}

// AssignCase puts a case in a release.
func (s *Store) AssignCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO release_cases (release_id, case_id) VALUES (?, ?)", releaseID, caseID); err != nil {
			return mapErr(err, "the case is already in a release")
		}
		return appendAudit(ctx, tx, e)
	})
}

// RemoveCase takes a case out of a release and out of its advisory; an
// advisory left without cases goes too (it was never published: only
// unapproved releases change).
func (s *Store) RemoveCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM release_cases WHERE release_id = ? AND case_id = ?", releaseID, caseID)
		if err != nil {
			return mapErr(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "the case is not in this release")
		}
		// A case is in one advisory at most; one left without cases goes.
		var adv int64
		err = tx.QueryRowContext(ctx, `SELECT ac.advisory_id FROM advisory_cases ac JOIN advisories a ON a.id = ac.advisory_id
			WHERE ac.case_id = ? AND a.release_id = ?`, caseID, releaseID).Scan(&adv)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return mapErr(err, "")
		}
		if err == nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM advisory_cases WHERE advisory_id = ? AND case_id = ?", adv, caseID); err != nil {
				return mapErr(err, "")
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM advisory_revisions WHERE advisory_id = ?
				AND NOT EXISTS (SELECT 1 FROM advisory_cases WHERE advisory_id = ?)`, adv, adv); err != nil {
				return mapErr(err, "")
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM advisories WHERE id = ?
				AND NOT EXISTS (SELECT 1 FROM advisory_cases WHERE advisory_id = ?)`, adv, adv); err != nil {
				return mapErr(err, "")
			}
		}
		return appendAudit(ctx, tx, e)
	})
}

// ReleaseCases returns the ids of a release's cases.
func (s *Store) ReleaseCases(ctx context.Context, releaseID int64) ([]int64, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT case_id FROM release_cases WHERE release_id = ? ORDER BY case_id", releaseID)
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
	return scanRelease(s.read.QueryRowContext(ctx, "SELECT "+releaseColumns+
		" FROM releases WHERE id = (SELECT release_id FROM release_cases WHERE case_id = ?)", caseID))
}

// ApproveRelease marks a release approved.
func (s *Store) ApproveRelease(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, "UPDATE releases SET approved_by = ?, approved_at = ? WHERE id = ?", by, ts(at), id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}
