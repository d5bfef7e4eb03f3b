package fleet_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/fleet"
)

func TestApplicable(t *testing.T) {
	u := fleet.Update{Product: "agent", Version: "1.2", AppliesTo: []string{"1.0", "1.1"}}
	fresh := fleet.Update{Product: "agent", Version: "1.2", AppliesTo: []string{""}}
	tests := []struct {
		u         fleet.Update
		installed string
		want      bool
	}{
		{u, "1.0", true},
		{u, "1.1", true},
		{u, "1.2", false},
		{u, "0.9", false},
		{u, "", false},
		{fresh, "", true},
		{fresh, "1.0", false},
	}
	for _, tt := range tests {
		if got := fleet.Applicable(tt.u, tt.installed); got != tt.want {
			t.Errorf("Applicable(%v, %q) = %v, want %v", tt.u.AppliesTo, tt.installed, got, tt.want)
		}
	}
}

func TestState(t *testing.T) {
	u := fleet.Update{Product: "agent", Version: "1.2", AppliesTo: []string{"1.0", "1.1"}}
	// 1.3 comes with an update that supersedes 1.2; 1.0 does not.
	supersededBy := func(v string) bool { return v == "1.3" }
	tests := []struct {
		installed, reported string
		want                string
	}{
		{"1.2", "", fleet.StateInstalled},
		{"1.2", fleet.StateFailed, fleet.StateInstalled},
		{"1.3", "", fleet.StateInstalled},
		{"1.1", "", fleet.StateNeeded},
		{"1.1", fleet.StateDownloaded, fleet.StateDownloaded},
		{"1.0", fleet.StateFailed, fleet.StateFailed},
		{"1.0", fleet.StateInstalled, fleet.StateNeeded}, // a stale report does not count
		{"0.9", fleet.StateDownloaded, fleet.StateNotApplicable},
		{"", "", fleet.StateNotApplicable},
	}
	for _, tt := range tests {
		if got := fleet.State(u, tt.installed, supersededBy, tt.reported); got != tt.want {
			t.Errorf("State(installed %q, reported %q) = %s, want %s", tt.installed, tt.reported, got, tt.want)
		}
	}
	if got := fleet.State(u, "1.3", nil, ""); got != fleet.StateNotApplicable {
		t.Errorf("State with no supersedence = %s", got)
	}
}

func TestOffer(t *testing.T) {
	updates := []fleet.Update{
		// A hotfix released after 1.3 but superseded by it: 1.3 wins though its ID is smaller.
		{ID: 10, Product: "agent", Version: "1.2.1", AppliesTo: []string{"1.1", "1.2"}},
		{ID: 7, Product: "agent", Version: "1.3", AppliesTo: []string{"1.1", "1.2"}, Supersedes: []string{"1.2.1", "1.2"}},
		{ID: 8, Product: "agent", Version: "1.4-beta", AppliesTo: []string{"1.2"}}, // not approved
		{ID: 3, Product: "tools", Version: "2.0", AppliesTo: []string{"1.0"}},
		{ID: 4, Product: "tools", Version: "2.0.1", AppliesTo: []string{"1.0"}}, // neither supersedes: larger ID
		{ID: 5, Product: "driver", Version: "5.0", AppliesTo: []string{""}},     // fresh install
		{ID: 6, Product: "server", Version: "9.0", AppliesTo: []string{"8.0"}},  // not installed
		{ID: 9, Product: "console", Version: "3.0", AppliesTo: []string{"1.0"}}, // not applicable to 2.0
	}
	inv := map[string]string{"agent": "1.2", "tools": "1.0", "console": "2.0"}
	approved := func(u fleet.Update) bool { return u.Version != "1.4-beta" }
	var got []string
	for _, u := range fleet.Offer(updates, inv, approved) {
		got = append(got, u.Product+" "+u.Version)
	}
	want := []string{"agent 1.3", "driver 5.0", "tools 2.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Offer (-want +got):\n%s", diff)
	}
	// Order of the updates does not matter.
	for i, j := 0, len(updates)-1; i < j; i, j = i+1, j-1 {
		updates[i], updates[j] = updates[j], updates[i]
	}
	got = got[:0]
	for _, u := range fleet.Offer(updates, inv, approved) {
		got = append(got, u.Product+" "+u.Version)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Offer, reversed (-want +got):\n%s", diff)
	}
	if got := fleet.Offer(updates, inv, nil); got != nil {
		t.Errorf("Offer with nil approved = %v", got)
	}
	one := updates[len(updates)-2:]
	if allocs := testing.AllocsPerRun(100, func() { fleet.Offer(one, inv, approved) }); allocs > 1 {
		t.Errorf("Offer allocates %v times for one offer", allocs)
	}
}

func TestRoute(t *testing.T) {
	full := fleet.Target{Path: "agent-1.3.pkg", SHA256: "aa", Size: 50 << 20}
	delta := fleet.Target{Path: "agent-1.2-1.3.delta", SHA256: "bb", Size: 2 << 20}
	u := fleet.Update{Version: "1.3", Full: full, Deltas: map[string]fleet.Target{"1.2": delta}}
	tests := []struct {
		installed string
		want      fleet.Target
		delta     bool
	}{
		{"1.2", delta, true},
		{"1.1", full, false},
		{"", full, false},
	}
	for _, tt := range tests {
		got, isDelta := u.Route(tt.installed)
		if got != tt.want || isDelta != tt.delta {
			t.Errorf("Route(%q) = %v, %v; want %v, %v", tt.installed, got, isDelta, tt.want, tt.delta)
		}
	}
}
