package advisory

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocsaf/csaf/v3/csaf"
	"github.com/google/go-cmp/cmp"
)

// parseCSAF reads a CSAF document the way gocsaf's LoadAdvisory does:
// unknown properties refused, then its own checks. gocsaf v3.7.0 spells
// the acknowledgments property "acknowledgements" (its Document and
// Vulnerability json tags), so LoadAdvisory refuses every document that
// credits anyone, and a lenient decode drops the credits; the property is
// renamed to gocsaf's spelling first so the rest is still parsed strictly.
func parseCSAF(t testing.TB, doc []byte) *csaf.Advisory {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	respell := func(m any) {
		if o, ok := m.(map[string]any); ok {
			if v, ok := o["acknowledgments"]; ok {
				o["acknowledgements"] = v
				delete(o, "acknowledgments")
			}
		}
	}
	respell(raw["document"])
	if vs, ok := raw["vulnerabilities"].([]any); ok {
		for _, v := range vs {
			respell(v)
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var adv csaf.Advisory
	if err := dec.Decode(&adv); err != nil {
		t.Fatalf("gocsaf cannot parse it: %v\n%s", err, doc)
	}
	if err := adv.Validate(); err != nil {
		t.Fatalf("gocsaf refuses it: %v\n%s", err, doc)
	}
	return &adv
}

// strictCSAF checks doc against gocsaf's copy of the schema, which (unlike
// the official one) refuses properties CSAF does not define: the official
// schema would let a misspelt property through.
func strictCSAF(t testing.TB, doc []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	problems, err := csaf.ValidateCSAF(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("gocsaf's strict schema: %s\n%s", strings.Join(problems, "\n"), doc)
	}
}

func TestCSAF(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    Advisory
	}{
		{"rich", rich(t)},
		{"minimal", minimal(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := CSAF(tt.a, publisher)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, csafSchema, doc)
			strictCSAF(t, doc)
			adv := parseCSAF(t, doc)
			checkProductIDs(t, adv)
			golden(t, tt.name+".csaf.json", doc)

			d := adv.Document
			tr := d.Tracking
			for _, c := range []struct {
				field     string
				got, want any
			}{
				{"category", string(*d.Category), "csaf_security_advisory"},
				{"csaf_version", string(*d.CSAFVersion), "2.0"},
				{"lang", string(*d.Lang), "en"},
				{"title", *d.Title, tt.a.Title},
				{"publisher.category", string(*d.Publisher.Category), "vendor"},
				{"publisher.name", *d.Publisher.Name, publisher.Name},
				{"publisher.namespace", *d.Publisher.Namespace, publisher.Namespace},
				{"tracking.id", string(*tr.ID), tt.a.ID},
				{"tracking.status", string(*tr.Status), "final"},
				{"tracking.version", string(*tr.Version), tt.a.Version()},
				{"tracking.initial_release_date", *tr.InitialReleaseDate, tt.a.InitialRelease().UTC().Format(time.RFC3339)},
				{"tracking.current_release_date", *tr.CurrentReleaseDate, tt.a.CurrentRelease().UTC().Format(time.RFC3339)},
				{"tracking.revision_history", len(tr.RevisionHistory), len(tt.a.Revisions)},
				{"tracking.generator.engine.name", *tr.Generator.Engine.Name, "patchday"},
				{"notes[0].category", string(*d.Notes[0].NoteCategory), "summary"},
				{"notes[0].text", *d.Notes[0].Text, tt.a.Summary},
				{"vulnerabilities", len(adv.Vulnerabilities), max(1, len(tt.a.CVEs))},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
				}
			}
			for i, r := range tt.a.Revisions {
				got := tr.RevisionHistory[i]
				if string(*got.Number) != r.Number || *got.Summary != r.Summary || *got.Date != r.Date.UTC().Format(time.RFC3339) {
					t.Errorf("revision %d = %s %s %q, want %s %s %q", i, *got.Number, *got.Date, *got.Summary,
						r.Number, r.Date.UTC().Format(time.RFC3339), r.Summary)
				}
			}
		})
	}
}

