package staff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/secret"
)

// DefaultSessionTTL is how long a browser session lasts.
const DefaultSessionTTL = 12 * time.Hour

// Service applies the rules for accounts, sign-in, sessions and tokens.
type Service struct {
	store      Store
	hasher     *Hasher
	now        func() time.Time
	sessionTTL time.Duration
	log        *slog.Logger
}

// NewService returns a Service. now may be nil for time.Now; ttl <= 0
// means DefaultSessionTTL.
func NewService(s Store, h *Hasher, now func() time.Time, ttl time.Duration, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	return &Service{store: s, hasher: h, now: now, sessionTTL: ttl, log: log}
}

// AddUser creates an account. With an empty password it generates a
// one-time password, returned once, that must be changed at first sign-in.
func (s *Service) AddUser(ctx context.Context, by audit.Actor, email, roles, password string) (User, string, error) {
	p := patchday.Problems{}
	addr, err := NormalizeEmail(email)
	if err != nil {
		p.Add("email", patchday.Message(err))
	}
	rs, err := ParseRoles(roles)
	if err != nil {
		p.Add("role", patchday.Message(err))
	}
	oneTime := password == ""
	if oneTime {
		password = GeneratePassword()
	} else if err := CheckPassword(password); err != nil {
		p.Add("password", patchday.Message(err))
	}
	if err := p.Err("the account was not created"); err != nil {
		return User{}, "", err
	}
	u, err := s.newUser(ctx, addr, rs, password, oneTime)
	if err != nil {
		return User{}, "", err
	}
	e := audit.New(by, s.now(), "user.create", "user:"+addr, "roles "+rs.String())
	if err := s.store.CreateUser(ctx, &u, e); err != nil {
		return User{}, "", fmt.Errorf("add user %s: %w", addr, err)
	}
	if !oneTime {
		password = ""
	}
	return u, password, nil
}

func (s *Service) newUser(ctx context.Context, email string, rs Roles, password string, oneTime bool) (User, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	return User{Email: email, Roles: rs, PasswordHash: hash, MustChangePassword: oneTime}, nil
}

// EnsureAdmin creates an admin account with a one-time password if there
// is no account at all, and returns that password; otherwise it returns "".
func (s *Service) EnsureAdmin(ctx context.Context, email string) (string, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", fmt.Errorf("first admin: %w", err)
	}
	if users, err := s.store.ListUsers(ctx); err != nil {
		return "", err
	} else if len(users) > 0 {
		return "", nil
	}
	pw := GeneratePassword()
	u, err := s.newUser(ctx, addr, Roles{RoleAdmin}, pw, true)
	if err != nil {
		return "", err
	}
	e := audit.New(audit.System, s.now(), "user.create", "user:"+addr, "first admin, created at start-up")
	created, err := s.store.CreateFirstUser(ctx, &u, e)
	if err != nil || !created {
		return "", err
	}
	return pw, nil
}

// ListUsers returns every account.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// DisableUser disables an account; its sessions and tokens stop working at
// once because every request checks the account.
func (s *Service) DisableUser(ctx context.Context, by audit.Actor, email string) error {
	u, err := s.userByEmail(ctx, email)
	if err != nil {
		return err
	}
	if u.Disabled {
		return patchday.Errorf(patchday.ErrConflict, "%s is already disabled", u.Email)
	}
	u.Disabled = true
	return s.store.UpdateUser(ctx, u, audit.New(by, s.now(), "user.disable", "user:"+u.Email, ""))
}

func (s *Service) userByEmail(ctx context.Context, email string) (User, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.UserByEmail(ctx, addr)
	if errors.Is(err, patchday.ErrNotFound) {
		return User{}, patchday.Errorf(patchday.ErrNotFound, "no account %s", addr)
	}
	return u, err
}

// errSignIn is the one answer to every wrong e-mail, password or disabled
// account, so the form reveals nothing about which accounts exist.
var errSignIn = patchday.Errorf(patchday.ErrUnauthenticated, "wrong e-mail or password")

// SignIn checks a password and opens a session. It returns the session's
// secret, to be set as a cookie, and the account.
func (s *Service) SignIn(ctx context.Context, email, password, from string) (string, User, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", User{}, errSignIn
	}
	now := s.now()
	n, err := s.throttle(ctx, addr, from, now)
	if err != nil {
		return "", User{}, err
	}
	u, err := s.store.UserByEmail(ctx, addr)
	ok := false
	switch {
	case err == nil:
		ok, err = s.hasher.Verify(ctx, u.PasswordHash, password)
		if err != nil {
			return "", User{}, fmt.Errorf("sign in %s: %w", addr, err)
		}
	case errors.Is(err, patchday.ErrNotFound):
		// Spend the same work as a real check so timing does not reveal
		// which accounts exist.
		_, _ = s.hasher.Hash(ctx, password)
	default:
		return "", User{}, err
	}
	if !ok || u.Disabled {
		if err := s.failed(ctx, addr, from, now, "failed sign-in", "disabled", u.Disabled); err != nil {
			return "", User{}, err
		}
		return "", User{}, errSignIn
	}
	if n > 0 {
		if err := s.store.ClearSignInFailures(ctx, addr); err != nil {
			return "", User{}, err
		}
	}
	raw, hash := secret.New(SessionPrefix)
	sess := Session{Hash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL), From: from}
	e := audit.New(audit.Actor{Who: u.Email, From: from}, now, "session.create", "user:"+u.Email, "signed in")
	if err := s.store.CreateSession(ctx, sess, e); err != nil {
		return "", User{}, fmt.Errorf("sign in %s: %w", addr, err)
	}
	return raw, u, nil
}

