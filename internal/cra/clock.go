// Package cra runs the reporting clocks of the EU Cyber Resilience Act,
// Article 14: a manufacturer that becomes aware of an actively exploited
// vulnerability or a severe incident in its product sends the CSIRT an
// early warning within 24 hours, a notification within 72 hours, and a
// final report 14 days after a corrective or mitigating measure is
// available (for a severe incident: one month after the notification).
// It computes deadlines and reminders and drafts each report from the
// case; it knows nothing of HTTP or SQL.
package cra

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the organisation's time zone must load on machines without a zone database

	"github.com/patchday/patchday"
)

// Kind is what is reported.
type Kind string

// The kinds of report.
const (
	ExploitedVulnerability Kind = "exploited-vulnerability"
	SevereIncident         Kind = "severe-incident"
)

// Stage is one of the three reports.
type Stage string

// The stages, in order.
const (
	EarlyWarning Stage = "early-warning"
	Notification Stage = "notification"
	FinalReport  Stage = "final-report"
)

// Stages lists the stages in order.
var Stages = []Stage{EarlyWarning, Notification, FinalReport}

// Title names a stage for people.
func (s Stage) Title() string {
	switch s {
	case EarlyWarning:
		return "Early warning"
	case Notification:
		return "Notification"
	case FinalReport:
		return "Final report"
	}
	return string(s)
}

// Facts are what the clocks are computed from.
type Facts struct {
	Kind    Kind
	AwareAt time.Time
	// MeasureAt is when a corrective or mitigating measure became
	// available (the fix's release published, or a mitigation recorded);
	// zero until then. It starts a vulnerability's final-report clock.
	MeasureAt time.Time
	// Submitted is when each stage was submitted; zero if not yet.
	Submitted map[Stage]time.Time
}

// Clock is one stage's deadline.
type Clock struct {
	Stage       Stage
	Start       time.Time // zero: not started yet
	Due         time.Time // zero while not started
	SubmittedAt time.Time // zero while running: submission stops the clock
	Waiting     string    // while not started, what starts it
}

// Started reports whether the clock runs (or ran).
func (c Clock) Started() bool { return !c.Start.IsZero() }

// Running reports whether the clock is counting: started, not submitted.
func (c Clock) Running() bool { return c.Started() && c.SubmittedAt.IsZero() }

// Left is the time to the deadline (negative when overdue).
func (c Clock) Left(now time.Time) time.Duration { return c.Due.Sub(now) }

// Overdue reports whether a running clock is past its deadline.
func (c Clock) Overdue(now time.Time) bool { return c.Running() && now.After(c.Due) }

// Late reports whether a submitted stage went in after its deadline.
func (c Clock) Late() bool { return !c.SubmittedAt.IsZero() && c.SubmittedAt.After(c.Due) }

// Clocks computes the three deadlines. The 24- and 72-hour limits are
// elapsed time from awareness; the 14-day and one-month limits are
// calendar days in loc (the organisation's time zone), so a deadline
// keeps its wall-clock time across a change of summer time.
func Clocks(f Facts, loc *time.Location) []Clock {
	if loc == nil {
		loc = time.UTC
	}
	early := Clock{Stage: EarlyWarning, Start: f.AwareAt, Due: f.AwareAt.Add(24 * time.Hour), SubmittedAt: f.Submitted[EarlyWarning]}
	note := Clock{Stage: Notification, Start: f.AwareAt, Due: f.AwareAt.Add(72 * time.Hour), SubmittedAt: f.Submitted[Notification]}
	final := Clock{Stage: FinalReport, SubmittedAt: f.Submitted[FinalReport]}
	switch f.Kind {
	case SevereIncident:
		if n := f.Submitted[Notification]; !n.IsZero() {
			final.Start, final.Due = n, addMonth(n.In(loc))
		} else {
			final.Waiting = "starts when the notification is submitted"
		}
	default:
		if !f.MeasureAt.IsZero() {
			final.Start, final.Due = f.MeasureAt, f.MeasureAt.In(loc).AddDate(0, 0, 14)
		} else {
			final.Waiting = "starts when the fix or a mitigation is published"
		}
	}
	for _, c := range []*Clock{&early, &note, &final} {
		if c.Started() {
			c.Start, c.Due = c.Start.UTC(), c.Due.UTC()
		}
	}
	return []Clock{early, note, final}
}

