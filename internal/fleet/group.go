// Package fleet is the customer update server's domain: computers and the
// groups (rings) they belong to, maintenance windows, rollouts in waves
// with a failure brake, auto-approval rules, applicability and compliance.
// It holds types and rules only; storage and transport live elsewhere.
package fleet

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/patchday/patchday"
)

// Group is a set of computers that take updates together: a ring.
type Group struct {
	ID      int64
	Name    string
	Ring    int      // lower rings take updates first
	Members []string // computer names
	Labels  []string // computers reporting one of these labels belong here unless a group lists them
	Window  Window
	Policy  Policy
}

// maxGroupName bounds a group's name.
const maxGroupName = 64

// ValidateGroupName checks a group's name: 1 to 64 characters of a-z, 0-9
// and "-", starting with a letter, so it reads well in rules and URLs.
func ValidateGroupName(name string) error {
	ok := len(name) >= 1 && len(name) <= maxGroupName && name[0] >= 'a' && name[0] <= 'z'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return patchday.Errorf(patchday.ErrInvalid, "%q is not a group name: use 1 to %d lowercase letters, digits and hyphens, starting with a letter, e.g. \"pilot\"", name, maxGroupName)
	}
	return nil
}

// Validate reports every problem with the group at once: its name, ring,
// window and policy, keyed by field ("name", "ring", "window.rule",
// "policy.waves", …).
func (g Group) Validate() error {
	e := patchday.Problems{}
	if err := ValidateGroupName(g.Name); err != nil {
		e.Add("name", patchday.Summary(err))
	}
	if g.Ring < 0 {
		e.Add("ring", "a ring is 0 or more, lower rings first, e.g. 1")
	}
	for field, problem := range patchday.FieldErrors(g.Policy.Validate()) {
		e.Add("policy."+field, problem)
	}
	if w := g.Window; w.s == nil && w.Rule != "" {
		_, err := ParseWindow(w.Rule, w.Duration, w.TZ)
		for field, problem := range patchday.FieldErrors(err) {
			e.Add("window."+field, problem)
		}
	}
	for _, m := range g.Members {
		if m == "" {
			e.Add("members", "a member is a computer's name; leave out empty ones")
		}
	}
	return e.Err(fmt.Sprintf("the group %q is not valid", g.Name))
}

// Resolve finds the one group a computer belongs to: the group listing it
// as a member (the lowest Ring, then Name, if several do); else the first
// group, by Ring then Name, sharing a label with it. It reports false if
// there is none; the server then uses its default group.
func Resolve(groups []Group, name string, labels []string) (Group, bool) {
	first := func(match func(g *Group) bool) (Group, bool) {
		var best *Group
		for i := range groups {
			g := &groups[i]
			if match(g) && (best == nil || before(g, best)) {
				best = g
			}
		}
		if best == nil {
			return Group{}, false
		}
		return *best, true
	}
	if g, ok := first(func(g *Group) bool { return slices.Contains(g.Members, name) }); ok {
		return g, true
	}
	return first(func(g *Group) bool {
		return slices.ContainsFunc(g.Labels, func(l string) bool { return slices.Contains(labels, l) })
	})
}

// before orders groups by Ring, then Name, then ID.
func before(a, b *Group) bool {
	return cmp.Or(cmp.Compare(a.Ring, b.Ring), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) < 0
}
