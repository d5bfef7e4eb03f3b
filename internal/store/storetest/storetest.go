// Package storetest is the conformance suite every store.Store passes. Each
// engine's tests call Run with a way to open a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store"
)

// Harness opens stores for the suite.
type Harness struct {
	// Open returns a new, empty, migrated store, closed by the suite.
	Open func(t *testing.T) store.Store
	// Exec runs raw SQL against the store's database (for the checks that
	// the schema itself enforces, such as the append-only audit log).
	Exec func(t *testing.T, s store.Store, sql string) error
}

// Run runs every conformance test.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, h Harness)
	}{
		{"Users", testUsers},
		{"FirstUser", testFirstUser},
		{"Sessions", testSessions},
		{"Tokens", testTokens},
		{"SignInFailures", testSignInFailures},
		{"Audit", testAudit},
		{"Products", testProducts},
		{"Cases", testCases},
		{"Messages", testMessages},
		{"CaseHandling", testCaseHandling},
		{"Fixes", testFixes},
		{"Jobs", testJobs},
		{"Releases", testReleases},
		{"CRAReports", testCRAReports},
		{"Advisories", testAdvisories},
		{"Subscribers", testSubscribers},
		{"Catalog", testCatalog},
		{"Fleet", testFleet},
		{"PostMortems", testPostMortems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.Open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s, h)
		})
	}
}

var t0 = time.Date(2026, 11, 10, 17, 0, 0, 123456000, time.UTC)

func entry(action, subject string) audit.Entry {
	return audit.New(audit.Actor{Who: "tester@example.com", From: "127.0.0.1"}, t0, action, subject, "")
}

func newUser(t *testing.T, s store.Store, email string, roles ...staff.Role) staff.User {
	t.Helper()
	u := staff.User{Email: email, Roles: roles, PasswordHash: "$argon2id$x"}
	if err := s.CreateUser(context.Background(), &u, entry("user.create", "user:"+email)); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: got error %v, want %v", what, err, kind)
	}
}

func auditActions(t *testing.T, s store.Store) []string {
	t.Helper()
	es, err := s.ListAudit(context.Background(), audit.Query{})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		got = append(got, es[i].Action+" "+es[i].Subject)
	}
	return got
}

func testUsers(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	b := newUser(t, s, "bob@example.com", staff.RoleTester)
	a := newUser(t, s, "alice@example.com", staff.RoleTriager, staff.RoleDeveloper)
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids: alice %d, bob %d: want distinct non-zero", a.ID, b.ID)
	}
	if !a.CreatedAt.Equal(t0) {
		t.Errorf("CreatedAt = %v, want %v", a.CreatedAt, t0)
	}

	dup := staff.User{Email: "alice@example.com", Roles: staff.Roles{staff.RoleAdmin}, PasswordHash: "x"}
	err := s.CreateUser(ctx, &dup, entry("user.create", "user:alice@example.com"))
	wantKind(t, "duplicate e-mail", err, patchday.ErrConflict)

	got, err := s.UserByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("UserByEmail (-want +got):\n%s", diff)
	}
	got, err = s.UserByID(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("UserByID (-want +got):\n%s", diff)
	}
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantKind(t, "UserByEmail(missing)", err, patchday.ErrNotFound)
	_, err = s.UserByID(ctx, 9999)
	wantKind(t, "UserByID(missing)", err, patchday.ErrNotFound)

	a.Disabled, a.MustChangePassword, a.PasswordHash = true, true, "$argon2id$y"
	a.Roles = staff.Roles{staff.RoleAdmin}
	if err := s.UpdateUser(ctx, a, entry("user.disable", "user:alice@example.com")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]staff.User{a, b}, list); diff != "" {
		t.Errorf("ListUsers after update (-want +got):\n%s", diff)
	}
	err = s.UpdateUser(ctx, staff.User{ID: 9999, Roles: staff.Roles{staff.RoleAdmin}}, entry("user.disable", "user:x"))
	wantKind(t, "UpdateUser(missing)", err, patchday.ErrNotFound)

	want := []string{"user.create user:bob@example.com", "user.create user:alice@example.com", "user.disable user:alice@example.com"}
	if diff := cmp.Diff(want, auditActions(t, s)); diff != "" {
		t.Errorf("audit: failed changes must leave no entry (-want +got):\n%s", diff)
	}
}

