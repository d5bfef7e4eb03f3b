package cases

import "time"

// Policy is how many business days each SLA clock allows. Fix days are
// by CVSS rating.
type Policy struct {
	FirstResponseDays int
	TriageDays        int
	FixDays           map[string]int
}

// DefaultPolicy follows common PSIRT practice: answer within two business
// days, triage within five, and fix faster the worse it is.
var DefaultPolicy = Policy{FirstResponseDays: 2, TriageDays: 5,
	FixDays: map[string]int{"Critical": 7, "High": 30, "Medium": 60, "Low": 90, "None": 90}}

// Clock is one SLA deadline of a case.
type Clock struct {
	Name    string // "first response", "triage", "fix"
	Due     time.Time
	Done    bool
	DoneAt  time.Time
	Overdue bool // not done by Due (or done after it)
	Paused  bool // the case waits on its reporter now
}

// AddBusinessDays returns t moved n business days (Monday to Friday, UTC)
// later, at the same time of day. From a weekend, counting starts on the
// Monday.
func AddBusinessDays(t time.Time, n int) time.Time {
	t = t.UTC()
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if t.Weekday() != time.Saturday && t.Weekday() != time.Sunday {
			n--
		}
	}
	return t
}

// paused returns how long the case waited on its reporter (needs-info)
// between from and until, and whether it still waits at until: SLA clocks
// stop while the reporter has the ball.
func paused(moves []Move, from, until time.Time) (time.Duration, bool) {
	var total time.Duration
	var since time.Time
	waiting := false
	span := func(a, b time.Time) time.Duration {
		if a.Before(from) {
			a = from
		}
		if b.After(until) {
			b = until
		}
		if b.After(a) {
			return b.Sub(a)
		}
		return 0
	}
	for _, m := range moves {
		if m.At.After(until) {
			break
		}
		if m.To == NeedsInfo && !waiting {
			waiting, since = true, m.At
		} else if m.From == NeedsInfo && waiting {
			waiting = false
			total += span(since, m.At)
		}
	}
	if waiting {
		total += span(since, until)
	}
	return total, waiting
}

// firstMove returns when the case first moved into any of the states.
func firstMove(moves []Move, to ...State) (time.Time, bool) {
	for _, m := range moves {
		for _, s := range to {
			if m.To == s {
				return m.At, true
			}
		}
	}
	return time.Time{}, false
}

// Clocks computes a case's SLA clocks from when it was opened, its moves
// (oldest first) and its severity rating, at now. Time waiting on the
// reporter pushes every due date back by as long.
func Clocks(opened time.Time, moves []Move, rating string, now time.Time, p Policy) []Clock {
	clock := func(name string, start time.Time, days int, done ...State) Clock {
		end, finished := firstMove(moves, done...)
		until := now
		if finished {
			until = end
		}
		wait, waiting := paused(moves, start, until)
		c := Clock{Name: name, Due: AddBusinessDays(start, days).Add(wait), Done: finished, DoneAt: end, Paused: waiting && !finished}
		c.Overdue = until.After(c.Due) && !c.Paused
		return c
	}
	out := []Clock{
		clock("first response", opened, p.FirstResponseDays, Triage, NeedsInfo, Invalid, Duplicate, AcceptedRisk, Accepted),
		clock("triage", opened, p.TriageDays, Accepted, Invalid, Duplicate, AcceptedRisk),
	}
	if accepted, ok := firstMove(moves, Accepted); ok {
		days, ok := p.FixDays[rating]
		if !ok {
			days = p.FixDays["None"]
		}
		out = append(out, clock("fix", accepted, days, Verifying, Scheduled, Released))
	}
	return out
}
