package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/patchday/patchday"
)

const (
	// maxRule bounds a window rule's text.
	maxRule = 1000
	// maxWindow is the longest a window may stay open.
	maxWindow = 7 * 24 * time.Hour
	// horizon is how far ahead At looks for the next window, and how far
	// after its start a rule must yield one to be accepted.
	horizon = 400 * 24 * time.Hour
	// maxInterval bounds a rule's INTERVAL, keeping rrule-go's day
	// arithmetic far from overflowing.
	maxInterval = 1000000
	// minYear is the earliest year a DTSTART or ParseLocal's time may be
	// in: expanding a rule with COUNT walks every period since its
	// DTSTART, and older times are typing mistakes.
	minYear = 1970
	// maxPerDay bounds how often a window opens, on average: hourly at
	// most, which keeps the occurrences cached per window small.
	maxPerDay = 24
	// checkDays is how far ParseWindow expands a rule to find overlapping
	// windows: four years, so leap days and every DST change are seen.
	checkDays = 4*365 + 1
	// slack widens a cached span so that nearby times (a deadline a few
	// weeks back, the next check-in) are answered without expanding again.
	slack = 31 * 24 * time.Hour
	// pad widens a span of instants to the wall-clock times that may fall
	// in it: UTC offsets and DST gaps shift a wall time by less than this.
	pad = 48 * time.Hour
	// exampleRule is the rule shown in messages.
	exampleRule = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0"
)

// epoch is where a rule without DTSTART starts: a fixed date, so that the
// window's time of day never depends on when the rule was parsed.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// errTooMany stops an expansion that yields more occurrences than allowed.
var errTooMany = errors.New("too many occurrences")

// Window is a group's maintenance window: an RFC 5545 recurrence whose times
// are wall-clock times in TZ, and a duration.
//
// An occurrence starts at its wall-clock time in TZ. A wall time that does
// not exist (the clocks spring forward over it) is read with the UTC offset
// in effect before the gap, as RFC 5545 §3.3.5 says: a window at 02:30 on
// the day Berlin springs forward starts at 03:30 CEST, an hour of elapsed
// time after 01:30 CET. A wall time that occurs twice (the clocks fall back
// over it) means the first. Duration is elapsed time, so a 4h window
// starting at 01:00 on a fall-back night ends at 04:00 by the clock.
//
// The zero Window means no window: any time is fine. Build others with
// ParseWindow and treat the fields as read-only; a Window whose fields were
// set by hand is parsed again on every call. A Window is safe for
// concurrent use, and copies share their cache of occurrences.
type Window struct {
	Rule     string
	Duration time.Duration
	TZ       string

	s *sched
}

// sched is a parsed window with its cache of occurrences.
type sched struct {
	// opt is the rule in floating time (wall clock read as UTC), with the
	// values rrule-go would derive from DTSTART spelled out, so that DTSTART
	// can be moved forward without changing the occurrences. Each expansion
	// builds its own RRule from it: rrule-go's iterators write to the rule
	// and its Set sorts in place, so neither may be shared between goroutines.
	opt   rrule.ROption
	loc   *time.Location
	d     time.Duration
	mu    sync.Mutex // serializes expansions, so a cache miss is computed once
	spans [2]atomic.Pointer[span]
}

// span caches the window starts in a stretch of time.
type span struct {
	lo, hi int64   // every start in [lo, hi), in Unix seconds, is in starts
	starts []int64 // sorted Unix seconds
}

