package cases_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
)

type people map[int64]string

func (p people) EmailOf(_ context.Context, id int64) (string, error) { return p[id], nil }

func TestSweep(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) // a Monday
	clock := func() time.Time { return now }
	dev := &staff.User{Email: "dev@example.com", Roles: staff.Roles{staff.RoleDeveloper}, PasswordHash: "x"}
	st.CreateUser(ctx, dev, audit.New(audit.System, now, "x", "", ""))
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	sub := intake.Submission{Title: "t", Product: "p", Version: "1", Description: "d", Steps: "s", Email: "ada@example.org"}
	waiting, _ := reports.Submit(ctx, sub, intake.SourceWeb, "x")
	assigned, _ := reports.Submit(ctx, sub, intake.SourceWeb, "x")
	svc := cases.NewService(st, clock)
	tri := cases.Actor{UserID: 99, Email: "tri@example.com", Roles: staff.Roles{staff.RoleTriager}}
	svc.Move(ctx, tri, "x", waiting.Ref, cases.Request{To: cases.Triage})
	svc.Move(ctx, tri, "x", waiting.Ref, cases.Request{To: cases.NeedsInfo, Comment: "Which build?"})
	svc.Move(ctx, tri, "x", assigned.Ref, cases.Request{To: cases.Triage})
	if _, err := svc.SetTriage(ctx, tri, "x", assigned.Ref, "", "", nil, dev.ID); err != nil {
		t.Fatal(err)
	}

	var sent []cases.Reminder
	send := func(_ context.Context, r cases.Reminder) error { sent = append(sent, r); return nil }
	who := people{dev.ID: dev.Email}

	// Day 4 (Friday): the triage clock (5 business days, due next Monday)
	// is not yet within a day; nothing happens.
	now = now.Add(4 * 24 * time.Hour)
	if got, err := svc.Sweep(ctx, who, send); err != nil || len(got.Closed) != 0 || len(sent) != 0 {
		t.Fatalf("Friday sweep: %+v %v, sent %v", got, err, sent)
	}
	// Sunday evening: triage is due Monday 09:00: one due-soon warning,
	// and only one however often the sweep runs.
	now = now.Add(2*24*time.Hour + 10*time.Hour)
	for range 3 {
		if _, err := svc.Sweep(ctx, who, send); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != 1 || sent[0].Kind != "due-soon" || sent[0].To != "dev@example.com" || sent[0].Clock.Name != "triage" || sent[0].Ref != assigned.Ref {
		t.Fatalf("reminders %+v; want one due-soon triage reminder to the assignee", sent)
	}
	// Past the deadline: one overdue warning.
	now = now.Add(24 * time.Hour)
	svc.Sweep(ctx, who, send)
	if len(sent) != 2 || sent[1].Kind != "overdue" {
		t.Errorf("reminders %+v; want an overdue one next", sent)
	}
	// 30 days after the question, the waiting case closes without blame.
	now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	got, err := svc.Sweep(ctx, who, send)
	if err != nil || len(got.Closed) != 1 || got.Closed[0] != waiting.Ref {
		t.Fatalf("the 30-day sweep: %+v %v", got, err)
	}
	c, _ := st.CaseByRef(ctx, waiting.Ref)
	moves, _ := svc.Moves(ctx, c.ID)
	last := moves[len(moves)-1]
	if c.State != "closed" || last.Actor != "system" || !strings.Contains(last.Reason, "without blame") {
		t.Errorf("closed case %s, last move %+v", c.State, last)
	}
}
