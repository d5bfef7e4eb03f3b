package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/store"
)

func testCRAReports(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	c := intake.Case{Year: 2026, Title: "exploited", State: intake.StateReceived, CreatedAt: t0}
	if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), "cra-link", entry("case.create", "case")); err != nil {
		t.Fatal(err)
	}
	r := cra.Report{Kind: cra.ExploitedVulnerability, CaseID: c.ID, ProductID: gw.ID, AwareAt: t0.Add(-time.Hour), Malicious: cra.Suspected,
		OpenedBy: "tri@example.com", CreatedAt: t0}
	if err := s.CreateReport(ctx, &r, entry("cra.open", "x")); err != nil || r.ID == 0 {
		t.Fatalf("CreateReport: %v", err)
	}
	again := r
	wantKind(t, "a second report for a case", s.CreateReport(ctx, &again, entry("cra.open", "x")), patchday.ErrConflict)
	inc := cra.Report{Kind: cra.SevereIncident, ProductID: gw.ID, AwareAt: t0, Malicious: cra.Unknown, Summary: "build server compromised",
		OpenedBy: "rm@example.com", CreatedAt: t0.Add(time.Minute)}
	if err := s.CreateReport(ctx, &inc, entry("cra.open", "x")); err != nil {
		t.Fatalf("an incident without a case: %v", err)
	}

	d := cra.Draft{Product: "Gateway", MemberStates: []string{"DE", "FR"}, Malicious: cra.Suspected, Severity: "Critical"}
	rec := cra.StageRecord{Draft: &d, EditedBy: "tri@example.com", ApprovedBy: "rm@example.com", ApprovedAt: t0}
	if err := s.SaveStage(ctx, r.ID, cra.EarlyWarning, rec, entry("cra.edit", "x")); err != nil {
		t.Fatal(err)
	}
	rec.SubmittedAt, rec.SubmittedBy, rec.Channel, rec.Reference = t0.Add(time.Hour), "rm@example.com", "ENISA SRP", "SRP-2026-000123"
	if err := s.SaveStage(ctx, r.ID, cra.EarlyWarning, rec, entry("cra.submit", "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStage(ctx, r.ID, cra.Notification, cra.StageRecord{EditedBy: "x"}, entry("cra.edit", "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMitigation(ctx, r.ID, t0.Add(2*time.Hour), entry("cra.mitigation", "x")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "mitigation on a missing report", s.SetMitigation(ctx, 9999, t0, entry("cra.mitigation", "x")), patchday.ErrNotFound)

	got, err := s.ReportOfCase(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.MitigationAt = t0.Add(2 * time.Hour)
	want.Stages = map[cra.Stage]cra.StageRecord{cra.EarlyWarning: rec, cra.Notification: {EditedBy: "x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReportOfCase (-want +got):\n%s", diff)
	}
	if byID, _ := s.ReportByID(ctx, inc.ID); byID.CaseID != 0 || byID.Summary != "build server compromised" || len(byID.Stages) != 0 {
		t.Errorf("ReportByID(incident): %+v", byID)
	}
	_, err = s.ReportByID(ctx, 9999)
	wantKind(t, "ReportByID(missing)", err, patchday.ErrNotFound)
	if all, _ := s.ListReports(ctx); len(all) != 2 || all[0].ID != inc.ID {
		t.Errorf("ListReports: %+v", all)
	}

	for i, want := range []bool{true, false} {
		if got, err := s.MarkCRAReminder(ctx, r.ID, cra.Notification, "50%", t0); err != nil || got != want {
			t.Errorf("MarkCRAReminder #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	if sent, _ := s.CRARemindersSent(ctx, r.ID); !cmp.Equal(sent, map[string]bool{"notification/50%": true}) {
		t.Errorf("CRARemindersSent: %v", sent)
	}
}
