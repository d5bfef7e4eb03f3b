package postmortem

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
)

var testTenets = []Tenet{
	{ID: 1, Title: "Validate all input at trust boundaries"},
	{ID: 2, Title: "Bound every memory access"},
	{ID: 3, Title: "Old advice", Retired: true},
}

func full() Draft {
	return Draft{RootCause: " The parser trusted the length field. ", CWE: "CWE-787", Component: "http/header", Team: "Edge",
		IntroducedVersion: "2.1.0", HowFound: "fuzzing", WhyMissed: "No fuzz target covered headers.", TenetID: 2,
		Actions: []DraftAction{{What: "Add a header fuzz target", Owner: "dev@example.com", Due: "2026-12-15"}, {}}}
}

// TestParse: a draft may be incomplete, but what it says must be right;
// every problem is named by its form field at once.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Draft)
		current int64
		fields  []string // problems expected, by field
		missing []string // gaps left after a good parse
	}{
		{name: "complete", edit: func(*Draft) {}},
		{name: "commit instead of version", edit: func(d *Draft) { d.IntroducedVersion, d.IntroducedCommit = "", "a1b2c3d" }},
		{name: "bare CWE number", edit: func(d *Draft) { d.CWE = "787" }},
		{name: "empty draft", edit: func(d *Draft) { *d = Draft{} },
			missing: []string{"root_cause", "cwe", "component", "team", "introduced_version", "how_found", "why_missed", "tenet", "actions"}},
		{name: "unknown CWE", edit: func(d *Draft) { d.CWE = "CWE-999999" }, fields: []string{"cwe"}},
		{name: "CWE gibberish", edit: func(d *Draft) { d.CWE = "buffer overflow" }, fields: []string{"cwe"}},
		{name: "unknown method", edit: func(d *Draft) { d.HowFound = "luck" }, fields: []string{"how_found"}},
		{name: "unknown tenet", edit: func(d *Draft) { d.TenetID = 99 }, fields: []string{"tenet"}},
		{name: "retired tenet newly chosen", edit: func(d *Draft) { d.TenetID = 3 }, fields: []string{"tenet"}},
		{name: "retired tenet kept", edit: func(d *Draft) { d.TenetID = 3 }, current: 3},
		{name: "action without owner or date", edit: func(d *Draft) { d.Actions = []DraftAction{{What: "x"}} },
			fields: []string{"actions.0.owner", "actions.0.due"}},
		{name: "action with a bad date", edit: func(d *Draft) { d.Actions[0].Due = "15/12/2026" }, fields: []string{"actions.0.due"}},
		{name: "second action without what", edit: func(d *Draft) { d.Actions[1] = DraftAction{Owner: "a", Due: "2027-01-01"} },
			fields: []string{"actions.1.what"}},
		{name: "two-line team", edit: func(d *Draft) { d.Team = "Edge\nCore" }, fields: []string{"team"}},
		{name: "too long root cause", edit: func(d *Draft) { d.RootCause = strings.Repeat("é", maxText+1) }, fields: []string{"root_cause"}},
		{name: "invalid UTF-8", edit: func(d *Draft) { d.Component = "\xff" }, fields: []string{"component"}},
		{name: "too many actions", edit: func(d *Draft) {
			d.Actions = make([]DraftAction, maxActions+1)
			for i := range d.Actions {
				d.Actions[i] = DraftAction{What: "x", Owner: "y", Due: "2027-01-01"}
			}
		}, fields: []string{"actions"}},
		{name: "all wrong at once", edit: func(d *Draft) { d.CWE, d.HowFound, d.TenetID = "x", "y", 42 },
			fields: []string{"cwe", "how_found", "tenet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := full()
			tt.edit(&d)
			var pm PostMortem
			err := d.parse(testTenets, tt.current, &pm)
			var got []string
			for f := range patchday.FieldErrors(err) {
				got = append(got, f)
			}
			if diff := cmp.Diff(tt.fields, got, cmpSorted); diff != "" {
				t.Fatalf("problems (-want +got):\n%s\nerr: %v", diff, err)
			}
			if err != nil {
				return
			}
			var gaps []string
			for _, g := range pm.Missing() {
				gaps = append(gaps, g.Field)
			}
			if diff := cmp.Diff(tt.missing, gaps); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
})

// TestParseFills: the good draft lands trimmed and typed, the empty
// action row dropped.
func TestParseFills(t *testing.T) {
	var pm PostMortem
	if err := full().parse(testTenets, 0, &pm); err != nil {
		t.Fatal(err)
	}
	want := PostMortem{RootCause: "The parser trusted the length field.", CWE: 787, Component: "http/header", Team: "Edge",
		IntroducedVersion: "2.1.0", HowFound: "fuzzing", WhyMissed: "No fuzz target covered headers.", TenetID: 2,
		Actions: []Action{{What: "Add a header fuzz target", Owner: "dev@example.com", Due: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)}}}
	if diff := cmp.Diff(want, pm); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if pm.Complete() {
		t.Error("complete before it was ever saved (revision 0)")
	}
	pm.Revision = 1
	if !pm.Complete() {
		t.Errorf("incomplete: %v", pm.Missing())
	}
}

// FuzzParseDraft: whatever a form or API sends, parsing never panics, and
// what it accepts is clean: valid UTF-8, trimmed, within limits, a known
// CWE and method, dated actions with owners.
func FuzzParseDraft(f *testing.F) {
	f.Add("root", "CWE-79", "comp", "team", "1.0", "abc", "fuzzing", "missed", int64(1), "do", "me", "2026-01-02")
	f.Add("", "", "", "", "", "", "", "", int64(0), "", "", "")
	f.Add("\xff", "CWE-", "\n", "a\rb", "", "", "x", "", int64(-1), "w", "", "2026-13-40")
	f.Fuzz(func(t *testing.T, root, cweID, comp, team, ver, commit, how, why string, tenet int64, what, owner, due string) {
		d := Draft{RootCause: root, CWE: cweID, Component: comp, Team: team, IntroducedVersion: ver, IntroducedCommit: commit,
			HowFound: how, WhyMissed: why, TenetID: tenet, Actions: []DraftAction{{What: what, Owner: owner, Due: due}}}
		var pm PostMortem
		if err := d.parse(testTenets, 0, &pm); err != nil {
			if len(patchday.FieldErrors(err)) == 0 {
				t.Fatalf("a refusal names no field: %v", err)
			}
			return
		}
		for _, s := range []string{pm.RootCause, pm.Component, pm.Team, pm.IntroducedVersion, pm.IntroducedCommit, pm.WhyMissed} {
			if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
				t.Fatalf("accepted an unclean field %q", s)
			}
		}
		if pm.HowFound != "" && MethodTitle(pm.HowFound) == pm.HowFound {
			t.Fatalf("accepted an unknown method %q", pm.HowFound)
		}
		for _, a := range pm.Actions {
			if a.What == "" || a.Owner == "" || a.Due.IsZero() {
				t.Fatalf("accepted an incomplete action %+v", a)
			}
		}
	})
}
