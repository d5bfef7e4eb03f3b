package cases

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchday/patchday"
)

// NoAnswerClose is how long a case waits on its reporter before it is
// closed — without blame: the reporter may simply be busy.
const NoAnswerClose = 30 * 24 * time.Hour

// Reminder is an SLA warning for a case's assignee.
type Reminder struct {
	Ref, Title string
	To         string // the assignee's e-mail
	Clock      Clock
	Kind       string // "due-soon" or "overdue"
}

// Swept says what one sweep did.
type Swept struct {
	Closed    []string // case ids closed after 30 days without an answer
	Reminders int
}

// Staff resolves an assignee to their e-mail.
type Staff interface {
	EmailOf(ctx context.Context, userID int64) (string, error)
}

// Sweep does the case handling that time triggers: it closes cases that
// waited 30 days on their reporter, and warns assignees once when an SLA
// clock is due within a day or overdue. send delivers a reminder; nil
// sends none. Several servers may sweep, but callers hold a lease so one
// does at a time.
func (s *Service) Sweep(ctx context.Context, people Staff, send func(context.Context, Reminder) error) (Swept, error) {
	var out Swept
	all, err := s.store.ListCases(ctx)
	if err != nil {
		return out, err
	}
	now := s.now().UTC()
	for _, c := range all {
		st := State(c.State)
		if Terminal(st) {
			continue
		}
		moves, err := s.store.CaseMoves(ctx, c.ID)
		if err != nil {
			return out, err
		}
		if st == NeedsInfo {
			if since, ok := lastMoveInto(moves, NeedsInfo); ok && !now.Before(since.Add(NoAnswerClose)) {
				_, err := s.Move(ctx, Actor{System: true}, "scheduler", c.Ref, Request{To: Closed,
					Reason: "no answer from the reporter in 30 days; closed without blame"})
				if err != nil && !errors.Is(err, patchday.ErrConflict) {
					return out, fmt.Errorf("close %s: %w", c.Ref, err)
				}
				if err == nil {
					out.Closed = append(out.Closed, c.Ref)
				}
				continue
			}
		}
		if send == nil || people == nil {
			continue
		}
		t, err := s.store.CaseTriage(ctx, c.ID)
		if err != nil {
			return out, err
		}
		if t.Assignee == 0 {
			continue
		}
		policy, err := s.policyFor(ctx, c)
		if err != nil {
			return out, err
		}
		for _, k := range Clocks(c.CreatedAt, moves, t.CVSSRating, now, policy) {
			kind := ""
			switch {
			case k.Done || k.Paused:
				continue
			case k.Overdue:
				kind = "overdue"
			case k.Due.Sub(now) <= 24*time.Hour:
				kind = "due-soon"
			default:
				continue
			}
			fresh, err := s.store.MarkReminder(ctx, c.ID, k.Name, kind, now)
			if err != nil {
				return out, err
			}
			if !fresh {
				continue
			}
			to, err := people.EmailOf(ctx, t.Assignee)
			if err != nil {
				return out, err
			}
			if err := send(ctx, Reminder{Ref: c.Ref, Title: c.Title, To: to, Clock: k, Kind: kind}); err != nil {
				return out, fmt.Errorf("remind %s of %s: %w", to, c.Ref, err)
			}
			out.Reminders++
		}
	}
	return out, nil
}

func lastMoveInto(moves []Move, s State) (time.Time, bool) {
	for i := len(moves) - 1; i >= 0; i-- {
		if moves[i].To == s {
			return moves[i].At, true
		}
	}
	return time.Time{}, false
}