func TestCSAFRich(t *testing.T) {
	a := rich(t)
	doc, err := CSAF(a, publisher)
	if err != nil {
		t.Fatal(err)
	}
	adv := parseCSAF(t, doc)

	if got := *adv.Document.References[0]; *got.ReferenceCategory != "self" || *got.URL != a.URL {
		t.Errorf("reference = %s %s, want self %s", *got.ReferenceCategory, *got.URL, a.URL)
	}
	if got := *adv.Document.AggregateSeverity.Text; got != "Critical" {
		t.Errorf("aggregate severity = %q, want Critical", got)
	}

	names := map[string]string{} // product id → full product name
	var walk func(csaf.Branches)
	walk = func(bs csaf.Branches) {
		for _, b := range bs {
			if b.Product != nil {
				names[string(*b.Product.ProductID)] = *b.Product.Name
			}
			walk(b.Branches)
		}
	}
	walk(adv.ProductTree.Branches)
	vendor := adv.ProductTree.Branches[0]
	if len(adv.ProductTree.Branches) != 1 || *vendor.Name != "Example Corp" || string(*vendor.Category) != "vendor" {
		t.Errorf("vendor branches = %d, first %s %s; want one vendor Example Corp", len(adv.ProductTree.Branches),
			*vendor.Category, *vendor.Name)
	}
	if got := len(vendor.Branches); got != 2 {
		t.Errorf("product branches = %d, want 2", got)
	}
	idsOf := func(ps *csaf.Products) []string {
		var out []string
		if ps != nil {
			for _, p := range *ps {
				out = append(out, names[string(*p)])
			}
		}
		return out
	}
	wantAffected := []string{
		"Example Corp Widget Server 2.3.0", "Example Corp Widget Server 2.3.1", "Example Corp Widget Server 2.4.0",
		"Example Corp Widget Agent 1.0-1", "Example Corp Widget Agent 1.0-2", // 1.0-2 is listed twice, once here
	}
	wantFixed := []string{"Example Corp Widget Server 2.4.1", "Example Corp Widget Agent 1.0-3"}

	for i, v := range adv.Vulnerabilities {
		if got := string(*v.CVE); got != a.CVEs[i] {
			t.Errorf("vulnerability %d: cve = %s, want %s", i, got, a.CVEs[i])
		}
		if got := string(*v.CWE.ID) + " " + *v.CWE.Name; got != "CWE-78 "+a.CWEName {
			t.Errorf("vulnerability %d: cwe = %s", i, got)
		}
		if diff := cmp.Diff(wantAffected, idsOf(v.ProductStatus.KnownAffected)); diff != "" {
			t.Errorf("vulnerability %d: known_affected (-want +got):\n%s", i, diff)
		}
		if diff := cmp.Diff(wantFixed, idsOf(v.ProductStatus.Fixed)); diff != "" {
			t.Errorf("vulnerability %d: fixed (-want +got):\n%s", i, diff)
		}
		s := v.Scores[0]
		if got := []any{string(*s.CVSS3.Version), string(*s.CVSS3.VectorString), *s.CVSS3.BaseScore, string(*s.CVSS3.BaseSeverity)}; !cmp.Equal(got, []any{"3.1", a.CVSSVector, 9.8, "CRITICAL"}) {
			t.Errorf("vulnerability %d: cvss_v3 = %v", i, got)
		}
		if diff := cmp.Diff(wantAffected, idsOf(s.Products)); diff != "" {
			t.Errorf("vulnerability %d: score products (-want +got):\n%s", i, diff)
		}
		var rems []string
		for _, r := range v.Remediations {
			url := ""
			if r.URL != nil {
				url = *r.URL
			}
			rems = append(rems, string(*r.Category)+"|"+*r.Details+"|"+url)
			if diff := cmp.Diff(wantAffected, idsOf(r.ProductIds)); diff != "" {
				t.Errorf("vulnerability %d: remediation products (-want +got):\n%s", i, diff)
			}
		}
		wantRems := []string{
			"vendor_fix|" + a.Remediations[0].Details + "|" + a.Remediations[0].URL,
			"workaround|" + a.Remediations[1].Details + "|",
		}
		if diff := cmp.Diff(wantRems, rems); diff != "" {
			t.Errorf("vulnerability %d: remediations (-want +got):\n%s", i, diff)
		}
		var acks []string
		for _, ack := range v.Acknowledgements {
			var ns []string
			for _, n := range ack.Names {
				ns = append(ns, *n)
			}
			acks = append(acks, *ack.Summary+": "+strings.Join(ns, ", "))
		}
		wantAcks := []string{
			"credited as finder: Ada Lovelace, Grace Hopper",
			"credited as coordinator: Example CERT",
			"credited as remediation verifier: Alan Turing",
		}
		if diff := cmp.Diff(wantAcks, acks); diff != "" {
			t.Errorf("vulnerability %d: acknowledgments (-want +got):\n%s", i, diff)
		}
	}
}

