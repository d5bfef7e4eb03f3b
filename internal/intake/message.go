package intake

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
)

// Message is one entry of the thread between the security team and the
// researcher on a case. Both sides see every message.
type Message struct {
	ID           int64
	CaseID       int64
	FromReporter bool
	Author       string // a staff e-mail, or "reporter"
	Body         string
	Attachments  []Attachment
	CreatedAt    time.Time
	// Internal notes are for staff only: never shown to the researcher,
	// never mailed.
	Internal bool
	// Mail says whether a staff message went out by e-mail: "sent", or
	// "not sent" when no outbound mail is configured. Empty for the
	// reporter's own messages.
	Mail string
}

// Mail states of a staff message.
const (
	MailNotSent = "not sent" // no outbound mail is configured
	MailSending = "sending"  // recorded, being handed to the relay
	MailSent    = "sent"     // the relay accepted it
	// A failed delivery is recorded as "failed: " and the reason.
)

// Mailer sends outbound mail. replyTo is where the reader's answer goes.
type Mailer interface {
	Send(ctx context.Context, to, replyTo, subject, text string) error
}

// Mail is how the service reaches researchers by e-mail.
type Mail struct {
	Sender Mailer
	// ReplyTo returns the address that threads replies onto a case, e.g.
	// security+PD-2026-0001@example.com.
	ReplyTo func(ref string) string
	// LinkURL turns a private link's secret into the full URL to mail.
	LinkURL func(secret string) string
	// Failed is told when an acknowledgement could not be sent; the case
	// stands either way (the researcher has the link on screen).
	Failed func(ref string, err error)
}

// MessageStore keeps the thread.
type MessageStore interface {
	// AddMessage stores m with its attachments and e, setting m.ID.
	AddMessage(ctx context.Context, m *Message, e audit.Entry) error
	// CaseMessages returns a case's thread, oldest first.
	CaseMessages(ctx context.Context, caseID int64) ([]Message, error)
	// SetMessageMail records how a message's e-mail delivery went.
	SetMessageMail(ctx context.Context, id int64, status string) error
}

func checkBody(body string, files []Attachment, lim Limits) (string, error) {
	body = cleanText(body)
	p := patchday.Problems{}
	switch {
	case body == "" && len(files) == 0:
		p.Add("body", "write a message or attach a file")
	case utf8.RuneCountInString(body) > maxLong:
		p.Add("body", fmt.Sprintf("a message is at most %d characters; attach longer material", maxLong))
	}
	if len(files) > lim.MaxAttachments {
		p.Add("attachments", fmt.Sprintf("at most %d files per message", lim.MaxAttachments))
	}
	var total int64
	for _, a := range files {
		total += a.Size
	}
	if total > lim.MaxTotalBytes {
		p.Add("attachments", fmt.Sprintf("the files total %s; the limit is %s", Size(total), Size(lim.MaxTotalBytes)))
	}
	return body, p.Err("the message was not sent")
}

// ReporterMessage adds the researcher's message (and files) to the case
// their private link opens.
func (s *Service) ReporterMessage(ctx context.Context, link, body string, files []Attachment, from string) (Message, error) {
	c, _, err := s.Open(ctx, link)
	if err != nil {
		return Message{}, err
	}
	body, err = checkBody(body, files, s.limits)
	if err != nil {
		return Message{}, err
	}
	return s.addReporterMessage(ctx, c, body, files, from)
}

func (s *Service) addReporterMessage(ctx context.Context, c Case, body string, files []Attachment, from string) (Message, error) {
	now := s.now().UTC()
	m := Message{CaseID: c.ID, FromReporter: true, Author: "reporter", Body: cleanText(body), Attachments: files, CreatedAt: now}
	e := audit.New(audit.Actor{Who: "reporter", From: from}, now, "case.message", "case:"+c.Ref, "message from the reporter")
	if err := s.store.AddMessage(ctx, &m, e); err != nil {
		return Message{}, fmt.Errorf("store message on %s: %w", c.Ref, err)
	}
	if s.answered != nil {
		// The message is kept whatever happens here.
		if err := s.answered(ctx, c.Ref); err != nil {
			return m, fmt.Errorf("message stored on %s, but: %w", c.Ref, err)
		}
	}
	return m, nil
}

