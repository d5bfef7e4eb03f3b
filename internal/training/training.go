// Package training turns post-mortem lessons into secure-coding training
// reports: what an organisation (or one team) should teach, and which
// lessons are getting worse. Each complete post-mortem counts once, in the
// month its fix was released, under its tenet, its weakness, its component
// and how the flaw was found. Weaknesses are rolled up the CWE Research
// Concepts hierarchy, so that a year of out-of-bounds reads and writes and
// use-after-frees shows up as one memory-safety topic (CWE-119) as well as
// separately. Every row carries monthly counts and their least-squares
// trend; the rising rows, worst first, are what the next training should
// cover.
//
// The package is pure: callers load the lessons, and the report is written
// to an io.Writer as CSV (for a spreadsheet) or JSON.
package training

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/cwe"
)

// Lesson is one complete post-mortem as the reports count it.
type Lesson struct {
	Case      string    `json:"case"`      // case ref, e.g. "PD-2026-0001"
	Team      string    `json:"team"`      // the team that owns the component
	Component string    `json:"component"` // where the flaw was
	CWE       int       `json:"cwe"`       // 0 if none
	Tenet     string    `json:"tenet"`     // tenet title
	HowFound  string    `json:"how_found"` // display title of how the flaw was found
	At        time.Time `json:"at"`        // when its fix was released; the month it counts in (UTC)
}

// Options choose the window and the team a report covers.
type Options struct {
	End    time.Time // the report covers the Months calendar months (UTC) ending with End's month
	Months int       // default 12 when <= 0
	Team   string    // "" for the whole organisation; otherwise only lessons whose Team equals it, ignoring case
}

// defaultMonths is the window when Options.Months is not set.
const defaultMonths = 12

// maxWorst is how many rows Report.Worst holds at most.
const maxWorst = 10

// none is the name lessons with no team, component, tenet or how-found
// are counted under.
const none = "(none)"

// Report is the training report for one window and one team or the whole
// organisation.
type Report struct {
	Team       string      `json:"team"`       // "" = organisation-wide
	From       time.Time   `json:"from"`       // first instant of the first month
	To         time.Time   `json:"to"`         // first instant after the last month
	Months     []string    `json:"months"`     // "2026-01", …; len == Options.Months
	Lessons    int         `json:"lessons"`    // lessons in the window (after the team filter)
	Teams      []string    `json:"teams"`      // every team among all lessons given, sorted ignoring case; for a team picker
	Worst      []Row       `json:"worst"`      // rising rows of every dimension, worst trend first, at most 10
	Dimensions []Dimension `json:"dimensions"` // tenet, cwe, component, how_found, in that order
}

// Dimension is one way of grouping the lessons.
type Dimension struct {
	Key   string `json:"key"`   // "tenet" | "cwe" | "component" | "how_found"
	Title string `json:"title"` // for a heading
	Rows  []Row  `json:"rows"`  // worst trend first
}

// Row is one value of a dimension and the lessons counted under it.
type Row struct {
	Dimension string   `json:"dimension"`
	Key       string   `json:"key"`            // the name; for CWE "CWE-787"
	Label     string   `json:"label"`          // the name; for CWE "CWE-787 Out-of-bounds Write", or just "CWE-n" for an unknown id
	Path      []string `json:"path,omitempty"` // CWE only: ancestor keys from the pillar down to the parent
	Own       int      `json:"own"`            // lessons in the window naming exactly this
	Total     int      `json:"total"`          // lessons in the window counted in this row; for CWE including those naming a descendant
	Counts    []int    `json:"counts"`         // per month, in the order of Report.Months, counted like Total
	Trend     float64  `json:"trend"`          // least-squares slope of Counts, lessons per month, rounded to 3 decimals
	Direction string   `json:"direction"`      // "rising" (Trend > 0), "falling" (< 0) or "steady"
}

