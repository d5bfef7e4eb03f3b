package staff_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/secret"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
)

const ttl = time.Hour

// env is a Service on a fresh SQLite database with a clock the test moves.
type env struct {
	svc   *staff.Service
	store *sqlite.Store
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{store: st, now: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = staff.NewService(st, staff.NewHasher(testParams, 2), func() time.Time { return e.now }, ttl, log)
	return e
}

func (e *env) advance(d time.Duration) { e.now = e.now.Add(d) }

var admin = audit.Actor{Who: "admin@example.com", From: "cli"}

// addUser creates an account with a chosen password.
func (e *env) addUser(t *testing.T, email, roles, password string) staff.User {
	t.Helper()
	u, _, err := e.svc.AddUser(context.Background(), admin, email, roles, password)
	if err != nil {
		t.Fatalf("AddUser(%s): %v", email, err)
	}
	return u
}

func (e *env) signIn(t *testing.T, email, password string) (string, staff.User) {
	t.Helper()
	sec, u, err := e.svc.SignIn(context.Background(), email, password, "192.0.2.1")
	if err != nil {
		t.Fatalf("SignIn(%s): %v", email, err)
	}
	return sec, u
}

// audit returns the audit log oldest first, without IDs.
func (e *env) audit(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := e.store.ListAudit(context.Background(), audit.Query{})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func checkAudit(t *testing.T, e *env, want []audit.Entry) {
	t.Helper()
	if diff := cmp.Diff(want, e.audit(t), cmpopts.IgnoreFields(audit.Entry{}, "ID"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("audit log mismatch (-want +got):\n%s", diff)
	}
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: error %v, want %v", what, err, kind)
	}
}

const password = "correct horse battery"

func TestAddUserOneTimePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, pw, err := e.svc.AddUser(ctx, admin, " Alice@Example.com ", "Tester, triager", "")
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	if pw == "" || staff.CheckPassword(pw) != nil {
		t.Errorf("AddUser without a password returned one-time password %q, want an acceptable one", pw)
	}
	want := staff.User{ID: u.ID, Email: "alice@example.com", Roles: staff.Roles{staff.RoleTriager, staff.RoleTester},
		MustChangePassword: true, CreatedAt: e.now}
	if diff := cmp.Diff(want, u, cmpopts.IgnoreFields(staff.User{}, "PasswordHash")); diff != "" {
		t.Errorf("AddUser mismatch (-want +got):\n%s", diff)
	}
	if u.ID == 0 || !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, pw) {
		t.Errorf("AddUser = id %d, hash %q; want an ID and an argon2id hash", u.ID, u.PasswordHash)
	}
	users, err := e.svc.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]staff.User{u}, users); diff != "" {
		t.Errorf("ListUsers mismatch (-want +got):\n%s", diff)
	}
	// The one-time password signs in.
	_, got := e.signIn(t, "alice@example.com", pw)
	if !got.MustChangePassword {
		t.Error("signed in with a one-time password, but MustChangePassword is not set")
	}
}

func TestAddUserChosenPassword(t *testing.T) {
	e := newEnv(t)
	u, pw, err := e.svc.AddUser(context.Background(), admin, "bob@example.com", "developer", password)
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	if pw != "" {
		t.Errorf("AddUser with a chosen password returned %q, want \"\": it was not generated", pw)
	}
	if u.MustChangePassword {
		t.Error("AddUser with a chosen password set MustChangePassword")
	}
	e.signIn(t, "bob@example.com", password)
	checkAudit(t, e, []audit.Entry{
		{At: e.now, Who: "admin@example.com", From: "cli", Action: "user.create", Subject: "user:bob@example.com", Detail: "roles developer"},
		{At: e.now, Who: "bob@example.com", From: "192.0.2.1", Action: "session.create", Subject: "user:bob@example.com", Detail: "signed in"},
	})
}

