package training

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/cwe"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func at(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC)
}

// seedEnd and seedMonths give the window the seed is made for:
// 2026-01 to 2026-04, From 2026-01-01, To 2026-05-01. With four months,
// x = 0..3, x̄ = 1.5 and Σ(x−x̄)² = 2.25+0.25+0.25+2.25 = 5, so a row's
// trend is (−1.5·Jan −0.5·Feb +0.5·Mar +1.5·Apr) / 5.
var (
	seedEnd    = at(2026, time.April, 15, 12)
	seedMonths = 4
)

// seed is ten lessons in the window and two outside it.
func seed() []Lesson {
	return []Lesson{
		{Case: "PD-2026-0001", Team: "Platform", Component: "parser", CWE: 787, Tenet: "Validate input", HowFound: "Fuzzing", At: at(2026, time.January, 10, 9)},
		{Case: "PD-2026-0002", Team: "Platform", Component: "parser", CWE: 125, Tenet: "Validate input", HowFound: "Fuzzing", At: at(2026, time.February, 3, 9)},
		{Case: "PD-2026-0003", Team: "platform", Component: "parser", CWE: 787, Tenet: "Bounds", HowFound: "Code review", At: at(2026, time.March, 20, 9)},
		{Case: "PD-2026-0004", Team: "Web", Component: "frontend", CWE: 79, Tenet: "Encode output", HowFound: "External report", At: at(2026, time.April, 2, 9)},
		{Case: "PD-2026-0005", Team: "Web", Component: "frontend", CWE: 79, Tenet: "Encode output", HowFound: "External report", At: at(2026, time.April, 28, 9)},
		{Case: "PD-2026-0006", Team: "Platform", Component: "storage", CWE: 416, Tenet: "Bounds", HowFound: "Fuzzing", At: at(2026, time.April, 11, 9)},
		{Case: "PD-2026-0007", Team: "Web", Component: "api", CWE: 89, Tenet: "Encode output", HowFound: "Pentest", At: at(2026, time.January, 22, 9)},
		// Nothing but a date: counted under "(none)", and not by weakness.
		{Case: "PD-2026-0008", At: at(2026, time.February, 14, 9)},
		// Exactly From: counted, in January.
		{Case: "PD-2026-0009", Team: "Data", Component: "api", CWE: 89, Tenet: "Encode output", HowFound: "Pentest", At: at(2026, time.January, 1, 0)},
		// Exactly To: not counted.
		{Case: "PD-2026-0010", Team: "Data", Component: "api", CWE: 787, Tenet: "Bounds", HowFound: "Fuzzing", At: at(2026, time.May, 1, 0)},
		// A second before From: not counted, but its team is in Teams.
		{Case: "PD-2025-0099", Team: "Ops", Component: "deploy", CWE: 78, Tenet: "Encode output", HowFound: "Pentest", At: at(2026, time.January, 1, 0).Add(-time.Second)},
		// 22:00 on 31 March in New York is 03:00 on 1 April UTC: April.
		{Case: "PD-2026-0011", Team: "Web", Component: "frontend", CWE: 89, Tenet: "Encode output", HowFound: "Code review",
			At: time.Date(2026, time.March, 31, 22, 0, 0, 0, time.FixedZone("EST", -5*3600))},
	}
}

// Labels of the weaknesses in the seed and their ancestors (CWE 4.15).
const (
	l74  = "CWE-74 Improper Neutralization of Special Elements in Output Used by a Downstream Component ('Injection')"
	l79  = "CWE-79 Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"
	l89  = "CWE-89 Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')"
	l118 = "CWE-118 Incorrect Access of Indexable Resource ('Range Error')"
	l119 = "CWE-119 Improper Restriction of Operations within the Bounds of a Memory Buffer"
	l125 = "CWE-125 Out-of-bounds Read"
	l416 = "CWE-416 Use After Free"
	l664 = "CWE-664 Improper Control of a Resource Through its Lifetime"
	l707 = "CWE-707 Improper Neutralization"
	l787 = "CWE-787 Out-of-bounds Write"
	l825 = "CWE-825 Expired Pointer Dereference"
	l943 = "CWE-943 Improper Neutralization of Special Elements in Data Query Logic"
)

