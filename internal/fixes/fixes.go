// Package fixes holds the fixes built for a case — one per affected
// version — and the independent test gate: a fix moves on only with a
// passing test run recorded by someone other than its author.
package fixes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/staff"
)

// Fix is a build of a patch for one affected product version.
type Fix struct {
	ID           int64
	CaseID       int64
	VersionID    int64
	Payload      intake.Attachment // the build, stored by content
	SourceRef    string            // commit, tag or change id
	Brings       string            // the version the build is, e.g. 2.4.3 for a fix of 2.4.2
	ReleaseNotes string
	AuthorID     int64
	Author       string
	CreatedAt    time.Time
}

// Run is one test run of a fix.
type Run struct {
	ID          int64
	FixID       int64
	TesterID    int64
	Tester      string
	Passed      bool
	Counts      Counts
	Failing     []string // failing test names
	Regressions []string // failing now, passing on the previous fix of the same version
	Passing     []string // passing test names, kept to find the next fix's regressions
	Notes       string
	CreatedAt   time.Time
}

// Counts are a run's totals.
type Counts struct{ Passed, Failed, Skipped, Errors int }

// Store keeps fixes and runs. Changes write their audit entry with them.
type Store interface {
	AddFix(ctx context.Context, f *Fix, e audit.Entry) error
	CaseFixes(ctx context.Context, caseID int64) ([]Fix, error) // oldest first
	FixByID(ctx context.Context, id int64) (Fix, error)
	AddRun(ctx context.Context, r *Run, e audit.Entry) error
	FixRuns(ctx context.Context, fixID int64) ([]Run, error) // oldest first
}

// Cases is what fixes read of case handling and products.
type Cases interface {
	CaseByRef(ctx context.Context, ref string) (intake.Case, error)
	ListProducts(ctx context.Context) ([]product.Product, error)
	ListVersions(ctx context.Context) ([]product.Version, error)
}

// Service applies the rules of fixes and the gate.
type Service struct {
	store Store
	cases Cases
	now   func() time.Time
}

// NewService returns a Service; now may be nil for time.Now.
func NewService(s Store, c Cases, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, cases: c, now: now}
}

// Author is who uploads a fix or records a run.
type Author struct {
	ID    int64
	Email string
	Roles staff.Roles
	From  string
}

func (s *Service) caseOf(ctx context.Context, ref string) (intake.Case, error) {
	c, err := s.cases.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return intake.Case{}, patchday.Errorf(patchday.ErrNotFound, "there is no case %s", ref)
	}
	return c, err
}

// Build is a fix as a developer uploads it.
type Build struct {
	VersionID int64 // the affected version it fixes
	Payload   intake.Attachment
	SourceRef string
	Brings    string // the version the build is
	Notes     string
}

