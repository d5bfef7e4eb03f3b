package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store"
)

func sampleReport(at time.Time, from string) intake.Report {
	return intake.Report{
		Title: "Heap overflow in the TLS handshake", Product: "Gateway", Version: "7.88.1-10+deb12u5",
		Description: "A long description.\nWith lines — and ünïcode.", Impact: "Remote code execution",
		Steps: "1. connect\n2. send", Configuration: "default", CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		CVSSVersion: "3.1", CVSSScore: 9.8, CVSSRating: "Critical", CWE: 122, HowFound: "fuzzing",
		Public: false, Exploited: true, DisclosureDate: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
		Email: "Researcher@Example.org", Credit: intake.Credit{Name: "Ada", Handle: "@ada"},
		Attachments: []intake.Attachment{
			{Name: "poc.py", ContentType: "text/x-python", SHA256: "aa" + fmt.Sprint(64), Size: 1234},
			{Name: "crash.pcap", ContentType: "application/octet-stream", SHA256: "bb", Size: 99},
		},
		Source: intake.SourceWeb, From: from, ReceivedAt: at,
	}
}

func testCases(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeDebian}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	r := sampleReport(t0, "192.0.2.7")
	r.ProductID = gw.ID
	c := intake.Case{Year: 2026, Title: r.Title, State: intake.StateReceived, ProductID: gw.ID, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, r, "link-1", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	if c.Ref != "PD-2026-0001" || c.Number != 1 || c.ID == 0 {
		t.Errorf("first case: %+v, want PD-2026-0001", c)
	}
	got, err := s.CaseByLink(ctx, "link-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("CaseByLink (-want +got):\n%s", diff)
	}
	if got, err := s.CaseByRef(ctx, "PD-2026-0001"); err != nil || got != c {
		t.Errorf("CaseByRef = %+v, %v; want %+v", got, err, c)
	}
	_, err = s.CaseByRef(ctx, "PD-2026-9999")
	wantKind(t, "CaseByRef(unknown)", err, patchday.ErrNotFound)
	_, err = s.CaseByLink(ctx, "nope")
	wantKind(t, "CaseByLink(unknown)", err, patchday.ErrNotFound)
	rs, err := s.CaseReports(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]intake.Report{r}, rs); diff != "" {
		t.Errorf("CaseReports (-want +got):\n%s", diff)
	}
	if acts := auditActions(t, s); acts[len(acts)-1] != "case.create case:PD-2026-0001" {
		t.Errorf("last audit entry %q, want the case's ref as subject", acts[len(acts)-1])
	}

	// Numbers per year, never reused, unique under concurrency; a case
	// without a known product and without attachments.
	const racers = 8
	var wg sync.WaitGroup
	refs := make([]string, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := sampleReport(t0.Add(time.Duration(i)*time.Second), "198.51.100.1")
			r.Attachments = nil
			c := intake.Case{Year: 2026, Title: "race", State: intake.StateReceived, CreatedAt: t0}
			if err := s.CreateCase(ctx, &c, r, fmt.Sprintf("race-%d", i), entry("case.create", "case")); err != nil {
				t.Errorf("racer %d: %v", i, err)
			}
			refs[i] = c.Ref
		}()
	}
	wg.Wait()
	sort.Strings(refs)
	for i, ref := range refs {
		if want := intake.FormatRef(2026, i+2); ref != want {
			t.Errorf("concurrent refs %v: want PD-2026-0002 … PD-2026-0009", refs)
			break
		}
	}
	next := intake.Case{Year: 2027, Title: "new year", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &next, sampleReport(t0, "x"), "link-2027", entry("case.create", "case")); err != nil || next.Ref != "PD-2027-0001" {
		t.Errorf("first case of 2027: %q, %v", next.Ref, err)
	}
	dup := intake.Case{Year: 2026, Title: "dup link", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &dup, sampleReport(t0, "x"), "link-1", entry("case.create", "case")); err == nil {
		t.Errorf("a reused link hash was accepted")
	}
	after := intake.Case{Year: 2026, Title: "after a failure", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &after, sampleReport(t0, "x"), "link-after", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	if after.Number != 10 {
		t.Errorf("after a rolled-back case the next number is %d, want 10 (a failed case takes no number)", after.Number)
	}

	all, err := s.ListCases(ctx)
	if err != nil || len(all) != 11 || all[0].Ref != "PD-2026-0010" || all[len(all)-1].Ref != "PD-2026-0001" {
		t.Errorf("ListCases: %d cases, %v; want 11, newest first", len(all), err)
	}
	times, err := s.ReportTimesFrom(ctx, "198.51.100.1", t0.Add(3500*time.Millisecond))
	if err != nil || len(times) != 4 {
		t.Errorf("ReportTimesFrom = %d times, %v; want the 4 after the cut-off", len(times), err)
	}
}

