package staff

import (
	"context"
	"time"

	"github.com/patchday/patchday/internal/audit"
)

// Session is a signed-in browser. Only the hash of its secret is stored.
type Session struct {
	Hash      string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	From      string
}

// Token is an API token. Only the hash of its secret is stored.
type Token struct {
	ID        int64
	Hash      string
	UserID    int64
	Name      string
	CreatedAt time.Time
}

// Store keeps accounts, sessions and tokens. Every method that changes
// state takes the audit entry describing the change and writes both in one
// transaction: a change without its audit entry never happens.
// Lookups of missing rows return patchday.ErrNotFound; a duplicate e-mail
// or token name is patchday.ErrConflict.
type Store interface {
	// CreateUser inserts u and sets u.ID and u.CreatedAt.
	CreateUser(ctx context.Context, u *User, e audit.Entry) error
	// CreateFirstUser inserts u only if there is no account at all; it
	// reports whether it did. Safe when several servers start at once.
	CreateFirstUser(ctx context.Context, u *User, e audit.Entry) (bool, error)
	UserByID(ctx context.Context, id int64) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser saves roles, password hash, MustChangePassword and Disabled.
	UpdateUser(ctx context.Context, u User, e audit.Entry) error

	CreateSession(ctx context.Context, s Session, e audit.Entry) error
	SessionByHash(ctx context.Context, hash string) (Session, error)
	// DeleteSession removes the session if present; it is not an error if
	// it is already gone.
	DeleteSession(ctx context.Context, hash string, e audit.Entry) error
	// DeleteUserSessions removes every session of an account except the
	// one with hash keep, and returns how many it removed.
	DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error)
	// DeleteExpiredSessions removes sessions that expired before now and
	// returns how many; expiry is housekeeping, not audited.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// CreateToken inserts t and sets t.ID.
	CreateToken(ctx context.Context, t *Token, e audit.Entry) error
	TokenByHash(ctx context.Context, hash string) (Token, error)

	// SignInFailures returns the count of consecutive failed sign-ins for
	// an e-mail address (known or not) and when the last one was.
	SignInFailures(ctx context.Context, email string) (int, time.Time, error)
	// RecordSignInFailure adds one failure and returns the new count.
	RecordSignInFailure(ctx context.Context, email string, at time.Time) (int, error)
	ClearSignInFailures(ctx context.Context, email string) error
}
