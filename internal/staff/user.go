package staff

import (
	"net/mail"
	"strings"
	"time"

	"github.com/patchday/patchday"
)

// User is a staff account.
type User struct {
	ID    int64
	Email string
	Roles Roles
	// PasswordHash is an argon2id PHC string; empty means no password set.
	PasswordHash string
	// MustChangePassword is set for one-time passwords: the next sign-in
	// must choose a new one before doing anything else.
	MustChangePassword bool
	Disabled           bool
	CreatedAt          time.Time
}

// Active reports whether the account may sign in or use tokens.
func (u User) Active() bool { return !u.Disabled }

// NormalizeEmail validates a bare e-mail address and returns it lowercased.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", patchday.Errorf(patchday.ErrInvalid, "e-mail is required")
	}
	a, err := mail.ParseAddress(s)
	// The limit applies to what is stored: lowercasing can lengthen a
	// character (Ⱥ, 2 bytes, becomes ⱥ, 3 bytes).
	lower := strings.ToLower(s)
	if err != nil || a.Name != "" || a.Address != s || len(lower) > 254 {
		return "", patchday.Errorf(patchday.ErrInvalid, "%q is not a valid e-mail address (write it as name@example.com)", s)
	}
	return lower, nil
}

// Prefixes tell staff secrets apart at a glance, in logs and in secret
// scanners.
const (
	TokenPrefix   = "pdt_" // API tokens
	SessionPrefix = "pds_" // browser sessions
)
