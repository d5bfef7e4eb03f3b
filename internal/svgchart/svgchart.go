// Package svgchart draws small bar, line and sparkline charts as static SVG
// text on the server, for the training reports and the metrics dashboard,
// which must be readable without JavaScript and print as they look on screen.
//
// Every chart is a single <svg role="img"> element whose first child is a
// <title>, its accessible name, then a <desc> that states the data in words
// (an empty sparkline has only the title). No element carries an id, so several charts can be inlined in one
// page. Colours, dash patterns and fonts are presentation attributes, not
// CSS, so a chart prints unchanged; line series differ by dash pattern as
// well as by colour, so they stay apart in greyscale. All text is
// XML-escaped. Output is deterministic, the same input giving the same
// bytes: coordinates are written with at most one decimal, values with at
// most two.
//
// The package is hand-written on the standard library. Its requirements
// (title and desc on every chart, no ids, attribute styling, dash patterns,
// byte-stable output for golden tests) are specific, the three shapes fit in
// a few hundred lines, and the Go charting packages available either run
// JavaScript, bring a large plotting stack, or are small projects whose
// output format this package would not control.
//
// Text widths are estimated, not measured: a rune is taken as 7 px wide at
// the 12 px font size, which holds for Latin text in common sans-serif fonts.
package svgchart

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bar is one bar of a horizontal bar chart.
type Bar struct {
	Label string  // left of the bar; long labels are cut to 40 runes with "…" (the full label stays in the bar's <title> tooltip)
	Value float64 // >= 0; negative treated as 0
	Note  string  // optional text printed after the value, e.g. "rising"
}

// Series is one line of a line chart.
type Series struct {
	Name   string
	Values []float64 // one per x label; math.NaN() is a missing point: the line breaks there
}

// Options shape a chart. Zero values get defaults.
type Options struct {
	Width int    // total width in px, default 640
	Unit  string // appended to value labels and the y-axis caption, e.g. "days"; "" for counts
}

const (
	defaultWidth = 640
	minWidth     = 200 // narrower requests are widened to this
	pad          = 8   // outer margin
	runeW        = 7   // estimated advance of one rune at font-size 12
	maxLabel     = 40  // runes of a bar label or legend name before it is cut
	maxXLabel    = 12  // runes of an x-axis label before it is cut
	maxXShown    = 12  // x-axis labels shown at most

	titleY = 20 // baseline of the visible title

	// Bars.
	rowsTop = 30
	rowH    = 22
	barH    = 14

	// Lines.
	plotTop    = 48
	plotH      = 180
	plotBottom = plotTop + plotH
	legendRowH = 18
	legendLine = 28 // length of the line sample in a legend item

	// Sparkline.
	sparkW   = 80
	sparkH   = 18
	sparkPad = 2

	textColor  = "#222"
	mutedColor = "#555"
	axisColor  = "#999"
	gridColor  = "#e0e0e0"
)

// palette is the Okabe–Ito colour-blind-safe set, darkest first.
var palette = [...]string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"}

// dashes tell series apart where colour does not (greyscale print):
// solid, dashed, dotted, dash-dot, dash-dot-dot, sparse dots.
var dashes = [...]string{"", "6 3", "2 2", "8 3 2 3", "12 3 2 3 2 3", "1 4"}

// style returns the stroke colour and dash pattern of series i. Colour and
// dash cycle at different rates, so the first 36 series are all distinct.
func style(i int) (colour, dash string) {
	return palette[i%len(palette)], dashes[(i+i/len(palette))%len(dashes)]
}

func (o Options) width() int {
	switch {
	case o.Width <= 0:
		return defaultWidth
	case o.Width < minWidth:
		return minWidth
	}
	return o.Width
}

