package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/patchday/patchday"
)

// Disclosure is what security.txt publishes (RFC 9116).
type Disclosure struct {
	// PublicURL is the server's public base URL; empty means the address
	// each request came to.
	PublicURL       string
	SecurityAddress string
	PolicyURL       string
	Acknowledgments string
	Languages       string
	// PGPPublicKey is the armored OpenPGP key researchers encrypt reports
	// to, served at /.well-known/pgp-key.asc; nil means none.
	PGPPublicKey []byte
}

// pgpKeyPath is where the OpenPGP key is published.
const pgpKeyPath = "/.well-known/pgp-key.asc"

// base returns the public base URL for links, without a trailing slash.
func (s *Server) base(r *http.Request) string {
	if s.Disclosure.PublicURL != "" {
		return strings.TrimRight(s.Disclosure.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// securityTxt serves /.well-known/security.txt. Expires is always a year
// ahead of now, so a live server never publishes a stale file; a server
// that is gone lets its last copy expire.
func (s *Server) securityTxt(w http.ResponseWriter, r *http.Request) {
	d, base := s.Disclosure, s.base(r)
	var b strings.Builder
	fmt.Fprintf(&b, "# Report security vulnerabilities in our products here. No account is needed.\n")
	fmt.Fprintf(&b, "Contact: %s/report\n", base)
	if d.SecurityAddress != "" {
		fmt.Fprintf(&b, "Contact: mailto:%s\n", d.SecurityAddress)
	}
	fmt.Fprintf(&b, "Expires: %s\n", time.Now().UTC().AddDate(1, 0, 0).Truncate(time.Hour).Format(time.RFC3339))
	if len(d.PGPPublicKey) > 0 {
		fmt.Fprintf(&b, "Encryption: %s%s\n", base, pgpKeyPath)
	}
	if d.Acknowledgments != "" {
		fmt.Fprintf(&b, "Acknowledgments: %s\n", d.Acknowledgments)
	}
	if d.PolicyURL != "" {
		fmt.Fprintf(&b, "Policy: %s\n", d.PolicyURL)
	}
	if d.Languages != "" {
		fmt.Fprintf(&b, "Preferred-Languages: %s\n", strings.Join(strings.Fields(strings.ReplaceAll(d.Languages, ",", " ")), ", "))
	}
	fmt.Fprintf(&b, "Canonical: %s/.well-known/security.txt\n", base)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write([]byte(b.String()))
}

// pgpKey serves the OpenPGP key that security.txt names under Encryption.
func (s *Server) pgpKey(w http.ResponseWriter, r *http.Request) error {
	if len(s.Disclosure.PGPPublicKey) == 0 {
		return patchday.Errorf(patchday.ErrNotFound, "this server publishes no OpenPGP key; see /.well-known/security.txt for how to report")
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(s.Disclosure.PGPPublicKey)
	return nil
}
