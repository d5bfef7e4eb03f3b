package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/intake"
)

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// CreateCase numbers and stores a new case with its first report.
func (s *Store) CreateCase(ctx context.Context, c *intake.Case, r intake.Report, linkHash string, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO case_numbers (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last`, c.Year).Scan(&c.Number)
		if err != nil {
			return mapErr(err, "")
		}
		c.Ref = intake.FormatRef(c.Year, c.Number)
		err = tx.QueryRowContext(ctx, `INSERT INTO cases (ref, year, number, title, state, product_id, link_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Ref, c.Year, c.Number, c.Title, c.State, nullID(c.ProductID), linkHash, ts(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			return mapErr(err, "")
		}
		var reportID int64
		err = tx.QueryRowContext(ctx, `INSERT INTO reports (case_id, title, product, product_id, version, description, impact,
			steps, configuration, cvss_vector, cvss_version, cvss_score, cvss_rating, cwe, how_found, public, exploited,
			disclosure_date, email, credit_name, credit_handle, anonymous, source, from_addr, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.ID, r.Title, r.Product, nullID(r.ProductID), r.Version, r.Description, r.Impact,
			r.Steps, r.Configuration, r.CVSSVector, r.CVSSVersion, r.CVSSScore, r.CVSSRating, r.CWE, r.HowFound, r.Public, r.Exploited,
			dateOrEmpty(r.DisclosureDate), r.Email, r.Credit.Name, r.Credit.Handle, r.Credit.Anonymous, string(r.Source), r.From, ts(r.ReceivedAt),
		).Scan(&reportID)
		if err != nil {
			return mapErr(err, "")
		}
		for _, a := range r.Attachments {
			if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (report_id, name, content_type, sha256, size) VALUES (?, ?, ?, ?, ?)`,
				reportID, a.Name, a.ContentType, a.SHA256, a.Size); err != nil {
				return mapErr(err, "")
			}
		}
		e.Subject = "case:" + c.Ref
		return appendAudit(ctx, tx, e)
	})
}

const caseColumns = "id, ref, year, number, title, state, product_id, created_at"

func scanCase(row interface{ Scan(...any) error }) (intake.Case, error) {
	var c intake.Case
	var pid sql.NullInt64
	var created int64
	if err := row.Scan(&c.ID, &c.Ref, &c.Year, &c.Number, &c.Title, &c.State, &pid, &created); err != nil {
		return intake.Case{}, mapErr(err, "")
	}
	c.ProductID, c.CreatedAt = pid.Int64, fromTS(created)
	return c, nil
}

// CaseByLink returns the case behind a private link's hash.
func (s *Store) CaseByLink(ctx context.Context, linkHash string) (intake.Case, error) {
	return scanCase(s.read.QueryRowContext(ctx, "SELECT "+caseColumns+" FROM cases WHERE link_hash = ?", linkHash))
}

// CaseByRef returns a case by its id.
func (s *Store) CaseByRef(ctx context.Context, ref string) (intake.Case, error) {
	return scanCase(s.read.QueryRowContext(ctx, "SELECT "+caseColumns+" FROM cases WHERE ref = ?", ref))
}

// ListCases returns every case, newest first.
func (s *Store) ListCases(ctx context.Context) ([]intake.Case, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+caseColumns+" FROM cases ORDER BY id DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cs := []intake.Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// CaseReports returns a case's reports with their attachments, oldest first.
func (s *Store) CaseReports(ctx context.Context, caseID int64) ([]intake.Report, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, title, product, product_id, version, description, impact,
		steps, configuration, cvss_vector, cvss_version, cvss_score, cvss_rating, cwe, how_found, public, exploited,
		disclosure_date, email, credit_name, credit_handle, anonymous, source, from_addr, received_at
		FROM reports WHERE case_id = ? ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intake.Report
	var ids []int64
	for rows.Next() {
		var r intake.Report
		var id, received int64
		var pid sql.NullInt64
		var date string
		if err := rows.Scan(&id, &r.Title, &r.Product, &pid, &r.Version, &r.Description, &r.Impact,
			&r.Steps, &r.Configuration, &r.CVSSVector, &r.CVSSVersion, &r.CVSSScore, &r.CVSSRating, &r.CWE, &r.HowFound, &r.Public, &r.Exploited,
			&date, &r.Email, &r.Credit.Name, &r.Credit.Handle, &r.Credit.Anonymous, &r.Source, &r.From, &received); err != nil {
			return nil, err
		}
		r.ProductID, r.ReceivedAt = pid.Int64, fromTS(received)
		if date != "" {
			r.DisclosureDate, _ = time.Parse(time.DateOnly, date)
		}
		out, ids = append(out, r), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		as, err := s.attachments(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i].Attachments = as
	}
	return out, nil
}

func (s *Store) attachments(ctx context.Context, reportID int64) ([]intake.Attachment, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, content_type, sha256, size FROM attachments WHERE report_id = ? ORDER BY id`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []intake.Attachment
	for rows.Next() {
		var a intake.Attachment
		if err := rows.Scan(&a.Name, &a.ContentType, &a.SHA256, &a.Size); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// ReportTimesFrom returns when reports from an address arrived since.
func (s *Store) ReportTimesFrom(ctx context.Context, from string, since time.Time) ([]time.Time, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT received_at FROM reports WHERE from_addr = ? AND received_at > ? ORDER BY received_at`, from, ts(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var us int64
		if err := rows.Scan(&us); err != nil {
			return nil, err
		}
		out = append(out, fromTS(us))
	}
	return out, rows.Err()
}
