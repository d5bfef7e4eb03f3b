package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/staff"
)

// Move is one recorded transition of a case.
type Move struct {
	From, To    State
	Actor       string // staff e-mail, "reporter" or "system"
	Reason      string
	DuplicateOf string
	Comment     string
	At          time.Time
}

// Assessment is what the triager establishes about a case.
type Assessment struct {
	CVSSVector  string
	CVSSVersion string
	CVSSScore   float64
	CVSSRating  string
	CWE         int
	Assignee    int64   // a staff user id, 0 for nobody
	Affected    []int64 // product version ids
}

// Store keeps case handling. Moves are conditional on the state the case
// was read in, so two people moving one case at once cannot both win.
type Store interface {
	FlagStore
	// MarkReminder records an SLA reminder, reporting false if it was
	// sent before.
	MarkReminder(ctx context.Context, caseID int64, clock, kind string, at time.Time) (bool, error)
	CaseByRef(ctx context.Context, ref string) (intake.Case, error)
	ListCases(ctx context.Context) ([]intake.Case, error)
	// ProductSLA returns a product's own SLA policy as JSON ("" = default).
	ProductSLA(ctx context.Context, productID int64) (string, error)
	CaseReports(ctx context.Context, caseID int64) ([]intake.Report, error)
	// MoveCase sets the case's state to m.To if it is still m.From
	// (patchday.ErrConflict if not), records m, and writes e.
	MoveCase(ctx context.Context, caseID int64, m Move, e audit.Entry) error
	CaseMoves(ctx context.Context, caseID int64) ([]Move, error)
	SetTriage(ctx context.Context, caseID int64, t Assessment, e audit.Entry) error
	CaseTriage(ctx context.Context, caseID int64) (Assessment, error)
}

// Service applies the case rules.
type Service struct {
	store  Store
	now    func() time.Time
	policy Policy
	gates  Gates
	// AnswerWindow is how long the researcher has to verify a fix before
	// a release manager may proceed without them.
	answerWindow time.Duration
	moved        func(ctx context.Context, c intake.Case, m Move)
	releases     Releases
	postmortems  PostMortems
}

// PostMortems tells whether a case's post-mortem is complete.
type PostMortems interface {
	Done(ctx context.Context, caseID int64) (bool, error)
}

// UsePostMortems lets the released → closed move see the post-mortem.
// Without it a released case cannot close.
func (s *Service) UsePostMortems(p PostMortems) { s.postmortems = p }

// Releases tells whether a case is in an approved release.
type Releases interface {
	Approved(ctx context.Context, caseID int64) (bool, error)
}

// UseReleases lets the release job's move see release approval.
func (s *Service) UseReleases(r Releases) { s.releases = r }

// CaseByRef returns a case by its id.
func (s *Service) CaseByRef(ctx context.Context, ref string) (intake.Case, error) {
	return s.load(ctx, ref)
}

// ListCases returns every case, newest first.
func (s *Service) ListCases(ctx context.Context) ([]intake.Case, error) {
	return s.store.ListCases(ctx)
}

// Release moves a scheduled case to released, as the release job does at
// release time.
func (s *Service) Release(ctx context.Context, ref string) error {
	_, err := s.Move(ctx, Actor{System: true}, "release job", ref, Request{To: Released})
	return err
}

// DefaultAnswerWindow gives researchers two weeks to verify a fix.
const DefaultAnswerWindow = 14 * 24 * time.Hour

// SetAnswerWindow changes how long researchers have to verify a fix.
func (s *Service) SetAnswerWindow(d time.Duration) { s.answerWindow = d }

// OnMoved registers what happens after a case moved (e.g. telling the
// researcher a fix is ready to verify).
func (s *Service) OnMoved(fn func(ctx context.Context, c intake.Case, m Move)) { s.moved = fn }

// Gates reports the state of a case's fixes and test gate.
type Gates interface {
	GateOf(ctx context.Context, caseID int64, affected []int64, actorID int64) (fixes.Gate, error)
}

// UseGates lets the transition rules see the fixes and the test gate.
func (s *Service) UseGates(g Gates) { s.gates = g }

// NewService returns a Service; now may be nil for time.Now.
func NewService(s Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now, policy: DefaultPolicy, answerWindow: DefaultAnswerWindow}
}

func (s *Service) load(ctx context.Context, ref string) (intake.Case, error) {
	c, err := s.store.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return intake.Case{}, patchday.Errorf(patchday.ErrNotFound, "there is no case %s", ref)
	}
	return c, err
}