// ParseWindow reads a maintenance window. The rule is a bare RRULE value
// ("FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0") or a DTSTART line and an
// RRULE line; its times are wall-clock times in tz, an IANA zone name ("" is
// UTC). Without DTSTART the rule starts on 2000-01-01 at 00:00 in tz, so
// BYHOUR, BYMINUTE and BYSECOND default to 0. A DTSTART may carry a TZID
// only if it names tz, and may end in Z only if tz is UTC: it is refused
// rather than converted, because converting would move the window's time
// of day across DST changes.
//
// The duration must be positive, at most 7 days, and shorter than the
// smallest gap between two starts; the rule must yield a window in the 400
// days after its start and open at most 24 windows a day on average. An
// empty rule with a zero duration is the zero Window: no window.
func ParseWindow(rule string, d time.Duration, tz string) (Window, error) {
	rule = strings.TrimSpace(strings.ReplaceAll(rule, "\r\n", "\n"))
	p := patchday.Problems{}
	loc, err := loadZone(tz)
	if err != nil {
		p.Add("tz", err.Error())
	}
	if rule == "" && d == 0 {
		return Window{}, p.Err("the maintenance window is not valid")
	}
	switch {
	case d <= 0:
		p.Add("duration", "give how long the window stays open, e.g. 4h")
	case d > maxWindow:
		p.Add("duration", fmt.Sprintf("a window stays open at most 7 days (168h), not %s; e.g. 4h", d))
	}
	if loc == nil {
		loc = time.UTC // to report the rule's own problems too
	}
	opt, problem := parseRule(rule, loc, err == nil)
	if problem != "" {
		p.Add("rule", problem)
	}
	s := &sched{opt: opt, loc: loc, d: d}
	if problem == "" && err == nil {
		s.check(p)
	}
	if err := p.Err("the maintenance window is not valid"); err != nil {
		return Window{}, err
	}
	return Window{Rule: rule, Duration: d, TZ: tz, s: s}, nil
}

// loadZone loads an IANA time zone, "" being UTC. It refuses "Local": the
// server's own zone is no business of a window.
func loadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, fmt.Errorf("unknown time zone %q: give an IANA name such as \"Europe/Berlin\", or leave it empty for UTC", tz)
	}
	return loc, nil
}

// parseRule reads the rule's DTSTART and RRULE into floating time. zoneOK
// says whether loc is the zone the user asked for, so that a DTSTART in
// another zone can be told apart from a zone that failed to load.
func parseRule(text string, loc *time.Location, zoneOK bool) (o rrule.ROption, problem string) {
	if text == "" {
		return o, fmt.Sprintf("give a recurrence rule such as %q", exampleRule)
	}
	if len(text) > maxRule {
		return o, fmt.Sprintf("the rule is longer than %d bytes; give one such as %q", maxRule, exampleRule)
	}
	var dtstart, value string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		upper := strings.ToUpper(line)
		switch {
		case line == "":
		case strings.HasPrefix(upper, "DTSTART:") || strings.HasPrefix(upper, "DTSTART;"):
			if dtstart != "" {
				return o, "give DTSTART once"
			}
			dtstart = line[len("DTSTART"):]
		case strings.HasPrefix(upper, "RRULE:") || !strings.Contains(line, ":"):
			if value != "" {
				return o, "give one RRULE: a window follows a single recurrence"
			}
			value = strings.TrimPrefix(upper, "RRULE:")
		default:
			return o, fmt.Sprintf("only DTSTART and RRULE lines are understood, not %q; e.g. %q", line, "DTSTART:20260103T020000\nRRULE:FREQ=WEEKLY;BYDAY=SA")
		}
	}
	if value == "" {
		return o, fmt.Sprintf("the rule needs an RRULE such as %q", exampleRule)
	}
	start := epoch
	if dtstart != "" {
		var problem string
		if start, problem = parseStart(dtstart, loc, zoneOK); problem != "" {
			return o, problem
		}
	}
	value = strings.TrimSuffix(strings.TrimSpace(value), ";")
	opt, err := parseValue(value)
	if err != nil {
		return o, fmt.Sprintf("not an RFC 5545 recurrence (%v); e.g. %q", err, exampleRule)
	}
	o = *opt
	if !o.Dtstart.IsZero() {
		return o, "put DTSTART on a line of its own before the RRULE, e.g. \"DTSTART:20260103T020000\""
	}
	if o.Count < 0 || o.Interval < 0 || o.Interval > maxInterval {
		return o, fmt.Sprintf("COUNT and INTERVAL are positive numbers, INTERVAL at most %d; e.g. %q", maxInterval, "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA")
	}
	for _, part := range strings.Split(value, ";") {
		// An UNTIL in UTC is an instant: turn it into the wall clock the
		// rule's times are compared with.
		if strings.HasPrefix(part, "UNTIL=") && strings.HasSuffix(part, "Z") {
			o.Until = floating(o.Until.In(loc))
		}
	}
	o.Dtstart = start
	explicit(&o)
	if !reaches(o) {
		return o, fmt.Sprintf("the rule steps by INTERVAL past every time of day its BYHOUR, BYMINUTE and BYSECOND name, so it never yields a window; e.g. %q", exampleRule)
	}
	if _, err := rrule.NewRRule(o); err != nil {
		return o, fmt.Sprintf("not an RFC 5545 recurrence (%v); e.g. %q", err, exampleRule)
	}
	return o, ""
}

