package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

var errBadToken = patchday.Errorf(patchday.ErrUnauthenticated, "the enrollment token is unknown, expired, revoked or used up; ask your administrator for a new one")

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateEnrollToken stores a new enrollment token by its hash.
func (s *Store) CreateEnrollToken(ctx context.Context, t fleet.EnrollToken, hash []byte) (fleet.EnrollToken, error) {
	err := s.pool.QueryRow(ctx, `INSERT INTO enroll_tokens (hash, note, labels, max_uses, uses, expires_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id`, hash, t.Note, jsonText(nonNil(t.Labels)), t.MaxUses, ts(t.Expires), t.CreatedBy, ts(t.Created)).Scan(&t.ID)
	return t, mapErr(err, "")
}

// EnrollTokens returns every token, newest first.
func (s *Store) EnrollTokens(ctx context.Context) ([]fleet.EnrollToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, note, labels, max_uses, uses, expires_at, created_by, created_at, revoked_at
		FROM enroll_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.EnrollToken
	for rows.Next() {
		var t fleet.EnrollToken
		var labels string
		var revoked *time.Time
		if err := rows.Scan(&t.ID, &t.Note, &labels, &t.MaxUses, &t.Uses, &t.Expires, &t.CreatedBy, &t.Created, &revoked); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(labels), &t.Labels)
		t.Expires, t.Created, t.Revoked = t.Expires.UTC(), t.Created.UTC(), fromNull(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeEnrollToken stops a token from enrolling more computers.
func (s *Store) RevokeEnrollToken(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE enroll_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", ts(at), id)
	if err != nil {
		return mapErr(err, "")
	}
	if tag.RowsAffected() == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no active enrollment token %d", id)
	}
	return nil
}

// Enroll uses a token once and adds the computer.
func (s *Store) Enroll(ctx context.Context, tokenHash []byte, c fleet.Computer, credHash []byte) (fleet.Computer, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var labels string
		err := tx.QueryRow(ctx, `UPDATE enroll_tokens SET uses = uses + 1
			WHERE hash = $1 AND uses < max_uses AND expires_at > $2 AND revoked_at IS NULL RETURNING id, labels`,
			tokenHash, ts(c.Enrolled)).Scan(&c.Token, &labels)
		if errors.Is(err, pgx.ErrNoRows) {
			return errBadToken
		} else if err != nil {
			return err
		}
		var tokenLabels []string
		_ = json.Unmarshal([]byte(labels), &tokenLabels)
		c.Labels = fleet.MergeLabels(tokenLabels, c.Labels)
		c.LastSeen = c.Enrolled
		return tx.QueryRow(ctx, `INSERT INTO computers (name, cred_hash, os, arch, labels, token_id, inventory, inv_hash, enrolled_at, last_seen)
			VALUES ($1, $2, $3, $4, $5, $6, '[]', 0, $7, $7) RETURNING id`, c.Name, credHash, c.OS, c.Arch, jsonText(c.Labels), c.Token,
			ts(c.Enrolled)).Scan(&c.ID)
	})
	return c, mapErr(err, "")
}

// lastSeen is a computer's newest check-in: folded ones, or its last
// inventory change or enrollment.
const lastSeen = "greatest(last_seen, (SELECT at FROM computer_seen s WHERE s.computer_id = computers.id))"

const computerCols = "id, name, os, arch, labels, token_id, group_id, inventory, inv_hash, enrolled_at, " + lastSeen + ", retired_at"

func scanComputer(sc pgx.Row, extra ...any) (fleet.Computer, error) {
	var c fleet.Computer
	var labels, inv string
	var group *int64
	var retired *time.Time
	dest := append([]any{&c.ID, &c.Name, &c.OS, &c.Arch, &labels, &c.Token, &group, &inv, &c.InventoryHash, &c.Enrolled, &c.LastSeen, &retired}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(labels), &c.Labels); err != nil {
		return c, fmt.Errorf("computer %d labels: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(inv), &c.Inventory); err != nil {
		return c, fmt.Errorf("computer %d inventory: %w", c.ID, err)
	}
	if group != nil {
		c.Group = *group
	}
	c.Enrolled, c.LastSeen, c.Retired = c.Enrolled.UTC(), c.LastSeen.UTC(), fromNull(retired)
	return c, nil
}

// ComputerCredential returns a computer and its credential's hash.
func (s *Store) ComputerCredential(ctx context.Context, id int64) (fleet.Computer, []byte, error) {
	var cred []byte
	c, err := scanComputer(s.pool.QueryRow(ctx, "SELECT "+computerCols+", cred_hash FROM computers WHERE id = $1", id), &cred)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil, patchday.Errorf(patchday.ErrNotFound, "no computer %d", id)
	}
	return c, cred, err
}

