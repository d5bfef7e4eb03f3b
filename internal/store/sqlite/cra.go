package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cra"
)

// nullTime stores a time, or NULL for the zero time.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ts(t), Valid: true}
}

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromTS(n.Int64)
}

// CreateReport inserts a regulatory report.
func (s *Store) CreateReport(ctx context.Context, r *cra.Report, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO cra_reports (kind, case_id, product_id, aware_at, malicious, summary, mitigation_at, opened_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, string(r.Kind), nullID(r.CaseID), r.ProductID, ts(r.AwareAt), r.Malicious, r.Summary,
			nullTime(r.MitigationAt), r.OpenedBy, ts(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "the case is reported already")
		}
		return appendAudit(ctx, tx, e)
	})
}

const reportColumns = "id, kind, case_id, product_id, aware_at, malicious, summary, mitigation_at, opened_by, created_at"

func (s *Store) reports(ctx context.Context, where string, args ...any) ([]cra.Report, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+reportColumns+" FROM cra_reports "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []cra.Report
	for rows.Next() {
		var r cra.Report
		var caseID sql.NullInt64
		var aware, created int64
		var mitigation sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Kind, &caseID, &r.ProductID, &aware, &r.Malicious, &r.Summary, &mitigation, &r.OpenedBy, &created); err != nil {
			rows.Close()
			return nil, err
		}
		r.CaseID, r.AwareAt, r.MitigationAt, r.CreatedAt = caseID.Int64, fromTS(aware), fromNull(mitigation), fromTS(created)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Stages, err = s.stages(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) stages(ctx context.Context, reportID int64) (map[cra.Stage]cra.StageRecord, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT stage, draft, edited_by, approved_by, approved_at, submitted_at, submitted_by, channel, reference
		FROM cra_stages WHERE report_id = ?`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[cra.Stage]cra.StageRecord{}
	for rows.Next() {
		var st cra.Stage
		var rec cra.StageRecord
		var draft string
		var approved, submitted sql.NullInt64
		if err := rows.Scan(&st, &draft, &rec.EditedBy, &rec.ApprovedBy, &approved, &submitted, &rec.SubmittedBy, &rec.Channel, &rec.Reference); err != nil {
			return nil, err
		}
		if draft != "" {
			rec.Draft = &cra.Draft{}
			if err := json.Unmarshal([]byte(draft), rec.Draft); err != nil {
				return nil, err
			}
		}
		rec.ApprovedAt, rec.SubmittedAt = fromNull(approved), fromNull(submitted)
		out[st] = rec
	}
	return out, rows.Err()
}

func (s *Store) oneReport(ctx context.Context, where string, args ...any) (cra.Report, error) {
	rs, err := s.reports(ctx, where, args...)
	if err != nil {
		return cra.Report{}, err
	}
	if len(rs) == 0 {
		return cra.Report{}, mapErr(sql.ErrNoRows, "")
	}
	return rs[0], nil
}

// ReportByID returns one report.
func (s *Store) ReportByID(ctx context.Context, id int64) (cra.Report, error) {
	return s.oneReport(ctx, "WHERE id = ?", id)
}

// ReportOfCase returns a case's report.
func (s *Store) ReportOfCase(ctx context.Context, caseID int64) (cra.Report, error) {
	return s.oneReport(ctx, "WHERE case_id = ?", caseID)
}

// ListReports returns every report, newest first.
func (s *Store) ListReports(ctx context.Context) ([]cra.Report, error) {
	return s.reports(ctx, "ORDER BY id DESC")
}

// SaveStage stores one stage's record.
func (s *Store) SaveStage(ctx context.Context, reportID int64, st cra.Stage, rec cra.StageRecord, e audit.Entry) error {
	draft := ""
	if rec.Draft != nil {
		b, err := json.Marshal(rec.Draft)
		if err != nil {
			return err
		}
		draft = string(b)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cra_stages (report_id, stage, draft, edited_by, approved_by, approved_at, submitted_at, submitted_by, channel, reference)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (report_id, stage) DO UPDATE SET draft = excluded.draft, edited_by = excluded.edited_by,
			approved_by = excluded.approved_by, approved_at = excluded.approved_at, submitted_at = excluded.submitted_at,
			submitted_by = excluded.submitted_by, channel = excluded.channel, reference = excluded.reference`,
			reportID, string(st), draft, rec.EditedBy, rec.ApprovedBy, nullTime(rec.ApprovedAt), nullTime(rec.SubmittedAt), rec.SubmittedBy, rec.Channel, rec.Reference)
		if err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// SetMitigation records when a mitigation was published.
func (s *Store) SetMitigation(ctx context.Context, reportID int64, at time.Time, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, "UPDATE cra_reports SET mitigation_at = ? WHERE id = ?", ts(at), reportID)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// MarkCRAReminder records a reminder as sent, once.
func (s *Store) MarkCRAReminder(ctx context.Context, reportID int64, st cra.Stage, point string, at time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `INSERT INTO cra_reminders (report_id, stage, point, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, reportID, string(st), point, ts(at))
	if err != nil {
		return false, mapErr(err, "")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CRARemindersSent returns the reminders sent for a report, as
// "stage/point".
func (s *Store) CRARemindersSent(ctx context.Context, reportID int64) (map[string]bool, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT stage, point FROM cra_reminders WHERE report_id = ?", reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var st, p string
		if err := rows.Scan(&st, &p); err != nil {
			return nil, err
		}
		out[st+"/"+p] = true
	}
	return out, rows.Err()
}
