package cases_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/staff"
)

var actors = map[string]cases.Actor{
	"triager":         {UserID: 1, Roles: staff.Roles{staff.RoleTriager}},
	"developer":       {UserID: 2, Roles: staff.Roles{staff.RoleDeveloper}},
	"tester":          {UserID: 3, Roles: staff.Roles{staff.RoleTester}},
	"release-manager": {UserID: 4, Roles: staff.Roles{staff.RoleReleaseManager}},
	"fleet-admin":     {UserID: 5, Roles: staff.Roles{staff.RoleFleetAdmin}},
	"reporter":        {Reporter: true},
	"system":          {System: true},
}

// allFacts makes every condition hold.
var allFacts = cases.Facts{HasSeverity: true, HasCWE: true, HasAffected: true, FixesComplete: true, GatePassed: true,
	AnswerWindowOver: true, ReleaseApproved: true, PostMortemDone: true}

var fullRequest = cases.Request{Reason: "not-reproducible", DuplicateOf: "PD-2026-0001", Comment: "because"}

// allowed is DESIGN.md §2's table, written out: from>to:who.
var allowed = []string{
	"received>triage:triager",
	"triage>needs-info:triager",
	"needs-info>triage:triager", "needs-info>triage:reporter",
	"needs-info>closed:system",
	"triage>invalid:triager", "triage>duplicate:triager", "triage>accepted-risk:triager", "triage>accepted:triager",
	"accepted>fixing:developer",
	"fixing>testing:developer",
	"testing>verifying:tester", "testing>fixing:tester",
	"verifying>scheduled:reporter", "verifying>scheduled:release-manager", "verifying>fixing:reporter",
	"scheduled>released:system",
	"released>closed:triager", "released>withdrawn:release-manager",
}

// TestEveryTransition tries every state to every state by every kind of
// actor, with every condition met, and compares with the table.
func TestEveryTransition(t *testing.T) {
	for _, from := range cases.States {
		for _, to := range cases.States {
			for name, a := range actors {
				req := fullRequest
				req.To = to
				if to == cases.AcceptedRisk || to == cases.Withdrawn {
					req.Reason = "the risk is documented"
				}
				err := cases.Check(from, req, a, allFacts)
				want := slices.Contains(allowed, fmt.Sprintf("%s>%s:%s", from, to, name))
				if (err == nil) != want {
					t.Errorf("%s → %s by %s: %v, want allowed=%v", from, to, name, err, want)
				}
				if err != nil && !strings.Contains(err.Error(), "you may move it to") {
					t.Errorf("%s → %s by %s: refusal %q does not list the allowed moves", from, to, name, err)
				}
				inAllowed := slices.Contains(cases.Allowed(from, a, allFacts), to)
				if inAllowed != want {
					t.Errorf("Allowed(%s, %s) contains %s = %v, want %v", from, name, to, inAllowed, want)
				}
			}
		}
	}
}

func TestAdminHoldsEveryStaffRole(t *testing.T) {
	admin := cases.Actor{UserID: 9, Roles: staff.Roles{staff.RoleAdmin}}
	got := cases.Allowed(cases.Triage, admin, allFacts)
	want := []cases.State{cases.NeedsInfo, cases.Invalid, cases.Duplicate, cases.AcceptedRisk, cases.Accepted}
	if !slices.Equal(got, want) {
		t.Errorf("Allowed(triage, admin) = %v, want %v", got, want)
	}
}

