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
	// Mail says whether a staff message went out by e-mail: "sent", or
	// "not sent" when no outbound mail is configured. Empty for the
	// reporter's own messages.
	Mail string
}

// MailNotSent marks a staff message recorded while no outbound mail relay
// is configured.
const MailNotSent = "not sent"

// MessageStore keeps the thread.
type MessageStore interface {
	// AddMessage stores m with its attachments and e, setting m.ID.
	AddMessage(ctx context.Context, m *Message, e audit.Entry) error
	// CaseMessages returns a case's thread, oldest first.
	CaseMessages(ctx context.Context, caseID int64) ([]Message, error)
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
	e := audit.New(by, now, "case.message", "case:"+c.Ref, "message to the reporter")
	if err := s.store.AddMessage(ctx, &m, e); err != nil {
		return Message{}, fmt.Errorf("store message on %s: %w", c.Ref, err)
	}
	return m, nil
}

// Messages returns a case's thread, oldest first.
func (s *Service) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return s.store.CaseMessages(ctx, caseID)
}