// Computers returns every computer, retired ones too, by id.
func (s *Store) Computers(ctx context.Context) ([]fleet.Computer, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+computerCols+" FROM computers ORDER BY id")
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
	var err error
	var n int64
	if id > 0 {
		tag, e := s.pool.Exec(ctx, "UPDATE computers SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL", ts(at), id)
		n, err = tag.RowsAffected(), e
	} else {
		tag, e := s.pool.Exec(ctx, "UPDATE computers SET retired_at = $1 WHERE "+lastSeen+" < $2 AND retired_at IS NULL", ts(at), ts(seenBefore))
		n, err = tag.RowsAffected(), e
	}
	return int(n), mapErr(err, "")
}

// SaveCheckins writes a batch of check-ins in one transaction: the plain
// ones (most) in one statement, the rest one by one.
func (s *Store) SaveCheckins(ctx context.Context, batch []fleet.Checkin, count func(a *fleet.Approval, r fleet.Report)) ([]error, error) {
	errs := make([]error, len(batch))
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var ids []int64
		var ats []time.Time
		for i := range batch {
			errs[i] = nil
			c := &batch[i]
			if c.Sweep {
				continue
			}
			if c.Inventory == nil {
				ids, ats = append(ids, c.Computer), append(ats, ts(c.At))
				continue
			}
			tag, err := tx.Exec(ctx, `UPDATE computers SET last_seen = $1, group_id = $2, inventory = $3, inv_hash = $4, os = $5, arch = $6
				WHERE id = $7 AND retired_at IS NULL`, ts(c.At), nullID(c.Group), jsonText(c.Inventory), c.InventoryHash, c.OS, c.Arch, c.Computer)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				errs[i] = retiredErr(c.Computer)
			}
		}
		if len(ids) > 0 {
			// Whether each computer is active was checked when its
			// credential was: one append is all plain check-ins cost.
			if _, err := tx.Exec(ctx, `INSERT INTO checkin_log (computer_id, at) SELECT * FROM unnest($1::bigint[], $2::timestamptz[])`, ids, ats); err != nil {
				return err
			}
		}
		for i := range batch {
			c := &batch[i]
			if errs[i] != nil {
				continue
			}
			for _, r := range c.Reports {
				r.Computer = c.Computer
				if err := saveReport(ctx, tx, r, c.Group, count); err != nil {
					return err
				}
			}
			if c.DropLease {
				if _, err := tx.Exec(ctx, "DELETE FROM restart_leases WHERE computer_id = $1", c.Computer); err != nil {
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

func retiredErr(id int64) error {
	return patchday.Errorf(patchday.ErrUnauthenticated, "computer %d is retired or unknown; enroll it again", id)
}

func saveReport(ctx context.Context, tx pgx.Tx, r fleet.Report, group int64, count func(a *fleet.Approval, r fleet.Report)) error {
	var prev string
	err := tx.QueryRow(ctx, "SELECT state FROM computer_updates WHERE computer_id = $1 AND update_id = $2 FOR UPDATE", r.Computer, r.Update).Scan(&prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if r.IfState != "" && prev != r.IfState {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO computer_updates (computer_id, update_id, state, detail, at, restarts, downtime_s)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (computer_id, update_id) DO UPDATE SET
		state = excluded.state, detail = excluded.detail, at = excluded.at, restarts = excluded.restarts, downtime_s = excluded.downtime_s`,
		r.Computer, r.Update, r.State, r.Detail, ts(r.At), r.Restarts, int64(r.Downtime/time.Second)); err != nil {
		return err
	}
	if prev == r.State {
		return nil // a resent report: already counted, already logged
	}
	if _, err := tx.Exec(ctx, "INSERT INTO fleet_events (computer_id, update_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5)",
		r.Computer, r.Update, r.State, r.Detail, ts(r.At)); err != nil {
		return err
	}
	if !r.Counts || count == nil || group == 0 {
		return nil
	}
	a, err := scanApproval(tx.QueryRow(ctx, "SELECT "+approvalCols+" FROM fleet_approvals WHERE update_id = $1 AND group_id = $2 FOR UPDATE", r.Update, group))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	count(&a, r)
	return putRollout(ctx, tx, a)
}

// FoldCheckins moves the appended check-ins into computer_seen. The rows
// it deletes are the rows it folds, so check-ins committed meanwhile wait
// for the next fold.
func (s *Store) FoldCheckins(ctx context.Context) (int, error) {
	tag, err := s.pool.Exec(ctx, `WITH d AS (DELETE FROM checkin_log RETURNING computer_id, at)
		INSERT INTO computer_seen (computer_id, at) SELECT computer_id, max(at) FROM d GROUP BY computer_id
		ON CONFLICT (computer_id) DO UPDATE SET at = greatest(computer_seen.at, excluded.at)`)
	return int(tag.RowsAffected()), mapErr(err, "")
}

// Reports returns stored reports, all or in one state.
func (s *Store) Reports(ctx context.Context, state string) ([]fleet.Report, error) {
	q := "SELECT computer_id, update_id, state, detail, at, restarts, downtime_s FROM computer_updates"
	var args []any
	if state != "" {
		q += " WHERE state = $1"
		args = append(args, state)
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY computer_id, update_id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Report
	for rows.Next() {
		var r fleet.Report
		var down int64
		if err := rows.Scan(&r.Computer, &r.Update, &r.State, &r.Detail, &r.At, &r.Restarts, &down); err != nil {
			return nil, err
		}
		r.At, r.Downtime = r.At.UTC(), time.Duration(down)*time.Second
		out = append(out, r)
	}
	return out, rows.Err()
}

// Events returns a computer's events, newest first.
func (s *Store) Events(ctx context.Context, computer int64, limit int) ([]fleet.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, computer_id, update_id, kind, detail, at FROM fleet_events
		WHERE computer_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, computer, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Event
	for rows.Next() {
		var e fleet.Event
		if err := rows.Scan(&e.ID, &e.Computer, &e.Update, &e.Kind, &e.Detail, &e.At); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExpireEvents deletes events older than before.
func (s *Store) ExpireEvents(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM fleet_events WHERE at < $1", ts(before))
	return int(tag.RowsAffected()), mapErr(err, "")
}

// PutGroup adds a group (ID 0) or replaces one.
func (s *Store) PutGroup(ctx context.Context, g fleet.Group, at time.Time) (fleet.Group, error) {
	pol, err := json.Marshal(g.Policy)
	if err != nil {
		return g, err
	}
	args := []any{g.Name, g.Ring, jsonText(nonNil(g.Members)), jsonText(nonNil(g.Labels)), g.Window.Rule, int64(g.Window.Duration / time.Second), g.Window.TZ, string(pol), ts(at)}
	conflict := fmt.Sprintf("a group named %q exists already", g.Name)
	if g.ID == 0 {
		err = s.pool.QueryRow(ctx, `INSERT INTO fleet_groups (name, ring, members, labels, window_rule, window_secs, window_tz, policy, updated_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`, args...).Scan(&g.ID)
		return g, mapErr(err, conflict)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE fleet_groups SET name = $1, ring = $2, members = $3, labels = $4, window_rule = $5, window_secs = $6,
		window_tz = $7, policy = $8, updated_at = $9 WHERE id = $10`, append(args, g.ID)...)
	if err != nil {
		return g, mapErr(err, conflict)
	}
	if tag.RowsAffected() == 0 {
		return g, patchday.Errorf(patchday.ErrNotFound, "no group %d", g.ID)
	}
	return g, nil
}

// Groups returns every group by ring and name.
func (s *Store) Groups(ctx context.Context) ([]fleet.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, ring, members, labels, window_rule, window_secs, window_tz, policy
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

// DeleteGroup removes a group and its approvals.
func (s *Store) DeleteGroup(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM fleet_approvals WHERE group_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE computers SET group_id = NULL WHERE group_id = $1", id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM fleet_groups WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return patchday.Errorf(patchday.ErrNotFound, "no group %d", id)
		}
		return nil
	})
}

const approvalCols = `id, update_id, group_id, action, deadline, approved_by, approved_at, why, wave, wave_since,
	succeeded, failed, timed_out, acked_failures, acked_results, braked_at, brake_reason`

func scanApproval(sc pgx.Row) (fleet.Approval, error) {
	var a fleet.Approval
	var deadline, braked *time.Time
	r := &a.Rollout
	err := sc.Scan(&a.ID, &a.Update, &a.Group, &a.Action, &deadline, &a.By, &a.At, &a.Why, &r.Wave, &r.WaveSince,
		&r.Succeeded, &r.Failed, &r.TimedOut, &r.AckedFailures, &r.AckedResults, &braked, &r.BrakeReason)
	a.Deadline, a.At, r.WaveSince, r.BrakedAt = fromNull(deadline), a.At.UTC(), r.WaveSince.UTC(), fromNull(braked)
	r.Braked = braked != nil
	return a, err
}

func putRollout(ctx context.Context, tx pgx.Tx, a fleet.Approval) error {
	r := a.Rollout
	var braked *time.Time
	if r.Braked {
		braked = nullTime(r.BrakedAt)
	}
	_, err := tx.Exec(ctx, `UPDATE fleet_approvals SET wave = $1, wave_since = $2, succeeded = $3, failed = $4, timed_out = $5,
		acked_failures = $6, acked_results = $7, braked_at = $8, brake_reason = $9 WHERE id = $10`,
		r.Wave, ts(r.WaveSince), r.Succeeded, r.Failed, r.TimedOut, r.AckedFailures, r.AckedResults, braked, r.BrakeReason, a.ID)
	return err
}

// PutApproval adds an approval or changes one's action and deadline.
func (s *Store) PutApproval(ctx context.Context, a fleet.Approval) (fleet.Approval, error) {
	out, err := scanApproval(s.pool.QueryRow(ctx, `INSERT INTO fleet_approvals (update_id, group_id, action, deadline, approved_by, approved_at, why,
		wave, wave_since, succeeded, failed, timed_out, acked_failures, acked_results, brake_reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $6, 0, 0, 0, 0, 0, '')
		ON CONFLICT (update_id, group_id) DO UPDATE SET action = excluded.action, deadline = excluded.deadline,
		approved_by = excluded.approved_by, approved_at = excluded.approved_at, why = excluded.why
		RETURNING `+approvalCols, a.Update, a.Group, a.Action, nullTime(a.Deadline), a.By, ts(a.At), a.Why))
	return out, mapErr(err, "")
}

// Approvals returns every approval.
func (s *Store) Approvals(ctx context.Context) ([]fleet.Approval, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+approvalCols+" FROM fleet_approvals ORDER BY update_id, group_id")
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
	tag, err := s.pool.Exec(ctx, "DELETE FROM fleet_approvals WHERE id = $1", id)
	if err != nil {
		return mapErr(err, "")
	}
	if tag.RowsAffected() == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no approval %d", id)
	}
	return nil
}

// UpdateRollout changes one approval's rollout in a transaction.
func (s *Store) UpdateRollout(ctx context.Context, id int64, fn func(a *fleet.Approval) error) (fleet.Approval, error) {
	var a fleet.Approval
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = scanApproval(tx.QueryRow(ctx, "SELECT "+approvalCols+" FROM fleet_approvals WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
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

// leaseLock is the advisory-lock namespace that serialises a group's
// restart leases across servers.
const leaseLock = 0x7061

// TakeRestartLease grants a restart lease if the group has room.
func (s *Store) TakeRestartLease(ctx context.Context, computer, group int64, max int, now, until time.Time) (bool, error) {
	ok := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(leaseLock), int32(group)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM restart_leases WHERE until <= $1", ts(now)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "UPDATE restart_leases SET until = $1 WHERE computer_id = $2", ts(until), computer)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			ok = true
			return nil
		}
		var held int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM restart_leases WHERE group_id = $1", group).Scan(&held); err != nil {
			return err
		}
		if held >= max {
			return nil
		}
		_, err = tx.Exec(ctx, "INSERT INTO restart_leases (computer_id, group_id, granted_at, until) VALUES ($1, $2, $3, $4)",
			computer, group, ts(now), ts(until))
		ok = err == nil
		return err
	})
	return ok, mapErr(err, "")
}

