package web

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

// The fleet administrator's JSON API: the same operations as /fleet/.

type apiWindow struct {
	Rule     string `json:"rule"`
	Duration string `json:"duration"` // e.g. "4h"
	TZ       string `json:"tz"`
}

type apiGroup struct {
	Name      string        `json:"name"`
	Ring      int           `json:"ring"`
	Members   []string      `json:"members"`
	Labels    []string      `json:"labels"`
	Window    *apiWindow    `json:"window,omitempty"`
	Policy    *fleet.Policy `json:"policy,omitempty"`
	NextStart *time.Time    `json:"next_window,omitempty"`
}

func groupOut(g fleet.Group, now time.Time) apiGroup {
	out := apiGroup{Name: g.Name, Ring: g.Ring, Members: g.Members, Labels: g.Labels, Policy: &g.Policy}
	if !g.Window.IsZero() {
		out.Window = &apiWindow{Rule: g.Window.Rule, Duration: g.Window.Duration.String(), TZ: g.Window.TZ}
		if start, _, _ := g.Window.At(now); !start.IsZero() {
			out.NextStart = &start
		}
	}
	return out
}

// groupIn turns a group as given (API or form) into a fleet.Group,
// reporting every problem at once.
func groupIn(in apiGroup) (fleet.Group, error) {
	g := fleet.Group{Name: in.Name, Ring: in.Ring, Members: in.Members, Labels: in.Labels, Policy: fleet.DefaultPolicy()}
	if in.Policy != nil {
		g.Policy = *in.Policy
	}
	if in.Window != nil && strings.TrimSpace(in.Window.Rule) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(in.Window.Duration))
		if err != nil {
			return g, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the group cannot be saved",
				Fields: map[string]string{"duration": "give the window's length, e.g. 4h or 90m"}}
		}
		w, err := fleet.ParseWindow(in.Window.Rule, d, in.Window.TZ)
		if err != nil {
			return g, err
		}
		g.Window = w
	}
	return g, nil
}

func (s *Server) fleetOn() error {
	if s.Fleet == nil {
		return patchday.Errorf(patchday.ErrNotFound, "this server does not serve a fleet")
	}
	return nil
}

// fleetID checks the fleet is served and reads the {id} in the path.
func (s *Server) fleetID(r *http.Request) (int64, error) {
	if err := s.fleetOn(); err != nil {
		return 0, err
	}
	return fleet.ID(r.PathValue("id"))
}

// decodeFleet reads an administrator's request: a group may list up to
// 100,000 members, more than readJSON's small limit.
func decodeFleet(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, 8<<20, true)
}