func testFirstUser(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	// Several servers starting at once on one database: exactly one wins.
	const racers = 8
	var wg sync.WaitGroup
	results := make([]bool, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := staff.User{Email: fmt.Sprintf("admin%d@example.com", i), Roles: staff.Roles{staff.RoleAdmin}, PasswordHash: "x"}
			results[i], errs[i] = s.CreateFirstUser(ctx, &u, entry("user.create", u.Email))
		}()
	}
	wg.Wait()
	won := 0
	for i := range racers {
		if errs[i] != nil {
			t.Errorf("racer %d: %v", i, errs[i])
		}
		if results[i] {
			won++
		}
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(users) != 1 {
		t.Errorf("%d racers created the first user, %d users exist; want exactly 1 and 1", won, len(users))
	}
	if n := len(auditActions(t, s)); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func testSessions(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	u := newUser(t, s, "alice@example.com", staff.RoleAdmin)
	live := staff.Session{Hash: "live", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), From: "192.0.2.1"}
	old := staff.Session{Hash: "old", UserID: u.ID, CreatedAt: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(-time.Hour), From: "192.0.2.1"}
	for _, ss := range []staff.Session{live, old} {
		if err := s.CreateSession(ctx, ss, entry("session.create", ss.Hash)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(live, got); diff != "" {
		t.Errorf("SessionByHash (-want +got):\n%s", diff)
	}
	err = s.CreateSession(ctx, staff.Session{Hash: "orphan", UserID: 9999, CreatedAt: t0, ExpiresAt: t0}, entry("session.create", "orphan"))
	if err == nil {
		t.Errorf("session for a missing user: want an error")
	}
	other := newUser(t, s, "bob@example.com", staff.RoleTester)
	for _, h := range []string{"bob1", "bob2"} {
		if err := s.CreateSession(ctx, staff.Session{Hash: h, UserID: other.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, entry("session.create", h)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteUserSessions(ctx, other.ID, "bob2"); err != nil || n != 1 {
		t.Errorf("DeleteUserSessions = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.SessionByHash(ctx, "bob2"); err != nil {
		t.Errorf("the kept session is gone: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "live"); err != nil {
		t.Errorf("another account's session is gone: %v", err)
	}
	n, err := s.DeleteExpiredSessions(ctx, t0)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1, nil", n, err)
	}
	_, err = s.SessionByHash(ctx, "old")
	wantKind(t, "expired session after clean-up", err, patchday.ErrNotFound)

	if err := s.DeleteSession(ctx, "live", entry("session.delete", "live")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "live", entry("session.delete", "live")); err != nil {
		t.Errorf("second DeleteSession: %v, want nil", err)
	}
	_, err = s.SessionByHash(ctx, "live")
	wantKind(t, "deleted session", err, patchday.ErrNotFound)
	want := []string{"user.create user:alice@example.com", "session.create live", "session.create old",
		"user.create user:bob@example.com", "session.create bob1", "session.create bob2", "session.delete live"}
	if diff := cmp.Diff(want, auditActions(t, s)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func testTokens(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	u := newUser(t, s, "alice@example.com", staff.RoleAdmin)
	tok := staff.Token{Hash: "h1", UserID: u.ID, Name: "ci"}
	if err := s.CreateToken(ctx, &tok, entry("token.create", "ci")); err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || !tok.CreatedAt.Equal(t0) {
		t.Errorf("token ID %d CreatedAt %v: want set", tok.ID, tok.CreatedAt)
	}
	got, err := s.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("TokenByHash (-want +got):\n%s", diff)
	}
	dup := staff.Token{Hash: "h2", UserID: u.ID, Name: "ci"}
	wantKind(t, "duplicate token name", s.CreateToken(ctx, &dup, entry("token.create", "ci")), patchday.ErrConflict)
	orphan := staff.Token{Hash: "h3", UserID: 9999, Name: "x"}
	wantKind(t, "token for a missing user", s.CreateToken(ctx, &orphan, entry("token.create", "x")), patchday.ErrNotFound)
	_, err = s.TokenByHash(ctx, "nope")
	wantKind(t, "TokenByHash(missing)", err, patchday.ErrNotFound)
}

func testSignInFailures(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	n, last, err := s.SignInFailures(ctx, "x@example.com")
	if err != nil || n != 0 || !last.IsZero() {
		t.Fatalf("SignInFailures(new) = %d, %v, %v; want 0, zero, nil", n, last, err)
	}
	for i := 1; i <= 3; i++ {
		got, err := s.RecordSignInFailure(ctx, "x@example.com", t0.Add(time.Duration(i)*time.Second))
		if err != nil || got != i {
			t.Fatalf("RecordSignInFailure #%d = %d, %v", i, got, err)
		}
	}
	n, last, err = s.SignInFailures(ctx, "x@example.com")
	if err != nil || n != 3 || !last.Equal(t0.Add(3*time.Second)) {
		t.Errorf("SignInFailures = %d, %v, %v; want 3, %v, nil", n, last, err, t0.Add(3*time.Second))
	}
	if err := s.ClearSignInFailures(ctx, "x@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.SignInFailures(ctx, "x@example.com"); n != 0 {
		t.Errorf("after clear: %d failures, want 0", n)
	}
}

func testAudit(t *testing.T, s store.Store, h Harness) {
	ctx := context.Background()
	var want []audit.Entry
	for i := range 25 {
		e := audit.New(audit.Actor{Who: "cli:root", From: "cli"}, t0.Add(time.Duration(i)*time.Minute), "test.step", fmt.Sprintf("step:%d", i), "détail ✓")
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	var got []audit.Entry
	q := audit.Query{Limit: 10}
	for {
		page, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		q.Before = page[len(page)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("paged through %d entries, want %d", len(got), len(want))
	}
	for i, e := range got {
		w := want[len(want)-1-i]
		w.ID = e.ID
		if diff := cmp.Diff(w, e); diff != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, diff)
		}
	}
	for _, sql := range []string{"UPDATE audit SET who = 'mallory'", "DELETE FROM audit"} {
		if err := h.Exec(t, s, sql); err == nil {
			t.Errorf("%s: succeeded; the audit log must be append-only", sql)
		}
	}
	if es, _ := s.ListAudit(ctx, audit.Query{Limit: audit.MaxLimit}); len(es) != 25 || es[0].Who != "cli:root" {
		t.Errorf("audit log changed by refused statements")
	}
}

// Seed writes a known account, token and audit entry, for tests that check
// data survives closing and reopening a store.
func Seed(t *testing.T, s store.Store) {
	t.Helper()
	u := newUser(t, s, "seed@example.com", staff.RoleReleaseManager)
	tok := staff.Token{Hash: "seed-token", UserID: u.ID, Name: "seed"}
	if err := s.CreateToken(context.Background(), &tok, entry("token.create", "seed")); err != nil {
		t.Fatal(err)
	}
}

// CheckSeed checks that what Seed wrote is all there.
func CheckSeed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, "seed@example.com")
	if err != nil {
		t.Fatalf("seeded user: %v", err)
	}
	tok, err := s.TokenByHash(ctx, "seed-token")
	if err != nil || tok.UserID != u.ID {
		t.Fatalf("seeded token: %+v, %v", tok, err)
	}
	want := []string{"user.create user:seed@example.com", "token.create seed"}
	if diff := cmp.Diff(want, auditActions(t, s)); diff != "" {
		t.Errorf("seeded audit (-want +got):\n%s", diff)
	}
}

func testProducts(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	gw := product.Product{Name: "Gateway", Vendor: "Example Corp", Scheme: product.SchemeDebian}
	ag := product.Product{Name: "Agent", Vendor: "Example Corp", Scheme: product.SchemeSemver}
	for _, p := range []*product.Product{&gw, &ag} {
		if err := s.CreateProduct(ctx, p, entry("product.create", p.Name)); err != nil {
			t.Fatal(err)
		}
	}
	if gw.ID == 0 || !gw.CreatedAt.Equal(t0) {
		t.Errorf("CreateProduct set ID %d, CreatedAt %v", gw.ID, gw.CreatedAt)
	}
	dup := product.Product{Name: "Gateway", Vendor: "Other", Scheme: product.SchemeOpaque}
	wantKind(t, "duplicate product", s.CreateProduct(ctx, &dup, entry("product.create", "Gateway")), patchday.ErrConflict)

	if sla, err := s.ProductSLA(ctx, gw.ID); err != nil || sla != "" {
		t.Errorf("a new product's SLA policy: %q, %v; want the default (empty)", sla, err)
	}
	if err := s.SetProductSLA(ctx, gw.ID, `{"triage_days":3}`, entry("product.sla", "Gateway")); err != nil {
		t.Fatal(err)
	}
	if sla, _ := s.ProductSLA(ctx, gw.ID); sla != `{"triage_days":3}` {
		t.Errorf("SLA policy after setting: %q", sla)
	}
	wantKind(t, "SLA of a missing product", s.SetProductSLA(ctx, 9999, "", entry("product.sla", "x")), patchday.ErrNotFound)
	got, err := s.ProductByName(ctx, "Gateway")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gw, got); diff != "" {
		t.Errorf("ProductByName (-want +got):\n%s", diff)
	}
	_, err = s.ProductByName(ctx, "gateway")
	wantKind(t, "ProductByName is exact", err, patchday.ErrNotFound)
	list, err := s.ListProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]product.Product{ag, gw}, list); diff != "" {
		t.Errorf("ListProducts by name (-want +got):\n%s", diff)
	}

	var added []product.Version
	for _, ver := range []string{"7.88.1-10+deb12u15", "7.88.1-10+deb12u5"} {
		v := product.Version{ProductID: gw.ID, Version: ver}
		if err := s.AddVersion(ctx, &v, entry("product.version", ver)); err != nil {
			t.Fatal(err)
		}
		added = append(added, v)
	}
	if added[0].Seq >= added[1].Seq {
		t.Errorf("Seq does not follow the order added: %d then %d", added[0].Seq, added[1].Seq)
	}
	again := product.Version{ProductID: gw.ID, Version: "7.88.1-10+deb12u5"}
	wantKind(t, "duplicate version", s.AddVersion(ctx, &again, entry("product.version", "x")), patchday.ErrConflict)
	same := product.Version{ProductID: ag.ID, Version: "7.88.1-10+deb12u5"} // another product may share it
	if err := s.AddVersion(ctx, &same, entry("product.version", "x")); err != nil {
		t.Errorf("the same version string on another product: %v", err)
	}
	orphan := product.Version{ProductID: 9999, Version: "1.0.0"}
	wantKind(t, "version of a missing product", s.AddVersion(ctx, &orphan, entry("product.version", "x")), patchday.ErrNotFound)

	vs, err := s.ListVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	product.Sort(product.SchemeOpaque, vs) // by Seq
	if diff := cmp.Diff(append(added, same), vs); diff != "" {
		t.Errorf("ListVersions (-want +got):\n%s", diff)
	}
	if n := len(auditActions(t, s)); n != 6 {
		t.Errorf("%d audit entries, want 6 (2 products, an SLA policy, 3 versions; refusals leave none)", n)
	}
}
