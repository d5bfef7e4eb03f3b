package postmortem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/training"
)

// Records is what post-mortems read of cases, products and releases; the
// store holds all of it.
type Records interface {
	CaseByRef(ctx context.Context, ref string) (intake.Case, error)
	ListCases(ctx context.Context) ([]intake.Case, error)
	CaseTriage(ctx context.Context, caseID int64) (cases.Assessment, error)
	CaseMoves(ctx context.Context, caseID int64) ([]cases.Move, error)
	ListProducts(ctx context.Context) ([]product.Product, error)
	ListVersions(ctx context.Context) ([]product.Version, error)
	ReleaseByID(ctx context.Context, id int64) (release.Release, error)
	ReleaseCases(ctx context.Context, releaseID int64) ([]int64, error)
	ReleaseAdvisories(ctx context.Context, releaseID int64) ([]release.Draft, error)
}

// Actor is a staff member at work on post-mortems.
type Actor struct {
	Email string
	Roles staff.Roles
	From  string
}

func (a Actor) audit() audit.Actor { return audit.Actor{Who: a.Email, From: a.From} }

// Who may do what. Writing a post-mortem is case work; anyone on staff
// may review (comment); the tenet list is the triagers' (who lead case
// handling) and admins'; briefings are release managers' and triagers'.
var (
	Writers         = []staff.Role{staff.RoleTriager, staff.RoleDeveloper, staff.RoleTester, staff.RoleReleaseManager}
	TenetEditors    = []staff.Role{staff.RoleTriager, staff.RoleAdmin}
	BriefingEditors = []staff.Role{staff.RoleReleaseManager, staff.RoleTriager}
)

func (a Actor) may(roles []staff.Role, what string) error {
	if a.Roles.HasAny(roles...) {
		return nil
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return patchday.Errorf(patchday.ErrForbidden, "%s needs one of the roles %s", what, strings.Join(names, ", "))
}

// Service writes and reads post-mortems, tenets and briefings.
type Service struct {
	store Store
	rec   Records
	now   func() time.Time
}

// NewService returns a service over st and rec; now defaults to time.Now.
func NewService(st Store, rec Records, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, rec: rec, now: now}
}

// Case is what a post-mortem shows of its case.
type Case struct {
	ID       int64
	Ref      string
	Title    string
	State    string
	Product  string
	Severity string // the CVSS rating
	CWE      int    // from triage
	Versions []string
	// Released is when the case moved to released; zero before.
	Released time.Time
}

// View is a case's post-mortem with what pages and the API show beside
// it. A case without one gets a draft filled in from its triage.
type View struct {
	Case       Case
	PostMortem PostMortem
	Exists     bool
	Missing    []Gap
	Tenet      Tenet // the cited tenet; zero if none
	Comments   []Comment
}

// Complete reports whether the post-mortem is saved and lacks nothing.
func (v View) Complete() bool { return v.Exists && len(v.Missing) == 0 }

// States in which a case has nothing to learn from yet, or never will.
var notYet = []cases.State{cases.Received, cases.Triage, cases.NeedsInfo, cases.Invalid, cases.Duplicate}

func (s *Service) caseOf(ctx context.Context, c intake.Case) (Case, error) {
	out := Case{ID: c.ID, Ref: c.Ref, Title: c.Title, State: c.State}
	t, err := s.rec.CaseTriage(ctx, c.ID)
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return Case{}, err
	}
	out.Severity, out.CWE = t.CVSSRating, t.CWE
	productID := c.ProductID
	if len(t.Affected) > 0 || productID == 0 {
		vs, err := s.rec.ListVersions(ctx)
		if err != nil {
			return Case{}, err
		}
		for _, v := range vs {
			if slices.Contains(t.Affected, v.ID) {
				out.Versions = append(out.Versions, v.Version)
				if productID == 0 {
					productID = v.ProductID
				}
			}
		}
	}
	if productID != 0 {
		ps, err := s.rec.ListProducts(ctx)
		if err != nil {
			return Case{}, err
		}
		if i := slices.IndexFunc(ps, func(p product.Product) bool { return p.ID == productID }); i >= 0 {
			out.Product = ps[i].Name
		}
	}
	moves, err := s.rec.CaseMoves(ctx, c.ID)
	if err != nil {
		return Case{}, err
	}
	for _, m := range moves {
		if m.To == cases.Released {
			out.Released = m.At
		}
	}
	return out, nil
}

func (s *Service) load(ctx context.Context, ref string) (intake.Case, error) {
	c, err := s.rec.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return intake.Case{}, patchday.Errorf(patchday.ErrNotFound, "there is no case %s", ref)
	}
	return c, err
}

// Get returns a case's post-mortem view.
func (s *Service) Get(ctx context.Context, ref string) (View, error) {
	c, err := s.load(ctx, ref)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, c)
}

