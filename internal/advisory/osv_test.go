package advisory

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOSV(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    Advisory
		want osvRecord
	}{
		{"rich", rich(t), osvRecord{
			SchemaVersion: OSVSchemaVersion,
			ID:            "x_PDSA-2026-0007",
			Modified:      "2026-01-20T09:30:00Z",
			Published:     "2026-01-13T17:00:00Z",
			Aliases:       []string{"CVE-2026-12345", "CVE-2026-12346"},
			Summary:       "Command injection in the Widget Server admin API",
			Details: "**" + ExploitedNote + "**\n\n" + rich(t).Summary +
				"\n\nFix: Install Widget Server 2.4.1 and Widget Agent 1.0-3 or later. <https://example.com/downloads>" +
				"\n\nWorkaround: Block access to /admin/diagnostics at the reverse proxy.",
			Severity: []osvSeverity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
			Affected: []osvAffected{
				{
					Ranges:   []osvRange{{Type: "SEMVER", Events: []osvEvent{{Introduced: "2.3.0"}, {Fixed: "2.4.1"}}}},
					Versions: []string{"2.3.0", "2.3.1", "2.4.0"},
					DatabaseSpecific: osvProduct{Vendor: "Example Corp", Product: "Widget Server",
						Scheme: "semver", Fixed: []string{"2.4.1"}},
				},
				{
					// Debian versions have no ordering OSV knows without an
					// ecosystem: the versions only.
					Versions: []string{"1.0-1", "1.0-2"},
					DatabaseSpecific: osvProduct{Vendor: "Example Corp", Product: "Widget Agent",
						Scheme: "debian", Fixed: []string{"1.0-3"}},
				},
			},
			References: []osvReference{
				{Type: "ADVISORY", URL: "https://example.com/advisories/PDSA-2026-0007"},
				{Type: "WEB", URL: "https://example.com/downloads"},
			},
			Credits: []osvCredit{
				{Name: "Ada Lovelace", Type: "FINDER"},
				{Name: "Example CERT", Type: "COORDINATOR"},
				{Name: "Grace Hopper", Type: "FINDER"},
				{Name: "Alan Turing", Type: "REMEDIATION_VERIFIER"},
			},
			DatabaseSpecific: &osvDatabaseSpecific{
				CWE:            &osvCWE{ID: "CWE-78", Name: rich(t).CWEName},
				Severity:       "Critical",
				KnownExploited: true,
			},
		}},
		{"minimal", minimal(t), osvRecord{
			SchemaVersion: OSVSchemaVersion,
			ID:            "x_PDSA-2026-0008",
			Modified:      "2026-02-10T17:00:00Z",
			Published:     "2026-02-10T17:00:00Z",
			Summary:       "Denial of service in Gadget firmware",
			Details:       "A malformed packet restarts the device.",
			Severity:      []osvSeverity{{Type: "CVSS_V4", Score: minimal(t).CVSSVector}},
			Affected: []osvAffected{{
				Versions:         []string{"R7"},
				DatabaseSpecific: osvProduct{Product: "Gadget", Scheme: "opaque"},
			}},
			DatabaseSpecific: &osvDatabaseSpecific{Severity: "Critical"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := OSV(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, osvSchema, doc)
			golden(t, tt.name+".osv.json", doc)
			var got osvRecord
			dec := json.NewDecoder(bytes.NewReader(doc))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OSV record (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOSVSchemaLimits shows why OSV leaves out what it does: the schema
// refuses an unregistered id prefix and any ecosystem it does not list.
func TestOSVSchemaLimits(t *testing.T) {
	doc, err := OSV(rich(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"plain id", func(r map[string]any) { r["id"] = "PDSA-2026-0007" }},
		{"vendor ecosystem", func(r map[string]any) {
			r["affected"].([]any)[0].(map[string]any)["package"] = map[string]any{"ecosystem": "Example Corp", "name": "Widget Server"}
		}},
		{"local time", func(r map[string]any) { r["modified"] = "2026-01-20T10:30:00+01:00" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r map[string]any
			if err := json.Unmarshal(doc, &r); err != nil {
				t.Fatal(err)
			}
			tt.change(r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if conform(osvSchema, b) == nil {
				t.Errorf("the OSV schema accepts it now: reconsider osv.go")
			}
		})
	}
}

func TestOSVRefuses(t *testing.T) {
	a := rich(t)
	a.Revisions = nil
	if f := fields(t, func() error { _, err := OSV(a); return err }()); f["revisions"] == "" {
		t.Errorf("problems = %v, want one with revisions", f)
	}
}

func TestSemverRange(t *testing.T) {
	type ev = osvEvent
	for _, tt := range []struct {
		name   string
		p      Product
		events []osvEvent // nil: no range
	}{
		{"in order", Product{Scheme: "semver", Affected: []string{"1.0.0", "1.1.0"}, Fixed: []string{"1.1.1"}},
			[]ev{{Introduced: "1.0.0"}, {Fixed: "1.1.1"}}},
		{"out of order", Product{Scheme: "semver", Affected: []string{"1.2.0", "1.0.0-rc.1", "1.10.0"}, Fixed: []string{"2.0.0"}},
			[]ev{{Introduced: "1.0.0-rc.1"}, {Fixed: "2.0.0"}}},
		{"two lines", Product{Scheme: "semver", Affected: []string{"2.3.1", "1.9.4", "2.3.0"}, Fixed: []string{"2.3.2", "1.9.5"}},
			[]ev{{Introduced: "1.9.4"}, {Fixed: "1.9.5"}, {Introduced: "2.3.0"}, {Fixed: "2.3.2"}}},
		{"a fixed version closing nothing", Product{Scheme: "semver", Affected: []string{"1.0.0"}, Fixed: []string{"1.0.1", "1.0.2", "1.0.1"}},
			[]ev{{Introduced: "1.0.0"}, {Fixed: "1.0.1"}}},
		{"no fix yet", Product{Scheme: "semver", Affected: []string{"1.0.0"}}, nil},
		{"fix on an older line only", Product{Scheme: "semver", Affected: []string{"1.4.2", "2.0.0"}, Fixed: []string{"1.4.3"}}, nil},
		{"leading v", Product{Scheme: "semver", Affected: []string{"v1.0.0"}, Fixed: []string{"v1.0.1"}}, nil},
		{"not semver", Product{Scheme: "semver", Affected: []string{"1.0"}, Fixed: []string{"1.1"}}, nil},
		{"debian", Product{Scheme: "debian", Affected: []string{"1.0-1"}, Fixed: []string{"1.0-2"}}, nil},
		{"opaque", Product{Scheme: "opaque", Affected: []string{"1"}, Fixed: []string{"2"}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := semverRange(tt.p)
			if ok != (tt.events != nil) {
				t.Fatalf("ok = %v, want %v (range %+v)", ok, tt.events != nil, r)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(osvRange{Type: "SEMVER", Events: tt.events}, r); diff != "" {
				t.Errorf("range (-want +got):\n%s", diff)
			}
		})
	}
}
