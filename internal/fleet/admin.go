package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/audit"
)

// View is a consistent picture of the fleet's configuration for pages.
type View struct {
	Updates   []Update
	Groups    []Group
	Approvals []Approval
	Rules     []Rule
}

// Current returns the configuration the server answers check-ins from.
func (s *Service) Current(ctx context.Context) (View, error) {
	v, err := s.current(ctx)
	if err != nil {
		return View{}, err
	}
	out := View{Updates: v.updates, Groups: v.groups, Rules: v.rules}
	for _, a := range v.approvals {
		out.Approvals = append(out.Approvals, *a)
	}
	sort.Slice(out.Approvals, func(i, j int) bool { return out.Approvals[i].ID < out.Approvals[j].ID })
	return out, nil
}

// GroupName names a group by id, "unassigned" for 0.
func (v View) GroupName(id int64) string {
	for _, g := range v.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return Unassigned
}

// Update finds an update by id.
func (v View) Update(id int64) (Update, bool) {
	for _, u := range v.Updates {
		if u.ID == id {
			return u, true
		}
	}
	return Update{}, false
}

// PutGroup adds or changes a group (by name).
func (s *Service) PutGroup(ctx context.Context, by audit.Actor, g Group) (Group, error) {
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the group cannot be saved", Fields: map[string]string{}}
	if err := ValidateGroupName(g.Name); err != nil {
		p.Fields["name"] = err.Error()
	} else if g.Name == Unassigned {
		p.Fields["name"] = fmt.Sprintf("%q holds the computers no group claims; choose another name, e.g. pilot", Unassigned)
	}
	if err := checkLabels(g.Labels); err != nil {
		p.Fields["labels"] = err.Error()
	}
	if len(g.Members) > 100_000 {
		p.Fields["members"] = "at most 100,000 names; use labels for larger groups"
	}
	if g.Ring < 0 || g.Ring > 100 {
		p.Fields["ring"] = "give the ring's order, 0 (first, e.g. pilot) to 100"
	}
	if err := g.Policy.Validate(); err != nil {
		var pe *patchday.Error
		if errors.As(err, &pe) && len(pe.Fields) > 0 {
			for k, m := range pe.Fields {
				p.Fields["policy."+k] = m
			}
		} else {
			p.Fields["policy"] = err.Error()
		}
	}
	if len(p.Fields) > 0 {
		return g, p
	}
	v, err := s.current(ctx)
	if err != nil {
		return g, err
	}
	for _, old := range v.groups {
		if old.Name == g.Name {
			g.ID = old.ID
		}
	}
	g, err = s.store.PutGroup(ctx, g, s.now())
	if err != nil {
		return g, err
	}
	s.audited(ctx, by, "fleet.group.put", "group:"+g.Name, fmt.Sprintf("ring %d, window %s, %d members, labels %v", g.Ring, g.Window, len(g.Members), g.Labels))
	return g, s.Reload(ctx)
}

// DeleteGroup removes a group and its approvals; its computers become
// unassigned (or join another group that claims them).
func (s *Service) DeleteGroup(ctx context.Context, by audit.Actor, name string) error {
	g, err := s.groupNamed(ctx, name)
	if err != nil {
		return err
	}
	if err := s.store.DeleteGroup(ctx, g.ID); err != nil {
		return err
	}
	s.audited(ctx, by, "fleet.group.delete", "group:"+name, "")
	return s.Reload(ctx)
}

func (s *Service) groupNamed(ctx context.Context, name string) (Group, error) {
	v, err := s.current(ctx)
	if err != nil {
		return Group{}, err
	}
	for _, g := range v.groups {
		if g.Name == name {
			return g, nil
		}
	}
	return Group{}, patchday.Errorf(patchday.ErrNotFound, "no group named %q", name)
}

// Approve approves an update for a group (install or remove), with an
// optional deadline after which it installs outside the window.
func (s *Service) Approve(ctx context.Context, by audit.Actor, update int64, group, action string, deadline time.Time, why string) (Approval, error) {
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the approval cannot be made", Fields: map[string]string{}}
	v, err := s.current(ctx)
	if err != nil {
		return Approval{}, err
	}
	if _, ok := v.byID[update]; !ok {
		p.Fields["update"] = fmt.Sprintf("update %d is not in this server's catalog; sync first or pick one from the list", update)
	}
	if action == "" {
		action = ActionInstall
	}
	if action != ActionInstall && action != ActionRemove {
		p.Fields["action"] = "install or remove"
	}
	if !deadline.IsZero() && deadline.Before(s.now().Add(-time.Minute)) {
		p.Fields["deadline"] = "the deadline has passed; give a later one or none"
	}
	g, gerr := s.groupNamed(ctx, group)
	if gerr != nil {
		p.Fields["group"] = gerr.Error()
	}
	if len(p.Fields) > 0 {
		return Approval{}, p
	}
	a, err := s.store.PutApproval(ctx, Approval{Update: update, Group: g.ID, Action: action, Deadline: deadline, By: by.Who, At: s.now(), Why: why})
	if err != nil {
		return a, err
	}
	dl := "no deadline"
	if !deadline.IsZero() {
		dl = "deadline " + deadline.UTC().Format(time.RFC3339)
	}
	s.audited(ctx, by, "fleet.approve", fmt.Sprintf("approval:%d", a.ID), fmt.Sprintf("%s update %d for %s, %s %s", action, update, group, dl, why))
	return a, s.Reload(ctx)
}

