package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
)

const updateColumns = `u.id, u.release_id, u.product_id, p.name, u.brings, u.applies_to, u.classification, u.severity, u.cases, u.supersedes,
	u.payload_name, u.payload_type, u.payload_sha, u.payload_size, u.created_at`

// MarkPublished marks a release published, once, and in the same
// transaction records the updates it hands the catalog and adds the
// versions they bring to their products.
func (s *Store) MarkPublished(ctx context.Context, id int64, at time.Time, us []release.Update, e audit.Entry) (bool, error) {
	done := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE releases SET published_at = $1 WHERE id = $2 AND published_at IS NULL", ts(at), id)
		if err != nil {
			return mapErr(err, "")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		for i := range us {
			u := &us[i]
			sup := u.Supersedes
			if sup == nil {
				sup = []release.Superseded{}
			}
			supJSON, _ := json.Marshal(sup)
			err := tx.QueryRow(ctx, `INSERT INTO updates (release_id, product_id, brings, applies_to, classification, severity, cases,
				supersedes, payload_name, payload_type, payload_sha, payload_size, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
				id, u.ProductID, u.Brings, names(u.AppliesTo), u.Classification, u.Severity, names(u.Cases), string(supJSON),
				u.Payload.Name, u.Payload.ContentType, u.Payload.SHA256, u.Payload.Size, ts(u.CreatedAt)).Scan(&u.ID)
			if err != nil {
				return mapErr(err, u.Product+" "+u.Brings+" was published before")
			}
			// The version now exists: reports can name it from here on.
			if _, err := tx.Exec(ctx, `INSERT INTO product_versions (product_id, version, created_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, u.ProductID, u.Brings, ts(at)); err != nil {
				return mapErr(err, "")
			}
		}
		done = true
		return appendAudit(ctx, tx, e)
	})
	return done, err
}

// ListUpdates returns every published update, oldest first.
func (s *Store) ListUpdates(ctx context.Context) ([]release.Update, error) {
	return s.updates(ctx, "ORDER BY u.id")
}

// ReleaseUpdates returns a release's updates.
func (s *Store) ReleaseUpdates(ctx context.Context, releaseID int64) ([]release.Update, error) {
	return s.updates(ctx, "WHERE u.release_id = $1 ORDER BY u.id", releaseID)
}

func (s *Store) updates(ctx context.Context, where string, args ...any) ([]release.Update, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+updateColumns+" FROM updates u JOIN products p ON p.id = u.product_id "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []release.Update{}
	for rows.Next() {
		var u release.Update
		var applies, cases, sup string
		if err := rows.Scan(&u.ID, &u.ReleaseID, &u.ProductID, &u.Product, &u.Brings, &applies, &u.Classification, &u.Severity, &cases, &sup,
			&u.Payload.Name, &u.Payload.ContentType, &u.Payload.SHA256, &u.Payload.Size, &u.CreatedAt); err != nil {
			return nil, err
		}
		if err := errors.Join(json.Unmarshal([]byte(applies), &u.AppliesTo), json.Unmarshal([]byte(cases), &u.Cases),
			json.Unmarshal([]byte(sup), &u.Supersedes)); err != nil {
			return nil, err
		}
		u.CreatedAt = u.CreatedAt.UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}
