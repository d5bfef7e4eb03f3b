package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/postmortem"
)

const tenetTitleInUse = "a tenet with that title exists"

// ListTenets returns every tenet, retired ones too, by id.
func (s *Store) ListTenets(ctx context.Context) ([]postmortem.Tenet, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT id, title, description, retired, created_at FROM tenets ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []postmortem.Tenet
	for rows.Next() {
		var t postmortem.Tenet
		var created int64
		if err := rows.Scan(&t.ID, &t.Title, &t.Description, &t.Retired, &created); err != nil {
			return nil, err
		}
		t.CreatedAt = fromTS(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateTenet inserts t and sets its id.
func (s *Store) CreateTenet(ctx context.Context, t *postmortem.Tenet, e audit.Entry) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = e.At
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO tenets (title, description, retired, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.Title, t.Description, t.Retired, ts(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return mapErr(err, tenetTitleInUse)
		}
		t.CreatedAt = fromTS(ts(t.CreatedAt))
		return appendAudit(ctx, tx, e)
	})
}

// UpdateTenet stores t's title, description and retirement.
func (s *Store) UpdateTenet(ctx context.Context, t postmortem.Tenet, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE tenets SET title = ?, description = ?, retired = ? WHERE id = ?",
			t.Title, t.Description, t.Retired, t.ID)
		if err != nil {
			return mapErr(err, tenetTitleInUse)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "there is no tenet %d", t.ID)
		}
		return appendAudit(ctx, tx, e)
	})
}

