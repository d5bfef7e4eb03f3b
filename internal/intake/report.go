// Package intake turns what a researcher sends — through the web form, the
// API or e-mail — into a report on a new case, with every problem in it
// found at once, and gives the researcher the case id and a private link.
package intake

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/cwe"
)

// Source says how a report arrived.
type Source string

// The sources of reports.
const (
	SourceWeb   Source = "web"
	SourceAPI   Source = "api"
	SourceEmail Source = "email"
)

// Submission is a report as it arrives, in the one vocabulary the form's
// inputs and the API's JSON fields share (see Fields).
type Submission struct {
	Title          string
	Product        string
	Version        string
	Description    string
	Impact         string
	Steps          string
	Configuration  string
	CVSSVector     string
	CWE            string
	HowFound       string
	Public         bool
	Exploited      bool
	DisclosureDate string // YYYY-MM-DD
	Email          string
	CreditName     string
	CreditHandle   string
	Anonymous      bool
	Attachments    []Attachment
}

// Fields names each field of a Submission as the form and the API spell it.
var Fields = []string{"title", "product", "version", "description", "impact", "steps", "configuration",
	"cvss_vector", "cwe", "how_found", "public", "exploited", "disclosure_date", "email",
	"credit_name", "credit_handle", "anonymous", "attachments"}

// Attachment is a file sent with a report, already stored by content.
type Attachment struct {
	Name        string
	ContentType string
	SHA256      string
	Size        int64
}

// Limits bound what one report may carry. The form states them up front.
type Limits struct {
	MaxAttachments int
	MaxTotalBytes  int64 // all attachments together
}

// DefaultLimits suit proofs of concept: a few scripts, captures, a video.
var DefaultLimits = Limits{MaxAttachments: 10, MaxTotalBytes: 50 << 20}

// Text limits keep one report readable and the database small; a longer
// write-up belongs in an attachment.
const (
	maxTitle = 200
	maxShort = 200    // product, version, names
	maxLong  = 100000 // description, steps, …
)

// Credit is how the researcher wants to be named in the advisory.
type Credit struct {
	Name      string
	Handle    string
	Anonymous bool
}

// Report is a validated submission.
type Report struct {
	Title          string
	Product        string // as the reporter named it
	ProductID      int64  // the matching known product, 0 for "other" (set on submission)
	Version        string
	Description    string
	Impact         string
	Steps          string
	Configuration  string
	CVSSVector     string // canonical; empty if not given
	CVSSVersion    string
	CVSSScore      float64
	CVSSRating     string
	CWE            int // 0 if not given
	HowFound       string
	Public         bool
	Exploited      bool
	DisclosureDate time.Time // zero if not given
	Email          string
	Credit         Credit
	Attachments    []Attachment
	Source         Source
	From           string // remote address or sending server
	ReceivedAt     time.Time
}

// Checks are the parsers a submission's CVSS vector and CWE go through.
type Checks struct {
	// CVSS parses a vector into its canonical form, version, score and rating.
	CVSS func(vector string) (canonical, version string, score float64, rating string, err error)
	// CWE parses "CWE-79" or "79" into a known weakness id.
	CWE func(s string) (int, error)
}

// DefaultChecks are the real parsers.
var DefaultChecks = Checks{
	CVSS: func(v string) (string, string, float64, string, error) {
		s, err := cvss.Parse(v)
		return s.Vector, s.Version, s.Base, s.Rating, err
	},
	CWE: cwe.Parse,
}