// Upload records a fix for one of the case's affected versions. Only a
// developer may, and only while the case is being fixed. The build names
// the version it brings, which must come after the one it fixes: that is
// the fixed version advisories print and the catalog installs.
func (s *Service) Upload(ctx context.Context, a Author, ref string, affected []int64, b Build) (Fix, error) {
	if err := a.Roles.Require(staff.RoleDeveloper); err != nil {
		return Fix{}, patchday.Errorf(patchday.ErrForbidden, "only a developer may upload a fix")
	}
	c, err := s.caseOf(ctx, ref)
	if err != nil {
		return Fix{}, err
	}
	if c.State != "fixing" {
		return Fix{}, patchday.Errorf(patchday.ErrConflict, "case %s is %s; fixes are uploaded while it is fixing", c.Ref, c.State)
	}
	p := patchday.Problems{}
	b.SourceRef, b.Notes, b.Brings = strings.TrimSpace(b.SourceRef), strings.TrimSpace(b.Notes), strings.TrimSpace(b.Brings)
	if !slices.Contains(affected, b.VersionID) {
		p.Add("version", "choose one of the case's affected versions")
	} else if msg, err := s.checkBrings(ctx, b.VersionID, b.Brings); err != nil {
		return Fix{}, err
	} else if msg != "" {
		p.Add("brings", msg)
	}
	if b.Payload.SHA256 == "" || b.Payload.Size == 0 {
		p.Add("payload", "attach the build (a file or an archive)")
	}
	if b.SourceRef == "" || utf8.RuneCountInString(b.SourceRef) > 200 {
		p.Add("source_ref", "give the source reference (commit, tag or change id), up to 200 characters")
	}
	if utf8.RuneCountInString(b.Notes) > 20000 {
		p.Add("release_notes", "release notes are at most 20,000 characters")
	}
	if err := p.Err("the fix was not uploaded"); err != nil {
		return Fix{}, err
	}
	now := s.now().UTC()
	f := Fix{CaseID: c.ID, VersionID: b.VersionID, Payload: b.Payload, SourceRef: b.SourceRef, Brings: b.Brings,
		ReleaseNotes: b.Notes, AuthorID: a.ID, Author: a.Email, CreatedAt: now}
	e := audit.New(audit.Actor{Who: a.Email, From: a.From}, now, "fix.upload", "case:"+c.Ref,
		fmt.Sprintf("fix for version %d bringing %s, %s, %s", b.VersionID, b.Brings, b.SourceRef, b.Payload.SHA256[:12]))
	if err := s.store.AddFix(ctx, &f, e); err != nil {
		return Fix{}, fmt.Errorf("upload fix on %s: %w", c.Ref, err)
	}
	return f, nil
}

// checkBrings returns why brings cannot be the version a fix of versionID
// brings, or "": it is written in the product's scheme and, where the
// scheme orders versions, comes after the fixed one.
func (s *Service) checkBrings(ctx context.Context, versionID int64, brings string) (string, error) {
	from, sc, err := s.versionOf(ctx, versionID)
	if err != nil {
		return "", err
	}
	if brings == "" {
		return fmt.Sprintf("give the version this build brings (the version after %s that carries the fix)", from), nil
	}
	if err := sc.CheckVersion(brings); err != nil {
		return patchday.Summary(err), nil
	}
	if sc != product.SchemeOpaque && sc.Compare(brings, from) <= 0 || brings == from {
		return fmt.Sprintf("the build fixes %s, so it must bring a later version than %s", from, from), nil
	}
	return "", nil
}

// versionOf returns a version's name and its product's scheme.
func (s *Service) versionOf(ctx context.Context, versionID int64) (string, product.Scheme, error) {
	vs, err := s.cases.ListVersions(ctx)
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(vs, func(v product.Version) bool { return v.ID == versionID })
	if i < 0 {
		return "", "", patchday.Errorf(patchday.ErrNotFound, "there is no product version %d", versionID)
	}
	ps, err := s.cases.ListProducts(ctx)
	if err != nil {
		return "", "", err
	}
	j := slices.IndexFunc(ps, func(p product.Product) bool { return p.ID == vs[i].ProductID })
	if j < 0 {
		return "", "", fmt.Errorf("version %d: its product %d is missing", versionID, vs[i].ProductID)
	}
	return vs[i].Version, ps[j].Scheme, nil
}

// Latest returns the newest fix of each version, by version id.
func Latest(fs []Fix) map[int64]Fix {
	out := map[int64]Fix{}
	for _, f := range fs {
		if cur, ok := out[f.VersionID]; !ok || f.ID > cur.ID {
			out[f.VersionID] = f
		}
	}
	return out
}