func TestAddUserProblems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name                   string
		email, roles, password string
		want                   map[string]string // field → substring of its problem
	}{
		{"everything at once", "Bob <b@x.org>", "wizard", "short",
			map[string]string{"email": "not a valid e-mail address", "role": `unknown role "wizard"`, "password": "at least 12"}},
		{"no e-mail, no roles", "", "", "",
			map[string]string{"email": "e-mail is required", "role": "at least one role"}},
		{"long password", "a@x.org", "tester", strings.Repeat("x", 1025),
			map[string]string{"password": "at most 1024 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, pw, err := e.svc.AddUser(ctx, admin, tt.email, tt.roles, tt.password)
			wantKind(t, "AddUser", err, patchday.ErrInvalid)
			if u.ID != 0 || pw != "" {
				t.Errorf("AddUser returned %+v, %q with an error", u, pw)
			}
			got := patchday.FieldErrors(err)
			if diff := cmp.Diff(keys(tt.want), keys(got)); diff != "" {
				t.Errorf("field problems: %v; fields mismatch (-want +got):\n%s", got, diff)
			}
			for field, want := range tt.want {
				if !strings.Contains(got[field], want) {
					t.Errorf("problem with %s = %q, want it to contain %q", field, got[field], want)
				}
			}
		})
	}
	if users, _ := e.svc.ListUsers(ctx); len(users) != 0 {
		t.Errorf("invalid AddUser calls created %v", users)
	}
	checkAudit(t, e, nil)
}

func keys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func TestAddUserDuplicate(t *testing.T) {
	e := newEnv(t)
	e.addUser(t, "alice@example.com", "tester", password)
	_, pw, err := e.svc.AddUser(context.Background(), admin, "ALICE@example.com", "admin", "")
	wantKind(t, "AddUser duplicate", err, patchday.ErrConflict)
	if err != nil && !strings.Contains(patchday.Message(err), "alice@example.com already exists") {
		t.Errorf("AddUser duplicate message = %q, want it to name the account", patchday.Message(err))
	}
	if pw != "" {
		t.Errorf("AddUser duplicate returned password %q", pw)
	}
	if got := len(e.audit(t)); got != 1 {
		t.Errorf("audit has %d entries after a refused duplicate, want 1", got)
	}
}

func TestEnsureAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.EnsureAdmin(ctx, "not an address"); !errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("EnsureAdmin(bad address) = %v, want ErrInvalid", err)
	}
	pw, err := e.svc.EnsureAdmin(ctx, "Root@Example.com")
	if err != nil || pw == "" {
		t.Fatalf("EnsureAdmin on an empty store = %q, %v; want a one-time password", pw, err)
	}
	again, err := e.svc.EnsureAdmin(ctx, "other@example.com")
	if err != nil || again != "" {
		t.Errorf("second EnsureAdmin = %q, %v; want \"\", nil", again, err)
	}
	users, err := e.svc.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Email != "root@example.com" || !users[0].MustChangePassword ||
		!cmp.Equal(users[0].Roles, staff.Roles{staff.RoleAdmin}) {
		t.Fatalf("after EnsureAdmin users = %+v, want one admin root@example.com who must change password", users)
	}
	_, u := e.signIn(t, "root@example.com", pw)
	if !u.Roles.Has(staff.RoleReleaseManager) {
		t.Errorf("first admin roles %v do not grant every role", u.Roles)
	}
	checkAudit(t, e, []audit.Entry{
		{At: e.now, Who: "system", Action: "user.create", Subject: "user:root@example.com", Detail: "first admin, created at start-up"},
		{At: e.now, Who: "root@example.com", From: "192.0.2.1", Action: "session.create", Subject: "user:root@example.com", Detail: "signed in"},
	})
}

func TestEnsureAdminWithExistingUsers(t *testing.T) {
	e := newEnv(t)
	e.addUser(t, "alice@example.com", "tester", password)
	pw, err := e.svc.EnsureAdmin(context.Background(), "root@example.com")
	if err != nil || pw != "" {
		t.Errorf("EnsureAdmin with an account present = %q, %v; want \"\", nil", pw, err)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.addUser(t, "alice@example.com", "tester", password)
	sec, u, err := e.svc.SignIn(ctx, "Alice@Example.com", password, "192.0.2.1")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if !strings.HasPrefix(sec, staff.SessionPrefix) || u.ID != alice.ID {
		t.Errorf("SignIn = %q, user %d; want a session secret and user %d", sec, u.ID, alice.ID)
	}
	got, err := e.svc.SessionUser(ctx, sec)
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("SessionUser mismatch (-want +got):\n%s", diff)
	}
	// Each sign-in is its own session.
	other, _ := e.signIn(t, "alice@example.com", password)
	if other == sec {
		t.Error("two sign-ins returned one session secret")
	}
}

