package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
)

const userColumns = "id, email, roles, password_hash, must_change_password, disabled, created_at"

func scanUser(row interface{ Scan(...any) error }) (staff.User, error) {
	var u staff.User
	var roles string
	var created int64
	if err := row.Scan(&u.ID, &u.Email, &roles, &u.PasswordHash, &u.MustChangePassword, &u.Disabled, &created); err != nil {
		return staff.User{}, mapErr(err, "")
	}
	rs, err := staff.ParseRoles(roles)
	if err != nil {
		return staff.User{}, fmt.Errorf("user %d: stored roles: %w", u.ID, err)
	}
	u.Roles, u.CreatedAt = rs, fromTS(created)
	return u, nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u *staff.User, e audit.Entry) error {
	u.CreatedAt = e.At
	err := tx.QueryRowContext(ctx, `INSERT INTO users (email, roles, password_hash, must_change_password, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Email, u.Roles.String(), u.PasswordHash, u.MustChangePassword, u.Disabled, ts(u.CreatedAt)).Scan(&u.ID)
	if err != nil {
		return mapErr(err, "an account with the e-mail "+u.Email+" already exists")
	}
	return appendAudit(ctx, tx, e)
}

// CreateUser inserts u.
func (s *Store) CreateUser(ctx context.Context, u *staff.User, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertUser(ctx, tx, u, e) })
}

// CreateFirstUser inserts u if there are no users; the immediate
// transaction holds the write lock, so the check and insert are atomic.
func (s *Store) CreateFirstUser(ctx context.Context, u *staff.User, e audit.Entry) (bool, error) {
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return insertUser(ctx, tx, u, e)
	})
	return created && err == nil, err
}

// UserByID returns one account.
func (s *Store) UserByID(ctx context.Context, id int64) (staff.User, error) {
	return scanUser(s.read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
}

// UserByEmail returns one account by its normalized e-mail.
func (s *Store) UserByEmail(ctx context.Context, email string) (staff.User, error) {
	return scanUser(s.read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", email))
}

// ListUsers returns every account by e-mail.
func (s *Store) ListUsers(ctx context.Context) ([]staff.User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY email")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []staff.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// UpdateUser saves the mutable fields of an account.
func (s *Store) UpdateUser(ctx context.Context, u staff.User, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET roles = ?, password_hash = ?, must_change_password = ?, disabled = ?
			WHERE id = ?`, u.Roles.String(), u.PasswordHash, u.MustChangePassword, u.Disabled, u.ID)
		if err := mustAffect(res, err); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err, "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return patchday.ErrNotFound
	}
	return nil
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss staff.Session, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, created_at, expires_at, from_addr) VALUES (?, ?, ?, ?, ?)`,
			ss.Hash, ss.UserID, ts(ss.CreatedAt), ts(ss.ExpiresAt), ss.From)
		if err != nil {
			return mapErr(err, "")
		}
		return appendAudit(ctx, tx, e)
	})
}

// SessionByHash returns a session, expired or not.
func (s *Store) SessionByHash(ctx context.Context, hash string) (staff.Session, error) {
	var ss staff.Session
	var created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT hash, user_id, created_at, expires_at, from_addr FROM sessions WHERE hash = ?`, hash).
		Scan(&ss.Hash, &ss.UserID, &created, &expires, &ss.From)
	if err != nil {
		return staff.Session{}, mapErr(err, "")
	}
	ss.CreatedAt, ss.ExpiresAt = fromTS(created), fromTS(expires)
	return ss, nil
}

// DeleteSession removes a session; the audit entry is written only if a
// session was removed.
func (s *Store) DeleteSession(ctx context.Context, hash string, e audit.Entry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, "DELETE FROM sessions WHERE hash = ?", hash))
		if errors.Is(err, patchday.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// DeleteUserSessions removes an account's other sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	return s.count(ctx, "DELETE FROM sessions WHERE user_id = ? AND hash <> ?", userID, keep)
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return s.count(ctx, "DELETE FROM sessions WHERE expires_at <= ?", ts(now))
}

// count runs a write outside a transaction and returns the rows it touched.
func (s *Store) count(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, mapErr(err, "")
	}
	return res.RowsAffected()
}

// CreateToken stores a new API token.
func (s *Store) CreateToken(ctx context.Context, t *staff.Token, e audit.Entry) error {
	t.CreatedAt = e.At
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (hash, user_id, name, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			t.Hash, t.UserID, t.Name, ts(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return mapErr(err, fmt.Sprintf("this account already has a token named %q", t.Name))
		}
		return appendAudit(ctx, tx, e)
	})
}

// TokenByHash returns an API token.
func (s *Store) TokenByHash(ctx context.Context, hash string) (staff.Token, error) {
	var t staff.Token
	var created int64
	err := s.read.QueryRowContext(ctx, `SELECT id, hash, user_id, name, created_at FROM api_tokens WHERE hash = ?`, hash).
		Scan(&t.ID, &t.Hash, &t.UserID, &t.Name, &created)
	if err != nil {
		return staff.Token{}, mapErr(err, "")
	}
	t.CreatedAt = fromTS(created)
	return t, nil
}

// SignInFailures returns the failure count for an address.
func (s *Store) SignInFailures(ctx context.Context, email string) (int, time.Time, error) {
	var n int
	var last int64
	err := s.read.QueryRowContext(ctx, "SELECT count, last_at FROM signin_failures WHERE email = ?", email).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	} else if err != nil {
		return 0, time.Time{}, err
	}
	return n, fromTS(last), nil
}

// RecordSignInFailure counts one more failure.
func (s *Store) RecordSignInFailure(ctx context.Context, email string, at time.Time) (int, error) {
	var n int
	err := s.write.QueryRowContext(ctx, `INSERT INTO signin_failures (email, count, last_at) VALUES (?, 1, ?)
		ON CONFLICT (email) DO UPDATE SET count = count + 1, last_at = excluded.last_at RETURNING count`,
		email, ts(at)).Scan(&n)
	return n, mapErr(err, "")
}

// ClearSignInFailures resets the count after a successful sign-in.
func (s *Store) ClearSignInFailures(ctx context.Context, email string) error {
	_, err := s.write.ExecContext(ctx, "DELETE FROM signin_failures WHERE email = ?", email)
	return mapErr(err, "")
}
