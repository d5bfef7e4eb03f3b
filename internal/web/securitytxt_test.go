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
		PolicyURL: "https://example.com/disclosure", Acknowledgments: "https://example.com/thanks", Languages: "en,de"}
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
	if !strings.Contains(body, "Contact: http://example.com/report\n") || strings.Contains(body, "Policy:") {
		t.Errorf("unconfigured security.txt:\n%s", body)
	}
	if rec := h.do(get("/security.txt", "")); rec.Code != 301 {
		t.Errorf("/security.txt: %d, want a redirect to /.well-known/", rec.Code)
	}
}