// Unapprove withdraws an approval; computers that installed keep it.
func (s *Service) Unapprove(ctx context.Context, by audit.Actor, id int64) error {
	if err := s.store.DeleteApproval(ctx, id); err != nil {
		return err
	}
	s.audited(ctx, by, "fleet.unapprove", fmt.Sprintf("approval:%d", id), "")
	return s.Reload(ctx)
}

// Acknowledge releases a tripped failure brake: someone has looked at the
// failures, and the rollout continues, counting from here.
func (s *Service) Acknowledge(ctx context.Context, by audit.Actor, id int64) (Approval, error) {
	a, err := s.store.UpdateRollout(ctx, id, func(a *Approval) error {
		if !a.Rollout.Braked {
			return patchday.Errorf(patchday.ErrConflict, "the rollout of approval %d is not braked", id)
		}
		a.Rollout.Acknowledge(s.now())
		return nil
	})
	if err != nil {
		return a, err
	}
	s.audited(ctx, by, "fleet.brake.acknowledge", fmt.Sprintf("approval:%d", id),
		fmt.Sprintf("%d failed, %d timed out, %d succeeded so far", a.Rollout.Failed, a.Rollout.TimedOut, a.Rollout.Succeeded))
	return a, s.Reload(ctx)
}

// SetRules replaces the auto-approval rules (a JSON array).
func (s *Service) SetRules(ctx context.Context, by audit.Actor, text []byte) ([]Rule, error) {
	rules, err := ParseRules(text)
	if err != nil {
		return nil, err
	}
	v, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, g := range v.groups {
		names[g.Name] = true
	}
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the rules name groups that do not exist", Fields: map[string]string{}}
	for i, r := range rules {
		if !names[r.Group] {
			p.Fields[fmt.Sprintf("rules[%d].group", i)] = fmt.Sprintf("no group named %q; create it first", r.Group)
		}
		if r.Since != "" && r.Since != "release" && !names[r.Since] {
			p.Fields[fmt.Sprintf("rules[%d].since", i)] = fmt.Sprintf("no group named %q", r.Since)
		}
	}
	if len(p.Fields) > 0 {
		return nil, p
	}
	if err := s.store.PutSetting(ctx, RulesSetting, string(text), by.Who, s.now()); err != nil {
		return nil, err
	}
	s.audited(ctx, by, "fleet.rules", "rules", fmt.Sprintf("%d rules", len(rules)))
	return rules, s.Reload(ctx)
}

// RetireComputer retires one computer: its credential stops working and
// it leaves the compliance figures.
func (s *Service) RetireComputer(ctx context.Context, by audit.Actor, id int64) error {
	n, err := s.store.RetireComputers(ctx, id, time.Time{}, s.now())
	if err != nil {
		return err
	}
	if n == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "no active computer %d", id)
	}
	s.forget(id)
	s.audited(ctx, by, "fleet.computer.retire", fmt.Sprintf("computer:%d", id), "")
	return nil
}

func (s *Service) forget(id int64) {
	if x, ok := s.computers.Load(id); ok {
		c := x.(*cached)
		c.mu.Lock()
		c.retired = true
		c.mu.Unlock()
	}
}

// Swept is what one sweep did.
type Swept struct {
	Approved, Advanced, TimedOut, Retired, Expired int
}

// Sweep runs the fleet's scheduled work (one server at a time, under a
// lease): auto-approval rules, wave advances, install timeouts, retiring
// stale computers and expiring old events.
func (s *Service) Sweep(ctx context.Context) (Swept, error) {
	var out Swept
	if err := s.Reload(ctx); err != nil {
		return out, err
	}
	v := s.view.Load()
	now := s.now()
	// Rules, in order, until nothing more is approved: a rule may depend
	// on another's approval made in the same sweep.
	for round := 0; round < 4; round++ {
		n, err := s.applyRules(ctx, v, now)
		out.Approved += n
		if err != nil {
			return out, err
		}
		if n == 0 {
			break
		}
		if err := s.Reload(ctx); err != nil {
			return out, err
		}
		v = s.view.Load()
	}
	for _, a := range v.approvals {
		pol := v.group(a.Group).Policy
		moved := false
		if _, err := s.store.UpdateRollout(ctx, a.ID, func(a *Approval) error {
			moved = pol.Advance(&a.Rollout, now)
			if !moved {
				return errUnchanged
			}
			return nil
		}); err != nil && !errors.Is(err, errUnchanged) {
			return out, err
		}
		if moved {
			out.Advanced++
		}
	}
	n, err := s.timeouts(ctx, v, now)
	out.TimedOut = n
	if err != nil {
		return out, err
	}
	if _, err := s.store.FoldCheckins(ctx); err != nil {
		return out, err
	}
	if s.cfg.StaleAfter > 0 {
		if out.Retired, err = s.store.RetireComputers(ctx, 0, now.Add(-s.cfg.StaleAfter), now); err != nil {
			return out, err
		}
		if out.Retired > 0 {
			s.computers.Clear()
		}
	}
	if out.Expired, err = s.store.ExpireEvents(ctx, now.Add(-s.cfg.Retention)); err != nil {
		return out, err
	}
	if out.Approved+out.Advanced+out.TimedOut > 0 {
		err = s.Reload(ctx)
	}
	return out, err
}