// TestSeedHierarchy checks the primary-parent chains the expected
// roll-ups below rely on: out-of-bounds reads and writes and, through
// CWE-825 Expired Pointer Dereference, use after free all come under
// CWE-119; cross-site scripting and SQL injection meet at CWE-74.
func TestSeedHierarchy(t *testing.T) {
	tests := []struct {
		id   int
		want []int
	}{
		{787, []int{119, 118, 664}},
		{125, []int{119, 118, 664}},
		{416, []int{825, 119, 118, 664}},
		{79, []int{74, 707}},
		{89, []int{943, 74, 707}},
	}
	for _, tt := range tests {
		if got := cwe.Ancestors(tt.id); !slices.Equal(got, tt.want) {
			t.Errorf("cwe.Ancestors(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func row(dim, key, label string, path []string, own, total int, counts []int, trend float64) Row {
	return Row{Dimension: dim, Key: key, Label: label, Path: path, Own: own, Total: total, Counts: counts, Trend: trend, Direction: direction(trend)}
}

func named(dim, key string, total int, counts []int, trend float64) Row {
	return row(dim, key, key, nil, total, total, counts, trend)
}

var (
	memPath = []string{"CWE-664", "CWE-118", "CWE-119"}
	injPath = []string{"CWE-707", "CWE-74"}
)

func TestCompute(t *testing.T) {
	teams := []string{"Data", "Ops", "Platform", "Web"}
	tests := []struct {
		name string
		team string
		want Report
	}{{
		name: "organisation",
		want: Report{
			From:    at(2026, time.January, 1, 0),
			To:      at(2026, time.May, 1, 0),
			Months:  []string{"2026-01", "2026-02", "2026-03", "2026-04"},
			Lessons: 10,
			Teams:   teams,
			// Trend > 0 across the dimensions: frontend 0.9; CWE-79 and
			// External report 0.6 (total 2 each: cwe before how_found);
			// Bounds and Code review 0.4 (total 2: tenet before
			// how_found); at 0.3 Encode output, CWE-74, CWE-707 (total
			// 5), then CWE-416 and CWE-825 (total 1), which make ten:
			// storage (0.3, total 1, component) is the eleventh and cut.
			Worst: []Row{
				named("component", "frontend", 3, []int{0, 0, 0, 3}, 0.9),
				row("cwe", "CWE-79", l79, injPath, 2, 2, []int{0, 0, 0, 2}, 0.6),
				named("how_found", "External report", 2, []int{0, 0, 0, 2}, 0.6),
				named("tenet", "Bounds", 2, []int{0, 0, 1, 1}, 0.4),
				named("how_found", "Code review", 2, []int{0, 0, 1, 1}, 0.4),
				named("tenet", "Encode output", 5, []int{2, 0, 0, 3}, 0.3),
				row("cwe", "CWE-74", l74, []string{"CWE-707"}, 0, 5, []int{2, 0, 0, 3}, 0.3),
				row("cwe", "CWE-707", l707, nil, 0, 5, []int{2, 0, 0, 3}, 0.3),
				row("cwe", "CWE-416", l416, []string{"CWE-664", "CWE-118", "CWE-119", "CWE-825"}, 1, 1, []int{0, 0, 0, 1}, 0.3),
				row("cwe", "CWE-825", l825, memPath, 0, 1, []int{0, 0, 0, 1}, 0.3),
			},
			Dimensions: []Dimension{
				{Key: "tenet", Title: "By tenet", Rows: []Row{
					named("tenet", "Bounds", 2, []int{0, 0, 1, 1}, 0.4),          // (0.5+1.5)/5
					named("tenet", "Encode output", 5, []int{2, 0, 0, 3}, 0.3),   // (−3+4.5)/5
					named("tenet", "(none)", 1, []int{0, 1, 0, 0}, -0.1),         // −0.5/5
					named("tenet", "Validate input", 2, []int{1, 1, 0, 0}, -0.4), // (−1.5−0.5)/5
				}},
				{Key: "cwe", Title: "By weakness (CWE, rolled up)", Rows: []Row{
					row("cwe", "CWE-79", l79, injPath, 2, 2, []int{0, 0, 0, 2}, 0.6), // 3/5
					// 79 and 89 (Jan ×2, Apr ×1) roll up into 74 and 707:
					// (−3+4.5)/5. 74 before 707 by number, not by text.
					row("cwe", "CWE-74", l74, []string{"CWE-707"}, 0, 5, []int{2, 0, 0, 3}, 0.3),
					row("cwe", "CWE-707", l707, nil, 0, 5, []int{2, 0, 0, 3}, 0.3),
					row("cwe", "CWE-416", l416, []string{"CWE-664", "CWE-118", "CWE-119", "CWE-825"}, 1, 1, []int{0, 0, 0, 1}, 0.3),
					row("cwe", "CWE-825", l825, memPath, 0, 1, []int{0, 0, 0, 1}, 0.3),
					// 787 ×2, 125 and 416 roll up into 119 and above: one a
					// month, steady.
					row("cwe", "CWE-118", l118, []string{"CWE-664"}, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-119", l119, []string{"CWE-664", "CWE-118"}, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-664", l664, nil, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-125", l125, memPath, 1, 1, []int{0, 1, 0, 0}, -0.1),                                // −0.5/5
					row("cwe", "CWE-787", l787, memPath, 2, 2, []int{1, 0, 1, 0}, -0.2),                                // (−1.5+0.5)/5
					row("cwe", "CWE-89", l89, []string{"CWE-707", "CWE-74", "CWE-943"}, 3, 3, []int{2, 0, 0, 1}, -0.3), // (−3+1.5)/5
					row("cwe", "CWE-943", l943, injPath, 0, 3, []int{2, 0, 0, 1}, -0.3),
				}},
				{Key: "component", Title: "By component", Rows: []Row{
					named("component", "frontend", 3, []int{0, 0, 0, 3}, 0.9), // 4.5/5
					named("component", "storage", 1, []int{0, 0, 0, 1}, 0.3),  // 1.5/5
					named("component", "(none)", 1, []int{0, 1, 0, 0}, -0.1),
					named("component", "parser", 3, []int{1, 1, 1, 0}, -0.3), // (−1.5−0.5+0.5)/5
					named("component", "api", 2, []int{2, 0, 0, 0}, -0.6),    // −3/5
				}},
				{Key: "how_found", Title: "By how found", Rows: []Row{
					named("how_found", "External report", 2, []int{0, 0, 0, 2}, 0.6),
					named("how_found", "Code review", 2, []int{0, 0, 1, 1}, 0.4),
					// Both −0.1: the larger total first.
					named("how_found", "Fuzzing", 3, []int{1, 1, 0, 1}, -0.1), // (−1.5−0.5+1.5)/5
					named("how_found", "(none)", 1, []int{0, 1, 0, 0}, -0.1),
					named("how_found", "Pentest", 2, []int{2, 0, 0, 0}, -0.6),
				}},
			},
		},
	}, {
		// Case-insensitive: "Platform" and "platform", four lessons.
		name: "team",
		team: "PLATFORM",
		want: Report{
			Team:    "PLATFORM",
			From:    at(2026, time.January, 1, 0),
			To:      at(2026, time.May, 1, 0),
			Months:  []string{"2026-01", "2026-02", "2026-03", "2026-04"},
			Lessons: 4,
			Teams:   teams,
			Worst: []Row{
				named("tenet", "Bounds", 2, []int{0, 0, 1, 1}, 0.4),
				row("cwe", "CWE-416", l416, []string{"CWE-664", "CWE-118", "CWE-119", "CWE-825"}, 1, 1, []int{0, 0, 0, 1}, 0.3),
				row("cwe", "CWE-825", l825, memPath, 0, 1, []int{0, 0, 0, 1}, 0.3),
				named("component", "storage", 1, []int{0, 0, 0, 1}, 0.3),
				named("how_found", "Code review", 1, []int{0, 0, 1, 0}, 0.1),
			},
			Dimensions: []Dimension{
				{Key: "tenet", Title: "By tenet", Rows: []Row{
					named("tenet", "Bounds", 2, []int{0, 0, 1, 1}, 0.4),
					named("tenet", "Validate input", 2, []int{1, 1, 0, 0}, -0.4),
				}},
				{Key: "cwe", Title: "By weakness (CWE, rolled up)", Rows: []Row{
					row("cwe", "CWE-416", l416, []string{"CWE-664", "CWE-118", "CWE-119", "CWE-825"}, 1, 1, []int{0, 0, 0, 1}, 0.3),
					row("cwe", "CWE-825", l825, memPath, 0, 1, []int{0, 0, 0, 1}, 0.3),
					row("cwe", "CWE-118", l118, []string{"CWE-664"}, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-119", l119, []string{"CWE-664", "CWE-118"}, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-664", l664, nil, 0, 4, []int{1, 1, 1, 1}, 0),
					row("cwe", "CWE-125", l125, memPath, 1, 1, []int{0, 1, 0, 0}, -0.1),
					row("cwe", "CWE-787", l787, memPath, 2, 2, []int{1, 0, 1, 0}, -0.2),
				}},
				{Key: "component", Title: "By component", Rows: []Row{
					named("component", "storage", 1, []int{0, 0, 0, 1}, 0.3),
					named("component", "parser", 3, []int{1, 1, 1, 0}, -0.3),
				}},
				{Key: "how_found", Title: "By how found", Rows: []Row{
					named("how_found", "Code review", 1, []int{0, 0, 1, 0}, 0.1), // 0.5/5
					named("how_found", "Fuzzing", 3, []int{1, 1, 0, 1}, -0.1),
				}},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(seed(), Options{End: seedEnd, Months: seedMonths, Team: tt.team})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compute mismatch (-want +got):\n%s", diff)
			}
			// The order of the lessons does not matter.
			rev := seed()
			slices.Reverse(rev)
			if diff := cmp.Diff(got, Compute(rev, Options{End: seedEnd, Months: seedMonths, Team: tt.team})); diff != "" {
				t.Errorf("Compute depends on the order of lessons (-forward +reversed):\n%s", diff)
			}
		})
	}
}

// TestRollUp checks the roll-up against cwe.Ancestors rather than
// against the figures above: the common ancestor of 787 and 125 counts
// both.
func TestRollUp(t *testing.T) {
	var common int
	for _, a := range cwe.Ancestors(787) {
		if slices.Contains(cwe.Ancestors(125), a) {
			common = a
			break
		}
	}
	if common == 0 {
		t.Fatal("CWE-787 and CWE-125 have no common ancestor")
	}
	lessons := []Lesson{
		{CWE: 787, At: at(2026, time.March, 1, 0)},
		{CWE: 787, At: at(2026, time.March, 2, 0)},
		{CWE: 125, At: at(2026, time.March, 3, 0)},
		{CWE: common, At: at(2026, time.March, 4, 0)},
	}
	r := Compute(lessons, Options{End: at(2026, time.March, 31, 0), Months: 1})
	byKey := map[string]Row{}
	for _, row := range r.Dimensions[1].Rows {
		byKey[row.Key] = row
	}
	for _, tt := range []struct {
		id         int
		own, total int
	}{
		{787, 2, 2},
		{125, 1, 1},
		{common, 1, 4},
	} {
		row := byKey[cweKey(tt.id)]
		if row.Own != tt.own || row.Total != tt.total {
			t.Errorf("CWE-%d: own %d total %d, want own %d total %d", tt.id, row.Own, row.Total, tt.own, tt.total)
		}
	}
	// Every ancestor of the common one counts all four.
	for _, a := range cwe.Ancestors(common) {
		if row := byKey[cweKey(a)]; row.Own != 0 || row.Total != 4 {
			t.Errorf("CWE-%d: own %d total %d, want own 0 total 4", a, row.Own, row.Total)
		}
	}
	if len(byKey) != 2+1+len(cwe.Ancestors(common)) {
		t.Errorf("cwe rows %v, want 787, 125, CWE-%d and its ancestors", slices.Sorted(maps.Keys(byKey)), common)
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name     string
		o        Options
		from, to time.Time
		months   []string
	}{
		{
			name:   "year across new year",
			o:      Options{End: at(2026, time.November, 24, 15), Months: 12},
			from:   at(2025, time.December, 1, 0),
			to:     at(2026, time.December, 1, 0),
			months: []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"},
		},
		{
			name:   "default months",
			o:      Options{End: at(2026, time.November, 24, 15)},
			from:   at(2025, time.December, 1, 0),
			to:     at(2026, time.December, 1, 0),
			months: []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"},
		},
		{
			name:   "negative months",
			o:      Options{End: at(2026, time.January, 1, 0), Months: -3},
			from:   at(2025, time.February, 1, 0),
			to:     at(2026, time.February, 1, 0),
			months: []string{"2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01"},
		},
		{
			name:   "end's month in UTC",
			o:      Options{End: time.Date(2026, time.January, 31, 23, 0, 0, 0, time.FixedZone("EST", -5*3600)), Months: 2},
			from:   at(2026, time.January, 1, 0),
			to:     at(2026, time.March, 1, 0),
			months: []string{"2026-01", "2026-02"},
		},
		{
			name:   "one month",
			o:      Options{End: at(2026, time.December, 31, 23), Months: 1},
			from:   at(2026, time.December, 1, 0),
			to:     at(2027, time.January, 1, 0),
			months: []string{"2026-12"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(nil, tt.o)
			if !r.From.Equal(tt.from) || r.From.Location() != time.UTC {
				t.Errorf("From = %v, want %v", r.From, tt.from)
			}
			if !r.To.Equal(tt.to) || r.To.Location() != time.UTC {
				t.Errorf("To = %v, want %v", r.To, tt.to)
			}
			if diff := cmp.Diff(tt.months, r.Months); diff != "" {
				t.Errorf("Months mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBoundaries puts one lesson at a time in the window 2026-01 to
// 2026-03 and checks the month it counts in, or that it is left out.
func TestBoundaries(t *testing.T) {
	o := Options{End: at(2026, time.March, 5, 0), Months: 3}
	tests := []struct {
		name  string
		at    time.Time
		month int // -1: not counted
	}{
		{"exactly From", at(2026, time.January, 1, 0), 0},
		{"just before From", at(2026, time.January, 1, 0).Add(-time.Nanosecond), -1},
		{"last instant of a month", at(2026, time.February, 1, 0).Add(-time.Nanosecond), 0},
		{"first instant of a month", at(2026, time.February, 1, 0), 1},
		{"last instant", at(2026, time.April, 1, 0).Add(-time.Nanosecond), 2},
		{"exactly To", at(2026, time.April, 1, 0), -1},
		{"after End in End's month", at(2026, time.March, 30, 0), 2},
		{"local time before To, UTC at To", time.Date(2026, time.March, 31, 20, 0, 0, 0, time.FixedZone("EDT", -4*3600)), -1},
		{"local time before From, UTC in window", time.Date(2025, time.December, 31, 20, 0, 0, 0, time.FixedZone("EST", -5*3600)), 0},
		{"zero time", time.Time{}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute([]Lesson{{Team: "T", Tenet: "x", At: tt.at}}, o)
			want := 1
			if tt.month < 0 {
				want = 0
			}
			if r.Lessons != want {
				t.Fatalf("Lessons = %d, want %d", r.Lessons, want)
			}
			rows := r.Dimensions[0].Rows
			if want == 0 {
				if len(rows) != 0 {
					t.Errorf("tenet rows %v, want none", rows)
				}
				return
			}
			counts := make([]int, 3)
			counts[tt.month] = 1
			if len(rows) != 1 || !slices.Equal(rows[0].Counts, counts) {
				t.Errorf("tenet rows %v, want one with counts %v", rows, counts)
			}
		})
	}
}

// TestNone covers lessons without names and weaknesses, unknown CWE ids
// and the team list.
func TestNone(t *testing.T) {
	march := at(2026, time.March, 10, 0)
	lessons := []Lesson{
		{Team: "", Component: "", Tenet: "", HowFound: "", CWE: 0, At: march},
		{Team: "  ", Component: " \t", Tenet: "  Least privilege ", HowFound: "(none)", CWE: -4, At: march},
		{Team: "web", Component: "api", Tenet: "Least privilege", HowFound: "Pentest", CWE: 99999, At: march},
		{Team: "Web", Component: "api", Tenet: "Least privilege", HowFound: "Pentest", CWE: 707, At: march}, // a pillar
		{Team: "WEB", Component: "API", Tenet: "Least privilege", HowFound: "Pentest", CWE: 0, At: march},
		{Team: "alpha", At: at(2020, time.January, 1, 0)},
		{Team: "Zulu", At: at(2020, time.January, 1, 0)},
	}
	r := Compute(lessons, Options{End: march, Months: 1})
	want := []Dimension{
		{Key: "tenet", Title: "By tenet", Rows: []Row{
			named("tenet", "Least privilege", 4, []int{4}, 0),
			named("tenet", "(none)", 1, []int{1}, 0),
		}},
		{Key: "cwe", Title: "By weakness (CWE, rolled up)", Rows: []Row{
			row("cwe", "CWE-707", l707, nil, 1, 1, []int{1}, 0),
			row("cwe", "CWE-99999", "CWE-99999", nil, 1, 1, []int{1}, 0),
		}},
		{Key: "component", Title: "By component", Rows: []Row{
			named("component", "(none)", 2, []int{2}, 0),
			named("component", "api", 2, []int{2}, 0),
			named("component", "API", 1, []int{1}, 0), // names are kept as written
		}},
		{Key: "how_found", Title: "By how found", Rows: []Row{
			named("how_found", "Pentest", 3, []int{3}, 0),
			named("how_found", "(none)", 2, []int{2}, 0),
		}},
	}
	if diff := cmp.Diff(want, r.Dimensions); diff != "" {
		t.Errorf("Dimensions mismatch (-want +got):\n%s", diff)
	}
	if r.Lessons != 5 {
		t.Errorf("Lessons = %d, want 5", r.Lessons)
	}
	// Teams ignore case and leave out lessons without one: "Web", "web"
	// and "WEB" are one team, spelt the first way in byte order.
	if diff := cmp.Diff([]string{"alpha", "WEB", "Zulu"}, r.Teams); diff != "" {
		t.Errorf("Teams mismatch (-want +got):\n%s", diff)
	}
	if len(r.Worst) != 0 || r.Worst == nil {
		t.Errorf("Worst = %#v, want empty", r.Worst)
	}

	// No lessons at all: four empty dimensions, and lists that are [] in
	// JSON rather than null.
	empty := Compute(nil, Options{End: march})
	if len(empty.Dimensions) != 4 || empty.Teams == nil || empty.Worst == nil {
		t.Fatalf("empty report %+v", empty)
	}
	for _, d := range empty.Dimensions {
		if d.Rows == nil || len(d.Rows) != 0 {
			t.Errorf("dimension %s rows %#v, want empty", d.Key, d.Rows)
		}
	}
}

func TestTrend(t *testing.T) {
	spike := make([]int, 120)
	spike[59] = 1 // slope −0.5/143990 ≈ −3.5e-6 rounds to −0
	tests := []struct {
		counts []int
		want   float64
	}{
		{nil, 0},
		{[]int{5}, 0},
		{[]int{1, 2, 3}, 1},
		{[]int{3, 2, 1}, -1},
		{[]int{4, 4, 4, 4}, 0},
		{[]int{2, 0, 0, 3}, 0.3},             // (−3+4.5)/5
		{[]int{1, 0, 0}, -0.5},               // x̄ 1, ȳ 1/3: (−1)(2/3) + (1)(−1/3) = −1, over 2
		{[]int{0, 1, 0, 0, 0, 0, 0}, -0.071}, // x̄ 3, Σ(x−x̄)² 28: (1−3)/28 = −0.0714…
		{[]int{0, 0, 0, 0, 0, 0, 1}, 0.107},  // 3/28 = 0.10714…
		{spike, 0},
	}
	for _, tt := range tests {
		got := trend(tt.counts)
		if got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
			t.Errorf("trend(%v) = %v, want %v", tt.counts, got, tt.want)
		}
	}
	// Through Compute too: the row is steady, not falling.
	r := Compute([]Lesson{{Tenet: "x", At: at(2021, time.December, 15, 0)}}, Options{End: at(2026, time.December, 1, 0), Months: 120})
	if rows := r.Dimensions[0].Rows; len(rows) != 1 || rows[0].Trend != 0 || math.Signbit(rows[0].Trend) || rows[0].Direction != steady {
		t.Errorf("rows %+v, want one steady row with trend 0", rows)
	}
}

func goldenReport() Report {
	return Compute(seed(), Options{End: seedEnd, Months: seedMonths})
}

func TestGolden(t *testing.T) {
	r := goldenReport()
	tests := []struct {
		file  string
		write func(*bytes.Buffer, Report) error
	}{
		{"report.csv", func(b *bytes.Buffer, r Report) error { return WriteCSV(b, r) }},
		{"report.json", func(b *bytes.Buffer, r Report) error { return WriteJSON(b, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, r); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got); run go test -update if the change is right:\n%s", path, diff)
			}
		})
	}
}

// TestCSVShape reads the CSV back: a header of the fixed columns and the
// months, and one record per row of every dimension, in order.
func TestCSVShape(t *testing.T) {
	r := goldenReport()
	var b bytes.Buffer
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"dimension", "key", "label", "path", "own", "total", "trend", "direction", "2026-01", "2026-02", "2026-03", "2026-04"}
	if diff := cmp.Diff(wantHeader, recs[0]); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
	var keys []string
	for _, d := range r.Dimensions {
		for _, row := range d.Rows {
			keys = append(keys, d.Key+"/"+row.Key)
		}
	}
	var got []string
	for _, rec := range recs[1:] {
		got = append(got, rec[0]+"/"+rec[1])
	}
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	for _, rec := range recs[1:] {
		if rec[1] == "CWE-416" {
			want := []string{"cwe", "CWE-416", l416, "CWE-664 > CWE-118 > CWE-119 > CWE-825", "1", "1", "0.3", "rising", "0", "0", "0", "1"}
			if diff := cmp.Diff(want, rec); diff != "" {
				t.Errorf("CWE-416 record mismatch (-want +got):\n%s", diff)
			}
		}
	}
}

// TestJSONRoundTrip reads the JSON back into an equal report.
func TestJSONRoundTrip(t *testing.T) {
	r := goldenReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("}\n")) || !bytes.HasPrefix(b.Bytes(), []byte("{\n  \"team\"")) {
		t.Errorf("JSON not indented by two spaces with a trailing newline:\n%s", b.String())
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip mismatch (-wrote +read):\n%s", diff)
	}
}

type failWriter struct{}

var errFail = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestWriteErrors(t *testing.T) {
	r := goldenReport()
	if err := WriteCSV(failWriter{}, r); !errors.Is(err, errFail) {
		t.Errorf("WriteCSV error = %v, want %v", err, errFail)
	}
	if err := WriteJSON(failWriter{}, r); !errors.Is(err, errFail) {
		t.Errorf("WriteJSON error = %v, want %v", err, errFail)
	}
}
