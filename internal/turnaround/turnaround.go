// Package turnaround computes how fast vulnerability reports are handled,
// from the audited transitions of each case alone — never from numbers
// anyone typed in: the time from the report to each milestone, the time
// spent in each state, and, per period, product and severity, the median
// and 90th percentile of each milestone, in calendar days and in business
// days.
package turnaround

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/patchday/patchday/internal/cases"
)

// Milestone is a point every handled case passes: the first time the case
// reached one of its states.
type Milestone struct {
	Name   string
	States []cases.State
}

// Milestones in the order a case reaches them. "First response" is what
// the first-response SLA clock counts; a fix is ready when every affected
// version has one and the case goes to testing; the gate passed when an
// independent tester sent it on; the researcher verified when the case was
// scheduled.
var Milestones = []Milestone{
	{"first response", []cases.State{cases.Triage, cases.NeedsInfo, cases.Invalid, cases.Duplicate, cases.AcceptedRisk, cases.Accepted}},
	{"triaged", []cases.State{cases.Accepted, cases.Invalid, cases.Duplicate, cases.AcceptedRisk}},
	{"fix ready", []cases.State{cases.Testing}},
	{"gate passed", []cases.State{cases.Verifying}},
	{"researcher verified", []cases.State{cases.Scheduled}},
	{"released", []cases.State{cases.Released}},
}

// Case is what the figures need of one case.
type Case struct {
	Ref      string
	Product  string // "" when no product is known
	Severity string // the triaged rating ("Critical", …); "" before triage
	Opened   time.Time
	Moves    []cases.Move // oldest first
	Clocks   []cases.Clock
}

// Reached returns when the case first reached the milestone.
func (c Case) Reached(m Milestone) (time.Time, bool) {
	for _, mv := range c.Moves {
		if slices.Contains(m.States, mv.To) {
			return mv.At, true
		}
	}
	return time.Time{}, false
}

// Span is a length of time in both views.
type Span struct {
	Calendar time.Duration
	Business time.Duration // Monday to Friday, UTC
}

// Days returns the span in days of the view asked for.
func (s Span) Days(business bool) float64 {
	d := s.Calendar
	if business {
		d = s.Business
	}
	return d.Hours() / 24
}

// Between returns the span from a to b.
func Between(a, b time.Time) Span {
	if !b.After(a) {
		return Span{}
	}
	return Span{Calendar: b.Sub(a), Business: BusinessDuration(a, b)}
}

// BusinessDuration is the part of [a, b) that falls on a weekday (Monday to
// Friday, UTC), the same business days the SLA clocks count.
func BusinessDuration(a, b time.Time) time.Duration {
	a, b = a.UTC(), b.UTC()
	var total time.Duration
	for a.Before(b) {
		next := time.Date(a.Year(), a.Month(), a.Day()+1, 0, 0, 0, 0, time.UTC)
		end := next
		if b.Before(end) {
			end = b
		}
		if wd := a.Weekday(); wd != time.Saturday && wd != time.Sunday {
			total += end.Sub(a)
		}
		a = next
	}
	return total
}

// InStates returns how long the case spent in each state, up to now for
// the state it is in.
func (c Case) InStates(now time.Time) map[cases.State]Span {
	out := map[cases.State]Span{}
	from, at := cases.Received, c.Opened
	add := func(s cases.State, a, b time.Time) {
		sp := Between(a, b)
		t := out[s]
		t.Calendar += sp.Calendar
		t.Business += sp.Business
		out[s] = t
	}
	for _, m := range c.Moves {
		if !terminal(from) {
			add(from, at, m.At)
		}
		from, at = m.To, m.At
	}
	if !terminal(from) {
		add(from, at, now)
	}
	return out
}

// terminal states hold a case for good: time there is not handling time.
func terminal(s cases.State) bool {
	switch s {
	case cases.Released, cases.Closed, cases.Invalid, cases.Duplicate, cases.AcceptedRisk, cases.Withdrawn:
		return true
	}
	return false
}

// Stats summarises durations (in days).
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median_days"`
	P90    float64 `json:"p90_days"`
	Max    float64 `json:"max_days"`
}

