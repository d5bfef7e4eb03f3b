package intake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/intake"
)

func TestReceiveEmail(t *testing.T) {
	clock := now
	svc := newService(t, &clock, intake.DefaultRateLimit)
	ctx := context.Background()
	raw := intake.Attachment{Name: "message.eml", ContentType: "message/rfc822", SHA256: "ee", Size: 500}
	first := intake.Email{From: "ada@example.org", To: []string{"security@example.com"}, Subject: "RCE in the updater",
		Text: "The updater runs unsigned code.", Raw: raw, Remote: "203.0.113.5"}
	ref, threaded, link, err := svc.ReceiveEmail(ctx, first)
	if err != nil || threaded || ref != "PD-2026-0001" || link == "" {
		t.Fatalf("first e-mail: %q %v %q %v", ref, threaded, link, err)
	}
	c, rs, err := svc.Open(ctx, link)
	if err != nil || c.Title != "RCE in the updater" || rs[0].Source != intake.SourceEmail || len(rs[0].Attachments) != 1 {
		t.Fatalf("opened case %+v %+v %v", c, rs, err)
	}

	tests := []struct {
		name     string
		e        intake.Email
		threaded bool
	}{
		{"reply in subject", intake.Email{From: "ADA@example.org", Subject: "Re: [PD-2026-0001] RCE in the updater", Text: "More."}, true},
		{"plus address", intake.Email{From: "ada@example.org", To: []string{"security+pd-2026-0001@example.com"}, Subject: "logs", Text: "Attached."}, true},
		{"someone else quoting the id", intake.Email{From: "mallory@example.net", Subject: "Re: [PD-2026-0001]", Text: "Let me in."}, false},
		{"unknown case", intake.Email{From: "ada@example.org", Subject: "[PD-2026-0999] hello", Text: "x"}, false},
		{"id without brackets is not a reply", intake.Email{From: "ada@example.org", Subject: "about PD-2026-0001", Text: "x"}, false},
		{"empty mail is still kept", intake.Email{From: "bob@example.org"}, false},
	}
	for _, tt := range tests {
		tt.e.Raw = raw
		ref, threaded, link, err := svc.ReceiveEmail(ctx, tt.e)
		if err != nil || threaded != tt.threaded || (threaded && (ref != "PD-2026-0001" || link != "")) || (!threaded && link == "") {
			t.Errorf("%s: %q threaded=%v link=%q %v", tt.name, ref, threaded, link, err)
		}
	}
	ms, _ := svc.Messages(ctx, c.ID)
	if len(ms) != 2 || !ms[0].FromReporter || len(ms[0].Attachments) != 1 {
		t.Errorf("thread of PD-2026-0001: %+v; want the two replies from the reporter, each with the raw message", ms)
	}
	cs, _ := svc.List(ctx)
	if len(cs) != 5 {
		t.Errorf("%d cases, want 5 (the first and four that were not replies)", len(cs))
	}
	if _, _, _, err := svc.ReceiveEmail(ctx, intake.Email{From: "not an address", Raw: raw}); !errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("unusable sender: %v, want ErrInvalid", err)
	}
}

func TestReceiveEmailLongReply(t *testing.T) {
	clock := now
	svc := newService(t, &clock, intake.DefaultRateLimit)
	ctx := context.Background()
	raw := intake.Attachment{Name: "message.eml", ContentType: "message/rfc822", SHA256: "ee", Size: 500}
	_, _, link, err := svc.ReceiveEmail(ctx, intake.Email{From: "ada@example.org", Subject: "x", Text: "y", Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 200000)
	if _, threaded, _, err := svc.ReceiveEmail(ctx, intake.Email{From: "ada@example.org", Subject: "Re: [PD-2026-0001]", Text: long, Raw: raw}); err != nil || !threaded {
		t.Fatalf("long reply: %v %v", threaded, err)
	}
	c, _, _ := svc.Open(ctx, link)
	ms, _ := svc.Messages(ctx, c.ID)
	if n := utf8.RuneCountInString(ms[0].Body); n > 100100 || !strings.HasSuffix(ms[0].Body, "(cut here; the whole message is attached)") || len(ms[0].Attachments) != 1 {
		t.Errorf("a 200,000-character reply was stored as %d characters", n)
	}
}
