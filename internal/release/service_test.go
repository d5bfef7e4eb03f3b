package release_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
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
	svc := release.NewService(st, handling, st, sched, clock)
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
	svc := release.NewService(st, handling, st, sched, clock)
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

// TestCumulativeUpdates: each published release records one update per
// version a product moves to, carrying the earlier ones forward; the
// version it brings becomes a product version; approval refuses a build
// that would collide with one already published or approved before.
func TestCumulativeUpdates(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := audit.New(audit.System, now, "setup", "", "")
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	handling := cases.NewService(st, clock)
	sched, _ := release.ParseSchedule(release.DefaultRule, false, now)
	svc := release.NewService(st, handling, st, sched, clock)
	handling.UseReleases(svc)
	rm := release.Manager{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	st.CreateProduct(ctx, &gw, e)
	dev := staff.User{Email: "dev@example.com", Roles: staff.Roles{staff.RoleDeveloper}, PasswordHash: "x"}
	st.CreateUser(ctx, &dev, e)
	version := func(name string) int64 {
		vs, _ := st.ListVersions(ctx)
		for _, v := range vs {
			if v.Version == name {
				return v.ID
			}
		}
		v := product.Version{ProductID: gw.ID, Version: name}
		if err := st.AddVersion(ctx, &v, e); err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	// shipCase is a scheduled case rated High whose fix of one version
	// brings another, built as sha.
	shipCase := func(from, brings, sha string) string {
		ref := scheduledCase(t, st, reports, now)
		c, _ := st.CaseByRef(ctx, ref)
		v := version(from)
		if err := st.SetTriage(ctx, c.ID, cases.Assessment{CVSSRating: "High", Affected: []int64{v}}, e); err != nil {
			t.Fatal(err)
		}
		f := fixes.Fix{CaseID: c.ID, VersionID: v, Brings: brings, SourceRef: "git:1", AuthorID: dev.ID, Author: dev.Email, CreatedAt: now,
			Payload: intake.Attachment{Name: "gw-" + brings + ".tar.zst", SHA256: sha, Size: 10}}
		if err := st.AddFix(ctx, &f, e); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	trains, _ := svc.Upcoming(ctx, 4)
	ship := func(r release.Release, refs ...string) error {
		for _, ref := range refs {
			if err := svc.Assign(ctx, rm, r.ID, ref); err != nil {
				t.Fatal(err)
			}
		}
		return svc.Approve(ctx, rm, r.ID)
	}
	publish := func(r release.Release) []release.Update {
		now = r.At
		if _, err := svc.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ = st.ReleaseByID(ctx, r.ID)
		us, err := svc.Updates(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return us
	}

	a := shipCase("2.4.1", "2.4.2", "aa")
	if err := ship(trains[0], a); err != nil {
		t.Fatal(err)
	}
	dec := publish(trains[0])
	if len(dec) != 1 || dec[0].Brings != "2.4.2" || strings.Join(dec[0].AppliesTo, ",") != "2.4.1" || dec[0].Payload.SHA256 != "aa" ||
		dec[0].ReleaseID != trains[0].ID || dec[0].ID == 0 {
		t.Fatalf("December's updates: %+v", dec)
	}

	// January: a fix of 2.4.2, which now exists because December brought it.
	b := shipCase("2.4.2", "2.4.3", "bb")
	planned, err := svc.Updates(ctx, trains[1])
	if err != nil || len(planned) != 0 {
		t.Errorf("an unassigned release plans %+v, %v", planned, err)
	}
	if err := ship(trains[1], b); err != nil {
		t.Fatal(err)
	}
	jan := publish(trains[1])
	want := release.Update{ID: jan[0].ID, ReleaseID: trains[1].ID, ProductID: gw.ID, Product: "Gateway", Brings: "2.4.3",
		AppliesTo: []string{"2.4.1", "2.4.2"}, Classification: release.Security, Severity: "High", Cases: []string{a, b},
		Supersedes: []release.Superseded{{ID: dec[0].ID, Brings: "2.4.2"}}, CreatedAt: trains[1].At,
		Payload: intake.Attachment{Name: "gw-2.4.3.tar.zst", SHA256: "bb", Size: 10}}
	if len(jan) != 1 || !cmp.Equal(want, jan[0]) {
		t.Errorf("January's update (-want +got):\n%s", cmp.Diff([]release.Update{want}, jan))
	}

	// February: a build claiming 2.4.3 again is refused at approval.
	c := shipCase("2.4.2", "2.4.3", "cc")
	if err := ship(trains[2], c); !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), "does not come after 2.4.3") {
		t.Errorf("approving a build of a version already published: %v", err)
	}
	// The release manager takes it out and ships another fix instead;
	// March cannot claim what February, approved first, will bring.
	if err := svc.Unassign(ctx, rm, trains[2].ID, c); err != nil {
		t.Fatal(err)
	}
	if err := svc.Unassign(ctx, rm, trains[2].ID, c); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("taking out a case twice: %v", err)
	}
	d := shipCase("2.4.3", "2.4.4", "dd")
	if err := ship(trains[2], d); err != nil {
		t.Fatal(err)
	}
	ee := shipCase("2.4.3", "2.4.4", "ee")
	if err := ship(trains[3], ee); !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), "does not come after 2.4.4, which an earlier release brings") {
		t.Errorf("approving a build colliding with an earlier approved release: %v", err)
	}
}
