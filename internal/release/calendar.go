// Package release plans and publishes the vendor's releases: the monthly,
// mid-week train and out-of-band releases, embargo until release time, and
// the advisories and calendar administrators plan their downtime by.
package release

import (
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/teambition/rrule-go"

	"github.com/patchday/patchday"
)

// DefaultRule is the train: the second Tuesday of every month, 17:00 UTC.
const DefaultRule = "DTSTART:20260113T170000Z\nRRULE:FREQ=MONTHLY;BYDAY=+2TU"

// Schedule is the release train's recurrence (RFC 5545).
type Schedule struct {
	text string
	set  *rrule.Set
}

// horizon is how far ahead a rule is checked for weekend-ish dates.
const horizon = 3 * 365 * 24 * time.Hour

// maxRule bounds a rule's text.
const maxRule = 1000

// midweek reports whether a release on this day gets installed: Tuesday to
// Thursday, when administrators are at work before and after it.
func midweek(d time.Weekday) bool { return d >= time.Tuesday && d <= time.Thursday }

// ParseSchedule reads an RFC 5545 recurrence (DTSTART and RRULE lines, as
// in DefaultRule; DTSTART may carry a TZID). It refuses a rule that yields
// a Friday, Saturday, Sunday or Monday (in its own time zone) within the
// next three years from now, unless force is set.
func ParseSchedule(text string, force bool, now time.Time) (Schedule, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if text == "" || len(text) > maxRule {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "give a recurrence rule such as %q", DefaultRule)
	}
	upper := strings.ToUpper(text)
	if !strings.Contains(upper, "RRULE") {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "the rule needs an RRULE line, e.g. %q", DefaultRule)
	}
	// Without DTSTART the library would start from the moment of parsing,
	// and the train's time of day would be whatever that was.
	if !strings.Contains(upper, "DTSTART") {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "the rule needs a DTSTART line for the first release and its time of day, e.g. %q", DefaultRule)
	}
	set, err := rrule.StrToRRuleSet(text)
	if err != nil {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "not an RFC 5545 recurrence (%v); e.g. %q", err, DefaultRule)
	}
	s := Schedule{text: text, set: set}
	dates, err := s.between(now, now.Add(horizon))
	if err != nil {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "the rule cannot be expanded (%v); e.g. %q", err, DefaultRule)
	}
	if len(dates) == 0 {
		return Schedule{}, patchday.Errorf(patchday.ErrInvalid, "the rule yields no release date in the next three years")
	}
	if !force {
		for _, d := range dates {
			if !midweek(d.Weekday()) {
				return Schedule{}, patchday.Errorf(patchday.ErrInvalid,
					"the rule yields %s, a %s: releases go out Tuesday to Thursday, when administrators are at work to install "+
						"them and to deal with what breaks; force the rule to allow it anyway", d.Format("2006-01-02 15:04 MST"), d.Weekday())
			}
		}
	}
	return s, nil
}

// String is the rule as given.
func (s Schedule) String() string { return s.text }

// between expands the rule, turning a panic inside rrule-go (which fuzzing
// found on some odd rules) into an error.
func (s Schedule) between(from, to time.Time) (dates []time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			dates, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return s.set.Between(from, to, true), nil
}

// Between returns the release dates after from and up to to.
func (s Schedule) Between(from, to time.Time) []time.Time {
	dates, _ := s.between(from, to)
	return dates
}

// Next returns the next n release dates after t.
func (s Schedule) Next(t time.Time, n int) (out []time.Time) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	for len(out) < n {
		d := s.set.After(t, false)
		if d.IsZero() {
			break
		}
		out = append(out, d)
		t = d
	}
	return out
}

// Entry is one release date on the published calendar.
type Entry struct {
	UID         string
	Start       time.Time
	Summary     string
	Description string
	URL         string
}

// ICS renders the calendar as iCalendar (RFC 5545) for calendar programs.
// Each entry lasts an hour, the time an administrator should keep free to
// start the month's installs.
func ICS(name string, entries []Entry, now time.Time) string {
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//patchday//release calendar//EN")
	cal.SetName(name)
	cal.SetXWRCalName(name)
	cal.SetRefreshInterval("PT12H")
	for _, e := range entries {
		ev := cal.AddEvent(e.UID)
		ev.SetDtStampTime(now.UTC())
		ev.SetStartAt(e.Start.UTC())
		ev.SetEndAt(e.Start.UTC().Add(time.Hour))
		ev.SetSummary(e.Summary)
		if e.Description != "" {
			ev.SetDescription(e.Description)
		}
		if e.URL != "" {
			ev.SetURL(e.URL)
		}
	}
	// RFC 5545 §3.1 ends lines with CRLF; the library defaults to LF.
	return cal.Serialize(ics.WithNewLineWindows)
}

// TrainUID names a train date's calendar entry: stable, so calendar
// programs update the entry when its details appear.
func TrainUID(d time.Time, host string) string {
	return fmt.Sprintf("release-%s@%s", d.UTC().Format("20060102T1504Z"), host)
}