// parseValue parses an RRULE value, turning a panic inside rrule-go into an
// error.
func parseValue(value string) (o *rrule.ROption, err error) {
	defer func() {
		if r := recover(); r != nil {
			o, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return rrule.StrToROptionInLocation(value, time.UTC)
}

// parseStart reads what follows "DTSTART": optional parameters, a colon and
// a date or date-time, as a floating time.
func parseStart(s string, loc *time.Location, zoneOK bool) (time.Time, string) {
	const example = "DTSTART:20260103T020000"
	params, value, ok := strings.Cut(s, ":")
	if !ok {
		return time.Time{}, fmt.Sprintf("DTSTART needs a colon before its time, e.g. %q", example)
	}
	var tzid string
	for _, param := range strings.Split(params, ";")[1:] {
		k, v, _ := strings.Cut(param, "=")
		switch strings.ToUpper(k) {
		case "TZID":
			tzid = strings.Trim(v, `"`)
		case "VALUE":
			if u := strings.ToUpper(v); u != "DATE" && u != "DATE-TIME" {
				return time.Time{}, fmt.Sprintf("DTSTART's VALUE is DATE or DATE-TIME, not %q; e.g. %q", v, example)
			}
		default:
			return time.Time{}, fmt.Sprintf("DTSTART takes a TZID parameter only, not %q; e.g. %q", param, example)
		}
	}
	value = strings.ToUpper(strings.TrimSpace(value))
	utc := strings.HasSuffix(value, "Z")
	value = strings.TrimSuffix(value, "Z")
	var t time.Time
	var err error
	if len(value) == len("20060102") {
		t, err = time.Parse("20060102", value)
	} else {
		t, err = time.Parse("20060102T150405", value)
	}
	if err != nil {
		return time.Time{}, fmt.Sprintf("DTSTART %q is not a date-time like %q", value, example)
	}
	if t.Year() < minYear {
		return time.Time{}, fmt.Sprintf("DTSTART is in %d or later, e.g. %q", minYear, example)
	}
	if !zoneOK {
		return t, ""
	}
	if tzid != "" {
		if l, err := loadZone(tzid); err != nil || l.String() != loc.String() {
			return time.Time{}, fmt.Sprintf("DTSTART is in %s but the window's time zone is %s: drop the TZID, the rule's times are read in the window's time zone, e.g. %q", tzid, loc, example)
		}
	}
	if utc && loc != time.UTC {
		return time.Time{}, fmt.Sprintf("DTSTART is in UTC (it ends in Z) but the window's time zone is %s: drop the Z, the rule's times are read in the window's time zone, e.g. %q", loc, example)
	}
	return t, ""
}

// reaches reports whether an HOURLY, MINUTELY or SECONDLY rule, stepping
// by its INTERVAL from DTSTART, ever reaches a time of day its BYHOUR,
// BYMINUTE and BYSECOND allow. rrule-go would loop forever looking for one
// (as for FREQ=MINUTELY;INTERVAL=60;BYMINUTE=30 from a start at minute 0).
func reaches(o rrule.ROption) bool {
	var unit int
	switch o.Freq {
	case rrule.HOURLY:
		unit = 3600
	case rrule.MINUTELY:
		unit = 60
	case rrule.SECONDLY:
		unit = 1
	default:
		return true
	}
	in := func(list []int, v int) bool { return len(list) == 0 || slices.Contains(list, v) }
	perDay := 86400 / unit
	step := gcd(max(o.Interval, 1), perDay)
	hh, mm, ss := o.Dtstart.Clock()
	for t := ((hh*3600 + mm*60 + ss) / unit) % step; t < perDay; t += step {
		sec := t * unit
		if in(o.Byhour, sec/3600) && (unit > 60 || in(o.Byminute, sec/60%60)) && (unit > 1 || in(o.Bysecond, sec%60)) {
			return true
		}
	}
	return false
}

// gcd is the greatest common divisor of two positive numbers.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// floating returns t's wall clock read as UTC.
func floating(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

// weekdays maps Go's weekdays to rrule-go's.
var weekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// explicit spells out what rrule-go derives from DTSTART (as its buildRRule
// does), and the end it defaults to, so that rebase may move DTSTART.
func explicit(o *rrule.ROption) {
	d := o.Dtstart
	if len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 &&
		len(o.Byweekday) == 0 && len(o.Byeaster) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(d.Month())}
			}
			o.Bymonthday = []int{d.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{d.Day()}
		case rrule.WEEKLY:
			o.Byweekday = []rrule.Weekday{weekdays[d.Weekday()]}
		}
	}
	if len(o.Byhour) == 0 && o.Freq < rrule.HOURLY {
		o.Byhour = []int{d.Hour()}
	}
	if len(o.Byminute) == 0 && o.Freq < rrule.MINUTELY {
		o.Byminute = []int{d.Minute()}
	}
	if len(o.Bysecond) == 0 && o.Freq < rrule.SECONDLY {
		o.Bysecond = []int{d.Second()}
	}
	if o.Until.IsZero() {
		o.Until = d.Add(1<<63 - 1)
	}
}

