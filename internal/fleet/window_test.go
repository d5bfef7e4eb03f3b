package fleet

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"

	"github.com/patchday/patchday"
)

func utc(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

func mustWindow(t *testing.T, rule string, d time.Duration, tz string) Window {
	t.Helper()
	w, err := ParseWindow(rule, d, tz)
	if err != nil {
		t.Fatalf("ParseWindow(%q, %s, %q): %v", rule, d, tz, err)
	}
	return w
}

// at formats what At returns, in UTC and in the window's zone.
func at(w Window, t time.Time) string {
	start, end, open := w.At(t)
	if start.IsZero() {
		return "none"
	}
	state := "next"
	if open {
		state = "open"
	}
	return state + " " + start.UTC().Format("2006-01-02T15:04Z") + " (" + start.Format("15:04 MST") + ") to " + end.UTC().Format("15:04Z")
}

// TestWindowDST checks where windows fall when the clocks change: a wall
// time in the spring-forward gap is read with the offset before the gap
// (RFC 5545), one that happens twice means the first, and Duration is
// elapsed time.
func TestWindowDST(t *testing.T) {
	tests := []struct {
		name     string
		rule, tz string
		d        time.Duration
		t        time.Time
		want     string
	}{
		// Berlin springs forward on 2026-03-29 at 02:00 CET to 03:00 CEST.
		{"berlin gap, before", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 3, 29, 1, 29), "next 2026-03-29T01:30Z (03:30 CEST) to 02:30Z"},
		{"berlin gap, at start", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 3, 29, 1, 30), "open 2026-03-29T01:30Z (03:30 CEST) to 02:30Z"},
		{"berlin gap, last second", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 3, 29, 2, 29).Add(59 * time.Second), "open 2026-03-29T01:30Z (03:30 CEST) to 02:30Z"},
		{"berlin gap, at end", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 3, 29, 2, 30), "next 2026-04-05T00:30Z (02:30 CEST) to 01:30Z"},
		{"berlin gap, week before", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 3, 22, 1, 45), "open 2026-03-22T01:30Z (02:30 CET) to 02:30Z"},
		// Berlin falls back on 2026-10-25 at 03:00 CEST to 02:00 CET: 02:30 happens twice.
		{"berlin overlap, first", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 10, 25, 0, 0), "next 2026-10-25T00:30Z (02:30 CEST) to 01:30Z"},
		{"berlin overlap, second 02:30 is inside", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 10, 25, 1, 29), "open 2026-10-25T00:30Z (02:30 CEST) to 01:30Z"},
		{"berlin overlap, after", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 10, 25, 1, 30), "next 2026-11-01T01:30Z (02:30 CET) to 02:30Z"},
		{"berlin 01:30 on fall-back day is unambiguous", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", "Europe/Berlin", time.Hour,
			utc(2026, 10, 24, 12, 0), "next 2026-10-24T23:30Z (01:30 CEST) to 00:30Z"},
		// New York springs forward on 2026-03-08 at 02:00 EST to 03:00 EDT
		// and falls back on 2026-11-01 at 02:00 EDT to 01:00 EST.
		{"new york gap", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "America/New_York", time.Hour,
			utc(2026, 3, 8, 0, 0), "next 2026-03-08T07:30Z (03:30 EDT) to 08:30Z"},
		{"new york gap, an hour early is closed", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "America/New_York", time.Hour,
			utc(2026, 3, 8, 6, 45), "next 2026-03-08T07:30Z (03:30 EDT) to 08:30Z"},
		{"new york overlap, first", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", "America/New_York", time.Hour,
			utc(2026, 11, 1, 5, 0), "next 2026-11-01T05:30Z (01:30 EDT) to 06:30Z"},
		{"new york overlap, second 01:30 is inside", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", "America/New_York", time.Hour,
			utc(2026, 11, 1, 6, 29), "open 2026-11-01T05:30Z (01:30 EDT) to 06:30Z"},
		{"new york overlap, over", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", "America/New_York", time.Hour,
			utc(2026, 11, 1, 6, 30), "next 2026-11-08T06:30Z (01:30 EST) to 07:30Z"},
		{"new york duration is elapsed", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=0", "America/New_York", 4 * time.Hour,
			utc(2026, 11, 1, 7, 59), "open 2026-11-01T04:00Z (00:00 EDT) to 08:00Z"},
		// Sydney (southern hemisphere) falls back on 2026-04-05 at 03:00
		// AEDT to 02:00 AEST and springs forward on 2026-10-04 at 02:00 AEST.
		{"sydney overlap", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Australia/Sydney", time.Hour,
			utc(2026, 4, 4, 12, 0), "next 2026-04-04T15:30Z (02:30 AEDT) to 16:30Z"},
		{"sydney gap", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "Australia/Sydney", time.Hour,
			utc(2026, 10, 3, 12, 0), "next 2026-10-03T16:30Z (03:30 AEDT) to 17:30Z"},
		// Kolkata is UTC+05:30 all year.
		{"kolkata half hour", "FREQ=DAILY;BYHOUR=2", "Asia/Kolkata", 2 * time.Hour,
			utc(2026, 7, 1, 21, 0), "open 2026-07-01T20:30Z (02:00 IST) to 22:30Z"},
		{"utc", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=3", "", time.Hour,
			utc(2026, 1, 15, 0, 0), "next 2026-02-01T03:00Z (03:00 UTC) to 04:00Z"},
		{"none within 400 days", "DTSTART:20260103T020000\nRRULE:FREQ=WEEKLY;COUNT=2", "", time.Hour,
			utc(2026, 2, 1, 0, 0), "none"},
		{"past its DTSTART's count", "DTSTART:20260103T020000\nRRULE:FREQ=WEEKLY;COUNT=2", "", time.Hour,
			utc(2026, 1, 9, 0, 0), "next 2026-01-10T02:00Z (02:00 UTC) to 03:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWindow(t, tt.rule, tt.d, tt.tz)
			if got := at(w, tt.t); got != tt.want {
				t.Errorf("At(%s) = %s\nwant %s", tt.t.Format(time.RFC3339), got, tt.want)
			}
		})
	}
}