// Validate checks a submission and returns the report, or every problem
// at once by field.
func Validate(sub Submission, c Checks, lim Limits, now time.Time) (Report, error) {
	p := patchday.Problems{}
	r := Report{
		Title:         clean(sub.Title),
		Product:       clean(sub.Product),
		Version:       clean(sub.Version),
		Description:   cleanText(sub.Description),
		Impact:        cleanText(sub.Impact),
		Steps:         cleanText(sub.Steps),
		Configuration: cleanText(sub.Configuration),
		HowFound:      cleanText(sub.HowFound),
		Public:        sub.Public,
		Exploited:     sub.Exploited,
		Attachments:   sub.Attachments,
		Credit:        Credit{Name: clean(sub.CreditName), Handle: clean(sub.CreditHandle), Anonymous: sub.Anonymous},
	}
	required := func(field, v string, max int, what string) {
		switch {
		case v == "":
			p.Add(field, what+" is required")
		case utf8.RuneCountInString(v) > max:
			p.Add(field, fmt.Sprintf("%s is at most %d characters (put longer material in an attachment)", what, max))
		}
	}
	optional := func(field, v string, max int, what string) {
		if utf8.RuneCountInString(v) > max {
			p.Add(field, fmt.Sprintf("%s is at most %d characters (put longer material in an attachment)", what, max))
		}
	}
	required("title", r.Title, maxTitle, "a title")
	required("product", r.Product, maxShort, "the affected product")
	required("version", r.Version, maxShort, "the affected version")
	required("description", r.Description, maxLong, "a description")
	required("steps", r.Steps, maxLong, "steps to reproduce")
	optional("impact", r.Impact, maxLong, "the impact")
	optional("configuration", r.Configuration, maxLong, "the configuration")
	optional("how_found", r.HowFound, maxLong, "how it was found")
	optional("credit_name", r.Credit.Name, maxShort, "a name")
	optional("credit_handle", r.Credit.Handle, maxShort, "a handle")

	if email, err := reporterEmail(sub.Email); err != nil {
		p.Add("email", err.Error())
	} else {
		r.Email = email
	}
	if v := strings.TrimSpace(sub.CVSSVector); v != "" {
		canon, version, score, rating, err := c.CVSS(v)
		if err != nil {
			p.Add("cvss_vector", patchday.Message(err))
		} else {
			r.CVSSVector, r.CVSSVersion, r.CVSSScore, r.CVSSRating = canon, version, score, rating
		}
	}
	if v := strings.TrimSpace(sub.CWE); v != "" {
		id, err := c.CWE(v)
		if err != nil {
			p.Add("cwe", patchday.Message(err))
		}
		r.CWE = id
	}
	if v := strings.TrimSpace(sub.DisclosureDate); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		switch {
		case err != nil:
			p.Add("disclosure_date", "write the date as YYYY-MM-DD, e.g. "+now.AddDate(0, 3, 0).Format(time.DateOnly))
		case d.Before(now.UTC().Truncate(24 * time.Hour)):
			p.Add("disclosure_date", "the planned disclosure date is in the past")
		default:
			r.DisclosureDate = d
		}
	}
	if r.Credit.Anonymous && (r.Credit.Name != "" || r.Credit.Handle != "") {
		p.Add("anonymous", "choose either anonymous credit or a name or handle, not both")
	}
	if n := len(sub.Attachments); n > lim.MaxAttachments {
		p.Add("attachments", fmt.Sprintf("at most %d files per report (you sent %d); put them in one archive", lim.MaxAttachments, n))
	}
	var total int64
	for _, a := range sub.Attachments {
		total += a.Size
	}
	if total > lim.MaxTotalBytes {
		p.Add("attachments", fmt.Sprintf("the files total %s; the limit is %s", Size(total), Size(lim.MaxTotalBytes)))
	}
	if err := p.Err("the report was not sent: please correct the marked fields"); err != nil {
		return Report{}, err
	}
	return r, nil
}

func reporterEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("an e-mail address is required, so we can reach you about the case")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fmt.Errorf("%q is not an e-mail address we can write to (e.g. you@example.org)", s)
	}
	return s, nil
}

// clean trims a one-line field and drops control characters.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

// cleanText normalises line ends of a multi-line field and drops control
// characters other than newline and tab.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Size formats a byte count for people: 50 MiB, 1.5 KiB.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %ciB", int64(v), "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}
