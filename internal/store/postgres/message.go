package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/intake"
)

// AddMessage stores a message of a case's thread with its files.
func (s *Store) AddMessage(ctx context.Context, m *intake.Message, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO case_messages (case_id, from_reporter, author, body, mail, internal, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, m.CaseID, m.FromReporter, m.Author, m.Body, m.Mail, m.Internal, ts(m.CreatedAt)).Scan(&m.ID)
		if err != nil {
			return mapErr(err, "")
		}
		for _, a := range m.Attachments {
			if _, err := tx.Exec(ctx, `INSERT INTO message_attachments (message_id, name, content_type, sha256, size) VALUES ($1, $2, $3, $4, $5)`,
				m.ID, a.Name, a.ContentType, a.SHA256, a.Size); err != nil {
				return mapErr(err, "")
			}
		}
		return appendAudit(ctx, tx, e)
	})
}

// SetCredit changes the credit on a case's first report.
func (s *Store) SetCredit(ctx context.Context, caseID int64, c intake.Credit, e audit.Entry) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		err := mustAffect(tx.Exec(ctx, `UPDATE reports SET credit_name = $1, credit_handle = $2, anonymous = $3
			WHERE id = (SELECT min(id) FROM reports WHERE case_id = $4)`, c.Name, c.Handle, c.Anonymous, caseID))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// SetMessageMail records a message's e-mail delivery.
func (s *Store) SetMessageMail(ctx context.Context, id int64, status string) error {
	return mustAffect(s.pool.Exec(ctx, "UPDATE case_messages SET mail = $1 WHERE id = $2", status, id))
}

// CaseMessages returns a case's thread, oldest first, with files.
func (s *Store) CaseMessages(ctx context.Context, caseID int64) ([]intake.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, case_id, from_reporter, author, body, mail, internal, created_at
		FROM case_messages WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	ms := []intake.Message{}
	byID := map[int64]int{}
	for rows.Next() {
		var m intake.Message
		if err := rows.Scan(&m.ID, &m.CaseID, &m.FromReporter, &m.Author, &m.Body, &m.Mail, &m.Internal, &m.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		m.CreatedAt = m.CreatedAt.UTC()
		byID[m.ID] = len(ms)
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, err := s.pool.Query(ctx, `SELECT a.message_id, a.name, a.content_type, a.sha256, a.size
		FROM message_attachments a JOIN case_messages m ON m.id = a.message_id WHERE m.case_id = $1 ORDER BY a.id`, caseID)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	for files.Next() {
		var id int64
		var a intake.Attachment
		if err := files.Scan(&id, &a.Name, &a.ContentType, &a.SHA256, &a.Size); err != nil {
			return nil, err
		}
		i := byID[id]
		ms[i].Attachments = append(ms[i].Attachments, a)
	}
	return ms, files.Err()
}
