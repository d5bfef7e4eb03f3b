package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/staff"
)

// EU Cyber Resilience Act reporting: the regulatory dashboard, one
// report's page with its three stages, exports, and the clocks on a case.

func craActor(r *http.Request) cra.Actor {
	u := userFrom(r.Context())
	return cra.Actor{Email: u.Email, Roles: u.Roles, From: remote(r)}
}

// clockView is a clock as pages show it.
type clockView struct {
	cra.Clock
	Title   string
	Left    string // "5h 20m left", "3h 10m overdue"
	Overdue bool
	Local   string // the deadline in the organisation's time zone
}

func (s *Server) clockViews(v cra.View) []clockView {
	now := s.Now().UTC()
	loc := s.CRA.Organisation().TimeZone
	var out []clockView
	for _, c := range v.Clocks {
		cv := clockView{Clock: c, Title: c.Stage.Title()}
		if c.Started() {
			cv.Local = c.Due.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
		}
		switch {
		case !c.SubmittedAt.IsZero():
			cv.Left = "submitted " + c.SubmittedAt.In(loc).Format("2 Jan 15:04 MST")
			if c.Late() {
				cv.Left += ", late"
			}
		case c.Overdue(now):
			cv.Left, cv.Overdue = span(now.Sub(c.Due))+" overdue", true
		case c.Running():
			cv.Left = span(c.Left(now)) + " left"
		default:
			cv.Left = c.Waiting
		}
		out = append(out, cv)
	}
	return out
}

// span writes a duration as days, hours and minutes.
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

type craRow struct {
	cra.View
	Clocks []clockView
}

type craDashboard struct {
	Rows      []craRow
	Products  []string
	CanAct    bool
	Org       cra.Organisation
	Reminding bool // a relay is configured, so reminders go out
	Zone      string
}

// regulatory is the dashboard: every report's clocks, nearest deadline
// first, and the form to declare a severe incident.
func (s *Server) regulatory(w http.ResponseWriter, r *http.Request) error {
	return s.renderRegulatory(w, r, http.StatusOK, page{})
}

func (s *Server) renderRegulatory(w http.ResponseWriter, r *http.Request, code int, p page) error {
	vs, err := s.CRA.List(r.Context())
	if err != nil {
		return err
	}
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return err
	}
	u := userFrom(r.Context())
	d := craDashboard{CanAct: u.Roles.Has(staff.RoleTriager) || u.Roles.Has(staff.RoleReleaseManager), Org: s.CRA.Organisation(),
		Reminding: s.CRAReminders, Zone: s.CRA.Organisation().TimeZone.String()}
	for _, v := range vs {
		d.Rows = append(d.Rows, craRow{View: v, Clocks: s.clockViews(v)})
	}
	for _, pr := range ps {
		d.Products = append(d.Products, pr.Name)
	}
	p.Title, p.Data = "Regulatory reporting", d
	if m := r.URL.Query().Get("done"); m != "" && p.Flash == "" {
		p.Flash = m
	}
	s.render(w, r, code, "cra.html", p)
	return nil
}

