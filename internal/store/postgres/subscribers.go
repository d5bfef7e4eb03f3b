package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patchday/patchday/internal/release"
)

// UpsertSubscriber records a subscription request with fresh tokens.
func (s *Store) UpsertSubscriber(ctx context.Context, email, tokenHash, unsubToken string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO subscribers (email, token_hash, unsub_token, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (email) DO UPDATE SET token_hash = excluded.token_hash, unsub_token = excluded.unsub_token,
		confirmed_at = NULL, unsubscribed_at = NULL`, email, tokenHash, unsubToken, ts(at))
	return mapErr(err, "")
}

const subscriberColumns = "id, email, token_hash, unsub_token, confirmed_at, unsubscribed_at, created_at"

func scanSubscriber(row pgx.Row) (release.Subscriber, error) {
	var sub release.Subscriber
	var confirmed, unsub *time.Time
	if err := row.Scan(&sub.ID, &sub.Email, &sub.TokenHash, &sub.UnsubToken, &confirmed, &unsub, &sub.CreatedAt); err != nil {
		return release.Subscriber{}, mapErr(err, "")
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	if confirmed != nil {
		sub.ConfirmedAt = confirmed.UTC()
	}
	if unsub != nil {
		sub.UnsubscribedAt = unsub.UTC()
	}
	return sub, nil
}

// SubscriberByToken finds a subscriber by their confirmation token's hash.
func (s *Store) SubscriberByToken(ctx context.Context, tokenHash string) (release.Subscriber, error) {
	return scanSubscriber(s.pool.QueryRow(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE token_hash = $1", tokenHash))
}

// SubscriberByUnsubToken finds a subscriber by their unsubscribe token.
func (s *Store) SubscriberByUnsubToken(ctx context.Context, token string) (release.Subscriber, error) {
	return scanSubscriber(s.pool.QueryRow(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE unsub_token = $1", token))
}

// ConfirmSubscriber completes the double opt-in.
func (s *Store) ConfirmSubscriber(ctx context.Context, id int64, at time.Time) error {
	return mustAffect(s.pool.Exec(ctx, "UPDATE subscribers SET confirmed_at = $1, unsubscribed_at = NULL WHERE id = $2", ts(at), id))
}

// Unsubscribe ends a subscription.
func (s *Store) Unsubscribe(ctx context.Context, id int64, at time.Time) error {
	return mustAffect(s.pool.Exec(ctx, "UPDATE subscribers SET unsubscribed_at = $1 WHERE id = $2", ts(at), id))
}

// ActiveSubscribers returns the confirmed, subscribed addresses.
func (s *Store) ActiveSubscribers(ctx context.Context) ([]release.Subscriber, error) {
	return s.subscribers(ctx, "confirmed_at IS NOT NULL AND unsubscribed_at IS NULL")
}

// subscribers returns the subscribers matching where, by id.
func (s *Store) subscribers(ctx context.Context, where string, args ...any) ([]release.Subscriber, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		return nil, mapErr(err, "")
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
	// Read first: the sweep asks every minute; a write would lock the row.
	var done bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM notifications WHERE release_id = $1 AND kind = $2)",
		releaseID, kind).Scan(&done); err != nil || done {
		return false, mapErr(err, "")
	}
	first := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO notifications (release_id, kind, sent_at, recipients)
			SELECT $1, $2, $3, count(*) FROM subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
			ON CONFLICT DO NOTHING`, releaseID, kind, ts(at))
		if err != nil || tag.RowsAffected() == 0 {
			return mapErr(err, "")
		}
		first = true
		_, err = tx.Exec(ctx, `INSERT INTO deliveries (release_id, kind, subscriber_id)
			SELECT $1, $2, id FROM subscribers WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL`, releaseID, kind)
		return mapErr(err, "")
	})
	return first, err
}

// Undelivered returns the subscribers a notification is still owed to,
// leaving out any who unsubscribed since.
func (s *Store) Undelivered(ctx context.Context, releaseID int64, kind string) ([]release.Subscriber, error) {
	return s.subscribers(ctx, `unsubscribed_at IS NULL AND id IN (
		SELECT subscriber_id FROM deliveries WHERE release_id = $1 AND kind = $2 AND delivered_at IS NULL)`, releaseID, kind)
}

// MarkDelivered records that a subscriber has the notification.
func (s *Store) MarkDelivered(ctx context.Context, releaseID int64, kind string, subscriberID int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE deliveries SET delivered_at = $1 WHERE release_id = $2 AND kind = $3 AND subscriber_id = $4`,
		ts(at), releaseID, kind, subscriberID)
	return mapErr(err, "")
}

// Owing returns the releases whose notification of kind some active
// subscriber has not received.
func (s *Store) Owing(ctx context.Context, kind string) ([]int64, error) {
	return s.idList(ctx, `SELECT DISTINCT d.release_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.kind = $1 AND d.delivered_at IS NULL AND s.unsubscribed_at IS NULL ORDER BY d.release_id`, kind)
}