func (s *Service) view(ctx context.Context, c intake.Case) (View, error) {
	info, err := s.caseOf(ctx, c)
	if err != nil {
		return View{}, err
	}
	v := View{Case: info}
	pm, err := s.store.PostMortemOf(ctx, c.ID)
	switch {
	case err == nil:
		v.PostMortem, v.Exists = pm, true
	case errors.Is(err, patchday.ErrNotFound):
		// A start from what triage settled: the CWE and, when the case
		// came from outside, how it was found.
		v.PostMortem = PostMortem{CaseID: c.ID, CWE: info.CWE, HowFound: "external-researcher"}
	default:
		return View{}, err
	}
	v.Missing = v.PostMortem.Missing()
	if v.PostMortem.TenetID != 0 {
		ts, err := s.store.ListTenets(ctx)
		if err != nil {
			return View{}, err
		}
		if i := slices.IndexFunc(ts, func(t Tenet) bool { return t.ID == v.PostMortem.TenetID }); i >= 0 {
			v.Tenet = ts[i]
		}
	}
	if v.Comments, err = s.store.PostMortemComments(ctx, c.ID); err != nil {
		return View{}, err
	}
	return v, nil
}

// Save stores a new revision of a case's post-mortem from d. Drafts may
// be incomplete; a case can close only once nothing is missing. Saving
// over a revision newer than the one edited is refused (ErrConflict).
func (s *Service) Save(ctx context.Context, a Actor, ref string, d Draft) (View, error) {
	if err := a.may(Writers, "writing a post-mortem"); err != nil {
		return View{}, err
	}
	c, err := s.load(ctx, ref)
	if err != nil {
		return View{}, err
	}
	if slices.Contains(notYet, cases.State(c.State)) {
		return View{}, patchday.Errorf(patchday.ErrConflict, "case %s is %s: a post-mortem is written once a case is accepted", c.Ref, c.State)
	}
	old, err := s.store.PostMortemOf(ctx, c.ID)
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return View{}, err
	}
	tenets, err := s.store.ListTenets(ctx)
	if err != nil {
		return View{}, err
	}
	pm := PostMortem{CaseID: c.ID}
	if err := d.parse(tenets, old.TenetID, &pm); err != nil {
		return View{}, err
	}
	if old.Revision > 0 && cases.State(c.State) == cases.Closed && len(pm.Missing()) > 0 {
		return View{}, (patchday.Problems{"post_mortem": "a closed case's post-mortem must stay complete: " + gaps(pm.Missing())}).Err("the post-mortem was not saved")
	}
	now := s.now().UTC()
	pm.Revision, pm.EditedBy, pm.UpdatedAt = d.Revision+1, a.Email, now
	pm.Author, pm.CreatedAt = old.Author, old.CreatedAt
	if old.Revision == 0 {
		pm.Author, pm.CreatedAt = a.Email, now
	}
	detail := fmt.Sprintf("revision %d", pm.Revision)
	if m := pm.Missing(); len(m) > 0 {
		detail += "; still missing " + gaps(m)
	} else {
		detail += "; complete"
	}
	if err := s.store.SavePostMortem(ctx, pm, audit.New(a.audit(), now, "postmortem.save", "case:"+c.Ref, detail)); err != nil {
		return View{}, err
	}
	return s.view(ctx, c)
}

func gaps(m []Gap) string {
	out := make([]string, len(m))
	for i, g := range m {
		out[i] = g.What
	}
	return strings.Join(out, ", ")
}

// Comment adds a reviewer's comment to a case's post-mortem.
func (s *Service) Comment(ctx context.Context, a Actor, ref, body string) (Comment, error) {
	c, err := s.load(ctx, ref)
	if err != nil {
		return Comment{}, err
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return Comment{}, (patchday.Problems{"body": "write the comment"}).Err("the comment was not added")
	case !utf8.ValidString(body):
		return Comment{}, (patchday.Problems{"body": "is not valid UTF-8"}).Err("the comment was not added")
	case utf8.RuneCountInString(body) > maxText:
		return Comment{}, (patchday.Problems{"body": fmt.Sprintf("is longer than %d characters", maxText)}).Err("the comment was not added")
	}
	if _, err := s.store.PostMortemOf(ctx, c.ID); errors.Is(err, patchday.ErrNotFound) {
		return Comment{}, patchday.Errorf(patchday.ErrConflict, "case %s has no post-mortem to comment on yet", c.Ref)
	} else if err != nil {
		return Comment{}, err
	}
	now := s.now().UTC()
	cm := Comment{CaseID: c.ID, Author: a.Email, Body: body, At: now}
	if err := s.store.AddPostMortemComment(ctx, &cm, audit.New(a.audit(), now, "postmortem.comment", "case:"+c.Ref, "")); err != nil {
		return Comment{}, err
	}
	return cm, nil
}

