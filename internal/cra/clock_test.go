package cra

import (
	"strings"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestClocks(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	for _, tt := range []struct {
		name            string
		f               Facts
		early, notified string // due, UTC
		final           string // due, UTC; "" = not started
	}{
		{
			// 23:30 CEST the evening before the clocks go back: 24 hours
			// later it is 22:30 CET — elapsed time, not wall-clock time.
			name: "aware the evening before summer time ends", f: Facts{AwareAt: utc("2026-10-24T21:30:00Z")},
			early: "2026-10-25T21:30:00Z", notified: "2026-10-27T21:30:00Z",
		},
		{
			name: "aware at 23:30 local on the day summer time ends", f: Facts{AwareAt: utc("2026-10-25T22:30:00Z")},
			early: "2026-10-26T22:30:00Z", notified: "2026-10-28T22:30:00Z",
		},
		{
			name: "aware at 23:30 local the day before summer time begins", f: Facts{AwareAt: utc("2027-03-27T22:30:00Z")},
			early: "2027-03-28T22:30:00Z", notified: "2027-03-30T22:30:00Z",
		},
		{
			// 14 days after 10:00 CEST is 10:00 CET: 14 days and an hour.
			name:  "final report 14 calendar days after the fix, across the end of summer time",
			f:     Facts{AwareAt: utc("2026-10-19T08:00:00Z"), MeasureAt: utc("2026-10-20T08:00:00Z")},
			early: "2026-10-20T08:00:00Z", notified: "2026-10-22T08:00:00Z", final: "2026-11-03T09:00:00Z",
		},
		{
			name:  "severe incident: one month after the notification, across the start of summer time",
			f:     Facts{Kind: SevereIncident, AwareAt: utc("2026-03-12T11:00:00Z"), Submitted: map[Stage]time.Time{Notification: utc("2026-03-15T11:00:00Z")}},
			early: "2026-03-13T11:00:00Z", notified: "2026-03-15T11:00:00Z", final: "2026-04-15T10:00:00Z",
		},
		{
			name:  "severe incident notified on 31 January: the end of February, not March",
			f:     Facts{Kind: SevereIncident, AwareAt: utc("2027-01-29T11:00:00Z"), Submitted: map[Stage]time.Time{Notification: utc("2027-01-31T11:00:00Z")}},
			early: "2027-01-30T11:00:00Z", notified: "2027-02-01T11:00:00Z", final: "2027-02-28T11:00:00Z",
		},
		{
			name:  "severe incident not yet notified",
			f:     Facts{Kind: SevereIncident, AwareAt: utc("2027-01-29T11:00:00Z")},
			early: "2027-01-30T11:00:00Z", notified: "2027-02-01T11:00:00Z",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := Clocks(tt.f, berlin)
			if len(cs) != 3 || cs[0].Stage != EarlyWarning || cs[1].Stage != Notification || cs[2].Stage != FinalReport {
				t.Fatalf("clocks %+v", cs)
			}
			if got := cs[0].Due.Format(time.RFC3339); got != tt.early {
				t.Errorf("early warning due %s, want %s", got, tt.early)
			}
			if got := cs[1].Due.Format(time.RFC3339); got != tt.notified {
				t.Errorf("notification due %s, want %s", got, tt.notified)
			}
			if tt.final == "" {
				if cs[2].Started() || cs[2].Waiting == "" {
					t.Errorf("final report %+v; want waiting, saying for what", cs[2])
				}
			} else if got := cs[2].Due.Format(time.RFC3339); got != tt.final {
				t.Errorf("final report due %s, want %s", got, tt.final)
			}
		})
	}
}

func TestSubmissionStopsItsClock(t *testing.T) {
	aware := utc("2026-11-24T09:00:00Z")
	cs := Clocks(Facts{AwareAt: aware, Submitted: map[Stage]time.Time{EarlyWarning: aware.Add(25 * time.Hour)}}, time.UTC)
	now := aware.Add(30 * time.Hour)
	if cs[0].Running() || cs[0].Overdue(now) || !cs[0].Late() {
		t.Errorf("early warning submitted an hour late: %+v", cs[0])
	}
	if !cs[1].Running() || cs[1].Overdue(now) || cs[1].Left(now) != 42*time.Hour {
		t.Errorf("the notification clock must run on: %+v", cs[1])
	}
	if cs[1].Overdue(aware.Add(73*time.Hour)) != true {
		t.Errorf("the notification is overdue after 72 hours")
	}
}

