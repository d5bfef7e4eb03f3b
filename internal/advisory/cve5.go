package advisory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/patchday/patchday/internal/cvss"
)

// uuidV4 is CVE JSON 5's uuidType: a version 4 UUID.
var uuidV4 = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)

// CVE5 renders a CVE JSON 5.1 record (state PUBLISHED, with the CNA
// container) for each of a's CVEs, keyed by CVE id: a CVE record describes
// one CVE, and an advisory may cover several. An advisory without a CVE has
// no records: the map is empty, and the error nil.
//
// Every record carries the whole advisory's products, severity and
// weakness, since the Advisory records those once for all its CVEs. pub
// must have the OrgID the CVE Program gave it.
func CVE5(a Advisory, pub Publisher) (map[string][]byte, error) {
	p := a.problems()
	if !uuidV4.MatchString(pub.OrgID) {
		p.Add("publisher.orgid", fmt.Sprintf("%q is not the version 4 UUID of a CVE organisation", pub.OrgID))
	}
	if n := utf8.RuneCountInString(pub.ShortName); pub.ShortName != "" && (n < 2 || n > 32) {
		p.Add("publisher.shortname", "a CNA short name has 2 to 32 characters")
	}
	if len(a.CVEs) > 0 {
		if a.URL == "" {
			p.Add("url", "a CVE record needs the advisory's URL as its reference")
		}
		if utf8.RuneCountInString(a.Title) > 256 {
			p.Add("title", "a CVE record's title has at most 256 characters")
		}
		if utf8.RuneCountInString(a.Summary) > 4096 {
			p.Add("summary", "a CVE record's description has at most 4096 characters")
		}
		if a.CWE > 99999 {
			p.Add("cwe", "a CVE record names CWEs of at most five digits")
		}
	}
	if err := p.Err(fmt.Sprintf("advisory %s cannot be rendered as CVE records", a.ID)); err != nil {
		return nil, err
	}

	cna := cveCNA{
		ProviderMetadata: cveProvider{OrgID: pub.OrgID, ShortName: pub.ShortName, DateUpdated: timestamp(a.CurrentRelease())},
		Title:            a.Title,
		DatePublic:       timestamp(a.InitialRelease()),
		Descriptions:     []cveText{{Lang: "en", Value: a.Summary}},
	}
	for _, pr := range a.Products {
		af := cveAffected{Vendor: pr.vendor(pub), Product: pr.Name}
		for _, v := range pr.versions() {
			af.Versions = append(af.Versions, cveVersion{Version: v, Status: "affected"})
		}
		for _, v := range pr.fixed() {
			af.Versions = append(af.Versions, cveVersion{Version: v, Status: "unaffected"})
		}
		cna.Affected = append(cna.Affected, af)
	}
	if a.CWE != 0 {
		id := fmt.Sprintf("CWE-%d", a.CWE)
		cna.ProblemTypes = []cveProblemType{{Descriptions: []cveProblem{{
			Lang: "en", CWEID: id, Description: id + " " + a.CWEName, Type: "CWE",
		}}}}
	}
	if a.CVSSVector != "" {
		m := cveMetric{Format: "CVSS", Scenarios: []cveText{{Lang: "en", Value: "GENERAL"}}}
		score := &cveCVSS{
			Version:      a.CVSSVersion,
			VectorString: a.CVSSVector,
			BaseScore:    a.CVSSScore,
			BaseSeverity: strings.ToUpper(a.CVSSRating),
		}
		if a.CVSSVersion == cvss.V40 {
			m.CVSSv40 = score
		} else {
			m.CVSSv31 = score
		}
		cna.Metrics = []cveMetric{m}
	}
	cna.References = []cveReference{{URL: a.URL, Name: a.ID, Tags: []string{"vendor-advisory"}}}
	if a.Exploited {
		cna.Exploits = []cveText{{Lang: "en", Value: ExploitedNote}}
	}
	for _, r := range a.Remediations {
		text := cveText{Lang: "en", Value: r.Details}
		if r.Category == VendorFix {
			cna.Solutions = appendUnique(cna.Solutions, text)
		} else {
			cna.Workarounds = appendUnique(cna.Workarounds, text)
		}
		if r.URL != "" && !slices.ContainsFunc(cna.References, func(x cveReference) bool { return x.URL == r.URL }) {
			tag := "mitigation"
			if r.Category == VendorFix {
				tag = "patch"
			}
			cna.References = append(cna.References, cveReference{URL: r.URL, Tags: []string{tag}})
		}
	}
	for _, c := range a.Credits {
		cna.Credits = appendUnique(cna.Credits, cveCredit{Lang: "en", Value: c.Name, Type: creditType(c)})
	}

	records := make(map[string][]byte, len(a.CVEs))
	for _, id := range a.CVEs {
		r := cveRecord{
			DataType:    "CVE_RECORD",
			DataVersion: "5.1",
			CVEMetadata: cveMetadata{
				CVEID:             id,
				AssignerOrgID:     pub.OrgID,
				AssignerShortName: pub.ShortName,
				State:             "PUBLISHED",
				DatePublished:     timestamp(a.InitialRelease()),
				DateUpdated:       timestamp(a.CurrentRelease()),
			},
			Containers: cveContainers{CNA: cna},
		}
		b, err := marshalJSON(r)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", id, err)
		}
		records[id] = b
	}
	return records, nil
}

