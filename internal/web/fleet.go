package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/staff"
)

// The fleet administrator's pages: what the catalog means for these
// machines, rings and windows, approvals, brakes, and compliance.

type fleetRow struct {
	Update  fleet.Update
	Tally   fleet.Tally
	Groups  []fleetCell
	Percent string
}

type fleetCell struct {
	Group    string
	Tally    fleet.Tally
	Approval *apiApproval
}

type fleetData struct {
	Rows      []fleetRow
	Groups    []fleet.GroupCompliance
	Approvals []apiApproval
	Braked    []apiApproval
	Names     []string
	Rules     string
	Token     string
	CanEdit   bool
	// Form values kept after a refused submission.
	Update, Group, Action, Deadline string
}

func (s *Server) fleetPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderFleet(w, r, http.StatusOK, page{}, fleetData{})
}

func (s *Server) renderFleet(w http.ResponseWriter, r *http.Request, code int, p page, d fleetData) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	c, err := s.Fleet.Compliance(r.Context())
	if err != nil {
		return err
	}
	byKey := map[string]*apiApproval{}
	for _, a := range v.Approvals {
		out := approvalOut(v, a)
		d.Approvals = append(d.Approvals, out)
		if out.Braked {
			d.Braked = append(d.Braked, out)
		}
		byKey[fmt.Sprintf("%d/%s", a.Update, out.Group)] = &d.Approvals[len(d.Approvals)-1]
	}
	d.Groups = c.Groups
	for _, g := range c.Groups {
		if g.Group != fleet.Unassigned {
			d.Names = append(d.Names, g.Group)
		}
	}
	for _, u := range c.Updates {
		row := fleetRow{Update: u.Update, Tally: u.Tally, Percent: fmt.Sprintf("%.0f%%", 100*u.Tally.Compliant())}
		for _, g := range c.Groups {
			row.Groups = append(row.Groups, fleetCell{Group: g.Group, Tally: u.Groups[g.Group], Approval: byKey[fmt.Sprintf("%d/%s", u.ID, g.Group)]})
		}
		d.Rows = append(d.Rows, row)
	}
	if d.Rules == "" && len(v.Rules) > 0 {
		d.Rules = rulesText(v.Rules)
	}
	d.CanEdit = userFrom(r.Context()).Roles.Has(staff.RoleFleetAdmin)
	p.Title, p.Data = "Fleet", d
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("done")
	}
	s.render(w, r, code, "fleet.html", p)
	return nil
}

