package cases

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchday/patchday"
)

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

// ParsePolicy reads a stored policy (JSON); what it leaves out comes from
// DefaultPolicy. An empty string is the default policy.
func ParsePolicy(s string) (Policy, error) {
	p := Policy{FirstResponseDays: DefaultPolicy.FirstResponseDays, TriageDays: DefaultPolicy.TriageDays, FixDays: map[string]int{}}
	for k, v := range DefaultPolicy.FixDays {
		p.FixDays[k] = v
	}
	if s == "" {
		return p, nil
	}
	var in struct {
		FirstResponseDays int            `json:"first_response_days"`
		TriageDays        int            `json:"triage_days"`
		FixDays           map[string]int `json:"fix_days"`
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return Policy{}, fmt.Errorf("SLA policy: %w", err)
	}
	if in.FirstResponseDays > 0 {
		p.FirstResponseDays = in.FirstResponseDays
	}
	if in.TriageDays > 0 {
		p.TriageDays = in.TriageDays
	}
	for k, v := range in.FixDays {
		p.FixDays[k] = v
	}
	return p, p.Check()
}

// Ratings are the CVSS ratings fix days are set by.
var Ratings = []string{"Critical", "High", "Medium", "Low", "None"}

// Check returns every problem with a policy at once.
func (p Policy) Check() error {
	probs := patchday.Problems{}
	ok := func(n int) bool { return n >= 1 && n <= 365 }
	if !ok(p.FirstResponseDays) {
		probs.Add("first_response_days", "must be from 1 to 365 business days")
	}
	if !ok(p.TriageDays) {
		probs.Add("triage_days", "must be from 1 to 365 business days")
	}
	for k, v := range p.FixDays {
		if !slices.Contains(Ratings, k) {
			probs.Add("fix_days", fmt.Sprintf("%q is not a rating (ratings: %s)", k, strings.Join(Ratings, ", ")))
		} else if !ok(v) {
			probs.Add("fix_days", fmt.Sprintf("%s: must be from 1 to 365 business days", k))
		}
	}
	return probs.Err("the SLA policy is not valid")
}

// JSON is the policy as stored.
func (p Policy) JSON() string {
	b, _ := json.Marshal(struct {
		FirstResponseDays int            `json:"first_response_days"`
		TriageDays        int            `json:"triage_days"`
		FixDays           map[string]int `json:"fix_days"`
	}{p.FirstResponseDays, p.TriageDays, p.FixDays})
	return string(b)
}