// Directions of a row's trend.
const (
	rising  = "rising"
	falling = "falling"
	steady  = "steady"
)

// dimensions in report order.
var dimensions = []struct{ key, title string }{
	{"tenet", "By tenet"},
	{"cwe", "By weakness (CWE, rolled up)"},
	{"component", "By component"},
	{"how_found", "By how found"},
}

const (
	dimTenet = iota
	dimCWE
	dimComponent
	dimHowFound
)

// tally is a row being counted. id is the CWE id in the cwe dimension,
// for ordering keys by number; dim is the dimension's index.
type tally struct {
	Row
	dim int
	id  int
}

// Compute builds the report for the window and team o chooses.
func Compute(lessons []Lesson, o Options) Report {
	n := o.Months
	if n <= 0 {
		n = defaultMonths
	}
	end := o.End.UTC()
	to := time.Date(end.Year(), end.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	from := time.Date(end.Year(), end.Month()+1-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	r := Report{
		Team:   o.Team,
		From:   from,
		To:     to,
		Months: make([]string, n),
		Teams:  teams(lessons),
		Worst:  []Row{},
	}
	for i := range n {
		r.Months[i] = from.AddDate(0, i, 0).Format("2006-01")
	}

	team := strings.TrimSpace(o.Team)
	byDim := make([]map[string]*tally, len(dimensions))
	for d := range byDim {
		byDim[d] = map[string]*tally{}
	}
	// row returns the tally for key in dimension d, making it on first use.
	row := func(d int, key string, newTally func() *tally) *tally {
		t, ok := byDim[d][key]
		if !ok {
			t = newTally()
			t.dim = d
			t.Dimension = dimensions[d].key
			t.Key = key
			t.Counts = make([]int, n)
			byDim[d][key] = t
		}
		return t
	}
	named := func(d int, key string) *tally {
		return row(d, key, func() *tally { return &tally{Row: Row{Label: key}} })
	}
	weakness := func(id int) *tally {
		return row(dimCWE, cweKey(id), func() *tally { return cweTally(id) })
	}
	for _, l := range lessons {
		if team != "" && !strings.EqualFold(strings.TrimSpace(l.Team), team) {
			continue
		}
		at := l.At.UTC()
		if at.Before(from) || !at.Before(to) {
			continue
		}
		m := (at.Year()-from.Year())*12 + int(at.Month()) - int(from.Month())
		r.Lessons++
		count := func(t *tally, own bool) {
			if own {
				t.Own++
			}
			t.Total++
			t.Counts[m]++
		}
		count(named(dimTenet, name(l.Tenet)), true)
		count(named(dimComponent, name(l.Component)), true)
		count(named(dimHowFound, name(l.HowFound)), true)
		if l.CWE > 0 {
			count(weakness(l.CWE), true)
			for _, a := range cwe.Ancestors(l.CWE) {
				count(weakness(a), false)
			}
		}
	}

	var up []*tally
	for d, dim := range dimensions {
		rows := make([]*tally, 0, len(byDim[d]))
		for _, t := range byDim[d] {
			t.Trend = trend(t.Counts)
			t.Direction = direction(t.Trend)
			rows = append(rows, t)
		}
		slices.SortFunc(rows, compareRows)
		out := Dimension{Key: dim.key, Title: dim.title, Rows: make([]Row, len(rows))}
		for i, t := range rows {
			out.Rows[i] = t.Row
			if t.Trend > 0 {
				up = append(up, t)
			}
		}
		r.Dimensions = append(r.Dimensions, out)
	}
	// Each dimension's rows are already in order, so a stable sort by
	// trend, total and dimension keeps them by key within a dimension.
	slices.SortStableFunc(up, func(a, b *tally) int {
		return cmp.Or(
			cmp.Compare(b.Trend, a.Trend),
			cmp.Compare(b.Total, a.Total),
			cmp.Compare(a.dim, b.dim),
		)
	})
	for _, t := range up[:min(len(up), maxWorst)] {
		w := t.Row
		w.Path = slices.Clone(w.Path)
		w.Counts = slices.Clone(w.Counts)
		r.Worst = append(r.Worst, w)
	}
	return r
}

// compareRows orders a dimension's rows worst trend first, then by total,
// then by key (CWE ids by number).
func compareRows(a, b *tally) int {
	if c := cmp.Or(cmp.Compare(b.Trend, a.Trend), cmp.Compare(b.Total, a.Total)); c != 0 {
		return c
	}
	if a.dim == dimCWE && b.dim == dimCWE {
		return cmp.Compare(a.id, b.id)
	}
	return strings.Compare(a.Key, b.Key)
}

// name is the key a lesson's free-text value is counted under.
func name(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return none
	}
	return s
}

func cweKey(id int) string { return "CWE-" + strconv.Itoa(id) }

// cweTally makes the row for weakness id, with its label and its path
// from the pillar down to its parent.
func cweTally(id int) *tally {
	t := &tally{id: id}
	t.Label = cweKey(id)
	if w, ok := cwe.Lookup(id); ok {
		t.Label += " " + w.Name
	}
	anc := cwe.Ancestors(id)
	if len(anc) > 0 {
		t.Path = make([]string, len(anc))
		for i, a := range anc {
			t.Path[len(anc)-1-i] = cweKey(a)
		}
	}
	return t
}

// teams returns the distinct teams of lessons for a team picker. Names
// that differ only in case are one team, as the filter treats them; the
// spelling kept is the first in byte order, so the list does not depend
// on the order of lessons. Lessons without a team are left out: there is
// no team to pick.
func teams(lessons []Lesson) []string {
	seen := map[string]string{}
	for _, l := range lessons {
		t := strings.TrimSpace(l.Team)
		if t == "" {
			continue
		}
		k := strings.ToLower(t)
		if s, ok := seen[k]; !ok || t < s {
			seen[k] = t
		}
	}
	out := make([]string, 0, len(seen))
	for _, t := range seen {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
	})
	return out
}

