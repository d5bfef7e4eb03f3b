package turnaround

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/cases"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBusinessDuration(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want time.Duration
	}{
		{"2026-03-02 09:00", "2026-03-02 12:00", 3 * time.Hour},   // Monday
		{"2026-03-06 12:00", "2026-03-09 12:00", 24 * time.Hour},  // Friday noon to Monday noon
		{"2026-03-07 00:00", "2026-03-09 00:00", 0},               // a weekend
		{"2026-03-02 00:00", "2026-03-09 00:00", 120 * time.Hour}, // a week
		{"2026-03-02 00:00", "2026-03-30 00:00", 480 * time.Hour}, // four weeks
		{"2026-03-08 23:00", "2026-03-09 01:00", time.Hour},       // Sunday night into Monday
		{"2026-03-09 10:00", "2026-03-09 10:00", 0},               // empty
		{"2026-03-09 10:00", "2026-03-06 10:00", 0},               // backwards
		{"2026-03-27 18:00", "2026-03-30 06:00", 12 * time.Hour},  // across a weekend
	} {
		a, b := at(tt.a), at(tt.b)
		got := time.Duration(0)
		if b.After(a) {
			got = BusinessDuration(a, b)
		}
		if got != tt.want {
			t.Errorf("BusinessDuration(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if sp := Between(a, b); sp.Business != tt.want {
			t.Errorf("Between(%s, %s).Business = %v, want %v", tt.a, tt.b, sp.Business, tt.want)
		}
	}
}