// appendUnique appends v unless s holds it: the CVE schema wants unique
// items in every list.
func appendUnique[T comparable](s []T, v T) []T {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

type cveRecord struct {
	DataType    string        `json:"dataType"`
	DataVersion string        `json:"dataVersion"`
	CVEMetadata cveMetadata   `json:"cveMetadata"`
	Containers  cveContainers `json:"containers"`
}

type cveMetadata struct {
	CVEID             string `json:"cveId"`
	AssignerOrgID     string `json:"assignerOrgId"`
	AssignerShortName string `json:"assignerShortName,omitempty"`
	State             string `json:"state"`
	DatePublished     string `json:"datePublished"`
	DateUpdated       string `json:"dateUpdated"`
}

type cveContainers struct {
	CNA cveCNA `json:"cna"`
}

type cveCNA struct {
	ProviderMetadata cveProvider      `json:"providerMetadata"`
	Title            string           `json:"title"`
	DatePublic       string           `json:"datePublic"`
	Descriptions     []cveText        `json:"descriptions"`
	Affected         []cveAffected    `json:"affected"`
	ProblemTypes     []cveProblemType `json:"problemTypes,omitempty"`
	Metrics          []cveMetric      `json:"metrics,omitempty"`
	Solutions        []cveText        `json:"solutions,omitempty"`
	Workarounds      []cveText        `json:"workarounds,omitempty"`
	Exploits         []cveText        `json:"exploits,omitempty"`
	References       []cveReference   `json:"references"`
	Credits          []cveCredit      `json:"credits,omitempty"`
}

type cveProvider struct {
	OrgID       string `json:"orgId"`
	ShortName   string `json:"shortName,omitempty"`
	DateUpdated string `json:"dateUpdated"`
}

// cveText is the schema's description: text in a language.
type cveText struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

type cveAffected struct {
	Vendor   string       `json:"vendor"`
	Product  string       `json:"product"`
	Versions []cveVersion `json:"versions"`
}

type cveVersion struct {
	Version string `json:"version"`
	Status  string `json:"status"`
}

type cveProblemType struct {
	Descriptions []cveProblem `json:"descriptions"`
}

type cveProblem struct {
	Lang        string `json:"lang"`
	CWEID       string `json:"cweId"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

type cveMetric struct {
	Format    string    `json:"format"`
	Scenarios []cveText `json:"scenarios"`
	CVSSv40   *cveCVSS  `json:"cvssV4_0,omitempty"`
	CVSSv31   *cveCVSS  `json:"cvssV3_1,omitempty"`
}

// cveCVSS holds the properties FIRST's CVSS v3.1 and v4.0 schemas both
// require.
type cveCVSS struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
	BaseSeverity string  `json:"baseSeverity"`
}

type cveReference struct {
	URL  string   `json:"url"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

type cveCredit struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
	Type  string `json:"type"`
}
