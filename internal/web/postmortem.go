package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/postmortem"
)

// Post-mortems: one case's lesson (page, form, comments, API) and the
// organisation's tenet list.

func pmActor(r *http.Request) postmortem.Actor {
	u := userFrom(r.Context())
	return postmortem.Actor{Email: u.Email, Roles: u.Roles, From: remote(r)}
}

// pmPage is the post-mortem page of one case.
type pmPage struct {
	View    postmortem.View
	Tenets  []postmortem.Tenet
	Methods []postmortem.Method
	// Form is what the form shows: the stored post-mortem, or what was
	// just submitted when it was refused.
	Form    postmortem.Draft
	Actions []postmortem.DraftAction // the form's rows: the actions plus blank ones
	CWEName string
	Teams   []string // teams named before, for the datalist
	CanEdit bool
}

// blankActions is how many empty follow-up rows the form offers.
const blankActions = 3

func draftOf(pm postmortem.PostMortem) postmortem.Draft {
	d := postmortem.Draft{RootCause: pm.RootCause, Component: pm.Component, Team: pm.Team, IntroducedVersion: pm.IntroducedVersion,
		IntroducedCommit: pm.IntroducedCommit, HowFound: pm.HowFound, WhyMissed: pm.WhyMissed, TenetID: pm.TenetID, Revision: pm.Revision}
	if pm.CWE != 0 {
		d.CWE = fmt.Sprintf("CWE-%d", pm.CWE)
	}
	for _, a := range pm.Actions {
		d.Actions = append(d.Actions, postmortem.DraftAction{What: a.What, Owner: a.Owner, Due: a.Due.Format(time.DateOnly), Done: a.Done})
	}
	return d
}

// draftFromForm reads the post-mortem form. Follow-up rows are numbered
// fields (actions.0.what, actions.0.owner, …); a row left empty is dropped
// by the service.
func draftFromForm(f url.Values) postmortem.Draft {
	d := postmortem.Draft{RootCause: f.Get("root_cause"), CWE: f.Get("cwe"), Component: f.Get("component"), Team: f.Get("team"),
		IntroducedVersion: f.Get("introduced_version"), IntroducedCommit: f.Get("introduced_commit"), HowFound: f.Get("how_found"),
		WhyMissed: f.Get("why_missed")}
	if t := strings.TrimSpace(f.Get("tenet")); t != "" {
		// A number the select did not offer is still a number; anything
		// else is refused by the service as an unknown tenet.
		d.TenetID, _ = strconv.ParseInt(t, 10, 64)
		if d.TenetID == 0 {
			d.TenetID = -1
		}
	}
	d.Revision, _ = strconv.Atoi(f.Get("revision"))
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("actions.%d.", i)
		if !f.Has(p+"what") && !f.Has(p+"owner") && !f.Has(p+"due") {
			break
		}
		d.Actions = append(d.Actions, postmortem.DraftAction{What: f.Get(p + "what"), Owner: f.Get(p + "owner"), Due: f.Get(p + "due"),
			Done: f.Get(p+"done") != ""})
	}
	return d
}

func (s *Server) postMortemPage(w http.ResponseWriter, r *http.Request) error {
	v, err := s.PostMortems.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := page{}
	if m := r.URL.Query().Get("done"); m != "" {
		p.Flash = m
	}
	return s.renderPostMortem(w, r, http.StatusOK, v, draftOf(v.PostMortem), p)
}

func (s *Server) renderPostMortem(w http.ResponseWriter, r *http.Request, code int, v postmortem.View, form postmortem.Draft, p page) error {
	tenets, err := s.PostMortems.Tenets(r.Context())
	if err != nil {
		return err
	}
	teams, _, err := s.PostMortems.Usage(r.Context())
	if err != nil {
		return err
	}
	d := pmPage{Teams: teams, View: v, Tenets: tenets, Methods: postmortem.Methods, Form: form, CanEdit: userFrom(r.Context()).Roles.HasAny(postmortem.Writers...)}
	if id, err := cwe.Parse(form.CWE); err == nil {
		d.CWEName = postmortem.CWEName(id)
	}
	d.Actions = append(append(d.Actions, form.Actions...), make([]postmortem.DraftAction, blankActions)...)
	p.Title, p.Data = "Post-mortem of "+v.Case.Ref, d
	s.render(w, r, code, "postmortem.html", p)
	return nil
}

