// Package audit is the append-only record of every change of state: who did
// what, when, and from where.
package audit

import (
	"context"
	"time"
)

// Actor is who made a change and from where.
type Actor struct {
	// Who is a staff e-mail, "cli:<os user>", or "system".
	Who string
	// From is a remote address, "cli", or "" for the server itself.
	From string
}

// System is the server acting on its own (start-up, scheduled jobs).
var System = Actor{Who: "system"}

// Entry is one audited change. Entries are never updated or deleted.
type Entry struct {
	ID      int64
	At      time.Time
	Who     string
	From    string
	Action  string // e.g. "user.create", "session.create"
	Subject string // what was changed, e.g. "user:alice@example.com"
	Detail  string // a short human-readable summary
}

// New returns an entry for actor at time at.
func New(actor Actor, at time.Time, action, subject, detail string) Entry {
	return Entry{At: at.UTC(), Who: actor.Who, From: actor.From, Action: action, Subject: subject, Detail: detail}
}

// Query selects entries newest first.
type Query struct {
	// Before, when > 0, returns only entries with ID < Before (keyset paging).
	Before int64
	// Limit caps the number returned; <= 0 means DefaultLimit.
	Limit int
}

// DefaultLimit and MaxLimit bound one page of entries.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Clamp returns the effective limit for q.
func (q Query) Clamp() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// Store appends and reads entries. Changes of state append their entry in
// the same transaction as the change itself, through the owning store.
type Store interface {
	AppendAudit(ctx context.Context, e Entry) error
	ListAudit(ctx context.Context, q Query) ([]Entry, error)
}
