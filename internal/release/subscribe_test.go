package release_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/store/sqlite"
)

// text is a notification's text, ready.
func text(s string) func() (string, error) { return func() (string, error) { return s, nil } }

type mailed struct{ to, subject, text string }

type outbox struct{ mail []mailed }

func (o *outbox) Send(_ context.Context, to, _, subject, text string) error {
	o.mail = append(o.mail, mailed{to, subject, text})
	return nil
}

func TestSubscriptions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if err := release.NewSubscriptions(st, nil, "https://x", clock).Subscribe(ctx, "a@example.com"); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("subscribing without outbound mail: %v", err)
	}
	box := &outbox{}
	subs := release.NewSubscriptions(st, box, "https://security.example.com/", clock)
	if err := subs.Subscribe(ctx, "Admin <admin@example.com>"); !errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("an address with a name: %v", err)
	}
	if err := subs.Subscribe(ctx, "Admin@Example.com"); err != nil {
		t.Fatal(err)
	}
	confirm := regexp.MustCompile(`https://security\.example\.com/subscribe/confirm/(pdn_\S+)`).FindStringSubmatch(box.mail[0].text)
	if confirm == nil {
		t.Fatalf("no confirmation link in %q", box.mail[0].text)
	}
	r := release.Release{At: now, Kind: release.Train}
	st.CreateRelease(ctx, &r, audit.New(audit.System, now, "x", "", ""))
	// Unconfirmed: nothing is sent.
	if n, _ := subs.Notify(ctx, r.ID, "notice", "s", text("t")); n != 0 {
		t.Errorf("sent %d before confirmation", n)
	}
	if err := subs.Confirm(ctx, confirm[1]+"x"); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("a wrong confirmation link: %v", err)
	}
	if err := subs.Confirm(ctx, confirm[1]); err != nil {
		t.Fatal(err)
	}
	r2 := release.Release{At: now.Add(time.Hour), Kind: release.OutOfBand, Justification: "x"}
	st.CreateRelease(ctx, &r2, audit.New(audit.System, now, "x", "", ""))
	n, err := subs.Notify(ctx, r2.ID, "bulletin", "Security bulletin", text("Two advisories."))
	if err != nil || n != 1 {
		t.Fatalf("bulletin: %d %v", n, err)
	}
	last := box.mail[len(box.mail)-1]
	if last.to != "admin@example.com" || !strings.Contains(last.text, "Two advisories.") {
		t.Errorf("bulletin %+v", last)
	}
	if n, _ := subs.Notify(ctx, r2.ID, "bulletin", "again", text("again")); n != 0 {
		t.Errorf("the same bulletin went out twice")
	}
	unsub := regexp.MustCompile(`/unsubscribe/(pdu_\S+)`).FindStringSubmatch(last.text)
	if unsub == nil {
		t.Fatalf("no unsubscribe link in %q", last.text)
	}
	if err := subs.Leave(ctx, unsub[1]); err != nil {
		t.Fatal(err)
	}
	r3 := release.Release{At: now.Add(2 * time.Hour), Kind: release.OutOfBand, Justification: "x"}
	st.CreateRelease(ctx, &r3, audit.New(audit.System, now, "x", "", ""))
	if n, _ := subs.Notify(ctx, r3.ID, "bulletin", "s", text("t")); n != 0 {
		t.Errorf("sent %d after unsubscribing", n)
	}
}

// flaky refuses mail to one address until told otherwise, like a relay
// that drops the connection part-way through a notice.
type flaky struct {
	outbox
	refuse string
}

func (f *flaky) Send(ctx context.Context, to, cc, subject, text string) error {
	if to == f.refuse {
		return errors.New("421 service not available")
	}
	return f.outbox.Send(ctx, to, cc, subject, text)
}

// TestNotifyResumesAfterRelayFailure: when the relay fails part-way, the
// next sweep sends to those not yet reached, and nobody gets two copies.
func TestNotifyResumesAfterRelayFailure(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	box := &flaky{}
	subs := release.NewSubscriptions(st, box, "https://security.example.com", func() time.Time { return now })
	for _, a := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if err := subs.Subscribe(ctx, a); err != nil {
			t.Fatal(err)
		}
		link := regexp.MustCompile(`/subscribe/confirm/(pdn_\S+)`).FindStringSubmatch(box.mail[len(box.mail)-1].text)
		if err := subs.Confirm(ctx, link[1]); err != nil {
			t.Fatal(err)
		}
	}
	box.mail, box.refuse = nil, "b@example.com"
	r := release.Release{At: now, Kind: release.Train}
	if err := st.CreateRelease(ctx, &r, audit.New(audit.System, now, "x", "", "")); err != nil {
		t.Fatal(err)
	}
	n, err := subs.Notify(ctx, r.ID, "bulletin", "Security bulletin", text("One advisory."))
	if err == nil || n != 1 || !strings.Contains(err.Error(), "b@example.com") || !strings.Contains(err.Error(), "retried") {
		t.Fatalf("with the relay failing at b: sent %d, %v; want 1 and an error naming b and the retry", n, err)
	}
	box.refuse = ""
	if err := subs.Subscribe(ctx, "late@example.com"); err != nil { // not owed this bulletin
		t.Fatal(err)
	}
	link := regexp.MustCompile(`/subscribe/confirm/(pdn_\S+)`).FindStringSubmatch(box.mail[len(box.mail)-1].text)
	if err := subs.Confirm(ctx, link[1]); err != nil {
		t.Fatal(err)
	}
	if n, err := subs.Notify(ctx, r.ID, "bulletin", "Security bulletin", text("One advisory.")); err != nil || n != 2 {
		t.Fatalf("the retry: sent %d, %v; want 2 (b and c)", n, err)
	}
	if n, err := subs.Notify(ctx, r.ID, "bulletin", "Security bulletin", text("One advisory.")); err != nil || n != 0 {
		t.Errorf("a third sweep sent %d, %v", n, err)
	}
	got := map[string]int{}
	for _, m := range box.mail {
		if m.subject == "Security bulletin" {
			got[m.to]++
		}
	}
	if len(got) != 3 || got["a@example.com"] != 1 || got["b@example.com"] != 1 || got["c@example.com"] != 1 {
		t.Errorf("bulletins delivered: %v; want a, b and c once each", got)
	}
}
