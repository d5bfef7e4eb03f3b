package cwe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchday/patchday"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		id          int
		ok          bool
		name        string
		abstraction string
		parent      int // primary; 0 for none
	}{
		{79, true, "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')", "Base", 74},
		{89, true, "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')", "Base", 943},
		{1004, true, "Sensitive Cookie Without 'HttpOnly' Flag", "Variant", 732},
		{352, true, "Cross-Site Request Forgery (CSRF)", "Compound", 345},
		{707, true, "Improper Neutralization", "Pillar", 0},
		{1187, false, "", "", 0}, // deprecated
		{16, false, "", "", 0},   // a category
		{1000, false, "", "", 0}, // a view
		{0, false, "", "", 0},
		{-79, false, "", "", 0},
		{99999, false, "", "", 0},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.id)
		if ok != tt.ok || got.Name != tt.name || got.Abstraction != tt.abstraction {
			t.Errorf("Lookup(%d) = %+v, %v; want %q, %s, %v", tt.id, got, ok, tt.name, tt.abstraction, tt.ok)
			continue
		}
		if !ok {
			if got.ID != 0 || got.Parents != nil {
				t.Errorf("Lookup(%d) = %+v for a miss, want the zero Weakness", tt.id, got)
			}
			continue
		}
		if got.ID != tt.id {
			t.Errorf("Lookup(%d).ID = %d", tt.id, got.ID)
		}
		if tt.parent == 0 && len(got.Parents) != 0 || tt.parent != 0 && (len(got.Parents) == 0 || got.Parents[0] != tt.parent) {
			t.Errorf("Lookup(%d).Parents = %v, want primary %d", tt.id, got.Parents, tt.parent)
		}
	}
}

func TestLookupReturnsACopy(t *testing.T) {
	w, _ := Lookup(79)
	w.Parents[0] = 1
	if again, _ := Lookup(79); again.Parents[0] != 74 {
		t.Fatalf("changing a result changed the table: Lookup(79).Parents = %v", again.Parents)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string // part of the message; "" means accepted
	}{
		{"CWE-79", 79, ""},
		{"cwe-79", 79, ""},
		{"Cwe-89", 89, ""},
		{"79", 79, ""},
		{" CWE-79 ", 79, ""},
		{"\tCWE-1004\n", 1004, ""},
		{"", 0, "write it as CWE-79"},
		{"   ", 0, "write it as CWE-79"},
		{"CWE", 0, "write it as CWE-79"},
		{"CWE-", 0, "write it as CWE-79"},
		{"CWE79", 0, "write it as CWE-79"},
		{"CWE 79", 0, "write it as CWE-79"},
		{"CWE--79", 0, "write it as CWE-79"},
		{"CWE_79", 0, "write it as CWE-79"},
		{"CWE‐79", 0, "write it as CWE-79"}, // U+2010 hyphen
		{"+79", 0, "write it as CWE-79"},
		{"-79", 0, "write it as CWE-79"},
		{"79.0", 0, "write it as CWE-79"},
		{"0x4f", 0, "write it as CWE-79"},
		{"٧٩", 0, "write it as CWE-79"}, // Arabic-Indic digits
		{"CWE-79, CWE-89", 0, "write it as CWE-79"},
		{"NVD-CWE-Other", 0, "write it as CWE-79"},
		{"NVD-CWE-noinfo", 0, "write it as CWE-79"},
		{"CWE-079", 0, "write it as CWE-79"},
		{"0089", 0, "write it as CWE-89"},
		{"CWE-000", 0, "write it as CWE-79"},
		{"CWE-099999", 0, "write it as CWE-79"}, // no CWE-99999 to suggest
		{"CWE-0", 0, "not in CWE 4.15"},
		{"CWE-99999", 0, "not in CWE 4.15"},
		{"CWE-1000", 0, "not in CWE 4.15"}, // a view
		{"99999999999999999999999", 0, "not in CWE 4.15"},
		{"CWE-1187", 0, "deprecated"},
		{"cwe-16", 0, "CWE-16 is a category (Configuration), not a weakness"},
		{"CWE-" + strings.Repeat("x", 100), 0, "xxx…"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr == "" {
			if got != tt.want || err != nil {
				t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || got != 0 {
			t.Errorf("Parse(%q) = %d, %v; want an error", tt.in, got, err)
			continue
		}
		if !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("Parse(%q): %v is not ErrInvalid", tt.in, err)
		}
		if msg := patchday.Message(err); !strings.Contains(msg, tt.wantErr) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", tt.in, msg, tt.wantErr)
		}
	}
}

func TestSearch(t *testing.T) {
	tests := []struct {
		q     string
		limit int
		want  []int // the first results, in order
	}{
		{"79", 10, []int{79}},
		{"CWE-79", 10, []int{79}},
		{"cwe 79", 10, []int{79}},
		{" cwe79 ", 10, []int{79}},
		{"sql injection", 10, []int{89, 564}},
		{"SQL Injection", 10, []int{89, 564}},
		{"cross-site scripting", 10, []int{79}},
		{"Improper Neutralization of Input During Web Page", 10, []int{79}},
		{"os command", 10, []int{78}},
		{"path traversal", 10, []int{22}},
		{"use after free", 10, []int{416}},
		{"out-of-bounds write", 10, []int{787}},
		{"1004", 10, []int{1004}},
	}
	for _, tt := range tests {
		got := ids(Search(tt.q, tt.limit))
		if len(got) > tt.limit || len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
			t.Errorf("Search(%q, %d) = %v, want it to start with %v", tt.q, tt.limit, got, tt.want)
		}
	}

	for _, q := range []string{"", "   ", "zzzz", "sql zzzz", "cwe-", "0x4f"} {
		if got := Search(q, 10); len(got) != 0 {
			t.Errorf("Search(%q, 10) = %v, want nothing", q, ids(got))
		}
	}

	// "79" also finds 790-799 and 7900…, the ids a researcher may be
	// typing, after CWE-79 itself.
	got := ids(Search("79", 0))
	for _, id := range got[1:] {
		if !strings.HasPrefix(fmt.Sprint(id), "79") {
			t.Errorf("Search(\"79\", 0) has CWE-%d", id)
		}
	}
	if !slices.Contains(got, 798) {
		t.Errorf("Search(\"79\", 0) = %v, want 798 in it", got)
	}

	// Every word must appear, and limit <= 0 means all.
	all := Search("injection", 0)
	if len(all) < 10 {
		t.Errorf("Search(\"injection\", 0) found %d, want 10 or more", len(all))
	}
	for _, w := range all {
		if !strings.Contains(strings.ToLower(w.Name), "injection") {
			t.Errorf("Search(\"injection\") found %d %q", w.ID, w.Name)
		}
	}
	if got := Search("injection", 3); !slices.Equal(ids(got), ids(all[:3])) {
		t.Errorf("Search(\"injection\", 3) = %v, want %v", ids(got), ids(all[:3]))
	}

	// Broad entries come after specific ones: "neutralization" matches
	// the pillar CWE-707 and many bases; the pillar must not lead.
	res := Search("neutralization", 0)
	rank := func(w Weakness) int { return abstractionRank(w.Abstraction) }
	for i := 1; i < len(res); i++ {
		if rank(res[i-1]) > rank(res[i]) {
			t.Errorf("Search(\"neutralization\"): %s CWE-%d before %s CWE-%d",
				res[i-1].Abstraction, res[i-1].ID, res[i].Abstraction, res[i].ID)
			break
		}
	}
}