// addMonth is the same day next month at the same wall-clock time, or
// the month's last day when it has no such day (31 January → 28 February):
// "one month after" never runs into the month after that.
func addMonth(t time.Time) time.Time {
	y, m, d := t.Date()
	next := time.Date(y, m+1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := next.AddDate(0, 1, -1).Day()
	return time.Date(next.Year(), next.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// ParseAware reads when the organisation became aware: RFC 3339 with an
// offset, or a local date and time as a browser's datetime-local field
// sends it (2026-10-25T23:30), read in loc. A local time that does not
// exist there (the clocks jumped over it) is refused; one that happened
// twice (the clocks went back) is taken as the earlier, so no deadline is
// computed late — the second result says so.
func ParseAware(s string, loc *time.Location) (time.Time, string, error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), "", nil
	}
	var wall, t time.Time // as written, and as read in loc
	var err error
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if wall, err = time.Parse(layout, s); err == nil {
			t, err = time.ParseInLocation(layout, s, loc)
			break
		}
	}
	if err != nil {
		return time.Time{}, "", patchday.Errorf(patchday.ErrInvalid, "write when you became aware as 2026-10-25T23:30 (%s) or with an offset, 2026-10-25T23:30:00+01:00", loc)
	}
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	same := func(e time.Time) bool {
		return e.Hour() == h && e.Minute() == mi && e.Second() == sec && e.Day() == d && e.Month() == mo && e.Year() == y
	}
	// A time in a gap comes back moved.
	if !same(t) {
		return time.Time{}, "", patchday.Errorf(patchday.ErrInvalid, "%s did not happen in %s: the clocks jumped over it; give the time with its offset", s, loc)
	}
	// Another instant an hour (or half an hour) away with the same
	// wall-clock reading means the time happened twice.
	for _, shift := range []time.Duration{time.Hour, 30 * time.Minute} {
		earlier := t
		if e := t.Add(-shift).In(loc); same(e) {
			earlier = e
		} else if !same(t.Add(shift).In(loc)) {
			continue
		}
		_, off := earlier.Zone()
		return earlier.UTC(), fmt.Sprintf("%s happened twice in %s (the clocks went back); the earlier, UTC%s, was taken", s, loc, offset(off)), nil
	}
	return t.UTC(), "", nil
}

func offset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	return fmt.Sprintf("%s%02d:%02d", sign, seconds/3600, seconds%3600/60)
}

// Point is when before a deadline a reminder goes out: a fraction of
// the clock's span (half-time) or a time before it.
type Point struct {
	Fraction float64       // 0 < f < 1, or 0
	Before   time.Duration // > 0, or 0
}

// String writes a point as ParsePoints reads it.
func (p Point) String() string {
	if p.Fraction > 0 {
		return strconv.FormatFloat(p.Fraction*100, 'f', -1, 64) + "%"
	}
	d := p.Before.String() // 1h30m0s
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}

// At is when the point falls on a clock.
func (p Point) At(c Clock) time.Time {
	if p.Fraction > 0 {
		return c.Start.Add(time.Duration(float64(c.Due.Sub(c.Start)) * p.Fraction))
	}
	return c.Due.Add(-p.Before)
}

// DefaultPoints is half-time and two hours before each deadline.
const DefaultPoints = "50%,2h"

// ParsePoints reads reminder points such as "50%,2h,30m": percentages of
// each clock's span, or durations before its deadline.
func ParsePoints(s string) ([]Point, error) {
	var out []Point
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p Point
		if num, ok := strings.CutSuffix(f, "%"); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !(v > 0 && v < 100) {
				return nil, fmt.Errorf("reminder %q: a percentage of the clock is between 0 and 100, exclusive (e.g. 50%%)", f)
			}
			p.Fraction = v / 100
		} else {
			d, err := time.ParseDuration(f)
			if err != nil || d <= 0 || d > 30*24*time.Hour {
				return nil, fmt.Errorf("reminder %q: write a percentage (50%%) or a time before the deadline (2h, 30m), up to 720h", f)
			}
			p.Before = d
		}
		for _, q := range out {
			if q == p {
				return nil, fmt.Errorf("reminder %q is given twice", f)
			}
		}
		out = append(out, p)
	}
	if len(out) > 10 {
		return nil, fmt.Errorf("at most 10 reminder points")
	}
	return out, nil
}

// Due is a reminder that falls due.
type Due struct {
	Stage  Stage
	Point  string   // the point's name, or "overdue"
	Covers []string // every point it stands for (mark them all sent)
	Left   time.Duration
}

// Overdue names the reminder sent when a deadline passes.
const Overdue = "overdue"

// Reminders returns, for each running clock, the latest reminder point
// that has passed and not been sent (sent reports whether it was): a
// clock started late sends one reminder, not all it missed. Passing the
// deadline is a reminder of its own.
func Reminders(clocks []Clock, points []Point, now time.Time, sent func(Stage, string) bool) []Due {
	var out []Due
	for _, c := range clocks {
		if !c.Running() {
			continue
		}
		var latest string
		var latestAt time.Time
		var passed []string
		consider := func(name string, at time.Time) {
			if now.Before(at) || at.Before(c.Start) || sent(c.Stage, name) {
				return
			}
			passed = append(passed, name)
			if latest == "" || at.After(latestAt) {
				latest, latestAt = name, at
			}
		}
		for _, p := range points {
			consider(p.String(), p.At(c))
		}
		consider(Overdue, c.Due)
		if latest != "" {
			out = append(out, Due{Stage: c.Stage, Point: latest, Covers: passed, Left: c.Left(now)})
		}
	}
	return out
}
