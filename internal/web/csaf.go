package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/advisory"
)

// Signer signs CSAF documents with the vendor's OpenPGP key.
type Signer interface {
	CanSign() bool
	Sign(data []byte) ([]byte, error)
	Fingerprint() string
}

// csafDocs renders every published advisory as CSAF, by directory path.
// Rendering is deterministic, so the checksums and signatures served
// beside a document always match it.
func (s *Server) csafDocs(r *http.Request) (map[string][]byte, []advisory.Listed, error) {
	ds, rels, err := s.Releases.PublicList(r.Context())
	if err != nil {
		return nil, nil, err
	}
	docs := map[string][]byte{}
	var listed []advisory.Listed
	for _, d := range ds {
		a, err := s.build(r, d, rels[d.ReleaseID])
		if err != nil {
			return nil, nil, err
		}
		b, err := advisory.CSAF(a, s.publisher(r))
		if err != nil {
			return nil, nil, err
		}
		name := advisory.FileName(a)
		docs[name] = b
		listed = append(listed, advisory.Listed{Path: name, Changed: a.CurrentRelease()})
	}
	return docs, listed, nil
}

func (s *Server) signs() bool { return s.Signer != nil && s.Signer.CanSign() }

// providerMetadata serves /.well-known/csaf/provider-metadata.json.
func (s *Server) providerMetadata(w http.ResponseWriter, r *http.Request) error {
	_, listed, err := s.csafDocs(r)
	if err != nil {
		return err
	}
	last := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, l := range listed {
		if l.Changed.After(last) {
			last = l.Changed
		}
	}
	p := advisory.Provider{Publisher: s.publisher(r), Base: s.base(r), LastUpdated: last}
	if s.signs() {
		p.KeyFingerprint, p.KeyURL = s.Signer.Fingerprint(), s.base(r)+"/.well-known/pgp-key.asc"
	}
	b, err := advisory.ProviderMetadata(p)
	if err != nil {
		return err
	}
	return writeDoc(w, "application/json", b)
}

// csafFile serves the CSAF directory: index.txt, changes.csv, and each
// published document with its .sha256, .sha512 and (when the key can
// sign) .asc. Embargoed advisories are simply not there.
func (s *Server) csafFile(w http.ResponseWriter, r *http.Request) error {
	docs, listed, err := s.csafDocs(r)
	if err != nil {
		return err
	}
	path := strings.TrimPrefix(r.URL.Path, advisory.DirectoryPath)
	switch path {
	case "index.txt":
		return writeDoc(w, "text/plain; charset=utf-8", advisory.Index(listed))
	case "changes.csv":
		return writeDoc(w, "text/csv; charset=utf-8", advisory.Changes(listed))
	}
	name, ext := path, ""
	for _, x := range []string{".sha256", ".sha512", ".asc"} {
		if strings.HasSuffix(path, x) {
			name, ext = strings.TrimSuffix(path, x), x
		}
	}
	doc, ok := docs[name]
	if !ok {
		return patchday.Errorf(patchday.ErrNotFound, "there is no CSAF document %s", path)
	}
	s256, s512 := advisory.Checksums(name, doc)
	switch ext {
	case "":
		return writeDoc(w, "application/json", doc)
	case ".sha256":
		return writeDoc(w, "text/plain; charset=utf-8", s256)
	case ".sha512":
		return writeDoc(w, "text/plain; charset=utf-8", s512)
	}
	if !s.signs() {
		return patchday.Errorf(patchday.ErrNotFound, "documents are not signed here: configure a PGP key that can sign (--pgp-key)")
	}
	sig, err := s.Signer.Sign(doc)
	if err != nil {
		return err
	}
	return writeDoc(w, "application/pgp-signature", sig)
}