var errUnchanged = errors.New("unchanged")

func (s *Service) applyRules(ctx context.Context, v *view, now time.Time) (int, error) {
	n := 0
	for _, r := range v.rules {
		g, ok := groupByName(v, r.Group)
		if !ok {
			continue
		}
		for _, u := range v.updates {
			if _, done := v.approvals[[2]int64{u.ID, g.ID}]; done {
				continue
			}
			c := Candidate{Classification: u.Classification, Severity: u.Severity, Product: u.Product, FirstSeen: u.FirstSeen}
			if !r.Matches(c) {
				continue
			}
			var b Basis
			if r.Since != "" && r.Since != "release" {
				sg, ok := groupByName(v, r.Since)
				if !ok {
					continue
				}
				sa, ok := v.approvals[[2]int64{u.ID, sg.ID}]
				if !ok {
					continue
				}
				b = Basis{SinceApproved: sa.At, Succeeded: sa.Rollout.Succeeded, Failed: sa.Rollout.Failed + sa.Rollout.TimedOut}
			}
			d := r.Decide(c, b, now)
			if !d.Approve {
				continue
			}
			action := r.Action
			if action == "" {
				action = ActionInstall
			}
			a, err := s.store.PutApproval(ctx, Approval{Update: u.ID, Group: g.ID, Action: action, Deadline: d.Deadline, By: "rule:" + r.Name, At: now, Why: d.Why})
			if err != nil {
				return n, err
			}
			v.approvals[[2]int64{u.ID, g.ID}] = &a
			s.audited(ctx, audit.System, "fleet.approve", fmt.Sprintf("approval:%d", a.ID), d.Why)
			s.log.Info("update approved by rule", "rule", r.Name, "update", u.ID, "group", g.Name)
			n++
		}
	}
	return n, nil
}

func groupByName(v *view, name string) (Group, bool) {
	for _, g := range v.groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// timeouts turns installs that began and never reported into failures
// that count against the rollout: a machine that dies mid-install must
// trip the brake as surely as one that reports an error.
func (s *Service) timeouts(ctx context.Context, v *view, now time.Time) (int, error) {
	rs, err := s.store.Reports(ctx, agentapi.Installing)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	cs, err := s.store.Computers(ctx)
	if err != nil {
		return 0, err
	}
	groupOf := make(map[int64]int64, len(cs))
	for _, c := range cs {
		groupOf[c.ID] = c.Group
	}
	var batch []Checkin
	for _, r := range rs {
		g := v.group(groupOf[r.Computer])
		if now.Sub(r.At) < g.Policy.InstallTimeout {
			continue
		}
		batch = append(batch, Checkin{Computer: r.Computer, At: now, Group: groupOf[r.Computer], Sweep: true, Reports: []Report{{
			Computer: r.Computer, Update: r.Update, State: agentapi.Failed, At: now, IfState: agentapi.Installing,
			Detail: fmt.Sprintf("timed out: the install began %s ago and nothing was reported (limit %s)", now.Sub(r.At).Round(time.Minute), g.Policy.InstallTimeout),
			Counts: true, Outcome: OutcomeTimedOut,
		}}})
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if _, err := s.save(ctx, batch); err != nil {
		return 0, err
	}
	return len(batch), nil
}

// Approved reports whether an update is approved for any group: with
// --upstream-content approved, only those are fetched.
func (s *Service) Approved(update int64) bool {
	v := s.view.Load()
	if v == nil {
		return false
	}
	for k := range v.approvals {
		if k[0] == update {
			return true
		}
	}
	return false
}

// Stats are counters for /metrics.
type Stats struct{ Trips, Overloads int64 }

// Stats returns the service's counters.
func (s *Service) Stats() Stats { return Stats{Trips: s.trips.Load(), Overloads: s.overloads.Load()} }

// ID parses an approval or computer id given in a URL.
func ID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, patchday.Errorf(patchday.ErrNotFound, "no such id %q", s)
	}
	return id, nil
}
