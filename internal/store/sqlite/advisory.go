package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
)

// CreateAdvisory numbers and stores an advisory with its cases.
func (s *Store) CreateAdvisory(ctx context.Context, d *release.Draft, year int, e audit.Entry) error {
	d.CreatedAt = e.At
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `INSERT INTO advisory_numbers (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last`, year).Scan(&n); err != nil {
			return mapErr(err, "")
		}
		d.Ref = advisory.FormatID(year, n)
		err := tx.QueryRowContext(ctx, `INSERT INTO advisories (ref, release_id, title, summary, cves, workaround, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.Ref, d.ReleaseID, d.Title, d.Summary, names(d.CVEs), d.Workaround,
			d.CreatedBy, ts(d.CreatedAt)).Scan(&d.ID)
		if err != nil {
			return mapErr(err, "")
		}
		for _, c := range d.CaseIDs {
			if _, err := tx.ExecContext(ctx, "INSERT INTO advisory_cases (advisory_id, case_id) VALUES (?, ?)", d.ID, c); err != nil {
				return mapErr(err, "a case is already in another advisory")
			}
		}
		e.Subject = "advisory:" + d.Ref
		return appendAudit(ctx, tx, e)
	})
}

func (s *Store) drafts(ctx context.Context, where string, args ...any) ([]release.Draft, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, ref, release_id, title, summary, cves, workaround, created_by, created_at
		FROM advisories `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []release.Draft
	for rows.Next() {
		var d release.Draft
		var cves string
		var created int64
		if err := rows.Scan(&d.ID, &d.Ref, &d.ReleaseID, &d.Title, &d.Summary, &cves, &d.Workaround, &d.CreatedBy, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(cves), &d.CVEs); err != nil {
			rows.Close()
			return nil, err
		}
		d.CreatedAt = fromTS(created)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		ids, err := s.idList(ctx, "SELECT case_id FROM advisory_cases WHERE advisory_id = ? ORDER BY case_id", out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].CaseIDs = ids
		if out[i].Revisions, err = s.revisions(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []release.Draft{}
	}
	return out, nil
}

func (s *Store) idList(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
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

// AdvisoryByRef returns one advisory.
func (s *Store) AdvisoryByRef(ctx context.Context, ref string) (release.Draft, error) {
	ds, err := s.drafts(ctx, "WHERE ref = ?", ref)
	if err != nil {
		return release.Draft{}, err
	}
	if len(ds) == 0 {
		return release.Draft{}, mapErr(sql.ErrNoRows, "")
	}
	return ds[0], nil
}

// ReleaseAdvisories returns a release's advisories.
func (s *Store) ReleaseAdvisories(ctx context.Context, releaseID int64) ([]release.Draft, error) {
	return s.drafts(ctx, "WHERE release_id = ? ORDER BY id", releaseID)
}

// ListAdvisories returns every advisory, newest first.
func (s *Store) ListAdvisories(ctx context.Context) ([]release.Draft, error) {
	return s.drafts(ctx, "ORDER BY id DESC")
}

// UpdateAdvisory changes what an advisory says, as a new revision if rev
// is given.
func (s *Store) UpdateAdvisory(ctx context.Context, d release.Draft, rev *release.Revision, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE advisories SET title = ?, summary = ?, cves = ?, workaround = ? WHERE id = ?",
			d.Title, d.Summary, names(d.CVEs), d.Workaround, d.ID)
		if err != nil {
			return mapErr(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "there is no advisory %s", d.Ref)
		}
		if rev != nil {
			err := tx.QueryRowContext(ctx, `INSERT INTO advisory_revisions (advisory_id, number, summary, by_whom, at)
				SELECT ?, COALESCE(MAX(number), 1) + 1, ?, ?, ? FROM advisory_revisions WHERE advisory_id = ? RETURNING number`,
				d.ID, rev.Summary, rev.By, ts(rev.At), d.ID).Scan(&rev.Number)
			if err != nil {
				return mapErr(err, "someone revised the advisory at the same moment; reload it and try again")
			}
		}
		return appendAudit(ctx, tx, e)
	})
}

// revisions returns an advisory's corrections, oldest first.
func (s *Store) revisions(ctx context.Context, advisoryID int64) ([]release.Revision, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT number, summary, by_whom, at FROM advisory_revisions WHERE advisory_id = ? ORDER BY number", advisoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []release.Revision
	for rows.Next() {
		var r release.Revision
		var at int64
		if err := rows.Scan(&r.Number, &r.Summary, &r.By, &at); err != nil {
			return nil, err
		}
		r.At = fromTS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
