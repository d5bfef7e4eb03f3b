package fleet_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

// example is "security, critical → pilot at once; broad after 3 days if
// pilot failures < 2%", as data.
const example = `[
	{"name": "pilot-at-once", "classifications": ["security", "critical"], "group": "pilot"},
	{"name": "broad-after-pilot", "classifications": ["security", "critical"], "group": "broad",
	 "after": "3d", "since": "pilot", "max_failure_rate": 0.02, "deadline": "7d"}
]`

func exampleRules(t *testing.T) (pilot, broad fleet.Rule) {
	t.Helper()
	rules, err := fleet.ParseRules([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 {
		t.Fatalf("%d rules", len(rules))
	}
	return rules[0], rules[1]
}

func TestParseRules(t *testing.T) {
	pilot, broad := exampleRules(t)
	rate := 0.02
	want := []fleet.Rule{
		{Name: "pilot-at-once", Classifications: []string{"security", "critical"}, Group: "pilot"},
		{Name: "broad-after-pilot", Classifications: []string{"security", "critical"}, Group: "broad",
			After: 72 * time.Hour, Since: "pilot", MaxFailureRate: &rate, Deadline: 7 * 24 * time.Hour},
	}
	if diff := cmp.Diff(want, []fleet.Rule{pilot, broad}); diff != "" {
		t.Errorf("ParseRules (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `[{"name":"pilot-at-once","classifications":["security","critical"],"group":"pilot"},` +
		`{"name":"broad-after-pilot","classifications":["security","critical"],"group":"broad","after":"3d","since":"pilot","max_failure_rate":0.02,"deadline":"7d"}]`
	if string(b) != wantJSON {
		t.Errorf("Marshal = %s\nwant %s", b, wantJSON)
	}
	again, err := fleet.ParseRules(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if rules, err := fleet.ParseRules([]byte(" [] ")); err != nil || len(rules) != 0 {
		t.Errorf("no rules: %v, %v", rules, err)
	}
}

func TestDecideExample(t *testing.T) {
	pilotRule, broadRule := exampleRules(t)
	seen := time.Date(2026, 6, 9, 17, 0, 0, 0, time.UTC)
	security := fleet.Candidate{Classification: "security", Severity: "high", Product: "agent", FirstSeen: seen}
	approved := seen.Add(10 * time.Minute) // approved for pilot by the first rule

	tests := []struct {
		name string
		rule fleet.Rule
		c    fleet.Candidate
		b    fleet.Basis
		now  time.Time
		want fleet.Decision
	}{
		{"pilot at once", pilotRule, security, fleet.Basis{}, approved,
			fleet.Decision{Approve: true, At: seen, Why: `rule "pilot-at-once": security (high), first seen 10m ago`}},
		{"pilot: a feature does not match", pilotRule, fleet.Candidate{Classification: "feature", Product: "agent", FirstSeen: seen}, fleet.Basis{}, approved,
			fleet.Decision{Why: `rule "pilot-at-once": does not match feature update of "agent"`}},
		{"broad: pilot not approved yet", broadRule, security, fleet.Basis{}, approved,
			fleet.Decision{Why: `rule "broad-after-pilot": security (high), waiting for approval for pilot`}},
		{"broad: before 3 days", broadRule, security, fleet.Basis{SinceApproved: approved, Succeeded: 99, Failed: 1}, approved.Add(71 * time.Hour),
			fleet.Decision{At: approved.Add(72 * time.Hour), Why: `rule "broad-after-pilot": security (high), approved for pilot 2d23h ago; waits until 2026-06-12 17:10 UTC (3d after)`}},
		{"broad: after 3 days, 1 of 100 failed", broadRule, security, fleet.Basis{SinceApproved: approved, Succeeded: 99, Failed: 1}, approved.Add(72 * time.Hour),
			fleet.Decision{Approve: true, At: approved.Add(72 * time.Hour), Deadline: approved.Add(72*time.Hour + 7*24*time.Hour),
				Why: `rule "broad-after-pilot": security (high), approved for pilot 3d ago, 1 of 100 failed (1% < 2%)`}},
		{"broad: after 3 days, 1 of 120 failed", broadRule, security, fleet.Basis{SinceApproved: approved, Succeeded: 119, Failed: 1}, approved.Add(80 * time.Hour),
			fleet.Decision{Approve: true, At: approved.Add(72 * time.Hour), Deadline: approved.Add(80*time.Hour + 7*24*time.Hour),
				Why: `rule "broad-after-pilot": security (high), approved for pilot 3d8h ago, 1 of 120 failed (0.8% < 2%)`}},
		{"broad: after 3 days, 3 of 100 failed", broadRule, security, fleet.Basis{SinceApproved: approved, Succeeded: 97, Failed: 3}, approved.Add(96 * time.Hour),
			fleet.Decision{At: approved.Add(72 * time.Hour), Why: `rule "broad-after-pilot": security (high), approved for pilot 4d ago, 3 of 100 failed (3%, not below 2%)`}},
		{"broad: exactly 2% is not below", broadRule, security, fleet.Basis{SinceApproved: approved, Succeeded: 98, Failed: 2}, approved.Add(96 * time.Hour),
			fleet.Decision{At: approved.Add(72 * time.Hour), Why: `rule "broad-after-pilot": security (high), approved for pilot 4d ago, 2 of 100 failed (2%, not below 2%)`}},
		{"broad: no results in pilot", broadRule, security, fleet.Basis{SinceApproved: approved}, approved.Add(96 * time.Hour),
			fleet.Decision{At: approved.Add(72 * time.Hour), Why: `rule "broad-after-pilot": security (high), approved for pilot 4d ago, no install results in pilot yet to judge its failure rate by`}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.rule.Decide(tt.c, tt.b, tt.now)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestDecideMinSucceeded(t *testing.T) {
	r := fleet.Rule{Name: "wide", Group: "wide", Since: "broad", MinSucceeded: 50, After: time.Hour}
	approved := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	now := approved.Add(2 * time.Hour)
	c := fleet.Candidate{Classification: "feature", Product: "agent"}
	if d := r.Decide(c, fleet.Basis{SinceApproved: approved, Succeeded: 49, Failed: 40}, now); d.Approve ||
		d.Why != `rule "wide": feature, approved for broad 2h ago, only 49 of the 50 successful installs required in broad` {
		t.Errorf("49 of 50: %+v", d)
	}
	if d := r.Decide(c, fleet.Basis{SinceApproved: approved, Succeeded: 50, Failed: 40}, now); !d.Approve || !d.Deadline.IsZero() ||
		d.Why != `rule "wide": feature, approved for broad 2h ago, 50 succeeded (at least 50)` {
		t.Errorf("50 of 50: %+v", d)
	}
}

// TestDecideAcrossDST: "3d" is 72 hours of elapsed time, so across a DST
// change the approval comes an hour later or earlier by the clock.
func TestDecideAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	r := fleet.Rule{Name: "later", Group: "broad", After: 72 * time.Hour}
	tests := []struct {
		seen time.Time
		want string // the approval time by Berlin's clock
	}{
		{time.Date(2026, 3, 27, 9, 0, 0, 0, berlin), "2026-03-30 10:00 CEST"}, // springs forward on the 29th
		{time.Date(2026, 10, 23, 9, 0, 0, 0, berlin), "2026-10-26 08:00 CET"}, // falls back on the 25th
		{time.Date(2026, 6, 5, 9, 0, 0, 0, berlin), "2026-06-08 09:00 CEST"},
	}
	for _, tt := range tests {
		c := fleet.Candidate{Classification: "security", FirstSeen: tt.seen}
		d := r.Decide(c, fleet.Basis{}, tt.seen.Add(71*time.Hour))
		if d.Approve || !d.At.Equal(tt.seen.Add(72*time.Hour)) || d.At.In(berlin).Format("2006-01-02 15:04 MST") != tt.want {
			t.Errorf("seen %s: at 71h %+v; want not yet, until %s", tt.seen, d, tt.want)
		}
		if d := r.Decide(c, fleet.Basis{}, tt.seen.Add(72*time.Hour)); !d.Approve {
			t.Errorf("seen %s: at 72h %+v; want approval", tt.seen, d)
		}
	}
}

func TestMatches(t *testing.T) {
	r := fleet.Rule{Classifications: []string{"security"}, Severities: []string{"high", "critical"}, Products: []string{"agent"}}
	tests := []struct {
		c    fleet.Candidate
		want bool
	}{
		{fleet.Candidate{Classification: "security", Severity: "high", Product: "agent"}, true},
		{fleet.Candidate{Classification: "security", Severity: "low", Product: "agent"}, false},
		{fleet.Candidate{Classification: "feature", Severity: "high", Product: "agent"}, false},
		{fleet.Candidate{Classification: "security", Severity: "critical", Product: "server"}, false},
	}
	for _, tt := range tests {
		if got := r.Matches(tt.c); got != tt.want {
			t.Errorf("Matches(%+v) = %v, want %v", tt.c, got, tt.want)
		}
	}
	if !(fleet.Rule{}).Matches(fleet.Candidate{Classification: "feature", Product: "x"}) {
		t.Error("a rule with no conditions does not match everything")
	}
}

func TestParseRulesRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string // field → part of the problem; "" key = the message
	}{
		{"not an array", `{"name": "a"}`, map[string]string{"": "give the rules as a JSON array"}},
		{"null", `null`, map[string]string{"": "JSON array"}},
		{"trailing data", `[] []`, map[string]string{"": "unexpected data after the value"}},
		{"broken", `[{"name": "a",]`, map[string]string{"": "not a JSON array"}},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{"name":"x","group":"g"},`, 101), ",") + "]", map[string]string{"": "at most 100 rules"}},
		{"unknown field", `[{"name": "a", "group": "pilot", "colour": "red"}]`,
			map[string]string{"rules[0].colour": `in rule "a", unknown field "colour"`}},
		{"unnamed", `[{"group": "pilot"}]`, map[string]string{"rules[0].name": "in the unnamed rule, give the rule a name"}},
		{"duplicate", `[{"name": "a", "group": "pilot"}, {"name": "b", "group": "pilot"}, {"name": "a", "group": "broad"}]`,
			map[string]string{"rules[2].name": `in rule "a", the name is taken by rules[0]`}},
		{"bad durations", `[{"name": "a", "group": "pilot", "after": "3 days", "deadline": "-1d"}, {"name": "b", "group": "broad", "after": 72}]`,
			map[string]string{
				"rules[0].after":    `in rule "a", "3 days" is not a duration: write it like "72h", "90m" or "3d"`,
				"rules[0].deadline": `"-1d" is not a duration (it is negative)`,
				"rules[1].after":    `in rule "b", expected string, not a JSON number`,
			}},
		{"bad values", `[{"name": "a", "classifications": ["securty"], "severities": ["urgent"], "group": "Pilot", "action": "upgrade"}]`,
			map[string]string{
				"rules[0].classifications": `"securty" is not a classification: use security, critical, feature, mitigation`,
				"rules[0].severities":      `"urgent" is not a severity`,
				"rules[0].group":           `"Pilot" is not a group name`,
				"rules[0].action":          `"upgrade" is not an action`,
			}},
		{"no group", `[{"name": "a"}]`, map[string]string{"rules[0].group": "give the group"}},
		{"self since", `[{"name": "a", "group": "pilot", "since": "pilot"}]`,
			map[string]string{"rules[0].since": `cannot wait for its own group "pilot"`}},
		{"circle", `[{"name": "a", "group": "broad", "since": "pilot"}, {"name": "b", "group": "pilot", "since": "broad"}]`,
			map[string]string{"rules[1].since": "in a circle (broad → pilot → broad"}},
		{"long circle", `[{"name": "a", "group": "c", "since": "b"}, {"name": "b", "group": "b", "since": "a"},
			{"name": "c", "group": "a", "since": "c"}, {"name": "d", "group": "z", "since": "a"}]`,
			map[string]string{"rules[1].since": "in a circle (a → c → b → a"}},
		{"conditions need a group", `[{"name": "a", "group": "broad", "since": "release", "max_failure_rate": 0.02, "min_succeeded": 5}]`,
			map[string]string{"rules[0].max_failure_rate": "measured in the group named in since", "rules[0].min_succeeded": "counted in the group named in since"}},
		{"bad rate", `[{"name": "a", "group": "broad", "since": "pilot", "max_failure_rate": 2}]`,
			map[string]string{"rules[0].max_failure_rate": "e.g. 0.02 for 2%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := fleet.ParseRules([]byte(tt.in))
			var pe *patchday.Error
			if !errors.As(err, &pe) || !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("ParseRules = %v, %v; want ErrInvalid", rules, err)
			}
			if part, ok := tt.want[""]; ok {
				if !strings.Contains(pe.Message, part) {
					t.Errorf("message %q, want it to contain %q", pe.Message, part)
				}
				return
			}
			if len(pe.Fields) != len(tt.want) {
				t.Errorf("fields %v, want %d", pe.Fields, len(tt.want))
			}
			for field, part := range tt.want {
				if !strings.Contains(pe.Fields[field], part) {
					t.Errorf("%s: %q, want it to contain %q", field, pe.Fields[field], part)
				}
			}
		})
	}
}

func TestParseRulesAccepts(t *testing.T) {
	in := `[
		{"name": "remove-old", "products": ["legacy-agent"], "group": "all", "action": "remove", "after": "0"},
		{"name": "wide", "group": "wide", "since": "broad", "min_succeeded": 20, "after": "1d12h"},
		{"name": "broad", "group": "broad", "since": "pilot", "after": "72h"},
		{"name": "other-broad", "group": "broad", "since": "canary"},
		{"name": "pilot", "group": "pilot", "since": "release", "severities": ["critical"]}
	]`
	rules, err := fleet.ParseRules([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, fmt.Sprintf("%s %s %s", r.Name, r.Group, fleet.FormatDuration(r.After)))
	}
	want := []string{"remove-old all 0", "wide wide 1d12h", "broad broad 3d", "other-broad broad 0", "pilot pilot 0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
