package staff_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/staff"
)

func TestParseRoles(t *testing.T) {
	tests := []struct {
		in      string
		want    staff.Roles
		wantErr string // a substring of the message; "" means no error
	}{
		{in: "triager", want: staff.Roles{staff.RoleTriager}},
		{in: "tester,triager", want: staff.Roles{staff.RoleTriager, staff.RoleTester}},
		{in: "admin,fleet-admin,release-manager,tester,developer,triager", want: staff.Roles(staff.AllRoles)},
		{in: "triager,triager,Triager", want: staff.Roles{staff.RoleTriager}},
		{in: " Release-Manager , TESTER ", want: staff.Roles{staff.RoleTester, staff.RoleReleaseManager}},
		{in: ",,developer,", want: staff.Roles{staff.RoleDeveloper}},
		{in: "", wantErr: "at least one role is required"},
		{in: " , ,", wantErr: "at least one role is required"},
		{in: "triager,wizard", wantErr: `unknown role "wizard"`},
		{in: "release manager", wantErr: `unknown role "release manager"`},
		{in: "triager;tester", wantErr: `unknown role "triager;tester"`},
	}
	for _, tt := range tests {
		got, err := staff.ParseRoles(tt.in)
		if tt.wantErr != "" {
			if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRoles(%q) error = %v, want ErrInvalid containing %q", tt.in, err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("ParseRoles(%q) = %v with an error, want nil", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRoles(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRoles(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseRolesUnknownListsRoles(t *testing.T) {
	_, err := staff.ParseRoles("wizard")
	want := "triager,developer,tester,release-manager,fleet-admin,admin"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseRoles(wizard) error = %v, want it to list the roles %q", err, want)
	}
}

func TestRolesString(t *testing.T) {
	tests := []struct {
		in   staff.Roles
		want string
	}{
		{nil, ""},
		{staff.Roles{staff.RoleTester}, "tester"},
		{staff.Roles{staff.RoleTriager, staff.RoleFleetAdmin}, "triager,fleet-admin"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRolesHasRequire(t *testing.T) {
	type test struct {
		held staff.Roles
		role staff.Role
		want bool
	}
	tests := []test{
		{nil, staff.RoleTriager, false},
		{nil, staff.RoleAdmin, false},
		{staff.Roles{staff.RoleTriager}, staff.RoleTriager, true},
		{staff.Roles{staff.RoleTriager}, staff.RoleTester, false},
		{staff.Roles{staff.RoleTriager}, staff.RoleAdmin, false},
		{staff.Roles{staff.RoleFleetAdmin}, staff.RoleAdmin, false},
		{staff.Roles{staff.RoleTriager, staff.RoleTester}, staff.RoleTester, true},
		{staff.Roles{staff.RoleTriager, staff.RoleTester}, staff.RoleReleaseManager, false},
	}
	// An admin holds every role, alone or with others.
	for _, r := range staff.AllRoles {
		tests = append(tests,
			test{staff.Roles{staff.RoleAdmin}, r, true},
			test{staff.Roles{staff.RoleTester, staff.RoleAdmin}, r, true})
	}
	for _, tt := range tests {
		if got := tt.held.Has(tt.role); got != tt.want {
			t.Errorf("%v.Has(%s) = %t, want %t", tt.held, tt.role, got, tt.want)
		}
		err := tt.held.Require(tt.role)
		switch {
		case tt.want && err != nil:
			t.Errorf("%v.Require(%s) = %v, want nil", tt.held, tt.role, err)
		case !tt.want && !errors.Is(err, patchday.ErrForbidden):
			t.Errorf("%v.Require(%s) = %v, want ErrForbidden", tt.held, tt.role, err)
		case !tt.want && !strings.Contains(err.Error(), "the "+string(tt.role)+" role"):
			t.Errorf("%v.Require(%s) = %q, want it to name the role", tt.held, tt.role, err)
		}
	}
}

func FuzzParseRoles(f *testing.F) {
	for _, s := range []string{
		"", "triager", "tester,triager", "ADMIN", " admin , admin ", "triager,,developer",
		"release-manager,fleet-admin", "wizard", "triager,wizard", "\u212a", "admin\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := staff.ParseRoles(s)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("ParseRoles(%q) error %v is not ErrInvalid", s, err)
			}
			if rs != nil {
				t.Fatalf("ParseRoles(%q) = %v with an error", s, rs)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatalf("ParseRoles(%q) = no roles and no error", s)
		}
		// Every role is known, appears once, in AllRoles order.
		last := -1
		for _, r := range rs {
			i := slices.Index(staff.AllRoles, r)
			if i < 0 {
				t.Fatalf("ParseRoles(%q) returned unknown role %q", s, r)
			}
			if i <= last {
				t.Fatalf("ParseRoles(%q) = %v: duplicate or out of order", s, rs)
			}
			last = i
		}
		// The canonical form reads back as the same set.
		again, err := staff.ParseRoles(rs.String())
		if err != nil {
			t.Fatalf("ParseRoles(%q) = %v, which does not re-parse: %v", s, rs, err)
		}
		if diff := cmp.Diff(rs, again); diff != "" {
			t.Fatalf("ParseRoles(%q) re-parse mismatch (-first +again):\n%s", s, diff)
		}
	})
}