// rebase moves DTSTART forward to the start of the latest period at or
// before at that keeps step with the rule's INTERVAL, so that expanding
// near at does not walk every period since DTSTART. Floating time has no
// DST, so periods are plain calendar arithmetic. A rule with COUNT counts
// from its DTSTART and is left alone.
func rebase(o rrule.ROption, at time.Time) rrule.ROption {
	d := o.Dtstart
	if o.Count > 0 || !at.After(d) {
		return o
	}
	step := int64(max(o.Interval, 1))
	var n int64
	var period func(k int64) time.Time
	switch o.Freq {
	case rrule.YEARLY:
		n = int64(at.Year() - d.Year())
		period = func(k int64) time.Time { return time.Date(d.Year()+int(k), 1, 1, 0, 0, 0, 0, time.UTC) }
	case rrule.MONTHLY:
		n = int64(at.Year()-d.Year())*12 + int64(at.Month()-d.Month())
		period = func(k int64) time.Time { return time.Date(d.Year(), d.Month()+time.Month(k), 1, 0, 0, 0, 0, time.UTC) }
	case rrule.WEEKLY:
		wkst := time.Weekday((o.Wkst.Day() + 1) % 7)
		week := func(t time.Time) time.Time {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return t.AddDate(0, 0, -int((t.Weekday()-wkst+7)%7))
		}
		w0 := week(d)
		n = (week(at).Unix() - w0.Unix()) / (7 * 86400)
		period = func(k int64) time.Time { return w0.AddDate(0, 0, int(7*k)) }
	case rrule.DAILY:
		d0 := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		n = floorDiv(at.Unix()-d0.Unix(), 86400)
		period = func(k int64) time.Time { return d0.AddDate(0, 0, int(k)) }
	default:
		unit := int64(1)
		switch o.Freq {
		case rrule.HOURLY:
			unit = 3600
		case rrule.MINUTELY:
			unit = 60
		}
		u0 := floorDiv(d.Unix(), unit) * unit
		n = floorDiv(at.Unix()-u0, unit)
		period = func(k int64) time.Time { return time.Unix(u0+k*unit, 0).UTC() }
	}
	if k := n / step * step; k > 0 {
		o.Dtstart = period(k)
	}
	return o
}

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// walls returns the rule's wall-clock starts in [from, to], at most limit
// of them (errTooMany if there are more). It turns a panic inside rrule-go
// into an error.
func walls(o rrule.ROption, from, to time.Time, limit int) (out []time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%v", r)
		}
	}()
	if from.Year() > rrule.MAXYEAR {
		return nil, nil
	}
	r, err := rrule.NewRRule(rebase(o, from))
	if err != nil {
		return nil, err
	}
	next := r.Iterator()
	for {
		w, ok := next()
		if !ok || w.After(to) {
			return out, nil
		}
		if w.Before(from) {
			continue
		}
		if len(out) == limit {
			return out, errTooMany
		}
		out = append(out, w)
	}
}