func TestSignInRefusalsLookAlike(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	e.addUser(t, "mallory@example.com", "tester", password)
	if err := e.svc.DisableUser(ctx, admin, "mallory@example.com"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, email, password string }{
		{"wrong password", "alice@example.com", "wrong password!"},
		{"empty password", "alice@example.com", ""},
		{"unknown e-mail", "nobody@example.com", password},
		{"malformed e-mail", "not an address", password},
		{"disabled account", "mallory@example.com", password},
	}
	var messages []string
	for _, tt := range tests {
		sec, u, err := e.svc.SignIn(ctx, tt.email, tt.password, "192.0.2.1")
		wantKind(t, tt.name, err, patchday.ErrUnauthenticated)
		if sec != "" || u.ID != 0 {
			t.Errorf("%s: SignIn returned %q, %+v with an error", tt.name, sec, u)
		}
		messages = append(messages, patchday.Message(err))
	}
	for i, m := range messages {
		if m != messages[0] {
			t.Errorf("%s: message %q differs from %s: %q; the form must not reveal which accounts exist",
				tests[i].name, m, tests[0].name, messages[0])
		}
	}
	for _, a := range e.audit(t) {
		if a.Action == "session.create" {
			t.Errorf("a refused sign-in opened a session: %+v", a)
		}
	}
}

func TestSignInThrottle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	signIn := func(pw string) error {
		_, _, err := e.svc.SignIn(ctx, "alice@example.com", pw, "192.0.2.1")
		return err
	}
	// Three mistakes are free …
	for i := range 3 {
		wantKind(t, "wrong password", signIn("wrong password"), patchday.ErrUnauthenticated)
		if i < 2 {
			e.advance(100 * time.Millisecond)
		}
	}
	// … then even the right password waits out SignInWait(3).
	wait := staff.SignInWait(3)
	e.advance(wait - time.Second)
	err := signIn(password)
	wantKind(t, "right password while throttled", err, patchday.ErrTooManyRequests)
	if err != nil && !strings.Contains(err.Error(), "try again in 1s") {
		t.Errorf("throttled message = %q, want it to say how long to wait", err)
	}
	// A throttled attempt is refused before the password is checked, so it
	// does not count as another failure.
	e.advance(time.Second)
	if err := signIn(password); err != nil {
		t.Fatalf("right password after the wait: %v", err)
	}
	// Success cleared the count: three more mistakes are free again.
	for range 3 {
		wantKind(t, "wrong password after success", signIn("wrong password"), patchday.ErrUnauthenticated)
	}
	wantKind(t, "fourth attempt", signIn(password), patchday.ErrTooManyRequests)
}

func TestSignInThrottleGrows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	for n := range 6 {
		e.advance(staff.SignInWait(n))
		_, _, err := e.svc.SignIn(ctx, "alice@example.com", "wrong password", "192.0.2.1")
		wantKind(t, "wrong password after waiting", err, patchday.ErrUnauthenticated)
	}
	// Six failures: waiting SignInWait(5) is not enough any more.
	e.advance(staff.SignInWait(5))
	_, _, err := e.svc.SignIn(ctx, "alice@example.com", password, "192.0.2.1")
	wantKind(t, "after six failures", err, patchday.ErrTooManyRequests)
	e.advance(staff.SignInWait(6) - staff.SignInWait(5))
	e.signIn(t, "alice@example.com", password)
}