func TestSummarise(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want Stats
	}{
		{nil, Stats{}},
		{[]float64{5}, Stats{N: 1, Median: 5, P90: 5, Max: 5}},
		{[]float64{4, 1, 3, 2}, Stats{N: 4, Median: 2.5, P90: 4, Max: 4}},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Stats{N: 10, Median: 5.5, P90: 9, Max: 10}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Stats{N: 11, Median: 6, P90: 10, Max: 11}},
	} {
		if got := Summarise(tt.in); got != tt.want {
			t.Errorf("Summarise(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// handled is a case reported at opened that reached each state at the
// given day offsets (calendar days after opened).
func handled(ref, product, severity, opened string, steps []step, breaches ...string) Case {
	c := Case{Ref: ref, Product: product, Severity: severity, Opened: at(opened)}
	from := cases.Received
	for _, s := range steps {
		c.Moves = append(c.Moves, cases.Move{From: from, To: s.to, At: c.Opened.Add(time.Duration(s.days * float64(24*time.Hour)))})
		from = s.to
	}
	for _, b := range breaches {
		c.Clocks = append(c.Clocks, cases.Clock{Name: b, Overdue: true})
	}
	c.Clocks = append(c.Clocks, cases.Clock{Name: "triage"}) // met: not a breach
	return c
}

type step struct {
	to   cases.State
	days float64
}

// path is the happy path with the milestones at the given days.
func path(triage, accepted, testing, verifying, scheduled, released float64) []step {
	return []step{{cases.Triage, triage}, {cases.Accepted, accepted}, {cases.Fixing, accepted}, {cases.Testing, testing},
		{cases.Verifying, verifying}, {cases.Scheduled, scheduled}, {cases.Released, released}}
}

func TestCompute(t *testing.T) {
	// Monday 2 March 2026, 09:00 UTC, and a month later.
	cs := []Case{
		handled("PD-1", "nginx", "High", "2026-03-02 09:00", append(path(1, 3, 10, 12, 14, 21), step{cases.Closed, 25})),
		handled("PD-2", "nginx", "Critical", "2026-03-02 09:00", path(0.5, 1, 4, 5, 6, 7), "fix"),
		handled("PD-3", "libssl3", "High", "2026-03-02 09:00", path(2, 4, 20, 22, 30, 35), "first response", "fix"),
		handled("PD-4", "nginx", "High", "2026-04-06 09:00", path(3, 5, 15, 16, 17, 28)),
		// Still being fixed, 10 days after it was reported.
		handled("PD-5", "libssl3", "Medium", "2026-04-06 09:00", []step{{cases.Triage, 1}, {cases.Accepted, 2}, {cases.Fixing, 2}}),
	}
	now := at("2026-04-16 09:00")
	r := Compute(cs, now, false)

	row := func(k Key) Row {
		for _, r := range r.Rows {
			if r.Key == k {
				return r
			}
		}
		t.Fatalf("no row %+v", k)
		return Row{}
	}
	all := row(Key{})
	if all.Cases != 5 {
		t.Errorf("all: %d cases", all.Cases)
	}
	want := map[string]Stats{
		"first response":      {N: 5, Median: 1, P90: 3, Max: 3},      // 1, 0.5, 2, 3, 1
		"triaged":             {N: 5, Median: 3, P90: 5, Max: 5},      // 3, 1, 4, 5, 2
		"fix ready":           {N: 4, Median: 12.5, P90: 20, Max: 20}, // 10, 4, 20, 15
		"gate passed":         {N: 4, Median: 14, P90: 22, Max: 22},   // 12, 5, 22, 16
		"researcher verified": {N: 4, Median: 15.5, P90: 30, Max: 30}, // 14, 6, 30, 17
		"released":            {N: 4, Median: 24.5, P90: 35, Max: 35}, // 21, 7, 35, 28
	}
	if diff := cmp.Diff(want, all.Milestones); diff != "" {
		t.Errorf("all cases (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"fix": 2, "first response": 1}, all.Breaches); diff != "" {
		t.Errorf("breaches (-want +got):\n%s", diff)
	}
	march := row(Key{Period: "2026-03"})
	if march.Cases != 3 || march.Milestones["released"] != (Stats{N: 3, Median: 21, P90: 35, Max: 35}) {
		t.Errorf("March: %+v", march)
	}
	nginx := row(Key{Product: "nginx"})
	if nginx.Cases != 3 || nginx.Milestones["fix ready"] != (Stats{N: 3, Median: 10, P90: 15, Max: 15}) || nginx.Breaches["fix"] != 1 {
		t.Errorf("nginx: %+v", nginx)
	}
	high := row(Key{Severity: "High"})
	if high.Cases != 3 || high.Milestones["released"] != (Stats{N: 3, Median: 28, P90: 35, Max: 35}) {
		t.Errorf("High: %+v", high)
	}
	one := row(Key{Period: "2026-04", Product: "libssl3", Severity: "Medium"})
	if one.Cases != 1 || one.Milestones["released"].N != 0 || one.Milestones["triaged"] != (Stats{N: 1, Median: 2, P90: 2, Max: 2}) {
		t.Errorf("April libssl3 Medium: %+v", one)
	}

	// Where the days go: fixing holds cases longest (7+3+16+10+8 days).
	if r.States[0].State != cases.Fixing || r.States[0].TotalDays != 44 || r.States[0].Cases != 5 {
		t.Errorf("heaviest state: %+v", r.States[0])
	}
	for _, s := range r.States {
		if s.State == cases.Released || s.State == cases.Closed {
			t.Errorf("time after release counts as handling time: %+v", s)
		}
	}
}

func TestComputeBusinessDays(t *testing.T) {
	// Reported Friday 09:00, triaged Monday 09:00: three calendar days,
	// one business day.
	c := handled("PD-1", "nginx", "High", "2026-03-06 09:00", []step{{cases.Triage, 3}})
	cal := Compute([]Case{c}, at("2026-03-10 09:00"), false)
	biz := Compute([]Case{c}, at("2026-03-10 09:00"), true)
	if got := cal.Rows[0].Milestones["first response"].Median; got != 3 {
		t.Errorf("calendar: %v days", got)
	}
	if got := biz.Rows[0].Milestones["first response"].Median; got != 1 {
		t.Errorf("business: %v days", got)
	}
}
