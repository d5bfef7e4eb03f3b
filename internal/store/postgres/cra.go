package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cra"
)

// nullTime stores a time, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := ts(t)
	return &u
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// CreateReport inserts a regulatory report.
func (s *Store) CreateReport(ctx context.Context, r *cra.Report, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO cra_reports (kind, case_id, product_id, aware_at, malicious, summary, mitigation_at, opened_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, string(r.Kind), nullID(r.CaseID), r.ProductID, ts(r.AwareAt), r.Malicious, r.Summary,
			nullTime(r.MitigationAt), r.OpenedBy, ts(r.CreatedAt)).Scan(&r.ID)
		if err != nil {
			return mapErr(err, "the case is reported already")
		}
		return appendAudit(ctx, tx, e)
	})
}

const reportColumns = "id, kind, case_id, product_id, aware_at, malicious, summary, mitigation_at, opened_by, created_at"

func (s *Store) reports(ctx context.Context, where string, args ...any) ([]cra.Report, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+reportColumns+" FROM cra_reports "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []cra.Report
	for rows.Next() {
		var r cra.Report
		var caseID *int64
		var mitigation *time.Time
		if err := rows.Scan(&r.ID, &r.Kind, &caseID, &r.ProductID, &r.AwareAt, &r.Malicious, &r.Summary, &mitigation, &r.OpenedBy, &r.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		if caseID != nil {
			r.CaseID = *caseID
		}
		r.AwareAt, r.MitigationAt, r.CreatedAt = r.AwareAt.UTC(), fromNull(mitigation), r.CreatedAt.UTC()
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
	rows, err := s.pool.Query(ctx, `SELECT stage, draft, edited_by, approved_by, approved_at, submitted_at, submitted_by, channel, reference
		FROM cra_stages WHERE report_id = $1`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[cra.Stage]cra.StageRecord{}
	for rows.Next() {
		var st cra.Stage
		var rec cra.StageRecord
		var draft string
		var approved, submitted *time.Time
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
		return cra.Report{}, mapErr(pgx.ErrNoRows, "")
	}
	return rs[0], nil
}

// ReportByID returns one report.
func (s *Store) ReportByID(ctx context.Context, id int64) (cra.Report, error) {
	return s.oneReport(ctx, "WHERE id = $1", id)
}

// ReportOfCase returns a case's report.
func (s *Store) ReportOfCase(ctx context.Context, caseID int64) (cra.Report, error) {
	return s.oneReport(ctx, "WHERE case_id = $1", caseID)
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO cra_stages (report_id, stage, draft, edited_by, approved_by, approved_at, submitted_at, submitted_by, channel, reference)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (report_id, stage) DO UPDATE SET draft = excluded.draft, edited_by = excluded.edited_by,
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, "UPDATE cra_reports SET mitigation_at = $1 WHERE id = $2", ts(at), reportID)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// MarkCRAReminder records a reminder as sent, once.
func (s *Store) MarkCRAReminder(ctx context.Context, reportID int64, st cra.Stage, point string, at time.Time) (bool, error) {
	res, err := s.pool.Exec(ctx, `INSERT INTO cra_reminders (report_id, stage, point, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, reportID, string(st), point, ts(at))
	if err != nil {
		return false, mapErr(err, "")
	}
	return res.RowsAffected() == 1, nil
}

// CRARemindersSent returns the reminders sent for a report, as
// "stage/point".
func (s *Store) CRARemindersSent(ctx context.Context, reportID int64) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, "SELECT stage, point FROM cra_reminders WHERE report_id = $1", reportID)
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