func TestCSAFMinimal(t *testing.T) {
	a := minimal(t)
	doc, err := CSAF(a, Publisher{Name: "Example Corp", Namespace: "https://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, csafSchema, doc)
	adv := parseCSAF(t, doc)
	v := adv.Vulnerabilities[0]
	if v.CVE != nil || v.CWE != nil || v.Scores != nil || v.Remediations != nil || v.Acknowledgements != nil {
		t.Errorf("vulnerability has more than the advisory gave: %+v", v)
	}
	if adv.Document.References != nil || adv.Document.Publisher.ContactDetails != nil {
		t.Errorf("document has references or contact details the advisory did not give")
	}
	if v.ProductStatus.Fixed != nil || len(*v.ProductStatus.KnownAffected) != 1 {
		t.Errorf("product status = %+v, want one known affected and nothing fixed", v.ProductStatus)
	}
	// The vendor of a product without one is the publisher.
	if got := *adv.ProductTree.Branches[0].Name; got != "Example Corp" {
		t.Errorf("vendor = %q, want the publisher", got)
	}
	var note string
	for _, n := range v.Notes {
		if n.Title != nil && *n.Title == "CVSS v4.0" && *n.NoteCategory == csaf.CSAFNoteCategoryOther {
			note = *n.Text
		}
	}
	if want := a.CVSSVector + " (base score 9.3, Critical)"; note != want {
		t.Errorf("CVSS v4.0 note = %q, want %q", note, want)
	}
}

// checkProductIDs is CSAF 2.0's mandatory tests 6.1.1 and 6.1.2: every
// product id referred to is defined, and none is defined twice.
func checkProductIDs(t *testing.T, adv *csaf.Advisory) {
	t.Helper()
	defined := map[string]int{}
	var walk func(csaf.Branches)
	walk = func(bs csaf.Branches) {
		for _, b := range bs {
			if b.Product != nil {
				defined[string(*b.Product.ProductID)]++
			}
			walk(b.Branches)
		}
	}
	walk(adv.ProductTree.Branches)
	for id, n := range defined {
		if n > 1 {
			t.Errorf("product id %s defined %d times", id, n)
		}
	}
	refer := func(where string, ps *csaf.Products) {
		if ps == nil {
			return
		}
		for _, p := range *ps {
			if defined[string(*p)] == 0 {
				t.Errorf("%s refers to undefined product id %s", where, *p)
			}
		}
	}
	for _, v := range adv.Vulnerabilities {
		if v.ProductStatus == nil {
			t.Errorf("a vulnerability has no product status (CSAF 6.1.27.6)")
			continue
		}
		refer("known_affected", v.ProductStatus.KnownAffected)
		refer("fixed", v.ProductStatus.Fixed)
		for _, r := range v.Remediations {
			if r.ProductIds == nil {
				t.Errorf("remediation %q refers to no product (CSAF 6.1.29)", *r.Details)
			}
			refer("remediation", r.ProductIds)
		}
		for _, s := range v.Scores {
			refer("score", s.Products)
		}
	}
}

func TestCSAFRefuses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Advisory, *Publisher)
		field  string
	}{
		{"blank title", func(a *Advisory, _ *Publisher) { a.Title = " \t" }, "title"},
		{"no summary", func(a *Advisory, _ *Publisher) { a.Summary = "" }, "summary"},
		{"no revision", func(a *Advisory, _ *Publisher) { a.Revisions = nil }, "revisions"},
		{"revision 1.1", func(a *Advisory, _ *Publisher) { a.Revisions[1].Number = "1.1" }, "revisions"},
		{"revision without date", func(a *Advisory, _ *Publisher) { a.Revisions[0].Date = time.Time{} }, "revisions"},
		{"bad CVE", func(a *Advisory, _ *Publisher) { a.CVEs = []string{"CVE-26-1"} }, "cves"},
		{"CVE twice", func(a *Advisory, _ *Publisher) { a.CVEs = []string{"CVE-2026-1234", "CVE-2026-1234"} }, "cves"},
		{"CWE without name", func(a *Advisory, _ *Publisher) { a.CWEName = "" }, "cwe"},
		{"vector of another version", func(a *Advisory, _ *Publisher) { a.CVSSVersion = "4.0" }, "cvss"},
		{"unknown rating", func(a *Advisory, _ *Publisher) { a.CVSSRating = "Severe" }, "cvss"},
		{"no product", func(a *Advisory, _ *Publisher) { a.Products = nil }, "products"},
		{"fixed also affected", func(a *Advisory, _ *Publisher) { a.Products[0].Fixed = []string{"2.4.1", "2.4.0"} }, "products"},
		{"blank version", func(a *Advisory, _ *Publisher) { a.Products[1].Affected[0] = "" }, "products"},
		{"unknown remediation", func(a *Advisory, _ *Publisher) { a.Remediations[0].Category = "none_available" }, "remediations"},
		{"relative URL", func(a *Advisory, _ *Publisher) { a.URL = "/advisories/PDSA-2026-0007" }, "url"},
		{"unknown credit type", func(a *Advisory, _ *Publisher) { a.Credits[0].Type = "hacker" }, "credits"},
		{"id with a newline", func(a *Advisory, _ *Publisher) { a.ID = "PDSA-2026-0007\n" }, "id"},
		{"no publisher", func(_ *Advisory, p *Publisher) { *p = Publisher{} }, "publisher.namespace"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, p := rich(t), publisher
			tt.change(&a, &p)
			doc, err := CSAF(a, p)
			if doc != nil {
				t.Errorf("CSAF returned a document with its error")
			}
			if f := fields(t, err); f[tt.field] == "" {
				t.Errorf("problems = %v, want one with %s", f, tt.field)
			}
		})
	}
}

