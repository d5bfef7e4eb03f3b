package cases_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/store/sqlite"
)

func TestServiceMoveAndTriage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, func() time.Time { return now })
	sub := intake.Submission{Title: "SQL injection in search", Product: "Portal", Version: "1.0", Description: "d", Steps: "s", Email: "ada@example.org"}
	rc, err := reports.Submit(ctx, sub, intake.SourceWeb, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := reports.Submit(ctx, sub, intake.SourceWeb, "192.0.2.1")
	svc := cases.NewService(st, func() time.Time { return now })
	tri, dev := actors["triager"], actors["developer"]
	tri.Email = "tri@example.com"

	if _, err := svc.Move(ctx, dev, "x", rc.Ref, cases.Request{To: cases.Triage}); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("developer triaging: %v", err)
	}
	if c, err := svc.Move(ctx, tri, "192.0.2.9", strings.ToLower(rc.Ref), cases.Request{To: cases.Triage}); err != nil || c.State != "triage" {
		t.Fatalf("triage: %+v %v", c, err)
	}
	_, err = svc.Move(ctx, tri, "x", rc.Ref, cases.Request{To: cases.Accepted})
	if !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), "a severity (CVSS vector), a CWE, the affected versions") {
		t.Errorf("accept untriaged: %v", err)
	}
	_, err = svc.SetTriage(ctx, tri, "x", rc.Ref, "CVSS:3.1/AV:Q", "CWE-0", nil, 0)
	if f := patchday.FieldErrors(err); f["cvss_vector"] == "" || f["cwe"] == "" {
		t.Errorf("bad triage: %v; want both fields refused", err)
	}
	if _, err := svc.SetTriage(ctx, dev, "x", rc.Ref, "", "", nil, 0); !errors.Is(err, patchday.ErrForbidden) {
		t.Errorf("developer triaging: %v", err)
	}
	a, err := svc.SetTriage(ctx, tri, "x", rc.Ref, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "89", nil, 0)
	if err != nil || a.CVSSScore != 9.8 || a.CWE != 89 {
		t.Fatalf("triage: %+v %v", a, err)
	}
	allowedNow, _ := svc.Allowed(ctx, tri, rc.Ref)
	if slices.Contains(allowedNow, cases.Accepted) {
		t.Errorf("accepted offered without affected versions: %v", allowedNow)
	}
	for _, tt := range []struct {
		dup  string
		want string
	}{{"PD-2026-9999", "not found"}, {rc.Ref, "cannot duplicate itself"}} {
		_, err := svc.Move(ctx, tri, "x", rc.Ref, cases.Request{To: cases.Duplicate, DuplicateOf: tt.dup})
		if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("duplicate of %s: %v", tt.dup, err)
		}
	}
	if _, err := svc.Move(ctx, tri, "x", other.Ref, cases.Request{To: cases.Triage}); err != nil {
		t.Fatal(err)
	}
	if c, err := svc.Move(ctx, tri, "x", other.Ref, cases.Request{To: cases.Duplicate, DuplicateOf: rc.Ref}); err != nil || c.State != "duplicate" {
		t.Fatalf("duplicate: %v", err)
	}
	moves, _ := svc.Moves(ctx, 2)
	if len(moves) != 2 || moves[1].DuplicateOf != rc.Ref || moves[1].Actor != "tri@example.com" {
		t.Errorf("moves of the duplicate: %+v", moves)
	}
	if _, err := svc.SetTriage(ctx, tri, "x", other.Ref, "", "", nil, 0); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("triage of a closed-out duplicate: %v", err)
	}
}