// Bars renders a horizontal bar chart, one row per bar, with bar lengths
// proportional to the largest value. NaN and infinite values are drawn as 0.
// An empty bars slice gives a small chart that says "No data yet".
func Bars(title string, bars []Bar, o Options) string {
	w := o.width()
	name := title
	if name == "" {
		name = "Bar chart"
	}
	if len(bars) == 0 {
		return noData(w, name, title)
	}

	vals := make([]float64, len(bars))
	top := 0.0
	labels := make([]string, len(bars))
	longestLabel := 0
	for i, b := range bars {
		v := b.Value
		if !(v > 0) || math.IsInf(v, 1) { // negative, NaN, +Inf
			v = 0
		}
		vals[i] = v
		top = math.Max(top, v)
		labels[i] = cut(b.Label, min(maxLabel, (w/2)/runeW))
		longestLabel = max(longestLabel, runes(labels[i]))
	}

	labelRight := pad + longestLabel*runeW
	barX := labelRight + 8
	avail := w - pad - barX

	// Room after the longest bar for "value unit note": at most half the
	// space, but the value itself always fits; notes are cut to the rest.
	longestValue, longestText := 0, 0
	for i, b := range bars {
		n := runes(withUnit(vals[i], o.Unit))
		longestValue = max(longestValue, n)
		if b.Note != "" {
			n += 1 + runes(b.Note)
		}
		longestText = max(longestText, n)
	}
	valueW := min(longestText*runeW+6, max(avail/2, longestValue*runeW+6), avail-20)
	barMax := float64(avail - valueW)

	h := rowsTop + len(bars)*rowH + pad
	var desc []string
	for i, b := range bars {
		desc = append(desc, b.Label+": "+barText(vals[i], o.Unit, b.Note))
	}

	var c canvas
	c.open(w, h, name, strings.Join(desc, "; "))
	c.title(title, w)
	c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"/>\n",
		num(float64(barX)), num(rowsTop), num(float64(barX)), num(float64(rowsTop+len(bars)*rowH)), axisColor)
	for i, b := range bars {
		rowTop := float64(rowsTop + i*rowH)
		length := 0.0
		if top > 0 {
			length = vals[i] / top * barMax
		}
		if vals[i] > 0 && length < 1 {
			length = 1 // a tiny but non-zero value stays visible
		}
		c.printf("<text x=\"%s\" y=\"%s\" text-anchor=\"end\" fill=\"%s\">%s</text>\n",
			num(float64(labelRight)), num(rowTop+15), textColor, esc(labels[i]))
		c.printf("<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"><title>%s</title></rect>\n",
			num(float64(barX)), num(rowTop+4), num(length), num(barH), palette[0],
			esc(b.Label+": "+barText(vals[i], o.Unit, b.Note)))

		value := withUnit(vals[i], o.Unit)
		c.printf("<text x=\"%s\" y=\"%s\" fill=\"%s\">%s", num(float64(barX)+length+6), num(rowTop+15), textColor, esc(value))
		// A note cut to under 4 runes says nothing; it stays in the tooltip.
		if room := (valueW-6)/runeW - runes(value) - 1; b.Note != "" && room >= 4 {
			c.printf(" <tspan fill=\"%s\">%s</tspan>", mutedColor, esc(cut(b.Note, room)))
		}
		c.printf("</text>\n")
	}
	return c.close()
}

// barText is a bar's value in words: "3 days, rising".
func barText(v float64, unit, note string) string {
	s := withUnit(v, unit)
	if note != "" {
		s += ", " + note
	}
	return s
}

