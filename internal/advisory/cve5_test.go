package advisory

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// at walks a decoded JSON value along a dotted path of keys and indexes:
// "containers.cna.affected.0.vendor".
func at(v any, path string) (any, bool) {
	for _, step := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[step]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func TestCVE5(t *testing.T) {
	a := rich(t)
	records, err := CVE5(a, publisher)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if diff := cmp.Diff(a.CVEs, ids); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	golden(t, "rich.cve5.json", records[a.CVEs[0]])

	const absent = "<absent>"
	for _, id := range a.CVEs {
		var rec any
		if err := json.Unmarshal(records[id], &rec); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			path string
			want any
		}{
			{"dataType", "CVE_RECORD"},
			{"dataVersion", "5.1"},
			{"cveMetadata.cveId", id},
			{"cveMetadata.assignerOrgId", publisher.OrgID},
			{"cveMetadata.assignerShortName", "examplecorp"},
			{"cveMetadata.state", "PUBLISHED"},
			{"cveMetadata.datePublished", "2026-01-13T17:00:00Z"},
			{"cveMetadata.dateUpdated", "2026-01-20T09:30:00Z"},
			{"containers.cna.providerMetadata.orgId", publisher.OrgID},
			{"containers.cna.providerMetadata.shortName", "examplecorp"},
			{"containers.cna.title", a.Title},
			{"containers.cna.datePublic", "2026-01-13T17:00:00Z"},
			{"containers.cna.descriptions.0.lang", "en"},
			{"containers.cna.descriptions.0.value", a.Summary},
			{"containers.cna.descriptions.1", absent},
			{"containers.cna.affected.0.vendor", "Example Corp"},
			{"containers.cna.affected.0.product", "Widget Server"},
			{"containers.cna.affected.0.versions.0.version", "2.3.0"},
			{"containers.cna.affected.0.versions.0.status", "affected"},
			{"containers.cna.affected.0.versions.2.version", "2.4.0"},
			{"containers.cna.affected.0.versions.3.version", "2.4.1"},
			{"containers.cna.affected.0.versions.3.status", "unaffected"},
			{"containers.cna.affected.0.versions.4", absent},
			{"containers.cna.affected.1.product", "Widget Agent"},
			{"containers.cna.affected.1.versions.1.version", "1.0-2"},
			{"containers.cna.affected.1.versions.2.version", "1.0-3"}, // 1.0-2 once
			{"containers.cna.affected.1.versions.2.status", "unaffected"},
			{"containers.cna.problemTypes.0.descriptions.0.lang", "en"},
			{"containers.cna.problemTypes.0.descriptions.0.type", "CWE"},
			{"containers.cna.problemTypes.0.descriptions.0.cweId", "CWE-78"},
			{"containers.cna.problemTypes.0.descriptions.0.description", "CWE-78 " + a.CWEName},
			{"containers.cna.metrics.0.format", "CVSS"},
			{"containers.cna.metrics.0.scenarios.0.value", "GENERAL"},
			{"containers.cna.metrics.0.cvssV3_1.version", "3.1"},
			{"containers.cna.metrics.0.cvssV3_1.vectorString", a.CVSSVector},
			{"containers.cna.metrics.0.cvssV3_1.baseScore", 9.8},
			{"containers.cna.metrics.0.cvssV3_1.baseSeverity", "CRITICAL"},
			{"containers.cna.metrics.0.cvssV4_0", absent},
			{"containers.cna.solutions.0.value", a.Remediations[0].Details},
			{"containers.cna.workarounds.0.value", a.Remediations[1].Details},
			{"containers.cna.references.0.url", a.URL},
			{"containers.cna.references.0.tags.0", "vendor-advisory"},
			{"containers.cna.references.1.url", "https://example.com/downloads"},
			{"containers.cna.references.1.tags.0", "patch"},
			{"containers.cna.credits.0.lang", "en"},
			{"containers.cna.credits.0.value", "Ada Lovelace"},
			{"containers.cna.credits.0.type", "finder"},
			{"containers.cna.credits.3.type", "remediation verifier"},
			{"containers.adp", absent},
		} {
			got, ok := at(rec, tt.path)
			if !ok {
				got = absent
			}
			if got != tt.want {
				t.Errorf("%s: %s = %v, want %v", id, tt.path, got, tt.want)
			}
		}
	}
}

func TestCVE5Minimal(t *testing.T) {
	a := minimal(t)
	records, err := CVE5(a, publisher)
	if err != nil || records == nil || len(records) != 0 {
		t.Fatalf("CVE5 = %v, %v; want no records and no error", records, err)
	}

	// With a CVE it is a record with a CVSS v4.0 metric.
	a.CVEs = []string{"CVE-2026-0001"}
	a.URL = "https://example.com/advisories/" + a.ID
	records, err = CVE5(a, Publisher{Name: "Example Corp", OrgID: publisher.OrgID})
	if err != nil {
		t.Fatal(err)
	}
	var rec any
	if err := json.Unmarshal(records["CVE-2026-0001"], &rec); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"containers.cna.metrics.0.cvssV4_0.version":      "4.0",
		"containers.cna.metrics.0.cvssV4_0.vectorString": a.CVSSVector,
		"containers.cna.metrics.0.cvssV4_0.baseScore":    9.3,
		"containers.cna.metrics.0.cvssV4_0.baseSeverity": "CRITICAL",
		"containers.cna.affected.0.vendor":               "Example Corp",
		"containers.cna.affected.0.versions.0.version":   "R7",
	} {
		if got, _ := at(rec, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	for _, path := range []string{
		"containers.cna.metrics.0.cvssV3_1", "containers.cna.problemTypes", "containers.cna.credits",
		"containers.cna.solutions", "containers.cna.workarounds", "cveMetadata.assignerShortName",
		"containers.cna.affected.0.versions.1",
	} {
		if got, ok := at(rec, path); ok {
			t.Errorf("%s = %v, want it absent", path, got)
		}
	}
}

func TestCVE5Refuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Advisory, *Publisher)
		field  string
	}{
		{"no org id", func(_ *Advisory, p *Publisher) { p.OrgID = "" }, "publisher.orgid"},
		{"not a v4 uuid", func(_ *Advisory, p *Publisher) { p.OrgID = "b3476cb9-2e3d-11a6-98d0-0f47421a65b6" }, "publisher.orgid"},
		{"long short name", func(_ *Advisory, p *Publisher) { p.ShortName = strings.Repeat("x", 33) }, "publisher.shortname"},
		{"no URL", func(a *Advisory, _ *Publisher) { a.URL = "" }, "url"},
		{"long title", func(a *Advisory, _ *Publisher) { a.Title = strings.Repeat("é", 257) }, "title"},
		{"six-digit CWE", func(a *Advisory, _ *Publisher) { a.CWE = 100000 }, "cwe"},
		{"no product", func(a *Advisory, _ *Publisher) { a.Products = nil }, "products"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, p := rich(t), publisher
			tt.change(&a, &p)
			records, err := CVE5(a, p)
			if records != nil {
				t.Errorf("CVE5 returned records with its error")
			}
			if f := fields(t, err); f[tt.field] == "" {
				t.Errorf("problems = %v, want one with %s", f, tt.field)
			}
		})
	}
}
