package advisory

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/cwe"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// schemaDir holds copies of the official schemas from
// ../shared/testdata/formats, so the renderers are checked wherever the
// tests run; TestSchemaCopies keeps them equal to the originals.
const schemaDir = "testdata/schema"

// formats is the shared directory of reference documents, which may be
// absent.
const formats = "../../../shared/testdata/formats"

const (
	csafSchemaURL = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
	osvSchemaURL  = "https://raw.githubusercontent.com/ossf/osv-schema/main/validation/schema.json"
)

// compile compiles the schema at url from the local files named for each
// URL it or its $refs load. Formats ("uri", "date-time") are asserted, as
// CSAF 2.0 §9 expects of a validator.
func compile(files map[string]string, url string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for u, name := range files {
		f, err := os.Open(filepath.Join(schemaDir, name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(u, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(url)
}

var (
	csafSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
		return compile(map[string]string{
			csafSchemaURL: "csaf_json_schema.json",
			"https://www.first.org/cvss/cvss-v2.0.json": "cvss-v2.0.json",
			"https://www.first.org/cvss/cvss-v3.0.json": "cvss-v3.0.json",
			"https://www.first.org/cvss/cvss-v3.1.json": "cvss-v3.1.json",
		}, csafSchemaURL)
	})
	osvSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
		return compile(map[string]string{osvSchemaURL: "osv_schema.json"}, osvSchemaURL)
	})
)

// validate checks doc against the schema, reporting every violation.
func validate(t testing.TB, schema func() (*jsonschema.Schema, error), doc []byte) {
	t.Helper()
	if err := conform(schema, doc); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

// conform returns why doc does not validate against the schema, or nil.
func conform(schema func() (*jsonschema.Schema, error), doc []byte) error {
	s, err := schema()
	if err != nil {
		return fmt.Errorf("compile schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("invalid against the schema: %#v", ve)
		}
		return fmt.Errorf("validate: %w", err)
	}
	return nil
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

// TestSchemaCopies keeps testdata/schema equal to the shared originals.
func TestSchemaCopies(t *testing.T) {
	copies := map[string]string{
		"csaf/csaf_json_schema.json": "csaf_json_schema.json",
		"csaf/cvss-v2.0.json":        "cvss-v2.0.json",
		"csaf/cvss-v3.0.json":        "cvss-v3.0.json",
		"csaf/cvss-v3.1.json":        "cvss-v3.1.json",
		"osv/schema.json":            "osv_schema.json",
	}
	for orig, local := range copies {
		want, err := os.ReadFile(filepath.Join(formats, orig))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s not found; the copies cannot be compared", formats)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(schemaDir, local))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%s differs from %s/%s: copy it again", schemaDir, local, formats, orig)
		}
	}
}

// score parses a vector as triage does, so the fixtures' scores and
// ratings agree with their vectors (CSAF 2.0 §6.1.9).
func score(t testing.TB, vector string) cvss.Score {
	t.Helper()
	s, err := cvss.Parse(vector)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// weakness names a CWE as the catalogue does (CSAF 2.0 §6.1.11).
func weakness(t testing.TB, id int) string {
	t.Helper()
	w, ok := cwe.Lookup(id)
	if !ok {
		t.Fatalf("CWE-%d is not in the catalogue", id)
	}
	return w.Name
}

var publisher = Publisher{
	Name:           "Example Corp",
	Namespace:      "https://example.com",
	ContactDetails: "security@example.com",
	OrgID:          "b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
	ShortName:      "examplecorp",
}

// rich is an advisory with everything: two CVEs, two products of several
// versions, a fix and a workaround, credits, two revisions, a CWE and a
// CVSS v3.1 score.
func rich(t testing.TB) Advisory {
	s := score(t, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	return Advisory{
		ID:    "PDSA-2026-0007",
		Title: "Command injection in the Widget Server admin API",
		Summary: "The admin API of Widget Server passes the host name of a diagnostics request to a shell. " +
			"An unauthenticated attacker who can reach the API can run commands as the server's user; " +
			"the Widget Agent package installs the same API on every endpoint.",
		CVEs:        []string{"CVE-2026-12345", "CVE-2026-12346"},
		CVSSVector:  s.Vector,
		CVSSVersion: s.Version,
		CVSSScore:   s.Base,
		CVSSRating:  s.Rating,
		CWE:         78,
		CWEName:     weakness(t, 78),
		Exploited:   true,
		Products: []Product{
			{Vendor: "Example Corp", Name: "Widget Server", Scheme: "semver",
				Affected: []string{"2.3.0", "2.3.1", "2.4.0"}, Fixed: []string{"2.4.1"}},
			{Vendor: "Example Corp", Name: "Widget Agent", Scheme: "debian",
				Affected: []string{"1.0-1", "1.0-2", "1.0-2"}, Fixed: []string{"1.0-3"}},
		},
		Remediations: []Remediation{
			{Category: VendorFix, Details: "Install Widget Server 2.4.1 and Widget Agent 1.0-3 or later.",
				URL: "https://example.com/downloads"},
			{Category: Workaround, Details: "Block access to /admin/diagnostics at the reverse proxy."},
		},
		Credits: []Credit{
			{Name: "Ada Lovelace", Type: Finder},
			{Name: "Example CERT", Type: Coordinator},
			{Name: "Grace Hopper", Type: Finder},
			{Name: "Alan Turing", Type: RemediationVerifier},
		},
		Revisions: []Revision{
			{Number: "1", Date: time.Date(2026, 1, 13, 17, 0, 0, 0, time.UTC), Summary: "Initial release"},
			{Number: "2", Date: time.Date(2026, 1, 20, 10, 30, 0, 0, time.FixedZone("CET", 3600)),
				Summary: "Added the workaround"},
		},
		URL: "https://example.com/advisories/PDSA-2026-0007",
	}
}

// minimal is an advisory with as little as a format accepts: no CVE, no
// credit, no remediation, no URL, one product without a fix yet, and a
// CVSS v4.0 score.
func minimal(t testing.TB) Advisory {
	s := score(t, cvss.Example40)
	return Advisory{
		ID:          "PDSA-2026-0008",
		Title:       "Denial of service in Gadget firmware",
		Summary:     "A malformed packet restarts the device.",
		CVSSVector:  s.Vector,
		CVSSVersion: s.Version,
		CVSSScore:   s.Base,
		CVSSRating:  s.Rating,
		Products:    []Product{{Name: "Gadget", Scheme: "opaque", Affected: []string{"R7"}}},
		Revisions:   []Revision{{Number: "1", Date: time.Date(2026, 2, 10, 17, 0, 0, 0, time.UTC), Summary: "Initial release"}},
	}
}

// fields returns the problems err carries, failing unless it is invalid.
func fields(t *testing.T, err error) map[string]string {
	t.Helper()
	if !errors.Is(err, patchday.ErrInvalid) {
		t.Fatalf("err = %v, want an invalid error", err)
	}
	return patchday.FieldErrors(err)
}
