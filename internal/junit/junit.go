// Package junit reads the JUnit XML test reports that CI systems post for a
// fix's test run: how many tests passed, failed, errored and were skipped,
// which ones, and which of them newly broke since the previous run.
//
// It takes the shapes real tools write — go-junit-report, Maven Surefire,
// pytest, PHPUnit — and trusts only the <testcase> elements, never the
// totals in a suite's attributes, which tools get wrong or leave out.
// It streams tokens from encoding/xml rather than taking a JUnit library:
// it needs four element names and three attributes, and streaming is what
// lets it bound depth and case count while it reads.
package junit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
)

// Limits on a report, beyond the caller's byte limit.
const (
	// MaxTestCases is the most test cases a report may hold; large
	// monorepos run tens of thousands.
	MaxTestCases = 200_000
	// MaxNameBytes bounds a test's full name; parametrised tests make
	// long names, but not this long.
	MaxNameBytes = 4096
	// maxDepth bounds element nesting; real reports nest suites a few
	// levels deep, and a bound keeps a hostile one from growing the stack.
	maxDepth = 64
)

// Result is what a report says about one test run.
type Result struct {
	Passed, Failed, Skipped, Errors int // test cases by outcome; Errors are tests that errored rather than failed an assertion

	// Failing names each test that failed or errored, sorted and unique:
	// "classname.name", or "suite/name" when the case has no classname.
	Failing []string
	// Passing names each test that passed, named as in Failing. A name
	// reported both passing and failing (a repeated case) is only in
	// Failing, so Passing means every run of it passed.
	Passing []string

	Duration time.Duration // sum of the test cases' times; a case without a readable time adds nothing
}

// Parse reads a JUnit XML report of at most maxBytes bytes. The root is a
// <testsuites> holding <testsuite> elements, which may nest, or a bare
// <testsuite>. A report that is not such XML, is larger than maxBytes,
// declares a DOCTYPE or entities, or holds no test cases is refused with
// an error of kind patchday.ErrInvalid saying what is wrong; an error
// reading r is returned wrapped.
func Parse(r io.Reader, maxBytes int64) (Result, error) {
	if maxBytes <= 0 {
		return Result{}, fmt.Errorf("parse junit report: byte limit %d is not positive", maxBytes)
	}
	lr := &limitReader{r: r, left: maxBytes}
	d := xml.NewDecoder(lr)
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		// encoding/xml reads only UTF-8; the tools all write it.
		return nil, patchday.Errorf(patchday.ErrInvalid, "the test report is encoded in %.40q; only UTF-8 is supported", charset)
	}
	p := parser{d: d, outcomes: make(map[string]outcome)}
	err := p.run()
	var pe *patchday.Error
	var re readError
	switch {
	case err == nil:
		return p.result(), nil
	case errors.As(err, &re):
		return Result{}, fmt.Errorf("read junit report: %w", re.err)
	case errors.Is(err, errTooLarge):
		return Result{}, patchday.Errorf(patchday.ErrInvalid, "the test report is larger than the limit of %d bytes", maxBytes)
	case errors.As(err, &pe):
		return Result{}, pe
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return Result{}, patchday.Errorf(patchday.ErrInvalid, "the test report is not well-formed XML: line %d: %s", se.Line, se.Msg)
	}
	// encoding/xml's other complaints (an XML version other than 1.0)
	// are about the input too.
	return Result{}, patchday.Errorf(patchday.ErrInvalid, "the test report is not well-formed XML: %s", strings.TrimPrefix(err.Error(), "xml: "))
}

// Regressions returns the tests failing in now that passed in before,
// sorted; nil when there are none.
func Regressions(before, now Result) []string {
	passed := make(map[string]bool, len(before.Passing))
	for _, n := range before.Passing {
		passed[n] = true
	}
	var out []string
	for _, n := range now.Failing {
		if passed[n] {
			out = append(out, n)
		}
	}
	slices.Sort(out) // both lists are sorted when Parse made them; a hand-made Result may not be
	return slices.Compact(out)
}

// errTooLarge is returned by limitReader past the byte limit.
var errTooLarge = errors.New("junit report too large")

// readError marks an error from the caller's reader, to tell it apart
// from a complaint about the XML.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// limitReader reads at most left bytes from r, then fails with
// errTooLarge if r has more.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.left <= 0 {
		// At the limit: is there more?
		var probe [1]byte
		n, err := l.r.Read(probe[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, wrapRead(err)
	}
	if int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	return n, wrapRead(err)
}

func wrapRead(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return readError{err}
}

// kind is what an open element is to the report.
type kind uint8

const (
	other kind = iota
	suites
	suite
	testcase
)

// frame is an open element: its kind and, for a suite, its name.
type frame struct {
	kind  kind
	suite string // name of the innermost suite, for a suite or test case
}

// outcome records how a test name fared across its cases.
type outcome uint8

const (
	passed outcome = 1 << iota
	failed
)

// testCase is the open <testcase> and what its children said.
type testCase struct {
	name                             string
	hasFailure, hasError, hasSkipped bool
}

type parser struct {
	d        *xml.Decoder
	stack    []frame
	root     string // name of the root element, once seen
	rootDone bool
	cur      testCase
	res      Result
	outcomes map[string]outcome
	cases    int
	content  bool // anything but white space seen
}

