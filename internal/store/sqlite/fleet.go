package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

var errBadToken = patchday.Errorf(patchday.ErrUnauthenticated, "the enrollment token is unknown, expired, revoked or used up; ask your administrator for a new one")

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// CreateEnrollToken stores a new enrollment token by its hash.
func (s *Store) CreateEnrollToken(ctx context.Context, t fleet.EnrollToken, hash []byte) (fleet.EnrollToken, error) {
	err := s.write.QueryRowContext(ctx, `INSERT INTO enroll_tokens (hash, note, labels, max_uses, uses, expires_at, created_by, created_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?) RETURNING id`, hash, t.Note, jsonText(nonNil(t.Labels)), t.MaxUses, ts(t.Expires), t.CreatedBy, ts(t.Created)).Scan(&t.ID)
	return t, mapErr(err, "")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// EnrollTokens returns every token, newest first.
func (s *Store) EnrollTokens(ctx context.Context) ([]fleet.EnrollToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, note, labels, max_uses, uses, expires_at, created_by, created_at, revoked_at
		FROM enroll_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.EnrollToken
	for rows.Next() {
		var t fleet.EnrollToken
		var labels string
		var exp, created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Note, &labels, &t.MaxUses, &t.Uses, &exp, &t.CreatedBy, &created, &revoked); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(labels), &t.Labels)
		t.Expires, t.Created, t.Revoked = fromTS(exp), fromTS(created), fromNull(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeEnrollToken stops a token from enrolling more computers.
func (s *Store) RevokeEnrollToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.write.ExecContext(ctx, "UPDATE enroll_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", ts(at), id)
	if err != nil {
		return mapErr(err, "")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no active enrollment token %d", id)
	}
	return nil
}

// Enroll uses a token once and adds the computer.
func (s *Store) Enroll(ctx context.Context, tokenHash []byte, c fleet.Computer, credHash []byte) (fleet.Computer, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var labels string
		err := tx.QueryRowContext(ctx, `UPDATE enroll_tokens SET uses = uses + 1
			WHERE hash = ? AND uses < max_uses AND expires_at > ? AND revoked_at IS NULL RETURNING id, labels`,
			tokenHash, ts(c.Enrolled)).Scan(&c.Token, &labels)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadToken
		} else if err != nil {
			return err
		}
		var tokenLabels []string
		_ = json.Unmarshal([]byte(labels), &tokenLabels)
		c.Labels = fleet.MergeLabels(tokenLabels, c.Labels)
		c.LastSeen = c.Enrolled
		return tx.QueryRowContext(ctx, `INSERT INTO computers (name, cred_hash, os, arch, labels, token_id, inventory, inv_hash, enrolled_at, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, '[]', 0, ?, ?) RETURNING id`, c.Name, credHash, c.OS, c.Arch, jsonText(c.Labels), c.Token,
			ts(c.Enrolled), ts(c.Enrolled)).Scan(&c.ID)
	})
	return c, mapErr(err, "")
}

// lastSeen is a computer's newest check-in: folded ones, or its last
// inventory change or enrollment.
const lastSeen = "max(last_seen, coalesce((SELECT at FROM computer_seen s WHERE s.computer_id = computers.id), 0))"

const computerCols = "id, name, os, arch, labels, token_id, group_id, inventory, inv_hash, enrolled_at, " + lastSeen + ", retired_at"

func scanComputer(sc interface{ Scan(...any) error }, extra ...any) (fleet.Computer, error) {
	var c fleet.Computer
	var labels, inv string
	var group sql.NullInt64
	var enrolled, seen int64
	var retired sql.NullInt64
	dest := append([]any{&c.ID, &c.Name, &c.OS, &c.Arch, &labels, &c.Token, &group, &inv, &c.InventoryHash, &enrolled, &seen, &retired}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
		return c, fmt.Errorf("computer %d labels: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(inv), &c.Inventory); err != nil {
		return c, fmt.Errorf("computer %d inventory: %w", c.ID, err)
	}
	c.Group, c.Enrolled, c.LastSeen, c.Retired = group.Int64, fromTS(enrolled), fromTS(seen), fromNull(retired)
	return c, nil
}

// ComputerCredential returns a computer and its credential's hash.
func (s *Store) ComputerCredential(ctx context.Context, id int64) (fleet.Computer, []byte, error) {
	var cred []byte
	c, err := scanComputer(s.read.QueryRowContext(ctx, "SELECT "+computerCols+", cred_hash FROM computers WHERE id = ?", id), &cred)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil, patchday.Errorf(patchday.ErrNotFound, "no computer %d", id)
	}
	return c, cred, err
}