func TestSignInThrottlesUnknownAddresses(t *testing.T) {
	// Unknown addresses are throttled like known ones, so the throttle
	// reveals nothing either.
	e := newEnv(t)
	for range 3 {
		_, _, err := e.svc.SignIn(context.Background(), "nobody@example.com", password, "192.0.2.1")
		wantKind(t, "unknown e-mail", err, patchday.ErrUnauthenticated)
	}
	_, _, err := e.svc.SignIn(context.Background(), "nobody@example.com", password, "192.0.2.1")
	wantKind(t, "unknown e-mail, throttled", err, patchday.ErrTooManyRequests)
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	sec, _ := e.signIn(t, "alice@example.com", password)
	e.advance(ttl - time.Microsecond)
	if _, err := e.svc.SessionUser(ctx, sec); err != nil {
		t.Fatalf("SessionUser just before the TTL: %v", err)
	}
	e.advance(time.Microsecond)
	_, err := e.svc.SessionUser(ctx, sec)
	wantKind(t, "SessionUser at the TTL", err, patchday.ErrUnauthenticated)
	if err != nil && !strings.Contains(err.Error(), "session has expired") {
		t.Errorf("SessionUser at the TTL = %q, want it to say the session expired", err)
	}
}

func TestSessionUserRejects(t *testing.T) {
	e := newEnv(t)
	e.addUser(t, "alice@example.com", "tester", password)
	token, _, err := e.svc.CreateToken(context.Background(), admin, "alice@example.com", "ci")
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := secret.New(staff.SessionPrefix)
	for _, sec := range []string{"", "pds_", "garbage", unknown, token} {
		u, err := e.svc.SessionUser(context.Background(), sec)
		wantKind(t, "SessionUser("+sec+")", err, patchday.ErrUnauthenticated)
		if u.ID != 0 {
			t.Errorf("SessionUser(%q) returned user %d with an error", sec, u.ID)
		}
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	sec, u := e.signIn(t, "alice@example.com", password)
	kept, _ := e.signIn(t, "alice@example.com", password)
	if err := e.svc.SignOut(ctx, u, sec, "192.0.2.1"); err != nil {
		t.Fatalf("SignOut: %v", err)
	}
	_, err := e.svc.SessionUser(ctx, sec)
	wantKind(t, "SessionUser after SignOut", err, patchday.ErrUnauthenticated)
	if _, err := e.svc.SessionUser(ctx, kept); err != nil {
		t.Errorf("signing out one session ended another: %v", err)
	}
	// Signing out twice, or with garbage, is not an error and not audited.
	if err := e.svc.SignOut(ctx, u, sec, "192.0.2.1"); err != nil {
		t.Errorf("second SignOut: %v", err)
	}
	if err := e.svc.SignOut(ctx, u, "garbage", "192.0.2.1"); err != nil {
		t.Errorf("SignOut(garbage): %v", err)
	}
	var actions []string
	for _, a := range e.audit(t) {
		actions = append(actions, a.Action)
	}
	if diff := cmp.Diff([]string{"user.create", "session.create", "session.create", "session.delete"}, actions); diff != "" {
		t.Errorf("audit actions mismatch (-want +got):\n%s", diff)
	}
}

func TestDisableUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser(t, "alice@example.com", "tester", password)
	e.addUser(t, "bob@example.com", "tester", password)
	session, _ := e.signIn(t, "alice@example.com", password)
	token, _, err := e.svc.CreateToken(ctx, admin, "alice@example.com", "ci")
	if err != nil {
		t.Fatal(err)
	}
	bobSession, _ := e.signIn(t, "bob@example.com", password)
	e.advance(time.Minute)
	if err := e.svc.DisableUser(ctx, admin, "Alice@Example.com"); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	_, err = e.svc.SessionUser(ctx, session)
	wantKind(t, "session of a disabled user", err, patchday.ErrUnauthenticated)
	_, err = e.svc.TokenUser(ctx, token)
	wantKind(t, "token of a disabled user", err, patchday.ErrUnauthenticated)
	if _, err := e.svc.SessionUser(ctx, bobSession); err != nil {
		t.Errorf("disabling alice ended bob's session: %v", err)
	}
	_, _, err = e.svc.CreateToken(ctx, admin, "alice@example.com", "another")
	wantKind(t, "CreateToken for a disabled user", err, patchday.ErrConflict)
	wantKind(t, "DisableUser twice", e.svc.DisableUser(ctx, admin, "alice@example.com"), patchday.ErrConflict)
	wantKind(t, "DisableUser unknown", e.svc.DisableUser(ctx, admin, "nobody@example.com"), patchday.ErrNotFound)
	wantKind(t, "DisableUser malformed", e.svc.DisableUser(ctx, admin, "Bob <b@x.org>"), patchday.ErrInvalid)
	users, err := e.svc.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || !users[0].Disabled || users[0].Active() || users[1].Disabled {
		t.Errorf("after DisableUser users = %+v, want alice disabled and bob not", users)
	}
	got := e.audit(t)
	want := audit.Entry{At: e.now, Who: "admin@example.com", From: "cli", Action: "user.disable", Subject: "user:alice@example.com"}
	if diff := cmp.Diff(want, got[len(got)-1], cmpopts.IgnoreFields(audit.Entry{}, "ID")); diff != "" {
		t.Errorf("last audit entry mismatch (-want +got):\n%s", diff)
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, onetime, err := e.svc.AddUser(ctx, admin, "alice@example.com", "tester", "")
	if err != nil {
		t.Fatal(err)
	}
	sec, u := e.signIn(t, "alice@example.com", onetime)
	tests := []struct {
		name, current, next string
		want                map[string]string // field → substring of its problem
	}{
		{"wrong current", "not the password", password, map[string]string{"current": "wrong"}},
		{"too short", onetime, "short", map[string]string{"password": "at least 12"}},
		{"same as current", onetime, onetime, map[string]string{"password": "different from the current"}},
		{"wrong and short", "nope", "short", map[string]string{"current": "wrong", "password": "at least 12"}},
	}
	for _, tt := range tests {
		err := e.svc.ChangePassword(ctx, u, tt.current, tt.next, "192.0.2.1", sec)
		wantKind(t, tt.name, err, patchday.ErrInvalid)
		got := patchday.FieldErrors(err)
		if diff := cmp.Diff(keys(tt.want), keys(got)); diff != "" {
			t.Errorf("%s: field problems %v; fields mismatch (-want +got):\n%s", tt.name, got, diff)
		}
		for field, want := range tt.want {
			if !strings.Contains(got[field], want) {
				t.Errorf("%s: problem with %s = %q, want it to contain %q", tt.name, field, got[field], want)
			}
		}
	}
	e.advance(time.Minute)
	elsewhere, _ := e.signIn(t, "alice@example.com", onetime) // say, a stolen laptop
	if err := e.svc.ChangePassword(ctx, u, onetime, password, "192.0.2.1", sec); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	got, err := e.svc.SessionUser(ctx, sec)
	if err != nil {
		t.Fatalf("SessionUser after ChangePassword: %v", err)
	}
	_, err = e.svc.SessionUser(ctx, elsewhere)
	wantKind(t, "another session after the password change", err, patchday.ErrUnauthenticated)
	if got.MustChangePassword {
		t.Error("ChangePassword did not clear MustChangePassword")
	}
	_, _, err = e.svc.SignIn(ctx, "alice@example.com", onetime, "192.0.2.1")
	wantKind(t, "sign in with the old password", err, patchday.ErrUnauthenticated)
	e.signIn(t, "alice@example.com", password)
	es := e.audit(t)
	var changes []audit.Entry
	for _, a := range es {
		if a.Action == "user.password" {
			changes = append(changes, a)
		}
	}
	want := []audit.Entry{{At: e.now, Who: "alice@example.com", From: "192.0.2.1", Action: "user.password",
		Subject: "user:alice@example.com", Detail: "password changed"}}
	if diff := cmp.Diff(want, changes, cmpopts.IgnoreFields(audit.Entry{}, "ID")); diff != "" {
		t.Errorf("password audit entries mismatch (-want +got):\n%s", diff)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.addUser(t, "alice@example.com", "tester", password)
	sec, tok, err := e.svc.CreateToken(ctx, admin, "ALICE@example.com", "ci")
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	wantTok := staff.Token{ID: tok.ID, Hash: secret.Hash(sec), UserID: alice.ID, Name: "ci", CreatedAt: e.now}
	if diff := cmp.Diff(wantTok, tok); diff != "" || tok.ID == 0 || !strings.HasPrefix(sec, staff.TokenPrefix) {
		t.Errorf("CreateToken = %q, %+v; mismatch (-want +got):\n%s", sec, tok, diff)
	}
	got, err := e.svc.TokenUser(ctx, sec)
	if err != nil {
		t.Fatalf("TokenUser: %v", err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("TokenUser mismatch (-want +got):\n%s", diff)
	}
	// Tokens do not expire with sessions.
	e.advance(100 * ttl)
	if _, err := e.svc.TokenUser(ctx, sec); err != nil {
		t.Errorf("TokenUser later: %v", err)
	}

	session, _ := e.signIn(t, "alice@example.com", password)
	unknown, _ := secret.New(staff.TokenPrefix)
	for _, tt := range []struct{ name, sec, wantErr string }{
		{"malformed", "garbage", `starting with "pdt_"`},
		{"session secret", session, `starting with "pdt_"`},
		{"truncated", sec[:len(sec)-2], "pdt_ token has 43 base64url characters"},
		{"unknown", unknown, "unknown or revoked API token"},
	} {
		u, err := e.svc.TokenUser(ctx, tt.sec)
		wantKind(t, tt.name, err, patchday.ErrUnauthenticated)
		if err != nil && !strings.Contains(patchday.Message(err), tt.wantErr) {
			t.Errorf("%s: TokenUser message %q, want it to contain %q", tt.name, patchday.Message(err), tt.wantErr)
		}
		if u.ID != 0 {
			t.Errorf("%s: TokenUser returned user %d with an error", tt.name, u.ID)
		}
	}

	_, _, err = e.svc.CreateToken(ctx, admin, "alice@example.com", "ci")
	wantKind(t, "CreateToken with a name in use", err, patchday.ErrConflict)
	for _, name := range []string{"", strings.Repeat("n", 101)} {
		_, _, err := e.svc.CreateToken(ctx, admin, "alice@example.com", name)
		wantKind(t, "CreateToken bad name", err, patchday.ErrInvalid)
		if _, ok := patchday.FieldErrors(err)["name"]; !ok {
			t.Errorf("CreateToken(name %d bytes) = %v, want a problem with the name", len(name), err)
		}
	}
	_, _, err = e.svc.CreateToken(ctx, admin, "nobody@example.com", "ci")
	wantKind(t, "CreateToken for an unknown account", err, patchday.ErrNotFound)

	var tokenEntries []audit.Entry
	for _, a := range e.audit(t) {
		if a.Action == "token.create" {
			tokenEntries = append(tokenEntries, a)
		}
	}
	want := []audit.Entry{{At: tok.CreatedAt, Who: "admin@example.com", From: "cli", Action: "token.create",
		Subject: "user:alice@example.com", Detail: "token ci"}}
	if diff := cmp.Diff(want, tokenEntries, cmpopts.IgnoreFields(audit.Entry{}, "ID")); diff != "" {
		t.Errorf("token audit entries mismatch (-want +got):\n%s", diff)
	}
}

// TestChangePasswordThrottled: guessing the current password on the change
// form counts toward the same throttle as sign-in.
func TestChangePasswordThrottled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.svc.AddUser(ctx, admin, "alice@example.com", "tester", password); err != nil {
		t.Fatal(err)
	}
	sec, u := e.signIn(t, "alice@example.com", password)
	for i := range 3 {
		err := e.svc.ChangePassword(ctx, u, fmt.Sprintf("guess %d", i), "a brand new password", "192.0.2.9", sec)
		wantKind(t, "wrong current password", err, patchday.ErrInvalid)
	}
	err := e.svc.ChangePassword(ctx, u, password, "a brand new password", "192.0.2.9", sec)
	wantKind(t, "change while throttled", err, patchday.ErrTooManyRequests)
	_, _, err = e.svc.SignIn(ctx, "alice@example.com", password, "192.0.2.1")
	wantKind(t, "sign-in while throttled", err, patchday.ErrTooManyRequests)
	e.advance(staff.SignInWait(3))
	if err := e.svc.ChangePassword(ctx, u, password, "a brand new password", "192.0.2.9", sec); err != nil {
		t.Errorf("change after the wait: %v", err)
	}
}