// instants returns the instants at which wall clock w (read as UTC) occurs
// in loc, earliest first: none in a gap, two where the clocks fall back.
// It also returns the offset in effect before w, which reads a wall time
// in a gap as RFC 5545 does.
func instants(w time.Time, loc *time.Location) (at [2]time.Time, n int, before int) {
	wall := w.Unix()
	_, before = time.Unix(wall-36*3600, 0).In(loc).Zone()
	_, after := time.Unix(wall+36*3600, 0).In(loc).Zone()
	for _, off := range []int{before, after} {
		t := time.Unix(wall-int64(off), 0).In(loc)
		if _, o := t.Zone(); o == off && (n == 0 || !t.Equal(at[0])) {
			at[n] = t
			n++
		}
	}
	if n == 2 && at[1].Before(at[0]) {
		at[0], at[1] = at[1], at[0]
	}
	return at, n, before
}

// resolve returns the instant a window starting at wall clock w starts.
func resolve(w time.Time, loc *time.Location) time.Time {
	at, n, before := instants(w, loc)
	if n == 0 {
		return time.Unix(w.Unix()-int64(before), 0).In(loc)
	}
	return at[0]
}

// starts returns the instants, in Unix seconds, of the windows starting in
// [lo, hi), sorted.
func (s *sched) starts(lo, hi time.Time, limit int) ([]int64, error) {
	ws, err := walls(s.opt, lo.UTC().Add(-pad), hi.UTC().Add(pad), limit)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(ws))
	for _, w := range ws {
		if t := resolve(w, s.loc); !t.Before(lo) && t.Before(hi) {
			out = append(out, t.Unix())
		}
	}
	// Walls in a gap move forward past later walls, and two walls may land
	// on the same instant.
	slices.Sort(out)
	return slices.Compact(out), nil
}

// check adds the rule's problems that need expanding it: no window, too
// many, or windows that overlap.
func (s *sched) check(p patchday.Problems) {
	start := s.opt.Dtstart
	ws, err := walls(s.opt, start, start.AddDate(0, 0, checkDays), checkDays*maxPerDay)
	switch {
	case errors.Is(err, errTooMany):
		p.Add("rule", fmt.Sprintf("the rule opens more than %d windows a day; a window recurs at most hourly, e.g. %q", maxPerDay, exampleRule))
		return
	case err != nil:
		p.Add("rule", fmt.Sprintf("the rule cannot be expanded (%v); e.g. %q", err, exampleRule))
		return
	case len(ws) == 0 || ws[0].After(start.Add(horizon)):
		p.Add("rule", fmt.Sprintf("the rule yields no window in the 400 days from %s; e.g. %q", start.Format("2006-01-02 15:04"), exampleRule))
		return
	}
	if s.d <= 0 || s.d > maxWindow {
		return
	}
	at := make([]time.Time, len(ws))
	for i, w := range ws {
		at[i] = resolve(w, s.loc)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap <= s.d {
			p.Add("duration", fmt.Sprintf("windows would overlap: the rule starts one at %s and the next %s later, but each stays open %s; shorten the duration or space the windows further apart",
				at[i-1].Format("2006-01-02 15:04 MST"), gap, s.d))
			return
		}
	}
}

