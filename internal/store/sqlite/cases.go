package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
)

// MoveCase moves a case if it is still in m.From, and records the move.
func (s *Store) MoveCase(ctx context.Context, caseID int64, m cases.Move, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, "UPDATE cases SET state = ? WHERE id = ? AND state = ?", string(m.To), caseID, string(m.From)))
		if err != nil {
			return conflictIfGone(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_transitions (case_id, from_state, to_state, actor, reason, duplicate_of, comment, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, caseID, string(m.From), string(m.To), m.Actor, m.Reason, m.DuplicateOf, m.Comment, ts(m.At)); err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// CaseMoves returns a case's moves, oldest first.
func (s *Store) CaseMoves(ctx context.Context, caseID int64) ([]cases.Move, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT from_state, to_state, actor, reason, duplicate_of, comment, at
		FROM case_transitions WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ms := []cases.Move{}
	for rows.Next() {
		var m cases.Move
		var at int64
		if err := rows.Scan(&m.From, &m.To, &m.Actor, &m.Reason, &m.DuplicateOf, &m.Comment, &at); err != nil {
			return nil, err
		}
		m.At = fromTS(at)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// SetTriage saves a case's assessment, replacing the affected versions.
func (s *Store) SetTriage(ctx context.Context, caseID int64, t cases.Assessment, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `UPDATE cases SET cvss_vector = ?, cvss_version = ?, cvss_score = ?, cvss_rating = ?,
			cwe = ?, assignee_id = ? WHERE id = ?`, t.CVSSVector, t.CVSSVersion, t.CVSSScore, t.CVSSRating, t.CWE, nullID(t.Assignee), caseID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM case_affected WHERE case_id = ?", caseID); err != nil {
			return mapErr(err, "")
		}
		for _, v := range t.Affected {
			if _, err := tx.ExecContext(ctx, "INSERT INTO case_affected (case_id, version_id) VALUES (?, ?) ON CONFLICT DO NOTHING", caseID, v); err != nil {
				return mapErr(err, "")
			}
		}
		return appendAudit(ctx, tx, e)
	})
}

// CaseTriage returns a case's assessment.
func (s *Store) CaseTriage(ctx context.Context, caseID int64) (cases.Assessment, error) {
	var t cases.Assessment
	var assignee sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT cvss_vector, cvss_version, cvss_score, cvss_rating, cwe, assignee_id FROM cases WHERE id = ?`, caseID).
		Scan(&t.CVSSVector, &t.CVSSVersion, &t.CVSSScore, &t.CVSSRating, &t.CWE, &assignee)
	if err != nil {
		return cases.Assessment{}, mapErr(err, "")
	}
	t.Assignee = assignee.Int64
	rows, err := s.read.QueryContext(ctx, "SELECT version_id FROM case_affected WHERE case_id = ? ORDER BY version_id", caseID)
	if err != nil {
		return cases.Assessment{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return cases.Assessment{}, err
		}
		t.Affected = append(t.Affected, v)
	}
	return t, rows.Err()
}

// conflictIfGone reports a conditional update that matched nothing as a
// conflict: the row was there, in another state.
func conflictIfGone(err error) error {
	if errors.Is(err, patchday.ErrNotFound) {
		return patchday.ErrConflict
	}
	return err
}

// SetFlag records a case flag, or moves its date.
func (s *Store) SetFlag(ctx context.Context, caseID int64, f cases.FlagSet, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_flags (case_id, flag, at, set_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (case_id, flag) DO UPDATE SET at = excluded.at, set_by = excluded.set_by`, caseID, string(f.Flag), ts(f.At), f.SetBy)
		if err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// CaseFlags returns a case's flags.
func (s *Store) CaseFlags(ctx context.Context, caseID int64) ([]cases.FlagSet, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT flag, at, set_by FROM case_flags WHERE case_id = ?", caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fs := []cases.FlagSet{}
	for rows.Next() {
		var f cases.FlagSet
		var at int64
		if err := rows.Scan(&f.Flag, &at, &f.SetBy); err != nil {
			return nil, err
		}
		f.At = fromTS(at)
		fs = append(fs, f)
	}
	return fs, rows.Err()
}