// TestWindowKeepsWallClock: a weekly Saturday 02:00 window in Berlin stays
// at 02:00 local while its UTC time moves by an hour, both ways.
func TestWindowKeepsWallClock(t *testing.T) {
	w := mustWindow(t, "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", 4*time.Hour, "Europe/Berlin")
	var got []string
	for _, from := range []time.Time{utc(2026, 3, 16, 0, 0), utc(2026, 10, 19, 0, 0)} {
		t0 := from
		for range 3 {
			start, _, _ := w.At(t0)
			got = append(got, start.Format("01-02 15:04 MST")+" = "+start.UTC().Format("15:04Z"))
			t0 = start.Add(w.Duration)
		}
	}
	want := []string{
		"03-21 02:00 CET = 01:00Z", "03-28 02:00 CET = 01:00Z", "04-04 02:00 CEST = 00:00Z",
		"10-24 02:00 CEST = 00:00Z", "10-31 02:00 CET = 01:00Z", "11-07 02:00 CET = 01:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("weekly starts (-want +got):\n%s", diff)
	}
}

func TestParseWindowRefuses(t *testing.T) {
	tests := []struct {
		name     string
		rule, tz string
		d        time.Duration
		want     map[string]string // field → part of the problem
	}{
		{"all at once", "FREQ=SOMETIMES", "Mars/Olympus", 0, map[string]string{
			"rule": "not an RFC 5545 recurrence", "duration": "e.g. 4h", "tz": `such as "Europe/Berlin"`}},
		{"no rule", "", "", time.Hour, map[string]string{"rule": "give a recurrence rule"}},
		{"long rule", "FREQ=DAILY;" + strings.Repeat("BYHOUR=1;", 120), "", time.Hour, map[string]string{"rule": "longer than 1000 bytes"}},
		{"negative", "FREQ=DAILY", "", -time.Hour, map[string]string{"duration": "how long"}},
		{"eight days", "FREQ=MONTHLY", "", 8 * 24 * time.Hour, map[string]string{"duration": "at most 7 days"}},
		{"local", "FREQ=DAILY", "Local", time.Hour, map[string]string{"tz": "unknown time zone"}},
		{"rdate", "DTSTART:20260103T020000\nRDATE:20260104T020000", "", time.Hour, map[string]string{"rule": "only DTSTART and RRULE"}},
		{"two rrules", "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "", time.Hour, map[string]string{"rule": "one RRULE"}},
		{"dtstart only", "DTSTART:20260103T020000", "", time.Hour, map[string]string{"rule": "needs an RRULE"}},
		{"dtstart in rrule", "FREQ=DAILY;DTSTART=20260103T020000", "", time.Hour, map[string]string{"rule": "line of its own"}},
		{"other tzid", "DTSTART;TZID=America/New_York:20260103T020000\nRRULE:FREQ=WEEKLY", "Europe/Berlin", time.Hour,
			map[string]string{"rule": "drop the TZID"}},
		{"z in a zone", "DTSTART:20260103T020000Z\nRRULE:FREQ=WEEKLY", "Europe/Berlin", time.Hour, map[string]string{"rule": "drop the Z"}},
		{"bad dtstart", "DTSTART:2026-01-03\nRRULE:FREQ=WEEKLY", "", time.Hour, map[string]string{"rule": "not a date-time"}},
		{"out of bounds", "FREQ=DAILY;BYHOUR=24", "", time.Hour, map[string]string{"rule": "byhour"}},
		{"never", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "", time.Hour, map[string]string{"rule": "no window in the 400 days"}},
		{"ended", "DTSTART:20000101T000000\nRRULE:FREQ=DAILY;UNTIL=19991231T000000", "", time.Hour, map[string]string{"rule": "no window"}},
		{"too often", "FREQ=MINUTELY;INTERVAL=30", "", time.Minute, map[string]string{"rule": "more than 24 windows a day"}},
		// rrule-go would look for these forever.
		{"unreachable minute", "FREQ=SECONDLY;INTERVAL=3600;BYMINUTE=30", "", time.Minute, map[string]string{"rule": "never yields a window"}},
		{"unreachable hour", "FREQ=HOURLY;INTERVAL=2;BYHOUR=3,5", "", time.Minute, map[string]string{"rule": "never yields a window"}},
		{"huge interval", "FREQ=WEEKLY;INTERVAL=2000000", "", time.Hour, map[string]string{"rule": "INTERVAL at most 1000000"}},
		{"early dtstart", "DTSTART:19691231T000000\nRRULE:FREQ=WEEKLY", "", time.Hour, map[string]string{"rule": "1970 or later"}},
		{"overlap", "FREQ=DAILY;BYHOUR=2", "", 24 * time.Hour, map[string]string{"duration": "windows would overlap"}},
		// Daily in Berlin is 23 hours apart when the clocks spring forward.
		{"overlap at dst", "FREQ=DAILY;BYHOUR=2", "Europe/Berlin", 23*time.Hour + 30*time.Minute, map[string]string{"duration": "and the next 23h0m0s later"}},
		{"two windows close", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=1,3", "", 2 * time.Hour, map[string]string{"duration": "windows would overlap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWindow(tt.rule, tt.d, tt.tz)
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			got := patchday.FieldErrors(err)
			if len(got) != len(tt.want) {
				t.Errorf("fields = %v, want %v", got, tt.want)
			}
			for field, part := range tt.want {
				if !strings.Contains(got[field], part) {
					t.Errorf("%s: %q, want it to contain %q", field, got[field], part)
				}
			}
		})
	}
}

