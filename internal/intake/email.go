package intake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/patchday/patchday"
)

// Email is a message received by the SMTP intake, already decoded to
// UTF-8 text and with its files (and the raw message itself) stored.
type Email struct {
	From        string   // the sender's address (header From, else envelope)
	To          []string // the accepted recipients, as given in RCPT TO
	Subject     string
	Text        string // the body as plain text; HTML already converted
	Attachments []Attachment
	Raw         Attachment // the whole message as received, kept for the record
	Remote      string     // the sending server's address
}

// refPattern finds a case id in a subject or a plus address.
var refPattern = regexp.MustCompile(`(?i)\bPD-(\d{4})-(\d{4,})\b`)

// threadRef returns the case an e-mail replies to: "[PD-2026-0042]" in
// the subject, or security+PD-2026-0042@ as a recipient.
func threadRef(e Email) string {
	for _, to := range e.To {
		local, _, _ := strings.Cut(to, "@")
		if _, tag, ok := strings.Cut(local, "+"); ok {
			if m := refPattern.FindStringSubmatch(tag); m != nil {
				return strings.ToUpper(m[0])
			}
		}
	}
	if i := strings.Index(e.Subject, "["); i >= 0 {
		if m := refPattern.FindStringSubmatch(e.Subject[i:]); m != nil {
			return strings.ToUpper(m[0])
		}
	}
	return ""
}

// ReceiveEmail files an e-mail: a reply from a case's reporter (its id in
// the subject or the address) threads onto that case; anything else opens
// a new case. It returns the case id, whether it threaded, and — for a new
// case only — the private link for the acknowledgement. It returns only
// once everything is committed, so the SMTP server may then answer 250.
func (s *Service) ReceiveEmail(ctx context.Context, e Email) (ref string, threaded bool, link string, err error) {
	files := append(append([]Attachment(nil), e.Attachments...), e.Raw)
	if r := threadRef(e); r != "" {
		c, err := s.store.CaseByRef(ctx, r)
		switch {
		case err == nil:
			rs, err := s.store.CaseReports(ctx, c.ID)
			if err != nil {
				return "", false, "", err
			}
			if len(rs) > 0 && strings.EqualFold(rs[0].Email, e.From) {
				body := e.Text
				if body == "" {
					body = "(no text)"
				}
				if t := truncate(body, maxLong); t != body {
					body = t + "\n\n(cut here; the whole message is attached)"
				}
				if _, err := s.addReporterMessage(ctx, c, body, files, "email from "+e.Remote); err != nil {
					return "", false, "", err
				}
				return c.Ref, true, "", nil
			}
			// Not the reporter: a new report, never a way into someone's case.
		case !errors.Is(err, patchday.ErrNotFound):
			return "", false, "", err
		}
	}
	title := strings.TrimSpace(e.Subject)
	if title == "" {
		title = "(no subject)"
	}
	text := strings.TrimSpace(e.Text)
	if text == "" {
		text = "(no text; see the attached message)"
	}
	sub := Submission{
		Title: truncate(title, maxTitle), Product: "(not given: e-mail)", Version: "(not given)",
		Description: truncate(text, maxLong), Steps: "(see the description)", Email: e.From, Attachments: files,
	}
	// E-mail is accepted whatever it lacks: nothing sent may be lost, and
	// triage fills in the rest. Only what cannot be stored is refused.
	lim := Limits{MaxAttachments: 1 << 20, MaxTotalBytes: 1 << 62}
	r, err := Validate(sub, s.checks, lim, s.now())
	if err != nil {
		if fe := patchday.FieldErrors(err); fe["email"] != "" {
			return "", false, "", patchday.Errorf(patchday.ErrInvalid, "the sender address %q cannot be written to", e.From)
		}
		return "", false, "", fmt.Errorf("file e-mail: %w", err)
	}
	rc, err := s.submit(ctx, r, SourceEmail, e.Remote)
	if err != nil {
		return "", false, "", err
	}
	return rc.Ref, false, rc.Link, nil
}

func truncate(s string, max int) string {
	if n := 0; len(s) > max {
		for i := range s {
			if n == max {
				return s[:i]
			}
			n++
		}
	}
	return s
}
