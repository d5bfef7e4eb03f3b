package advisory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patchday/patchday/internal/cvss"
)

// CSAF renders a as a CSAF 2.0 csaf_security_advisory (OASIS CSAF 2.0,
// profile 4), indented JSON that validates against the official schema.
//
// Each CVE becomes a vulnerability; an advisory without one has a single
// vulnerability without a cve. They all share the advisory's products,
// remediations, severity and weakness, since the Advisory records those once
// for all of them (its severity is that of the worst).
//
// CSAF 2.0 scores only CVSS v2 and v3.x: a v4.0 vector is written instead as
// a note of category "other" titled "CVSS v4.0" in each vulnerability, with
// its base score and rating. Either version's rating is also the
// document's aggregate severity.
//
// The document is marked TLP:WHITE: it is published when the embargo ends,
// and CSAF providers serve only labelled documents from their public
// directory.
func CSAF(a Advisory, pub Publisher) ([]byte, error) {
	p := a.problems()
	if blank(pub.Name) {
		p.Add("publisher.name", "the publisher's name is required")
	}
	if !absoluteURL(pub.Namespace) {
		p.Add("publisher.namespace", fmt.Sprintf("%q is not an absolute URL", pub.Namespace))
	}
	if err := p.Err(fmt.Sprintf("advisory %s cannot be rendered as CSAF", a.ID)); err != nil {
		return nil, err
	}

	tree, ids := csafProducts(a, pub)
	doc := csafDoc{
		Document: csafDocument{
			Category:     "csaf_security_advisory",
			CSAFVersion:  "2.0",
			Lang:         "en",
			Title:        a.Title,
			Distribution: &csafDistribution{TLP: csafTLP{Label: "WHITE", URL: "https://www.first.org/tlp/"}},
			Publisher: csafPublisher{
				Category:       "vendor",
				Name:           pub.Name,
				Namespace:      pub.Namespace,
				ContactDetails: strings.TrimSpace(pub.ContactDetails),
			},
			Tracking: csafTracking{
				ID:                 a.ID,
				Status:             "final",
				Version:            a.Version(),
				InitialReleaseDate: timestamp(a.InitialRelease()),
				CurrentReleaseDate: timestamp(a.CurrentRelease()),
				Generator:          csafGenerator{Engine: csafEngine{Name: "patchday"}},
			},
			Notes: []csafNote{{Category: "summary", Title: "Summary", Text: a.Summary}},
		},
		ProductTree: &tree,
	}
	for _, r := range a.Revisions {
		doc.Document.Tracking.RevisionHistory = append(doc.Document.Tracking.RevisionHistory,
			csafRevision{Date: timestamp(r.Date), Number: r.Number, Summary: r.Summary})
	}
	if a.CVSSRating != "" {
		doc.Document.AggregateSeverity = &csafAggregateSeverity{Text: a.CVSSRating}
	}
	if a.URL != "" {
		doc.Document.References = []csafReference{{Category: "self", Summary: a.ID, URL: a.URL}}
	}

	v := csafVulnerability{
		Notes:         []csafNote{{Category: "description", Title: "Vulnerability description", Text: a.Summary}},
		ProductStatus: &csafProductStatus{KnownAffected: ids.affected, Fixed: ids.fixed},
		ReleaseDate:   timestamp(a.InitialRelease()),
	}
	if a.CWE != 0 {
		v.CWE = &csafCWE{ID: fmt.Sprintf("CWE-%d", a.CWE), Name: a.CWEName}
	}
	if a.Exploited {
		v.Threats = []csafThreat{{Category: "exploit_status", Details: ExploitedNote, ProductIDs: ids.affected}}
	}
	switch {
	case a.CVSSVector == "":
	case a.CVSSVersion == cvss.V31:
		v.Scores = []csafScore{{Products: ids.affected, CVSSv3: &csafCVSS3{
			Version:      "3.1",
			VectorString: a.CVSSVector,
			BaseScore:    a.CVSSScore,
			BaseSeverity: strings.ToUpper(a.CVSSRating),
		}}}
	default:
		v.Notes = append(v.Notes, csafNote{Category: "other", Title: "CVSS v4.0",
			Text: fmt.Sprintf("%s (base score %.1f, %s)", a.CVSSVector, a.CVSSScore, a.CVSSRating)})
	}
	for _, r := range a.Remediations {
		v.Remediations = append(v.Remediations, csafRemediation{
			Category: r.Category, Details: r.Details, ProductIDs: ids.affected, URL: r.URL,
		})
	}
	v.Acknowledgments = csafAcknowledgments(a.Credits)

	if len(a.CVEs) == 0 {
		doc.Vulnerabilities = []csafVulnerability{v}
	}
	for _, c := range a.CVEs {
		v.CVE = c
		doc.Vulnerabilities = append(doc.Vulnerabilities, v)
	}
	return marshalJSON(doc)
}

// csafIDs are the product ids a vulnerability's status refers to.
type csafIDs struct{ affected, fixed []string }