// find returns a cached span that answers for t and the index of the first
// start after t in it, expanding the rule if none does.
func (s *sched) find(t time.Time) (*span, int) {
	tu := t.Unix()
	need := int64(s.d/time.Second) + 1
	for i := range s.spans {
		if sp := s.spans[i].Load(); sp != nil {
			if j, ok := sp.answers(tu, need); ok {
				return sp, j
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.spans {
		if sp := s.spans[i].Load(); sp != nil {
			if j, ok := sp.answers(tu, need); ok {
				return sp, j
			}
		}
	}
	lo := t.Add(-s.d - time.Second - slack).Truncate(time.Second)
	hi := t.Add(horizon + slack).Truncate(time.Second)
	days := int(hi.Sub(lo)/(24*time.Hour)) + 5
	// A rule rrule-go cannot expand here is cached as having no window, so
	// that the next call does not try again.
	starts, _ := s.starts(lo, hi, 4*days*maxPerDay)
	sp := &span{lo: lo.Unix(), hi: hi.Unix(), starts: starts}
	// Keep the span nearer to t; so alternating between now and another
	// time (a deadline, a date on a calendar page) hits both.
	slot := 0
	if a, b := s.spans[0].Load(), s.spans[1].Load(); a != nil && (b == nil || b.distance(tu) > a.distance(tu)) {
		slot = 1
	}
	s.spans[slot].Store(sp)
	j, _ := sp.answers(tu, need)
	return sp, j
}

// answers reports whether the span holds every start that matters at tu
// (those from tu-need on, and the next one or the knowledge that none comes
// within the horizon), and the index of the first start after tu.
func (sp *span) answers(tu, need int64) (int, bool) {
	if sp.lo > tu-need || sp.hi <= tu {
		return 0, false
	}
	i, _ := slices.BinarySearch(sp.starts, tu+1)
	if i == len(sp.starts) && sp.hi <= tu+int64(horizon/time.Second) {
		return 0, false
	}
	return i, true
}

// distance is how far tu lies outside the span, in seconds.
func (sp *span) distance(tu int64) int64 {
	switch {
	case tu < sp.lo:
		return sp.lo - tu
	case tu >= sp.hi:
		return tu - sp.hi + 1
	}
	return 0
}

// IsZero reports whether w is the zero Window: no window, any time is fine.
func (w Window) IsZero() bool { return w.Rule == "" && w.s == nil }

// At returns the window occurrence t is in, [start, end), with open set; or
// else the next occurrence after t, with open false. If no occurrence
// starts within 400 days after t it returns zero times and false. The zero
// Window is always open and returns zero times. Times are in the window's
// zone.
func (w Window) At(t time.Time) (start, end time.Time, open bool) {
	s := w.s
	if s == nil {
		if w.Rule == "" {
			return time.Time{}, time.Time{}, true
		}
		p, err := ParseWindow(w.Rule, w.Duration, w.TZ)
		if err != nil || p.s == nil {
			return time.Time{}, time.Time{}, false
		}
		s = p.s
	}
	if y := t.Year(); y < 1 || y > rrule.MAXYEAR {
		return time.Time{}, time.Time{}, false
	}
	sp, i := s.find(t)
	if i > 0 {
		if st := time.Unix(sp.starts[i-1], 0).In(s.loc); t.Before(st.Add(s.d)) {
			return st, st.Add(s.d), true
		}
	}
	if i < len(sp.starts) {
		if st := time.Unix(sp.starts[i], 0).In(s.loc); !st.After(t.Add(horizon)) {
			return st, st.Add(s.d), false
		}
	}
	return time.Time{}, time.Time{}, false
}

// String describes the window, e.g. "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2 for
// 4h0m0s (Europe/Berlin)".
func (w Window) String() string {
	if w.IsZero() {
		return "any time"
	}
	tz := w.TZ
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s for %s (%s)", strings.ReplaceAll(w.Rule, "\n", " "), w.Duration, tz)
}

// windowJSON is a Window's JSON form.
type windowJSON struct {
	Rule     string `json:"rule"`
	Duration string `json:"duration"`
	TZ       string `json:"tz,omitempty"`
}

// MarshalJSON writes {"rule": …, "duration": "4h", "tz": …}, or null for
// the zero Window.
func (w Window) MarshalJSON() ([]byte, error) {
	if w.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(windowJSON{Rule: w.Rule, Duration: FormatDuration(w.Duration), TZ: w.TZ})
}

// UnmarshalJSON reads what MarshalJSON writes and validates it with
// ParseWindow; null is the zero Window.
func (w *Window) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*w = Window{}
		return nil
	}
	var j windowJSON
	if err := strictJSON(b, &j); err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "a window is written like %s (%v)", `{"rule": "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2", "duration": "4h", "tz": "Europe/Berlin"}`, err)
	}
	var d time.Duration
	if j.Duration != "" {
		var err error
		if d, err = ParseDuration(j.Duration); err != nil {
			return &patchday.Error{Kind: patchday.ErrInvalid, Message: "the maintenance window is not valid", Fields: map[string]string{"duration": patchday.Summary(err)}}
		}
	}
	pw, err := ParseWindow(j.Rule, d, j.TZ)
	if err != nil {
		return err
	}
	*w = pw
	return nil
}