func testMessages(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	c := intake.Case{Year: 2026, Title: "thread", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "thread-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	want := []intake.Message{
		{CaseID: c.ID, FromReporter: true, Author: "reporter", Body: "More detail, and a second PoC.", CreatedAt: t0.Add(time.Minute),
			Attachments: []intake.Attachment{{Name: "poc2.py", ContentType: "text/x-python", SHA256: "cc", Size: 10}, {Name: "log.txt", ContentType: "text/plain", SHA256: "dd", Size: 20}}},
		{CaseID: c.ID, Author: "triager@example.com", Body: "Thanks, reproduced.", Mail: intake.MailNotSent, CreatedAt: t0.Add(time.Hour)},
		{CaseID: c.ID, Author: "triager@example.com", Body: "Same root cause as PD-2025-0042.", Internal: true, CreatedAt: t0.Add(2 * time.Hour)},
	}
	for i := range want {
		if err := s.AddMessage(ctx, &want[i], entry("case.message", "case:"+c.Ref)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CaseMessages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CaseMessages (-want +got):\n%s", diff)
	}
	if err := s.SetMessageMail(ctx, want[1].ID, intake.MailSent); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CaseMessages(ctx, c.ID); got[1].Mail != intake.MailSent {
		t.Errorf("after SetMessageMail the status is %q", got[1].Mail)
	}
	wantKind(t, "SetMessageMail(missing)", s.SetMessageMail(ctx, 9999, "sent"), patchday.ErrNotFound)
	credit := intake.Credit{Name: "Ada Lovelace", Handle: "@ada"}
	if err := s.SetCredit(ctx, c.ID, credit, entry("case.credit", "case:"+c.Ref)); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.CaseReports(ctx, c.ID); rs[0].Credit != credit {
		t.Errorf("credit after SetCredit: %+v", rs[0].Credit)
	}
	wantKind(t, "SetCredit(missing case)", s.SetCredit(ctx, 9999, credit, entry("case.credit", "x")), patchday.ErrNotFound)
	orphan := intake.Message{CaseID: 9999, Author: "x", Body: "x", CreatedAt: t0}
	wantKind(t, "message on a missing case", s.AddMessage(ctx, &orphan, entry("case.message", "x")), patchday.ErrNotFound)
	if none, err := s.CaseMessages(ctx, 9999); err != nil || len(none) != 0 {
		t.Errorf("CaseMessages(missing) = %v, %v; want empty", none, err)
	}
}

func testCaseHandling(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	v1 := product.Version{ProductID: gw.ID, Version: "1.0.0"}
	v2 := product.Version{ProductID: gw.ID, Version: "1.1.0"}
	for _, v := range []*product.Version{&v1, &v2} {
		if err := s.AddVersion(ctx, v, entry("product.version", v.Version)); err != nil {
			t.Fatal(err)
		}
	}
	u := newUser(t, s, "dev@example.com", staff.RoleDeveloper)
	c := intake.Case{Year: 2026, Title: "handled", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "handled-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	m := cases.Move{From: cases.Received, To: cases.Triage, Actor: "tri@example.com", At: t0.Add(time.Hour)}
	if err := s.MoveCase(ctx, c.ID, m, entry("case.move", "case:"+c.Ref)); err != nil {
		t.Fatal(err)
	}
	stale := cases.Move{From: cases.Received, To: cases.Invalid, Actor: "other@example.com", Reason: "spam", At: t0.Add(time.Hour)}
	wantKind(t, "a move from a state the case has left", s.MoveCase(ctx, c.ID, stale, entry("case.move", "x")), patchday.ErrConflict)
	if got, _ := s.CaseByRef(ctx, c.Ref); got.State != string(cases.Triage) {
		t.Errorf("state after the move: %q", got.State)
	}
	moves, err := s.CaseMoves(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cases.Move{m}, moves); diff != "" {
		t.Errorf("CaseMoves (-want +got):\n%s", diff)
	}

	empty, err := s.CaseTriage(ctx, c.ID)
	if err != nil || empty.CVSSVector != "" || len(empty.Affected) != 0 || empty.Assignee != 0 {
		t.Errorf("triage of a new case: %+v %v", empty, err)
	}
	a := cases.Assessment{CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSVersion: "3.1", CVSSScore: 9.8,
		CVSSRating: "Critical", CWE: 787, Assignee: u.ID, Affected: []int64{v1.ID, v2.ID}}
	if err := s.SetTriage(ctx, c.ID, a, entry("case.triage", "case:"+c.Ref)); err != nil {
		t.Fatal(err)
	}
	a.Affected = []int64{v2.ID} // replaced, not added to
	if err := s.SetTriage(ctx, c.ID, a, entry("case.triage", "case:"+c.Ref)); err != nil {
		t.Fatal(err)
	}
	got, err := s.CaseTriage(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("CaseTriage (-want +got):\n%s", diff)
	}
	bad := a
	bad.Affected = []int64{9999}
	wantKind(t, "an unknown version", s.SetTriage(ctx, c.ID, bad, entry("case.triage", "x")), patchday.ErrNotFound)
	if got, _ := s.CaseTriage(ctx, c.ID); len(got.Affected) != 1 {
		t.Errorf("a refused triage changed the affected versions: %v", got.Affected)
	}
	wantKind(t, "triage of a missing case", s.SetTriage(ctx, 9999, a, entry("case.triage", "x")), patchday.ErrNotFound)

	f1 := cases.FlagSet{Flag: cases.ExploitPublic, At: t0, SetBy: "tri@example.com"}
	f2 := cases.FlagSet{Flag: cases.ExploitPublic, At: t0.Add(-time.Hour), SetBy: "rm@example.com"}
	for _, f := range []cases.FlagSet{f1, f2} {
		if err := s.SetFlag(ctx, c.ID, f, entry("case.flag", "case:"+c.Ref)); err != nil {
			t.Fatal(err)
		}
	}
	if fs, err := s.CaseFlags(ctx, c.ID); err != nil || len(fs) != 1 || fs[0] != f2 {
		t.Errorf("CaseFlags after setting one flag twice: %+v %v; want the second date", fs, err)
	}
	wantKind(t, "flag on a missing case", s.SetFlag(ctx, 9999, f1, entry("case.flag", "x")), patchday.ErrNotFound)
}

func testFixes(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	v := product.Version{ProductID: gw.ID, Version: "1.0.0"}
	if err := s.AddVersion(ctx, &v, entry("product.version", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	dev := newUser(t, s, "dev@example.com", staff.RoleDeveloper)
	tester := newUser(t, s, "qa@example.com", staff.RoleTester)
	c := intake.Case{Year: 2026, Title: "fixed", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "fix-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	f := fixes.Fix{CaseID: c.ID, VersionID: v.ID, Payload: intake.Attachment{Name: "gw-1.0.1.tar.zst", ContentType: "application/zstd", SHA256: "ab", Size: 1234},
		SourceRef: "git:abc123", Brings: "1.0.1", ReleaseNotes: "Bounds check on the header length.", AuthorID: dev.ID, Author: dev.Email, CreatedAt: t0}
	if err := s.AddFix(ctx, &f, entry("fix.upload", "case:"+c.Ref)); err != nil {
		t.Fatal(err)
	}
	got, err := s.FixByID(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("FixByID (-want +got):\n%s", diff)
	}
	if all, _ := s.CaseFixes(ctx, c.ID); len(all) != 1 || all[0] != f {
		t.Errorf("CaseFixes: %+v", all)
	}
	_, err = s.FixByID(ctx, 9999)
	wantKind(t, "FixByID(missing)", err, patchday.ErrNotFound)
	r := fixes.Run{FixID: f.ID, TesterID: tester.ID, Tester: tester.Email, Passed: false, Counts: fixes.Counts{Passed: 10, Failed: 1, Skipped: 2},
		Failing: []string{"pkg.TestHeader"}, Passing: []string{"pkg.TestA", "pkg.TestB"}, Regressions: []string{}, Notes: "one failure", CreatedAt: t0.Add(time.Hour)}
	if err := s.AddRun(ctx, &r, entry("fix.test", "fix")); err != nil {
		t.Fatal(err)
	}
	runs, err := s.FixRuns(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fixes.Run{r}, runs); diff != "" {
		t.Errorf("FixRuns (-want +got):\n%s", diff)
	}
	bad := fixes.Run{FixID: 9999, TesterID: tester.ID, CreatedAt: t0}
	wantKind(t, "run of a missing fix", s.AddRun(ctx, &bad, entry("fix.test", "x")), patchday.ErrNotFound)
}

func testJobs(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	tests := []struct {
		holder string
		now    time.Time
		want   bool
	}{
		{"a", t0, true},                       // free
		{"b", t0.Add(time.Minute), false},     // a holds it
		{"a", t0.Add(2 * time.Minute), true},  // a renews
		{"b", t0.Add(5 * time.Minute), false}, // still a's (until +7m)
		{"b", t0.Add(7 * time.Minute), true},  // expired: b takes it
		{"a", t0.Add(8 * time.Minute), false}, // now b's
	}
	for i, tt := range tests {
		got, err := s.TakeLease(ctx, "case-sweep", tt.holder, tt.now, tt.now.Add(5*time.Minute))
		if err != nil || got != tt.want {
			t.Errorf("step %d: TakeLease(%s at +%s) = %v, %v; want %v", i, tt.holder, tt.now.Sub(t0), got, err, tt.want)
		}
	}
	if got, _ := s.TakeLease(ctx, "other-job", "a", t0, t0.Add(time.Minute)); !got {
		t.Errorf("leases of different jobs are independent")
	}

	c := intake.Case{Year: 2026, Title: "reminded", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "remind-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		got, err := s.MarkReminder(ctx, c.ID, "triage", "overdue", t0)
		if err != nil || got != want {
			t.Errorf("MarkReminder #%d = %v, %v; want %v (each reminder once)", i+1, got, err, want)
		}
	}
	if got, _ := s.MarkReminder(ctx, c.ID, "triage", "due-soon", t0); !got {
		t.Errorf("another kind of reminder is a new one")
	}
}

func testReleases(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)
	train := release.Release{At: at, Kind: release.Train}
	if err := s.CreateRelease(ctx, &train, entry("release.create", "train")); err != nil {
		t.Fatal(err)
	}
	again := release.Release{At: at, Kind: release.Train}
	wantKind(t, "a second train at the same time", s.CreateRelease(ctx, &again, entry("release.create", "x")), patchday.ErrConflict)
	oob := release.Release{At: at, Kind: release.OutOfBand, Justification: "attacks observed"}
	if err := s.CreateRelease(ctx, &oob, entry("release.create", "oob")); err != nil {
		t.Errorf("an out-of-band release at a train's time: %v", err)
	}
	got, err := s.TrainAt(ctx, at)
	if err != nil || got.ID != train.ID || got.Approved() || got.Published() || !got.At.Equal(at) {
		t.Errorf("TrainAt = %+v, %v", got, err)
	}
	if _, err := s.TrainAt(ctx, at.Add(time.Hour)); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("TrainAt(other time) = %v", err)
	}
	list, _ := s.ListReleases(ctx, at.Add(-time.Hour))
	if len(list) != 2 || list[0].ID != train.ID {
		t.Errorf("ListReleases: %+v", list)
	}

	c := intake.Case{Year: 2026, Title: "shipped", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "release-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	if err := s.AssignCase(ctx, train.ID, c.ID, entry("release.assign", "x")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a case in two releases", s.AssignCase(ctx, oob.ID, c.ID, entry("release.assign", "x")), patchday.ErrConflict)
	if ids, _ := s.ReleaseCases(ctx, train.ID); len(ids) != 1 || ids[0] != c.ID {
		t.Errorf("ReleaseCases: %v", ids)
	}
	if r, err := s.ReleaseOfCase(ctx, c.ID); err != nil || r.ID != train.ID {
		t.Errorf("ReleaseOfCase: %+v %v", r, err)
	}
	if due, _ := s.DueReleases(ctx, at.Add(time.Minute)); len(due) != 0 {
		t.Errorf("an unapproved release is due: %+v", due)
	}
	if err := s.ApproveRelease(ctx, train.ID, "rm@example.com", t0, entry("release.approve", "x")); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueReleases(ctx, at.Add(-time.Minute)); len(due) != 0 {
		t.Errorf("a release is due before its time: %+v", due)
	}
	due, _ := s.DueReleases(ctx, at)
	if len(due) != 1 || due[0].ID != train.ID || due[0].ApprovedBy != "rm@example.com" {
		t.Fatalf("DueReleases at its time: %+v", due)
	}
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	update := func() []release.Update {
		return []release.Update{{ProductID: gw.ID, Product: "Gateway", Brings: "2.4.3", AppliesTo: []string{"2.4.1", "2.4.2"},
			Classification: release.Security, Severity: "High", Cases: []string{"PD-2026-0001", "PD-2026-0007"},
			Supersedes: []release.Superseded{{ID: 41, Brings: "2.4.2"}}, CreatedAt: at,
			Payload: intake.Attachment{Name: "gw-2.4.3.tar.zst", ContentType: "application/zstd", SHA256: "ab", Size: 1234}}}
	}
	// Several servers publish at once: exactly one does, and its updates
	// are recorded once.
	var wg sync.WaitGroup
	won := make([]bool, 6)
	for i := range won {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.MarkPublished(ctx, train.ID, at, update(), entry("release.publish", "x"))
			if err != nil {
				t.Errorf("MarkPublished: %v", err)
			}
			won[i] = ok
		}()
	}
	wg.Wait()
	n := 0
	for _, w := range won {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d servers published the release, want exactly 1", n)
	}
	if due, _ := s.DueReleases(ctx, at.Add(time.Hour)); len(due) != 0 {
		t.Errorf("a published release is still due: %+v", due)
	}
	all, err := s.ListUpdates(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("ListUpdates: %+v, %v", all, err)
	}
	want := update()[0]
	want.ID, want.ReleaseID = all[0].ID, train.ID
	if diff := cmp.Diff(want, all[0]); diff != "" {
		t.Errorf("the recorded update (-want +got):\n%s", diff)
	}
	if us, _ := s.ReleaseUpdates(ctx, train.ID); len(us) != 1 {
		t.Errorf("ReleaseUpdates: %+v", us)
	}
	if vs, _ := s.ListVersions(ctx); len(vs) != 1 || vs[0].Version != "2.4.3" || vs[0].ProductID != gw.ID {
		t.Errorf("the version an update brings is not a product version once published: %+v", vs)
	}
	// One version is one build: another release bringing the same
	// version is refused, and is not published.
	wantKind(t, "a version published twice", func() error {
		_, err := s.MarkPublished(ctx, oob.ID, at, update(), entry("release.publish", "x"))
		return err
	}(), patchday.ErrConflict)
	if r, _ := s.ReleaseByID(ctx, oob.ID); r.Published() {
		t.Errorf("a release whose updates were refused is published")
	}
}

func testAdvisories(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	r := release.Release{At: t0, Kind: release.Train}
	if err := s.CreateRelease(ctx, &r, entry("release.create", "x")); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 2 {
		c := intake.Case{Year: 2026, Title: "adv", State: intake.StateReceived, CreatedAt: t0}
		if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), fmt.Sprintf("adv-link-%d", i), entry("case.create", "case")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	d := release.Draft{ReleaseID: r.ID, Title: "Heap overflow in Gateway", Summary: "A long header overflows a buffer.",
		CVEs: []string{"CVE-2026-10001"}, Workaround: "Limit header size at the proxy.", CaseIDs: ids, CreatedBy: "rm@example.com"}
	if err := s.CreateAdvisory(ctx, &d, 2026, entry("advisory.create", "advisory")); err != nil {
		t.Fatal(err)
	}
	if d.Ref != "PDSA-2026-0001" || d.ID == 0 {
		t.Errorf("advisory %q id %d", d.Ref, d.ID)
	}
	got, err := s.AdvisoryByRef(ctx, d.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("AdvisoryByRef (-want +got):\n%s", diff)
	}
	_, err = s.AdvisoryByRef(ctx, "PDSA-2026-9999")
	wantKind(t, "AdvisoryByRef(missing)", err, patchday.ErrNotFound)
	again := release.Draft{ReleaseID: r.ID, Title: "t", CVEs: []string{}, CaseIDs: ids[:1], CreatedBy: "x"}
	wantKind(t, "a case in two advisories", s.CreateAdvisory(ctx, &again, 2026, entry("advisory.create", "x")), patchday.ErrConflict)
	if list, _ := s.ReleaseAdvisories(ctx, r.ID); len(list) != 1 {
		t.Errorf("ReleaseAdvisories: %d, want 1 (the refused one left nothing)", len(list))
	}
	next := release.Draft{ReleaseID: r.ID, Title: "second", CVEs: []string{}, CaseIDs: []int64{}, CreatedBy: "x"}
	if err := s.CreateAdvisory(ctx, &next, 2026, entry("advisory.create", "x")); err != nil || next.Ref != "PDSA-2026-0002" {
		t.Errorf("the next advisory: %q %v (a refused advisory takes no number)", next.Ref, err)
	}
	if all, _ := s.ListAdvisories(ctx); len(all) != 2 || all[0].Ref != "PDSA-2026-0002" {
		t.Errorf("ListAdvisories: %+v", all)
	}
	// Corrections: in place, or as numbered revisions.
	d.Title, d.CVEs = "Heap overflow in Gateway's header parser", []string{"CVE-2026-10001", "CVE-2026-10002"}
	if err := s.UpdateAdvisory(ctx, d, nil, entry("advisory.edit", "x")); err != nil {
		t.Fatal(err)
	}
	for i, what := range []string{"Added CVE-2026-10002", "Corrected the title"} {
		rev := release.Revision{Summary: what, By: "rm@example.com", At: t0.Add(time.Duration(i+1) * time.Hour)}
		if err := s.UpdateAdvisory(ctx, d, &rev, entry("advisory.revise", "x")); err != nil || rev.Number != i+2 {
			t.Fatalf("revision %d: number %d, %v", i+2, rev.Number, err)
		}
	}
	got, _ = s.AdvisoryByRef(ctx, d.Ref)
	if got.Title != d.Title || len(got.CVEs) != 2 || len(got.Revisions) != 2 || got.Revisions[1] != (release.Revision{Number: 3,
		Summary: "Corrected the title", By: "rm@example.com", At: t0.Add(2 * time.Hour)}) {
		t.Errorf("after corrections: %+v", got)
	}
	missing := d
	missing.ID = 9999
	wantKind(t, "updating a missing advisory", s.UpdateAdvisory(ctx, missing, nil, entry("advisory.edit", "x")), patchday.ErrNotFound)
	d = got

	// Taking cases out of the release takes them out of its advisory,
	// and the advisory with its last one.
	for _, id := range ids {
		if err := s.AssignCase(ctx, r.ID, id, entry("release.assign", "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveCase(ctx, r.ID, ids[0], entry("release.unassign", "x")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "removing a case not in the release", s.RemoveCase(ctx, r.ID, ids[0], entry("release.unassign", "x")), patchday.ErrNotFound)
	if got, _ := s.AdvisoryByRef(ctx, d.Ref); !cmp.Equal(got.CaseIDs, ids[1:]) {
		t.Errorf("the advisory after one case left: %+v", got)
	}
	if err := s.RemoveCase(ctx, r.ID, ids[1], entry("release.unassign", "x")); err != nil {
		t.Fatal(err)
	}
	_, err = s.AdvisoryByRef(ctx, d.Ref)
	wantKind(t, "an advisory without cases", err, patchday.ErrNotFound)
	if got, err := s.AdvisoryByRef(ctx, next.Ref); err != nil || got.Ref != next.Ref {
		t.Errorf("another advisory of the release went too: %v", err)
	}
	if left, _ := s.ReleaseCases(ctx, r.ID); len(left) != 0 {
		t.Errorf("cases left in the release: %v", left)
	}
}

func testSubscribers(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	if err := s.UpsertSubscriber(ctx, "a@example.com", "h1", "u1", t0); err != nil {
		t.Fatal(err)
	}
	sub, err := s.SubscriberByToken(ctx, "h1")
	if err != nil || sub.Active() || sub.UnsubToken != "u1" {
		t.Fatalf("new subscriber: %+v %v", sub, err)
	}
	if err := s.ConfirmSubscriber(ctx, sub.ID, t0); err != nil {
		t.Fatal(err)
	}
	if act, _ := s.ActiveSubscribers(ctx); len(act) != 1 || !act[0].Active() {
		t.Errorf("active after confirming: %+v", act)
	}
	if got, err := s.SubscriberByUnsubToken(ctx, "u1"); err != nil || got.ID != sub.ID {
		t.Errorf("by unsubscribe token: %+v %v", got, err)
	}
	if err := s.Unsubscribe(ctx, sub.ID, t0); err != nil {
		t.Fatal(err)
	}
	if act, _ := s.ActiveSubscribers(ctx); len(act) != 0 {
		t.Errorf("active after unsubscribing: %+v", act)
	}
	// Subscribing again starts over: new tokens, confirmation needed.
	if err := s.UpsertSubscriber(ctx, "a@example.com", "h2", "u2", t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SubscriberByToken(ctx, "h2"); got.ID != sub.ID || got.Active() {
		t.Errorf("resubscribed: %+v", got)
	}
	_, err = s.SubscriberByToken(ctx, "h1")
	wantKind(t, "the old confirmation token", err, patchday.ErrNotFound)
	r := release.Release{At: t0, Kind: release.Train}
	if err := s.CreateRelease(ctx, &r, entry("release.create", "x")); err != nil {
		t.Fatal(err)
	}
	// A notification is owed to the subscribers active when it fell due,
	// until each is marked delivered or unsubscribes.
	subscribe := func(email string, confirm bool) int64 {
		t.Helper()
		if err := s.UpsertSubscriber(ctx, email, "h-"+email, "u-"+email, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.SubscriberByToken(ctx, "h-"+email)
		if err != nil {
			t.Fatal(err)
		}
		if confirm {
			if err := s.ConfirmSubscriber(ctx, got.ID, t0); err != nil {
				t.Fatal(err)
			}
		}
		return got.ID
	}
	a := subscribe("a@example.com", true)
	b := subscribe("b@example.com", true)
	subscribe("c@example.com", false)
	owed := func(stage string, want ...int64) {
		t.Helper()
		subs, err := s.Undelivered(ctx, r.ID, "notice")
		var ids []int64
		for _, sub := range subs {
			ids = append(ids, sub.ID)
		}
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("%s: undelivered %v, %v; want %v", stage, ids, err, want)
		}
	}
	owed("before it falls due")
	for i, want := range []bool{true, false} {
		if got, err := s.MarkNotified(ctx, r.ID, "notice", t0); err != nil || got != want {
			t.Errorf("MarkNotified #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	owed("when due", a, b)
	if ids, err := s.Owing(ctx, "notice"); err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{r.ID}) {
		t.Errorf("Owing(notice) when due: %v %v", ids, err)
	}
	subscribe("d@example.com", true) // too late for this one
	if err := s.MarkDelivered(ctx, r.ID, "notice", a, t0); err != nil {
		t.Fatal(err)
	}
	owed("after one delivery", b)
	if err := s.Unsubscribe(ctx, b, t0); err != nil {
		t.Fatal(err)
	}
	owed("after the other left")
	if ids, err := s.Owing(ctx, "notice"); err != nil || len(ids) != 0 {
		t.Errorf("Owing(notice) when nobody is owed it: %v %v", ids, err)
	}
	owed2, err := s.Undelivered(ctx, r.ID, "bulletin")
	if err != nil || len(owed2) != 0 {
		t.Errorf("the bulletin is owed before it falls due: %+v %v", owed2, err)
	}
}
