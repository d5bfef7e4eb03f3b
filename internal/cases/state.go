// Package cases is the security team's handling of a case: the state
// machine of DESIGN.md §2 with who may move a case and when, triage data,
// and the rules that keep an untested fix from shipping.
package cases

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/staff"
)

// State is where a case stands.
type State string

// The states. Received is where intake leaves a case.
const (
	Received     State = "received"
	Triage       State = "triage"
	NeedsInfo    State = "needs-info"
	Accepted     State = "accepted"
	Fixing       State = "fixing"
	Testing      State = "testing"
	Verifying    State = "verifying"
	Scheduled    State = "scheduled"
	Released     State = "released"
	Closed       State = "closed"
	Invalid      State = "invalid"
	Duplicate    State = "duplicate"
	AcceptedRisk State = "accepted-risk"
	Withdrawn    State = "withdrawn"
)

// States lists every state in the order of the happy path, then the exits.
var States = []State{Received, Triage, NeedsInfo, Accepted, Fixing, Testing, Verifying, Scheduled, Released, Closed,
	Invalid, Duplicate, AcceptedRisk, Withdrawn}

// InvalidReasons are the sub-reasons a case can be found invalid for.
var InvalidReasons = []string{"not-reproducible", "not-a-vulnerability", "out-of-scope", "spam"}

// Actor is who asks to move a case.
type Actor struct {
	UserID int64 // the staff member, 0 for the reporter or the system
	Email  string
	Roles  staff.Roles
	// Reporter is the researcher, through their private link.
	Reporter bool
	// System is patchday itself: the release job, the 30-day clock.
	System bool
}

// Facts are what the conditions of transitions look at, gathered by the
// caller from the case, its fixes and its test runs.
type Facts struct {
	HasSeverity bool // a CVSS vector is set
	HasCWE      bool
	HasAffected bool  // affected products and versions are set
	Assignee    int64 // 0: nobody
	// Fixes: one for every affected version, and the gate.
	FixesComplete bool
	// GatePassed: every fix has a passing test run.
	GatePassed bool
	// TesterWroteFix: the actor is the author of one of the fixes.
	TesterWroteFix bool
	// AnswerWindowOver: the researcher had their days to verify.
	AnswerWindowOver bool
	ReleaseApproved  bool
	PostMortemDone   bool
}

// Request is a wish to move a case, with what the move needs.
type Request struct {
	To          State
	Reason      string // invalid: one of InvalidReasons; accepted-risk, withdrawn: free text
	DuplicateOf string // duplicate: the original case's id
	Comment     string // needs-info: the question; testing → fixing: the failures; verifying → fixing: the researcher's words
}

// rule is one allowed transition: who may take it, what must hold of the
// case, and what the request must carry.
type rule struct {
	from, to State
	who      string // for messages: "a triager"
	may      func(Actor) bool
	facts    func(Actor, Facts) string // "" when it holds, else what is missing
	input    func(Request) string      // "" when the request carries what the move needs
}

func role(r staff.Role) func(Actor) bool {
	return func(a Actor) bool { return !a.Reporter && !a.System && a.Roles.Has(r) }
}

func reporter(a Actor) bool { return a.Reporter }
func system(a Actor) bool   { return a.System }

func anyFacts(Actor, Facts) string { return "" }
func noInput(Request) string       { return "" }

func fact(what string, ok func(Facts) bool) func(Actor, Facts) string {
	return func(_ Actor, f Facts) string {
		if ok(f) {
			return ""
		}
		return what
	}
}

func comment(what string) func(Request) string {
	return func(r Request) string {
		if strings.TrimSpace(r.Comment) == "" {
			return what
		}
		return ""
	}
}

func reason(what string) func(Request) string {
	return func(r Request) string {
		if strings.TrimSpace(r.Reason) == "" {
			return what
		}
		return ""
	}
}