// Lines renders a line chart: one line per series over the x labels, a y
// axis from 0 to the last of NiceTicks, and a legend under the chart.
//
// Values past the last x label are ignored and a series shorter than x is
// missing its last points. NaN and infinite values are missing points.
// Negative values are drawn at 0, their tooltips keeping the real value. A
// series without a name is called "Series N". With no x labels, no series or
// no finite value the chart says "No data yet".
func Lines(title string, x []string, series []Series, o Options) string {
	w := o.width()
	name := title
	if name == "" {
		name = "Line chart"
	}
	value := func(s Series, i int) (float64, bool) {
		if i >= len(s.Values) {
			return 0, false
		}
		v := s.Values[i]
		return v, !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	top, found := 0.0, false
	for _, s := range series {
		for i := range x {
			if v, ok := value(s, i); ok {
				found = true
				top = math.Max(top, v)
			}
		}
	}
	if !found {
		return noData(w, name, title)
	}
	names := make([]string, len(series))
	for i, s := range series {
		names[i] = s.Name
		if names[i] == "" {
			names[i] = "Series " + strconv.Itoa(i+1)
		}
	}

	ticks := NiceTicks(top, 5)
	yMax := ticks[len(ticks)-1]
	tickLabels := make([]string, len(ticks))
	longestTick := 0
	for i, t := range ticks {
		tickLabels[i] = fmtTick(t)
		longestTick = max(longestTick, runes(tickLabels[i]))
	}
	xLabels := make([]string, len(x))
	longestX := 1
	for i, l := range x {
		xLabels[i] = cut(l, maxXLabel)
		longestX = max(longestX, runes(xLabels[i]))
	}

	// x labels are centred on their points, so the plot keeps half the
	// widest label clear on both sides.
	half := longestX * runeW / 2
	left := pad + min(max(longestTick*runeW+6, half), w/4)
	right := w - pad - min(half, w/4)
	plotW := float64(right - left)

	xAt := func(i int) float64 {
		if len(x) == 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + float64(i)*plotW/float64(len(x)-1)
	}
	yAt := func(v float64) float64 {
		return plotBottom - math.Max(v, 0)/yMax*plotH
	}

	// Show every k-th x label, counting back from the last, so that at most
	// maxXShown show and they do not overlap.
	fit := min(maxXShown, max(1, int(plotW)/(longestX*runeW+10)))
	k := (len(x)-1)/fit + 1
	shown := func(i int) bool { return (len(x)-1-i)%k == 0 }

	// Legend layout: items left to right, wrapping at the right margin.
	type item struct{ x, y int }
	legend := make([]item, len(series))
	legendNames := make([]string, len(series))
	lx, ly := pad, plotBottom+38
	for i := range series {
		legendNames[i] = cut(names[i], min(maxLabel, max(1, (w-2*pad-legendLine-6)/runeW)))
		iw := legendLine + 6 + runes(legendNames[i])*runeW
		if lx > pad && lx+iw > w-pad {
			lx, ly = pad, ly+legendRowH
		}
		legend[i] = item{lx, ly}
		lx += iw + 16
	}
	h := ly + 10

	var desc strings.Builder
	if o.Unit != "" {
		desc.WriteString("Values in " + o.Unit + ". ")
	}
	for si, s := range series {
		if si > 0 {
			desc.WriteString("; ")
		}
		desc.WriteString(names[si] + ":")
		for i, l := range x {
			if i > 0 {
				desc.WriteString(",")
			}
			desc.WriteString(" " + l + " ")
			if v, ok := value(s, i); ok {
				desc.WriteString(fmtValue(v))
			} else {
				desc.WriteString("no value")
			}
		}
	}

	var c canvas
	c.open(w, h, name, desc.String())
	c.title(title, w)
	if o.Unit != "" {
		c.printf("<text x=\"%s\" y=\"36\" fill=\"%s\">%s</text>\n", num(pad), mutedColor, esc(cut(o.Unit, (w-2*pad)/runeW)))
	}
	for i, t := range ticks {
		y := num(yAt(t))
		c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"/>\n", num(float64(left)), y, num(float64(right)), y, gridColor)
		c.printf("<text x=\"%s\" y=\"%s\" text-anchor=\"end\" fill=\"%s\">%s</text>\n", num(float64(left-6)), num(yAt(t)+4), textColor, esc(tickLabels[i]))
	}
	c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"/>\n", num(float64(left)), num(plotTop), num(float64(left)), num(plotBottom), axisColor)
	c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"/>\n", num(float64(left)), num(plotBottom), num(float64(right)), num(plotBottom), axisColor)
	for i := range x {
		if !shown(i) {
			continue
		}
		px := num(xAt(i))
		c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\"/>\n", px, num(plotBottom), px, num(plotBottom+4), axisColor)
		c.printf("<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", px, num(plotBottom+16), textColor, esc(xLabels[i]))
	}

	for si, s := range series {
		colour, dash := style(si)
		var run []string
		flush := func() {
			if len(run) > 1 {
				c.printf("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s stroke-linejoin=\"round\"/>\n",
					strings.Join(run, " "), colour, dashAttr(dash))
			}
			run = run[:0]
		}
		for i := range x {
			v, ok := value(s, i)
			if !ok {
				flush()
				continue
			}
			run = append(run, num(xAt(i))+","+num(yAt(v)))
		}
		flush()
		for i := range x {
			v, ok := value(s, i)
			if !ok {
				continue
			}
			c.printf("<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"><title>%s</title></circle>\n",
				num(xAt(i)), num(yAt(v)), colour, esc(names[si]+", "+x[i]+": "+withUnit(v, o.Unit)))
		}
	}

	for si := range series {
		colour, dash := style(si)
		it := legend[si]
		y := num(float64(it.y - 4))
		c.printf("<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
			num(float64(it.x)), y, num(float64(it.x+legendLine)), y, colour, dashAttr(dash))
		c.printf("<text x=\"%s\" y=\"%s\" fill=\"%s\">%s</text>\n", num(float64(it.x+legendLine+6)), num(float64(it.y)), textColor, esc(legendNames[si]))
	}
	return c.close()
}