// Computers returns every computer, retired ones too, by id.
func (s *Store) Computers(ctx context.Context) ([]fleet.Computer, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+computerCols+" FROM computers ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Computer
	for rows.Next() {
		c, err := scanComputer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RetireComputers retires one computer, or all last seen before a time.
func (s *Store) RetireComputers(ctx context.Context, id int64, seenBefore, at time.Time) (int, error) {
	var res sql.Result
	var err error
	if id > 0 {
		res, err = s.write.ExecContext(ctx, "UPDATE computers SET retired_at = ? WHERE id = ? AND retired_at IS NULL", ts(at), id)
	} else {
		res, err = s.write.ExecContext(ctx, "UPDATE computers SET retired_at = ? WHERE "+lastSeen+" < ? AND retired_at IS NULL", ts(at), ts(seenBefore))
	}
	if err != nil {
		return 0, mapErr(err, "")
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SaveCheckins writes a batch of check-ins in one transaction.
func (s *Store) SaveCheckins(ctx context.Context, batch []fleet.Checkin, count func(a *fleet.Approval, r fleet.Report)) ([]error, error) {
	errs := make([]error, len(batch))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		seen, err := tx.PrepareContext(ctx, "INSERT INTO checkin_log (computer_id, at) VALUES (?, ?)")
		if err != nil {
			return err
		}
		defer seen.Close()
		for i := range batch {
			c := &batch[i]
			if !c.Sweep {
				ok, err := touch(ctx, tx, seen, c)
				if err != nil {
					return err
				}
				if !ok {
					errs[i] = patchday.Errorf(patchday.ErrUnauthenticated, "computer %d is retired or unknown; enroll it again", c.Computer)
					continue
				}
			}
			for _, r := range c.Reports {
				r.Computer = c.Computer
				if err := s.saveReport(ctx, tx, r, c.Group, count); err != nil {
					return err
				}
			}
			if c.DropLease {
				if _, err := tx.ExecContext(ctx, "DELETE FROM restart_leases WHERE computer_id = ?", c.Computer); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("save %d check-ins: %w", len(batch), err)
	}
	return errs, nil
}

// touch records that a computer checked in, with its inventory if that
// changed, and reports whether it is an active computer.
func touch(ctx context.Context, tx *sql.Tx, seen *sql.Stmt, c *fleet.Checkin) (bool, error) {
	var res sql.Result
	var err error
	if c.Inventory != nil {
		res, err = tx.ExecContext(ctx, `UPDATE computers SET last_seen = ?, group_id = ?, inventory = ?, inv_hash = ?, os = ?, arch = ?
			WHERE id = ? AND retired_at IS NULL`, ts(c.At), nullID(c.Group), jsonText(c.Inventory), c.InventoryHash, c.OS, c.Arch, c.Computer)
	} else {
		// Whether the computer is active was checked when its credential
		// was: this append is all a plain check-in costs.
		_, err = seen.ExecContext(ctx, c.Computer, ts(c.At))
		return err == nil, err
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) saveReport(ctx context.Context, tx *sql.Tx, r fleet.Report, group int64, count func(a *fleet.Approval, r fleet.Report)) error {
	var prev string
	err := tx.QueryRowContext(ctx, "SELECT state FROM computer_updates WHERE computer_id = ? AND update_id = ?", r.Computer, r.Update).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if r.IfState != "" && prev != r.IfState {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO computer_updates (computer_id, update_id, state, detail, at, restarts, downtime_s)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (computer_id, update_id) DO UPDATE SET
		state = excluded.state, detail = excluded.detail, at = excluded.at, restarts = excluded.restarts, downtime_s = excluded.downtime_s`,
		r.Computer, r.Update, r.State, r.Detail, ts(r.At), r.Restarts, int64(r.Downtime/time.Second)); err != nil {
		return err
	}
	if prev == r.State {
		return nil // a resent report: already counted, already logged
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO fleet_events (computer_id, update_id, kind, detail, at) VALUES (?, ?, ?, ?, ?)",
		r.Computer, r.Update, r.State, r.Detail, ts(r.At)); err != nil {
		return err
	}
	if !r.Counts || count == nil || group == 0 {
		return nil
	}
	a, err := scanApproval(tx.QueryRowContext(ctx, "SELECT "+approvalCols+" FROM fleet_approvals WHERE update_id = ? AND group_id = ?", r.Update, group))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	count(&a, r)
	return putRollout(ctx, tx, a)
}

// foldChunk bounds one fold transaction, so the writer is not held long.
const foldChunk = 100_000

// FoldCheckins moves the appended check-ins into computer_seen, a chunk
// per transaction.
func (s *Store) FoldCheckins(ctx context.Context) (int, error) {
	n := 0
	for {
		var from, to sql.NullInt64
		if err := s.read.QueryRowContext(ctx, "SELECT min(seq), max(seq) FROM checkin_log").Scan(&from, &to); err != nil || !from.Valid {
			return n, mapErr(err, "")
		}
		upto := min(to.Int64, from.Int64+foldChunk-1)
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO computer_seen (computer_id, at)
				SELECT computer_id, max(at) FROM checkin_log WHERE seq <= ? GROUP BY computer_id
				ON CONFLICT (computer_id) DO UPDATE SET at = max(at, excluded.at)`, upto)
			if err != nil {
				return err
			}
			m, _ := res.RowsAffected()
			n += int(m)
			_, err = tx.ExecContext(ctx, "DELETE FROM checkin_log WHERE seq <= ?", upto)
			return err
		})
		if err != nil || upto == to.Int64 {
			return n, mapErr(err, "")
		}
	}
}

// Reports returns stored reports, all or in one state.
func (s *Store) Reports(ctx context.Context, state string) ([]fleet.Report, error) {
	q := "SELECT computer_id, update_id, state, detail, at, restarts, downtime_s FROM computer_updates"
	var args []any
	if state != "" {
		q += " WHERE state = ?"
		args = append(args, state)
	}
	rows, err := s.read.QueryContext(ctx, q+" ORDER BY computer_id, update_id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Report
	for rows.Next() {
		var r fleet.Report
		var at, down int64
		if err := rows.Scan(&r.Computer, &r.Update, &r.State, &r.Detail, &at, &r.Restarts, &down); err != nil {
			return nil, err
		}
		r.At, r.Downtime = fromTS(at), time.Duration(down)*time.Second
		out = append(out, r)
	}
	return out, rows.Err()
}

// Events returns a computer's events, newest first.
func (s *Store) Events(ctx context.Context, computer int64, limit int) ([]fleet.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, computer_id, update_id, kind, detail, at FROM fleet_events
		WHERE computer_id = ? ORDER BY at DESC, id DESC LIMIT ?`, computer, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Event
	for rows.Next() {
		var e fleet.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.Computer, &e.Update, &e.Kind, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExpireEvents deletes events older than before.
func (s *Store) ExpireEvents(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, "DELETE FROM fleet_events WHERE at < ?", ts(before))
	if err != nil {
		return 0, mapErr(err, "")
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PutGroup adds a group (ID 0) or replaces one.
func (s *Store) PutGroup(ctx context.Context, g fleet.Group, at time.Time) (fleet.Group, error) {
	pol, err := json.Marshal(g.Policy)
	if err != nil {
		return g, err
	}
	args := []any{g.Name, g.Ring, jsonText(nonNil(g.Members)), jsonText(nonNil(g.Labels)), g.Window.Rule, int64(g.Window.Duration / time.Second), g.Window.TZ, string(pol), ts(at)}
	if g.ID == 0 {
		err = s.write.QueryRowContext(ctx, `INSERT INTO fleet_groups (name, ring, members, labels, window_rule, window_secs, window_tz, policy, updated_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, append(args, ts(at))...).Scan(&g.ID)
		return g, mapErr(err, fmt.Sprintf("a group named %q exists already", g.Name))
	}
	res, err := s.write.ExecContext(ctx, `UPDATE fleet_groups SET name = ?, ring = ?, members = ?, labels = ?, window_rule = ?, window_secs = ?,
		window_tz = ?, policy = ?, updated_at = ? WHERE id = ?`, append(args, g.ID)...)
	if err != nil {
		return g, mapErr(err, fmt.Sprintf("a group named %q exists already", g.Name))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return g, patchday.Errorf(patchday.ErrNotFound, "no group %d", g.ID)
	}
	return g, nil
}

// Groups returns every group by ring and name.
func (s *Store) Groups(ctx context.Context) ([]fleet.Group, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, ring, members, labels, window_rule, window_secs, window_tz, policy
		FROM fleet_groups ORDER BY ring, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Group
	for rows.Next() {
		var g fleet.Group
		var members, labels, rule, tz, pol string
		var secs int64
		if err := rows.Scan(&g.ID, &g.Name, &g.Ring, &members, &labels, &rule, &secs, &tz, &pol); err != nil {
			return nil, err
		}
		if err := fleet.DecodeGroup(&g, members, labels, rule, time.Duration(secs)*time.Second, tz, pol); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// DeleteGroup removes a group that has no approvals.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM fleet_approvals WHERE group_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE computers SET group_id = NULL WHERE group_id = ?", id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM fleet_groups WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "no group %d", id)
		}
		return nil
	})
}

const approvalCols = `id, update_id, group_id, action, deadline, approved_by, approved_at, why, wave, wave_since,
	succeeded, failed, timed_out, acked_failures, acked_results, braked_at, brake_reason`

func scanApproval(sc interface{ Scan(...any) error }) (fleet.Approval, error) {
	var a fleet.Approval
	var deadline, braked sql.NullInt64
	var at, since int64
	r := &a.Rollout
	err := sc.Scan(&a.ID, &a.Update, &a.Group, &a.Action, &deadline, &a.By, &at, &a.Why, &r.Wave, &since,
		&r.Succeeded, &r.Failed, &r.TimedOut, &r.AckedFailures, &r.AckedResults, &braked, &r.BrakeReason)
	a.Deadline, a.At, r.WaveSince, r.BrakedAt = fromNull(deadline), fromTS(at), fromTS(since), fromNull(braked)
	r.Braked = braked.Valid
	return a, err
}

func putRollout(ctx context.Context, tx *sql.Tx, a fleet.Approval) error {
	r := a.Rollout
	braked := any(nil)
	if r.Braked {
		braked = ts(r.BrakedAt)
	}
	_, err := tx.ExecContext(ctx, `UPDATE fleet_approvals SET wave = ?, wave_since = ?, succeeded = ?, failed = ?, timed_out = ?,
		acked_failures = ?, acked_results = ?, braked_at = ?, brake_reason = ? WHERE id = ?`,
		r.Wave, ts(r.WaveSince), r.Succeeded, r.Failed, r.TimedOut, r.AckedFailures, r.AckedResults, braked, r.BrakeReason, a.ID)
	return err
}

// PutApproval adds an approval or changes one's action and deadline.
func (s *Store) PutApproval(ctx context.Context, a fleet.Approval) (fleet.Approval, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fleet_approvals (update_id, group_id, action, deadline, approved_by, approved_at, why,
			wave, wave_since, succeeded, failed, timed_out, acked_failures, acked_results, brake_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0, 0, 0, 0, '')
			ON CONFLICT (update_id, group_id) DO UPDATE SET action = excluded.action, deadline = excluded.deadline,
			approved_by = excluded.approved_by, approved_at = excluded.approved_at, why = excluded.why`,
			a.Update, a.Group, a.Action, nullTS(a.Deadline), a.By, ts(a.At), a.Why, ts(a.At)); err != nil {
			return mapErr(err, "")
		}
		var err error
		a, err = scanApproval(tx.QueryRowContext(ctx, "SELECT "+approvalCols+" FROM fleet_approvals WHERE update_id = ? AND group_id = ?", a.Update, a.Group))
		return err
	})
	return a, mapErr(err, "")
}

// Approvals returns every approval.
func (s *Store) Approvals(ctx context.Context) ([]fleet.Approval, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+approvalCols+" FROM fleet_approvals ORDER BY update_id, group_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteApproval withdraws an approval.
func (s *Store) DeleteApproval(ctx context.Context, id int64) error {
	res, err := s.write.ExecContext(ctx, "DELETE FROM fleet_approvals WHERE id = ?", id)
	if err != nil {
		return mapErr(err, "")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no approval %d", id)
	}
	return nil
}

// UpdateRollout changes one approval's rollout in a transaction.
func (s *Store) UpdateRollout(ctx context.Context, id int64, fn func(a *fleet.Approval) error) (fleet.Approval, error) {
	var a fleet.Approval
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApproval(tx.QueryRowContext(ctx, "SELECT "+approvalCols+" FROM fleet_approvals WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return patchday.Errorf(patchday.ErrNotFound, "no approval %d", id)
		} else if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		return putRollout(ctx, tx, a)
	})
	return a, err
}

// TakeRestartLease grants a restart lease if the group has room.
func (s *Store) TakeRestartLease(ctx context.Context, computer, group int64, max int, now, until time.Time) (bool, error) {
	ok := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM restart_leases WHERE until <= ?", ts(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE restart_leases SET until = ? WHERE computer_id = ?", ts(until), computer)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok = true
			return nil
		}
		var held int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM restart_leases WHERE group_id = ?", group).Scan(&held); err != nil {
			return err
		}
		if held >= max {
			return nil
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO restart_leases (computer_id, group_id, granted_at, until) VALUES (?, ?, ?, ?)",
			computer, group, ts(now), ts(until))
		ok = err == nil
		return err
	})
	return ok, mapErr(err, "")
}

// RestartLeases counts unexpired leases per group.
func (s *Store) RestartLeases(ctx context.Context, now time.Time) (map[int64]int, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT group_id, count(*) FROM restart_leases WHERE until > ? GROUP BY group_id", ts(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var g int64
		var n int
		if err := rows.Scan(&g, &n); err != nil {
			return nil, err
		}
		out[g] = n
	}
	return out, rows.Err()
}

// SeeUpdates records updates not seen before and returns all known.
func (s *Store) SeeUpdates(ctx context.Context, us []fleet.Seen, now time.Time) ([]fleet.Seen, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, u := range us {
			if _, err := tx.ExecContext(ctx, `INSERT INTO fleet_updates (update_id, product, version, first_seen) VALUES (?, ?, ?, ?)
				ON CONFLICT (update_id) DO NOTHING`, u.Update, u.Product, u.Version, ts(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err, "")
	}
	rows, err := s.read.QueryContext(ctx, "SELECT update_id, product, version, first_seen FROM fleet_updates ORDER BY update_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Seen
	for rows.Next() {
		var u fleet.Seen
		var first int64
		if err := rows.Scan(&u.Update, &u.Product, &u.Version, &first); err != nil {
			return nil, err
		}
		u.FirstSeen = fromTS(first)
		out = append(out, u)
	}
	return out, rows.Err()
}

// PutSetting stores a fleet setting.
func (s *Store) PutSetting(ctx context.Context, name, value, by string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO fleet_settings (name, value, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		name, value, by, ts(at))
	return mapErr(err, "")
}

// Setting returns a fleet setting's value.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, "SELECT value FROM fleet_settings WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", patchday.Errorf(patchday.ErrNotFound, "no setting %s", strings.TrimSpace(name))
	}
	return v, err
}
