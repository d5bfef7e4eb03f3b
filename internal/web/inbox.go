package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/staff"
)

// The staff inbox: every case, newest first, filtered by product, state
// and age; a case page with its reports, files and thread.

type inboxRow struct {
	intake.Case
	Product string
	Age     string
	Next    *cases.Clock // the SLA clock that runs out first
	CRA     *clockView   // the regulatory reporting clock that runs out first
}

type inboxData struct {
	Rows     []inboxRow
	Products []product.WithVersions
	States   []string
	// The filters as given.
	Product, State, Age string
}

// ages are the inbox's age filters.
var ages = map[string]time.Duration{"1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := inboxData{Product: q.Get("product"), State: q.Get("state"), Age: q.Get("age")}
	cs, err := s.Intake.List(r.Context())
	if err != nil {
		return err
	}
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	states := map[string]bool{}
	now := s.Now()
	// Regulatory clocks by case: one query for all reports.
	regulatory := map[int64]clockView{}
	if s.CRA != nil {
		vs, err := s.CRA.List(r.Context())
		if err != nil {
			return err
		}
		for _, v := range vs {
			if c, ok := v.Next(); ok && v.CaseID != 0 {
				for _, cv := range s.clockViews(v) {
					if cv.Stage == c.Stage {
						regulatory[v.CaseID] = cv
					}
				}
			}
		}
	}
	for _, c := range cs {
		states[c.State] = true
		if d.State != "" && c.State != d.State {
			continue
		}
		if d.Product != "" && names[c.ProductID] != d.Product && !(d.Product == "other" && c.ProductID == 0) {
			continue
		}
		if max, ok := ages[d.Age]; ok && now.Sub(c.CreatedAt) > max {
			continue
		}
		row := inboxRow{Case: c, Product: names[c.ProductID], Age: age(now.Sub(c.CreatedAt))}
		clocks, err := s.Cases.ClocksOf(r.Context(), c)
		if err != nil {
			return err
		}
		if next, ok := cases.Next(c, clocks); ok {
			row.Next = &next
		}
		if cv, ok := regulatory[c.ID]; ok {
			row.CRA = &cv
		}
		d.Rows = append(d.Rows, row)
	}
	// Sorted by the SLA deadline that runs out first; closed-out cases last.
	slices.SortStableFunc(d.Rows, func(a, b inboxRow) int {
		switch {
		case a.Next == nil && b.Next == nil:
			return 0
		case a.Next == nil:
			return 1
		case b.Next == nil:
			return -1
		}
		return a.Next.Due.Compare(b.Next.Due)
	})
	for st := range states {
		d.States = append(d.States, st)
	}
	d.Products = ps
	s.render(w, r, http.StatusOK, "inbox.html", page{Title: "Inbox", Data: d})
	return nil
}

// age says how long ago, coarsely: "3 h", "2 d".
func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " d"
}

func (s *Server) staffCase(w http.ResponseWriter, r *http.Request) error {
	return s.renderStaffCase(w, r, http.StatusOK, page{}, "")
}

func (s *Server) renderStaffCase(w http.ResponseWriter, r *http.Request, code int, p page, body string) error {
	return s.renderStaffCaseFull(w, r, code, p, body, cases.Request{})
}

func (s *Server) renderStaffCaseMove(w http.ResponseWriter, r *http.Request, code int, p page, req cases.Request) error {
	return s.renderStaffCaseFull(w, r, code, p, "", req)
}

func (s *Server) renderStaffCaseFull(w http.ResponseWriter, r *http.Request, code int, p page, body string, req cases.Request) error {
	c, rs, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.loadCase(r, c, rs, true)
	if err != nil {
		return err
	}
	d.Staff, d.CanReply, d.Body = true, userFrom(r.Context()).Roles.Has(staff.RoleTriager), body
	h, err := s.loadHandling(r, c)
	if err != nil {
		return err
	}
	h.Move = req
	d.Handling = &h
	p.Title, p.Data = "Case "+c.Ref, d
	if p.Flash == "" {
		switch r.URL.Query().Get("sent") {
		case "note":
			p.Flash = "Your internal note was added. Only staff see it."
		case "mailed":
			p.Flash = "Your message was added to the case and e-mailed to the researcher."
		case "failed":
			p.Flash = "Your message was added to the case, but the e-mail to the researcher failed (see the message); they still see it on their private page."
		case "1":
			p.Flash = "Your message was added to the case. It was not e-mailed: outbound mail is not configured; the researcher sees it on their private page."
		}
		if to := r.URL.Query().Get("moved"); to != "" && p.Flash == "" {
			p.Flash = "The case is now " + to + "."
		}
		if f := r.URL.Query().Get("flagged"); f != "" && p.Flash == "" {
			p.Flash = "The case is flagged " + f + "."
			if r.URL.Query().Get("cra") == "waiting" {
				p.Flash += " The regulatory reporting clocks did not start: the case names no product of ours. " +
					"Set its affected versions, then set the flag again with when the organisation became aware."
			}
		}
		if r.URL.Query().Get("triaged") != "" && p.Flash == "" {
			p.Flash = "The triage was saved."
		}
	}
	s.render(w, r, code, "case.html", p)
	return nil
}

func (s *Server) staffMessage(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	body := r.PostForm.Get("body")
	send := s.Intake.StaffMessage
	if r.PostForm.Get("internal") != "" {
		send = s.Intake.StaffNote
	}
	m, err := send(r.Context(), actor(r), r.PathValue("id"), body)
	if errors.Is(err, patchday.ErrInvalid) {
		return s.renderStaffCase(w, r, http.StatusUnprocessableEntity, page{Flash: patchday.Summary(err), Fields: formFields(err, "body")}, body)
	} else if err != nil {
		return err
	}
	sent := "1"
	switch {
	case m.Internal:
		sent = "note"
	case m.Mail == intake.MailSent:
		sent = "mailed"
	case strings.HasPrefix(m.Mail, "failed"):
		sent = "failed"
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?sent="+sent+"#thread", http.StatusSeeOther)
	return nil
}

// caseFile serves a file of a case to staff, always as a download: a
// researcher's proof of concept must never run in our origin.
func (s *Server) caseFile(w http.ResponseWriter, r *http.Request) error {
	c, rs, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ms, err := s.Intake.Messages(r.Context(), c.ID)
	if err != nil {
		return err
	}
	sum := r.PathValue("sha256")
	var file *intake.Attachment
	for _, rep := range rs {
		for i := range rep.Attachments {
			if rep.Attachments[i].SHA256 == sum {
				file = &rep.Attachments[i]
			}
		}
	}
	for _, m := range ms {
		for i := range m.Attachments {
			if m.Attachments[i].SHA256 == sum {
				file = &m.Attachments[i]
			}
		}
	}
	if file == nil {
		return patchday.Errorf(patchday.ErrNotFound, "case %s has no such file", c.Ref)
	}
	return s.serveFile(w, *file)
}

// serveFile sends a stored file, always as a sandboxed download: nothing
// a researcher or a build contains may run in our origin.
func (s *Server) serveFile(w http.ResponseWriter, file intake.Attachment) error {
	f, err := s.Blobs.Open(file.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file.Name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.FormatInt(file.Size, 10))
	_, err = io.Copy(w, f)
	return err
}
