package fixes_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
)

// world is a case in fixing with two affected versions, and the people.
type world struct {
	fixes         *fixes.Service
	cases         *cases.Service
	ref           string
	v1, v2        int64
	dev, dev2, qa fixes.Author
	caseID        int64
	affected      []int64
}

func setup(t *testing.T) world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := audit.New(audit.System, now, "setup", "", "")
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	st.CreateProduct(ctx, &gw, e)
	v1, v2 := product.Version{ProductID: gw.ID, Version: "1.0.0"}, product.Version{ProductID: gw.ID, Version: "2.0.0"}
	st.AddVersion(ctx, &v1, e)
	st.AddVersion(ctx, &v2, e)
	users := map[string]*staff.User{}
	for _, u := range []struct{ email, role string }{{"tri@example.com", "triager"}, {"dev@example.com", "developer"},
		{"dev2@example.com", "developer,tester"}, {"qa@example.com", "tester"}} {
		rs, _ := staff.ParseRoles(u.role)
		x := &staff.User{Email: u.email, Roles: rs, PasswordHash: "x"}
		if err := st.CreateUser(ctx, x, e); err != nil {
			t.Fatal(err)
		}
		users[u.email] = x
	}
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	rc, err := reports.Submit(ctx, intake.Submission{Title: "Overflow", Product: "Gateway", Version: "1.0.0", Description: "d", Steps: "s", Email: "ada@example.org"}, intake.SourceWeb, "x")
	if err != nil {
		t.Fatal(err)
	}
	cs := cases.NewService(st, clock)
	fx := fixes.NewService(st, st, clock)
	cs.UseGates(fx)
	actor := func(email string) cases.Actor {
		u := users[email]
		return cases.Actor{UserID: u.ID, Email: u.Email, Roles: u.Roles}
	}
	tri := actor("tri@example.com")
	if _, err := cs.Move(ctx, tri, "x", rc.Ref, cases.Request{To: cases.Triage}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.SetTriage(ctx, tri, "x", rc.Ref, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-787", []int64{v1.ID, v2.ID}, 0); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		who string
		to  cases.State
	}{{"tri@example.com", cases.Accepted}, {"dev@example.com", cases.Fixing}} {
		if _, err := cs.Move(ctx, actor(m.who), "x", rc.Ref, cases.Request{To: m.to}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := st.CaseByRef(ctx, rc.Ref)
	author := func(email string) fixes.Author {
		u := users[email]
		return fixes.Author{ID: u.ID, Email: u.Email, Roles: u.Roles, From: "x"}
	}
	return world{fixes: fx, cases: cs, ref: rc.Ref, v1: v1.ID, v2: v2.ID, dev: author("dev@example.com"), dev2: author("dev2@example.com"),
		qa: author("qa@example.com"), caseID: c.ID, affected: []int64{v1.ID, v2.ID}}
}

var build = intake.Attachment{Name: "gw.tar.zst", ContentType: "application/zstd", SHA256: strings.Repeat("ab", 32), Size: 10}

func TestGate(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	asCase := func(a fixes.Author) cases.Actor { return cases.Actor{UserID: a.ID, Email: a.Email, Roles: a.Roles} }

	f1, err := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:1111", Brings: "1.0.1", Notes: "fix for 1.x"})
	if err != nil {
		t.Fatal(err)
	}
	// One version still lacks a fix: the case cannot go to testing.
	if _, err := w.cases.Move(ctx, asCase(w.dev), "x", w.ref, cases.Request{To: cases.Testing}); !errors.Is(err, patchday.ErrConflict) ||
		!strings.Contains(err.Error(), "a fix for every affected version") {
		t.Fatalf("testing with one fix of two: %v", err)
	}
	f2, err := w.fixes.Upload(ctx, w.dev2, w.ref, w.affected, fixes.Build{VersionID: w.v2, Payload: build, SourceRef: "git:2222", Brings: "2.0.1", Notes: "fix for 2.x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.Move(ctx, asCase(w.dev), "x", w.ref, cases.Request{To: cases.Testing}); err != nil {
		t.Fatalf("testing with every fix: %v", err)
	}

	// dev2 is also a tester, but wrote f2: neither may they record its
	// run, nor pass the case's gate, by any route.
	_, err = w.fixes.RecordRun(ctx, w.dev2, f2.ID, true, fixes.Counts{Passed: 5}, nil, nil, "")
	if !errors.Is(err, patchday.ErrForbidden) || !strings.Contains(err.Error(), "you wrote this fix") {
		t.Errorf("the author testing their own fix: %v", err)
	}
	if _, err := w.fixes.RecordRun(ctx, w.dev, f1.ID, true, fixes.Counts{Passed: 5}, nil, nil, ""); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("a developer without the tester role recording a run: %v", err)
	}
	for _, f := range []fixes.Fix{f1, f2} {
		if _, err := w.fixes.RecordRun(ctx, w.qa, f.ID, true, fixes.Counts{Passed: 5}, nil, []string{"pkg.TestA"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// dev2 wrote one of the fixes: the gate is closed to them even now.
	if _, err := w.cases.Move(ctx, asCase(w.dev2), "x", w.ref, cases.Request{To: cases.Verifying}); !errors.Is(err, patchday.ErrConflict) ||
		!strings.Contains(err.Error(), "nobody passes the test gate of their own patch") {
		t.Errorf("an author passing the gate: %v", err)
	}
	if _, err := w.fixes.RecordRun(ctx, w.qa, f1.ID, true, fixes.Counts{Passed: 4, Failed: 1}, []string{"x"}, nil, ""); !errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("a 'passing' run with failures: %v", err)
	}
	if c, err := w.cases.Move(ctx, asCase(w.qa), "x", w.ref, cases.Request{To: cases.Verifying}); err != nil || c.State != "verifying" {
		t.Fatalf("an independent tester passing the gate: %v", err)
	}
}

func TestUploadRules(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	_, err := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: 9999, SourceRef: " "})
	f := patchday.FieldErrors(err)
	if !errors.Is(err, patchday.ErrInvalid) || f["version"] == "" || f["payload"] == "" || f["source_ref"] == "" {
		t.Errorf("a bad upload: %v; want every problem at once", err)
	}
	if _, err := w.fixes.Upload(ctx, w.qa, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:1", Brings: "1.0.1"}); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("a tester uploading: %v", err)
	}
	// The version a build brings is the fixed version advisories print:
	// written in the product's scheme, after the one it fixes.
	for _, tc := range []struct{ brings, want string }{
		{"", "give the version this build brings"},
		{"1.0", "not a semantic version"},
		{"1.0.0", "must bring a later version than 1.0.0"},
		{"0.9.9", "must bring a later version than 1.0.0"},
		{"1.0.0-rc.1", "must bring a later version than 1.0.0"},
	} {
		_, err := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:1", Brings: tc.brings})
		if got := patchday.FieldErrors(err)["brings"]; !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(got, tc.want) {
			t.Errorf("brings %q: %v (%q); want %q", tc.brings, err, got, tc.want)
		}
	}
	if fs, _ := w.fixes.Fixes(ctx, w.caseID); len(fs) != 0 {
		t.Errorf("refused uploads stored %d fixes", len(fs))
	}
	f1, err := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:1", Brings: " 1.0.1 "})
	if err != nil || f1.Brings != "1.0.1" {
		t.Errorf("a good upload: %+v, %v", f1, err)
	}
}

func TestRegressions(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	first, _ := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:1", Brings: "1.0.1"})
	if _, err := w.fixes.RecordRun(ctx, w.qa, first.ID, false, fixes.Counts{Passed: 2, Failed: 1},
		[]string{"pkg.TestC"}, []string{"pkg.TestA", "pkg.TestB"}, "C fails"); err != nil {
		t.Fatal(err)
	}
	second, _ := w.fixes.Upload(ctx, w.dev, w.ref, w.affected, fixes.Build{VersionID: w.v1, Payload: build, SourceRef: "git:2", Brings: "1.0.1"})
	run, err := w.fixes.RecordRun(ctx, w.qa, second.ID, false, fixes.Counts{Passed: 1, Failed: 2},
		[]string{"pkg.TestB", "pkg.TestC", "pkg.TestB"}, []string{"pkg.TestA"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(run.Regressions, []string{"pkg.TestB"}) || !slices.Equal(run.Failing, []string{"pkg.TestB", "pkg.TestC"}) {
		t.Errorf("regressions %v, failing %v; want TestB regressed (it passed on the previous fix), TestC still failing", run.Regressions, run.Failing)
	}
	if latest := fixes.Latest([]fixes.Fix{first, second}); latest[w.v1].ID != second.ID {
		t.Errorf("Latest picked %d", latest[w.v1].ID)
	}
}