// TestCSAFOthers reads what other vendors publish: it validates against
// the official schema, gocsaf parses it strictly, and gocsaf's model loses
// nothing on the way through (unmarshal, marshal, unmarshal).
func TestCSAFOthers(t *testing.T) {
	dir := filepath.Join(formats, "csaf")
	for _, name := range []string{"bsi-2022-0001.json", "cisco-sa-20180328-smi2.json", "rhsa-2022_0011.json"} {
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s not found", dir)
			}
			if err != nil {
				t.Fatal(err)
			}
			validate(t, csafSchema, doc)
			adv := parseCSAF(t, doc)
			if bytes.Contains(doc, []byte(`"acknowledgments"`)) && adv.Document.Acknowledgements == nil && !hasVulnerabilityCredits(adv) {
				t.Errorf("the acknowledgments were lost")
			}
			again, err := json.Marshal(adv)
			if err != nil {
				t.Fatal(err)
			}
			// Not validated again: gocsaf writes "acknowledgements", and an
			// absent reference category as null (Reference.ReferenceCategory
			// has no omitempty), which the schema refuses.
			back := parseCSAF(t, again)
			if diff := cmp.Diff(adv, back); diff != "" {
				t.Errorf("round trip through gocsaf (-first +second):\n%s", diff)
			}
		})
	}
}

func hasVulnerabilityCredits(adv *csaf.Advisory) bool {
	for _, v := range adv.Vulnerabilities {
		if v.Acknowledgements != nil {
			return true
		}
	}
	return false
}

func FuzzCSAF(f *testing.F) {
	f.Add("Title", "Summary", "Vendor", "Product", "1.0.0", "1.1.0", "1.2.0", "Ada")
	f.Add("", "", "", "", "", "", "", "")
	f.Add(" ", "\t\n", "\x00", "<script>&amp;</script>", "\xff\xfe", "\u2028", "1.0\"}", `\u0000`)
	f.Add("a\r\nb", "ünïcødé ✓", "Vendor", "Vendor", "x", "x", "x", "\"")
	f.Fuzz(func(t *testing.T, title, summary, vendor, name, v1, v2, fixed, credit string) {
		// Blank text no schema accepts becomes a default, so what is
		// checked is the escaping of everything else.
		or := func(s, def string) string {
			if blank(s) {
				return def
			}
			return s
		}
		a := rich(t)
		a.Title = or(title, "Title")
		a.Summary = or(summary, "Summary")
		a.Products = []Product{{Vendor: vendor, Name: or(name, "Product"), Scheme: "opaque",
			Affected: []string{or(v1, "1"), or(v2, "2")}}}
		if f := or(fixed, "3"); !slices.Contains(a.Products[0].Affected, f) {
			a.Products[0].Fixed = []string{f}
		}
		a.Credits = []Credit{{Name: or(credit, "Ada"), Type: Finder}}
		a.Remediations[1].Details = or(summary, "Details")

		doc, err := CSAF(a, publisher)
		if err != nil {
			t.Fatalf("CSAF: %v", err)
		}
		if !json.Valid(doc) {
			t.Fatalf("not JSON:\n%s", doc)
		}
		validate(t, csafSchema, doc)
		parseCSAF(t, doc)
	})
}
