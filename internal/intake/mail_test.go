package intake_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/intake"
)

type sent struct{ to, replyTo, subject, text string }

// outbox records mail instead of sending it; fail makes every send fail.
type outbox struct {
	mu   sync.Mutex
	mail []sent
	fail bool
}

func (o *outbox) Send(_ context.Context, to, replyTo, subject, text string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return errors.New("relay said 421 try later")
	}
	o.mail = append(o.mail, sent{to, replyTo, subject, text})
	return nil
}

func TestMailToResearchers(t *testing.T) {
	clock := now
	svc := newService(t, &clock, intake.DefaultRateLimit)
	ctx := context.Background()
	box := &outbox{}
	var failed []string
	svc.UseMail(intake.Mail{
		Sender:  box,
		ReplyTo: func(ref string) string { return "security+" + ref + "@example.com" },
		LinkURL: func(secret string) string { return "https://security.example.com/r/" + secret },
		Failed:  func(ref string, err error) { failed = append(failed, ref) },
	})
	rc, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(box.mail) != 1 {
		t.Fatalf("%d mails after a report, want the acknowledgement", len(box.mail))
	}
	ack := box.mail[0]
	if ack.to != "ada@example.org" || ack.replyTo != "security+"+rc.Ref+"@example.com" || !strings.Contains(ack.subject, "["+rc.Ref+"]") ||
		!strings.Contains(ack.text, "https://security.example.com/r/"+rc.Link) {
		t.Errorf("acknowledgement %+v", ack)
	}

	staff := audit.Actor{Who: "tri@example.com", From: "192.0.2.9"}
	m, err := svc.StaffMessage(ctx, staff, rc.Ref, "Which build did you test?")
	if err != nil || m.Mail != intake.MailSent {
		t.Fatalf("staff message: %+v %v", m, err)
	}
	if got := box.mail[1]; got.to != "ada@example.org" || !strings.HasPrefix(got.subject, "["+rc.Ref+"] ") || !strings.Contains(got.text, "Which build") ||
		strings.Contains(got.text, "tri@example.com") {
		t.Errorf("staff mail %+v", got)
	}

	box.fail = true
	m, err = svc.StaffMessage(ctx, staff, rc.Ref, "Still there?")
	if err != nil || !strings.HasPrefix(m.Mail, "failed: ") {
		t.Errorf("staff message with a failing relay: %+v %v; want it stored with the failure recorded", m, err)
	}
	c, _, _ := svc.Open(ctx, rc.Link)
	ms, _ := svc.Messages(ctx, c.ID)
	if len(ms) != 2 || ms[0].Mail != intake.MailSent || !strings.HasPrefix(ms[1].Mail, "failed: ") {
		t.Errorf("stored mail states: %q, %q", ms[0].Mail, ms[len(ms)-1].Mail)
	}
	rc2, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1")
	if err != nil || len(failed) != 1 || failed[0] != rc2.Ref {
		t.Errorf("a report while the relay fails: %v, failures told %v; want the case kept and the failure told", err, failed)
	}
}