func TestParseAware(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	for _, tt := range []struct {
		in, want, note, err string
	}{
		{in: "2026-10-25T23:30", want: "2026-10-25T22:30:00Z"},
		{in: "2026-10-24T23:30", want: "2026-10-24T21:30:00Z"},
		{in: " 2026-11-24 09:15 ", want: "2026-11-24T08:15:00Z"},
		{in: "2026-11-24T09:15:30", want: "2026-11-24T08:15:30Z"},
		{in: "2026-10-25T23:30:00-04:00", want: "2026-10-26T03:30:00Z"},
		{in: "2026-10-25T02:30", want: "2026-10-25T00:30:00Z", note: "happened twice in Europe/Berlin (the clocks went back); the earlier, UTC+02:00"},
		{in: "2027-03-28T02:30", err: "did not happen in Europe/Berlin"},
		{in: "yesterday", err: "write when you became aware as 2026-10-25T23:30"},
		{in: "", err: "write when"},
		{in: "2026-02-30T10:00", err: "write when"},
	} {
		got, note, err := ParseAware(tt.in, berlin)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAware(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want || !strings.Contains(note, tt.note) || (tt.note == "") != (note == "") {
			t.Errorf("ParseAware(%q) = %s, %q, %v; want %s, %q", tt.in, got.Format(time.RFC3339), note, err, tt.want, tt.note)
		}
	}
}

func TestParsePoints(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: DefaultPoints, want: "50%,2h"},
		{in: " 25% , 90m,30m ", want: "25%,1h30m,30m"},
		{in: "", want: ""},
		{in: "0%", err: "between 0 and 100"},
		{in: "100%", err: "between 0 and 100"},
		{in: "x%", err: "between 0 and 100"},
		{in: "-1h", err: "a time before the deadline"},
		{in: "soon", err: "a time before the deadline"},
		{in: "2h,120m", err: "given twice"},
		{in: "1000h", err: "up to 720h"},
	} {
		ps, err := ParsePoints(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePoints(%q) = %v, %v; want error %q", tt.in, ps, err, tt.err)
			}
			continue
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.String())
		}
		if err != nil || strings.Join(names, ",") != tt.want {
			t.Errorf("ParsePoints(%q) = %v, %v; want %s", tt.in, names, err, tt.want)
		}
		// What String writes, ParsePoints reads back.
		again, err := ParsePoints(strings.Join(names, ","))
		if err != nil || len(again) != len(ps) {
			t.Errorf("round trip of %q: %v %v", tt.in, again, err)
		}
	}
}

func TestReminders(t *testing.T) {
	aware := utc("2026-11-24T09:00:00Z")
	points, _ := ParsePoints(DefaultPoints)
	sent := map[string]bool{}
	isSent := func(s Stage, p string) bool { return sent[string(s)+"/"+p] }
	sweep := func(at time.Duration) []string {
		cs := Clocks(Facts{AwareAt: aware}, time.UTC)
		var out []string
		for _, d := range Reminders(cs, points, aware.Add(at), isSent) {
			out = append(out, string(d.Stage)+"/"+d.Point)
			for _, p := range d.Covers {
				sent[string(d.Stage)+"/"+p] = true
			}
		}
		return out
	}
	for _, step := range []struct {
		at   time.Duration
		want string
	}{
		{11 * time.Hour, ""},
		{12 * time.Hour, "early-warning/50%"},
		{13 * time.Hour, ""}, // once
		{22 * time.Hour, "early-warning/2h"},
		{24*time.Hour + time.Second, "early-warning/overdue"},
		// The sweep was down from 25 to 71 hours: the notification's
		// half-time and two-hour points are one reminder, the later.
		{71 * time.Hour, "notification/2h"},
		{72*time.Hour + time.Minute, "notification/overdue"},
		{100 * time.Hour, ""},
	} {
		if got := strings.Join(sweep(step.at), " "); got != step.want {
			t.Errorf("at +%v: reminders %q, want %q", step.at, got, step.want)
		}
	}
}

func FuzzParseAware(f *testing.F) {
	for _, s := range []string{"2026-10-25T23:30", "2026-10-25T02:30", "2027-03-28T02:30", "2026-10-25T23:30:00-04:00", "x", ""} {
		f.Add(s)
	}
	berlin := zone(f, "Europe/Berlin")
	f.Fuzz(func(t *testing.T, s string) {
		got, _, err := ParseAware(s, berlin)
		if err == nil && got.Location() != time.UTC {
			t.Errorf("ParseAware(%q) = %v, not UTC", s, got)
		}
	})
}

func FuzzParsePoints(f *testing.F) {
	for _, s := range []string{DefaultPoints, "25%,90m", "0%", "1e2%", "NaN%", "2h,2h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePoints(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if (p.Fraction > 0) == (p.Before > 0) || p.Fraction >= 1 || p.Before < 0 {
				t.Errorf("ParsePoints(%q) gave %+v", s, p)
			}
		}
	})
}