// csafProducts builds the product tree, vendor → product name → product
// version, numbering every affected and fixed version CSAFPID-0001, … in
// order, so the ids are unique even when two products share a version.
func csafProducts(a Advisory, pub Publisher) (csafProductTree, csafIDs) {
	var tree csafProductTree
	var ids csafIDs
	vendors := map[string]int{} // vendor name → index in tree.Branches
	n := 0
	leaf := func(vendor string, p Product, version string) csafBranch {
		n++
		return csafBranch{Category: "product_version", Name: version, Product: &csafFullProductName{
			Name:      vendor + " " + p.Name + " " + version,
			ProductID: fmt.Sprintf("CSAFPID-%04d", n),
		}}
	}
	for _, p := range a.Products {
		vendor := p.vendor(pub)
		i, ok := vendors[vendor]
		if !ok {
			i = len(tree.Branches)
			vendors[vendor] = i
			tree.Branches = append(tree.Branches, csafBranch{Category: "vendor", Name: vendor})
		}
		product := csafBranch{Category: "product_name", Name: p.Name}
		for _, v := range p.versions() {
			b := leaf(vendor, p, v)
			ids.affected = append(ids.affected, b.Product.ProductID)
			product.Branches = append(product.Branches, b)
		}
		for _, v := range p.fixed() {
			b := leaf(vendor, p, v)
			ids.fixed = append(ids.fixed, b.Product.ProductID)
			product.Branches = append(product.Branches, b)
		}
		tree.Branches[i].Branches = append(tree.Branches[i].Branches, product)
	}
	return tree, ids
}

// csafAcknowledgments groups credits by type, in the order the types first
// appear, each group's summary naming the CVE 5 credit type.
func csafAcknowledgments(cs []Credit) []csafAcknowledgment {
	var acks []csafAcknowledgment
	index := map[string]int{}
	for _, c := range cs {
		t := creditType(c)
		i, ok := index[t]
		if !ok {
			i = len(acks)
			index[t] = i
			acks = append(acks, csafAcknowledgment{Summary: "credited as " + t})
		}
		acks[i].Names = append(acks[i].Names, c.Name)
	}
	return acks
}

// marshalJSON writes v indented, without escaping <, > and & (the formats
// are not embedded in HTML), ending in a newline.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return b.Bytes(), nil
}

// The CSAF 2.0 document, as much of it as patchday writes. Its own types
// rather than github.com/gocsaf/csaf's: those are pointers throughout, the
// package pulls an HTTP client and a bbolt cache into whatever imports it,
// and the tests parse the output with it, which is only a check if it did
// not write it too.
type csafDoc struct {
	Document        csafDocument        `json:"document"`
	ProductTree     *csafProductTree    `json:"product_tree,omitempty"`
	Vulnerabilities []csafVulnerability `json:"vulnerabilities,omitempty"`
}

type csafDocument struct {
	Category          string                 `json:"category"`
	CSAFVersion       string                 `json:"csaf_version"`
	Lang              string                 `json:"lang"`
	Title             string                 `json:"title"`
	AggregateSeverity *csafAggregateSeverity `json:"aggregate_severity,omitempty"`
	Distribution      *csafDistribution      `json:"distribution,omitempty"`
	Publisher         csafPublisher          `json:"publisher"`
	Tracking          csafTracking           `json:"tracking"`
	Notes             []csafNote             `json:"notes,omitempty"`
	References        []csafReference        `json:"references,omitempty"`
}

type csafAggregateSeverity struct {
	Text string `json:"text"`
}

type csafDistribution struct {
	TLP csafTLP `json:"tlp"`
}

type csafTLP struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

type csafPublisher struct {
	Category       string `json:"category"`
	Name           string `json:"name"`
	Namespace      string `json:"namespace"`
	ContactDetails string `json:"contact_details,omitempty"`
}

type csafTracking struct {
	ID                 string         `json:"id"`
	Status             string         `json:"status"`
	Version            string         `json:"version"`
	InitialReleaseDate string         `json:"initial_release_date"`
	CurrentReleaseDate string         `json:"current_release_date"`
	RevisionHistory    []csafRevision `json:"revision_history"`
	Generator          csafGenerator  `json:"generator"`
}

type csafRevision struct {
	Date    string `json:"date"`
	Number  string `json:"number"`
	Summary string `json:"summary"`
}

type csafGenerator struct {
	Engine csafEngine `json:"engine"`
}

type csafEngine struct {
	Name string `json:"name"`
}

type csafNote struct {
	Category string `json:"category"`
	Title    string `json:"title,omitempty"`
	Text     string `json:"text"`
}

type csafReference struct {
	Category string `json:"category"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

type csafProductTree struct {
	Branches []csafBranch `json:"branches"`
}

// csafBranch has either Branches or a Product, never both: the schema
// wants exactly three properties.
type csafBranch struct {
	Category string               `json:"category"`
	Name     string               `json:"name"`
	Branches []csafBranch         `json:"branches,omitempty"`
	Product  *csafFullProductName `json:"product,omitempty"`
}

type csafFullProductName struct {
	Name      string `json:"name"`
	ProductID string `json:"product_id"`
}

type csafVulnerability struct {
	CVE             string               `json:"cve,omitempty"`
	CWE             *csafCWE             `json:"cwe,omitempty"`
	Notes           []csafNote           `json:"notes"`
	ReleaseDate     string               `json:"release_date,omitempty"`
	ProductStatus   *csafProductStatus   `json:"product_status,omitempty"`
	Remediations    []csafRemediation    `json:"remediations,omitempty"`
	Scores          []csafScore          `json:"scores,omitempty"`
	Threats         []csafThreat         `json:"threats,omitempty"`
	Acknowledgments []csafAcknowledgment `json:"acknowledgments,omitempty"`
}

type csafThreat struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
}

type csafCWE struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type csafProductStatus struct {
	KnownAffected []string `json:"known_affected,omitempty"`
	Fixed         []string `json:"fixed,omitempty"`
}

type csafRemediation struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
	URL        string   `json:"url,omitempty"`
}

type csafScore struct {
	Products []string   `json:"products"`
	CVSSv3   *csafCVSS3 `json:"cvss_v3,omitempty"`
}

type csafCVSS3 struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
	BaseSeverity string  `json:"baseSeverity"`
}

type csafAcknowledgment struct {
	Names   []string `json:"names"`
	Summary string   `json:"summary"`
}