func TestAncestors(t *testing.T) {
	tests := []struct {
		id   int
		want []int
	}{
		{79, []int{74, 707}},
		{89, []int{943, 74, 707}},
		{707, nil},
		{1187, nil},
		{99999, nil},
	}
	for _, tt := range tests {
		if got := Ancestors(tt.id); !slices.Equal(got, tt.want) {
			t.Errorf("Ancestors(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// TestTable checks properties of every entry, so that a new catalogue
// cannot bring in a loop or a dangling parent unnoticed.
func TestTable(t *testing.T) {
	tb, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if got := Version(); got != "4.15" {
		t.Errorf("Version() = %q, want 4.15", got)
	}
	if len(tb.list) <= 900 {
		t.Errorf("%d weaknesses, want more than 900", len(tb.list))
	}
	if len(tb.deprecated) == 0 || len(tb.categories) == 0 {
		t.Errorf("%d deprecated ids and %d categories, want some of each", len(tb.deprecated), len(tb.categories))
	}
	pillars := 0
	for i, w := range tb.list {
		if i > 0 && tb.list[i-1].ID >= w.ID {
			t.Errorf("CWE-%d follows CWE-%d: the table is not sorted by id", w.ID, tb.list[i-1].ID)
		}
		if got, ok := Lookup(w.ID); !ok || got.Name != w.Name {
			t.Errorf("Lookup(%d) = %+v, %v", w.ID, got, ok)
		}
		if id, err := Parse(fmt.Sprintf("CWE-%d", w.ID)); id != w.ID || err != nil {
			t.Errorf("Parse(CWE-%d) = %d, %v", w.ID, id, err)
		}
		if w.Name == "" || strings.HasPrefix(w.Name, "DEPRECATED") {
			t.Errorf("CWE-%d has name %q", w.ID, w.Name)
		}
		if tb.deprecated[w.ID] {
			t.Errorf("CWE-%d is both current and deprecated", w.ID)
		}
		if _, ok := tb.categories[w.ID]; ok {
			t.Errorf("CWE-%d is both a weakness and a category", w.ID)
		}
		switch w.Abstraction {
		case "Pillar":
			pillars++
			if len(w.Parents) > 0 {
				t.Errorf("pillar CWE-%d has parents %v", w.ID, w.Parents)
			}
		case "Class", "Base", "Variant", "Compound":
			if len(w.Parents) == 0 {
				t.Errorf("%s CWE-%d has no parent", w.Abstraction, w.ID)
			}
		default:
			t.Errorf("CWE-%d has abstraction %q", w.ID, w.Abstraction)
		}
		for _, p := range w.Parents {
			if _, ok := Lookup(p); !ok || p == w.ID {
				t.Errorf("CWE-%d has parent CWE-%d, which is not another current weakness", w.ID, p)
			}
		}
		anc := Ancestors(w.ID)
		if slices.Contains(anc, w.ID) {
			t.Errorf("CWE-%d is its own ancestor: %v", w.ID, anc)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(anc)))) != len(anc) {
			t.Errorf("Ancestors(%d) = %v repeats an id", w.ID, anc)
		}
		if w.Abstraction != "Pillar" {
			if top, _ := Lookup(anc[len(anc)-1]); top.Abstraction != "Pillar" {
				t.Errorf("Ancestors(%d) = %v ends at %s CWE-%d, not a pillar", w.ID, anc, top.Abstraction, top.ID)
			}
		}
	}
	if pillars == 0 {
		t.Error("no pillars")
	}
}

// TestGenerated re-runs the generator the way go generate does and checks
// that the committed table is what it makes, so neither can drift.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator over the whole catalogue")
	}
	args := generateArgs(t)
	in := args[slices.Index(args, "-in")+1]
	if _, err := os.Stat(in); err != nil {
		t.Skipf("no CWE catalogue: %v", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "cwe.json.gz")
	args[slices.Index(args, "-out")+1] = out
	cmd := exec.Command(goBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Logf("generator warnings:\n%s", stderr.Bytes())
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gunzip(t, tableGz), gunzip(t, fresh); !bytes.Equal(got, want) {
		t.Fatalf("cwe.json.gz differs from what the generator makes (%d and %d bytes of JSON): run go generate ./internal/cwe", len(got), len(want))
	}
}

// generateArgs returns the arguments of the go:generate line in cwe.go,
// after "go".
func generateArgs(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("cwe.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate go "); ok {
			args := strings.Fields(rest)
			if !slices.Contains(args, "-in") || !slices.Contains(args, "-out") || args[len(args)-1] == "-in" || args[len(args)-1] == "-out" {
				t.Fatalf("go:generate line %q lacks -in or -out", sc.Text())
			}
			return args
		}
	}
	t.Fatal("no go:generate line in cwe.go")
	return nil
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"CWE-79", "cwe-79", "79", " CWE-79 ", "CWE-1187", "CWE-16", "CWE-079", "CWE-",
		"CWE79", "+79", "-79", "99999999999999999999", "CWE-٧٩", "\u00a0CWE-79\u0085", "cWe-1004"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if id != 0 || !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("Parse(%q) = %d, %v; want 0, ErrInvalid", s, id, err)
			}
			return
		}
		if _, ok := Lookup(id); !ok {
			t.Fatalf("Parse(%q) = %d, which Lookup does not find", s, id)
		}
		if again, err := Parse(fmt.Sprintf("CWE-%d", id)); again != id || err != nil {
			t.Fatalf("Parse(%q) = %d, but Parse(CWE-%d) = %d, %v", s, id, id, again, err)
		}
		// Only the written forms are accepted, nothing that merely
		// contains an id.
		if in := strings.TrimSpace(s); !strings.EqualFold(in, fmt.Sprintf("CWE-%d", id)) && in != fmt.Sprint(id) {
			t.Fatalf("Parse(%q) accepted %d", s, id)
		}
	})
}

func BenchmarkSearch(b *testing.B) {
	for _, q := range []string{"79", "sql injection", "e", "improper neutralization of input"} {
		b.Run(q, func(b *testing.B) {
			Search(q, 20) // load the table outside the timing
			b.ReportAllocs()
			for b.Loop() {
				Search(q, 20)
			}
		})
	}
}

func ids(ws []Weakness) []int {
	out := make([]int, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) < 900 {
		t.Fatalf("All() = %d weaknesses, want the whole table", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Fatalf("All() not in id order at %d: %d then %d", i, all[i-1].ID, all[i].ID)
		}
	}
}
