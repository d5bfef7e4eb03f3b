package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/postmortem"
)

// A release's monthly briefing: generated from its post-mortems and
// advisories, edited, then shared (and fixed) — material for a security
// webcast or seminar, printable from the browser.

type briefingData struct {
	View    postmortem.BriefingView
	Name    string
	Form    postmortem.Briefing
	CanEdit bool
}

func releaseID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, patchday.Errorf(patchday.ErrNotFound, "there is no release %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) briefingPage(w http.ResponseWriter, r *http.Request) error {
	id, err := releaseID(r)
	if err != nil {
		return err
	}
	v, err := s.PostMortems.Briefing(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderBriefing(w, r, http.StatusOK, v, v.Briefing, page{Flash: r.URL.Query().Get("done")})
}

func (s *Server) renderBriefing(w http.ResponseWriter, r *http.Request, code int, v postmortem.BriefingView, form postmortem.Briefing, p page) error {
	d := briefingData{View: v, Name: postmortem.ReleaseName(v.Release), Form: form,
		CanEdit: !v.Briefing.Shared() && userFrom(r.Context()).Roles.HasAny(postmortem.BriefingEditors...)}
	p.Title, p.Data = v.Briefing.Title, d
	s.render(w, r, code, "briefing.html", p)
	return nil
}

// briefingFromForm reads the edit form: items are numbered fields.
func briefingFromForm(r *http.Request) postmortem.Briefing {
	f := r.PostForm
	b := postmortem.Briefing{Title: f.Get("title"), Intro: f.Get("intro"), Takeaways: f.Get("takeaways")}
	for i := 0; i < 201; i++ {
		p := fmt.Sprintf("items.%d.", i)
		if !f.Has(p + "heading") {
			break
		}
		b.Items = append(b.Items, postmortem.BriefingItem{Case: f.Get(p + "case"), Advisory: f.Get(p + "advisory"), Heading: f.Get(p + "heading"),
			Fixed: f.Get(p + "fixed"), Why: f.Get(p + "why"), Differently: f.Get(p + "differently")})
	}
	return b
}

func (s *Server) briefingAction(w http.ResponseWriter, r *http.Request) error {
	id, err := releaseID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r, 1<<20); err != nil {
		return err
	}
	var form postmortem.Briefing
	var done string
	switch r.PostForm.Get("action") {
	case "save":
		form = briefingFromForm(r)
		_, err = s.PostMortems.EditBriefing(r.Context(), pmActor(r), id, form)
		done = "The briefing is saved. Share it when it is ready."
	case "regenerate":
		_, err = s.PostMortems.RegenerateBriefing(r.Context(), pmActor(r), id)
		done = "The briefing is drawn afresh from the post-mortems and advisories."
	case "share":
		_, err = s.PostMortems.ShareBriefing(r.Context(), pmActor(r), id)
		done = "The briefing is shared; it no longer changes."
	default:
		return patchday.Errorf(patchday.ErrInvalid, "action: say save, regenerate or share")
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		v, gerr := s.PostMortems.Briefing(r.Context(), id)
		if gerr != nil {
			return gerr
		}
		if form.Title == "" && len(form.Items) == 0 {
			form = v.Briefing
		}
		return s.renderBriefing(w, r, status(err), v, form, page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/staff/releases/%d/briefing?done=%s", id, urlQuery(done)), http.StatusSeeOther)
	return nil
}

type briefingJSON struct {
	postmortem.Briefing
	Generated bool     `json:"generated"`
	Shared    bool     `json:"shared"`
	Pending   []string `json:"pending"`
}

func toBriefingJSON(v postmortem.BriefingView) briefingJSON {
	out := briefingJSON{Briefing: v.Briefing, Generated: v.Generated, Shared: v.Briefing.Shared(), Pending: v.Pending}
	if out.Items == nil {
		out.Items = []postmortem.BriefingItem{}
	}
	if out.Pending == nil {
		out.Pending = []string{}
	}
	return out
}

// apiBriefingWith answers with the release's briefing as fn leaves it.
func apiBriefingWith(fn func(r *http.Request, id int64) (postmortem.BriefingView, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := releaseID(r)
		if err != nil {
			return err
		}
		v, err := fn(r, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toBriefingJSON(v))
		return nil
	}
}

func (s *Server) apiBriefing(r *http.Request, id int64) (postmortem.BriefingView, error) {
	return s.PostMortems.Briefing(r.Context(), id)
}

func (s *Server) apiShareBriefing(r *http.Request, id int64) (postmortem.BriefingView, error) {
	return s.PostMortems.ShareBriefing(r.Context(), pmActor(r), id)
}

func (s *Server) apiPutBriefing(w http.ResponseWriter, r *http.Request) error {
	id, err := releaseID(r)
	if err != nil {
		return err
	}
	var in struct {
		Title     string                    `json:"title"`
		Intro     string                    `json:"intro"`
		Items     []postmortem.BriefingItem `json:"items"`
		Takeaways string                    `json:"takeaways"`
	}
	if err := decodeBody(w, r, &in, 1<<20, true); err != nil {
		return err
	}
	v, err := s.PostMortems.EditBriefing(r.Context(), pmActor(r), id, postmortem.Briefing{Title: in.Title, Intro: in.Intro, Items: in.Items, Takeaways: in.Takeaways})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBriefingJSON(v))
	return nil
}
