// Package cvss validates and scores the CVSS vectors that researchers and
// triagers give patchday: CVSS v3.1 and v4.0, nothing older. Parsing and
// scoring are github.com/pandatix/go-cvss; this package decides which
// versions are accepted and turns the library's terse errors into messages
// that say what to fix.
package cvss

import (
	"errors"
	"fmt"
	"strings"

	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/patchday/patchday"
)

// MaxLen bounds a vector. The longest valid v4.0 vector, every optional
// metric included, is under 200 bytes.
const MaxLen = 256

// Examples of valid vectors, shown to whoever typed an invalid one.
const (
	Example31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	Example40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
)

// The versions, as they appear in Score.Version.
const (
	V31 = "3.1"
	V40 = "4.0"
)

// The qualitative ratings; v3.1 and v4.0 use the same bands.
const (
	None     = "None"
	Low      = "Low"
	Medium   = "Medium"
	High     = "High"
	Critical = "Critical"
)

// Score is a valid vector with its base score and rating.
type Score struct {
	Version string  // V31 or V40
	Vector  string  // canonical: metrics in the specification's order, "X" (Not Defined) values dropped
	Base    float64 // 0.0 to 10.0, one decimal
	Rating  string  // None, Low, Medium, High or Critical
}

// base metrics of each version, in the specification's order.
var (
	base31 = []string{"AV", "AC", "PR", "UI", "S", "C", "I", "A"}
	base40 = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}
)

// order40 is how the v4.0 specification orders a vector; the library
// refuses any other order but does not say which metric is out of place.
const order40 = "AV, AC, AT, PR, UI, VC, VI, VA, SC, SI, SA, then any of these, in this order: E, CR, IR, AR, " +
	"MAV, MAC, MAT, MPR, MUI, MVC, MVI, MVA, MSC, MSI, MSA, S, AU, R, V, RE, U"

// Parse validates a CVSS v3.1 or v4.0 vector and computes its base score.
// Surrounding space is ignored. Every refusal is of kind patchday.ErrInvalid,
// with a message that says what is wrong.
//
// For v4.0, Base is the CVSS-B score: it is computed from the base metrics
// alone, even when the vector also carries threat, environmental or
// supplemental metrics (they are kept in Vector). That makes Base mean the
// same for both versions and match CSAF's baseScore.
//
// go-cvss v0.6.4 rounds v4.0 scores without the epsilon FIRST's reference
// calculator adds at x.x5 ties, so a few hundred of the 104,976 base
// vectors score 0.1 below what that calculator shows (e.g.
// CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H: 8.5, not
// 8.6). Ratings are affected only where that 0.1 crosses a band.
func Parse(s string) (Score, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"a CVSS vector is required (e.g. %s or %s)", Example31, Example40)
	case len(s) > MaxLen:
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"a CVSS vector is at most %d characters", MaxLen)
	case s == "CVSS:3.1" || s == "CVSS:3.1/" || s == "CVSS:4.0" || s == "CVSS:4.0/":
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"this CVSS vector has no metrics (e.g. %s or %s)", Example31, Example40)
	case strings.HasPrefix(s, "CVSS:3.1/"):
		return parse31(s)
	case strings.HasPrefix(s, "CVSS:4.0/"):
		return parse40(s)
	case strings.HasPrefix(s, "CVSS:3.0/"):
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"CVSS v3.0 is not accepted: score it with CVSS v3.1 (the same metrics, starting CVSS:3.1/) or v4.0")
	case isV2(s):
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"CVSS v2 is not accepted: score it with CVSS v3.1 or v4.0 (e.g. %s or %s)", Example31, Example40)
	case strings.HasPrefix(s, "CVSS:"):
		version, _, _ := strings.Cut(strings.TrimPrefix(s, "CVSS:"), "/")
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"CVSS version %q is not accepted: write a v3.1 or v4.0 vector (e.g. %s or %s)", version, Example31, Example40)
	case strings.HasPrefix(s, "AV:"):
		return Score{}, patchday.Errorf(patchday.ErrInvalid,
			"a CVSS vector starts with its version, CVSS:3.1/ or CVSS:4.0/ (e.g. %s)", Example31)
	}
	return Score{}, patchday.Errorf(patchday.ErrInvalid,
		"%q is not a CVSS vector (write e.g. %s or %s)", s, Example31, Example40)
}

func parse31(s string) (Score, error) {
	v, err := gocvss31.ParseVector(s)
	if err != nil {
		return Score{}, invalid(V31, s, err, probe31)
	}
	return score(V31, v.Vector(), v.BaseScore(), gocvss31.Rating)
}

