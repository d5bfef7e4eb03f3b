package cvss_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
)

// Sources of the golden scores (all agree with FIRST's calculators):
//
//	rh31:  RedHatProductSecurity/cvss, tests/vectors_simple31 (v3.1 base scores)
//	rh4:   RedHatProductSecurity/cvss, tests/vectors_simple4 (v4.0 CVSS-B scores)
//	rh4t:  RedHatProductSecurity/cvss, tests/vectors_threat4 (v4.0 CVSS-BT scores)
//	bsi:   ../shared/testdata/formats/csaf/bsi-2022-0001.json, cvss_v3 baseScore
//	first: FIRST's v4.0 calculator, the best-known vector (also go-cvss's own tests)
var golden = []struct {
	src  string
	in   string
	want cvss.Score
}{
	// v3.1
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "Critical"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "Medium"}},
	{"first", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
		cvss.Score{"3.1", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "High"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", // scope changed: PR:L weighs 0.68
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "Critical"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", // capped at 10
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "Critical"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H", // lowest Critical
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H", 9.0, "Critical"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4, "Medium"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N", 3.5, "Low"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "None"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0, "None"}},
	{"bsi", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C", // temporal metrics kept, not scored
		cvss.Score{"3.1", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C", 6.1, "Medium"}},
	// Canonical form: any order in, the specification's order out, X dropped.
	{"rh31", "  CVSS:3.1/S:U/C:H/I:H/A:H/AV:N/AC:L/PR:N/UI:N/E:X/MAV:X \n",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "Critical"}},
	{"rh31", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L",
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L", 9.8, "Critical"}},
	{"rh31", strings.Repeat(" ", 300) + "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // the bound is on what is left
		cvss.Score{"3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "Critical"}},

	// v4.0
	{"first", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "Critical"}},
	{"rh4", "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:L/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:L/SA:N", 9.5, "Critical"}},
	{"rh4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:L/SC:N/SI:L/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:L/SC:N/SI:L/SA:N", 7.1, "High"}},
	{"rh4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:N", 6.9, "Medium"}},
	{"rh4", "CVSS:4.0/AV:N/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:H/SA:N", // lowest Medium
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:H/SA:N", 4.0, "Medium"}},
	{"rh4", "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N", 2.1, "Low"}},
	{"rh4", "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:A/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:P/AC:H/AT:P/PR:L/UI:A/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 1.0, "Low"}},
	{"rh4", "CVSS:4.0/AV:P/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
		cvss.Score{"4.0", "CVSS:4.0/AV:P/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, "None"}},
	// rh4t scores this vector 7.3 with E:A (which scores as the base) and
	// 4.1 with E:U: Base is the base score, whatever the threat.
	{"rh4t", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A",
		cvss.Score{"4.0", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A", 7.3, "High"}},
	{"rh4t", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U",
		cvss.Score{"4.0", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U", 7.3, "High"}},
	// The base metrics of the first v4.0 vector, with others: same Base.
	{"first", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/U:X",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "Critical"}},
	{"first", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MVC:N/MVI:N/MVA:N/S:P/U:Red",
		cvss.Score{"4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MVC:N/MVI:N/MVA:N/S:P/U:Red", 9.3, "Critical"}},
}

func TestParse(t *testing.T) {
	for _, tt := range golden {
		got, err := cvss.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) [%s]: %v", tt.in, tt.src, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) [%s] (-want +got):\n%s", tt.in, tt.src, diff)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // in the message
	}{
		{"empty", "", "a CVSS vector is required"},
		{"blank", " \t\n", "a CVSS vector is required"},
		{"v3.0", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS v3.0 is not accepted"},
		{"v2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS v2 is not accepted"},
		{"v2 in parentheses", "(AV:N/AC:L/Au:N/C:P/I:P/A:P)", "CVSS v2 is not accepted"},
		{"v2 with prefix", "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", "CVSS v2 is not accepted"},
		{"unknown version", "CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", `CVSS version "4.1" is not accepted`},
		{"no prefix", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "starts with its version"},
		{"lower case", "cvss:3.1/av:n/ac:l/pr:n/ui:n/s:u/c:h/i:h/a:h", "is not a CVSS vector"},
		{"garbage", "9.8 critical", "is not a CVSS vector"},
		{"prefix only", "CVSS:3.1", "has no metrics"},
		{"prefix and slash", "CVSS:4.0/", "has no metrics"},
		{"v4.0 only empty metrics", "CVSS:4.0//", "base metrics AV, AC, AT, PR, UI, VC, VI, VA, SC, SI, SA are missing"},
		{"too long", cvss.Example31 + strings.Repeat("/E:X", 60), "at most 256 characters"},

		{"v3.1 missing metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", "base metric S is missing"},
		{"v3.1 missing metrics", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U", "base metrics C, I, A are missing"},
		{"v3.1 duplicated metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L", "metric AV is given more than once"},
		{"v3.1 unknown value", "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `metric AV cannot be "Q"`},
		{"v3.1 v4.0 value", "CVSS:3.1/AV:N/AC:L/PR:N/UI:P/S:U/C:H/I:H/A:H", `metric UI cannot be "P"`},
		{"v3.1 no value", "CVSS:3.1/AV/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "metric AV has no value"},
		{"v3.1 unknown metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/VC:H", `"VC" is not a CVSS v3.1 metric`},
		{"v3.1 trailing slash", cvss.Example31 + "/", "empty metric"},
		{"v3.1 space inside", "CVSS:3.1/AV:N /AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", `metric AV cannot be "N "`},
		{"v3.1 every problem", "CVSS:3.1/AV:Q/AC:L/AC:L/UI:N/S:U/C:H/I:H/A:H", `metric AV cannot be "Q"; metric AC is given more than once; base metric PR is missing`},

		{"v4.0 missing metric", "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "base metric AT is missing"},
		{"v4.0 missing last metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", "base metric SA is missing"},
		{"v4.0 duplicated metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/E:A", "metric E is given more than once"},
		{"v4.0 unknown value", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:X/VI:H/VA:H/SC:N/SI:N/SA:N", `metric VC cannot be "X"`},
		{"v4.0 v3.1 metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/RL:O", `"RL" is not a CVSS v4.0 metric`},
		{"v4.0 out of order", "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "must come in this order"},
		{"v4.0 threat after environmental", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:H/E:A", "must come in this order"},
		{"v4.0 trailing slash", cvss.Example40 + "/", "empty metric"},
		{"v4.0 lower-case value", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red", `metric U cannot be "red"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cvss.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Errorf("Parse(%q): %v is not ErrInvalid", tt.in, err)
			}
			if msg := patchday.Message(err); !strings.Contains(msg, tt.want) {
				t.Errorf("Parse(%q) says %q, want it to say %q", tt.in, msg, tt.want)
			}
			if got != (cvss.Score{}) {
				t.Errorf("Parse(%q) = %+v with an error, want the zero Score", tt.in, got)
			}
		})
	}
}

// TestCanonical checks that one vector written two ways parses to one Score.
func TestCanonical(t *testing.T) {
	pairs := [][2]string{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/RL:X"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/MAV:L", "CVSS:3.1/MAV:L/AV:N/E:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{cvss.Example40, cvss.Example40 + "/E:X/MSI:X/U:X"},
	}
	for _, p := range pairs {
		a, errA := cvss.Parse(p[0])
		b, errB := cvss.Parse(p[1])
		if errA != nil || errB != nil {
			t.Fatalf("Parse: %v, %v", errA, errB)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%q and %q differ (-first +second):\n%s", p[0], p[1], diff)
		}
	}
}

// band is the qualitative rating of a base score: the table in section 5
// of the v3.1 specification and section 6 of the v4.0 one, which agree.
func band(version string, base float64) string {
	switch version {
	case "3.1", "4.0":
		switch {
		case base == 0:
			return "None"
		case base < 4:
			return "Low"
		case base < 7:
			return "Medium"
		case base < 9:
			return "High"
		default:
			return "Critical"
		}
	}
	return ""
}

func FuzzParse(f *testing.F) {
	for _, tt := range golden {
		f.Add(tt.in)
	}
	for _, s := range []string{
		"", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV:N/AC:L/Au:N/C:P/I:P/A:P",
		"CVSS:3.1/", "CVSS:4.0/", "CVSS:4.0", "CVSS:3.1/AV:N/AV:N", cvss.Example40 + "/",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U/CR:L/IR:M/AR:H/MAV:P/MAC:H/MAT:P/MPR:H/MUI:A/MVC:L/MVI:N/MVA:H/MSC:L/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C/RE:H/U:Amber",
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N/E:U/RL:O/RC:U/CR:L/IR:L/AR:L/MAV:P/MAC:H/MPR:H/MUI:R/MS:U/MC:N/MI:N/MA:N",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := cvss.Parse(in)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("Parse(%q): %v is not ErrInvalid", in, err)
			}
			if got != (cvss.Score{}) {
				t.Fatalf("Parse(%q) = %+v with an error", in, got)
			}
			return
		}
		if got.Version != "3.1" && got.Version != "4.0" {
			t.Fatalf("Parse(%q): version %q", in, got.Version)
		}
		if !strings.HasPrefix(got.Vector, "CVSS:"+got.Version+"/") {
			t.Fatalf("Parse(%q): vector %q does not start with its version %s", in, got.Vector, got.Version)
		}
		if !(got.Base >= 0 && got.Base <= 10) { // also catches NaN
			t.Fatalf("Parse(%q): base %v out of [0, 10]", in, got.Base)
		}
		if tenths := got.Base * 10; math.Abs(tenths-math.Round(tenths)) > 1e-9 {
			t.Fatalf("Parse(%q): base %v has more than one decimal", in, got.Base)
		}
		if want := band(got.Version, got.Base); got.Rating != want {
			t.Fatalf("Parse(%q): rating %q for %s base %v, want %q", in, got.Rating, got.Version, got.Base, want)
		}
		again, err := cvss.Parse(got.Vector)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but its vector does not parse: %v", in, got, err)
		}
		if again != got {
			t.Fatalf("Parse(%q) = %+v, but its vector parses to %+v", in, got, again)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct{ name, in string }{
		{"v3.1", cvss.Example31},
		{"v3.1 temporal", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:L/E:F/RL:O/RC:C"},
		{"v4.0", cvss.Example40},
		{"v4.0 threat", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U"},
		{"refused", "CVSS:3.1/AV:Q/AC:L/AC:L/UI:N/S:U/C:H/I:H/A:H"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cvss.Parse(bb.in)
			}
		})
	}
}