func (s *Server) apiFleetGroups(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	out := []apiGroup{}
	for _, g := range v.Groups {
		out = append(out, groupOut(g, s.Now()))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiPutGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	// Decoding into the default policy fills in the fields a request
	// leaves out (fleet.Policy.UnmarshalJSON keeps them), as the form does.
	def := fleet.DefaultPolicy()
	in := apiGroup{Policy: &def}
	if err := decodeFleet(w, r, &in); err != nil {
		return err
	}
	in.Name = r.PathValue("name")
	g, err := groupIn(in)
	if err != nil {
		return err
	}
	g, err = s.Fleet.PutGroup(r.Context(), actor(r), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOut(g, s.Now()))
	return nil
}

func (s *Server) apiDeleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	if err := s.Fleet.DeleteGroup(r.Context(), actor(r), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type apiUpdate struct {
	ID             int64     `json:"id"`
	Product        string    `json:"product"`
	Version        string    `json:"version"`
	AppliesTo      []string  `json:"applies_to"`
	Classification string    `json:"classification"`
	Severity       string    `json:"severity"`
	Restart        string    `json:"restart"`
	Target         string    `json:"target"`
	Size           int64     `json:"size"`
	Deltas         int       `json:"deltas"`
	FirstSeen      time.Time `json:"first_seen"`
}

func (s *Server) apiFleetUpdates(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	out := []apiUpdate{}
	for _, u := range v.Updates {
		out = append(out, apiUpdate{ID: u.ID, Product: u.Product, Version: u.Version, AppliesTo: u.AppliesTo, Classification: u.Classification,
			Severity: u.Severity, Restart: u.Restart, Target: u.Full.Path, Size: u.Full.Size, Deltas: len(u.Deltas), FirstSeen: u.FirstSeen})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type apiApproval struct {
	ID       int64      `json:"id"`
	Update   int64      `json:"update"`
	Group    string     `json:"group"`
	Action   string     `json:"action"`
	Deadline *time.Time `json:"deadline,omitempty"`
	By       string     `json:"by"`
	At       time.Time  `json:"at"`
	Why      string     `json:"why,omitempty"`
	Wave     int        `json:"wave"`
	Counts   struct {
		Succeeded int `json:"succeeded"`
		Failed    int `json:"failed"`
		TimedOut  int `json:"timed_out"`
	} `json:"counts"`
	Braked      bool   `json:"braked"`
	BrakeReason string `json:"brake_reason,omitempty"`
}

func approvalOut(v fleet.View, a fleet.Approval) apiApproval {
	out := apiApproval{ID: a.ID, Update: a.Update, Group: v.GroupName(a.Group), Action: a.Action, By: a.By, At: a.At, Why: a.Why,
		Wave: a.Rollout.Wave, Braked: a.Rollout.Braked, BrakeReason: a.Rollout.BrakeReason}
	if !a.Deadline.IsZero() {
		d := a.Deadline
		out.Deadline = &d
	}
	out.Counts.Succeeded, out.Counts.Failed, out.Counts.TimedOut = a.Rollout.Succeeded, a.Rollout.Failed, a.Rollout.TimedOut
	return out
}

func (s *Server) apiFleetApprovals(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	out := []apiApproval{}
	for _, a := range v.Approvals {
		out = append(out, approvalOut(v, a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type apiApprovalIn struct {
	Update   int64  `json:"update"`
	Group    string `json:"group"`
	Action   string `json:"action"`
	Deadline string `json:"deadline"` // RFC 3339, or local time in the group's zone
	Why      string `json:"why"`
}

// approve parses a deadline in the group's own time zone, so "2026-12-10
// 18:00" means six in the evening where those machines are.
func (s *Server) approve(r *http.Request, in apiApprovalIn) (fleet.Approval, fleet.View, error) {
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return fleet.Approval{}, v, err
	}
	var deadline time.Time
	if strings.TrimSpace(in.Deadline) != "" {
		tz := ""
		for _, g := range v.Groups {
			if g.Name == in.Group {
				tz = g.Window.TZ
			}
		}
		if deadline, err = fleet.ParseLocal(strings.TrimSpace(in.Deadline), tz); err != nil {
			return fleet.Approval{}, v, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the approval cannot be made",
				Fields: map[string]string{"deadline": patchday.Message(err)}}
		}
	}
	a, err := s.Fleet.Approve(r.Context(), actor(r), in.Update, in.Group, in.Action, deadline, in.Why)
	if err != nil {
		return a, v, err
	}
	v, err = s.Fleet.Current(r.Context())
	return a, v, err
}

func (s *Server) apiApprove(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	var in apiApprovalIn
	if err := decodeFleet(w, r, &in); err != nil {
		return err
	}
	a, v, err := s.approve(r, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, approvalOut(v, a))
	return nil
}

func (s *Server) apiUnapprove(w http.ResponseWriter, r *http.Request) error {
	id, err := s.fleetID(r)
	if err != nil {
		return err
	}
	if err := s.Fleet.Unapprove(r.Context(), actor(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiAcknowledge(w http.ResponseWriter, r *http.Request) error {
	id, err := s.fleetID(r)
	if err != nil {
		return err
	}
	a, err := s.Fleet.Acknowledge(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, approvalOut(v, a))
	return nil
}

func (s *Server) apiFleetRules(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	v, err := s.Fleet.Current(r.Context())
	if err != nil {
		return err
	}
	rules := v.Rules
	if rules == nil {
		rules = []fleet.Rule{}
	}
	writeJSON(w, http.StatusOK, rules)
	return nil
}

func (s *Server) apiPutRules(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "the rules are larger than 1 MiB")
	}
	rules, err := s.Fleet.SetRules(r.Context(), actor(r), b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rules)
	return nil
}

type apiTokenIn struct {
	Note   string   `json:"note"`
	Labels []string `json:"labels"`
	Uses   int      `json:"uses"`
	TTL    string   `json:"ttl"` // e.g. "72h"
}

type apiToken struct {
	ID      int64     `json:"id"`
	Token   string    `json:"token,omitempty"` // only when made
	Note    string    `json:"note"`
	Labels  []string  `json:"labels"`
	Uses    int       `json:"uses"`
	MaxUses int       `json:"max_uses"`
	Expires time.Time `json:"expires"`
	Revoked bool      `json:"revoked"`
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	var in apiTokenIn
	if err := decodeFleet(w, r, &in); err != nil {
		return err
	}
	ttl := 72 * time.Hour
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil {
			return &patchday.Error{Kind: patchday.ErrInvalid, Message: "the enrollment token cannot be made", Fields: map[string]string{"ttl": "e.g. 72h"}}
		}
		ttl = d
	}
	if in.Uses == 0 {
		in.Uses = 1
	}
	token, t, err := s.Fleet.CreateEnrollToken(r.Context(), actor(r), in.Note, in.Labels, in.Uses, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiToken{ID: t.ID, Token: token, Note: t.Note, Labels: t.Labels, MaxUses: t.MaxUses, Expires: t.Expires})
	return nil
}

type apiComputer struct {
	ID       int64        `json:"id"`
	Name     string       `json:"name"`
	Group    string       `json:"group"`
	OS       string       `json:"os"`
	Arch     string       `json:"arch"`
	Labels   []string     `json:"labels"`
	LastSeen time.Time    `json:"last_seen"`
	Retired  *time.Time   `json:"retired,omitempty"`
	Tally    *fleet.Tally `json:"updates,omitempty"`
}

func (s *Server) apiFleetComputers(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	c, err := s.Fleet.Compliance(r.Context())
	if err != nil {
		return err
	}
	out := []apiComputer{}
	for _, cc := range c.Computers {
		t := cc.Tally
		out = append(out, apiComputer{ID: cc.ID, Name: cc.Name, Group: cc.Group, OS: cc.Computer.OS, Arch: cc.Computer.Arch,
			Labels: cc.Computer.Labels, LastSeen: cc.LastSeen, Tally: &t})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiRetire(w http.ResponseWriter, r *http.Request) error {
	id, err := s.fleetID(r)
	if err != nil {
		return err
	}
	if err := s.Fleet.RetireComputer(r.Context(), actor(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiCompliance(w http.ResponseWriter, r *http.Request) error {
	if err := s.fleetOn(); err != nil {
		return err
	}
	c, err := s.Fleet.Compliance(r.Context())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		return writeComplianceCSV(w, c, s.Now())
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func writeComplianceCSV(w http.ResponseWriter, c fleet.Compliance, now time.Time) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="compliance-`+now.UTC().Format("2006-01-02")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	return c.WriteCSV(w)
}