func parse40(s string) (Score, error) {
	v, err := gocvss40.ParseVector(s)
	if err != nil {
		return Score{}, invalid(V40, s, err, probe40)
	}
	// Score rates whatever the vector holds (CVSS-BT, -BE or -BTE); the
	// base score is that of the base metrics alone.
	var b gocvss40.CVSS40
	for _, m := range base40 {
		val, err := v.Get(m)
		if err != nil {
			return Score{}, fmt.Errorf("cvss v4.0 base score: %w", err)
		}
		if err := b.Set(m, val); err != nil {
			return Score{}, fmt.Errorf("cvss v4.0 base score: %w", err)
		}
	}
	return score(V40, v.Vector(), b.Score(), gocvss40.Rating)
}

// score assembles a Score, rating base with the version's own Rating (which
// spells ratings in capitals).
func score(version, vector string, base float64, rate func(float64) (string, error)) (Score, error) {
	r, err := rate(base)
	if err != nil {
		return Score{}, fmt.Errorf("rate cvss v%s score %v: %w", version, base, err)
	}
	rating, ok := ratings[r]
	if !ok {
		return Score{}, fmt.Errorf("rate cvss v%s score %v: unknown rating %q", version, base, r)
	}
	return Score{Version: version, Vector: vector, Base: base, Rating: rating}, nil
}

// ratings maps the library's spelling to ours.
var ratings = map[string]string{"NONE": None, "LOW": Low, "MEDIUM": Medium, "HIGH": High, "CRITICAL": Critical}

func isV2(s string) bool {
	if strings.HasPrefix(s, "CVSS:2") {
		return true
	}
	// Only v2 has Authentication (Au); NVD used to wrap v2 vectors in
	// parentheses.
	for part := range strings.SplitSeq(strings.Trim(s, "()"), "/") {
		if strings.HasPrefix(part, "Au:") {
			return true
		}
	}
	return false
}

// probe sets one metric on an empty vector of its version: the library's
// verdict on that metric alone.
type probe func(name, value string) error

func probe31(name, value string) error {
	var v gocvss31.CVSS31
	err := v.Set(name, value)
	var unknown *gocvss31.ErrInvalidMetric
	if errors.As(err, &unknown) {
		return errUnknownMetric
	}
	return err
}

func probe40(name, value string) error {
	var v gocvss40.CVSS40
	err := v.Set(name, value)
	var unknown *gocvss40.ErrInvalidMetric
	if errors.As(err, &unknown) {
		return errUnknownMetric
	}
	return err
}

var errUnknownMetric = errors.New("unknown metric")

// invalid explains why the library refused vector s, listing every problem
// it can find, since the library stops at the first and names the metric
// only sometimes.
func invalid(version, s string, libErr error, set probe) error {
	body := s[len("CVSS:"+version+"/"):]
	example, base := Example31, base31
	if version == V40 {
		example, base = Example40, base40
	}

	var problems []string
	seen := map[string]bool{}
	empty := false
	for part := range strings.SplitSeq(body, "/") {
		if part == "" {
			if !empty {
				problems = append(problems, "there is an empty metric (two / together, or one at the end)")
			}
			empty = true
			continue
		}
		name, value, _ := strings.Cut(part, ":")
		switch err := set(name, value); {
		case errors.Is(err, errUnknownMetric):
			problems = append(problems, fmt.Sprintf("%q is not a CVSS v%s metric", name, version))
			continue
		case err != nil && value == "":
			problems = append(problems, fmt.Sprintf("metric %s has no value (write %s:VALUE)", name, name))
		case err != nil:
			problems = append(problems, fmt.Sprintf("metric %s cannot be %q", name, value))
		}
		if seen[name] {
			problems = append(problems, fmt.Sprintf("metric %s is given more than once", name))
		}
		seen[name] = true
	}
	var missing []string
	for _, m := range base {
		if !seen[m] {
			missing = append(missing, m)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		problems = append(problems, fmt.Sprintf("base metric %s is missing", missing[0]))
	default:
		problems = append(problems, fmt.Sprintf("base metrics %s are missing", strings.Join(missing, ", ")))
	}
	if len(problems) == 0 && errors.Is(libErr, gocvss40.ErrInvalidMetricOrder) {
		problems = append(problems, "the metrics must come in this order: "+order40)
	}
	if len(problems) == 0 {
		// The library saw something the checks above do not name.
		problems = append(problems, libErr.Error())
	}
	return patchday.Errorf(patchday.ErrInvalid, "this CVSS v%s vector is not valid: %s (a valid one: %s)",
		version, strings.Join(problems, "; "), example)
}

// Rank orders ratings: higher is worse, 0 for none given.
func Rank(rating string) int {
	switch rating {
	case Critical:
		return 5
	case High:
		return 4
	case Medium:
		return 3
	case Low:
		return 2
	case None:
		return 1
	}
	return 0
}
