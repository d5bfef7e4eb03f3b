package web

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// TestSecurityTxt checks the file against RFC 9116: the required fields
// (Contact, Expires within a year), the optional ones from configuration,
// and one field per line as "Name: value".
func TestSecurityTxt(t *testing.T) {
	h := newHarness(t)
	h.srv.Disclosure = Disclosure{PublicURL: "https://security.example.com/", SecurityAddress: "security@example.com",
		PolicyURL: "https://example.com/disclosure", Acknowledgments: "https://example.com/thanks", Languages: "en,de",
		PGPPublicKey: []byte(publicKey)}
	rec := h.do(get("/.well-known/security.txt", ""))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	fields := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q is not Name: value", line)
		}
		fields[name] = append(fields[name], value)
	}
	want := map[string][]string{
		"Contact":             {"https://security.example.com/report", "mailto:security@example.com"},
		"Policy":              {"https://example.com/disclosure"},
		"Acknowledgments":     {"https://example.com/thanks"},
		"Preferred-Languages": {"en, de"},
		"Canonical":           {"https://security.example.com/.well-known/security.txt"},
		"Encryption":          {"https://security.example.com/.well-known/pgp-key.asc"},
	}
	for name, vs := range want {
		if strings.Join(fields[name], "|") != strings.Join(vs, "|") {
			t.Errorf("%s = %q, want %q", name, fields[name], vs)
		}
	}
	if len(fields["Expires"]) != 1 {
		t.Fatalf("Expires must appear exactly once: %q", fields["Expires"])
	}
	exp, err := time.Parse(time.RFC3339, fields["Expires"][0])
	if err != nil || exp.Before(time.Now()) || exp.After(time.Now().AddDate(1, 0, 1)) {
		t.Errorf("Expires %q: want an RFC 3339 time within the coming year", fields["Expires"][0])
	}

	// Without configuration it still names the form, at the request's host.
	h.srv.Disclosure = Disclosure{}
	body := h.do(get("/.well-known/security.txt", "")).Body.String()
	if !strings.Contains(body, "Contact: http://example.com/report\n") || strings.Contains(body, "Policy:") || strings.Contains(body, "Encryption:") {
		t.Errorf("unconfigured security.txt:\n%s", body)
	}
	if rec := h.do(get("/security.txt", "")); rec.Code != 301 {
		t.Errorf("/security.txt: %d, want a redirect to /.well-known/", rec.Code)
	}
}

// publicKey stands for an armored OpenPGP key: the server serves the
// bytes it is given (internal/pgp makes them).
const publicKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEaQ==\n-----END PGP PUBLIC KEY BLOCK-----\n"

// The key that security.txt names under Encryption is served there, and
// without a key there is none.
func TestPGPKey(t *testing.T) {
	h := newHarness(t)
	h.srv.Disclosure = Disclosure{PGPPublicKey: []byte(publicKey)}
	txt := h.do(get("/.well-known/security.txt", "")).Body.String()
	url, ok := "", false
	for line := range strings.Lines(txt) {
		if url, ok = strings.CutPrefix(strings.TrimSpace(line), "Encryption: "); ok {
			break
		}
	}
	if !ok || url != "http://example.com/.well-known/pgp-key.asc" {
		t.Fatalf("Encryption %q in security.txt:\n%s", url, txt)
	}
	for _, method := range []string{"GET", "HEAD"} {
		req := get(strings.TrimPrefix(url, "http://example.com"), "")
		req.Method = method
		rec := h.do(req)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pgp-keys" {
			t.Errorf("%s %s: %d, type %q; want 200 application/pgp-keys", method, url, rec.Code, rec.Header().Get("Content-Type"))
		}
		if method == "GET" && rec.Body.String() != publicKey {
			t.Errorf("GET %s:\n%s\nwant the key", url, rec.Body)
		}
	}

	h.srv.Disclosure = Disclosure{}
	if rec := h.do(get("/.well-known/pgp-key.asc", "")); rec.Code != 404 || strings.Contains(rec.Body.String(), "BEGIN PGP") {
		t.Errorf("pgp-key.asc without a key: %d, want 404", rec.Code)
	}
}
