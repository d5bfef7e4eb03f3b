package fleet_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"pilot", true},
		{"a", true},
		{"ring-2", true},
		{"x" + strings.Repeat("0", 63), true},
		{"x" + strings.Repeat("0", 64), false},
		{"", false},
		{"1st", false},
		{"-pilot", false},
		{"Pilot", false},
		{"pi lot", false},
		{"pilot_1", false},
		{"pilöt", false},
	}
	for _, tt := range tests {
		err := fleet.ValidateGroupName(tt.name)
		if tt.ok != (err == nil) {
			t.Errorf("ValidateGroupName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), `e.g. "pilot"`)) {
			t.Errorf("ValidateGroupName(%q) = %v, want ErrInvalid with an example", tt.name, err)
		}
	}
}

func TestResolve(t *testing.T) {
	groups := []fleet.Group{
		{ID: 1, Name: "broad", Ring: 2, Labels: []string{"office"}},
		{ID: 2, Name: "pilot", Ring: 1, Members: []string{"pc-1", "pc-2"}, Labels: []string{"it"}},
		{ID: 3, Name: "canary", Ring: 1, Members: []string{"pc-2"}, Labels: []string{"lab"}},
		{ID: 4, Name: "servers", Ring: 3, Members: []string{"srv-1", "pc-3"}, Labels: []string{"server"}},
		{ID: 5, Name: "alpha", Ring: 3, Labels: []string{"server", "office"}},
		{ID: 6, Name: "zeta", Ring: 0, Members: []string{"pc-3"}},
	}
	tests := []struct {
		computer string
		labels   []string
		want     string // "" = none
	}{
		{"pc-1", nil, "pilot"},
		{"pc-2", nil, "canary"},                  // member of pilot and canary, both ring 1: by name
		{"pc-3", nil, "zeta"},                    // member of servers (ring 3) and zeta (ring 0)
		{"srv-1", []string{"office"}, "servers"}, // a member list beats labels
		{"srv-2", []string{"server"}, "alpha"},   // ring 3 both: by name
		{"pc-9", []string{"server", "office"}, "broad"},
		{"pc-9", []string{"lab", "office"}, "canary"},
		{"pc-9", []string{"kiosk"}, ""},
		{"pc-9", nil, ""},
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 0, 4, 1, 5, 3}} {
		gs := make([]fleet.Group, len(order))
		for i, j := range order {
			gs[i] = groups[j]
		}
		for _, tt := range tests {
			g, ok := fleet.Resolve(gs, tt.computer, tt.labels)
			if ok != (tt.want != "") || g.Name != tt.want {
				t.Errorf("order %v: Resolve(%q, %v) = %q, %v; want %q", order, tt.computer, tt.labels, g.Name, ok, tt.want)
			}
		}
	}
}

func TestGroupValidate(t *testing.T) {
	g := fleet.Group{Name: "pilot", Ring: 1, Policy: fleet.DefaultPolicy()}
	if err := g.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	g = fleet.Group{Name: "Pilot", Ring: -1, Members: []string{""},
		Window: fleet.Window{Rule: "FREQ=DAILY", Duration: 48 * time.Hour}, Policy: fleet.Policy{Waves: []float64{100}}}
	var got []string
	for f := range patchday.FieldErrors(g.Validate()) {
		got = append(got, f)
	}
	want := []string{"members", "name", "policy.brake_failures", "policy.brake_min_results", "policy.brake_rate",
		"policy.install_timeout", "policy.max_unavailable", "ring", "window.duration"}
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