func TestParseWindowAccepts(t *testing.T) {
	tests := []struct {
		rule, tz string
		t        time.Time
		want     string
	}{
		{"DTSTART;TZID=Europe/Berlin:20260103T020000\nRRULE:FREQ=WEEKLY", "Europe/Berlin", utc(2026, 1, 1, 0, 0),
			"next 2026-01-03T01:00Z (02:00 CET) to 03:00Z"},
		{"dtstart:20260103T020000z\r\nrrule:freq=weekly", "", utc(2026, 1, 1, 0, 0), "next 2026-01-03T02:00Z (02:00 UTC) to 04:00Z"},
		{"DTSTART;VALUE=DATE:20260105\nRRULE:FREQ=WEEKLY;", "UTC", utc(2026, 1, 6, 0, 0), "next 2026-01-12T00:00Z (00:00 UTC) to 02:00Z"},
		// Without DTSTART the rule starts on 2000-01-01 at midnight, so
		// an unset BYMINUTE is 0, whenever the rule is parsed.
		{"FREQ=DAILY;BYHOUR=22", "Asia/Kolkata", utc(2026, 5, 5, 0, 0), "next 2026-05-05T16:30Z (22:00 IST) to 18:30Z"},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=SA;BYHOUR=2", "", utc(2026, 1, 1, 0, 0), "next 2026-01-10T02:00Z (02:00 UTC) to 04:00Z"},
		{"FREQ=HOURLY;INTERVAL=2;BYHOUR=3,4;BYMINUTE=15", "", utc(2026, 1, 1, 0, 0), "next 2026-01-01T04:15Z (04:15 UTC) to 06:15Z"},
		// An UNTIL in UTC is an instant: 01:00Z is 02:00 in Berlin, so the
		// window at 02:00 on that day is the last.
		{"DTSTART:20260101T020000\nRRULE:FREQ=DAILY;UNTIL=20260105T010000Z", "Europe/Berlin", utc(2026, 1, 4, 12, 0),
			"next 2026-01-05T01:00Z (02:00 CET) to 03:00Z"},
		{"DTSTART:20260101T020000\nRRULE:FREQ=DAILY;UNTIL=20260105T010000Z", "Europe/Berlin", utc(2026, 1, 5, 12, 0), "none"},
	}
	for _, tt := range tests {
		w := mustWindow(t, tt.rule, 2*time.Hour, tt.tz)
		if got := at(w, tt.t); got != tt.want {
			t.Errorf("%q in %q: At(%s) = %s\nwant %s", tt.rule, tt.tz, tt.t.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestZeroWindow(t *testing.T) {
	for _, w := range []Window{{}, mustWindow(t, "", 0, "Europe/Berlin")} {
		start, end, open := w.At(utc(2026, 1, 1, 0, 0))
		if !w.IsZero() || !open || !start.IsZero() || !end.IsZero() || w.String() != "any time" {
			t.Errorf("%#v: IsZero %v, At = %v %v %v, String %q; want an always open window", w, w.IsZero(), start, end, open, w.String())
		}
	}
	if _, err := ParseWindow("", 0, "Nowhere/Land"); err == nil {
		t.Error("no window in an unknown zone: no error")
	}
}

func TestWindowString(t *testing.T) {
	got := mustWindow(t, "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2", 4*time.Hour, "Europe/Berlin").String()
	if want := "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2 for 4h0m0s (Europe/Berlin)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	got = mustWindow(t, "DTSTART:20260103T020000\nRRULE:FREQ=WEEKLY", time.Hour, "").String()
	if want := "DTSTART:20260103T020000 RRULE:FREQ=WEEKLY for 1h0m0s (UTC)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// TestHandBuiltWindow: a Window whose fields were set without ParseWindow
// (say, read from a database) still works, and one with a bad rule is
// never open.
func TestHandBuiltWindow(t *testing.T) {
	w := Window{Rule: "FREQ=DAILY;BYHOUR=2", Duration: time.Hour, TZ: "Europe/Berlin"}
	if got, want := at(w, utc(2026, 7, 1, 0, 30)), "open 2026-07-01T00:00Z (02:00 CEST) to 01:00Z"; got != want {
		t.Errorf("At = %s, want %s", got, want)
	}
	if _, _, open := (Window{Rule: "nonsense", Duration: time.Hour}).At(utc(2026, 7, 1, 0, 0)); open {
		t.Error("a window with a bad rule is open")
	}
}

func TestWindowJSON(t *testing.T) {
	w := mustWindow(t, "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2", 4*time.Hour, "Europe/Berlin")
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rule":"FREQ=WEEKLY;BYDAY=SA;BYHOUR=2","duration":"4h","tz":"Europe/Berlin"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var got Window
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != w.String() || at(got, utc(2026, 7, 4, 0, 30)) != at(w, utc(2026, 7, 4, 0, 30)) {
		t.Errorf("round trip: %v, want %v", got, w)
	}
	if b, _ := json.Marshal(Window{}); string(b) != "null" {
		t.Errorf("zero Window = %s, want null", b)
	}
	if err := json.Unmarshal([]byte(`{"rule":"FREQ=DAILY","duration":"0"}`), &got); !errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("zero duration: %v, want ErrInvalid", err)
	}
	if err := json.Unmarshal([]byte(`{"rule":"FREQ=DAILY","duration":"1h","zone":"UTC"}`), &got); err == nil {
		t.Error("unknown field: no error")
	}
}

// TestWindowConcurrent checks At from many goroutines at once (run with
// -race) against answers computed one at a time on a fresh window.
func TestWindowConcurrent(t *testing.T) {
	const rule = "FREQ=WEEKLY;BYDAY=TU,SA;BYHOUR=2;BYMINUTE=30"
	base := utc(2026, 1, 1, 0, 0)
	times := make([]time.Time, 400)
	for i := range times {
		// Back and forth over three years, so the cache is rebuilt often.
		times[i] = base.Add(time.Duration((i*7919)%(3*365*24)) * time.Hour)
	}
	serial := mustWindow(t, rule, 3*time.Hour, "America/New_York")
	want := make([]string, len(times))
	for i, tt := range times {
		want[i] = at(mustWindow(t, rule, 3*time.Hour, "America/New_York"), tt)
		if got := at(serial, tt); got != want[i] {
			t.Fatalf("cached At(%s) = %s, fresh %s", tt, got, want[i])
		}
	}
	w := mustWindow(t, rule, 3*time.Hour, "America/New_York")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range times {
				j := (i + g*50) % len(times)
				if got := at(w, times[j]); got != want[j] {
					t.Errorf("At(%s) = %s, want %s", times[j], got, want[j])
				}
			}
		})
	}
	wg.Wait()
}

// TestAtAgainstStarts checks At against a plain scan of the starts for many
// times around DST changes, window edges included.
func TestAtAgainstStarts(t *testing.T) {
	for _, c := range []struct {
		rule, tz string
		d        time.Duration
	}{
		{"FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "Europe/Berlin", 90 * time.Minute},
		{"FREQ=HOURLY;INTERVAL=5", "America/New_York", 2 * time.Hour},
		{"FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=1,2", "Australia/Sydney", 30 * time.Minute},
	} {
		w := mustWindow(t, c.rule, c.d, c.tz)
		lo, hi := utc(2025, 12, 1, 0, 0), utc(2027, 1, 1, 0, 0)
		all, err := w.s.starts(lo, hi.Add(horizon), 100000)
		if err != nil {
			t.Fatal(err)
		}
		for tt := lo.Add(maxWindow); tt.Before(hi); tt = tt.Add(17*time.Minute + 13*time.Second) {
			var want string
			i, _ := slices.BinarySearch(all, tt.Unix()+1)
			switch {
			case i > 0 && tt.Before(time.Unix(all[i-1], 0).Add(c.d)):
				want = "open " + time.Unix(all[i-1], 0).UTC().Format(time.RFC3339)
			case i < len(all):
				want = "next " + time.Unix(all[i], 0).UTC().Format(time.RFC3339)
			}
			start, end, open := w.At(tt)
			got := "next "
			if open {
				got = "open "
			}
			got += start.UTC().Format(time.RFC3339)
			if got != want || end.Sub(start) != c.d {
				t.Fatalf("%s: At(%s) = %s to %s, want %s", c.rule, tt.Format(time.RFC3339), got, end, want)
			}
		}
	}
}

// TestRebase: moving DTSTART forward for a quick expansion yields the
// same occurrences as walking from the original DTSTART.
func TestRebase(t *testing.T) {
	rules := []string{
		"FREQ=WEEKLY;BYDAY=SA;BYHOUR=2",
		"FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;WKST=SU;BYHOUR=2",
		"DTSTART:20030507T031500\nRRULE:FREQ=WEEKLY;INTERVAL=2",
		"DTSTART:20030531T031500\nRRULE:FREQ=MONTHLY;INTERVAL=5",
		"DTSTART:20040229T120000\nRRULE:FREQ=YEARLY;INTERVAL=3",
		"FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=MO",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=22",
		"DTSTART:20010101T071100\nRRULE:FREQ=DAILY;INTERVAL=9",
		"DTSTART:20010101T071100\nRRULE:FREQ=HOURLY;INTERVAL=7;BYDAY=WE",
		"DTSTART:20010101T071117\nRRULE:FREQ=MINUTELY;INTERVAL=997;BYHOUR=3,4",
		"DTSTART:20010101T071117\nRRULE:FREQ=SECONDLY;INTERVAL=86399;BYMONTH=6",
		"FREQ=YEARLY;BYEASTER=-2;BYHOUR=6",
		"DTSTART:20050101T000000\nRRULE:FREQ=DAILY;UNTIL=20270101T000000",
	}
	for _, rule := range rules {
		w := mustWindow(t, rule, time.Minute, "")
		for _, from := range []time.Time{utc(2009, 12, 31, 23, 0), utc(2026, 3, 1, 0, 0), utc(2026, 12, 28, 5, 17)} {
			to := from.AddDate(2, 0, 0)
			got, err := walls(w.s.opt, from, to, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			r, err := rrule.NewRRule(w.s.opt)
			if err != nil {
				t.Fatal(err)
			}
			want := r.Between(from, to, true)
			if len(want) == 0 {
				want = nil
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q from %s (-walked +rebased):\n%s", rule, from, diff)
			}
		}
	}
}

func TestParseLocal(t *testing.T) {
	tests := []struct {
		s, tz string
		want  string // the instant in UTC, or part of the error
	}{
		{"2026-12-08T17:00:00Z", "Europe/Berlin", "2026-12-08T17:00:00Z"},
		{"2026-12-08T17:00:00+01:00", "", "2026-12-08T16:00:00Z"},
		{"2026-12-08 17:00", "Europe/Berlin", "2026-12-08T16:00:00Z"},
		{" 2026-07-08T17:00 ", "Europe/Berlin", "2026-07-08T15:00:00Z"},
		{"2026-07-08 17:00:30", "America/New_York", "2026-07-08T21:00:30Z"},
		{"2026-12-08", "Asia/Kolkata", "2026-12-07T18:30:00Z"},
		{"2026-12-08 17:00", "", "2026-12-08T17:00:00Z"},
		// Unambiguous times next to the changes.
		{"2026-03-29 01:59", "Europe/Berlin", "2026-03-29T00:59:00Z"},
		{"2026-03-29 03:00", "Europe/Berlin", "2026-03-29T01:00:00Z"},
		{"2026-10-25 03:00", "Europe/Berlin", "2026-10-25T02:00:00Z"},
		{"2026-03-29 02:30", "Europe/Berlin", `does not exist in Europe/Berlin: the clocks skip it (as when daylight saving time starts); give the time with its UTC offset, e.g. "2026-03-29T03:30:00+02:00"`},
		{"2026-10-25 02:30", "Europe/Berlin", `happens twice in Europe/Berlin: the clocks go back over it (as when daylight saving time ends); give the time with its UTC offset, "2026-10-25T02:30:00+02:00" for the first or "2026-10-25T02:30:00+01:00" for the second`},
		{"2026-03-08T02:00", "America/New_York", `"2026-03-08T03:00:00-04:00"`},
		{"2026-11-01 01:00", "America/New_York", `"2026-11-01T01:00:00-04:00" for the first or "2026-11-01T01:00:00-05:00" for the second`},
		{"2026-10-04 02:15", "Australia/Sydney", "does not exist"},
		{"2026-04-05 02:15", "Australia/Sydney", "happens twice"},
		{"", "Europe/Berlin", "give a date and time"},
		{"next tuesday", "Europe/Berlin", `is not a date and time: write it like "2026-12-08 17:00" (in Europe/Berlin)`},
		{"2026-12-08T17:00Z", "", "is not a date and time"},
		{"2026-12-08 17:00", "CET+1", "unknown time zone"},
		{"0026-12-08 17:00", "Europe/Berlin", "is before 1970"},
		{"1969-12-31T23:59:59Z", "", "is before 1970"},
	}
	for _, tt := range tests {
		got, err := ParseLocal(tt.s, tt.tz)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseLocal(%q, %q): %v; want %s", tt.s, tt.tz, err, tt.want)
			}
			continue
		}
		if s := got.UTC().Format(time.RFC3339); s != tt.want {
			t.Errorf("ParseLocal(%q, %q) = %s, want %s", tt.s, tt.tz, s, tt.want)
		}
		if tt.tz != "" && got.Location().String() != tt.tz {
			t.Errorf("ParseLocal(%q, %q) is in %s", tt.s, tt.tz, got.Location())
		}
	}
}

func BenchmarkWindowAt(b *testing.B) {
	w, err := ParseWindow("FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", 4*time.Hour, "Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	t := utc(2026, 5, 1, 0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.At(t)
		}
	})
}