// Done reports whether a case has a complete post-mortem: the fact the
// released → closed move waits for.
func (s *Service) Done(ctx context.Context, caseID int64) (bool, error) {
	pm, err := s.store.PostMortemOf(ctx, caseID)
	if errors.Is(err, patchday.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return pm.Complete(), nil
}

// Tenets returns the tenet list, retired ones too.
func (s *Service) Tenets(ctx context.Context) ([]Tenet, error) { return s.store.ListTenets(ctx) }

func checkTenet(title, description string) (string, string, error) {
	title, description = strings.TrimSpace(title), strings.TrimSpace(description)
	p := patchday.Problems{}
	switch {
	case title == "":
		p.Add("title", "name the tenet")
	case !utf8.ValidString(title) || strings.ContainsAny(title, "\r\n"):
		p.Add("title", "must be one line of text")
	case utf8.RuneCountInString(title) > maxName:
		p.Add("title", fmt.Sprintf("is longer than %d characters", maxName))
	}
	if !utf8.ValidString(description) {
		p.Add("description", "is not valid UTF-8")
	} else if utf8.RuneCountInString(description) > maxName*10 {
		p.Add("description", fmt.Sprintf("is longer than %d characters", maxName*10))
	}
	return title, description, p.Err("the tenet was not saved")
}

// AddTenet adds a tenet to the list.
func (s *Service) AddTenet(ctx context.Context, a Actor, title, description string) (Tenet, error) {
	if err := a.may(TenetEditors, "editing the tenet list"); err != nil {
		return Tenet{}, err
	}
	title, description, err := checkTenet(title, description)
	if err != nil {
		return Tenet{}, err
	}
	now := s.now().UTC()
	t := Tenet{Title: title, Description: description, CreatedAt: now}
	if err := s.store.CreateTenet(ctx, &t, audit.New(a.audit(), now, "tenet.create", "tenet:"+title, "")); err != nil {
		return Tenet{}, err
	}
	return t, nil
}

// EditTenet renames, redescribes, retires or restores a tenet. Post-
// mortems cite tenets by id, so a rename carries over to them.
func (s *Service) EditTenet(ctx context.Context, a Actor, id int64, title, description string, retired bool) (Tenet, error) {
	if err := a.may(TenetEditors, "editing the tenet list"); err != nil {
		return Tenet{}, err
	}
	title, description, err := checkTenet(title, description)
	if err != nil {
		return Tenet{}, err
	}
	ts, err := s.store.ListTenets(ctx)
	if err != nil {
		return Tenet{}, err
	}
	i := slices.IndexFunc(ts, func(t Tenet) bool { return t.ID == id })
	if i < 0 {
		return Tenet{}, patchday.Errorf(patchday.ErrNotFound, "there is no tenet %d", id)
	}
	t := ts[i]
	var what []string
	if t.Title != title {
		what = append(what, fmt.Sprintf("renamed from %q", t.Title))
	}
	if t.Description != description {
		what = append(what, "description changed")
	}
	if t.Retired != retired {
		what = append(what, map[bool]string{true: "retired", false: "restored"}[retired])
	}
	t.Title, t.Description, t.Retired = title, description, retired
	if len(what) == 0 {
		return t, nil
	}
	if err := s.store.UpdateTenet(ctx, t, audit.New(a.audit(), s.now(), "tenet.update", "tenet:"+title, strings.Join(what, "; "))); err != nil {
		return Tenet{}, err
	}
	return t, nil
}

// Usage says which teams post-mortems name (sorted, for a picker) and how
// many post-mortems cite each tenet, drafts included.
func (s *Service) Usage(ctx context.Context) (teams []string, cited map[int64]int, err error) {
	pms, err := s.store.ListPostMortems(ctx)
	if err != nil {
		return nil, nil, err
	}
	cited = map[int64]int{}
	for _, pm := range pms {
		if pm.Team != "" && !slices.Contains(teams, pm.Team) {
			teams = append(teams, pm.Team)
		}
		if pm.TenetID != 0 {
			cited[pm.TenetID]++
		}
	}
	slices.Sort(teams)
	return teams, cited, nil
}

// Lessons returns every complete post-mortem as the training reports
// count it, dated by when its case was released (or, for a case that
// never was, when the post-mortem was first saved).
func (s *Service) Lessons(ctx context.Context) ([]training.Lesson, error) {
	pms, err := s.store.ListPostMortems(ctx)
	if err != nil {
		return nil, err
	}
	tenets, err := s.store.ListTenets(ctx)
	if err != nil {
		return nil, err
	}
	title := map[int64]string{}
	for _, t := range tenets {
		title[t.ID] = t.Title
	}
	list, err := s.rec.ListCases(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]intake.Case{}
	for _, c := range list {
		byID[c.ID] = c
	}
	var out []training.Lesson
	for _, pm := range pms {
		if !pm.Complete() {
			continue
		}
		c := byID[pm.CaseID]
		l := training.Lesson{Case: c.Ref, Team: pm.Team, Component: pm.Component, CWE: pm.CWE, Tenet: title[pm.TenetID],
			HowFound: MethodTitle(pm.HowFound), At: pm.CreatedAt}
		moves, err := s.rec.CaseMoves(ctx, pm.CaseID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Ref, err)
		}
		for _, m := range moves {
			if m.To == cases.Released {
				l.At = m.At
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// CWEName formats a weakness for people: "CWE-787 Out-of-bounds Write".
func CWEName(id int) string {
	if id == 0 {
		return ""
	}
	if w, ok := cwe.Lookup(id); ok {
		return fmt.Sprintf("CWE-%d %s", id, w.Name)
	}
	return fmt.Sprintf("CWE-%d", id)
}
