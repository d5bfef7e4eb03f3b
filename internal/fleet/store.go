package fleet

import (
	"context"
	"time"
)

// Computer is an enrolled endpoint.
type Computer struct {
	ID        int64
	Name      string
	OS, Arch  string
	Labels    []string
	Token     int64 // the enrollment token it used
	Group     int64 // 0: the default group
	Inventory []Item
	// InventoryHash identifies the inventory as last reported, so an
	// unchanged one is not written again, even after a restart.
	InventoryHash int64
	Enrolled      time.Time
	LastSeen      time.Time
	Retired       time.Time // zero while active
}

// EnrollToken lets computers enroll; the token itself is shown once and
// kept only as a hash.
type EnrollToken struct {
	ID        int64
	Note      string
	Labels    []string // given to every computer enrolling with it
	MaxUses   int
	Uses      int
	Expires   time.Time
	CreatedBy string
	Created   time.Time
	Revoked   time.Time
}

// Approval says a group installs (or removes) an update, by a deadline,
// and carries that rollout's counters.
type Approval struct {
	ID       int64
	Update   int64
	Group    int64
	Action   string // install | remove
	Deadline time.Time
	By       string // a staff user, or rule:<name>
	At       time.Time
	Why      string
	Rollout  Rollout
}

// Report is the latest state a computer reported for an update.
type Report struct {
	Computer int64
	Update   int64
	State    string // agentapi states
	Detail   string
	At       time.Time
	Restarts int
	Downtime time.Duration
	// IfState applies the report only if the stored state is this (the
	// timeout sweep must not overwrite a result that just arrived).
	IfState string
	// Outcome is what the report counts as in its rollout, if anything.
	Outcome Outcome
	Counts  bool
}

// Checkin is what one check-in writes, in one batch with others.
type Checkin struct {
	Computer  int64
	At        time.Time
	Group     int64
	Inventory []Item // nil: unchanged since the last check-in
	// InventoryHash goes with Inventory.
	InventoryHash int64
	OS, Arch      string
	Reports       []Report
	// DropLease returns the computer's restart lease.
	DropLease bool
	// Sweep marks a write by the server's own sweep, not the computer:
	// last_seen and the inventory stay as they are.
	Sweep bool
}

// Event is one thing a computer reported, kept for the retention period.
type Event struct {
	ID       int64
	Computer int64
	Update   int64
	Kind     string
	Detail   string
	At       time.Time
}

// Seen is an update this server knows and when it first saw it.
type Seen struct {
	Update    int64
	Product   string
	Version   string
	FirstSeen time.Time
}

// Store keeps the fleet.
type Store interface {
	CreateEnrollToken(ctx context.Context, t EnrollToken, hash []byte) (EnrollToken, error)
	EnrollTokens(ctx context.Context) ([]EnrollToken, error)
	RevokeEnrollToken(ctx context.Context, id int64, at time.Time) error
	// Enroll uses the token whose hash is given, once, and adds the
	// computer with its credential's hash. An unknown, expired, revoked
	// or used-up token is patchday.ErrUnauthenticated, and nothing changes.
	Enroll(ctx context.Context, tokenHash []byte, c Computer, credHash []byte) (Computer, error)
	// ComputerCredential returns a computer and its credential's hash.
	ComputerCredential(ctx context.Context, id int64) (Computer, []byte, error)
	Computers(ctx context.Context) ([]Computer, error)
	// RetireComputers retires active computers last seen before the
	// given time (or the one named by id, if id > 0).
	RetireComputers(ctx context.Context, id int64, seenBefore, at time.Time) (int, error)

	// SaveCheckins writes a batch of check-ins in one transaction and
	// says, for each, nil or why it was refused (an unknown or retired
	// computer whose inventory changed: patchday.ErrUnauthenticated; a
	// plain check-in is appended without that check, which the caller
	// makes against the credential). For every report that
	// changes state and Counts, count is called inside the transaction
	// with the approval of the update for the computer's group, if any,
	// whose rollout it may change; the store saves it.
	SaveCheckins(ctx context.Context, batch []Checkin, count func(a *Approval, r Report)) ([]error, error)
	// FoldCheckins moves the check-ins appended since the last fold into
	// the computers' last-seen times, and says how many computers moved.
	FoldCheckins(ctx context.Context) (int, error)
	// Reports returns every stored report, or only those in one state.
	Reports(ctx context.Context, state string) ([]Report, error)
	// Events returns a computer's events, newest first, up to limit.
	Events(ctx context.Context, computer int64, limit int) ([]Event, error)
	// ExpireEvents deletes events older than before.
	ExpireEvents(ctx context.Context, before time.Time) (int, error)

	PutGroup(ctx context.Context, g Group, at time.Time) (Group, error)
	Groups(ctx context.Context) ([]Group, error)
	DeleteGroup(ctx context.Context, id int64) error

	// PutApproval adds an approval, or changes an existing one's action
	// and deadline (keeping its rollout).
	PutApproval(ctx context.Context, a Approval) (Approval, error)
	Approvals(ctx context.Context) ([]Approval, error)
	DeleteApproval(ctx context.Context, id int64) error
	// UpdateRollout changes one approval's rollout in a transaction:
	// fn sees the current state and changes it (acknowledging the
	// brake, advancing the wave).
	UpdateRollout(ctx context.Context, id int64, fn func(a *Approval) error) (Approval, error)

	// TakeRestartLease gives the computer a restart lease in its group
	// until the given time if fewer than max are held (expired leases
	// do not count); a computer holding one has it extended.
	TakeRestartLease(ctx context.Context, computer, group int64, max int, now, until time.Time) (bool, error)
	// RestartLeases counts the unexpired leases per group.
	RestartLeases(ctx context.Context, now time.Time) (map[int64]int, error)

	// SeeUpdates records updates not seen before, first seen at now, and
	// returns all known.
	SeeUpdates(ctx context.Context, us []Seen, now time.Time) ([]Seen, error)

	PutSetting(ctx context.Context, name, value, by string, at time.Time) error
	// Setting returns a setting's value; not found is patchday.ErrNotFound.
	Setting(ctx context.Context, name string) (string, error)
}
