package cases

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Doc is what duplicate detection compares of a case.
type Doc struct {
	Ref     string
	Product string
	CWE     int
	Text    string // title and description
	State   State
}

// Suggestion is a likely duplicate and why it is likely.
type Suggestion struct {
	Ref   string
	Score float64 // 0..1, higher is likelier
	Why   string
}

// minShared is the share of distinct words two reports must have in
// common to be suggested on text alone.
const minShared = 0.3

// SuggestDuplicates ranks the other cases that may report the same flaw
// as target: the same product and a similar text, or the same weakness in
// the same product. Closed-out cases are skipped. At most max are
// returned, likeliest first.
func SuggestDuplicates(target Doc, others []Doc, max int) []Suggestion {
	tw := words(target.Text)
	var out []Suggestion
	for _, o := range others {
		if o.Ref == target.Ref || (Terminal(o.State) && o.State != Closed) {
			continue
		}
		sameProduct := target.Product != "" && strings.EqualFold(strings.TrimSpace(target.Product), strings.TrimSpace(o.Product))
		if !sameProduct {
			continue
		}
		shared := jaccard(tw, words(o.Text))
		sameCWE := target.CWE != 0 && target.CWE == o.CWE
		if shared < minShared && !sameCWE {
			continue
		}
		why := []string{"same product " + o.Product}
		if shared > 0 {
			why = append(why, fmt.Sprintf("%.0f%% of words shared in title and description", shared*100))
		}
		score := 0.5*shared + 0.2
		if sameCWE {
			why = append(why, fmt.Sprintf("same weakness CWE-%d", o.CWE))
			score += 0.3
		}
		out = append(out, Suggestion{Ref: o.Ref, Score: score, Why: strings.Join(why, "; ")})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

// stop words carry no meaning for matching reports.
var stop = map[string]bool{"the": true, "a": true, "an": true, "and": true, "or": true, "of": true, "in": true, "on": true,
	"to": true, "is": true, "it": true, "for": true, "with": true, "by": true, "be": true, "this": true, "that": true, "as": true,
	"at": true, "from": true, "are": true, "was": true, "can": true, "not": true}

// words returns the distinct lower-case words of s, without stop words.
func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
	}) {
		if len(w) > 1 && !stop[w] {
			out[w] = true
		}
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
