package junit_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/junit"
)

const limit = 1 << 20

func TestParseTools(t *testing.T) {
	for _, tc := range []struct {
		file string
		want junit.Result
	}{
		{
			file: "go-junit-report.xml",
			want: junit.Result{
				Passed: 4, Failed: 2, Skipped: 1, Errors: 1,
				Failing: []string{
					"github.com/acme/patchd/cmd/patchd.[build failed]",
					"github.com/acme/patchd/internal/semver.TestCompare",
					"github.com/acme/patchd/internal/semver.TestCompare/build_metadata",
				},
				Passing: []string{
					"github.com/acme/patchd/internal/semver.TestParse",
					"github.com/acme/patchd/internal/semver.TestParse/prerelease",
					"github.com/acme/patchd/internal/store.TestMigrate",
					"github.com/acme/patchd/internal/store.TestOpen",
				},
				Duration: 222 * time.Millisecond,
			},
		},
		{
			// The flaky test failed once and passed on Surefire's rerun.
			file: "TEST-com.example.tls.CertificateParserTest.xml",
			want: junit.Result{
				Passed: 2, Failed: 1, Skipped: 1, Errors: 1,
				Failing: []string{
					"com.example.tls.CertificateParserTest.readsBundle",
					"com.example.tls.CertificateParserTest.rejectsExpired",
				},
				Passing: []string{
					"com.example.tls.CertificateParserTest.parsesPem",
					"com.example.tls.CertificateParserTest.reloadsTrustStore",
				},
				Duration: 150 * time.Millisecond,
			},
		},
		{
			// pytest writes a second <testcase> for a test that failed
			// and then errored in teardown: two cases, one name.
			file: "pytest.xml",
			want: junit.Result{
				Passed: 2, Failed: 2, Skipped: 2, Errors: 2,
				Failing: []string{
					"tests.test_advisory.test_cvss_vector[AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N-1.8]",
					"tests.test_feed.test_feed_is_sorted",
					"tests.test_mirror.test_sync",
				},
				Passing: []string{
					"tests.test_advisory.test_cvss_vector[AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H-9.8]",
					"tests.test_advisory.test_renders_csaf",
				},
				Duration: 1874 * time.Millisecond,
			},
		},
		{
			// PHPUnit nests a suite per class and per data provider.
			file: "phpunit.xml",
			want: junit.Result{
				Passed: 3, Failed: 1, Skipped: 1,
				Failing: []string{
					"Acme.Patchd.Tests.VersionTest.testCompares with data set #2",
				},
				Passing: []string{
					`Acme.Patchd.Tests.VersionTest.testCompares with data set "minor"`,
					`Acme.Patchd.Tests.VersionTest.testCompares with data set "patch"`,
					"Acme.Patchd.Tests.VersionTest.testParses",
				},
				Duration: 13121 * time.Microsecond,
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := junit.Parse(f, limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShapes(t *testing.T) {
	for _, tc := range []struct {
		name, xml string
		want      junit.Result
	}{
		{
			name: "bare testsuite, no classname: suite/name",
			xml:  `<testsuite name="unit"><testcase name="adds" time="0.5"/><testcase name="subtracts"><failure/></testcase></testsuite>`,
			want: junit.Result{Passed: 1, Failed: 1, Failing: []string{"unit/subtracts"}, Passing: []string{"unit/adds"}, Duration: 500 * time.Millisecond},
		},
		{
			name: "nested suites name by the innermost",
			xml: `<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="a"/></testsuite>` +
				`<testcase name="b"/></testsuite></testsuites>`,
			want: junit.Result{Passed: 2, Passing: []string{"inner/a", "outer/b"}},
		},
		{
			name: "no suite name, no classname: the name alone",
			xml:  `<testsuites><testsuite><testcase name="a"><error message="boom"/></testcase></testsuite></testsuites>`,
			want: junit.Result{Errors: 1, Failing: []string{"a"}},
		},
		{
			name: "empty name, as Surefire writes for a whole class: the classname alone",
			xml:  `<testsuite name="x"><testcase name="" classname="com.example.BrokenTest" time="0"><error type="java.lang.ExceptionInInitializerError"/></testcase></testsuite>`,
			want: junit.Result{Errors: 1, Failing: []string{"com.example.BrokenTest"}},
		},
		{
			name: "the same name passing and failing is failing",
			xml:  `<testsuite><testcase classname="c" name="t"/><testcase classname="c" name="t"><failure/></testcase><testcase classname="c" name="t"/></testsuite>`,
			want: junit.Result{Passed: 2, Failed: 1, Failing: []string{"c.t"}},
		},
		{
			name: "failure outranks error outranks skipped",
			xml: `<testsuite><testcase name="fe"><failure/><error/></testcase><testcase name="es"><skipped/><error/></testcase>` +
				`<testcase name="s"><skipped/></testcase></testsuite>`,
			want: junit.Result{Failed: 1, Errors: 1, Skipped: 1, Failing: []string{"es", "fe"}},
		},
		{
			name: "suite attributes are not trusted",
			xml:  `<testsuite tests="100" failures="50" errors="7" skipped="3"><testcase name="only"/></testsuite>`,
			want: junit.Result{Passed: 1, Passing: []string{"only"}},
		},
		{
			name: "verdicts count only as direct children of the case",
			xml:  `<testsuite><testcase name="t"><system-out><failure/></system-out><flakyError/></testcase></testsuite>`,
			want: junit.Result{Passed: 1, Passing: []string{"t"}},
		},
		{
			name: "unreadable and negative times add nothing",
			xml:  `<testsuite><testcase name="a" time="1,234.5"/><testcase name="b" time="-1"/><testcase name="c" time="NaN"/><testcase name="d" time=" 2 "/><testcase name="e" time="1e300"/></testsuite>`,
			want: junit.Result{Passed: 5, Passing: []string{"a", "b", "c", "d", "e"}, Duration: 2 * time.Second},
		},
		{
			name: "byte order mark, comments and white space around the root",
			xml:  "\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- generated -->\n<testsuite><testcase name=\"a\"/></testsuite>\n<!-- end -->\n",
			want: junit.Result{Passed: 1, Passing: []string{"a"}},
		},
		{
			name: "namespaced root, escaped names",
			xml:  `<j:testsuites xmlns:j="urn:x"><j:testsuite name="s"><j:testcase classname="a&amp;b" name="&lt;t&gt;"/></j:testsuite></j:testsuites>`,
			want: junit.Result{Passed: 1, Passing: []string{"a&b.<t>"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := junit.Parse(strings.NewReader(tc.xml), limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	long := strings.Repeat("x", junit.MaxNameBytes)
	for _, tc := range []struct {
		name, xml string
		maxBytes  int64 // limit when zero
		msg       string
	}{
		{name: "empty", xml: "", msg: "the test report is empty"},
		{name: "white space", xml: " \n\t", msg: "the test report is empty"},
		{name: "prose", xml: "All 312 tests passed.", msg: "not XML"},
		{name: "JSON", xml: `{"tests": 3, "failures": 0}`, msg: "not XML"},
		{name: "a comment only", xml: "<!-- nothing -->", msg: "no root element"},
		{name: "HTML", xml: "<!doctype html><html><body>502 Bad Gateway</body></html>", msg: "DOCTYPE"},
		{name: "another root", xml: `<html><body><testcase name="a"/></body></html>`, msg: "the root element is <html>"},
		{name: "a root testcase", xml: `<testcase name="a"/>`, msg: "the root element is <testcase>"},
		{
			name: "DOCTYPE with entities",
			xml: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
				`<testsuite><testcase name="&lol2;"/></testsuite>`,
			msg: "DOCTYPE",
		},
		{name: "external entity", xml: `<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&xxe;"/></testsuite>`, msg: "DOCTYPE"},
		{name: "declaration inside the root", xml: `<testsuite><testcase name="a"/><!DOCTYPE x></testsuite>`, msg: "DOCTYPE"},
		{name: "undeclared entity", xml: `<testsuite><testcase name="&xxe;"/></testsuite>`, msg: "not well-formed XML: line 1: invalid character entity &xxe;"},
		{name: "no test cases", xml: `<testsuites><testsuite name="x" tests="3" failures="0"/></testsuites>`, msg: "no test cases in the report"},
		{name: "test cases outside suites", xml: `<testsuites><properties><testcase name="a"/></properties></testsuites>`, msg: "no test cases in the report"},
		{name: "over the byte limit", xml: `<testsuite><testcase name="a"/></testsuite>`, maxBytes: 20, msg: "larger than the limit of 20 bytes"},
		{name: "cut short", xml: "<testsuites>\n<testsuite>\n<testcase name=\"a\">", msg: "not well-formed XML: line 3: unexpected EOF"},
		{name: "mismatched tags", xml: `<testsuite><testcase name="a"></testsuite>`, msg: "not well-formed XML"},
		{name: "second root", xml: `<testsuite><testcase name="a"/></testsuite><testsuite><testcase name="b"/></testsuite>`, msg: "second root element <testsuite>"},
		{name: "trailing text", xml: `<testsuite><testcase name="a"/></testsuite>garbage`, msg: "not XML"},
		{name: "not UTF-8", xml: `<?xml version="1.0" encoding="ISO-8859-1"?><testsuite><testcase name="caf` + "\xe9" + `"/></testsuite>`, msg: `encoded in "ISO-8859-1"; only UTF-8`},
		{name: "invalid UTF-8", xml: `<testsuite><testcase name="caf` + "\xe9" + `"/></testsuite>`, msg: "invalid UTF-8"},
		{name: "a nameless test case", xml: `<testsuite name="s"><testcase time="1"/></testsuite>`, msg: "neither a name nor a classname"},
		{name: "a long name", xml: `<testsuite><testcase classname="c" name="` + long + `"/></testsuite>`, msg: fmt.Sprintf("longer than %d bytes", junit.MaxNameBytes)},
		{name: "deep nesting", xml: strings.Repeat("<testsuite>", 100) + `<testcase name="a"/>` + strings.Repeat("</testsuite>", 100), msg: "more than 64 deep"},
		{name: "XML 1.1", xml: `<?xml version="1.1"?><testsuite><testcase name="a"/></testsuite>`, msg: "only version 1.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxBytes := tc.maxBytes
			if maxBytes == 0 {
				maxBytes = limit
			}
			_, err := junit.Parse(strings.NewReader(tc.xml), maxBytes)
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("Parse: %v, want an ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse: %q, want it to say %q", err, tc.msg)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("exactly the byte limit", func(t *testing.T) {
		x := `<testsuite><testcase name="a"/></testsuite>`
		if _, err := junit.Parse(strings.NewReader(x), int64(len(x))); err != nil {
			t.Errorf("Parse of %d bytes with a limit of %[1]d: %v", len(x), err)
		}
		if _, err := junit.Parse(strings.NewReader(x+"\n"), int64(len(x))); !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("Parse of %d bytes with a limit of %d: %v, want an ErrInvalid", len(x)+1, len(x), err)
		}
	})
	t.Run("test cases", func(t *testing.T) {
		for _, n := range []int{junit.MaxTestCases, junit.MaxTestCases + 1} {
			x := "<testsuite>" + strings.Repeat(`<testcase name="a"/>`, n) + "</testsuite>"
			r, err := junit.Parse(strings.NewReader(x), int64(len(x)))
			switch {
			case n <= junit.MaxTestCases && (err != nil || r.Passed != n):
				t.Errorf("%d cases: %d passed, %v", n, r.Passed, err)
			case n > junit.MaxTestCases && !errors.Is(err, patchday.ErrInvalid):
				t.Errorf("%d cases: %v, want an ErrInvalid", n, err)
			}
		}
	})
	t.Run("no limit is a mistake", func(t *testing.T) {
		_, err := junit.Parse(strings.NewReader(`<testsuite><testcase name="a"/></testsuite>`), 0)
		if err == nil || errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("Parse with a limit of 0: %v, want an internal error", err)
		}
	})
}

func TestParseReadError(t *testing.T) {
	broken := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<testsuites><testsuite>"), iotest.ErrReader(broken))
	_, err := junit.Parse(r, limit)
	if !errors.Is(err, broken) || errors.Is(err, patchday.ErrInvalid) {
		t.Errorf("Parse: %v, want the reader's error and not ErrInvalid", err)
	}
}

func TestRegressions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		before, now junit.Result
		want        []string
	}{
		{
			name:   "a passing test now fails",
			before: junit.Result{Passing: []string{"a.A", "a.B", "a.C"}},
			now:    junit.Result{Failing: []string{"a.B"}, Passing: []string{"a.A", "a.C"}},
			want:   []string{"a.B"},
		},
		{
			name:   "still failing is no regression",
			before: junit.Result{Failing: []string{"a.B"}, Passing: []string{"a.A"}},
			now:    junit.Result{Failing: []string{"a.B"}, Passing: []string{"a.A"}},
		},
		{
			name:   "a new failing test is no regression",
			before: junit.Result{Passing: []string{"a.A"}},
			now:    junit.Result{Failing: []string{"a.New"}, Passing: []string{"a.A"}},
		},
		{
			name:   "skipped before, failing now is no regression",
			before: junit.Result{Skipped: 1},
			now:    junit.Result{Failing: []string{"a.S"}},
		},
		{
			name:   "several, sorted",
			before: junit.Result{Passing: []string{"a.A", "b.B", "c.C", "d.D"}},
			now:    junit.Result{Failing: []string{"d.D", "a.A", "x.X", "c.C"}},
			want:   []string{"a.A", "c.C", "d.D"},
		},
		{name: "nothing before", now: junit.Result{Failing: []string{"a.A"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := junit.Regressions(tc.before, tc.now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Regressions (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("between two parsed runs", func(t *testing.T) {
		parse := func(x string) junit.Result {
			r, err := junit.Parse(strings.NewReader(x), limit)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		before := parse(`<testsuites><testsuite name="pytest"><testcase classname="tests.test_x" name="test_a"/>` +
			`<testcase classname="tests.test_x" name="test_b"/><testcase classname="tests.test_x" name="test_c"><failure/></testcase></testsuite></testsuites>`)
		now := parse(`<testsuites><testsuite name="pytest"><testcase classname="tests.test_x" name="test_a"/>` +
			`<testcase classname="tests.test_x" name="test_b"><failure/></testcase><testcase classname="tests.test_x" name="test_c"><failure/></testcase></testsuite></testsuites>`)
		if diff := cmp.Diff([]string{"tests.test_x.test_b"}, junit.Regressions(before, now)); diff != "" {
			t.Errorf("Regressions (-want +got):\n%s", diff)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"go-junit-report.xml", "TEST-com.example.tls.CertificateParserTest.xml", "pytest.xml", "phpunit.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<testsuite name="s"><testsuite><testcase name="a"><failure/></testcase></testsuite><testcase classname="c" name=""/></testsuite>`))
	f.Add([]byte(`<testsuites><testcase name="a" time="1e9"/><testcase name="a"><skipped/></testcase></testsuites>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := junit.Parse(bytes.NewReader(b), 64<<10)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("Parse: %v, not an ErrInvalid", err)
			}
			return
		}
		total := r.Passed + r.Failed + r.Skipped + r.Errors
		if total < 1 || total > junit.MaxTestCases || min(r.Passed, r.Failed, r.Skipped, r.Errors) < 0 {
			t.Errorf("counts %d passed, %d failed, %d skipped, %d errors", r.Passed, r.Failed, r.Skipped, r.Errors)
		}
		// A name stands for one case or more, and every failing case has one.
		if len(r.Failing) > r.Failed+r.Errors || (len(r.Failing) == 0) != (r.Failed+r.Errors == 0) {
			t.Errorf("%d failing names for %d failed and %d errors", len(r.Failing), r.Failed, r.Errors)
		}
		if len(r.Passing) > r.Passed || len(r.Failing)+len(r.Passing) > total {
			t.Errorf("%d passing and %d failing names for %d cases, %d passed", len(r.Passing), len(r.Failing), total, r.Passed)
		}
		for list, names := range map[string][]string{"Failing": r.Failing, "Passing": r.Passing} {
			if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
				t.Errorf("%s is not sorted and unique: %q", list, names)
			}
			for _, n := range names {
				if n == "" || len(n) > junit.MaxNameBytes || !utf8.ValidString(n) {
					t.Errorf("%s has a bad name %q", list, n)
				}
				if _, found := slices.BinarySearch(r.Failing, n); list == "Passing" && found {
					t.Errorf("%q is both passing and failing", n)
				}
			}
		}
		if r.Duration < 0 {
			t.Errorf("Duration %v", r.Duration)
		}
		if got := junit.Regressions(r, r); len(got) != 0 {
			t.Errorf("Regressions of a run against itself: %q", got)
		}
	})
}

// BenchmarkParse reads a go-junit-report-shaped report of 10,000 cases,
// one in fifty failing with a message.
func BenchmarkParse(b *testing.B) {
	var x strings.Builder
	x.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n")
	for s := range 100 {
		fmt.Fprintf(&x, "\t<testsuite name=\"github.com/acme/big/pkg%03d\" tests=\"100\" id=\"%[1]d\" hostname=\"ci\" time=\"1.000\">\n", s)
		x.WriteString("\t\t<properties>\n\t\t\t<property name=\"go.version\" value=\"go1.26.8 linux/amd64\"></property>\n\t\t</properties>\n")
		for c := range 100 {
			fmt.Fprintf(&x, "\t\t<testcase name=\"TestThing%03d/case_%d\" classname=\"github.com/acme/big/pkg%03d\" time=\"0.010\">", c, c, s)
			if c%50 == 7 {
				x.WriteString("\n\t\t\t<failure message=\"Failed\"><![CDATA[    thing_test.go:42: got 1, want 2\n    thing_test.go:43: more context]]></failure>\n\t\t")
			}
			x.WriteString("</testcase>\n")
		}
		x.WriteString("\t</testsuite>\n")
	}
	x.WriteString("</testsuites>\n")
	report := x.String()
	b.SetBytes(int64(len(report)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := junit.Parse(strings.NewReader(report), 64<<20)
		if err != nil || r.Passed+r.Failed != 10_000 {
			b.Fatalf("Parse: %d passed, %d failed, %v", r.Passed, r.Failed, err)
		}
	}
}