// localLayouts are the wall-clock forms ParseLocal accepts.
var localLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// ParseLocal reads a time typed by an administrator, such as a deadline: RFC
// 3339 ("2026-12-08T17:00:00Z", "2026-12-08T17:00:00+01:00"), or a wall
// clock in tz: "2026-12-08 17:00", "2026-12-08T17:00" or "2026-12-08" (at
// 00:00). A wall clock the zone skips or passes twice is refused, since
// either reading could be an hour off, and so are years before 1970, which
// are typing mistakes. The result is in tz.
func ParseLocal(s, tz string) (time.Time, error) {
	s = strings.TrimSpace(s)
	loc, err := loadZone(tz)
	if err != nil {
		return time.Time{}, patchday.Errorf(patchday.ErrInvalid, "%v", err)
	}
	if s == "" {
		return time.Time{}, patchday.Errorf(patchday.ErrInvalid, "give a date and time such as %q or %q", "2026-12-08 17:00", "2026-12-08T17:00:00+01:00")
	}
	early := patchday.Errorf(patchday.ErrInvalid, "%s is before %d: give a date such as %q", s, minYear, "2026-12-08 17:00")
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.Year() < minYear {
			return time.Time{}, early
		}
		return t.In(loc), nil
	}
	for _, layout := range localLayouts {
		w, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if w.Year() < minYear {
			return time.Time{}, early
		}
		at, n, before := instants(w, loc)
		switch n {
		case 0:
			next := time.Unix(w.Unix()-int64(before), 0).In(loc)
			return time.Time{}, patchday.Errorf(patchday.ErrInvalid,
				"%s does not exist in %s: the clocks skip it (as when daylight saving time starts); give the time with its UTC offset, e.g. %q",
				s, loc, next.Format(time.RFC3339))
		case 2:
			return time.Time{}, patchday.Errorf(patchday.ErrInvalid,
				"%s happens twice in %s: the clocks go back over it (as when daylight saving time ends); give the time with its UTC offset, %q for the first or %q for the second",
				s, loc, at[0].Format(time.RFC3339), at[1].Format(time.RFC3339))
		}
		return at[0], nil
	}
	return time.Time{}, patchday.Errorf(patchday.ErrInvalid, "%q is not a date and time: write it like %q (in %s) or %q", s, "2026-12-08 17:00", loc, "2026-12-08T17:00:00+01:00")
}