// StaffMessage adds a message from the security team to the researcher.
// Until outbound mail exists it is recorded as not sent by e-mail; the
// researcher sees it on the private page.
func (s *Service) StaffMessage(ctx context.Context, by audit.Actor, ref, body string) (Message, error) {
	c, err := s.store.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if err != nil {
		return Message{}, fmt.Errorf("message on case %s: %w", ref, err)
	}
	body, err = checkBody(body, nil, s.limits)
	if err != nil {
		return Message{}, err
	}
	now := s.now().UTC()
	m := Message{CaseID: c.ID, Author: by.Who, Body: body, CreatedAt: now, Mail: MailNotSent}
	if s.mail.Sender != nil {
		m.Mail = MailSending
	}
	e := audit.New(by, now, "case.message", "case:"+c.Ref, "message to the reporter")
	if err := s.store.AddMessage(ctx, &m, e); err != nil {
		return Message{}, fmt.Errorf("store message on %s: %w", c.Ref, err)
	}
	if s.mail.Sender == nil {
		return m, nil
	}
	// The message is stored first: the researcher reads it on the private
	// page whatever the mail does.
	rs, err := s.store.CaseReports(ctx, c.ID)
	if err != nil || len(rs) == 0 {
		return m, err
	}
	m.Mail = MailSent
	text := body + "\n\n-- \nReply to this e-mail, or write on your case's private page (its link was given when you reported).\n"
	if err := s.mail.Sender.Send(ctx, rs[0].Email, s.mail.ReplyTo(c.Ref), "["+c.Ref+"] "+c.Title, text); err != nil {
		m.Mail = "failed: " + err.Error()
	}
	if err := s.store.SetMessageMail(ctx, m.ID, m.Mail); err != nil {
		return m, err
	}
	return m, nil
}

// acknowledge e-mails a new case's id and private link to its reporter,
// when outbound mail is configured.
func (s *Service) acknowledge(ctx context.Context, r Report, rc Receipt) {
	if s.mail.Sender == nil {
		return
	}
	linkURL := s.mail.LinkURL(rc.Link)
	text := fmt.Sprintf(`Thank you for your report "%s".

It is case %s. You can follow it, answer our questions and send more files
at your private link:

  %s

Keep this link to yourself: anyone who has it can read the case. You can
also reply to this e-mail; keep %s in the subject.
`, r.Title, rc.Ref, linkURL, rc.Ref)
	err := s.mail.Sender.Send(ctx, r.Email, s.mail.ReplyTo(rc.Ref), "["+rc.Ref+"] We received your report", text)
	if err != nil && s.mail.Failed != nil {
		s.mail.Failed(rc.Ref, err)
	}
}

// Messages returns a case's whole thread, internal notes included, oldest
// first: the staff view.
func (s *Service) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return s.store.CaseMessages(ctx, caseID)
}

// ReporterMessages returns what the researcher sees of a case's thread:
// everything but internal notes.
func (s *Service) ReporterMessages(ctx context.Context, caseID int64) ([]Message, error) {
	all, err := s.store.CaseMessages(ctx, caseID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if !m.Internal {
			out = append(out, m)
		}
	}
	return out, nil
}

// StaffNote adds an internal note to a case: staff only, never mailed.
func (s *Service) StaffNote(ctx context.Context, by audit.Actor, ref, body string) (Message, error) {
	c, err := s.store.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if err != nil {
		return Message{}, fmt.Errorf("note on case %s: %w", ref, err)
	}
	body, err = checkBody(body, nil, s.limits)
	if err != nil {
		return Message{}, err
	}
	now := s.now().UTC()
	m := Message{CaseID: c.ID, Author: by.Who, Body: body, CreatedAt: now, Internal: true}
	e := audit.New(by, now, "case.note", "case:"+c.Ref, "internal note")
	if err := s.store.AddMessage(ctx, &m, e); err != nil {
		return Message{}, fmt.Errorf("store note on %s: %w", c.Ref, err)
	}
	return m, nil
}

// SetCredit changes, from the private page, how the researcher wants to
// be credited in the advisory.
func (s *Service) SetCredit(ctx context.Context, link, name, handle string, anonymous bool, from string) error {
	c, _, err := s.Open(ctx, link)
	if err != nil {
		return err
	}
	cr := Credit{Name: clean(name), Handle: clean(handle), Anonymous: anonymous}
	p := patchday.Problems{}
	if utf8.RuneCountInString(cr.Name) > maxShort {
		p.Add("credit_name", fmt.Sprintf("a name is at most %d characters", maxShort))
	}
	if utf8.RuneCountInString(cr.Handle) > maxShort {
		p.Add("credit_handle", fmt.Sprintf("a handle is at most %d characters", maxShort))
	}
	if cr.Anonymous && (cr.Name != "" || cr.Handle != "") {
		p.Add("anonymous", "choose either anonymous credit or a name or handle, not both")
	}
	if err := p.Err("the credit was not changed"); err != nil {
		return err
	}
	e := audit.New(audit.Actor{Who: "reporter", From: from}, s.now(), "case.credit", "case:"+c.Ref, "credit preference changed")
	return s.store.SetCredit(ctx, c.ID, cr, e)
}

// Notify tells a case's researcher something from patchday itself (a fix
// is ready to verify, …): a message in their thread, e-mailed when
// outbound mail is configured.
func (s *Service) Notify(ctx context.Context, ref, body string) error {
	_, err := s.StaffMessage(ctx, audit.Actor{Who: "patchday"}, ref, body)
	return err
}