// throttle refuses an attempt on addr while the wait after its last failed
// password runs, and returns the count of failures so far.
func (s *Service) throttle(ctx context.Context, addr, from string, now time.Time) (int, error) {
	n, last, err := s.store.SignInFailures(ctx, addr)
	if err != nil {
		return 0, err
	}
	if wait := SignInWait(n) - now.Sub(last); wait > 0 {
		s.log.Warn("password attempt refused while throttled", "email", addr, "from", from, "failures", n)
		return n, patchday.Errorf(patchday.ErrTooManyRequests,
			"too many wrong passwords for this account; try again in %s", wait.Round(time.Second))
	}
	return n, nil
}

// failed counts and logs a wrong password for addr.
func (s *Service) failed(ctx context.Context, addr, from string, now time.Time, msg string, attrs ...any) error {
	n, err := s.store.RecordSignInFailure(ctx, addr, now)
	if err != nil {
		return err
	}
	s.log.Warn(msg, append([]any{"email", addr, "from", from, "failures", n}, attrs...)...)
	return nil
}

// errSession is the answer to a missing, expired or revoked session.
var errSession = patchday.Errorf(patchday.ErrUnauthenticated, "your session has expired; please sign in again")

// SessionUser returns the active account behind a session secret.
func (s *Service) SessionUser(ctx context.Context, raw string) (User, error) {
	hash, err := secret.Parse(SessionPrefix, raw)
	if err != nil {
		return User{}, errSession
	}
	sess, err := s.store.SessionByHash(ctx, hash)
	if errors.Is(err, patchday.ErrNotFound) || (err == nil && !s.now().Before(sess.ExpiresAt)) {
		return User{}, errSession
	} else if err != nil {
		return User{}, err
	}
	return s.activeUser(ctx, sess.UserID, errSession)
}

func (s *Service) activeUser(ctx context.Context, id int64, denied error) (User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, patchday.ErrNotFound) || (err == nil && u.Disabled) {
		return User{}, denied
	}
	return u, err
}

// SignOut ends a session. Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, u User, raw, from string) error {
	hash, err := secret.Parse(SessionPrefix, raw)
	if err != nil {
		return nil
	}
	e := audit.New(audit.Actor{Who: u.Email, From: from}, s.now(), "session.delete", "user:"+u.Email, "signed out")
	return s.store.DeleteSession(ctx, hash, e)
}

// ChangePassword sets a new password after checking the current one, and
// signs out every other session of the account (whoever knew the old
// password may hold one). keepSession is the secret of the session making
// the change, which stays signed in. Wrong current passwords count toward
// the same throttle as sign-ins, so this form cannot be used to guess.
func (s *Service) ChangePassword(ctx context.Context, u User, current, next, from, keepSession string) error {
	now := s.now()
	if _, err := s.throttle(ctx, u.Email, from, now); err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	p := patchday.Problems{}
	if !ok {
		if err := s.failed(ctx, u.Email, from, now, "wrong current password on password change"); err != nil {
			return err
		}
		p.Add("current", "the current password is wrong")
	}
	if err := CheckPassword(next); err != nil {
		p.Add("password", patchday.Message(err))
	} else if next == current {
		p.Add("password", "choose a password different from the current one")
	}
	if err := p.Err("the password was not changed"); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	u.PasswordHash, u.MustChangePassword = hash, false
	e := audit.New(audit.Actor{Who: u.Email, From: from}, now, "user.password", "user:"+u.Email, "password changed")
	if err := s.store.UpdateUser(ctx, u, e); err != nil {
		return err
	}
	if _, err := s.store.DeleteUserSessions(ctx, u.ID, secret.Hash(keepSession)); err != nil {
		return fmt.Errorf("password changed, but other sessions were not signed out: %w", err)
	}
	return nil
}

// CreateToken makes an API token for an account and returns its secret,
// which is shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, by audit.Actor, email, name string) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", Token{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the token was not created",
			Fields: map[string]string{"name": "a name of 1 to 100 characters is required, e.g. the tool that uses it"}}
	}
	u, err := s.userByEmail(ctx, email)
	if err != nil {
		return "", Token{}, err
	}
	if u.Disabled {
		return "", Token{}, patchday.Errorf(patchday.ErrConflict, "%s is disabled", u.Email)
	}
	raw, hash := secret.New(TokenPrefix)
	t := Token{Hash: hash, UserID: u.ID, Name: name}
	e := audit.New(by, s.now(), "token.create", "user:"+u.Email, "token "+name)
	if err := s.store.CreateToken(ctx, &t, e); err != nil {
		return "", Token{}, fmt.Errorf("create token %q for %s: %w", name, u.Email, err)
	}
	return raw, t, nil
}

// TokenUser returns the active account behind an API token.
func (s *Service) TokenUser(ctx context.Context, raw string) (User, error) {
	hash, err := secret.Parse(TokenPrefix, raw)
	if err != nil {
		return User{}, err
	}
	denied := patchday.Errorf(patchday.ErrUnauthenticated, "unknown or revoked API token")
	t, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, patchday.ErrNotFound) {
		return User{}, denied
	} else if err != nil {
		return User{}, err
	}
	return s.activeUser(ctx, t.UserID, denied)
}
