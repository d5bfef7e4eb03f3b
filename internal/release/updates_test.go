package release_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
)

func build(sha string) intake.Attachment {
	return intake.Attachment{Name: "b-" + sha + ".tar.zst", SHA256: sha, Size: 10}
}

// ship is one case's fix of a Gateway (semver) version.
func ship(ref, rating, from, brings, sha string) release.Shipped {
	return release.Shipped{Case: ref, Rating: rating, ProductID: 1, Product: "Gateway", Scheme: product.SchemeSemver, From: from,
		Fix: fixes.Fix{Brings: brings, Payload: build(sha)}}
}

func TestPlanUpdates(t *testing.T) {
	// Last month: PD-1 fixed 2.4.1 in 2.4.2 (update 10) and 1.9.4 in 1.9.5
	// (update 11); update 9, older, was superseded by 10 already.
	earlier := []release.Update{
		{ID: 9, ProductID: 1, Product: "Gateway", Brings: "2.4.1", AppliesTo: []string{"2.4.0"}, Severity: "Low", Cases: []string{"PD-0"}},
		{ID: 10, ProductID: 1, Product: "Gateway", Brings: "2.4.2", AppliesTo: []string{"2.4.0", "2.4.1"}, Severity: "Medium", Cases: []string{"PD-0", "PD-1"},
			Supersedes: []release.Superseded{{ID: 9, Brings: "2.4.1"}}},
		{ID: 11, ProductID: 1, Product: "Gateway", Brings: "1.9.5", AppliesTo: []string{"1.9.4"}, Severity: "Medium", Cases: []string{"PD-1"}},
		{ID: 12, ProductID: 2, Product: "Agent", Brings: "2.4.2", AppliesTo: []string{"2.4.1"}, Severity: "Critical", Cases: []string{"PD-5"}},
	}
	for _, tt := range []struct {
		name    string
		ship    []release.Shipped
		want    []release.Update
		refused string // part of the refusal, if refused
	}{
		{
			name: "first update of a version",
			ship: []release.Shipped{ship("PD-2", "High", "3.0.0", "3.0.1", "aa")},
			want: []release.Update{{ProductID: 1, Product: "Gateway", Brings: "3.0.1", AppliesTo: []string{"3.0.0"}, Classification: release.Security,
				Severity: "High", Cases: []string{"PD-2"}, Payload: build("aa")}},
		},
		{
			name: "cumulative: built on what the last update brought, it carries that update's fixes and applies over its versions too",
			ship: []release.Shipped{ship("PD-3", "Low", "2.4.2", "2.4.3", "bb")},
			want: []release.Update{{ProductID: 1, Product: "Gateway", Brings: "2.4.3", AppliesTo: []string{"2.4.0", "2.4.1", "2.4.2"},
				Classification: release.Security, Severity: "Medium", Cases: []string{"PD-0", "PD-1", "PD-3"},
				Supersedes: []release.Superseded{{ID: 10, Brings: "2.4.2"}}, Payload: build("bb")}},
		},
		{
			name: "one build for two cases and two lines of versions, each line its own update",
			ship: []release.Shipped{
				ship("PD-4", "High", "2.4.2", "2.4.3", "cc"), ship("PD-5", "Critical", "2.4.2", "2.4.3", "cc"),
				ship("PD-4", "High", "1.9.5", "1.9.6", "dd"),
			},
			want: []release.Update{
				{ProductID: 1, Product: "Gateway", Brings: "2.4.3", AppliesTo: []string{"2.4.0", "2.4.1", "2.4.2"}, Classification: release.Security,
					Severity: "Critical", Cases: []string{"PD-0", "PD-1", "PD-4", "PD-5"}, Supersedes: []release.Superseded{{ID: 10, Brings: "2.4.2"}}, Payload: build("cc")},
				{ProductID: 1, Product: "Gateway", Brings: "1.9.6", AppliesTo: []string{"1.9.4", "1.9.5"}, Classification: release.Security,
					Severity: "High", Cases: []string{"PD-1", "PD-4"}, Supersedes: []release.Superseded{{ID: 11, Brings: "1.9.5"}}, Payload: build("dd")},
			},
		},
		{
			name: "another product's versions are its own",
			ship: []release.Shipped{ship("PD-6", "Low", "2.4.1", "2.4.5", "ee")},
			want: []release.Update{{ProductID: 1, Product: "Gateway", Brings: "2.4.5", AppliesTo: []string{"2.4.0", "2.4.1", "2.4.2"},
				Classification: release.Security, Severity: "Medium", Cases: []string{"PD-0", "PD-1", "PD-6"},
				Supersedes: []release.Superseded{{ID: 10, Brings: "2.4.2"}}, Payload: build("ee")}},
		},
		{
			name:    "two different builds claiming one version",
			ship:    []release.Shipped{ship("PD-7", "Low", "3.0.0", "3.0.1", "aa"), ship("PD-8", "Low", "3.0.0", "3.0.1", "ff")},
			refused: "Gateway 3.0.1 is two different builds here (PD-7's and PD-8's)",
		},
		{
			name:    "two builds in one release for one version",
			ship:    []release.Shipped{ship("PD-7", "Low", "3.0.0", "3.0.1", "aa"), ship("PD-8", "Low", "3.0.0", "3.0.2", "ff")},
			refused: "Gateway 3.0.0 is fixed by two builds in this release, 3.0.1 (PD-7) and 3.0.2 (PD-8)",
		},
		{
			name:    "a build no later than the update it supersedes",
			ship:    []release.Shipped{ship("PD-9", "Low", "2.4.1", "2.4.2", "ab")},
			refused: "Gateway 2.4.2 does not come after 2.4.2",
		},
		{
			name:    "a fix naming no version",
			ship:    []release.Shipped{ship("PD-9", "Low", "3.0.0", "", "ab")},
			refused: "does not say which version it brings",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := release.PlanUpdates(tt.ship, earlier)
			if tt.refused != "" {
				if !errors.Is(err, patchday.ErrConflict) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("got %+v, %v; want refused with %q", got, err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanUpdatesOpaque(t *testing.T) {
	// Opaque versions have no order: a build supersedes what its fixed
	// version was part of, by name only.
	earlier := []release.Update{{ID: 1, ProductID: 3, Product: "Firmware", Brings: "build-B", AppliesTo: []string{"build-A"}, Cases: []string{"PD-1"}}}
	got, err := release.PlanUpdates([]release.Shipped{{Case: "PD-2", ProductID: 3, Product: "Firmware", Scheme: product.SchemeOpaque,
		From: "build-B", Fix: fixes.Fix{Brings: "build-C", Payload: build("aa")}}}, earlier)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !cmp.Equal(got[0].AppliesTo, []string{"build-B", "build-A"}) || got[0].Supersedes[0].ID != 1 {
		t.Errorf("opaque: %+v", got)
	}
	if _, err := release.PlanUpdates([]release.Shipped{{Case: "PD-2", ProductID: 3, Product: "Firmware", Scheme: product.SchemeOpaque,
		From: "build-A", Fix: fixes.Fix{Brings: "build-B", Payload: build("aa")}}}, earlier); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("an opaque version brought twice: %v", err)
	}
}
