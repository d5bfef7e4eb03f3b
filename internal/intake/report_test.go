package intake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/intake"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// checks stand in for the CVSS and CWE parsers, which have their own tests;
// these tests are about how Validate uses their answers.
var checks = intake.Checks{
	CVSS: func(v string) (string, string, float64, string, error) {
		if v == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" {
			return v, "3.1", 9.8, "Critical", nil
		}
		return "", "", 0, "", patchday.Errorf(patchday.ErrInvalid, "not a CVSS vector")
	},
	CWE: func(s string) (int, error) {
		if s == "CWE-79" || s == "79" {
			return 79, nil
		}
		return 0, patchday.Errorf(patchday.ErrInvalid, "unknown CWE")
	},
}

func valid() intake.Submission {
	return intake.Submission{
		Title: "  Stored XSS in the admin console ", Product: "Gateway", Version: "2.4.1",
		Description: "The console echoes\r\nthe name unescaped.\x00", Steps: "1. log in\n2. rename",
		CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CWE: "CWE-79",
		DisclosureDate: "2027-02-01", Email: "ada@example.org", CreditHandle: "@ada",
		Attachments: []intake.Attachment{{Name: "poc.html", Size: 1 << 20}},
	}
}

func TestValidateAccepts(t *testing.T) {
	r, err := intake.Validate(valid(), checks, intake.DefaultLimits, now)
	if err != nil {
		t.Fatal(err)
	}
	want := intake.Report{
		Title: "Stored XSS in the admin console", Product: "Gateway", Version: "2.4.1",
		Description: "The console echoes\nthe name unescaped.", Steps: "1. log in\n2. rename",
		CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSVersion: "3.1", CVSSScore: 9.8, CVSSRating: "Critical",
		CWE: 79, DisclosureDate: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), Email: "ada@example.org",
		Credit: intake.Credit{Handle: "@ada"}, Attachments: []intake.Attachment{{Name: "poc.html", Size: 1 << 20}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*intake.Submission)
		fields []string
	}{
		{"empty", func(s *intake.Submission) { *s = intake.Submission{} }, []string{"description", "email", "product", "steps", "title", "version"}},
		{"bad cvss and cwe", func(s *intake.Submission) { s.CVSSVector, s.CWE = "CVSS:2.0/x", "CWE-99999" }, []string{"cvss_vector", "cwe"}},
		{"bad email", func(s *intake.Submission) { s.Email = "Ada <ada@example.org>" }, []string{"email"}},
		{"email without domain dot", func(s *intake.Submission) { s.Email = "ada@localhost" }, []string{"email"}},
		{"date format", func(s *intake.Submission) { s.DisclosureDate = "1 Feb 2027" }, []string{"disclosure_date"}},
		{"date past", func(s *intake.Submission) { s.DisclosureDate = "2026-01-01" }, []string{"disclosure_date"}},
		{"anonymous and named", func(s *intake.Submission) { s.Anonymous = true }, []string{"anonymous"}},
		{"too many files", func(s *intake.Submission) { s.Attachments = make([]intake.Attachment, 11) }, []string{"attachments"}},
		{"too large", func(s *intake.Submission) { s.Attachments = []intake.Attachment{{Size: 51 << 20}} }, []string{"attachments"}},
		{"long title", func(s *intake.Submission) { s.Title = strings.Repeat("x", 201) }, []string{"title"}},
		{"whitespace only", func(s *intake.Submission) { s.Steps = " \n\t " }, []string{"steps"}},
	}
	for _, tt := range tests {
		sub := valid()
		tt.change(&sub)
		_, err := intake.Validate(sub, checks, intake.DefaultLimits, now)
		if !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
			continue
		}
		var got []string
		for f := range patchday.FieldErrors(err) {
			got = append(got, f)
		}
		if diff := cmp.Diff(tt.fields, got, sortStrings); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 50 << 20: "50 MiB"} {
		if got := intake.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzValidate: whatever arrives, Validate never panics, and an accepted
// report is clean: no control characters but newlines and tabs, no
// surrounding space, within the limits.
func FuzzValidate(f *testing.F) {
	f.Add("title", "Gateway", "1.0", "desc", "steps", "ada@example.org", "2027-01-01", "CWE-79")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("t\x00\r\n", "p\x7f", "v", "d\r\n", "s", "a@b.c", "2026-13-45", "79")
	f.Fuzz(func(t *testing.T, title, product, version, desc, steps, email, date, cwe string) {
		sub := intake.Submission{Title: title, Product: product, Version: version, Description: desc,
			Steps: steps, Email: email, DisclosureDate: date, CWE: cwe}
		r, err := intake.Validate(sub, checks, intake.DefaultLimits, now)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) || len(patchday.FieldErrors(err)) == 0 {
				t.Fatalf("refusal without field problems: %v", err)
			}
			return
		}
		for _, v := range []string{r.Title, r.Product, r.Version, r.Description, r.Steps} {
			if v == "" || v != strings.TrimSpace(v) {
				t.Fatalf("accepted field %q is empty or padded", v)
			}
			for _, c := range v {
				if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
					t.Fatalf("accepted field %q holds control character %U", v, c)
				}
			}
		}
		if strings.ContainsAny(r.Title+r.Product+r.Version, "\n\t") {
			t.Fatalf("a one-line field kept a line break: %q", fmt.Sprint(r.Title, r.Product, r.Version))
		}
	})
}
