package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/staff"
)

// Case handling on the staff case page and in the API: moves and triage.

func caseActor(u staff.User) cases.Actor {
	return cases.Actor{UserID: u.ID, Email: u.Email, Roles: u.Roles}
}

// handlingView is what the staff case page shows of case handling.
type handlingView struct {
	Allowed    []cases.State
	Moves      []cases.Move
	Assessment cases.Assessment
	CWEName    string
	Products   []product.WithVersions
	Affected   map[int64]bool
	Users      []staff.User
	CanTriage  bool
	CanFlag    bool
	Reasons    []string
	FlagsSet   []cases.FlagSet
	AllFlags   []cases.Flag
	OutOfBand  *cases.FlagSet
	Suggested  []cases.Suggestion
	Clocks     []cases.Clock
	Fixes      fixesView
	// Regulatory reporting: the case's clocks once it is reported.
	CRA *craRow
	// PostMortem is the case's post-mortem once it can have one.
	PostMortem *postmortem.View
	CRAZone    string
	// A refused move or triage, kept for the form.
	Move cases.Request
}

func (s *Server) loadHandling(r *http.Request, c intake.Case) (handlingView, error) {
	caseID, ref := c.ID, c.Ref
	u := userFrom(r.Context())
	allowed, err := s.Cases.Allowed(r.Context(), caseActor(u), ref)
	if err != nil {
		return handlingView{}, err
	}
	moves, err := s.Cases.Moves(r.Context(), caseID)
	if err != nil {
		return handlingView{}, err
	}
	a, err := s.Cases.TriageOf(r.Context(), caseID)
	if err != nil {
		return handlingView{}, err
	}
	fs, err := s.Cases.FlagsOf(r.Context(), caseID)
	if err != nil {
		return handlingView{}, err
	}
	h := handlingView{Allowed: allowed, Moves: moves, Assessment: a, Affected: map[int64]bool{},
		CanTriage: u.Roles.Has(staff.RoleTriager), Reasons: cases.InvalidReasons, FlagsSet: fs, AllFlags: cases.Flags,
		CanFlag: u.Roles.Has(staff.RoleTriager) || u.Roles.Has(staff.RoleReleaseManager)}
	if oob, ok := cases.OutOfBand(fs); ok {
		h.OutOfBand = &oob
	}
	if h.Fixes, err = s.loadFixes(r, c, a.Affected); err != nil {
		return handlingView{}, err
	}
	if s.CRA != nil {
		h.CRAZone = s.CRA.Organisation().TimeZone.String()
		if v, err := s.CRA.OfCase(r.Context(), caseID); err == nil {
			h.CRA = &craRow{View: v, Clocks: s.clockViews(v)}
		} else if !errors.Is(err, patchday.ErrNotFound) {
			return handlingView{}, err
		}
	}
	if s.PostMortems != nil && !slices.Contains([]cases.State{cases.Received, cases.Triage, cases.NeedsInfo, cases.Invalid, cases.Duplicate}, cases.State(c.State)) {
		v, err := s.PostMortems.Get(r.Context(), c.Ref)
		if err != nil {
			return handlingView{}, err
		}
		h.PostMortem = &v
	}
	if !cases.Terminal(cases.State(c.State)) {
		if h.Clocks, err = s.Cases.ClocksOf(r.Context(), c); err != nil {
			return handlingView{}, err
		}
	}
	if st := cases.State(c.State); st == cases.Received || st == cases.Triage {
		if h.Suggested, err = s.Cases.Suggest(r.Context(), ref, 5); err != nil {
			return handlingView{}, err
		}
	}
	for _, v := range a.Affected {
		h.Affected[v] = true
	}
	if w, ok := cwe.Lookup(a.CWE); ok {
		h.CWEName = w.Name
	}
	if h.CanTriage {
		if h.Products, err = s.Products.List(r.Context()); err != nil {
			return handlingView{}, err
		}
		if h.Users, err = s.Staff.ListUsers(r.Context()); err != nil {
			return handlingView{}, err
		}
	}
	return h, nil
}

