// Package cwe is MITRE's Common Weakness Enumeration cut down to what
// patchday needs: the id, name, abstraction and Research Concepts parents
// of every current weakness, for the report form's CWE picker and for
// training reports that roll weaknesses up the hierarchy. The table is
// generated from the catalogue and embedded; nothing here does I/O.
package cwe

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/patchday/patchday"
)

//go:generate go run ./gen -in ../../../shared/testdata/cwe/cwec_v4.15.xml.gz -out cwe.json.gz

//go:embed cwe.json.gz
var tableGz []byte

// Weakness is one current (not deprecated) CWE weakness.
type Weakness struct {
	ID          int
	Name        string
	Abstraction string // Pillar, Class, Base, Variant or Compound
	// Parents are its ChildOf parents in the Research Concepts view
	// (CWE-1000), the primary one first; empty only for a pillar.
	Parents []int
}

// table is the decoded embedded file.
type table struct {
	version    string
	list       []Weakness // by id
	byID       map[int]int
	idText     []string   // decimal ids, by index in list
	lowerName  []string   // by index in list
	aliases    [][]string // lower-case common names, the "('SQL Injection')" part
	deprecated map[int]bool
	categories map[int]string
}

// load decodes the table on first use, so programs that never touch a
// CWE pay nothing.
var load = sync.OnceValues(func() (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tableGz))
	if err != nil {
		return nil, fmt.Errorf("read embedded CWE table: %w", err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("read embedded CWE table: %w", err)
	}
	var f struct {
		Version    string `json:"version"`
		Weaknesses []struct {
			ID          int    `json:"id"`
			Name        string `json:"name"`
			Abstraction string `json:"abstraction"`
			Parents     []int  `json:"parents"`
		} `json:"weaknesses"`
		Deprecated []int `json:"deprecated"`
		Categories []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"categories"`
	}
	if err := json.Unmarshal(js, &f); err != nil {
		return nil, fmt.Errorf("read embedded CWE table: %w", err)
	}
	t := &table{
		version:    f.Version,
		list:       make([]Weakness, len(f.Weaknesses)),
		byID:       make(map[int]int, len(f.Weaknesses)),
		idText:     make([]string, len(f.Weaknesses)),
		lowerName:  make([]string, len(f.Weaknesses)),
		aliases:    make([][]string, len(f.Weaknesses)),
		deprecated: make(map[int]bool, len(f.Deprecated)),
		categories: make(map[int]string, len(f.Categories)),
	}
	for i, w := range f.Weaknesses {
		t.list[i] = Weakness{ID: w.ID, Name: w.Name, Abstraction: w.Abstraction, Parents: w.Parents}
		t.byID[w.ID] = i
		t.idText[i] = strconv.Itoa(w.ID)
		t.lowerName[i] = strings.ToLower(w.Name)
		t.aliases[i] = aliases(t.lowerName[i])
	}
	for _, id := range f.Deprecated {
		t.deprecated[id] = true
	}
	for _, c := range f.Categories {
		t.categories[c.ID] = c.Name
	}
	return t, nil
})

// aliases returns the quoted common names MITRE puts in a name's
// parentheses, as in "... SQL Command ('SQL Injection')", so that a search
// for the name people actually use ranks the entry as a prefix match.
func aliases(name string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(name, "('")
		if !ok {
			return out
		}
		alias, rest, ok := strings.Cut(rest, "')")
		if !ok {
			return out
		}
		out = append(out, alias)
		name = rest
	}
}

// Version returns the CWE catalogue version the table was made from, such
// as "4.15".
func Version() string {
	t, err := load()
	if err != nil {
		return ""
	}
	return t.version
}

// Lookup returns the weakness with the given id. It reports false for
// unknown and deprecated ids and for categories.
func Lookup(id int) (Weakness, bool) {
	t, err := load()
	if err != nil {
		return Weakness{}, false
	}
	i, ok := t.byID[id]
	if !ok {
		return Weakness{}, false
	}
	return t.weakness(i), true
}

// All returns every current weakness by id, for pickers that list them.
func All() []Weakness {
	t, err := load()
	if err != nil {
		return nil
	}
	out := make([]Weakness, len(t.list))
	for i := range t.list {
		out[i] = t.weakness(i)
	}
	return out
}

// weakness returns a copy of the i'th entry that callers may modify.
func (t *table) weakness(i int) Weakness {
	w := t.list[i]
	w.Parents = slices.Clone(w.Parents)
	return w
}

// Parse reads a CWE id as people write it: "CWE-79", "cwe-79" or "79",
// with surrounding space. It refuses anything else, and ids that are not
// current weaknesses, with an error wrapping patchday.ErrInvalid that
// says what to write instead.
func Parse(s string) (int, error) {
	t, err := load()
	if err != nil {
		return 0, fmt.Errorf("parse CWE id: %w", err)
	}
	in := strings.TrimSpace(s)
	digits := in
	if len(in) >= 4 && strings.EqualFold(in[:4], "cwe-") {
		digits = in[4:]
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, patchday.Errorf(patchday.ErrInvalid,
			"%q is not a CWE id: write it as CWE-79, or just 79, or search for the weakness by name", shorten(in))
	}
	if len(digits) > 1 && digits[0] == '0' {
		// Refused so that every id has one written form; suggest it when
		// the number is a weakness.
		if id, err := strconv.Atoi(strings.TrimLeft(digits, "0")); err == nil && t.known(id) {
			return 0, patchday.Errorf(patchday.ErrInvalid, "%q is not a CWE id: write it as CWE-%d", shorten(in), id)
		}
		return 0, patchday.Errorf(patchday.ErrInvalid, "%q is not a CWE id: write it as CWE-79, or just 79", shorten(in))
	}
	id, err := strconv.Atoi(digits)
	if err != nil || len(digits) > 9 { // no CWE id comes near; keeps the int small
		return 0, patchday.Errorf(patchday.ErrInvalid,
			"CWE-%s is not in CWE %s: check the number, or search for the weakness by name", shorten(digits), t.version)
	}
	if t.known(id) {
		return id, nil
	}
	switch name, isCategory := t.categories[id]; {
	case t.deprecated[id]:
		return 0, patchday.Errorf(patchday.ErrInvalid,
			"CWE-%d is deprecated in CWE %s: search for the weakness that replaced it", id, t.version)
	case isCategory:
		return 0, patchday.Errorf(patchday.ErrInvalid,
			"CWE-%d is a category (%s), not a weakness: pick the weakness in it that fits best", id, name)
	default:
		return 0, patchday.Errorf(patchday.ErrInvalid,
			"CWE-%d is not in CWE %s: check the number, or search for the weakness by name", id, t.version)
	}
}

func (t *table) known(id int) bool {
	_, ok := t.byID[id]
	return ok
}

// shorten keeps an error message readable when someone pastes a page
// into the field.
func shorten(s string) string {
	const limit = 40
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// Search returns up to limit weaknesses matching q, best first; limit <= 0
// means all of them. q matches a weakness by id ("79", "CWE-79", or the
// first digits of one) or by name, when every word of q appears in it,
// case-insensitively. An exact id comes first, then names (or their
// quoted common names) that start with q, then the rest; within each,
// the specific weaknesses (Base, Variant, Compound) come before the broad
// ones (Class, then Pillar), and then lower ids first.
func Search(q string, limit int) []Weakness {
	t, err := load()
	if err != nil {
		return nil
	}
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	phrase := strings.Join(words, " ")
	digits := idDigits(words)

	type match struct{ i, tier, rank int }
	var ms []match
	for i, name := range t.lowerName {
		w := &t.list[i]
		tier := -1
		switch {
		case digits != "" && t.idText[i] == digits:
			tier = 0
		case digits != "" && strings.HasPrefix(t.idText[i], digits):
			tier = 2
		case containsAll(name, words):
			tier = 2
			if strings.HasPrefix(name, phrase) || slices.ContainsFunc(t.aliases[i], func(a string) bool {
				return strings.HasPrefix(a, phrase)
			}) {
				tier = 1
			}
		}
		if tier >= 0 {
			ms = append(ms, match{i, tier, abstractionRank(w.Abstraction)})
		}
	}
	slices.SortFunc(ms, func(a, b match) int {
		if a.tier != b.tier {
			return a.tier - b.tier
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return t.list[a.i].ID - t.list[b.i].ID
	})
	if limit > 0 && len(ms) > limit {
		ms = ms[:limit]
	}
	out := make([]Weakness, len(ms))
	for k, m := range ms {
		out[k] = t.weakness(m.i)
	}
	return out
}

// idDigits returns the number in a query that is an id, written as "79",
// "cwe-79", "cwe79" or "cwe 79" (a search box is forgiving where Parse is
// not), or "" if the query is not an id.
func idDigits(words []string) string {
	var s string
	switch {
	case len(words) == 1:
		s = strings.TrimPrefix(strings.TrimPrefix(words[0], "cwe"), "-")
	case len(words) == 2 && (words[0] == "cwe" || words[0] == "cwe-"):
		s = words[1]
	default:
		return ""
	}
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// abstractionRank orders search results: a researcher usually wants the
// specific weakness, not the broad class above it.
func abstractionRank(a string) int {
	switch a {
	case "Base", "Variant", "Compound":
		return 0
	case "Class":
		return 1
	default: // Pillar
		return 2
	}
}

// Ancestors returns the ids above id in the Research Concepts view,
// following primary parents only, nearest first and ending at a pillar.
// It returns nil for a pillar and for ids Lookup does not find.
func Ancestors(id int) []int {
	t, err := load()
	if err != nil {
		return nil
	}
	i, ok := t.byID[id]
	if !ok {
		return nil
	}
	var out []int
	seen := map[int]bool{id: true}
	for len(t.list[i].Parents) > 0 {
		p := t.list[i].Parents[0]
		// The generator warns about loops and unknown parents; stop
		// rather than spin or index a missing entry if one slips in.
		if seen[p] {
			break
		}
		if i, ok = t.byID[p]; !ok {
			break
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
