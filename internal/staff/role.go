// Package staff holds the vendor's staff accounts: roles, passwords, sessions
// and API tokens, and the rules for signing in.
package staff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchday/patchday"
)

// Role is what a staff member may do.
type Role string

// The roles of DESIGN.md §2.
const (
	RoleTriager        Role = "triager"
	RoleDeveloper      Role = "developer"
	RoleTester         Role = "tester"
	RoleReleaseManager Role = "release-manager"
	RoleFleetAdmin     Role = "fleet-admin"
	RoleAdmin          Role = "admin"
)

// AllRoles lists every role in a stable order.
var AllRoles = []Role{RoleTriager, RoleDeveloper, RoleTester, RoleReleaseManager, RoleFleetAdmin, RoleAdmin}

// Roles is a set of roles held by one account.
type Roles []Role

// ParseRoles parses a comma-separated list such as "triager,tester".
// Duplicates are dropped; the result is sorted in AllRoles order.
func ParseRoles(s string) (Roles, error) {
	var rs Roles
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if part == "" {
			continue
		}
		r := Role(part)
		if !slices.Contains(AllRoles, r) {
			return nil, patchday.Errorf(patchday.ErrInvalid, "unknown role %q (roles: %s)", part, Roles(AllRoles))
		}
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil, patchday.Errorf(patchday.ErrInvalid, "at least one role is required (roles: %s)", Roles(AllRoles))
	}
	slices.SortFunc(rs, func(a, b Role) int { return slices.Index(AllRoles, a) - slices.Index(AllRoles, b) })
	return rs, nil
}

// String joins the roles with commas, as ParseRoles reads them.
func (rs Roles) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// Has reports whether the set grants r. An admin holds every role: a small
// team's admin must be able to act in any of them.
func (rs Roles) Has(r Role) bool {
	return slices.Contains(rs, r) || slices.Contains(rs, RoleAdmin)
}

// HasAny reports whether the set grants one of roles.
func (rs Roles) HasAny(roles ...Role) bool {
	return slices.ContainsFunc(roles, rs.Has)
}

// Require returns ErrForbidden unless the set grants r.
func (rs Roles) Require(r Role) error {
	if rs.Has(r) {
		return nil
	}
	return patchday.Errorf(patchday.ErrForbidden, "this needs the %s role", r)
}

func (r Role) String() string { return string(r) }

var _ fmt.Stringer = Roles(nil)
