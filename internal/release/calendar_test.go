package release_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/release"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func dates(ts []time.Time) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format("2006-01-02 15:04 Mon MST"))
	}
	return strings.Join(out, ", ")
}

func TestDefaultSchedule(t *testing.T) {
	s, err := release.ParseSchedule(release.DefaultRule, false, now)
	if err != nil {
		t.Fatal(err)
	}
	got := dates(s.Next(now, 4))
	want := "2026-12-08 17:00 Tue UTC, 2027-01-12 17:00 Tue UTC, 2027-02-09 17:00 Tue UTC, 2027-03-09 17:00 Tue UTC"
	if got != want {
		t.Errorf("Next = %s\nwant %s", got, want)
	}
}

// TestTimeZoneAndDST: a train at 17:00 Berlin time stays at 17:00 local
// across daylight saving, so its UTC time moves.
func TestTimeZoneAndDST(t *testing.T) {
	s, err := release.ParseSchedule("DTSTART;TZID=Europe/Berlin:20260113T170000\nRRULE:FREQ=MONTHLY;BYDAY=+2TU", false, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range s.Between(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)) {
		got = append(got, d.Format("2006-01-02 15:04 MST")+" = "+d.UTC().Format("15:04Z"))
	}
	want := "2027-02-09 17:00 CET = 16:00Z, 2027-03-09 17:00 CET = 16:00Z, 2027-04-13 17:00 CEST = 15:00Z"
	if strings.Join(got, ", ") != want {
		t.Errorf("Berlin train: %s\nwant %s", strings.Join(got, ", "), want)
	}
}

func TestRefusedRules(t *testing.T) {
	tests := []struct {
		rule string
		want string
	}{
		{"DTSTART:20260105T170000Z\nRRULE:FREQ=MONTHLY;BYDAY=+1MO", "a Monday"},
		{"DTSTART:20260113T170000Z\nRRULE:FREQ=MONTHLY;BYMONTHDAY=13", "releases go out Tuesday to Thursday"},
		// 23:30 Thursday in New York is Friday in UTC, but the rule's own day counts: accepted below.
		{"RRULE:FREQ=WEEKLY;BYDAY=WE", "needs a DTSTART line"},
		{"DTSTART:20200101T170000Z\nRRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=3", "no release date"},
		{"", "give a recurrence rule"},
		{"DTSTART:20260113T170000Z", "needs an RRULE line"},
		{"DTSTART:20260113T170000Z\nRRULE:FREQ=SOMETIMES", "not an RFC 5545 recurrence"},
		{strings.Repeat("x", 2000), "give a recurrence rule"},
	}
	for _, tt := range tests {
		_, err := release.ParseSchedule(tt.rule, false, now)
		if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%q): %v; want ErrInvalid containing %q", tt.rule, err, tt.want)
		}
	}
	if _, err := release.ParseSchedule("DTSTART:20260105T170000Z\nRRULE:FREQ=MONTHLY;BYDAY=+1MO", true, now); err != nil {
		t.Errorf("a Monday rule, forced: %v", err)
	}
	if _, err := release.ParseSchedule("DTSTART;TZID=America/New_York:20260108T233000\nRRULE:FREQ=MONTHLY;BYDAY=+2TH", false, now); err != nil {
		t.Errorf("Thursday 23:30 in New York (Friday in UTC) is mid-week where it is released: %v", err)
	}
}

func TestICS(t *testing.T) {
	s, _ := release.ParseSchedule(release.DefaultRule, false, now)
	var entries []release.Entry
	for _, d := range s.Next(now, 3) {
		entries = append(entries, release.Entry{UID: release.TrainUID(d, "security.example.com"), Start: d,
			Summary: "Example Corp security release", Description: "Products: Gateway; highest severity: Critical, with commas; and semicolons",
			URL: "https://security.example.com/advisories"})
	}
	out := release.ICS("Example Corp security releases", entries, now)
	if !strings.HasPrefix(out, "BEGIN:VCALENDAR\r\n") || !strings.Contains(out, "\r\nEND:VCALENDAR") {
		t.Fatalf("not an iCalendar document:\n%s", out)
	}
	for _, line := range strings.Split(out, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets (RFC 5545 §3.1): %q", line)
		}
	}
	cal, err := ics.ParseCalendar(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	evs := cal.Events()
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	start, err := evs[0].GetStartAt()
	if err != nil || !start.Equal(time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("first event starts %v, %v", start, err)
	}
	if d := evs[0].GetProperty(ics.ComponentPropertyDescription); d == nil || !strings.Contains(d.Value, "with commas; and semicolons") {
		t.Errorf("description did not round-trip: %+v", d)
	}
	if evs[0].Id() != "release-20261208T1700Z@security.example.com" {
		t.Errorf("UID %q", evs[0].Id())
	}
}

func FuzzParseSchedule(f *testing.F) {
	f.Add(release.DefaultRule)
	f.Add("DTSTART;TZID=Europe/Berlin:20260113T170000\nRRULE:FREQ=MONTHLY;BYDAY=+2TU")
	f.Add("RRULE:FREQ=WEEKLY;BYDAY=WE;INTERVAL=2")
	f.Fuzz(func(t *testing.T, rule string) {
		s, err := release.ParseSchedule(rule, false, now)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("refusal of %q is not ErrInvalid: %v", rule, err)
			}
			return
		}
		for _, d := range s.Next(now, 5) {
			if wd := d.Weekday(); wd < time.Tuesday || wd > time.Thursday {
				t.Fatalf("accepted rule %q yields a %s", rule, wd)
			}
		}
	})
}
