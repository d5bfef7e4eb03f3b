package advisory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// providerSchema compiles the official provider schema from the shared
// formats directory, with the CSAF schema it refers to.
func providerSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join(formats, "csaf")
	if _, err := os.Stat(filepath.Join(dir, "provider_json_schema.json")); err != nil {
		t.Skip("../shared/testdata/formats absent")
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for u, name := range map[string]string{
		"https://docs.oasis-open.org/csaf/csaf/v2.0/provider_json_schema.json": "provider_json_schema.json",
		csafSchemaURL: "csaf_json_schema.json",
		"https://www.first.org/cvss/cvss-v2.0.json": "cvss-v2.0.json",
		"https://www.first.org/cvss/cvss-v3.0.json": "cvss-v3.0.json",
		"https://www.first.org/cvss/cvss-v3.1.json": "cvss-v3.1.json",
	} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(u, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://docs.oasis-open.org/csaf/csaf/v2.0/provider_json_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProviderMetadata(t *testing.T) {
	schema := providerSchema(t)
	pub := Publisher{Name: "Example Corp", Namespace: "https://example.com", ContactDetails: "https://security.example.com/report"}
	for _, p := range []Provider{
		{Publisher: pub, Base: "https://security.example.com", LastUpdated: time.Date(2026, 4, 14, 17, 0, 0, 0, time.UTC),
			KeyFingerprint: "8495B3F8B7C6888FD89698A96B3A9A774DE3A122", KeyURL: "https://security.example.com/.well-known/pgp-key.asc"},
		{Publisher: pub, Base: "https://security.example.com", LastUpdated: time.Date(2026, 4, 14, 17, 0, 0, 0, time.UTC)},
	} {
		b, err := ProviderMetadata(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("provider metadata does not validate: %v\n%s", err, b)
		}
		trusted := strings.Contains(string(b), `"csaf_trusted_provider"`)
		if trusted != (p.KeyURL != "") {
			t.Errorf("role: trusted=%v with key %q", trusted, p.KeyURL)
		}
	}
}

func TestDirectoryFiles(t *testing.T) {
	ls := []Listed{
		{Path: "2026/pdsa-2026-0001.json", Changed: time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC)},
		{Path: "2026/pdsa-2026-0002.json", Changed: time.Date(2026, 4, 14, 17, 0, 0, 0, time.UTC)},
	}
	if got := string(Index(ls)); got != "2026/pdsa-2026-0002.json\n2026/pdsa-2026-0001.json\n" {
		t.Errorf("index.txt:\n%s", got)
	}
	if got := string(Changes(ls)); got != "\"2026/pdsa-2026-0002.json\",\"2026-04-14T17:00:00Z\"\n\"2026/pdsa-2026-0001.json\",\"2026-03-10T17:00:00Z\"\n" {
		t.Errorf("changes.csv:\n%s", got)
	}
	s256, s512 := Checksums("2026/pdsa-2026-0001.json", []byte("{}"))
	if string(s256) != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a  pdsa-2026-0001.json\n" || len(s512) != 128+2+len("pdsa-2026-0001.json")+1 {
		t.Errorf("checksums %q %q", s256, s512)
	}
	a := Advisory{ID: "PDSA-2026-0001", Revisions: []Revision{{Number: "1", Date: time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)}}}
	if FileName(a) != "2026/pdsa-2026-0001.json" {
		t.Errorf("FileName %q", FileName(a))
	}
}