// rulesText shows the rules one per line: an administrator edits them in
// a text area.
func rulesText(rs []fleet.Rule) string {
	var b strings.Builder
	b.WriteString("[\n")
	for i, r := range rs {
		j, _ := json.Marshal(r)
		b.WriteString("  " + string(j))
		if i < len(rs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]")
	return b.String()
}

func (s *Server) fleetApprove(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	id, _ := strconv.ParseInt(f.Get("update"), 10, 64)
	_, _, err := s.approve(r, apiApprovalIn{Update: id, Group: f.Get("group"), Action: f.Get("action"), Deadline: f.Get("deadline"), Why: f.Get("why")})
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderFleet(w, r, status(err), page{Fields: formFields(err, "update")},
			fleetData{Update: f.Get("update"), Group: f.Get("group"), Action: f.Get("action"), Deadline: f.Get("deadline")})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/?done=Approved.", http.StatusSeeOther)
	return nil
}

func (s *Server) fleetApprovalAction(w http.ResponseWriter, r *http.Request) error {
	id, err := s.fleetID(r)
	if err != nil {
		return err
	}
	done := ""
	switch r.PathValue("action") {
	case "acknowledge":
		_, err = s.Fleet.Acknowledge(r.Context(), actor(r), id)
		done = "Failures acknowledged; the rollout continues."
	case "withdraw":
		err, done = s.Fleet.Unapprove(r.Context(), actor(r), id), "Approval withdrawn."
	default:
		return patchday.Errorf(patchday.ErrNotFound, "no such action")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/?done="+done, http.StatusSeeOther)
	return nil
}

func (s *Server) fleetRules(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	if err := s.fleetOn(); err != nil {
		return err
	}
	text := r.PostForm.Get("rules")
	if strings.TrimSpace(text) == "" {
		text = "[]"
	}
	if _, err := s.Fleet.SetRules(r.Context(), actor(r), []byte(text)); errors.Is(err, patchday.ErrInvalid) {
		return s.renderFleet(w, r, status(err), page{Fields: formFields(err, "rules")}, fleetData{Rules: text})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/?done=Rules+saved.", http.StatusSeeOther)
	return nil
}

func (s *Server) fleetToken(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	if err := s.fleetOn(); err != nil {
		return err
	}
	f := r.PostForm
	uses, _ := strconv.Atoi(f.Get("uses"))
	ttl, err := time.ParseDuration(f.Get("ttl"))
	if err != nil {
		ttl = 0 // refused below with the field's message
	}
	token, _, err := s.Fleet.CreateEnrollToken(r.Context(), actor(r), f.Get("note"), splitList(f.Get("labels")), uses, ttl)
	if errors.Is(err, patchday.ErrInvalid) {
		return s.renderFleet(w, r, status(err), page{Fields: formFields(err, "uses")}, fleetData{})
	} else if err != nil {
		return err
	}
	// Shown once, on this response only: the server keeps its hash.
	return s.renderFleet(w, r, http.StatusCreated, page{Flash: "Enrollment token made. Copy it now; it is not shown again."}, fleetData{Token: token})
}

func (s *Server) fleetCSV(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	c, err := s.Fleet.Compliance(r.Context())
	if err != nil {
		return err
	}
	return writeComplianceCSV(w, c, s.Now())
}

type computersData struct {
	Computers []fleet.ComputerCompliance
	Updates   []fleet.UpdateCompliance
	CanEdit   bool
}

func (s *Server) fleetComputers(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	c, err := s.Fleet.Compliance(r.Context())
	if err != nil {
		return err
	}
	d := computersData{Computers: c.Computers, Updates: c.Updates, CanEdit: userFrom(r.Context()).Roles.Has(staff.RoleFleetAdmin)}
	p := page{Title: "Computers", Data: d, Flash: r.URL.Query().Get("done")}
	s.render(w, r, http.StatusOK, "fleet-computers.html", p)
	return nil
}

func (s *Server) fleetRetire(w http.ResponseWriter, r *http.Request) error {
	id, err := s.fleetID(r)
	if err != nil {
		return err
	}
	if err := s.Fleet.RetireComputer(r.Context(), actor(r), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/computers?done=Computer+retired.", http.StatusSeeOther)
	return nil
}

type groupsData struct {
	Groups  []apiGroup
	CanEdit bool
	Form    apiGroup
	Policy  fleet.Policy
	Waves   string
}

func (s *Server) fleetGroups(w http.ResponseWriter, r *http.Request) error {
	return s.renderGroups(w, r, http.StatusOK, page{Flash: r.URL.Query().Get("done")}, groupsData{Policy: fleet.DefaultPolicy()})
}

func (s *Server) renderGroups(w http.ResponseWriter, r *http.Request, code int, p page, d groupsData) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	for _, g := range v.Groups {
		d.Groups = append(d.Groups, groupOut(g, s.Now()))
	}
	if d.Waves == "" {
		d.Waves = joinWaves(d.Policy.Waves)
	}
	d.CanEdit = userFrom(r.Context()).Roles.Has(staff.RoleFleetAdmin)
	p.Title, p.Data = "Groups and windows", d
	s.render(w, r, code, "fleet-groups.html", p)
	return nil
}

func joinWaves(ws []float64) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = strconv.FormatFloat(w, 'f', -1, 64)
	}
	return strings.Join(parts, ", ")
}

func (s *Server) fleetPutGroup(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	ring, _ := strconv.Atoi(f.Get("ring"))
	in := apiGroup{Name: strings.TrimSpace(f.Get("name")), Ring: ring, Members: splitList(f.Get("members")), Labels: splitList(f.Get("labels")),
		Window: &apiWindow{Rule: f.Get("rule"), Duration: f.Get("duration"), TZ: strings.TrimSpace(f.Get("tz"))}}
	pol, perr := policyForm(f.Get)
	in.Policy = &pol
	g, err := groupIn(in)
	if err == nil {
		err = perr
	}
	if err == nil {
		_, err = s.Fleet.PutGroup(r.Context(), actor(r), g)
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		return s.renderGroups(w, r, status(err), page{Fields: formFields(err, "name")}, groupsData{Form: in, Policy: pol, Waves: f.Get("waves")})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/groups?done=Group+"+g.Name+"+saved.", http.StatusSeeOther)
	return nil
}

// policyForm reads a rollout policy from the group form's fields.
func policyForm(get func(string) string) (fleet.Policy, error) {
	p := fleet.DefaultPolicy()
	bad := map[string]string{}
	if ws := splitList(get("waves")); len(ws) > 0 {
		p.Waves = nil
		for _, w := range ws {
			f, err := strconv.ParseFloat(w, 64)
			if err != nil {
				bad["waves"] = "give cumulative percentages, e.g. 1, 10, 50, 100"
				break
			}
			p.Waves = append(p.Waves, f)
		}
	}
	dur := func(name string, d *time.Duration) {
		if v := strings.TrimSpace(get(name)); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				bad[name] = "give a duration, e.g. 24h or 90m"
				return
			}
			*d = x
		}
	}
	num := func(name string, n *int) {
		if v := strings.TrimSpace(get(name)); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil {
				bad[name] = "give a whole number"
				return
			}
			*n = x
		}
	}
	dur("bake", (*time.Duration)(&p.Bake))
	dur("cooldown", (*time.Duration)(&p.Cooldown))
	dur("install_timeout", (*time.Duration)(&p.InstallTimeout))
	num("max_unavailable", &p.MaxUnavailable)
	num("brake_failures", &p.BrakeFailures)
	if len(bad) > 0 {
		return p, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the rollout policy cannot be read", Fields: bad}
	}
	return p, nil
}

func (s *Server) fleetDeleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	if err := s.Fleet.DeleteGroup(r.Context(), actor(r), r.PathValue("name")); err != nil {
		return err
	}
	http.Redirect(w, r, "/fleet/groups?done=Group+deleted.", http.StatusSeeOther)
	return nil
}
