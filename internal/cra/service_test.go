package cra_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
)

type managers []string

func (m managers) ReleaseManagers(context.Context) ([]string, error) { return m, nil }

// TestReportLifecycle: an exploited case starts the clocks from the
// moment of awareness; drafts carry what each stage needs; a submission
// stops its clock; reminders go once to the assignee and the release
// managers; the final-report clock starts when the fix is published.
func TestReportLifecycle(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := audit.New(audit.System, now, "setup", "", "")
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	st.CreateProduct(ctx, &gw, e)
	v := product.Version{ProductID: gw.ID, Version: "2.4.1"}
	st.AddVersion(ctx, &v, e)
	dev := staff.User{Email: "dev@example.com", Roles: staff.Roles{staff.RoleDeveloper}, PasswordHash: "x"}
	st.CreateUser(ctx, &dev, e)
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	rc, err := reports.Submit(ctx, intake.Submission{Title: "Heap overflow in the header parser", Product: "Gateway", Version: "2.4.1",
		Description: "A 70 KB header overwrites the stack.", Steps: "curl -H @big", Email: "ada@example.org"}, intake.SourceWeb, "x")
	if err != nil {
		t.Fatal(err)
	}
	handling := cases.NewService(st, clock)
	tri := cases.Actor{UserID: 1, Email: "tri@example.com", Roles: staff.Roles{staff.RoleTriager}}
	handling.Move(ctx, tri, "x", rc.Ref, cases.Request{To: cases.Triage})
	if _, err := handling.SetTriage(ctx, tri, "x", rc.Ref, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-787", []int64{v.ID}, dev.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := st.CaseByRef(ctx, rc.Ref)

	points, _ := cra.ParsePoints(cra.DefaultPoints)
	svc := cra.NewService(st, cra.FromRecords(st), cra.Organisation{Name: "Example Corp", MemberState: "DE", CSIRT: "CERT-Bund",
		TimeZone: berlin, MemberStates: map[string][]string{"Gateway": {"DE", "FR", "NL"}}, Points: points}, clock)
	triager := cra.Actor{Email: "tri@example.com", Roles: staff.Roles{staff.RoleTriager}}
	rm := cra.Actor{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	dev2 := cra.Actor{Email: "dev@example.com", Roles: staff.Roles{staff.RoleDeveloper}}

	aware := now.Add(-2 * time.Hour)
	if _, err := svc.OpenForCase(ctx, dev2, c.ID, aware, cra.Suspected); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("a developer starting the clocks: %v", err)
	}
	if _, err := svc.OpenForCase(ctx, triager, c.ID, now.Add(time.Hour), "maybe"); !errors.Is(err, patchday.ErrInvalid) ||
		len(patchday.FieldErrors(err)) != 2 {
		t.Errorf("awareness in the future, a made-up answer: %v", err)
	}
	r, err := svc.OpenForCase(ctx, triager, c.ID, aware, cra.Suspected)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.OpenForCase(ctx, triager, c.ID, aware, cra.Suspected); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("starting the clocks twice: %v", err)
	}
	view, err := svc.OfCase(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := view.Clock(cra.EarlyWarning); !got.Due.Equal(aware.Add(24*time.Hour)) || !got.Running() {
		t.Errorf("early warning clock: %+v", got)
	}
	if got := view.Clock(cra.FinalReport); got.Started() || !strings.Contains(got.Waiting, "published") {
		t.Errorf("the final-report clock waits for the fix: %+v", got)
	}

	// Drafts carry what each stage asks, and nothing of how to exploit it.
	early, _ := json.Marshal(view.Drafts[cra.EarlyWarning])
	for _, want := range []string{`"product":"Gateway"`, `"member_states":["DE","FR","NL"]`, `"malicious_act":"suspected"`, `"severity":"Critical"`} {
		if !strings.Contains(string(early), want) {
			t.Errorf("the early warning lacks %s: %s", want, early)
		}
	}
	note, _ := json.Marshal(view.Drafts[cra.Notification])
	for _, want := range []string{`"versions":["2.4.1"]`, "CWE-787 Out-of-bounds Write", "AV:N/AC:L"} {
		if !strings.Contains(string(note), want) {
			t.Errorf("the notification lacks %s: %s", want, note)
		}
	}
	for _, stage := range []cra.Stage{cra.EarlyWarning, cra.Notification, cra.FinalReport} {
		b, _ := json.Marshal(view.Drafts[stage])
		for _, secret := range []string{"70 KB", "curl", "ada@example.org"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("the %s draft carries %q from the report: %s", stage, secret, b)
			}
		}
	}
	if strings.Contains(string(early), "2.4.1") || strings.Contains(string(early), "Heap overflow") {
		t.Errorf("the early warning says more than the stage needs: %s", early)
	}

	// Reminders: half-time of the early warning, once, to the assignee
	// and the release managers.
	var got []cra.Reminder
	send := func(_ context.Context, r cra.Reminder) error { got = append(got, r); return nil }
	now = aware.Add(12 * time.Hour)
	if n, err := svc.Sweep(ctx, managers{"rm@example.com"}, send); n != 1 || err != nil || got[0].Stage != cra.EarlyWarning ||
		got[0].Point != "50%" || !slices.Equal(got[0].To, []string{"dev@example.com", "rm@example.com"}) {
		t.Fatalf("half-time reminder: %d %v %+v", n, err, got)
	}
	failing := func(context.Context, cra.Reminder) error { return errors.New("relay down") }
	now = aware.Add(22 * time.Hour)
	if _, err := svc.Sweep(ctx, managers{"rm@example.com"}, failing); err == nil {
		t.Errorf("a failed reminder reports no error")
	}
	if n, _ := svc.Sweep(ctx, managers{"rm@example.com"}, send); n != 1 || got[1].Point != "2h" {
		t.Errorf("the failed reminder is not retried: %+v", got)
	}
	if n, _ := svc.Sweep(ctx, managers{"rm@example.com"}, send); n != 0 {
		t.Errorf("a reminder went twice")
	}

	// Approve, then submit: the clock stops.
	if err := svc.Submit(ctx, triager, r.ID, "early-warning", now, "ENISA SRP", "SRP-1"); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("submitting an unapproved draft: %v", err)
	}
	if err := svc.Approve(ctx, triager, r.ID, "early-warning"); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("a triager approving: %v", err)
	}
	if err := svc.Approve(ctx, rm, r.ID, "early-warning"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Submit(ctx, triager, r.ID, "early-warning", now, "", ""); !errors.Is(err, patchday.ErrInvalid) || len(patchday.FieldErrors(err)) != 2 {
		t.Errorf("a submission without channel and reference: %v", err)
	}
	if err := svc.Submit(ctx, triager, r.ID, "early-warning", now, "ENISA single reporting platform", "SRP-2026-000123"); err != nil {
		t.Fatal(err)
	}
	if err := svc.EditDraft(ctx, triager, r.ID, "early-warning", cra.Draft{Product: "Gateway"}); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("editing a submitted stage: %v", err)
	}
	view, _ = svc.Get(ctx, r.ID)
	if view.Clock(cra.EarlyWarning).Running() || !view.Clock(cra.Notification).Running() {
		t.Errorf("the submission must stop the early warning's clock only: %+v", view.Clocks)
	}
	now = aware.Add(37 * time.Hour)
	if n, _ := svc.Sweep(ctx, managers{"rm@example.com"}, send); n != 1 || got[2].Stage != cra.Notification {
		t.Errorf("after submission: no overdue reminder for the early warning, the notification's half-time only: %+v", got[2:])
	}

	// Bad input is refused, every problem at once, and changes nothing.
	bad := view.Drafts[cra.Notification]
	bad.MemberStates, bad.Malicious, bad.Product = []string{"DE", "UK"}, "perhaps", " "
	if err := svc.EditDraft(ctx, triager, r.ID, "notification", bad); !errors.Is(err, patchday.ErrInvalid) || len(patchday.FieldErrors(err)) != 3 ||
		!strings.Contains(patchday.FieldErrors(err)["member_states"], `"UK" is not an EU Member State`) {
		t.Errorf("a bad draft: %v", err)
	}
	if v, _ := svc.Get(ctx, r.ID); v.Stages[cra.Notification].Draft != nil {
		t.Errorf("a refused draft was saved")
	}
	// An edit keeps what staff wrote, and withdraws an approval.
	edited := view.Drafts[cra.Notification]
	edited.MeasuresForUsers = "Block headers over 8 KB at the proxy."
	if err := svc.Approve(ctx, rm, r.ID, "notification"); err != nil {
		t.Fatal(err)
	}
	if err := svc.EditDraft(ctx, triager, r.ID, "notification", edited); err != nil {
		t.Fatal(err)
	}
	view, _ = svc.Get(ctx, r.ID)
	if view.Drafts[cra.Notification].MeasuresForUsers != edited.MeasuresForUsers || view.Stages[cra.Notification].Approved() {
		t.Errorf("after editing: %+v", view.Stages[cra.Notification])
	}

	// The final-report clock starts when the fix's release is published:
	// 14 calendar days in Berlin.
	rel := release.Release{At: time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC), Kind: release.Train}
	st.CreateRelease(ctx, &rel, e)
	st.AssignCase(ctx, rel.ID, c.ID, e)
	st.ApproveRelease(ctx, rel.ID, "rm@example.com", now, e)
	published := time.Date(2026, 12, 8, 17, 0, 3, 0, time.UTC)
	if _, err := st.MarkPublished(ctx, rel.ID, published, nil, e); err != nil {
		t.Fatal(err)
	}
	view, _ = svc.Get(ctx, r.ID)
	if fc := view.Clock(cra.FinalReport); !fc.Start.Equal(published) || !fc.Due.Equal(published.AddDate(0, 0, 14)) {
		t.Errorf("final-report clock after publication: %+v", fc)
	}
	if err := svc.Approve(ctx, rm, r.ID, "final-report"); err != nil {
		t.Errorf("approving the final report once its clock runs: %v", err)
	}
	if d := view.Drafts[cra.FinalReport]; !strings.Contains(d.Update, "8 December 2026 18:00 CET") {
		t.Errorf("the final report does not name the update: %+v", d)
	}
}