// declareIncident starts the clocks of a severe incident on a product.
func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	var note string
	rep, err := func() (cra.Report, error) {
		var aware time.Time
		var err error
		aware, note, err = cra.ParseAware(f.Get("aware_at"), s.CRA.Organisation().TimeZone)
		if err != nil {
			return cra.Report{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the incident was not declared", Fields: map[string]string{"aware_at": patchday.Summary(err)}}
		}
		p, err := s.Products.ByName(r.Context(), f.Get("product"))
		if err != nil {
			return cra.Report{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the incident was not declared", Fields: map[string]string{"product": "choose one of your products"}}
		}
		return s.CRA.OpenIncident(r.Context(), craActor(r), p.ID, aware, f.Get("malicious"), f.Get("summary"))
	}()
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderRegulatory(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, clocksStarted(rep.ID, note), http.StatusSeeOther)
	return nil
}

// clocksStarted is where to go once a report's clocks start, with what
// the page should say.
func clocksStarted(id int64, note string) string {
	done := "The reporting clocks run: the early warning is due within 24 hours of becoming aware."
	if note != "" {
		done += " " + note + "."
	}
	return fmt.Sprintf("/staff/regulatory/%d?done=%s", id, urlQuery(done))
}

type craStageView struct {
	Stage  cra.Stage
	Title  string
	Clock  clockView
	Draft  cra.Draft
	Record cra.StageRecord
	Edited bool // staff wrote the draft, rather than it being generated
}

type craReportPage struct {
	Row        craRow
	Stages     []craStageView
	CanAct     bool
	CanApprove bool
	Org        cra.Organisation
	Zone       string
	Now        string // for the submission form's default, in Zone
}

func (s *Server) reportID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// craReport is one report's page.
func (s *Server) craReport(w http.ResponseWriter, r *http.Request) error {
	return s.renderCRAReport(w, r, http.StatusOK, page{})
}

func (s *Server) renderCRAReport(w http.ResponseWriter, r *http.Request, code int, p page) error {
	v, err := s.CRA.Get(r.Context(), s.reportID(r))
	if err != nil {
		return err
	}
	u := userFrom(r.Context())
	loc := s.CRA.Organisation().TimeZone
	d := craReportPage{Row: craRow{View: v, Clocks: s.clockViews(v)}, Org: s.CRA.Organisation(), Zone: loc.String(),
		CanAct: u.Roles.Has(staff.RoleTriager) || u.Roles.Has(staff.RoleReleaseManager), CanApprove: u.Roles.Has(staff.RoleReleaseManager),
		Now: s.Now().In(loc).Format("2006-01-02T15:04")}
	for i, st := range cra.Stages {
		d.Stages = append(d.Stages, craStageView{Stage: st, Title: st.Title(), Clock: d.Row.Clocks[i], Draft: v.Drafts[st],
			Record: v.Stages[st], Edited: v.Stages[st].Draft != nil})
	}
	title := v.Product + ": actively exploited vulnerability"
	if v.Kind == cra.SevereIncident {
		title = v.Product + ": severe incident"
	}
	p.Title, p.Data = title, d
	if m := r.URL.Query().Get("done"); m != "" && p.Flash == "" {
		p.Flash = m
	}
	s.render(w, r, code, "cra-report.html", p)
	return nil
}

// craStageAction edits, approves or records the submission of a stage.
func (s *Server) craStageAction(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	id, stage := s.reportID(r), r.PathValue("stage")
	var err error
	var done string
	switch r.PathValue("action") {
	case "draft":
		err = s.CRA.EditDraft(r.Context(), craActor(r), id, stage, cra.Draft{
			Product: f.Get("product"), Versions: splitList(f.Get("versions")), MemberStates: splitList(strings.ToUpper(f.Get("member_states"))),
			Malicious: f.Get("malicious"), Severity: f.Get("severity"), Nature: f.Get("nature"), MeasuresTaken: f.Get("measures_taken"),
			MeasuresForUsers: f.Get("measures_users"), Sensitivity: f.Get("sensitivity"), Description: f.Get("description"),
			Impact: f.Get("impact"), Actor: f.Get("actor"), Update: f.Get("update")})
		done = "The draft is saved; it needs approval again."
	case "approve":
		err = s.CRA.Approve(r.Context(), craActor(r), id, stage)
		done = "Approved. Submit it to the CSIRT, then record the submission."
	case "submit":
		var at time.Time
		if v := f.Get("submitted_at"); v != "" {
			var perr error
			if at, _, perr = cra.ParseAware(v, s.CRA.Organisation().TimeZone); perr != nil {
				err = &patchday.Error{Kind: patchday.ErrInvalid, Message: "the submission was not recorded", Fields: map[string]string{"submitted_at": patchday.Summary(perr)}}
			}
		}
		if err == nil {
			err = s.CRA.Submit(r.Context(), craActor(r), id, stage, at, f.Get("channel"), f.Get("reference"))
		}
		done = "The submission is recorded; its clock has stopped."
	default:
		return patchday.Errorf(patchday.ErrNotFound, "no such action")
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderCRAReport(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/staff/regulatory/%d?done=%s#%s", id, urlQuery(done), stage), http.StatusSeeOther)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		out = append(out, strings.TrimSpace(x))
	}
	return out
}

// craMitigation records that a mitigation was published before the fix.
func (s *Server) craMitigation(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	var at time.Time
	var err error
	if v := r.PostForm.Get("mitigation_at"); v != "" {
		if at, _, err = cra.ParseAware(v, s.CRA.Organisation().TimeZone); err != nil {
			err = &patchday.Error{Kind: patchday.ErrInvalid, Message: "the mitigation was not recorded", Fields: map[string]string{"mitigation_at": patchday.Summary(err)}}
		}
	}
	if err == nil {
		err = s.CRA.RecordMitigation(r.Context(), craActor(r), s.reportID(r), at)
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderCRAReport(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/staff/regulatory/%d?done=%s", s.reportID(r), urlQuery("The mitigation is recorded; the final report's clock runs.")), http.StatusSeeOther)
	return nil
}

// craExport is one stage as a JSON document, for the reporting platform
// or the CSIRT.
type craExport struct {
	Regulation   string           `json:"regulation"`
	Stage        cra.Stage        `json:"stage"`
	Kind         cra.Kind         `json:"kind"`
	Manufacturer cra.Organisation `json:"manufacturer"`
	AwareAt      time.Time        `json:"aware_at"`
	Deadline     *time.Time       `json:"deadline,omitempty"`
	Case         string           `json:"case,omitempty"`
	Report       cra.Draft        `json:"report"`
	ApprovedBy   string           `json:"approved_by,omitempty"`
	ApprovedAt   *time.Time       `json:"approved_at,omitempty"`
	SubmittedAt  *time.Time       `json:"submitted_at,omitempty"`
	Channel      string           `json:"channel,omitempty"`
	Reference    string           `json:"reference,omitempty"`
}

func (s *Server) export(r *http.Request) (craExport, error) {
	v, err := s.CRA.Get(r.Context(), s.reportID(r))
	if err != nil {
		return craExport{}, err
	}
	st := cra.Stage(r.PathValue("stage"))
	if !slices.Contains(cra.Stages, st) {
		return craExport{}, patchday.Errorf(patchday.ErrNotFound, "there is no stage %q", st)
	}
	c, rec := v.Clock(st), v.Stages[st]
	x := craExport{Regulation: "Regulation (EU) 2024/2847, Article 14", Stage: st, Kind: v.Kind, Manufacturer: s.CRA.Organisation(),
		AwareAt: v.AwareAt, Case: v.Case.Ref, Report: v.Drafts[st], ApprovedBy: rec.ApprovedBy, Channel: rec.Channel, Reference: rec.Reference}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	x.Deadline, x.ApprovedAt, x.SubmittedAt = opt(c.Due), opt(rec.ApprovedAt), opt(rec.SubmittedAt)
	return x, nil
}

// craJSON serves a stage's export.
func (s *Server) craJSON(w http.ResponseWriter, r *http.Request) error {
	x, err := s.export(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cra-%d-%s.json"`, s.reportID(r), x.Stage))
	writeJSON(w, http.StatusOK, x)
	return nil
}

// craPrint serves a stage as a printable page.
func (s *Server) craPrint(w http.ResponseWriter, r *http.Request) error {
	x, err := s.export(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "cra-print.html", page{Title: x.Stage.Title() + " — " + x.Report.Product, Data: x})
	return nil
}