func (s *Server) savePostMortem(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r, 1<<20); err != nil {
		return err
	}
	d := draftFromForm(r.PostForm)
	v, err := s.PostMortems.Save(r.Context(), pmActor(r), r.PathValue("id"), d)
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		cur, gerr := s.PostMortems.Get(r.Context(), r.PathValue("id"))
		if gerr != nil {
			return gerr
		}
		return s.renderPostMortem(w, r, status(err), cur, d, page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	done := "Saved. It is complete: the case can close once released."
	if !v.Complete() {
		done = fmt.Sprintf("Saved as a draft. Still missing: %d of the parts a closed case needs.", len(v.Missing))
	}
	http.Redirect(w, r, "/staff/cases/"+v.Case.Ref+"/postmortem?done="+urlQuery(done), http.StatusSeeOther)
	return nil
}

func (s *Server) commentPostMortem(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	ref := r.PathValue("id")
	_, err := s.PostMortems.Comment(r.Context(), pmActor(r), ref, r.PostForm.Get("body"))
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		v, gerr := s.PostMortems.Get(r.Context(), ref)
		if gerr != nil {
			return gerr
		}
		return s.renderPostMortem(w, r, status(err), v, draftOf(v.PostMortem), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/cases/"+strings.ToUpper(ref)+"/postmortem?done="+urlQuery("Your comment is added.")+"#comments", http.StatusSeeOther)
	return nil
}

// tenetsPage lists the tenets with forms to add, rename and retire.
func (s *Server) tenetsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderTenets(w, r, http.StatusOK, page{Flash: r.URL.Query().Get("done")})
}

type tenetsData struct {
	Tenets  []postmortem.Tenet
	Cited   map[int64]int
	CanEdit bool
}

func (s *Server) renderTenets(w http.ResponseWriter, r *http.Request, code int, p page) error {
	ts, err := s.PostMortems.Tenets(r.Context())
	if err != nil {
		return err
	}
	_, cited, err := s.PostMortems.Usage(r.Context())
	if err != nil {
		return err
	}
	d := tenetsData{Tenets: ts, Cited: cited, CanEdit: userFrom(r.Context()).Roles.HasAny(postmortem.TenetEditors...)}
	p.Title, p.Data = "Secure-coding tenets", d
	s.render(w, r, code, "tenets.html", p)
	return nil
}

