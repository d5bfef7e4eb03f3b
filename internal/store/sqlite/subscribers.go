package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/patchday/patchday/internal/release"
)

// UpsertSubscriber records a subscription request with fresh tokens.
func (s *Store) UpsertSubscriber(ctx context.Context, email, tokenHash, unsubToken string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO subscribers (email, token_hash, unsub_token, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET token_hash = excluded.token_hash, unsub_token = excluded.unsub_token,
		confirmed_at = NULL, unsubscribed_at = NULL`, email, tokenHash, unsubToken, ts(at))
	return mapErr(err, "")
}

const subscriberColumns = "id, email, token_hash, unsub_token, confirmed_at, unsubscribed_at, created_at"

func scanSubscriber(row interface{ Scan(...any) error }) (release.Subscriber, error) {
	var sub release.Subscriber
	var confirmed, unsub sql.NullInt64
	var created int64
	if err := row.Scan(&sub.ID, &sub.Email, &sub.TokenHash, &sub.UnsubToken, &confirmed, &unsub, &created); err != nil {
		return release.Subscriber{}, mapErr(err, "")
	}
	sub.CreatedAt = fromTS(created)
	if confirmed.Valid {
		sub.ConfirmedAt = fromTS(confirmed.Int64)
	}
	if unsub.Valid {
		sub.UnsubscribedAt = fromTS(unsub.Int64)
	}
	return sub, nil
}

// SubscriberByToken finds a subscriber by their confirmation token's hash.
func (s *Store) SubscriberByToken(ctx context.Context, tokenHash string) (release.Subscriber, error) {
	return scanSubscriber(s.read.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE token_hash = ?", tokenHash))
}

// SubscriberByUnsubToken finds a subscriber by their unsubscribe token.
func (s *Store) SubscriberByUnsubToken(ctx context.Context, token string) (release.Subscriber, error) {
	return scanSubscriber(s.read.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE unsub_token = ?", token))
}

// ConfirmSubscriber completes the double opt-in.
func (s *Store) ConfirmSubscriber(ctx context.Context, id int64, at time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, "UPDATE subscribers SET confirmed_at = ?, unsubscribed_at = NULL WHERE id = ?", ts(at), id))
}

// Unsubscribe ends a subscription.
func (s *Store) Unsubscribe(ctx context.Context, id int64, at time.Time) error {
	return mustAffect(s.write.ExecContext(ctx, "UPDATE subscribers SET unsubscribed_at = ? WHERE id = ?", ts(at), id))
}

// ActiveSubscribers returns the confirmed, subscribed addresses.
func (s *Store) ActiveSubscribers(ctx context.Context) ([]release.Subscriber, error) {
	return s.subscribers(ctx, "confirmed_at IS NOT NULL AND unsubscribed_at IS NULL")
}

// subscribers returns the subscribers matching where, by id.
func (s *Store) subscribers(ctx context.Context, where string, args ...any) ([]release.Subscriber, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []release.Subscriber{}
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// MarkNotified records a release's notice or bulletin, once, with a
// pending delivery to each active subscriber.
func (s *Store) MarkNotified(ctx context.Context, releaseID int64, kind string, at time.Time) (bool, error) {
	// Read first: the sweep asks every minute, and SQLite has one writer.
	var done bool
	if err := s.read.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM notifications WHERE release_id = ? AND kind = ?)",
		releaseID, kind).Scan(&done); err != nil || done {
		return false, mapErr(err, "")
	}
	first := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO notifications (release_id, kind, sent_at, recipients)
			SELECT ?, ?, ?, count(*) FROM subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
			ON CONFLICT DO NOTHING`, releaseID, kind, ts(at))
		if err != nil {
			return mapErr(err, "")
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		first = true
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (release_id, kind, subscriber_id)
			SELECT ?, ?, id FROM subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL`, releaseID, kind)
		return mapErr(err, "")
	})
	return first, err
}

// Undelivered returns the subscribers a notification is still owed to,
// leaving out any who unsubscribed since.
func (s *Store) Undelivered(ctx context.Context, releaseID int64, kind string) ([]release.Subscriber, error) {
	return s.subscribers(ctx, `unsubscribed_at IS NULL AND id IN (
		SELECT subscriber_id FROM deliveries WHERE release_id = ? AND kind = ? AND delivered_at IS NULL)`, releaseID, kind)
}

// MarkDelivered records that a subscriber has the notification.
func (s *Store) MarkDelivered(ctx context.Context, releaseID int64, kind string, subscriberID int64, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE deliveries SET delivered_at = ? WHERE release_id = ? AND kind = ? AND subscriber_id = ?`,
		ts(at), releaseID, kind, subscriberID)
	return mapErr(err, "")
}

// Owing returns the releases whose notification of kind some active
// subscriber has not received.
func (s *Store) Owing(ctx context.Context, kind string) ([]int64, error) {
	return s.idList(ctx, `SELECT DISTINCT d.release_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.kind = ? AND d.delivered_at IS NULL AND s.unsubscribed_at IS NULL ORDER BY d.release_id`, kind)
}