func dashAttr(dash string) string {
	if dash == "" {
		return ""
	}
	return ` stroke-dasharray="` + dash + `"`
}

// Sparkline renders a tiny 80×18 line chart for a table cell: no axes and
// no visible text, the line scaled to its own largest value, and a dot on
// the last point. Negative, NaN and infinite values are drawn as 0. Its
// <title> gives the count, last and highest values and its <desc> lists
// them all; with no values the svg has only a <title>, "No data yet".
func Sparkline(values []float64) string {
	var c canvas
	if len(values) == 0 {
		c.open(sparkW, sparkH, "No data yet", "")
		return c.close()
	}
	vals := make([]float64, len(values))
	top := 0.0
	for i, v := range values {
		if !(v > 0) || math.IsInf(v, 1) {
			v = 0
		}
		vals[i] = v
		top = math.Max(top, v)
	}
	plural := "s"
	if len(vals) == 1 {
		plural = ""
	}
	words := make([]string, len(vals))
	for i, v := range vals {
		words[i] = fmtValue(v)
	}
	c.open(sparkW, sparkH, fmt.Sprintf("Trend of %d value%s: last %s, highest %s",
		len(vals), plural, fmtValue(vals[len(vals)-1]), fmtValue(top)),
		"Values: "+strings.Join(words, ", "))

	yAt := func(v float64) float64 {
		if top == 0 {
			return sparkH - sparkPad
		}
		return sparkH - sparkPad - v/top*(sparkH-2*sparkPad)
	}
	xAt := func(i int) float64 {
		return sparkPad + float64(i)*(sparkW-2*sparkPad)/float64(len(vals)-1)
	}
	var pts []string
	if len(vals) == 1 {
		y := num(yAt(vals[0]))
		pts = []string{num(sparkPad) + "," + y, num(sparkW-sparkPad) + "," + y}
	} else {
		for i, v := range vals {
			pts = append(pts, num(xAt(i))+","+num(yAt(v)))
		}
	}
	c.printf("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>\n", strings.Join(pts, " "), palette[0])
	last := pts[len(pts)-1]
	lx, ly, _ := strings.Cut(last, ",")
	c.printf("<circle cx=\"%s\" cy=\"%s\" r=\"2\" fill=\"%s\"/>\n", lx, ly, palette[0])
	return c.close()
}