// TestConditions: each condition of the table, missing, refuses the move
// and says what is missing.
func TestConditions(t *testing.T) {
	dev, tester := actors["developer"], actors["tester"]
	tests := []struct {
		name  string
		from  cases.State
		req   cases.Request
		a     cases.Actor
		facts func(*cases.Facts)
		kind  error
		want  string
	}{
		{"accept without severity", cases.Triage, cases.Request{To: cases.Accepted}, actors["triager"],
			func(f *cases.Facts) { f.HasSeverity, f.HasCWE = false, false }, patchday.ErrConflict, "a severity (CVSS vector), a CWE"},
		{"accept without versions", cases.Triage, cases.Request{To: cases.Accepted}, actors["triager"],
			func(f *cases.Facts) { f.HasAffected = false }, patchday.ErrConflict, "the affected versions"},
		{"fix a case assigned to someone else", cases.Accepted, cases.Request{To: cases.Fixing}, dev,
			func(f *cases.Facts) { f.Assignee = 77 }, patchday.ErrConflict, "assignee"},
		{"fix your own case", cases.Accepted, cases.Request{To: cases.Fixing}, dev,
			func(f *cases.Facts) { f.Assignee = dev.UserID }, nil, ""},
		{"test without every fix", cases.Fixing, cases.Request{To: cases.Testing}, dev,
			func(f *cases.Facts) { f.FixesComplete = false }, patchday.ErrConflict, "a fix for every affected version"},
		{"pass your own patch", cases.Testing, cases.Request{To: cases.Verifying}, tester,
			func(f *cases.Facts) { f.TesterWroteFix = true }, patchday.ErrConflict, "nobody passes the test gate of their own patch"},
		{"pass without a passing run", cases.Testing, cases.Request{To: cases.Verifying}, tester,
			func(f *cases.Facts) { f.GatePassed = false }, patchday.ErrConflict, "a passing test run"},
		{"fail the gate without failures", cases.Testing, cases.Request{To: cases.Fixing}, tester,
			func(*cases.Facts) {}, patchday.ErrInvalid, "the failures"},
		{"ask without a question", cases.Triage, cases.Request{To: cases.NeedsInfo}, actors["triager"],
			func(*cases.Facts) {}, patchday.ErrInvalid, "the question"},
		{"invalid without a listed reason", cases.Triage, cases.Request{To: cases.Invalid, Reason: "meh"}, actors["triager"],
			func(*cases.Facts) {}, patchday.ErrInvalid, "not-reproducible"},
		{"duplicate of nothing", cases.Triage, cases.Request{To: cases.Duplicate}, actors["triager"],
			func(*cases.Facts) {}, patchday.ErrInvalid, "original case"},
		{"schedule before the answer window", cases.Verifying, cases.Request{To: cases.Scheduled}, actors["release-manager"],
			func(f *cases.Facts) { f.AnswerWindowOver = false }, patchday.ErrConflict, "answer window"},
		{"release unapproved", cases.Scheduled, cases.Request{To: cases.Released}, actors["system"],
			func(f *cases.Facts) { f.ReleaseApproved = false }, patchday.ErrConflict, "an approved release"},
		{"close without a post-mortem", cases.Released, cases.Request{To: cases.Closed}, actors["triager"],
			func(f *cases.Facts) { f.PostMortemDone = false }, patchday.ErrConflict, "post-mortem"},
		{"developer triages", cases.Received, cases.Request{To: cases.Triage}, dev,
			func(*cases.Facts) {}, patchday.ErrForbidden, "only a triager may"},
		{"skip ahead", cases.Received, cases.Request{To: cases.Released}, actors["triager"],
			func(*cases.Facts) {}, patchday.ErrConflict, "you may move it to: triage"},
		{"no such state", cases.Received, cases.Request{To: "done"}, actors["triager"],
			func(*cases.Facts) {}, patchday.ErrInvalid, "not a case state"},
	}
	for _, tt := range tests {
		f := allFacts
		tt.facts(&f)
		err := cases.Check(tt.from, tt.req, tt.a, f)
		switch {
		case tt.kind == nil && err != nil:
			t.Errorf("%s: %v, want allowed", tt.name, err)
		case tt.kind != nil && (!errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v; want %v containing %q", tt.name, err, tt.kind, tt.want)
		}
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range cases.States {
		want := slices.Contains([]cases.State{cases.Closed, cases.Invalid, cases.Duplicate, cases.AcceptedRisk, cases.Withdrawn}, s)
		if cases.Terminal(s) != want {
			t.Errorf("Terminal(%s) = %v", s, !want)
		}
		if cases.Terminal(s) && len(cases.Allowed(s, cases.Actor{Roles: staff.Roles{staff.RoleAdmin}}, allFacts)) != 0 && s != cases.Closed {
			t.Errorf("a terminal state %s has moves", s)
		}
	}
}