// RecordRun records a test run of a fix. The tester must hold the tester
// role and must not be the fix's author: nobody passes the gate of their
// own patch, by any route.
func (s *Service) RecordRun(ctx context.Context, a Author, fixID int64, passed bool, counts Counts, failing, passing []string, notes string) (Run, error) {
	if err := a.Roles.Require(staff.RoleTester); err != nil {
		return Run{}, patchday.Errorf(patchday.ErrForbidden, "only a tester may record a test run")
	}
	f, err := s.store.FixByID(ctx, fixID)
	if errors.Is(err, patchday.ErrNotFound) {
		return Run{}, patchday.Errorf(patchday.ErrNotFound, "there is no fix %d", fixID)
	} else if err != nil {
		return Run{}, err
	}
	if f.AuthorID == a.ID {
		return Run{}, patchday.Errorf(patchday.ErrForbidden,
			"you wrote this fix, so you cannot test it: the gate needs someone other than the author (separation of duties)")
	}
	if passed && (counts.Failed > 0 || counts.Errors > 0) {
		return Run{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the run was not recorded",
			Fields: map[string]string{"passed": fmt.Sprintf("a run with %d failing tests cannot pass", counts.Failed+counts.Errors)}}
	}
	regressions, err := s.regressions(ctx, f, failing)
	if err != nil {
		return Run{}, err
	}
	now := s.now().UTC()
	r := Run{FixID: f.ID, TesterID: a.ID, Tester: a.Email, Passed: passed, Counts: counts, Failing: sortedUnique(failing),
		Passing: sortedUnique(passing), Regressions: regressions, Notes: strings.TrimSpace(notes), CreatedAt: now}
	verdict := "failed"
	if passed {
		verdict = "passed"
	}
	e := audit.New(audit.Actor{Who: a.Email, From: a.From}, now, "fix.test", fmt.Sprintf("fix:%d", f.ID),
		fmt.Sprintf("%s: %d passed, %d failed, %d skipped, %d regressions", verdict, counts.Passed, counts.Failed+counts.Errors, counts.Skipped, len(regressions)))
	if err := s.store.AddRun(ctx, &r, e); err != nil {
		return Run{}, fmt.Errorf("record run of fix %d: %w", f.ID, err)
	}
	return r, nil
}

// regressions are tests failing now that passed in the latest run of the
// previous fix for the same version.
func (s *Service) regressions(ctx context.Context, f Fix, failing []string) ([]string, error) {
	all, err := s.store.CaseFixes(ctx, f.CaseID)
	if err != nil {
		return nil, err
	}
	var prev *Fix
	for i := range all {
		if all[i].VersionID == f.VersionID && all[i].ID < f.ID && (prev == nil || all[i].ID > prev.ID) {
			prev = &all[i]
		}
	}
	if prev == nil {
		return nil, nil
	}
	runs, err := s.store.FixRuns(ctx, prev.ID)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	before := runs[len(runs)-1].Passing
	var out []string
	for _, t := range sortedUnique(failing) {
		if slices.Contains(before, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func sortedUnique(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return slices.Compact(out)
}

// Gate is the state of a case's fixes against its affected versions, as
// case handling's transition rules need it.
type Gate struct {
	Complete       bool // a fix for every affected version
	Passed         bool // every latest fix has a passing latest run by a non-author
	ActorWroteAFix bool // the asking user authored one of the latest fixes
}

// GateOf computes the gate of a case for an actor.
func (s *Service) GateOf(ctx context.Context, caseID int64, affected []int64, actorID int64) (Gate, error) {
	fs, err := s.store.CaseFixes(ctx, caseID)
	if err != nil {
		return Gate{}, err
	}
	latest := Latest(fs)
	g := Gate{Complete: len(affected) > 0, Passed: len(affected) > 0}
	for _, v := range affected {
		f, ok := latest[v]
		if !ok {
			g.Complete, g.Passed = false, false
			continue
		}
		if actorID != 0 && f.AuthorID == actorID {
			g.ActorWroteAFix = true
		}
		runs, err := s.store.FixRuns(ctx, f.ID)
		if err != nil {
			return Gate{}, err
		}
		if len(runs) == 0 || !runs[len(runs)-1].Passed || runs[len(runs)-1].TesterID == f.AuthorID {
			g.Passed = false
		}
	}
	return g, nil
}

// Fixes returns a case's fixes, oldest first.
func (s *Service) Fixes(ctx context.Context, caseID int64) ([]Fix, error) {
	return s.store.CaseFixes(ctx, caseID)
}

// Runs returns a fix's test runs, oldest first.
func (s *Service) Runs(ctx context.Context, fixID int64) ([]Run, error) {
	return s.store.FixRuns(ctx, fixID)
}
