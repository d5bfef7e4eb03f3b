package advisory

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
)

// Patterns the formats impose on identifiers (CSAF 2.0 and CVE JSON 5 agree
// on these two).
var (
	cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)
	// revisionPattern is CSAF's version_t: an integer or a semantic version.
	revisionPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)$|^((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)$`)
)

// Check returns every reason a cannot be rendered in any of the formats, as
// one patchday.ErrInvalid error with a problem per field, or nil. Each
// renderer adds what only its format needs (a publisher, a CVE
// organisation id). The renderers refuse rather than emit a document the
// format's schema would reject.
func (a Advisory) Check() error {
	return a.problems().Err(fmt.Sprintf("advisory %s cannot be published", a.ID))
}

func (a Advisory) problems() patchday.Problems {
	p := patchday.Problems{}
	if a.ID == "" || strings.TrimSpace(a.ID) != a.ID || strings.ContainsFunc(a.ID, isControl) {
		p.Add("id", "an id without surrounding space or control characters is required")
	}
	if blank(a.Title) {
		p.Add("title", "a title is required")
	}
	if blank(a.Summary) {
		p.Add("summary", "a summary is required")
	}
	for _, c := range a.CVEs {
		if !cvePattern.MatchString(c) {
			p.Add("cves", fmt.Sprintf("%q is not a CVE id (CVE-YYYY-NNNN)", c))
		}
	}
	if dup := firstDuplicate(a.CVEs); dup != "" {
		p.Add("cves", fmt.Sprintf("%s is listed twice", dup))
	}
	if a.CVSSVector != "" {
		switch {
		case a.CVSSVersion != cvss.V31 && a.CVSSVersion != cvss.V40:
			p.Add("cvss", fmt.Sprintf("CVSS version %q is neither 3.1 nor 4.0", a.CVSSVersion))
		case !strings.HasPrefix(a.CVSSVector, "CVSS:"+a.CVSSVersion+"/"):
			p.Add("cvss", fmt.Sprintf("vector %q is not a CVSS %s vector", a.CVSSVector, a.CVSSVersion))
		case a.CVSSScore < 0 || a.CVSSScore > 10:
			p.Add("cvss", fmt.Sprintf("score %v is outside 0–10", a.CVSSScore))
		case !slices.Contains(ratings, a.CVSSRating):
			p.Add("cvss", fmt.Sprintf("rating %q is not one of %s", a.CVSSRating, strings.Join(ratings, ", ")))
		}
	}
	if a.CWE < 0 || a.CWE > 999999 {
		p.Add("cwe", fmt.Sprintf("CWE-%d is not a CWE id", a.CWE))
	} else if a.CWE != 0 && blank(a.CWEName) {
		p.Add("cwe", fmt.Sprintf("CWE-%d needs its name", a.CWE))
	}
	if len(a.Products) == 0 {
		p.Add("products", "at least one affected product is required")
	}
	for _, pr := range a.Products {
		switch {
		case blank(pr.Name):
			p.Add("products", "every product needs a name")
		case len(pr.Affected) == 0:
			p.Add("products", fmt.Sprintf("%s lists no affected version", pr.Name))
		case slices.ContainsFunc(pr.Affected, blank) || slices.ContainsFunc(pr.Fixed, blank):
			p.Add("products", fmt.Sprintf("%s has a blank version", pr.Name))
		default:
			for _, f := range pr.fixed() {
				if slices.Contains(pr.Affected, f) {
					p.Add("products", fmt.Sprintf("%s %s cannot be both affected and fixed", pr.Name, f))
				}
			}
		}
	}
	for _, r := range a.Remediations {
		switch {
		case r.Category != VendorFix && r.Category != Workaround && r.Category != Mitigation:
			p.Add("remediations", fmt.Sprintf("unknown remediation category %q", r.Category))
		case blank(r.Details):
			p.Add("remediations", "every remediation needs details")
		case r.URL != "" && !absoluteURL(r.URL):
			p.Add("remediations", fmt.Sprintf("%q is not an absolute URL", r.URL))
		}
	}
	for _, c := range a.Credits {
		if blank(c.Name) {
			p.Add("credits", "every credit needs a name")
		} else if c.Type != "" && !slices.Contains(creditTypes, c.Type) {
			p.Add("credits", fmt.Sprintf("unknown credit type %q", c.Type))
		}
	}
	if len(a.Revisions) == 0 {
		p.Add("revisions", "at least one revision, the initial release, is required")
	}
	for _, r := range a.Revisions {
		switch {
		case !revisionPattern.MatchString(r.Number):
			p.Add("revisions", fmt.Sprintf("revision number %q is neither an integer nor a semantic version", r.Number))
		case r.Date.IsZero():
			p.Add("revisions", fmt.Sprintf("revision %s has no date", r.Number))
		case blank(r.Summary):
			p.Add("revisions", fmt.Sprintf("revision %s needs a summary", r.Number))
		}
	}
	if a.URL != "" && !absoluteURL(a.URL) {
		p.Add("url", fmt.Sprintf("%q is not an absolute URL", a.URL))
	}
	return p
}

// ratings are the qualitative CVSS ratings, as the Advisory spells them.
var ratings = []string{cvss.None, cvss.Low, cvss.Medium, cvss.High, cvss.Critical}

var creditTypes = []string{Finder, Reporter, Analyst, Coordinator, RemediationDev,
	RemediationReviewer, RemediationVerifier, Tool, Sponsor, Other}

// creditType is c's type, Other when unset.
func creditType(c Credit) string {
	if c.Type == "" {
		return Other
	}
	return c.Type
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// absoluteURL reports whether s is what JSON Schema's "uri" format accepts:
// an absolute URI.
func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

func firstDuplicate(ss []string) string {
	seen := map[string]bool{}
	for _, s := range ss {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// versions returns p's affected versions without repeats, in their order:
// an advisory built from several cases may name a version twice.
func (p Product) versions() []string { return unique(p.Affected) }

// fixed returns p's fixed versions without repeats, in their order.
func (p Product) fixed() []string { return unique(p.Fixed) }

func unique(ss []string) []string {
	var out []string
	for _, v := range ss {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// vendor is p's vendor, or the publisher's name when the product has none:
// a publisher's advisories are about its own products.
func (p Product) vendor(pub Publisher) string {
	if !blank(p.Vendor) {
		return p.Vendor
	}
	return pub.Name
}

// timestamp writes t as the formats want it: RFC 3339 in UTC, so OSV's
// "Z"-only pattern holds too.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
