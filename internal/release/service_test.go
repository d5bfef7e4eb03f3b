package release_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
)

// scheduledCase walks a fresh case to scheduled the quick way: the rules'
// own tests cover the walk.
func scheduledCase(t *testing.T, st *sqlite.Store, reports *intake.Service, at time.Time) string {
	t.Helper()
	ctx := context.Background()
	rc, err := reports.Submit(ctx, intake.Submission{Title: "t", Product: "p", Version: "1", Description: "d", Steps: "s", Email: "ada@example.org"}, intake.SourceWeb, "x")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.CaseByRef(ctx, rc.Ref)
	prev := cases.Received
	for _, to := range []cases.State{cases.Triage, cases.Accepted, cases.Fixing, cases.Testing, cases.Verifying, cases.Scheduled} {
		if err := st.MoveCase(ctx, c.ID, cases.Move{From: prev, To: to, Actor: "test", At: at}, audit.New(audit.System, at, "x", "", "")); err != nil {
			t.Fatal(err)
		}
		prev = to
	}
	return rc.Ref
}

func TestPlanApprovePublish(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	handling := cases.NewService(st, clock)
	sched, _ := release.ParseSchedule(release.DefaultRule, false, now)
	svc := release.NewService(st, handling, sched, clock)
	handling.UseReleases(svc)
	rm := release.Manager{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	dev := release.Manager{Email: "dev@example.com", Roles: staff.Roles{staff.RoleDeveloper}}

	up, err := svc.Upcoming(ctx, 3)
	if err != nil || len(up) != 3 || !up[0].At.Equal(time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("Upcoming: %+v %v", up, err)
	}
	if again, _ := svc.Upcoming(ctx, 3); len(again) != 3 {
		t.Errorf("planning twice made %d releases", len(again))
	}
	dec := up[0]
	ready := scheduledCase(t, st, reports, now)
	early := intake.Submission{Title: "t", Product: "p", Version: "1", Description: "d", Steps: "s", Email: "ada@example.org"}
	rc, _ := reports.Submit(ctx, early, intake.SourceWeb, "x")

	if err := svc.Assign(ctx, dev, dec.ID, ready); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("a developer assigning: %v", err)
	}
	if err := svc.Assign(ctx, rm, dec.ID, rc.Ref); !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), "only scheduled cases") {
		t.Errorf("assigning a received case: %v", err)
	}
	if err := svc.Approve(ctx, rm, dec.ID); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("approving an empty release: %v", err)
	}
	if err := svc.Assign(ctx, rm, dec.ID, ready); err != nil {
		t.Fatal(err)
	}
	// Not approved: nothing publishes at release time.
	now = dec.At.Add(time.Minute)
	if got, err := svc.Publish(ctx); err != nil || len(got) != 0 {
		t.Fatalf("publishing an unapproved release: %+v %v", got, err)
	}
	now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := svc.Approve(ctx, rm, dec.ID); err != nil {
		t.Fatal(err)
	}
	late := scheduledCase(t, st, reports, now)
	if err := svc.Assign(ctx, rm, dec.ID, late); !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("assigning to an approved release: %v", err)
	}
	// Before its time, nothing; the server was down at 17:00 and comes
	// back at 19:30: it publishes, two and a half hours late, exactly once
	// however many servers try.
	if got, _ := svc.Publish(ctx); len(got) != 0 {
		t.Fatalf("published before its time: %+v", got)
	}
	now = dec.At.Add(150 * time.Minute)
	var wg sync.WaitGroup
	results := make([][]release.Published, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := svc.Publish(ctx)
			if err != nil {
				t.Errorf("Publish: %v", err)
			}
			results[i] = got
		}()
	}
	wg.Wait()
	var published []release.Published
	for _, r := range results {
		published = append(published, r...)
	}
	if len(published) != 1 || published[0].Delay != 150*time.Minute || len(published[0].Cases) != 1 || published[0].Cases[0] != ready {
		t.Fatalf("published %+v; want the one release once, 2h30m late, with its case", published)
	}
	c, _ := st.CaseByRef(ctx, ready)
	if c.State != "released" {
		t.Errorf("the case after publication: %s", c.State)
	}
	if _, err := svc.CreateOutOfBand(ctx, rm, now.Add(-time.Hour), ""); err == nil || len(patchday.FieldErrors(err)) != 2 {
		t.Errorf("an out-of-band release in the past without a reason: %v", err)
	}
	oob, err := svc.CreateOutOfBand(ctx, rm, now.Add(time.Hour), "attacks observed on "+late)
	if err != nil || oob.Kind != release.OutOfBand {
		t.Errorf("out of band: %+v %v", oob, err)
	}
}

func TestAdvisoryEmbargo(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	handling := cases.NewService(st, clock)
	sched, _ := release.ParseSchedule(release.DefaultRule, false, now)
	svc := release.NewService(st, handling, sched, clock)
	handling.UseReleases(svc)
	rm := release.Manager{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	up, _ := svc.Upcoming(ctx, 1)
	ref := scheduledCase(t, st, reports, now)
	if err := svc.Assign(ctx, rm, up[0].ID, ref); err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateAdvisory(ctx, rm, up[0].ID, []string{ref, "PD-2026-9999"}, "", "", "CVE-26-1", "")
	if f := patchday.FieldErrors(err); len(f) != 4 {
		t.Errorf("a bad advisory: %v; want title, summary, cves and cases refused at once", err)
	}
	d, err := svc.CreateAdvisory(ctx, rm, up[0].ID, []string{ref}, "Heap overflow", "A long header overflows a buffer.", "cve-2026-10001, CVE-2026-10002", "")
	if err != nil || d.Ref != "PDSA-2026-0001" || strings.Join(d.CVEs, ",") != "CVE-2026-10001,CVE-2026-10002" {
		t.Fatalf("advisory: %+v %v", d, err)
	}
	if _, _, err := svc.Public(ctx, d.Ref); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("an embargoed advisory is public: %v", err)
	}
	if list, _, _ := svc.PublicList(ctx); len(list) != 0 {
		t.Errorf("the public list shows an embargoed advisory")
	}
	if err := svc.Approve(ctx, rm, up[0].ID); err != nil {
		t.Fatal(err)
	}
	now = up[0].At.Add(-time.Second)
	svc.Publish(ctx)
	if _, _, err := svc.Public(ctx, d.Ref); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("public a second before release time: %v", err)
	}
	now = up[0].At
	if _, err := svc.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if got, rel, err := svc.Public(ctx, strings.ToLower(d.Ref)); err != nil || got.Ref != d.Ref || !rel.Published() {
		t.Errorf("after release: %+v %v", got, err)
	}
	if list, _, _ := svc.PublicList(ctx); len(list) != 1 {
		t.Errorf("the public list after release: %d", len(list))
	}
}