// marshalActions is the JSON stored for a post-mortem's actions: always
// an array, due dates in UTC.
func marshalActions(as []postmortem.Action) (string, error) {
	out := make([]postmortem.Action, len(as))
	for i, a := range as {
		a.Due = a.Due.UTC()
		out[i] = a
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func unmarshalActions(caseID int64, s string) ([]postmortem.Action, error) {
	var as []postmortem.Action
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		return nil, fmt.Errorf("post-mortem of case %d: stored actions: %w", caseID, err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	for i := range as {
		as[i].Due = as[i].Due.UTC()
	}
	return as, nil
}

const postMortemColumns = `case_id, root_cause, cwe, component, team, introduced_version, introduced_commit, how_found, why_missed,
	tenet_id, actions, author, edited_by, revision, created_at, updated_at`

func scanPostMortem(row interface{ Scan(...any) error }) (postmortem.PostMortem, error) {
	var pm postmortem.PostMortem
	var tenet sql.NullInt64
	var actions string
	var created, updated int64
	if err := row.Scan(&pm.CaseID, &pm.RootCause, &pm.CWE, &pm.Component, &pm.Team, &pm.IntroducedVersion, &pm.IntroducedCommit,
		&pm.HowFound, &pm.WhyMissed, &tenet, &actions, &pm.Author, &pm.EditedBy, &pm.Revision, &created, &updated); err != nil {
		return postmortem.PostMortem{}, err
	}
	as, err := unmarshalActions(pm.CaseID, actions)
	if err != nil {
		return postmortem.PostMortem{}, err
	}
	pm.TenetID, pm.Actions, pm.CreatedAt, pm.UpdatedAt = tenet.Int64, as, fromTS(created), fromTS(updated)
	return pm, nil
}

// PostMortemOf returns a case's post-mortem.
func (s *Store) PostMortemOf(ctx context.Context, caseID int64) (postmortem.PostMortem, error) {
	pm, err := scanPostMortem(s.read.QueryRowContext(ctx, "SELECT "+postMortemColumns+" FROM postmortems WHERE case_id = ?", caseID))
	if errors.Is(err, sql.ErrNoRows) {
		return postmortem.PostMortem{}, patchday.Errorf(patchday.ErrNotFound, "case %d has no post-mortem", caseID)
	}
	return pm, mapErr(err, "")
}

func revisionConflict(stored int) error {
	return patchday.Errorf(patchday.ErrConflict,
		"the post-mortem was changed by someone else (now at revision %d); reload it and make your changes again", stored)
}

// SavePostMortem stores pm whole if the stored revision is pm.Revision-1.
// The write transaction holds SQLite's write lock, so the check and the
// write are one step.
func (s *Store) SavePostMortem(ctx context.Context, pm postmortem.PostMortem, e audit.Entry) error {
	actions, err := marshalActions(pm.Actions)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var stored int
		err := tx.QueryRowContext(ctx, "SELECT revision FROM postmortems WHERE case_id = ?", pm.CaseID).Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return mapErr(err, "")
		}
		if stored != pm.Revision-1 {
			return revisionConflict(stored)
		}
		args := []any{pm.RootCause, pm.CWE, pm.Component, pm.Team, pm.IntroducedVersion, pm.IntroducedCommit, pm.HowFound, pm.WhyMissed,
			nullID(pm.TenetID), actions, pm.Author, pm.EditedBy, pm.Revision, ts(pm.CreatedAt), ts(pm.UpdatedAt), pm.CaseID}
		if stored == 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO postmortems (root_cause, cwe, component, team, introduced_version, introduced_commit,
				how_found, why_missed, tenet_id, actions, author, edited_by, revision, created_at, updated_at, case_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE postmortems SET root_cause = ?, cwe = ?, component = ?, team = ?, introduced_version = ?,
				introduced_commit = ?, how_found = ?, why_missed = ?, tenet_id = ?, actions = ?, author = ?, edited_by = ?, revision = ?,
				created_at = ?, updated_at = ? WHERE case_id = ?`, args...)
		}
		if err != nil {
			return mapErr(err, "the post-mortem was changed by someone else; reload it and make your changes again")
		}
		return appendAudit(ctx, tx, e)
	})
}

// ListPostMortems returns every post-mortem, by case id.
func (s *Store) ListPostMortems(ctx context.Context) ([]postmortem.PostMortem, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+postMortemColumns+" FROM postmortems ORDER BY case_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []postmortem.PostMortem
	for rows.Next() {
		pm, err := scanPostMortem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pm)
	}
	return out, rows.Err()
}

// AddPostMortemComment inserts c and sets its id.
func (s *Store) AddPostMortemComment(ctx context.Context, c *postmortem.Comment, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "INSERT INTO postmortem_comments (case_id, author, body, at) VALUES (?, ?, ?, ?) RETURNING id",
			c.CaseID, c.Author, c.Body, ts(c.At)).Scan(&c.ID)
		if err != nil {
			return mapErr(err, "")
		}
		c.At = fromTS(ts(c.At))
		return appendAudit(ctx, tx, e)
	})
}

// PostMortemComments returns a case's comments, oldest first.
func (s *Store) PostMortemComments(ctx context.Context, caseID int64) ([]postmortem.Comment, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT id, case_id, author, body, at FROM postmortem_comments WHERE case_id = ? ORDER BY id", caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []postmortem.Comment
	for rows.Next() {
		var c postmortem.Comment
		var at int64
		if err := rows.Scan(&c.ID, &c.CaseID, &c.Author, &c.Body, &at); err != nil {
			return nil, err
		}
		c.At = fromTS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// briefingBody is the text of a briefing, kept as JSON in briefings.body.
type briefingBody struct {
	Title     string                    `json:"title"`
	Intro     string                    `json:"intro"`
	Items     []postmortem.BriefingItem `json:"items"`
	Takeaways string                    `json:"takeaways"`
}

func marshalBriefing(b postmortem.Briefing) (string, error) {
	body := briefingBody{Title: b.Title, Intro: b.Intro, Items: b.Items, Takeaways: b.Takeaways}
	if body.Items == nil {
		body.Items = []postmortem.BriefingItem{}
	}
	out, err := json.Marshal(body)
	return string(out), err
}

func unmarshalBriefing(releaseID int64, s string, b *postmortem.Briefing) error {
	var body briefingBody
	if err := json.Unmarshal([]byte(s), &body); err != nil {
		return fmt.Errorf("briefing of release %d: stored body: %w", releaseID, err)
	}
	if len(body.Items) == 0 {
		body.Items = nil
	}
	b.ReleaseID, b.Title, b.Intro, b.Items, b.Takeaways = releaseID, body.Title, body.Intro, body.Items, body.Takeaways
	return nil
}

// BriefingOf returns a release's saved briefing.
func (s *Store) BriefingOf(ctx context.Context, releaseID int64) (postmortem.Briefing, error) {
	var b postmortem.Briefing
	var body string
	var edited int64
	var shared sql.NullInt64
	err := s.read.QueryRowContext(ctx, "SELECT body, edited_by, edited_at, shared_by, shared_at FROM briefings WHERE release_id = ?", releaseID).
		Scan(&body, &b.EditedBy, &edited, &b.SharedBy, &shared)
	if errors.Is(err, sql.ErrNoRows) {
		return postmortem.Briefing{}, patchday.Errorf(patchday.ErrNotFound, "release %d has no saved briefing", releaseID)
	} else if err != nil {
		return postmortem.Briefing{}, mapErr(err, "")
	}
	if err := unmarshalBriefing(releaseID, body, &b); err != nil {
		return postmortem.Briefing{}, err
	}
	b.EditedAt, b.SharedAt = fromTS(edited), fromNull(shared)
	return b, nil
}

// errShared refuses to change a shared briefing.
var errShared = patchday.Errorf(patchday.ErrConflict, "the briefing was shared and no longer changes")

// SaveBriefing stores a briefing unless the stored one is shared.
func (s *Store) SaveBriefing(ctx context.Context, b postmortem.Briefing, e audit.Entry) error {
	body, err := marshalBriefing(b)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO briefings (release_id, body, edited_by, edited_at, shared_by, shared_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (release_id) DO UPDATE SET body = excluded.body, edited_by = excluded.edited_by, edited_at = excluded.edited_at,
			shared_by = excluded.shared_by, shared_at = excluded.shared_at
			WHERE briefings.shared_at IS NULL`,
			b.ReleaseID, body, b.EditedBy, ts(b.EditedAt), b.SharedBy, nullTime(b.SharedAt))
		if err != nil {
			return mapErr(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errShared
		}
		return appendAudit(ctx, tx, e)
	})
}