func (s *Server) tenetAction(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	var err error
	var done string
	if id := r.PathValue("id"); id == "" {
		var t postmortem.Tenet
		t, err = s.PostMortems.AddTenet(r.Context(), pmActor(r), f.Get("title"), f.Get("description"))
		done = fmt.Sprintf("%q is added.", t.Title)
	} else {
		n, _ := strconv.ParseInt(id, 10, 64)
		var t postmortem.Tenet
		t, err = s.PostMortems.EditTenet(r.Context(), pmActor(r), n, f.Get("title"), f.Get("description"), f.Get("retired") != "")
		done = fmt.Sprintf("%q is saved.", t.Title)
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderTenets(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/tenets?done="+urlQuery(done), http.StatusSeeOther)
	return nil
}

// The JSON API.

type pmJSON struct {
	Case struct {
		ID       string    `json:"id"`
		Title    string    `json:"title"`
		State    string    `json:"state"`
		Product  string    `json:"product,omitempty"`
		Severity string    `json:"severity,omitempty"`
		Released time.Time `json:"released,omitzero"`
	} `json:"case"`
	Exists            bool                     `json:"exists"`
	Complete          bool                     `json:"complete"`
	Revision          int                      `json:"revision"`
	RootCause         string                   `json:"root_cause"`
	CWE               string                   `json:"cwe"`
	CWEName           string                   `json:"cwe_name,omitempty"`
	Component         string                   `json:"component"`
	Team              string                   `json:"team"`
	IntroducedVersion string                   `json:"introduced_version"`
	IntroducedCommit  string                   `json:"introduced_commit"`
	HowFound          string                   `json:"how_found"`
	WhyMissed         string                   `json:"why_missed"`
	Tenet             *postmortem.Tenet        `json:"tenet"`
	Actions           []postmortem.DraftAction `json:"actions"`
	Author            string                   `json:"author,omitempty"`
	EditedBy          string                   `json:"edited_by,omitempty"`
	CreatedAt         time.Time                `json:"created_at,omitzero"`
	UpdatedAt         time.Time                `json:"updated_at,omitzero"`
	Missing           []postmortem.Gap         `json:"missing"`
	Comments          []commentJSON            `json:"comments"`
}

type commentJSON struct {
	ID     int64     `json:"id"`
	Author string    `json:"author"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

func toPMJSON(v postmortem.View) pmJSON {
	pm := v.PostMortem
	d := draftOf(pm)
	out := pmJSON{Exists: v.Exists, Complete: v.Complete(), Revision: pm.Revision, RootCause: pm.RootCause, CWE: d.CWE, CWEName: postmortem.CWEName(pm.CWE),
		Component: pm.Component, Team: pm.Team, IntroducedVersion: pm.IntroducedVersion, IntroducedCommit: pm.IntroducedCommit,
		HowFound: pm.HowFound, WhyMissed: pm.WhyMissed, Actions: d.Actions, Author: pm.Author, EditedBy: pm.EditedBy,
		CreatedAt: pm.CreatedAt, UpdatedAt: pm.UpdatedAt, Missing: v.Missing, Comments: []commentJSON{}}
	out.Case.ID, out.Case.Title, out.Case.State, out.Case.Product, out.Case.Severity, out.Case.Released =
		v.Case.Ref, v.Case.Title, v.Case.State, v.Case.Product, v.Case.Severity, v.Case.Released
	if out.Actions == nil {
		out.Actions = []postmortem.DraftAction{}
	}
	if out.Missing == nil {
		out.Missing = []postmortem.Gap{}
	}
	if v.Tenet.ID != 0 {
		t := v.Tenet
		out.Tenet = &t
	}
	for _, c := range v.Comments {
		out.Comments = append(out.Comments, commentJSON{ID: c.ID, Author: c.Author, Body: c.Body, At: c.At})
	}
	return out
}

func (s *Server) apiPostMortem(w http.ResponseWriter, r *http.Request) error {
	v, err := s.PostMortems.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPMJSON(v))
	return nil
}

func (s *Server) apiPutPostMortem(w http.ResponseWriter, r *http.Request) error {
	var d postmortem.Draft
	if err := decodeBody(w, r, &d, 1<<20, true); err != nil {
		return err
	}
	v, err := s.PostMortems.Save(r.Context(), pmActor(r), r.PathValue("id"), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPMJSON(v))
	return nil
}

func (s *Server) apiCommentPostMortem(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body string `json:"body"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.PostMortems.Comment(r.Context(), pmActor(r), r.PathValue("id"), in.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, commentJSON{ID: c.ID, Author: c.Author, Body: c.Body, At: c.At})
	return nil
}

func (s *Server) apiTenets(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.PostMortems.Tenets(r.Context())
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []postmortem.Tenet{}
	}
	writeJSON(w, http.StatusOK, ts)
	return nil
}

type tenetIn struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Retired     bool   `json:"retired"`
}

func (s *Server) apiAddTenet(w http.ResponseWriter, r *http.Request) error {
	var in tenetIn
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if in.Retired {
		return patchday.Errorf(patchday.ErrInvalid, "retired: a new tenet cannot start retired")
	}
	t, err := s.PostMortems.AddTenet(r.Context(), pmActor(r), in.Title, in.Description)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (s *Server) apiPutTenet(w http.ResponseWriter, r *http.Request) error {
	var in tenetIn
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return patchday.Errorf(patchday.ErrNotFound, "there is no tenet %q", r.PathValue("id"))
	}
	t, err := s.PostMortems.EditTenet(r.Context(), pmActor(r), id, in.Title, in.Description, in.Retired)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