// NiceTicks returns 0, step, 2*step, ... up to the first tick >= max, where
// step is the smallest "nice" number (1, 2, 2.5 or 5 times a power of ten)
// of at least max/n, which gives about n ticks. n is held to 1..100. A max
// that is not positive and finite gives [0, 1].
func NiceTicks(max float64, n int) []float64 {
	if !(max > 0) || math.IsInf(max, 1) {
		return []float64{0, 1}
	}
	if n < 1 {
		n = 1
	}
	if n > 100 {
		n = 100
	}
	raw := max / float64(n)
	e := int(math.Floor(math.Log10(raw)))
	f := raw / math.Pow10(e) // about [1, 10); Log10 may be off at exact powers
	const tol = 1 + 1e-9
	var m int // the step is m × 10^(e-1)
	switch {
	case f <= 1*tol:
		m = 10
	case f <= 2*tol:
		m = 20
	case f <= 2.5*tol:
		m = 25
	case f <= 5*tol:
		m = 50
	default:
		m = 100
	}
	p := e - 1
	// tick computes i×m×10^p so that, say, 3×0.2 is exactly 0.6: dividing
	// an integer by an exact power of ten rounds once.
	tick := func(i int) float64 {
		k := float64(i * m)
		switch {
		case p >= 0:
			return k * math.Pow10(p)
		case p >= -308:
			return k / math.Pow10(-p)
		}
		return k * math.Pow10(p)
	}
	if !(tick(1) > 0) { // max is too small to step through
		return []float64{0, max}
	}
	ticks := []float64{0}
	for i := 1; ; i++ {
		v := tick(i)
		if math.IsInf(v, 1) || i > n+10 { // overflow near MaxFloat64; or a guard
			v = max
		}
		ticks = append(ticks, v)
		if v >= max {
			return ticks
		}
	}
}

// noData is the small chart shown in place of one with nothing to draw.
func noData(w int, name, title string) string {
	var c canvas
	c.open(w, 48, name, "No data yet")
	c.title(title, w)
	c.printf("<text x=\"%s\" y=\"38\" fill=\"%s\">No data yet</text>\n", num(pad), mutedColor)
	return c.close()
}

// canvas accumulates one svg element.
type canvas struct{ b strings.Builder }

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

// open writes the svg start tag, its <title> as the first child, and a
// <desc> unless desc is empty.
func (c *canvas) open(w, h int, name, desc string) {
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" class="chart" font-family="system-ui, sans-serif" font-size="12">`, w, h, w, h)
	c.printf("<title>%s</title>\n", esc(name))
	if desc != "" {
		c.printf("<desc>%s</desc>\n", esc(desc))
	}
}

// title writes the visible heading, cut to the width; none if title is "".
func (c *canvas) title(title string, w int) {
	if title == "" {
		return
	}
	c.printf("<text x=\"%s\" y=\"%s\" font-weight=\"bold\" fill=\"%s\">%s</text>\n",
		num(pad), num(titleY), textColor, esc(cut(title, (w-2*pad)/runeW)))
}

func (c *canvas) close() string {
	c.b.WriteString("</svg>\n")
	return c.b.String()
}

// esc escapes s for XML text and attribute values. It also replaces bytes
// that are not valid UTF-8, and characters XML does not allow, with U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// num formats a coordinate with at most one decimal: 12, 12.5, never
// "-0", "NaN" or "Inf" (a non-finite coordinate would be a bug; it is
// written as 0 rather than break the document).
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	s := strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// fmtValue formats a data value with at most two decimals and no trailing
// zeros: 3, 2.5, 0.33. Values of 10^15 and more use exponent form.
func fmtValue(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// fmtTick formats a tick value exactly: ticks are nice numbers, so the
// shortest representation is short, but may need more than two decimals.
func fmtTick(v float64) string {
	if a := math.Abs(v); a >= 1e15 || (a != 0 && a < 1e-6) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func withUnit(v float64, unit string) string {
	if unit == "" {
		return fmtValue(v)
	}
	return fmtValue(v) + " " + unit
}

func runes(s string) int { return len([]rune(s)) }

// cut shortens s to n runes, the last of them "…", if it is longer.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}
