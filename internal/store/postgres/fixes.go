package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/fixes"
)

const fixColumns = `id, case_id, version_id, payload_name, payload_type, payload_sha, payload_size, source_ref, release_notes,
	author_id, author, created_at, brings`

func scanFix(row pgx.Row) (fixes.Fix, error) {
	var f fixes.Fix
	err := row.Scan(&f.ID, &f.CaseID, &f.VersionID, &f.Payload.Name, &f.Payload.ContentType, &f.Payload.SHA256, &f.Payload.Size,
		&f.SourceRef, &f.ReleaseNotes, &f.AuthorID, &f.Author, &f.CreatedAt, &f.Brings)
	if err != nil {
		return fixes.Fix{}, mapErr(err, "")
	}
	f.CreatedAt = f.CreatedAt.UTC()
	return f, nil
}

// AddFix stores a fix.
func (s *Store) AddFix(ctx context.Context, f *fixes.Fix, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO fixes (case_id, version_id, payload_name, payload_type, payload_sha, payload_size,
			source_ref, release_notes, author_id, author, created_at, brings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			f.CaseID, f.VersionID, f.Payload.Name, f.Payload.ContentType, f.Payload.SHA256, f.Payload.Size,
			f.SourceRef, f.ReleaseNotes, f.AuthorID, f.Author, ts(f.CreatedAt), f.Brings).Scan(&f.ID)
		if err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// CaseFixes returns a case's fixes, oldest first.
func (s *Store) CaseFixes(ctx context.Context, caseID int64) ([]fixes.Fix, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+fixColumns+" FROM fixes WHERE case_id = $1 ORDER BY id", caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fs := []fixes.Fix{}
	for rows.Next() {
		f, err := scanFix(rows)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, rows.Err()
}

// FixByID returns one fix.
func (s *Store) FixByID(ctx context.Context, id int64) (fixes.Fix, error) {
	return scanFix(s.pool.QueryRow(ctx, "SELECT "+fixColumns+" FROM fixes WHERE id = $1", id))
}

func names(ss []string) string {
	if ss == nil {
		ss = []string{}
	}
	b, _ := json.Marshal(ss)
	return string(b)
}

// AddRun stores a test run.
func (s *Store) AddRun(ctx context.Context, r *fixes.Run, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO test_runs (fix_id, tester_id, tester, passed, n_passed, n_failed, n_skipped, n_errors,
			failing, passing, regressions, notes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			r.FixID, r.TesterID, r.Tester, r.Passed, r.Counts.Passed, r.Counts.Failed, r.Counts.Skipped, r.Counts.Errors,
			names(r.Failing), names(r.Passing), names(r.Regressions), r.Notes, ts(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// FixRuns returns a fix's test runs, oldest first.
func (s *Store) FixRuns(ctx context.Context, fixID int64) ([]fixes.Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, fix_id, tester_id, tester, passed, n_passed, n_failed, n_skipped, n_errors,
		failing, passing, regressions, notes, created_at FROM test_runs WHERE fix_id = $1 ORDER BY id`, fixID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := []fixes.Run{}
	for rows.Next() {
		var r fixes.Run
		var failing, passing, regressions string
		if err := rows.Scan(&r.ID, &r.FixID, &r.TesterID, &r.Tester, &r.Passed, &r.Counts.Passed, &r.Counts.Failed, &r.Counts.Skipped,
			&r.Counts.Errors, &failing, &passing, &regressions, &r.Notes, &r.CreatedAt); err != nil {
			return nil, err
		}
		for _, x := range []struct {
			s string
			p *[]string
		}{{failing, &r.Failing}, {passing, &r.Passing}, {regressions, &r.Regressions}} {
			if err := json.Unmarshal([]byte(x.s), x.p); err != nil {
				return nil, err
			}
		}
		r.CreatedAt = r.CreatedAt.UTC()
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