// run reads tokens to the end of the input.
func (p *parser) run() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			p.content = true
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			p.end()
		case xml.CharData:
			if len(p.stack) == 0 && len(bytes.Trim(t, " \t\r\n\ufeff")) > 0 {
				return p.invalid("the test report is not XML: it has text outside any element")
			}
		case xml.Directive:
			// encoding/xml expands no entities it is not told of, but a
			// JUnit report never needs a DOCTYPE, so one is a sign of
			// something other than a test tool at work.
			return p.invalid("the test report has a DOCTYPE or other <!…> declaration; JUnit reports need none")
		case xml.Comment, xml.ProcInst:
			p.content = true
		}
	}
	switch {
	case p.root == "" && !p.content:
		return patchday.Errorf(patchday.ErrInvalid, "the test report is empty")
	case p.root == "":
		return patchday.Errorf(patchday.ErrInvalid, "the test report has no root element")
	case p.cases == 0:
		return patchday.Errorf(patchday.ErrInvalid, "no test cases in the report")
	}
	return nil
}

func (p *parser) start(t xml.StartElement) error {
	el := t.Name.Local
	if len(p.stack) == 0 {
		if p.rootDone {
			return p.invalid("the test report has a second root element <%.40s> after </%s>", el, p.root)
		}
		if el != "testsuites" && el != "testsuite" {
			return p.invalid("the root element is <%.40s>; a JUnit report's is <testsuites> or <testsuite>", el)
		}
		p.root = el
	}
	if len(p.stack) == maxDepth {
		return p.invalid("the test report nests elements more than %d deep", maxDepth)
	}
	parent := frame{kind: suites} // what holds the root
	if len(p.stack) > 0 {
		parent = p.stack[len(p.stack)-1]
	}
	f := frame{kind: other}
	switch {
	case parent.kind == suites && el == "testsuites" && len(p.stack) == 0:
		f.kind = suites
	case (parent.kind == suites || parent.kind == suite) && el == "testsuite":
		f = frame{kind: suite, suite: attr(t, "name")}
	case (parent.kind == suites || parent.kind == suite) && el == "testcase":
		if p.cases == MaxTestCases {
			return p.invalid("the test report has more than %d test cases", MaxTestCases)
		}
		p.cases++
		name, err := p.caseName(t, parent.suite)
		if err != nil {
			return err
		}
		p.cur = testCase{name: name}
		if d, ok := seconds(attr(t, "time")); ok {
			p.res.Duration = addSat(p.res.Duration, d)
		}
		f = frame{kind: testcase, suite: parent.suite}
	case parent.kind == testcase:
		switch el {
		case "failure":
			p.cur.hasFailure = true
		case "error":
			p.cur.hasError = true
		case "skipped":
			p.cur.hasSkipped = true
		}
	}
	p.stack = append(p.stack, f)
	return nil
}

func (p *parser) end() {
	// encoding/xml has checked that end tags match their start tags.
	f := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if len(p.stack) == 0 {
		p.rootDone = true
	}
	if f.kind != testcase {
		return
	}
	// A case can carry more than one verdict — pytest adds <error> to a
	// failed test whose teardown failed too — so the worst one counts.
	switch c := p.cur; {
	case c.hasFailure:
		p.res.Failed++
		p.outcomes[c.name] |= failed
	case c.hasError:
		p.res.Errors++
		p.outcomes[c.name] |= failed
	case c.hasSkipped:
		p.res.Skipped++
	default:
		p.res.Passed++
		p.outcomes[c.name] |= passed
	}
}

// caseName names a <testcase> "classname.name", or "suite/name" without a
// classname. Surefire writes cases with an empty name for a class that
// failed or was skipped as a whole; those go by the classname alone.
func (p *parser) caseName(t xml.StartElement, suite string) (string, error) {
	class, name := attr(t, "classname"), attr(t, "name")
	var full string
	switch {
	case class != "" && name != "":
		full = class + "." + name
	case class != "":
		full = class
	case name != "" && suite != "":
		full = suite + "/" + name
	case name != "":
		full = name
	default:
		return "", p.invalid("a test case has neither a name nor a classname")
	}
	if len(full) > MaxNameBytes {
		return "", p.invalid("the test case %q… has a name longer than %d bytes", prefix(full, 60), MaxNameBytes)
	}
	return full, nil
}

func (p *parser) result() Result {
	r := p.res
	for name, o := range p.outcomes {
		if o&failed != 0 {
			r.Failing = append(r.Failing, name)
		} else {
			r.Passing = append(r.Passing, name)
		}
	}
	slices.Sort(r.Failing)
	slices.Sort(r.Passing)
	return r
}

// invalid returns an ErrInvalid error about the input, naming the line.
func (p *parser) invalid(format string, args ...any) error {
	line, _ := p.d.InputPos()
	return patchday.Errorf(patchday.ErrInvalid, "%s (line %d)", fmt.Sprintf(format, args...), line)
}

// attr returns the value of t's attribute with the given local name and
// no namespace.
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// seconds reads a time attribute in seconds, such as "0.012".
func seconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f >= 0) || f*1e9 >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(math.Round(f * 1e9)), true
}

// addSat adds b ≥ 0 to a ≥ 0, stopping at the largest Duration.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// prefix returns at most n bytes of s, cut at a rune boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
