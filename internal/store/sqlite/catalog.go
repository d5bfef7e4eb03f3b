package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/release"
)

// PutTUF stores one version of a TUF role's metadata.
func (s *Store) PutTUF(ctx context.Context, role string, version int64, body []byte, at time.Time) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO tuf_metadata (role, version, body, created_at) VALUES (?, ?, ?, ?)",
		role, version, body, ts(at))
	return mapErr(err, role+" metadata version was written by another server first")
}

// TUF returns one version of a role's metadata, the newest for version 0.
func (s *Store) TUF(ctx context.Context, role string, version int64) ([]byte, error) {
	var body []byte
	var err error
	if version == 0 {
		err = s.read.QueryRowContext(ctx, "SELECT body FROM tuf_metadata WHERE role = ? ORDER BY version DESC LIMIT 1", role).Scan(&body)
	} else {
		err = s.read.QueryRowContext(ctx, "SELECT body FROM tuf_metadata WHERE role = ? AND version = ?", role, version).Scan(&body)
	}
	return body, mapErr(err, "")
}

// PutCatalogEntry records an entry and its deltas, once per update.
func (s *Store) PutCatalogEntry(ctx context.Context, e catalog.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO catalog_entries (update_id, state, reason, restart, target, payload_sha, payload_size, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.Update.ID, e.State, e.Reason, e.Restart, e.Full.Path, e.Full.SHA256, e.Full.Size, ts(e.Created)); err != nil {
			return mapErr(err, "the update is in the catalog already")
		}
		for _, d := range e.Deltas {
			if _, err := tx.ExecContext(ctx, `INSERT INTO catalog_deltas (update_id, from_version, target, sha, size, build_ms) VALUES (?, ?, ?, ?, ?, ?)`,
				e.Update.ID, d.From, d.Path, d.SHA256, d.Size, d.Build.Milliseconds()); err != nil {
				return mapErr(err, "")
			}
		}
		return nil
	})
}

// CatalogEntries returns every entry, oldest first.
func (s *Store) CatalogEntries(ctx context.Context) ([]catalog.Entry, error) {
	us, err := s.ListUpdates(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]release.Update{}
	for _, u := range us {
		byID[u.ID] = u
	}
	rows, err := s.read.QueryContext(ctx, `SELECT update_id, state, reason, restart, target, payload_sha, payload_size, created_at
		FROM catalog_entries ORDER BY update_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Entry
	index := map[int64]int{}
	for rows.Next() {
		var e catalog.Entry
		var created int64
		if err := rows.Scan(&e.Update.ID, &e.State, &e.Reason, &e.Restart, &e.Full.Path, &e.Full.SHA256, &e.Full.Size, &created); err != nil {
			return nil, err
		}
		e.Update, e.Created = byID[e.Update.ID], fromTS(created)
		index[e.Update.ID] = len(out)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	drows, err := s.read.QueryContext(ctx, "SELECT update_id, from_version, target, sha, size, build_ms FROM catalog_deltas ORDER BY update_id, from_version")
	if err != nil {
		return nil, err
	}
	defer drows.Close()
	for drows.Next() {
		var id, ms int64
		var d catalog.Delta
		if err := drows.Scan(&id, &d.From, &d.Path, &d.SHA256, &d.Size, &ms); err != nil {
			return nil, err
		}
		d.Build = time.Duration(ms) * time.Millisecond
		if i, ok := index[id]; ok {
			out[i].Deltas = append(out[i].Deltas, d)
		}
	}
	return out, drows.Err()
}

// CatalogContent reports whether sha is a ready entry's payload, a delta,
// or content mirrored from upstream, and its size.
func (s *Store) CatalogContent(ctx context.Context, sha string) (int64, bool, error) {
	var size int64
	err := s.read.QueryRowContext(ctx, `SELECT payload_size FROM catalog_entries WHERE payload_sha = ? AND state = 'ready'
		UNION ALL SELECT size FROM catalog_deltas WHERE sha = ?
		UNION ALL SELECT size FROM mirror_targets WHERE sha = ? AND fetched_at IS NOT NULL LIMIT 1`, sha, sha, sha).Scan(&size)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return size, err == nil, err
}
