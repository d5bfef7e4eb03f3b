// Package advisory is the public record of fixed vulnerabilities, and its
// renderings in the formats the ecosystem reads: CSAF 2.0, OSV, CVE JSON 5
// and Atom. Renderers are pure: an Advisory in, a document out.
package advisory

import (
	"fmt"
	"time"
)

// Advisory is one published security advisory, covering one or more cases.
type Advisory struct {
	ID      string // PDSA-YYYY-NNNN
	Title   string
	Summary string   // what is wrong and what it allows, for administrators
	CVEs    []string // CVE ids entered by hand, e.g. CVE-2026-12345
	// Severity of the worst of its vulnerabilities.
	CVSSVector  string
	CVSSVersion string // "3.1" or "4.0"
	CVSSScore   float64
	CVSSRating  string // None, Low, Medium, High, Critical
	CWE         int    // 0 if none
	CWEName     string
	Products    []Product
	// Exploited says the vulnerability is known to be actively
	// exploited: users are told to act at once (Cyber Resilience Act,
	// Article 14(8)).
	Exploited    bool
	Remediations []Remediation
	Credits      []Credit
	// Revisions, oldest first; the first is the initial release.
	Revisions []Revision
	// URL is the advisory's human page.
	URL string
}

// Product is an affected product, its affected versions and the versions
// that fix them: one per line of versions the vendor maintains (a fix of
// 1.9.4 brings 1.9.5, one of 2.3.1 brings 2.3.2).
type Product struct {
	Vendor   string
	Name     string
	Scheme   string   // semver, debian or opaque: how its versions order
	Affected []string // versions, oldest first
	Fixed    []string // the first versions with the fix, oldest first
}

// Remediation categories, as CSAF names them.
const (
	VendorFix  = "vendor_fix"
	Workaround = "workaround"
	Mitigation = "mitigation"
)

// Remediation is what administrators can do.
type Remediation struct {
	Category string // VendorFix, Workaround or Mitigation
	Details  string
	URL      string
}

// CVE 5 credit types.
const (
	Finder              = "finder"
	Reporter            = "reporter"
	Analyst             = "analyst"
	Coordinator         = "coordinator"
	RemediationDev      = "remediation developer"
	RemediationReviewer = "remediation reviewer"
	RemediationVerifier = "remediation verifier"
	Tool                = "tool"
	Sponsor             = "sponsor"
	Other               = "other"
)

// Credit names someone the advisory thanks.
type Credit struct {
	Name string
	Type string // one of the CVE 5 credit types
}

// Revision is one published version of the advisory.
type Revision struct {
	Number  string // "1", "2", …
	Date    time.Time
	Summary string
}

// InitialRelease is when the advisory was first published.
func (a Advisory) InitialRelease() time.Time {
	if len(a.Revisions) == 0 {
		return time.Time{}
	}
	return a.Revisions[0].Date
}

// CurrentRelease is when the latest revision was published.
func (a Advisory) CurrentRelease() time.Time {
	if len(a.Revisions) == 0 {
		return time.Time{}
	}
	return a.Revisions[len(a.Revisions)-1].Date
}

// Version is the latest revision's number.
func (a Advisory) Version() string {
	if len(a.Revisions) == 0 {
		return "1"
	}
	return a.Revisions[len(a.Revisions)-1].Number
}

// Publisher is the vendor publishing advisories.
type Publisher struct {
	Name           string // e.g. Example Corp
	Namespace      string // e.g. https://example.com
	ContactDetails string
	// OrgID is the UUID the CVE Program gave the publisher as a CNA; CVE
	// records need it.
	OrgID string
	// ShortName is the CNA's short name in CVE records, e.g. examplecorp;
	// optional.
	ShortName string
}

// ExploitedNote is what an advisory of an actively exploited
// vulnerability tells its users.
const ExploitedNote = "This vulnerability is known to be actively exploited. Install the security update without delay; " +
	"until you can, apply the workaround or mitigation below, if there is one."

// FormatID writes an advisory id: PDSA-2026-0001.
func FormatID(year, number int) string { return fmt.Sprintf("PDSA-%04d-%04d", year, number) }