// RestartLeases counts unexpired leases per group.
func (s *Store) RestartLeases(ctx context.Context, now time.Time) (map[int64]int, error) {
	rows, err := s.pool.Query(ctx, "SELECT group_id, count(*) FROM restart_leases WHERE until > $1 GROUP BY group_id", ts(now))
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, u := range us {
			if _, err := tx.Exec(ctx, `INSERT INTO fleet_updates (update_id, product, version, first_seen) VALUES ($1, $2, $3, $4)
				ON CONFLICT (update_id) DO NOTHING`, u.Update, u.Product, u.Version, ts(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err, "")
	}
	rows, err := s.pool.Query(ctx, "SELECT update_id, product, version, first_seen FROM fleet_updates ORDER BY update_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fleet.Seen
	for rows.Next() {
		var u fleet.Seen
		if err := rows.Scan(&u.Update, &u.Product, &u.Version, &u.FirstSeen); err != nil {
			return nil, err
		}
		u.FirstSeen = u.FirstSeen.UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// PutSetting stores a fleet setting.
func (s *Store) PutSetting(ctx context.Context, name, value, by string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO fleet_settings (name, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		name, value, by, ts(at))
	return mapErr(err, "")
}

// Setting returns a fleet setting's value.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT value FROM fleet_settings WHERE name = $1", name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", patchday.Errorf(patchday.ErrNotFound, "no setting %s", name)
	}
	return v, err
}
