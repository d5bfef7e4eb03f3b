package advisory

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/product"
)

// OSVSchemaVersion is the version of the OSV schema the records follow.
const OSVSchemaVersion = "1.7.4"

// OSV renders a as an OSV record (https://ossf.github.io/osv-schema/),
// indented JSON that validates against the schema's validation/schema.json.
//
// Two things differ from what one might expect, both because the OSV schema
// allows only the identifiers it lists:
//
//   - The id is "x_" + a.ID. The schema accepts only registered database
//     prefixes (GHSA-, PYSEC-, …) or the "x_" prefix, and PDSA is not a
//     single database: every patchday installation numbers its own.
//   - affected[].package is left out. Every ecosystem the schema allows is a
//     public registry or distribution (npm, PyPI, Debian, …); claiming one
//     for a vendor's product would make scanners match a same-named package
//     from that registry, and both are wrong. OSV makes package optional
//     (only id and modified are required, as the maintainers confirm in
//     google/osv.dev#2141), so each affected entry names vendor and product
//     in its database_specific instead and always lists its versions.
//
// Without an ecosystem there is no ECOSYSTEM ordering to lean on, so only a
// semver product with a fixed version gets a range: SEMVER, introduced at the
// oldest affected version, fixed at the fix. That range also claims the
// versions between them, which holds when a product's affected versions are
// contiguous, as patchday's triage records them.
func OSV(a Advisory) ([]byte, error) {
	if err := a.problems().Err(fmt.Sprintf("advisory %s cannot be rendered as OSV", a.ID)); err != nil {
		return nil, err
	}
	r := osvRecord{
		SchemaVersion: OSVSchemaVersion,
		ID:            "x_" + a.ID,
		Modified:      timestamp(a.CurrentRelease()),
		Published:     timestamp(a.InitialRelease()),
		Aliases:       a.CVEs,
		Summary:       a.Title,
		Details:       osvDetails(a),
	}
	if a.CVSSVector != "" {
		typ := map[string]string{cvss.V31: "CVSS_V3", cvss.V40: "CVSS_V4"}[a.CVSSVersion]
		r.Severity = []osvSeverity{{Type: typ, Score: a.CVSSVector}}
	}
	for _, p := range a.Products {
		af := osvAffected{
			Versions: p.versions(),
			DatabaseSpecific: osvProduct{
				Vendor: strings.TrimSpace(p.Vendor), Product: p.Name, Scheme: p.Scheme, Fixed: p.fixed(),
			},
		}
		if rg, ok := semverRange(p); ok {
			af.Ranges = []osvRange{rg}
		}
		r.Affected = append(r.Affected, af)
	}
	if a.URL != "" {
		r.References = append(r.References, osvReference{Type: "ADVISORY", URL: a.URL})
	}
	for _, rem := range a.Remediations {
		if rem.URL != "" && !slices.ContainsFunc(r.References, func(x osvReference) bool { return x.URL == rem.URL }) {
			r.References = append(r.References, osvReference{Type: "WEB", URL: rem.URL})
		}
	}
	for _, c := range a.Credits {
		r.Credits = append(r.Credits, osvCredit{Name: c.Name, Type: osvCreditType(c)})
	}
	if a.CWE != 0 || a.CVSSRating != "" || a.Exploited {
		r.DatabaseSpecific = &osvDatabaseSpecific{Severity: a.CVSSRating, KnownExploited: a.Exploited}
		if a.CWE != 0 {
			r.DatabaseSpecific.CWE = &osvCWE{ID: fmt.Sprintf("CWE-%d", a.CWE), Name: a.CWEName}
		}
	}
	return marshalJSON(r)
}

// osvDetails is the summary, then what administrators can do, as the
// CommonMark the details field is.
func osvDetails(a Advisory) string {
	var b strings.Builder
	if a.Exploited {
		b.WriteString("**" + ExploitedNote + "**\n\n")
	}
	b.WriteString(strings.TrimSpace(a.Summary))
	for _, r := range a.Remediations {
		fmt.Fprintf(&b, "\n\n%s: %s", remediationLabel[r.Category], strings.TrimSpace(r.Details))
		if r.URL != "" {
			fmt.Fprintf(&b, " <%s>", r.URL)
		}
	}
	return b.String()
}

var remediationLabel = map[string]string{VendorFix: "Fix", Workaround: "Workaround", Mitigation: "Mitigation"}

// semverRange is the SEMVER range of a semver product's affected versions,
// if every version is a semantic version as OSV writes them (no leading
// "v") and every affected version has a fix after it. Each fixed version
// closes the affected versions below it: a fix of 1.9.4 in 1.9.5 and of
// 2.3.1 in 2.3.2 is introduced 1.9.4, fixed 1.9.5, introduced 2.3.1,
// fixed 2.3.2.
func semverRange(p Product) (osvRange, bool) {
	vs, fixed := p.versions(), p.fixed()
	if p.Scheme != string(product.SchemeSemver) || len(fixed) == 0 {
		return osvRange{}, false
	}
	for _, v := range append(slices.Clone(vs), fixed...) {
		if strings.HasPrefix(v, "v") || product.SchemeSemver.CheckVersion(v) != nil {
			return osvRange{}, false
		}
	}
	slices.SortFunc(vs, product.SchemeSemver.Compare)
	slices.SortFunc(fixed, product.SchemeSemver.Compare)
	var events []osvEvent
	i := 0
	for _, f := range fixed {
		from := i
		for i < len(vs) && product.SchemeSemver.Compare(vs[i], f) < 0 {
			i++
		}
		if i > from {
			events = append(events, osvEvent{Introduced: vs[from]}, osvEvent{Fixed: f})
		}
	}
	if i < len(vs) { // an affected version with no fix after it
		return osvRange{}, false
	}
	return osvRange{Type: "SEMVER", Events: events}, true
}

// osvCreditType is OSV's spelling of a CVE 5 credit type: upper case,
// underscores for spaces.
func osvCreditType(c Credit) string {
	return strings.ToUpper(strings.ReplaceAll(creditType(c), " ", "_"))
}

type osvRecord struct {
	SchemaVersion    string               `json:"schema_version"`
	ID               string               `json:"id"`
	Modified         string               `json:"modified"`
	Published        string               `json:"published"`
	Aliases          []string             `json:"aliases,omitempty"`
	Summary          string               `json:"summary"`
	Details          string               `json:"details"`
	Severity         []osvSeverity        `json:"severity,omitempty"`
	Affected         []osvAffected        `json:"affected,omitempty"`
	References       []osvReference       `json:"references,omitempty"`
	Credits          []osvCredit          `json:"credits,omitempty"`
	DatabaseSpecific *osvDatabaseSpecific `json:"database_specific,omitempty"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Ranges           []osvRange `json:"ranges,omitempty"`
	Versions         []string   `json:"versions"`
	DatabaseSpecific osvProduct `json:"database_specific"`
}

// osvProduct names the product an affected entry is about, in place of the
// package OSV has no ecosystem for.
type osvProduct struct {
	Vendor  string   `json:"vendor,omitempty"`
	Product string   `json:"product"`
	Scheme  string   `json:"scheme,omitempty"`
	Fixed   []string `json:"fixed,omitempty"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

// osvEvent holds exactly one of its fields, as OSV requires.
type osvEvent struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

type osvReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type osvCredit struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type osvDatabaseSpecific struct {
	CWE            *osvCWE `json:"cwe,omitempty"`
	Severity       string  `json:"severity,omitempty"`
	KnownExploited bool    `json:"known_exploited,omitempty"`
}

type osvCWE struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