// trend is the least-squares slope of counts against their index,
// rounded to three decimals, never -0.
func trend(counts []int) float64 {
	n := len(counts)
	if n < 2 {
		return 0
	}
	xm := float64(n-1) / 2
	var ym float64
	for _, y := range counts {
		ym += float64(y)
	}
	ym /= float64(n)
	var sxy, sxx float64
	for x, y := range counts {
		dx := float64(x) - xm
		sxy += dx * (float64(y) - ym)
		sxx += dx * dx
	}
	v := math.Round(sxy/sxx*1000) / 1000
	if v == 0 {
		return 0 // not -0
	}
	return v
}

func direction(trend float64) string {
	switch {
	case trend > 0:
		return rising
	case trend < 0:
		return falling
	}
	return steady
}

// WriteCSV writes every row of every dimension, in dimension order, under
// a header row, with one count column per month.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	header := append([]string{"dimension", "key", "label", "path", "own", "total", "trend", "direction"}, r.Months...)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write training report: %w", err)
	}
	for _, d := range r.Dimensions {
		for _, row := range d.Rows {
			rec := make([]string, 0, len(header))
			rec = append(rec,
				row.Dimension,
				row.Key,
				row.Label,
				strings.Join(row.Path, " > "),
				strconv.Itoa(row.Own),
				strconv.Itoa(row.Total),
				strconv.FormatFloat(row.Trend, 'f', -1, 64),
				row.Direction,
			)
			for _, c := range row.Counts {
				rec = append(rec, strconv.Itoa(c))
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("write training report: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write training report: %w", err)
	}
	return nil
}

// WriteJSON writes the report as JSON indented by two spaces, with a
// trailing newline. Names are written as they are: "<" and "&" in a CWE
// name are not escaped.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write training report: %w", err)
	}
	return nil
}
