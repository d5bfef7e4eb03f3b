package release

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/secret"
)

// Subscriber receives advance notices and bulletins by e-mail.
type Subscriber struct {
	ID             int64
	Email          string
	TokenHash      string    // of the confirmation link's secret
	UnsubToken     string    // the unsubscribe link's token, in every mail
	ConfirmedAt    time.Time // zero until they confirm (double opt-in)
	UnsubscribedAt time.Time
	CreatedAt      time.Time
}

// Active reports whether the subscriber confirmed and did not leave.
func (s Subscriber) Active() bool { return !s.ConfirmedAt.IsZero() && s.UnsubscribedAt.IsZero() }

// SubscriberStore keeps subscribers and what was sent.
type SubscriberStore interface {
	// UpsertSubscriber records a (new or returning) subscription request
	// with fresh tokens, unconfirmed.
	UpsertSubscriber(ctx context.Context, email, tokenHash, unsubToken string, at time.Time) error
	SubscriberByToken(ctx context.Context, tokenHash string) (Subscriber, error)
	SubscriberByUnsubToken(ctx context.Context, token string) (Subscriber, error)
	ConfirmSubscriber(ctx context.Context, id int64, at time.Time) error
	Unsubscribe(ctx context.Context, id int64, at time.Time) error
	ActiveSubscribers(ctx context.Context) ([]Subscriber, error)
	// MarkNotified records that a release's notice or bulletin is due to
	// every active subscriber, once; it reports false if it already was.
	MarkNotified(ctx context.Context, releaseID int64, kind string, at time.Time) (bool, error)
	// Undelivered returns the subscribers a notification is still owed to
	// (not those who unsubscribed since); MarkDelivered records one sent.
	Undelivered(ctx context.Context, releaseID int64, kind string) ([]Subscriber, error)
	MarkDelivered(ctx context.Context, releaseID int64, kind string, subscriberID int64, at time.Time) error
	// Owing returns the releases whose notification of kind is still
	// owed to a subscriber, however old: a relay down for days delays
	// a bulletin, it does not drop it.
	Owing(ctx context.Context, kind string) ([]int64, error)
}

// Prefixes of the confirmation and unsubscribe links' tokens.
const (
	TokenPrefix = "pdn_"
	UnsubPrefix = "pdu_"
)

// Mailer sends mail to subscribers.
type Mailer interface {
	Send(ctx context.Context, to, replyTo, subject, text string) error
}

// Subscriptions run the double opt-in list.
type Subscriptions struct {
	store SubscriberStore
	mail  Mailer // nil: no outbound mail, no subscriptions
	base  string // public URL for links
	now   func() time.Time
}

// NewSubscriptions returns the list; mail may be nil (then subscribing is
// refused with the reason).
func NewSubscriptions(s SubscriberStore, m Mailer, base string, now func() time.Time) *Subscriptions {
	if now == nil {
		now = time.Now
	}
	return &Subscriptions{store: s, mail: m, base: strings.TrimRight(base, "/"), now: now}
}

// Available reports whether this server can take subscriptions.
func (s *Subscriptions) Available() bool { return s.mail != nil }

// Subscribe records a request and mails the confirmation link. The answer
// is the same whether or not the address was known: the form reveals
// nothing about who subscribes.
func (s *Subscriptions) Subscribe(ctx context.Context, email string) error {
	if s.mail == nil {
		return patchday.Errorf(patchday.ErrConflict, "this server sends no e-mail, so it takes no subscriptions; follow the feed or the calendar instead")
	}
	a, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return &patchday.Error{Kind: patchday.ErrInvalid, Message: "the subscription was not recorded",
			Fields: map[string]string{"email": "write an e-mail address such as admin@example.com"}}
	}
	tok, hash := secret.New(TokenPrefix)
	unsub, _ := secret.New(UnsubPrefix)
	if err := s.store.UpsertSubscriber(ctx, strings.ToLower(a.Address), hash, unsub, s.now().UTC()); err != nil {
		return err
	}
	text := fmt.Sprintf(`Someone, probably you, asked to receive our security release notices and bulletins.

To confirm, open:
  %s/subscribe/confirm/%s

If it was not you, ignore this message: nothing will be sent.
`, s.base, tok)
	return s.mail.Send(ctx, a.Address, "", "Confirm your subscription to security notices", text)
}

func (s *Subscriptions) byToken(ctx context.Context, token string) (Subscriber, error) {
	hash, err := secret.Parse(TokenPrefix, token)
	if err != nil {
		return Subscriber{}, patchday.Errorf(patchday.ErrNotFound, "this link is not valid; subscribe again")
	}
	sub, err := s.store.SubscriberByToken(ctx, hash)
	if errors.Is(err, patchday.ErrNotFound) {
		return Subscriber{}, patchday.Errorf(patchday.ErrNotFound, "this link is not valid any more; subscribe again")
	}
	return sub, err
}

// Confirm completes the double opt-in.
func (s *Subscriptions) Confirm(ctx context.Context, token string) error {
	sub, err := s.byToken(ctx, token)
	if err != nil {
		return err
	}
	return s.store.ConfirmSubscriber(ctx, sub.ID, s.now().UTC())
}

// Leave ends a subscription (the link in every mail).
func (s *Subscriptions) Leave(ctx context.Context, token string) error {
	if _, err := secret.Parse(UnsubPrefix, token); err != nil {
		return patchday.Errorf(patchday.ErrNotFound, "this link is not valid")
	}
	sub, err := s.store.SubscriberByUnsubToken(ctx, token)
	if errors.Is(err, patchday.ErrNotFound) {
		return patchday.Errorf(patchday.ErrNotFound, "this link is not valid")
	} else if err != nil {
		return err
	}
	return s.store.Unsubscribe(ctx, sub.ID, s.now().UTC())
}

// Notify sends one release's notice or bulletin to every subscriber
// active when it first fell due, once each: if the relay fails part-way,
// the next call sends to the rest. It returns how many it sent now.
// Callers hold the notifications lease, so servers do not race. text is
// asked for only when someone is owed the message: the server calls
// Notify every sweep, and a bulletin is costly to write.
func (s *Subscriptions) Notify(ctx context.Context, releaseID int64, kind, subject string, text func() (string, error)) (int, error) {
	if s.mail == nil {
		return 0, nil
	}
	if _, err := s.store.MarkNotified(ctx, releaseID, kind, s.now().UTC()); err != nil {
		return 0, err
	}
	subs, err := s.store.Undelivered(ctx, releaseID, kind)
	if err != nil {
		return 0, err
	}
	if len(subs) == 0 {
		return 0, nil
	}
	msg, err := text()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, sub := range subs {
		body := msg + "\n-- \nTo stop these messages: " + s.base + "/unsubscribe/" + sub.UnsubToken + "\n"
		if err := s.mail.Send(ctx, sub.Email, "", subject, body); err != nil {
			return sent, fmt.Errorf("%s to %s (%d of %d sent; the rest are retried at the next sweep): %w", kind, sub.Email, sent, len(subs), err)
		}
		if err := s.store.MarkDelivered(ctx, releaseID, kind, sub.ID, s.now().UTC()); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// Owing returns the releases whose notification of kind is still owed to
// someone.
func (s *Subscriptions) Owing(ctx context.Context, kind string) ([]int64, error) {
	return s.store.Owing(ctx, kind)
}