// Summarise returns the count, median, 90th percentile and maximum of
// days. The median of an even count is the mean of the middle two; the
// 90th percentile is the nearest rank (the ⌈0.9·n⌉-th smallest), so it is
// always a value that occurred.
func Summarise(days []float64) Stats {
	if len(days) == 0 {
		return Stats{}
	}
	s := slices.Clone(days)
	slices.Sort(s)
	n := len(s)
	st := Stats{N: n, Max: s[n-1], P90: s[int(math.Ceil(0.9*float64(n)))-1]}
	if n%2 == 1 {
		st.Median = s[n/2]
	} else {
		st.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return st
}

// Key groups cases: a period (by the month they were reported, "2026-03"),
// a product and a severity; "" in a field means all of them.
type Key struct {
	Period   string `json:"period"`
	Product  string `json:"product"`
	Severity string `json:"severity"`
}

// Row is one group's figures: per milestone, the time from the report.
type Row struct {
	Key
	Cases      int              `json:"cases"`
	Milestones map[string]Stats `json:"milestones"`
	Breaches   map[string]int   `json:"sla_breaches"` // by clock name
}

// Report is the whole set of figures as of At.
type Report struct {
	At       time.Time `json:"at"`
	Business bool      `json:"business_days"`
	Rows     []Row     `json:"rows"`
	// Where the days go: per state, the days all cases spent in it,
	// heaviest first.
	States []StateTime `json:"states"`
}

// StateTime is the time cases spent in one state.
type StateTime struct {
	State     cases.State `json:"state"`
	Cases     int         `json:"cases"`
	TotalDays float64     `json:"total_days"`
	Days      Stats       `json:"days"`
}

// What a case without a product or a rating is grouped under ("" in a Key
// means all of them).
const (
	NoProduct = "(no product)"
	NotRated  = "(not rated)"
)

// Period is the month a time falls in (UTC), "2006-01".
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// Compute groups the cases by period (the month each was reported) and
// product and severity, and by each of those alone, and computes the
// figures of every group, in calendar days or business days.
func Compute(cs []Case, now time.Time, business bool) Report {
	type acc struct {
		cases    int
		days     map[string][]float64
		breaches map[string]int
	}
	groups := map[Key]*acc{}
	get := func(k Key) *acc {
		a := groups[k]
		if a == nil {
			a = &acc{days: map[string][]float64{}, breaches: map[string]int{}}
			groups[k] = a
		}
		return a
	}
	perState := map[cases.State][]float64{}
	for _, c := range cs {
		p, prod, sev := Period(c.Opened), cmp.Or(c.Product, NoProduct), cmp.Or(c.Severity, NotRated)
		keys := []Key{{}, {Period: p}, {Product: prod}, {Severity: sev}, {Period: p, Product: prod, Severity: sev}}
		var spans []struct {
			name string
			days float64
		}
		for _, m := range Milestones {
			if at, ok := c.Reached(m); ok {
				spans = append(spans, struct {
					name string
					days float64
				}{m.Name, Between(c.Opened, at).Days(business)})
			}
		}
		for _, k := range keys {
			a := get(k)
			a.cases++
			for _, sp := range spans {
				a.days[sp.name] = append(a.days[sp.name], sp.days)
			}
			for _, cl := range c.Clocks {
				if cl.Overdue {
					a.breaches[cl.Name]++
				}
			}
		}
		for s, sp := range c.InStates(now) {
			perState[s] = append(perState[s], sp.Days(business))
		}
	}
	r := Report{At: now, Business: business}
	for k, a := range groups {
		row := Row{Key: k, Cases: a.cases, Milestones: map[string]Stats{}, Breaches: a.breaches}
		for name, ds := range a.days {
			row.Milestones[name] = Summarise(ds)
		}
		r.Rows = append(r.Rows, row)
	}
	slices.SortFunc(r.Rows, func(x, y Row) int {
		return cmp.Or(cmp.Compare(x.Period, y.Period), cmp.Compare(x.Product, y.Product), cmp.Compare(x.Severity, y.Severity))
	})
	for s, ds := range perState {
		total := 0.0
		for _, d := range ds {
			total += d
		}
		r.States = append(r.States, StateTime{State: s, Cases: len(ds), TotalDays: total, Days: Summarise(ds)})
	}
	slices.SortFunc(r.States, func(x, y StateTime) int {
		return cmp.Or(cmp.Compare(y.TotalDays, x.TotalDays), cmp.Compare(x.State, y.State))
	})
	return r
}