// facts gathers what the transition rules look at. Fixes, test runs,
// verdicts, releases and post-mortems arrive with their own parts; until
// then those facts do not hold.
func (s *Service) facts(ctx context.Context, c intake.Case, a Actor) (Facts, error) {
	t, err := s.store.CaseTriage(ctx, c.ID)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{HasSeverity: t.CVSSVector != "", HasCWE: t.CWE != 0, HasAffected: len(t.Affected) > 0, Assignee: t.Assignee}
	if State(c.State) == Scheduled && s.releases != nil {
		ok, err := s.releases.Approved(ctx, c.ID)
		if err != nil {
			return Facts{}, err
		}
		f.ReleaseApproved = ok
	}
	if State(c.State) == Released && s.postmortems != nil {
		done, err := s.postmortems.Done(ctx, c.ID)
		if err != nil {
			return Facts{}, err
		}
		f.PostMortemDone = done
	}
	if State(c.State) == Verifying {
		moves, err := s.store.CaseMoves(ctx, c.ID)
		if err != nil {
			return Facts{}, err
		}
		for i := len(moves) - 1; i >= 0; i-- {
			if moves[i].To == Verifying {
				f.AnswerWindowOver = !s.now().Before(moves[i].At.Add(s.answerWindow))
				break
			}
		}
	}
	if s.gates != nil {
		g, err := s.gates.GateOf(ctx, c.ID, t.Affected, a.UserID)
		if err != nil {
			return Facts{}, err
		}
		f.FixesComplete, f.GatePassed, f.TesterWroteFix = g.Complete, g.Passed, g.ActorWroteAFix
	}
	return f, nil
}

// Allowed returns the moves the actor may make on a case now.
func (s *Service) Allowed(ctx context.Context, a Actor, ref string) ([]State, error) {
	c, err := s.load(ctx, ref)
	if err != nil {
		return nil, err
	}
	f, err := s.facts(ctx, c, a)
	if err != nil {
		return nil, err
	}
	return Allowed(State(c.State), a, f), nil
}

// Move moves a case, if the rules allow it, and records who did and why.
func (s *Service) Move(ctx context.Context, a Actor, from string, ref string, req Request) (intake.Case, error) {
	c, err := s.load(ctx, ref)
	if err != nil {
		return intake.Case{}, err
	}
	f, err := s.facts(ctx, c, a)
	if err != nil {
		return intake.Case{}, err
	}
	req.Reason, req.Comment = strings.TrimSpace(req.Reason), strings.TrimSpace(req.Comment)
	req.DuplicateOf = strings.ToUpper(strings.TrimSpace(req.DuplicateOf))
	if err := Check(State(c.State), req, a, f); err != nil {
		return intake.Case{}, err
	}
	if req.To == Duplicate {
		orig, err := s.load(ctx, req.DuplicateOf)
		if err != nil {
			return intake.Case{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the original case was not found",
				Fields: map[string]string{"duplicate_of": patchday.Message(err)}}
		}
		if orig.ID == c.ID {
			return intake.Case{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "a case cannot duplicate itself",
				Fields: map[string]string{"duplicate_of": "name another case"}}
		}
	}
	who := a.Email
	switch {
	case a.Reporter:
		who = "reporter"
	case a.System:
		who = "system"
	}
	now := s.now().UTC()
	if State(c.State) == Verifying && req.To == Scheduled && !a.Reporter {
		req.Reason = "not verified by the reporter: their answer window is over"
	}
	m := Move{From: State(c.State), To: req.To, Actor: who, Reason: req.Reason, DuplicateOf: req.DuplicateOf, Comment: req.Comment, At: now}
	detail := fmt.Sprintf("%s → %s", m.From, m.To)
	if m.Reason != "" {
		detail += ": " + m.Reason
	}
	e := audit.New(audit.Actor{Who: who, From: from}, now, "case.move", "case:"+c.Ref, detail)
	if err := s.store.MoveCase(ctx, c.ID, m, e); err != nil {
		if errors.Is(err, patchday.ErrConflict) {
			return intake.Case{}, patchday.Errorf(patchday.ErrConflict, "case %s was moved by someone else meanwhile; reload it and try again", c.Ref)
		}
		return intake.Case{}, err
	}
	c.State = string(req.To)
	if s.moved != nil {
		s.moved(ctx, c, m)
	}
	return c, nil
}

// Moves returns a case's history of moves, oldest first.
func (s *Service) Moves(ctx context.Context, caseID int64) ([]Move, error) {
	return s.store.CaseMoves(ctx, caseID)
}

// TriageOf returns a case's triage data.
func (s *Service) TriageOf(ctx context.Context, caseID int64) (Assessment, error) {
	return s.store.CaseTriage(ctx, caseID)
}