// startClocks starts a flagged case's reporting clocks, unless they run
// already (from the first awareness), and shows them.
func (s *Server) startClocks(w http.ResponseWriter, r *http.Request, aware time.Time, note string) error {
	flagged := "/staff/cases/" + r.PathValue("id") + "?flagged=" + string(cases.AttacksObserved)
	c, _, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := s.CRA.OfCase(r.Context(), c.ID); err == nil {
		http.Redirect(w, r, flagged+"#flags", http.StatusSeeOther)
		return nil
	}
	rep, err := s.CRA.OpenForCase(r.Context(), craActor(r), c.ID, aware, r.PostForm.Get("malicious"))
	switch {
	case errors.Is(err, patchday.ErrConflict): // the flag stands; the clocks wait for what the case lacks
		http.Redirect(w, r, flagged+"&cra=waiting#flags", http.StatusSeeOther)
		return nil
	case errors.Is(err, patchday.ErrInvalid):
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: "The flag is set, but the reporting clocks did not start: " + patchday.Summary(err),
			Fields: patchday.FieldErrors(err)}, cases.Request{})
	case err != nil:
		return err
	}
	http.Redirect(w, r, clocksStarted(rep.ID, note), http.StatusSeeOther)
	return nil
}

func (s *Server) moveCase(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	req := cases.Request{To: cases.State(f.Get("to")), Reason: f.Get("reason"), DuplicateOf: f.Get("duplicate_of"), Comment: f.Get("comment")}
	_, err := s.Cases.Move(r.Context(), caseActor(userFrom(r.Context())), remote(r), r.PathValue("id"), req)
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrForbidden) {
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, req)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?moved="+string(req.To), http.StatusSeeOther)
	return nil
}

func (s *Server) triageCase(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	var affected []int64
	for _, v := range f["affected"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return patchday.Errorf(patchday.ErrInvalid, "the affected versions could not be read")
		}
		affected = append(affected, id)
	}
	var assignee int64
	if v := f.Get("assignee"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return patchday.Errorf(patchday.ErrInvalid, "the assignee could not be read")
		}
		assignee = id
	}
	_, err := s.Cases.SetTriage(r.Context(), caseActor(userFrom(r.Context())), remote(r), r.PathValue("id"),
		f.Get("cvss_vector"), f.Get("cwe"), affected, assignee)
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, cases.Request{})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?triaged=1#triage", http.StatusSeeOther)
	return nil
}

// API.

type apiMoveIn struct {
	To          string `json:"to"`
	Reason      string `json:"reason"`
	DuplicateOf string `json:"duplicate_of"`
	Comment     string `json:"comment"`
}

type apiMoveOut struct {
	ID      string   `json:"id"`
	State   string   `json:"state"`
	Allowed []string `json:"allowed"`
}

func states(ss []cases.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func (s *Server) apiMoveCase(w http.ResponseWriter, r *http.Request) error {
	var in apiMoveIn
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	a := caseActor(userFrom(r.Context()))
	c, err := s.Cases.Move(r.Context(), a, remote(r), r.PathValue("id"),
		cases.Request{To: cases.State(in.To), Reason: in.Reason, DuplicateOf: in.DuplicateOf, Comment: in.Comment})
	if err != nil {
		return err
	}
	allowed, err := s.Cases.Allowed(r.Context(), a, c.Ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiMoveOut{ID: c.Ref, State: c.State, Allowed: states(allowed)})
	return nil
}

func (s *Server) flagCase(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	// "attacks observed" starts the regulatory clocks from when the
	// organisation became aware: read that first, so bad input changes
	// nothing.
	var aware time.Time
	var awareNote string
	if f.Get("flag") == string(cases.AttacksObserved) && s.CRA != nil && f.Get("aware_at") != "" {
		var err error
		aware, awareNote, err = cra.ParseAware(f.Get("aware_at"), s.CRA.Organisation().TimeZone)
		if err == nil && aware.After(s.Now().Add(time.Minute)) {
			err = errors.New("awareness cannot be in the future")
		}
		if err != nil {
			return s.renderStaffCaseMove(w, r, http.StatusUnprocessableEntity, page{Flash: "the flag was not set",
				Fields: map[string]string{"aware_at": patchday.Summary(err)}}, cases.Request{})
		}
	}
	var at time.Time
	if v := f.Get("at"); v != "" {
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			return s.renderStaffCaseMove(w, r, http.StatusUnprocessableEntity, page{Flash: "the flag was not set",
				Fields: map[string]string{"at": "write the date and time as 2026-11-24T09:30 (UTC)"}}, cases.Request{})
		}
		at = t
	}
	set, err := s.Cases.SetFlag(r.Context(), caseActor(userFrom(r.Context())), remote(r), r.PathValue("id"), f.Get("flag"), at)
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrForbidden) {
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, cases.Request{})
	} else if err != nil {
		return err
	}
	if set.Flag == cases.AttacksObserved && s.CRA != nil {
		if aware.IsZero() {
			aware = set.At
		}
		return s.startClocks(w, r, aware, awareNote)
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?flagged="+f.Get("flag")+"#flags", http.StatusSeeOther)
	return nil
}
