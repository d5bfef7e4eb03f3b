package cases_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/store/sqlite"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddBusinessDays(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-23 10:00", 2, "2026-11-25 10:00"}, // Mon + 2 = Wed
		{"2026-11-26 10:00", 2, "2026-11-30 10:00"}, // Thu + 2 = Mon
		{"2026-11-27 17:00", 1, "2026-11-30 17:00"}, // Fri + 1 = Mon
		{"2026-11-28 09:00", 1, "2026-12-01 09:00"}, // Sat: counting starts Monday
		{"2026-11-29 09:00", 0, "2026-11-30 09:00"}, // Sun + 0 = Monday
		{"2026-11-23 10:00", 5, "2026-11-30 10:00"}, // a whole week
		{"2026-11-23 10:00", 0, "2026-11-23 10:00"},
	}
	for _, tt := range tests {
		if got := cases.AddBusinessDays(day(tt.from), tt.n); !got.Equal(day(tt.want)) {
			t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.from, tt.n, got.Format("Mon 2006-01-02 15:04"), tt.want)
		}
	}
}

func TestClocks(t *testing.T) {
	opened := day("2026-11-23 10:00") // Monday
	mv := func(at string, from, to cases.State) cases.Move { return cases.Move{From: from, To: to, At: day(at)} }
	find := func(cs []cases.Clock, name string) cases.Clock {
		for _, c := range cs {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s clock in %+v", name, cs)
		return cases.Clock{}
	}

	// Untouched for three days: first response overdue, triage still due.
	cs := cases.Clocks(opened, nil, "", day("2026-11-26 10:00"), cases.DefaultPolicy)
	if c := find(cs, "first response"); c.Done || !c.Overdue || !c.Due.Equal(day("2026-11-25 10:00")) {
		t.Errorf("first response %+v", c)
	}
	if c := find(cs, "triage"); c.Overdue || !c.Due.Equal(day("2026-11-30 10:00")) {
		t.Errorf("triage %+v", c)
	}
	if len(cs) != 2 {
		t.Errorf("a fix clock before acceptance: %+v", cs)
	}

	// Answered in time, then two days waiting on the reporter push the
	// triage deadline back two days; while waiting, nothing is overdue.
	moves := []cases.Move{
		mv("2026-11-24 09:00", cases.Received, cases.Triage),
		mv("2026-11-25 09:00", cases.Triage, cases.NeedsInfo),
	}
	cs = cases.Clocks(opened, moves, "", day("2026-12-01 12:00"), cases.DefaultPolicy)
	if c := find(cs, "first response"); !c.Done || c.Overdue {
		t.Errorf("first response %+v", c)
	}
	if c := find(cs, "triage"); !c.Paused || c.Overdue {
		t.Errorf("triage while waiting on the reporter %+v", c)
	}
	moves = append(moves, mv("2026-11-27 09:00", cases.NeedsInfo, cases.Triage))
	cs = cases.Clocks(opened, moves, "", day("2026-12-01 12:00"), cases.DefaultPolicy)
	if c := find(cs, "triage"); c.Paused || c.Overdue || !c.Due.Equal(day("2026-12-02 10:00")) {
		t.Errorf("triage after two days' pause %+v; want due 2026-12-02 10:00", c)
	}

	// Accepted as Critical: seven business days to a fix that passed the gate.
	moves = append(moves, mv("2026-11-30 10:00", cases.Triage, cases.Accepted))
	cs = cases.Clocks(opened, moves, "Critical", day("2026-12-10 10:00"), cases.DefaultPolicy)
	if c := find(cs, "triage"); !c.Done || c.Overdue {
		t.Errorf("triage %+v", c)
	}
	if c := find(cs, "fix"); c.Done || !c.Overdue || !c.Due.Equal(day("2026-12-09 10:00")) {
		t.Errorf("fix %+v; want overdue since 2026-12-09 10:00", c)
	}
	moves = append(moves, mv("2026-12-08 10:00", cases.Fixing, cases.Testing), mv("2026-12-08 15:00", cases.Testing, cases.Verifying))
	if c := find(cases.Clocks(opened, moves, "Critical", day("2026-12-10 10:00"), cases.DefaultPolicy), "fix"); !c.Done || c.Overdue {
		t.Errorf("fix done in time %+v", c)
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := cases.ParsePolicy(`{"first_response_days":1,"fix_days":{"Critical":3}}`)
	if err != nil || p.FirstResponseDays != 1 || p.TriageDays != 5 || p.FixDays["Critical"] != 3 || p.FixDays["High"] != 30 {
		t.Errorf("ParsePolicy = %+v, %v; want the given values over the defaults", p, err)
	}
	for _, bad := range []string{`{`, `{"triage_days":400}`, `{"fix_days":{"Urgent":3}}`, `{"fix_days":{"Low":0}}`} {
		if _, err := cases.ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
	if p, _ := cases.ParsePolicy(""); p.JSON() != cases.DefaultPolicy.JSON() {
		t.Errorf("the empty policy is not the default")
	}
}

func TestProductPolicy(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // Monday
	clock := func() time.Time { return now }
	products := product.NewService(st, clock)
	if _, err := products.Add(ctx, audit.System, "Gateway", "Example", "semver"); err != nil {
		t.Fatal(err)
	}
	p, _ := cases.ParsePolicy(`{"first_response_days":1}`)
	if err := products.SetSLA(ctx, audit.System, "Gateway", p.JSON()); err != nil {
		t.Fatal(err)
	}
	reports := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	sub := intake.Submission{Title: "t", Product: "Gateway", Version: "1", Description: "d", Steps: "s", Email: "ada@example.org"}
	gw, _ := reports.Submit(ctx, sub, intake.SourceWeb, "x")
	sub.Product = "Something else"
	other, _ := reports.Submit(ctx, sub, intake.SourceWeb, "x")
	svc := cases.NewService(st, clock)
	for ref, want := range map[string]string{gw.Ref: "2026-11-24 10:00", other.Ref: "2026-11-25 10:00"} {
		c, _ := st.CaseByRef(ctx, ref)
		cs, err := svc.ClocksOf(ctx, c)
		if err != nil || !cs[0].Due.Equal(day(want)) {
			t.Errorf("%s first response due %v (%v), want %s", ref, cs[0].Due, err, want)
		}
	}
}
