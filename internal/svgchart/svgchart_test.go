package svgchart_test

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/svgchart"
)

var update = flag.Bool("update", false, "rewrite golden files")

var nan = math.NaN()

// goldenCases are the charts kept as testdata/<name>.svg.
var goldenCases = []struct {
	name   string
	render func() string
}{
	{"bars_long_label_notes_unit", func() string {
		return svgchart.Bars("Tenets missed per training", []svgchart.Bar{
			{Label: "Reproduce before you patch", Value: 3, Note: "rising"},
			{Label: "Read the whole advisory before you write the first line of the fix", Value: 2.5},
			{Label: "Ship the smallest fix", Value: 0.33, Note: "falling"},
			{Label: "Never", Value: 0},
		}, svgchart.Options{Unit: "days"})
	}},
	{"bars_all_zero", func() string {
		return svgchart.Bars("Open cases", []svgchart.Bar{
			{Label: "Critical", Value: 0},
			{Label: "High", Value: -1},
			{Label: "Medium", Value: nan, Note: "no report"},
		}, svgchart.Options{})
	}},
	{"bars_empty", func() string {
		return svgchart.Bars("Open cases", nil, svgchart.Options{})
	}},
	{"lines_nan_gap", func() string {
		return svgchart.Lines("Time to fix", []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun"}, []svgchart.Series{
			{Name: "Median", Values: []float64{1, 3, 2, 5, 4, 6}},
			{Name: "Best", Values: []float64{0.5, nan, 1.5, 2, nan, 3}},
		}, svgchart.Options{Unit: "days"})
	}},
	{"lines_24_labels", func() string {
		x := make([]string, 24)
		v := make([]float64, 24)
		for i := range x {
			x[i] = fmt.Sprintf("2025-W%02d", i+1)
			v[i] = float64((i*7)%11) + 0.5
		}
		return svgchart.Lines("Advisories per week", x, []svgchart.Series{{Name: "Published", Values: v}}, svgchart.Options{Width: 720})
	}},
	{"lines_empty", func() string {
		return svgchart.Lines("Time to fix", []string{"Jan", "Feb"}, nil, svgchart.Options{})
	}},
	{"sparkline", func() string {
		return svgchart.Sparkline([]float64{1, 3, 2, 5, 4})
	}},
	{"sparkline_zero", func() string {
		return svgchart.Sparkline([]float64{0, 0, 0})
	}},
	{"sparkline_empty", func() string {
		return svgchart.Sparkline(nil)
	}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.render()
			checkSVG(t, got)
			if again := tc.render(); again != got {
				t.Fatalf("second render differs:\n%s", cmp.Diff(got, again))
			}
			path := filepath.Join("testdata", tc.name+".svg")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		n    int
		want []float64
	}{
		{7, 5, []float64{0, 2, 4, 6, 8}},
		{0.9, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{23, 5, []float64{0, 5, 10, 15, 20, 25}},
		{0, 5, []float64{0, 1}},
		{-3, 5, []float64{0, 1}},
		{math.NaN(), 5, []float64{0, 1}},
		{math.Inf(1), 5, []float64{0, 1}},
		{1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{10, 5, []float64{0, 2, 4, 6, 8, 10}},
		{12, 5, []float64{0, 2.5, 5, 7.5, 10, 12.5}},
		{100, 4, []float64{0, 25, 50, 75, 100}},
		{1000, 1, []float64{0, 1000}},
		{0.003, 5, []float64{0, 0.001, 0.002, 0.003}},
		{7, 0, []float64{0, 10}},
		{1e6, 5, []float64{0, 2e5, 4e5, 6e5, 8e5, 1e6}},
		{0.07, 5, []float64{0, 0.02, 0.04, 0.06, 0.08}},
	} {
		if diff := cmp.Diff(tc.want, svgchart.NiceTicks(tc.max, tc.n)); diff != "" {
			t.Errorf("NiceTicks(%v, %d) (-want +got):\n%s", tc.max, tc.n, diff)
		}
	}
}

func TestNiceTicksExtremes(t *testing.T) {
	for _, max := range []float64{math.MaxFloat64, 1e308, 1e-310, math.SmallestNonzeroFloat64, 1e-9, 123456789} {
		for _, n := range []int{-1, 1, 5, 7, 1000} {
			got := svgchart.NiceTicks(max, n)
			if len(got) < 2 || got[0] != 0 || got[len(got)-1] < max || len(got) > 110 {
				t.Errorf("NiceTicks(%v, %d) = %v", max, n, got)
			}
			for i, v := range got {
				if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= got[i-1]) {
					t.Errorf("NiceTicks(%v, %d) = %v", max, n, got)
					break
				}
			}
		}
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>&"'`
	charts := map[string]string{
		"bars": svgchart.Bars(evil, []svgchart.Bar{{Label: evil, Value: 1, Note: evil}}, svgchart.Options{Unit: evil}),
		"lines": svgchart.Lines(evil, []string{evil, "b"}, []svgchart.Series{{Name: evil, Values: []float64{1, 2}}},
			svgchart.Options{Unit: evil}),
		"nodata": svgchart.Lines(evil, nil, nil, svgchart.Options{}),
	}
	for name, s := range charts {
		if strings.Contains(s, "<script") {
			t.Errorf("%s: unescaped markup:\n%s", name, s)
		}
		checkSVG(t, s)
		if got := rootTitle(t, s); got != evil {
			t.Errorf("%s: <title> = %q, want %q", name, got, evil)
		}
		if !slices.Contains(texts(t, s), evil) {
			t.Errorf("%s: no text element reads %q:\n%s", name, evil, s)
		}
	}
}

func TestBarLabelCut(t *testing.T) {
	long := strings.Repeat("ä", 50)
	s := svgchart.Bars("Cut", []svgchart.Bar{{Label: long, Value: 2}}, svgchart.Options{})
	checkSVG(t, s)
	want := strings.Repeat("ä", 39) + "…"
	if !slices.Contains(texts(t, s), want) {
		t.Errorf("no label cut to 40 runes %q:\n%s", want, s)
	}
	if !strings.Contains(s, "<title>"+long+": 2</title>") {
		t.Errorf("bar tooltip lacks the full label:\n%s", s)
	}
}

func TestDesc(t *testing.T) {
	s := svgchart.Bars("Tenets", []svgchart.Bar{{Label: "Tenet A", Value: 3}, {Label: "Tenet B", Value: 1}}, svgchart.Options{})
	if !strings.Contains(s, "<desc>Tenet A: 3; Tenet B: 1</desc>") {
		t.Errorf("bars desc:\n%s", s)
	}
	s = svgchart.Lines("T", []string{"Jan", "Feb"}, []svgchart.Series{{Name: "A", Values: []float64{1, nan}}}, svgchart.Options{Unit: "days"})
	if !strings.Contains(s, "<desc>Values in days. A: Jan 1, Feb no value</desc>") {
		t.Errorf("lines desc:\n%s", s)
	}
}

func TestXLabelsThinned(t *testing.T) {
	x := make([]string, 24)
	v := make([]float64, 24)
	for i := range x {
		x[i] = fmt.Sprintf("x%02d", i+1)
		v[i] = float64(i)
	}
	s := svgchart.Lines("Thin", x, []svgchart.Series{{Name: "S", Values: v}}, svgchart.Options{})
	var shown []string
	for _, txt := range texts(t, s) {
		if strings.HasPrefix(txt, "x") {
			shown = append(shown, txt)
		}
	}
	want := []string{"x02", "x04", "x06", "x08", "x10", "x12", "x14", "x16", "x18", "x20", "x22", "x24"}
	if diff := cmp.Diff(want, shown); diff != "" {
		t.Errorf("x labels shown (-want +got):\n%s", diff)
	}
	// Every point keeps its tooltip, shown label or not.
	if n := strings.Count(s, "<circle"); n != 24 {
		t.Errorf("%d circles, want 24", n)
	}
}

func TestLinesGapBreaksLine(t *testing.T) {
	s := svgchart.Lines("Gap", []string{"a", "b", "c", "d", "e"}, []svgchart.Series{
		{Name: "S", Values: []float64{1, 2, nan, 3, 4}},
		{Name: "Lone", Values: []float64{nan, 1, nan}}, // short: d and e missing
	}, svgchart.Options{})
	checkSVG(t, s)
	if n := strings.Count(s, "<polyline"); n != 2 {
		t.Errorf("%d polylines, want 2 (one per run of S, none for a single point):\n%s", n, s)
	}
	if n := strings.Count(s, "<circle"); n != 5 {
		t.Errorf("%d circles, want 5", n)
	}
	if !strings.Contains(s, "<title>Lone, b: 1</title>") {
		t.Errorf("missing point tooltip:\n%s", s)
	}
}

func TestNoData(t *testing.T) {
	for name, s := range map[string]string{
		"bars":      svgchart.Bars("T", nil, svgchart.Options{}),
		"no series": svgchart.Lines("T", []string{"a"}, nil, svgchart.Options{}),
		"no x":      svgchart.Lines("T", nil, []svgchart.Series{{Name: "S", Values: []float64{1}}}, svgchart.Options{}),
		"all NaN":   svgchart.Lines("T", []string{"a", "b"}, []svgchart.Series{{Name: "S", Values: []float64{nan, math.Inf(1)}}}, svgchart.Options{}),
	} {
		checkSVG(t, s)
		if !strings.Contains(s, ">No data yet</text>") {
			t.Errorf("%s: no \"No data yet\":\n%s", name, s)
		}
	}
}

// TestOddInputs throws awkward values at every function and checks only
// that the output stays a well-formed chart inside its viewBox.
func TestOddInputs(t *testing.T) {
	odd := []float64{0, -5, nan, math.Inf(1), math.Inf(-1), 1e-310, math.MaxFloat64, 1e15, 0.004, 7}
	var bars []svgchart.Bar
	for i, v := range odd {
		bars = append(bars, svgchart.Bar{Label: strings.Repeat("w", i*9), Value: v, Note: strings.Repeat("n", i*7)})
	}
	x := []string{"", "\x00bad\xff", "tab\there", strings.Repeat("long", 20)}
	series := []svgchart.Series{{Values: odd}, {Name: "neg", Values: []float64{-1, -2, -3, -4}}}
	for i := range 8 {
		series = append(series, svgchart.Series{Name: strings.Repeat("s", i*6), Values: []float64{float64(i), nan, 1}})
	}
	for _, w := range []int{-10, 0, 1, 199, 200, 333, 640, 2000} {
		o := svgchart.Options{Width: w, Unit: "units of work"}
		checkSVG(t, svgchart.Bars("", bars, o))
		checkSVG(t, svgchart.Bars(strings.Repeat("Title ", 40), bars[:1], o))
		checkSVG(t, svgchart.Lines("", x, series, o))
		checkSVG(t, svgchart.Lines("One", []string{"only"}, []svgchart.Series{{Name: "s", Values: []float64{3}}}, o))
		checkSVG(t, svgchart.Lines("Huge", x, []svgchart.Series{{Values: []float64{math.MaxFloat64, 1, math.MaxFloat64}}}, o))
		checkSVG(t, svgchart.Lines("Tiny", x, []svgchart.Series{{Values: []float64{1e-310, 0, 5e-324}}}, o))
	}
	checkSVG(t, svgchart.Sparkline(odd))
	checkSVG(t, svgchart.Sparkline([]float64{4}))
	checkSVG(t, svgchart.Sparkline([]float64{nan, nan}))
}

// checkSVG checks that s is one well-formed svg element: the SVG namespace,
// a <title> first, no id attributes, no NaN or Inf, and every coordinate a
// finite number with at most one decimal inside the viewBox.
func checkSVG(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
		t.Errorf("output contains NaN or Inf:\n%s", s)
	}
	if strings.Contains(s, " id=") {
		t.Errorf("output contains an id attribute:\n%s", s)
	}
	d := xml.NewDecoder(strings.NewReader(s))
	var w, h float64
	depth, roots, children := 0, 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch depth {
			case 0:
				roots++
				if tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root is %v, want svg in the SVG namespace", tok.Name)
				}
				vb := strings.Fields(attr(tok, "viewBox"))
				if len(vb) != 4 || vb[0] != "0" || vb[1] != "0" || attr(tok, "width") != vb[2] || attr(tok, "height") != vb[3] {
					t.Fatalf("viewBox %q does not match width %q and height %q", attr(tok, "viewBox"), attr(tok, "width"), attr(tok, "height"))
				}
				w, h = parseNum(t, vb[2]), parseNum(t, vb[3])
				if attr(tok, "role") != "img" || attr(tok, "class") != "chart" {
					t.Errorf("root lacks role=img class=chart: %v", tok.Attr)
				}
			case 1:
				if children == 0 && tok.Name.Local != "title" {
					t.Errorf("first child is <%s>, want <title>", tok.Name.Local)
				}
				children++
			}
			for _, a := range tok.Attr {
				var limit float64
				switch a.Name.Local {
				case "id":
					t.Errorf("id attribute on <%s>", tok.Name.Local)
				case "x", "x1", "x2", "cx", "width":
					limit = w
				case "y", "y1", "y2", "cy", "height":
					limit = h
				case "r":
					limit = 10
				case "points":
					for _, p := range strings.Fields(a.Value) {
						px, py, ok := strings.Cut(p, ",")
						if !ok {
							t.Errorf("bad point %q", p)
						}
						inRange(t, "points x", parseNum(t, px), w)
						inRange(t, "points y", parseNum(t, py), h)
					}
				}
				if limit > 0 && depth > 0 {
					inRange(t, tok.Name.Local+" "+a.Name.Local, parseNum(t, a.Value), limit)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Errorf("%d root elements, want 1", roots)
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		t.Errorf("bad number %q", s)
	}
	if _, frac, ok := strings.Cut(s, "."); ok && len(frac) > 1 {
		t.Errorf("number %q has more than one decimal", s)
	}
	return v
}

func inRange(t *testing.T, what string, v, limit float64) {
	t.Helper()
	if v < 0 || v > limit {
		t.Errorf("%s = %v outside [0, %v]", what, v, limit)
	}
}

// rootTitle is the text of the svg's <title>.
func rootTitle(t *testing.T, s string) string {
	t.Helper()
	var doc struct {
		Title string `xml:"title"`
	}
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Title
}

// texts returns the character data of every <text> element, tspans included.
func texts(t *testing.T, s string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out []string
	var cur *strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "text" {
				cur = &strings.Builder{}
			}
		case xml.EndElement:
			if tok.Name.Local == "text" && cur != nil {
				out = append(out, cur.String())
				cur = nil
			}
		case xml.CharData:
			if cur != nil {
				cur.Write(tok)
			}
		}
	}
}