// SetTriage records a triager's assessment: the CVSS vector (scored here),
// the CWE, the affected versions and the assignee. Every problem is
// returned at once.
func (s *Service) SetTriage(ctx context.Context, a Actor, from, ref, vector, cweID string, affected []int64, assignee int64) (Assessment, error) {
	if err := a.Roles.Require(staff.RoleTriager); err != nil || a.Reporter || a.System {
		return Assessment{}, patchday.Errorf(patchday.ErrForbidden, "only a triager may set a case's triage data")
	}
	c, err := s.load(ctx, ref)
	if err != nil {
		return Assessment{}, err
	}
	if Terminal(State(c.State)) {
		return Assessment{}, patchday.Errorf(patchday.ErrConflict, "case %s is %s; its triage data can no longer change", c.Ref, c.State)
	}
	p := patchday.Problems{}
	t := Assessment{Affected: affected, Assignee: assignee}
	if v := strings.TrimSpace(vector); v != "" {
		sc, err := cvss.Parse(v)
		if err != nil {
			p.Add("cvss_vector", patchday.Message(err))
		}
		t.CVSSVector, t.CVSSVersion, t.CVSSScore, t.CVSSRating = sc.Vector, sc.Version, sc.Base, sc.Rating
	}
	if v := strings.TrimSpace(cweID); v != "" {
		id, err := cwe.Parse(v)
		if err != nil {
			p.Add("cwe", patchday.Message(err))
		}
		t.CWE = id
	}
	if err := p.Err("the triage was not saved"); err != nil {
		return Assessment{}, err
	}
	detail := fmt.Sprintf("CVSS %s, CWE-%d, %d affected versions", t.CVSSVector, t.CWE, len(t.Affected))
	e := audit.New(audit.Actor{Who: a.Email, From: from}, s.now(), "case.triage", "case:"+c.Ref, detail)
	if err := s.store.SetTriage(ctx, c.ID, t, e); err != nil {
		return Assessment{}, fmt.Errorf("triage %s: %w", c.Ref, err)
	}
	return t, nil
}

// ReporterAnswered returns a case that waits on its reporter (needs-info)
// to triage when the reporter writes; in any other state it does nothing.
func (s *Service) ReporterAnswered(ctx context.Context, ref string) error {
	c, err := s.load(ctx, ref)
	if err != nil || State(c.State) != NeedsInfo {
		return err
	}
	_, err = s.Move(ctx, Actor{Reporter: true}, "reporter", ref, Request{To: Triage})
	if errors.Is(err, patchday.ErrConflict) {
		return nil // someone moved it meanwhile; nothing to do
	}
	return err
}

// Suggest returns likely duplicates of a case, for triage: cases of the
// same product with similar reports or the same weakness.
func (s *Service) Suggest(ctx context.Context, ref string, max int) ([]Suggestion, error) {
	c, err := s.load(ctx, ref)
	if err != nil {
		return nil, err
	}
	all, err := s.store.ListCases(ctx)
	if err != nil {
		return nil, err
	}
	doc := func(c intake.Case) (Doc, error) {
		rs, err := s.store.CaseReports(ctx, c.ID)
		if err != nil || len(rs) == 0 {
			return Doc{}, err
		}
		t, err := s.store.CaseTriage(ctx, c.ID)
		if err != nil {
			return Doc{}, err
		}
		cweID := t.CWE
		if cweID == 0 {
			cweID = rs[0].CWE
		}
		return Doc{Ref: c.Ref, Product: rs[0].Product, CWE: cweID, Text: rs[0].Title + "\n" + rs[0].Description, State: State(c.State)}, nil
	}
	target, err := doc(c)
	if err != nil {
		return nil, err
	}
	var others []Doc
	for _, o := range all {
		if o.ID == c.ID {
			continue
		}
		d, err := doc(o)
		if err != nil {
			return nil, err
		}
		others = append(others, d)
	}
	return SuggestDuplicates(target, others, max), nil
}

// MergedInto returns the case a duplicate was merged into, if it was.
func (s *Service) MergedInto(ctx context.Context, c intake.Case) (intake.Case, bool, error) {
	if State(c.State) != Duplicate {
		return intake.Case{}, false, nil
	}
	moves, err := s.store.CaseMoves(ctx, c.ID)
	if err != nil {
		return intake.Case{}, false, err
	}
	for i := len(moves) - 1; i >= 0; i-- {
		if moves[i].To == Duplicate && moves[i].DuplicateOf != "" {
			orig, err := s.store.CaseByRef(ctx, moves[i].DuplicateOf)
			if err != nil {
				return intake.Case{}, false, err
			}
			return orig, true, nil
		}
	}
	return intake.Case{}, false, nil
}

// ClocksOf returns a case's SLA clocks now.
func (s *Service) ClocksOf(ctx context.Context, c intake.Case) ([]Clock, error) {
	moves, err := s.store.CaseMoves(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	t, err := s.store.CaseTriage(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.policyFor(ctx, c)
	if err != nil {
		return nil, err
	}
	return Clocks(c.CreatedAt, moves, t.CVSSRating, s.now(), p), nil
}

// policyFor returns the SLA policy of a case's product, or the default.
func (s *Service) policyFor(ctx context.Context, c intake.Case) (Policy, error) {
	if c.ProductID == 0 {
		return s.policy, nil
	}
	raw, err := s.store.ProductSLA(ctx, c.ProductID)
	if err != nil || raw == "" {
		return s.policy, err
	}
	return ParsePolicy(raw)
}

// Next returns the clock that runs out first among those not done, if any
// runs; a case that is closed out has none.
func Next(c intake.Case, clocks []Clock) (Clock, bool) {
	if Terminal(State(c.State)) {
		return Clock{}, false
	}
	var next Clock
	found := false
	for _, k := range clocks {
		if !k.Done && (!found || k.Due.Before(next.Due)) {
			next, found = k, true
		}
	}
	return next, found
}
