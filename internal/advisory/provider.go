package advisory

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Provider describes a CSAF provider (CSAF 2.0 §7.1.7) for its metadata.
type Provider struct {
	Publisher Publisher
	// Base is the server's public URL, e.g. https://security.example.com.
	Base        string
	LastUpdated time.Time
	// KeyFingerprint and KeyURL name the OpenPGP key that signs the
	// documents; a provider without one is a plain csaf_provider.
	KeyFingerprint string
	KeyURL         string
}

// DirectoryPath is where the TLP:WHITE documents live, under Base.
const DirectoryPath = "/.well-known/csaf/white/"

// FileName is a document's name in the CSAF directory: its id in lower
// case (CSAF 2.0 §5.1), within its year's folder.
func FileName(a Advisory) string {
	return fmt.Sprintf("%d/%s.json", a.InitialRelease().UTC().Year(), strings.ToLower(a.ID))
}

// ProviderMetadata renders provider-metadata.json. A provider that signs
// its documents is a csaf_trusted_provider.
func ProviderMetadata(p Provider) ([]byte, error) {
	type key struct {
		Fingerprint string `json:"fingerprint,omitempty"`
		URL         string `json:"url"`
	}
	type dist struct {
		DirectoryURL string `json:"directory_url"`
	}
	doc := struct {
		CanonicalURL        string `json:"canonical_url"`
		Distributions       []dist `json:"distributions"`
		LastUpdated         string `json:"last_updated"`
		ListOnAggregators   bool   `json:"list_on_CSAF_aggregators"`
		MetadataVersion     string `json:"metadata_version"`
		MirrorOnAggregators bool   `json:"mirror_on_CSAF_aggregators"`
		PublicOpenPGPKeys   []key  `json:"public_openpgp_keys,omitempty"`
		Publisher           any    `json:"publisher"`
		Role                string `json:"role"`
	}{
		CanonicalURL:        p.Base + "/.well-known/csaf/provider-metadata.json",
		Distributions:       []dist{{DirectoryURL: p.Base + DirectoryPath}},
		LastUpdated:         p.LastUpdated.UTC().Format(time.RFC3339),
		ListOnAggregators:   true,
		MetadataVersion:     "2.0",
		MirrorOnAggregators: true,
		Publisher: map[string]string{"category": "vendor", "name": p.Publisher.Name, "namespace": p.Publisher.Namespace,
			"contact_details": p.Publisher.ContactDetails},
		Role: "csaf_provider",
	}
	if p.KeyURL != "" {
		doc.PublicOpenPGPKeys = []key{{Fingerprint: p.KeyFingerprint, URL: p.KeyURL}}
		doc.Role = "csaf_trusted_provider"
	}
	return marshalJSON(doc)
}

// Listed is a document in the CSAF directory and when it last changed.
type Listed struct {
	Path    string // e.g. 2026/pdsa-2026-0001.json
	Changed time.Time
}

// Index renders index.txt: every document's path, one per line.
func Index(ls []Listed) []byte {
	var b strings.Builder
	for _, l := range sortedListed(ls) {
		b.WriteString(l.Path + "\n")
	}
	return []byte(b.String())
}

// Changes renders changes.csv: path and time of last change, newest first
// (CSAF 2.0 §7.1.13).
func Changes(ls []Listed) []byte {
	var b strings.Builder
	for _, l := range sortedListed(ls) {
		fmt.Fprintf(&b, "%q,%q\n", l.Path, l.Changed.UTC().Format(time.RFC3339))
	}
	return []byte(b.String())
}

func sortedListed(ls []Listed) []Listed {
	out := append([]Listed(nil), ls...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Changed.Equal(out[j].Changed) {
			return out[i].Changed.After(out[j].Changed)
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// Checksums returns the .sha256 and .sha512 files of a document (the
// sum, two spaces, the file's base name), as CSAF 2.0 §7.1.18 asks.
func Checksums(name string, doc []byte) (sha256File, sha512File []byte) {
	base := name[strings.LastIndex(name, "/")+1:]
	s256 := sha256.Sum256(doc)
	s512 := sha512.Sum512(doc)
	return []byte(hex.EncodeToString(s256[:]) + "  " + base + "\n"), []byte(hex.EncodeToString(s512[:]) + "  " + base + "\n")
}