// rules is DESIGN.md §2's table. It is the one place transitions are
// decided; the UI, the API and the CLI offer what Allowed returns.
var rules = []rule{
	{Received, Triage, "a triager", role(staff.RoleTriager), anyFacts, noInput},
	{Triage, NeedsInfo, "a triager", role(staff.RoleTriager), anyFacts, comment("the question for the reporter")},
	{NeedsInfo, Triage, "the reporter's answer or a triager", func(a Actor) bool { return a.Reporter || role(staff.RoleTriager)(a) }, anyFacts, noInput},
	{NeedsInfo, Closed, "patchday, after 30 days without an answer", system, anyFacts, noInput},
	{Triage, Invalid, "a triager", role(staff.RoleTriager), anyFacts, func(r Request) string {
		if !slices.Contains(InvalidReasons, r.Reason) {
			return "a reason: " + strings.Join(InvalidReasons, ", ")
		}
		return ""
	}},
	{Triage, Duplicate, "a triager", role(staff.RoleTriager), anyFacts, func(r Request) string {
		if strings.TrimSpace(r.DuplicateOf) == "" {
			return "the original case's id"
		}
		return ""
	}},
	{Triage, AcceptedRisk, "a triager", role(staff.RoleTriager), anyFacts, reason("the reason the risk is accepted")},
	{Triage, Accepted, "a triager", role(staff.RoleTriager), func(_ Actor, f Facts) string {
		var missing []string
		if !f.HasSeverity {
			missing = append(missing, "a severity (CVSS vector)")
		}
		if !f.HasCWE {
			missing = append(missing, "a CWE")
		}
		if !f.HasAffected {
			missing = append(missing, "the affected versions")
		}
		return strings.Join(missing, ", ")
	}, noInput},
	{Accepted, Fixing, "the assigned developer", role(staff.RoleDeveloper), func(a Actor, f Facts) string {
		if f.Assignee != 0 && f.Assignee != a.UserID {
			return "to be the case's assignee"
		}
		return ""
	}, noInput},
	{Fixing, Testing, "a developer", role(staff.RoleDeveloper), fact("a fix for every affected version", func(f Facts) bool { return f.FixesComplete }), noInput},
	{Testing, Verifying, "a tester who wrote none of the fixes", role(staff.RoleTester), func(_ Actor, f Facts) string {
		switch {
		case f.TesterWroteFix:
			return "a tester other than the fix's author: nobody passes the test gate of their own patch"
		case !f.GatePassed:
			return "a passing test run on every fix, recorded by someone other than its author"
		}
		return ""
	}, noInput},
	{Testing, Fixing, "a tester", role(staff.RoleTester), anyFacts, comment("the failures")},
	// The reporter's move is their verdict "fixed"; without one, a release
	// manager may proceed once the answer window is over.
	{Verifying, Scheduled, "the reporter saying it is fixed", reporter, anyFacts, noInput},
	{Verifying, Scheduled, "a release manager after the answer window", role(staff.RoleReleaseManager),
		fact("the researcher's answer window to be over (or their answer \"fixed\")", func(f Facts) bool { return f.AnswerWindowOver }), noInput},
	{Verifying, Fixing, "the reporter saying it is still vulnerable", reporter, anyFacts, comment("the reporter's comment")},
	{Scheduled, Released, "the release job", system, fact("an approved release", func(f Facts) bool { return f.ReleaseApproved }), noInput},
	{Released, Closed, "a triager", role(staff.RoleTriager), fact("a complete post-mortem", func(f Facts) bool { return f.PostMortemDone }), noInput},
	{Released, Withdrawn, "a release manager", role(staff.RoleReleaseManager), anyFacts, reason("the reason, published as an advisory revision")},
}

// Allowed returns the states the actor may move a case to now. What a
// move's request must carry (a reason, a comment) is not looked at: the
// form asks for it.
func Allowed(from State, a Actor, f Facts) []State {
	var out []State
	for _, r := range rules {
		if r.from == from && r.may(a) && r.facts(a, f) == "" && !slices.Contains(out, r.to) {
			out = append(out, r.to)
		}
	}
	return out
}

// Check decides a move: nil if the actor may move the case from one state
// to req.To now, else an error that says why and what is allowed instead.
func Check(from State, req Request, a Actor, f Facts) error {
	if !slices.Contains(States, req.To) {
		return patchday.Errorf(patchday.ErrInvalid, "%q is not a case state (states: %s)", req.To, joinStates(States))
	}
	var whys []string
	exists, permitted := false, false
	for _, r := range rules {
		if r.from != from || r.to != req.To {
			continue
		}
		exists = true
		if !r.may(a) {
			whys = append(whys, "only "+r.who+" may")
			continue
		}
		permitted = true
		if why := r.facts(a, f); why != "" {
			whys = append(whys, "it needs "+why)
			continue
		}
		if why := r.input(req); why != "" {
			return &patchday.Error{Kind: patchday.ErrInvalid, Message: fmt.Sprintf("%s → %s needs %s", from, req.To, why),
				Fields: map[string]string{inputField(req.To): "needed: " + why}}
		}
		return nil
	}
	hint := "nothing, from here"
	if allowed := Allowed(from, a, f); len(allowed) > 0 {
		hint = joinStates(allowed)
	}
	if !exists {
		return patchday.Errorf(patchday.ErrConflict, "a case cannot go from %s to %s; you may move it to: %s", from, req.To, hint)
	}
	kind := patchday.ErrConflict
	if !permitted {
		kind = patchday.ErrForbidden
	}
	return patchday.Errorf(kind, "%s → %s refused: %s; you may move it to: %s", from, req.To, strings.Join(whys, "; "), hint)
}

// inputField names the request field a move is missing, for forms.
func inputField(to State) string {
	switch {
	case to == Duplicate:
		return "duplicate_of"
	case to == Invalid || to == AcceptedRisk || to == Withdrawn:
		return "reason"
	}
	return "comment"
}

func joinStates(ss []State) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// Terminal reports whether nothing more happens to a case in state s.
func Terminal(s State) bool {
	switch s {
	case Closed, Invalid, Duplicate, AcceptedRisk, Withdrawn:
		return true
	}
	return false
}

var _ fmt.Stringer = State("")

func (s State) String() string { return string(s) }
