package fleet

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"

	"github.com/patchday/patchday"
)

// invalid fails unless err is an ErrInvalid *patchday.Error.
func invalid(t *testing.T, err error) {
	t.Helper()
	var pe *patchday.Error
	if !errors.As(err, &pe) || !errors.Is(err, patchday.ErrInvalid) || pe.Message == "" {
		t.Fatalf("error %#v is not an ErrInvalid *patchday.Error", err)
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []struct {
		rule string
		d    int64
		tz   string
	}{
		{"FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", int64(4 * time.Hour), "Europe/Berlin"},
		{"DTSTART;TZID=America/New_York:20260308T023000\nRRULE:FREQ=DAILY", int64(time.Hour), "America/New_York"},
		{"DTSTART:20260103T020000Z\nRRULE:FREQ=MONTHLY;BYDAY=-1SU;BYSETPOS=1", int64(time.Hour), ""},
		{"FREQ=HOURLY;INTERVAL=5;BYDAY=MO,FR", int64(time.Hour), "Asia/Kolkata"},
		{"FREQ=YEARLY;BYWEEKNO=53;BYDAY=SU;BYHOUR=1,2,3", int64(30 * time.Minute), "Australia/Sydney"},
		{"FREQ=YEARLY;BYEASTER=1;COUNT=3", int64(time.Hour), "UTC"},
		{"FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20300101T000000Z", int64(2 * time.Hour), "Pacific/Apia"},
		{"FREQ=SECONDLY;INTERVAL=3600;BYMINUTE=30", int64(time.Minute), "Europe/Dublin"},
		{"DTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;BYSETPOS=-1", int64(time.Hour), "Europe/Berlin"},
		{"FREQ=MINUTELY;INTERVAL=7;BYHOUR=3;BYMINUTE=7,8,9", int64(time.Minute), "Europe/Berlin"},
		{"FREQ=WEEKLY;INTERVAL=999999", int64(time.Hour), ""},
		{"FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=SU,SA", int64(time.Hour), "America/Sao_Paulo"},
	} {
		f.Add(s.rule, s.d, s.tz)
	}
	f.Fuzz(func(t *testing.T, rule string, d int64, tz string) {
		w, err := ParseWindow(rule, time.Duration(d), tz)
		if err != nil {
			invalid(t, err)
			return
		}
		if w.IsZero() {
			return
		}
		_ = w.String()
		start0 := w.s.opt.Dtstart
		for _, tt := range []time.Time{
			time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC),
			time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC),
			time.Date(2031, 11, 2, 6, 0, 0, 0, time.UTC),
			start0, start0.Add(-time.Hour), start0.AddDate(1, 2, 3),
		} {
			start, end, open := w.At(tt)
			switch {
			case start.IsZero():
				if open {
					t.Fatalf("At(%s): open with no start", tt)
				}
				continue
			case end.Sub(start) != w.Duration:
				t.Fatalf("At(%s) = %s to %s: not %s long", tt, start, end, w.Duration)
			case open && (tt.Before(start) || !tt.Before(end)):
				t.Fatalf("At(%s) = open %s to %s: t is outside", tt, start, end)
			case !open && (!start.After(tt) || start.After(tt.Add(horizon))):
				t.Fatalf("At(%s) = next %s: not after t within the horizon", tt, start)
			}
			if s2, _, open2 := w.At(start); !open2 || !s2.Equal(start) {
				t.Fatalf("At(%s) = %s, but At(start) = %s open %v", tt, start, s2, open2)
			}
		}
		// Expanding from a moved DTSTART yields what walking from the start does.
		if from := start0.AddDate(3, 1, 17); from.Year() < rrule.MAXYEAR {
			to := from.AddDate(0, 2, 0)
			got, err := walls(w.s.opt, from, to, 1<<20)
			if err != nil {
				return // rrule-go failed; At reports no window
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
				t.Fatalf("rebased expansion from %s differs (-walked +rebased):\n%s", from, diff)
			}
		}
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var back Window
		if err := json.Unmarshal(b, &back); err != nil || back.String() != w.String() {
			t.Fatalf("JSON round trip of %s: %s, %v", b, back, err)
		}
	})
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(`[{"name": "pilot-at-once", "classifications": ["security", "critical"], "group": "pilot"},
		{"name": "broad-after-pilot", "classifications": ["security"], "group": "broad", "after": "3d", "since": "pilot", "max_failure_rate": 0.02, "deadline": "7d"}]`))
	f.Add([]byte(`[{"name": "a", "group": "b", "since": "c", "min_succeeded": 3, "after": "1d12h30m"}, {"name": "c", "group": "c", "since": "b"}]`))
	f.Add([]byte(`[{"name": "x", "group": "g", "action": "remove", "severities": ["none"], "products": ["p"]}] `))
	f.Add([]byte(`[null, 1, "x", {}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, err := ParseRules(b)
		if err != nil {
			invalid(t, err)
			return
		}
		out, err := json.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRules(out)
		if err != nil {
			t.Fatalf("ParseRules(%s) refuses its own output: %v", out, err)
		}
		if diff := cmp.Diff(rules, again); diff != "" && len(rules) > 0 {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		c := Candidate{Classification: "security", Severity: "high", Product: "agent", FirstSeen: now.Add(-50 * time.Hour)}
		for _, r := range rules {
			d := r.Decide(c, Basis{SinceApproved: now.Add(-70 * time.Hour), Succeeded: 97, Failed: 1}, now)
			if d.Why == "" || d.Approve && (d.At.After(now) || !r.Matches(c)) {
				t.Fatalf("%+v decides %+v", r, d)
			}
		}
	})
}

func FuzzParseLocal(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-12-08T17:00:00Z", "Europe/Berlin"},
		{"2026-12-08T17:00:00.5+01:00", ""},
		{"2026-03-29 02:30", "Europe/Berlin"},
		{"2026-11-01T01:30", "America/New_York"},
		{"2026-10-04", "Australia/Sydney"},
		{"2011-12-30 12:00", "Pacific/Apia"},
		{"2026-07-01 23:59:59", "Asia/Kolkata"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, tz string) {
		got, err := ParseLocal(s, tz)
		if err != nil {
			invalid(t, err)
			return
		}
		// The result reads back the same, with its offset or as a wall
		// clock, which must then be unambiguous.
		for _, text := range []string{got.Format(time.RFC3339Nano), got.Format("2006-01-02 15:04:05")} {
			if got.Nanosecond() != 0 && text[10] == ' ' {
				continue
			}
			again, err := ParseLocal(text, tz)
			if err != nil || !again.Equal(got) {
				t.Fatalf("ParseLocal(%q, %q) = %s, but %q reads as %s, %v", s, tz, got, text, again, err)
			}
		}
	})
}
