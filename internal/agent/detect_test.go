package agent

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// ruleFields is a Rule without its compiled regexp, for comparisons.
type ruleFields struct {
	Product, Path string
	Gzip          bool
	Regexp        string
}

func fieldsOf(rules []Rule) []ruleFields {
	out := make([]ruleFields, len(rules))
	for i, r := range rules {
		out[i] = ruleFields{r.Product, r.Path, r.Gzip, r.Regexp}
	}
	return out
}

func TestParseRulesValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ruleFields
	}{
		{
			name: "no rules",
			in:   `{"rules": []}`,
			want: []ruleFields{},
		},
		{
			name: "one rule",
			in:   `{"rules": [{"product": "app", "path": "opt/app/VERSION", "regexp": "version=(\\S+)"}]}`,
			want: []ruleFields{{"app", "opt/app/VERSION", false, `version=(\S+)`}},
		},
		{
			name: "gzip",
			in: `{"rules": [{"product": "nginx", "path": "usr/share/doc/nginx/changelog.Debian.gz",
				"gzip": true, "regexp": "^nginx \\(([^)]+)\\)"}]}`,
			want: []ruleFields{{"nginx", "usr/share/doc/nginx/changelog.Debian.gz", true, `^nginx \(([^)]+)\)`}},
		},
		{
			name: "gzip false",
			in:   `{"rules": [{"product": "app", "path": "VERSION", "gzip": false, "regexp": "(.+)"}]}`,
			want: []ruleFields{{"app", "VERSION", false, `(.+)`}},
		},
		{
			name: "glob",
			in:   `{"rules": [{"product": "app", "path": "opt/app-*/lib/[a-z]?.txt", "regexp": "(?m)^v(\\d+)$"}]}`,
			want: []ruleFields{{"app", "opt/app-*/lib/[a-z]?.txt", false, `(?m)^v(\d+)$`}},
		},
		{
			name: "several, same product twice, any key order, whitespace around",
			in: "\n  {\"rules\": [\n" +
				`{"regexp": "a=(.*)", "path": "a", "product": "App Server 2"},` +
				`{"product": "App Server 2", "path": "b/c", "regexp": "b=(.*)"},` +
				`{"product": "Kärcher ✓", "path": "d.gz", "gzip": true, "regexp": "(x)(y)"}` +
				"]}\n\t",
			want: []ruleFields{
				{"App Server 2", "a", false, "a=(.*)"},
				{"App Server 2", "b/c", false, "b=(.*)"},
				{"Kärcher ✓", "d.gz", true, "(x)(y)"},
			},
		},
		{
			name: "longest fields",
			in: fmt.Sprintf(`{"rules": [{"product": %q, "path": %q, "regexp": %q}]}`,
				strings.Repeat("p", maxProduct), strings.Repeat("a/", maxPath/2-1)+"bc", "("+strings.Repeat("x", maxRegexp-2)+")"),
			want: []ruleFields{{strings.Repeat("p", maxProduct), strings.Repeat("a/", maxPath/2-1) + "bc", false, "(" + strings.Repeat("x", maxRegexp-2) + ")"}},
		},
		{
			name: "MaxRules rules",
			in:   manyRules(MaxRules),
			want: func() []ruleFields {
				w := make([]ruleFields, MaxRules)
				for i := range w {
					w[i] = ruleFields{fmt.Sprintf("p%d", i), "f", false, "(.)"}
				}
				return w
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRules([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseRules: %v", err)
			}
			if !reflect.DeepEqual(fieldsOf(got), tt.want) {
				t.Errorf("got %+v\nwant %+v", fieldsOf(got), tt.want)
			}
			for i, r := range got {
				if r.re == nil {
					t.Errorf("rules[%d]: regexp not compiled", i)
				}
			}
		})
	}
}

func manyRules(n int) string {
	var b strings.Builder
	b.WriteString(`{"rules": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"product": "p%d", "path": "f", "regexp": "(.)"}`, i)
	}
	b.WriteString("]}")
	return b.String()
}

// rule1 is a rules file with one rule whose fields are given as raw JSON.
func rule1(product, path, regexp string) string {
	return `{"rules": [{"product": ` + product + `, "path": ` + path + `, "regexp": ` + regexp + `}]}`
}

func TestParseRulesErrors(t *testing.T) {
	const ok = `{"product": "app", "path": "VERSION", "regexp": "(.+)"}`
	tests := []struct {
		name string
		in   string
		want []string // fragments the error text must hold
	}{
		{"empty input", ``, []string{"empty file"}},
		{"whitespace only", " \n", []string{"empty file"}},
		{"syntax error", `{"rules": [` + ok + `,]}`, []string{"invalid JSON at line 1", "invalid character"}},
		{"syntax error on line 3", "{\n\"rules\": [\n  x]}", []string{"invalid JSON at line 3, column 3"}},
		{"truncated", `{"rules": [` + ok, []string{"invalid JSON", "unexpected EOF"}},
		{"top is a list", `[` + ok + `]`, []string{"want a JSON object", "got list"}},
		{"top is null", `null`, []string{"want a JSON object", "got null"}},
		{"top is a string", `"rules"`, []string{"want a JSON object", "got string"}},
		{"missing rules", `{}`, []string{"rules: missing"}},
		{"rules null", `{"rules": null}`, []string{"rules: null"}},
		{"rules an object", `{"rules": ` + ok + `}`, []string{"rules: want a list of rules, got object"}},
		{"rules a number", `{"rules": 1e999}`, []string{"rules: want a list of rules, got number"}},
		{"unknown top key", `{"rules": [], "version": 1}`, []string{`unknown key "version"`}},
		{"top key in other case", `{"Rules": []}`, []string{`unknown key "Rules"`, "rules: missing"}},
		{"duplicate top key", `{"rules": [], "rules": [` + ok + `]}`, []string{`duplicate key "rules"`}},
		{"trailing object", `{"rules": []} {}`, []string{"trailing data after the object"}},
		{"trailing garbage", `{"rules": []}x`, []string{"trailing data after the object"}},
		{"trailing brace", `{"rules": []}}`, []string{"trailing data after the object"}},
		{"too many rules", manyRules(MaxRules + 1), []string{"rules: 1001 rules, more than 1000"}},
		{"rule not an object", `{"rules": [` + ok + `, "x"]}`, []string{"rules[1]: want an object, got string"}},
		{"rule null", `{"rules": [null]}`, []string{"rules[0]: want an object, got null"}},
		{"unknown rule key", `{"rules": [{"product": "a", "path": "b", "regexp": "(c)", "version": "1"}]}`, []string{`rules[0]: unknown key "version"`}},
		{"rule key in other case", `{"rules": [{"Product": "a", "path": "b", "regexp": "(c)"}]}`, []string{`rules[0]: unknown key "Product"`, "rules[0].product: missing"}},
		{"duplicate rule key", `{"rules": [` + ok + `, {"product": "a", "path": "b", "regexp": "(c)", "path": "d"}]}`, []string{"rules[1].path: duplicate key"}},
		{"duplicate unknown rule key", `{"rules": [{"product": "a", "path": "b", "regexp": "(c)", "x": 1, "x": 2}]}`, []string{`rules[0]: duplicate key "x"`}},
		{"missing product", `{"rules": [{"path": "b", "regexp": "(c)"}]}`, []string{"rules[0].product: missing"}},
		{"missing path", `{"rules": [{"product": "a", "regexp": "(c)"}]}`, []string{"rules[0].path: missing"}},
		{"missing regexp", `{"rules": [{"product": "a", "path": "b"}]}`, []string{"rules[0].regexp: missing"}},
		{"product not a string", rule1(`7`, `"b"`, `"(c)"`), []string{"rules[0].product: want a string, got number"}},
		{"product null", rule1(`null`, `"b"`, `"(c)"`), []string{"rules[0].product: want a string, got null"}},
		{"path a list", rule1(`"a"`, `["b"]`, `"(c)"`), []string{"rules[0].path: want a string, got list"}},
		{"gzip a string", `{"rules": [{"product": "a", "path": "b", "regexp": "(c)", "gzip": "yes"}]}`, []string{"rules[0].gzip: want true or false, got string"}},
		{"gzip null", `{"rules": [{"product": "a", "path": "b", "regexp": "(c)", "gzip": null}]}`, []string{"rules[0].gzip: want true or false, got null"}},
		{"empty product", rule1(`""`, `"b"`, `"(c)"`), []string{"rules[0].product: empty"}},
		{"empty path", rule1(`"a"`, `""`, `"(c)"`), []string{"rules[0].path: empty"}},
		{"empty regexp", rule1(`"a"`, `"b"`, `""`), []string{"rules[0].regexp: empty"}},
		{"long product", rule1(fmt.Sprintf("%q", strings.Repeat("p", maxProduct+1)), `"b"`, `"(c)"`), []string{"rules[0].product: 101 bytes, more than 100"}},
		{"long path", rule1(`"a"`, fmt.Sprintf("%q", strings.Repeat("b", maxPath+1)), `"(c)"`), []string{"rules[0].path: 1025 bytes, more than 1024"}},
		{"long regexp", rule1(`"a"`, `"b"`, fmt.Sprintf("%q", "("+strings.Repeat("c", maxRegexp)+")")), []string{"rules[0].regexp: 1026 bytes, more than 1024"}},
		{"product with leading space", rule1(`" a"`, `"b"`, `"(c)"`), []string{"rules[0].product:", "leading or trailing space"}},
		{"product with trailing space", rule1(`"a "`, `"b"`, `"(c)"`), []string{"rules[0].product:", "leading or trailing space"}},
		{"product with a tab", rule1(`"a\tb"`, `"b"`, `"(c)"`), []string{"rules[0].product:", "not printable"}},
		{"product with a newline", rule1(`"a\nb"`, `"b"`, `"(c)"`), []string{"rules[0].product:", "not printable"}},
		{"absolute path", rule1(`"a"`, `"/etc/os-release"`, `"(c)"`), []string{"rules[0].path:", "absolute"}},
		{"dot-dot path", rule1(`"a"`, `"opt/../../etc/passwd"`, `"(c)"`), []string{"rules[0].path:", `holds ".."`}},
		{"dot-dot alone", rule1(`"a"`, `".."`, `"(c)"`), []string{"rules[0].path:", `holds ".."`}},
		{"dot path", rule1(`"a"`, `"."`, `"(c)"`), []string{"rules[0].path:", "install root"}},
		{"dot element", rule1(`"a"`, `"opt/./x"`, `"(c)"`), []string{"rules[0].path:", "not a clean"}},
		{"empty element", rule1(`"a"`, `"opt//x"`, `"(c)"`), []string{"rules[0].path:", "not a clean"}},
		{"trailing slash", rule1(`"a"`, `"opt/x/"`, `"(c)"`), []string{"rules[0].path:", "not a clean"}},
		{"bad glob", rule1(`"a"`, `"opt/app-[0-9/VERSION"`, `"(c)"`), []string{"rules[0].path:", "bad glob", "syntax error in pattern"}},
		{"bad glob escape at end", rule1(`"a"`, `"opt\\"`, `"(c)"`), []string{"rules[0].path:", "bad glob"}},
		{"regexp does not compile", rule1(`"a"`, `"b"`, `"(c"`), []string{"rules[0].regexp: error parsing regexp", "missing closing )"}},
		{"regexp with lookahead", rule1(`"a"`, `"b"`, `"(?=c)(d)"`), []string{"rules[0].regexp: error parsing regexp"}},
		{"regexp without group", rule1(`"a"`, `"b"`, `"version=\\S+"`), []string{"rules[0].regexp: no capture group"}},
		{"regexp with a non-capturing group only", rule1(`"a"`, `"b"`, `"(?:c)"`), []string{"rules[0].regexp: no capture group"}},
		{"error in a later rule", `{"rules": [` + ok + `,` + ok + `,` + `{"product": "a", "path": "b", "regexp": "c"}]}`, []string{"rules[2].regexp: no capture group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRules([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseRules = %+v, want an error", fieldsOf(got))
			}
			if got != nil {
				t.Errorf("ParseRules returned rules with an error: %+v", fieldsOf(got))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not hold %q", err, w)
				}
			}
		})
	}
}

func TestParseRulesReportsAllProblems(t *testing.T) {
	in := `{
		"rules": [
			{"product": "", "path": "opt/a", "regexp": "(a)"},
			{"product": "b", "path": "/opt/b", "regexp": "b", "color": "red"},
			{"product": "c", "path": "opt/c", "regexp": "(c", "gzip": 1},
			{"product": "d", "path": "opt/[d", "regexp": "(d)", "product": "d"},
			{"product": "fine", "path": "opt/e", "regexp": "(e)"}
		],
		"extra": true
	} []`
	_, err := ParseRules([]byte(in))
	if err == nil {
		t.Fatal("ParseRules: no error")
	}
	want := []string{
		"trailing data after the object",
		`unknown key "extra"`,
		"rules[0].product: empty",
		"rules[1]: unknown key \"color\"",
		"rules[1].path:",
		"rules[1].regexp: no capture group",
		"rules[2].regexp: error parsing regexp",
		"rules[2].gzip: want true or false, got number",
		"rules[3].product: duplicate key",
		"rules[3].path:",
	}
	msg := err.Error()
	last := -1
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("error does not hold %q", w)
			continue
		}
		if i < last {
			t.Errorf("%q is out of order", w)
		}
		last = i
	}
	if strings.Contains(msg, "rules[4]") {
		t.Errorf("error names the sound rules[4]: %s", msg)
	}
	parts := strings.Split(msg, "; ")
	if len(parts) != len(want) {
		t.Errorf("%d problems joined with \"; \", want %d:\n%s", len(parts), len(want), strings.Join(parts, "\n"))
	}
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) || len(multi.Unwrap()) != len(want) {
		t.Errorf("error does not unwrap into %d errors", len(want))
	}
}

func TestParseRulesDeepNesting(t *testing.T) {
	// Nesting beyond what encoding/json decodes must be an error, not a crash.
	deep := `{"rules": [], "x": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	if _, err := ParseRules([]byte(deep)); err == nil {
		t.Error("ParseRules: no error")
	}
}

// gz compresses s.
func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mustRules parses a rules file that must be valid.
func mustRules(t *testing.T, rules ...string) []Rule {
	t.Helper()
	rs, err := ParseRules([]byte(`{"rules": [` + strings.Join(rules, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// writeTree writes files (path → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const changelogHead = `nginx (1.22.1-9+deb12u11) bookworm-security; urgency=medium

  * CVE-2025-53859: ngx_mail_smtp_module
    could disclose process memory.

 -- Jan Mojžíš <jan.mojzis@gmail.com>  Sat, 16 Aug 2025 07:13:43 +0200

nginx (1.22.1-9+deb12u10) bookworm; urgency=medium
`

func TestDetectDir(t *testing.T) {
	root := writeTree(t, map[string][]byte{
		"opt/app/VERSION":                          []byte("name=app\nversion=1.2.3\n"),
		"usr/share/doc/nginx/changelog.Debian.gz":  gz(t, changelogHead),
		"usr/share/doc/broken/changelog.Debian.gz": gz(t, changelogHead)[:40],
	})
	rules := mustRules(t,
		`{"product": "app", "path": "opt/app/VERSION", "regexp": "version=(\\S+)"}`,
		`{"product": "nginx", "path": "usr/share/doc/nginx/changelog.Debian.gz", "gzip": true, "regexp": "^nginx \\(([^)]+)\\)"}`,
		`{"product": "gone", "path": "opt/gone/VERSION", "regexp": "(.+)"}`,
		`{"product": "broken", "path": "usr/share/doc/broken/changelog.Debian.gz", "gzip": true, "regexp": "^nginx \\(([^)]+)\\)"}`,
	)
	found, problems := Detect(os.DirFS(root), rules)
	want := map[string]string{"app": "1.2.3", "nginx": "1.22.1-9+deb12u11"}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), `"broken"`) ||
		!strings.Contains(problems[0].Error(), "usr/share/doc/broken/changelog.Debian.gz") ||
		!strings.Contains(problems[0].Error(), "decompress") {
		t.Errorf("problems = %v, want one about the truncated gzip of broken", problems)
	}
}

// TestDetectDebianChangelogs reads the changelogs of real Debian packages, as
// dpkg-deb unpacks them.
func TestDetectDebianChangelogs(t *testing.T) {
	const releases = "../../../shared/testdata/releases"
	if _, err := os.Stat(releases); err != nil {
		t.Skipf("no shared test data: %v", err)
	}
	tests := []struct {
		pkg, source, dir string
		want             string // the version in the changelog's first line
	}{
		{"nginx", "nginx", "1.22.1-9+deb12u9", "1.22.1-9+deb12u9"},
		{"nginx", "nginx", "1.22.1-9+deb12u11", "1.22.1-9+deb12u11"},
		{"libcurl4", "curl", "7.88.1-10+deb12u5", "7.88.1-10+deb12u5"},
		{"libcurl4", "curl", "7.88.1-10+deb12u15", "7.88.1-10+deb12u15"},
		// The test data's directories spell these versions with "+deb12u",
		// but Debian's own versions of these backports, as their changelogs
		// (and dpkg) have them, use "~deb12u".
		{"libssl3", "openssl", "3.0.20-1+deb12u2", "3.0.20-1~deb12u2"},
		{"libssl3", "openssl", "3.0.22-1+deb12u2", "3.0.22-1~deb12u2"},
		{"libxml2", "libxml2", "2.9.14+dfsg-1.3+deb12u4", "2.9.14+dfsg-1.3~deb12u4"},
		{"libxml2", "libxml2", "2.9.14+dfsg-1.3+deb12u6", "2.9.14+dfsg-1.3~deb12u6"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg+"/"+tt.dir, func(t *testing.T) {
			rules := mustRules(t, fmt.Sprintf(`{"product": %q, "path": %q, "gzip": true, "regexp": %q}`,
				tt.pkg, "usr/share/doc/"+tt.pkg+"/changelog.Debian.gz", `^`+tt.source+` \(([^)]+)\)`))
			found, problems := Detect(os.DirFS(filepath.Join(releases, tt.pkg, tt.dir)), rules)
			if len(problems) > 0 {
				t.Errorf("problems: %v", problems)
			}
			if got := found[tt.pkg]; got != tt.want {
				t.Errorf("found %q, want %q", got, tt.want)
			}
			if strings.ReplaceAll(tt.want, "~", "+") != tt.dir {
				t.Errorf("version %q does not name directory %q", tt.want, tt.dir)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	version := func(v string) *fstest.MapFile { return &fstest.MapFile{Data: []byte("version=" + v + "\n")} }
	fsys := fstest.MapFS{
		"opt/a/VERSION":          version("1.0"),
		"opt/b/VERSION":          version("2.0"),
		"opt/app-2.0/VERSION":    version("2.0"),
		"opt/app-1.10/VERSION":   version("1.10"),
		"opt/dir-a/VERSION/x":    version("0.0"), // a directory named like the file
		"opt/dir-b/VERSION":      version("3.0"),
		"opt/multi/VERSION":      {Data: []byte("# app\nversion=4.0\n")},
		"opt/long/VERSION":       version(strings.Repeat("9", maxVersion+1)),
		"opt/longest/VERSION":    version(strings.Repeat("9", maxVersion)),
		"opt/ctrl/VERSION":       {Data: []byte("version=1\x002\n")},
		"opt/space/VERSION":      {Data: []byte("version= 1.0\n")},
		"opt/notgz/VERSION.gz":   version("1.0"),
		"opt/emptygz/VERSION.gz": {Data: nil},
		"opt/gz/VERSION.gz":      {Data: gz(t, "version=5.0\n")},
		"opt/big/VERSION":        {Data: append(bytes.Repeat([]byte("x"), MaxRead-len("version=6.0")), "version=6.0"...)},
		"opt/bigger/VERSION":     {Data: append(bytes.Repeat([]byte("x"), MaxRead), "version=6.0"...)},
		"opt/biggz/VERSION.gz":   {Data: gz(t, strings.Repeat("x", MaxRead)+"version=7.0")},
	}
	rule := func(product, path, regexp string) string {
		return fmt.Sprintf(`{"product": %q, "path": %q, "regexp": %q}`, product, path, regexp)
	}
	gzRule := func(product, path, regexp string) string {
		return fmt.Sprintf(`{"product": %q, "path": %q, "gzip": true, "regexp": %q}`, product, path, regexp)
	}
	const v = `version=(\S*)`
	tests := []struct {
		name    string
		rules   []string
		want    map[string]string
		problem []string // fragments of the one problem expected, if any
	}{
		{"plain", []string{rule("a", "opt/a/VERSION", v)}, map[string]string{"a": "1.0"}, nil},
		{"missing file", []string{rule("a", "opt/none/VERSION", v)}, map[string]string{}, nil},
		{"missing directory in a glob", []string{rule("a", "none/*/VERSION", v)}, map[string]string{}, nil},
		{"no match", []string{rule("a", "opt/a/VERSION", `release=(\S+)`)}, map[string]string{}, nil},
		{"first rule wins", []string{rule("a", "opt/a/VERSION", v), rule("a", "opt/b/VERSION", v)}, map[string]string{"a": "1.0"}, nil},
		{"a rule that finds nothing gives way", []string{rule("a", "opt/none/VERSION", v), rule("a", "opt/b/VERSION", v)}, map[string]string{"a": "2.0"}, nil},
		{"a rule with a problem gives way", []string{gzRule("a", "opt/notgz/VERSION.gz", v), rule("a", "opt/b/VERSION", v)}, map[string]string{"a": "2.0"}, []string{`"a"`}},
		{"a later rule for a found product is skipped", []string{rule("a", "opt/a/VERSION", v), gzRule("a", "opt/notgz/VERSION.gz", v)}, map[string]string{"a": "1.0"}, nil},
		{"products are independent", []string{rule("a", "opt/a/VERSION", v), rule("b", "opt/b/VERSION", v)}, map[string]string{"a": "1.0", "b": "2.0"}, nil},
		{"glob takes the first match in lexical order", []string{rule("app", "opt/app-*/VERSION", v)}, map[string]string{"app": "1.10"}, nil},
		{"glob skips directories", []string{rule("d", "opt/dir-*/VERSION", v)}, map[string]string{"d": "3.0"}, nil},
		{"no multi-line mode unless asked", []string{rule("m", "opt/multi/VERSION", `^version=(\S+)`)}, map[string]string{}, nil},
		{"multi-line mode", []string{rule("m", "opt/multi/VERSION", `(?m)^version=(\S+)`)}, map[string]string{"m": "4.0"}, nil},
		{"a version of 100 bytes", []string{rule("l", "opt/longest/VERSION", v)}, map[string]string{"l": strings.Repeat("9", maxVersion)}, nil},
		{"a version too long", []string{rule("l", "opt/long/VERSION", v)}, map[string]string{}, []string{`detect "l" from opt/long/VERSION: version 101 bytes, more than 100`}},
		{"an empty version", []string{rule("e", "opt/a/VERSION", `version=(x*)`)}, map[string]string{}, []string{`"e"`, "version empty"}},
		{"a group that takes no part", []string{rule("e", "opt/a/VERSION", `(x)|version`)}, map[string]string{}, []string{`"e"`, "version empty"}},
		{"a version not printable", []string{rule("c", "opt/ctrl/VERSION", `version=(\S+)`)}, map[string]string{}, []string{`"c"`, "not printable"}},
		{"a version with a leading space", []string{rule("s", "opt/space/VERSION", `version=(.+)`)}, map[string]string{}, []string{`"s"`, "leading or trailing space"}},
		{"gzip", []string{gzRule("g", "opt/gz/VERSION.gz", v)}, map[string]string{"g": "5.0"}, nil},
		{"not gzip", []string{gzRule("g", "opt/notgz/VERSION.gz", v)}, map[string]string{}, []string{`detect "g" from opt/notgz/VERSION.gz: decompress: gzip: invalid header`}},
		{"empty gzip", []string{gzRule("g", "opt/emptygz/VERSION.gz", v)}, map[string]string{}, []string{`"g"`, "decompress: empty file"}},
		{"gzip through a glob", []string{gzRule("g", "opt/[en]*gz/VERSION.gz", v)}, map[string]string{}, []string{`detect "g" from opt/emptygz/VERSION.gz (matching opt/[en]*gz/VERSION.gz): decompress: empty file`}},
		{"version in the last byte read", []string{rule("b", "opt/big/VERSION", v)}, map[string]string{"b": "6.0"}, nil},
		{"version past MaxRead", []string{rule("b", "opt/bigger/VERSION", v)}, map[string]string{}, nil},
		{"version past MaxRead decompressed", []string{gzRule("b", "opt/biggz/VERSION.gz", `(version=)`)}, map[string]string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, problems := Detect(fsys, mustRules(t, tt.rules...))
			if !reflect.DeepEqual(found, tt.want) {
				t.Errorf("found %v, want %v", found, tt.want)
			}
			if tt.problem == nil {
				if problems != nil {
					t.Errorf("problems %q, want none", problems)
				}
				return
			}
			if len(problems) != 1 {
				t.Fatalf("problems %q, want one", problems)
			}
			for _, w := range tt.problem {
				if !strings.Contains(problems[0].Error(), w) {
					t.Errorf("problem %q does not hold %q", problems[0], w)
				}
			}
		})
	}
}

func TestDetectRulesMadeInCode(t *testing.T) {
	fsys := fstest.MapFS{"VERSION": {Data: []byte("v1.0")}}
	found, problems := Detect(fsys, []Rule{
		{Product: "a", Path: "VERSION", Regexp: `v(\S+)`},
		{Product: "b", Path: "../VERSION", Regexp: `v(\S+)`},
		{Product: "c", Path: "VERSION", Regexp: `v\S+`},
		{},
	})
	if want := map[string]string{"a": "1.0"}; !reflect.DeepEqual(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	want := []string{`"b"`, `"c"`, `""`}
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want %d", problems, len(want))
	}
	for i, w := range want {
		if msg := problems[i].Error(); !strings.Contains(msg, w) || !strings.Contains(msg, "invalid rule") {
			t.Errorf("problem %q does not hold %q and \"invalid rule\"", msg, w)
		}
	}
	if found, problems := Detect(fsys, nil); len(found) != 0 || problems != nil {
		t.Errorf("Detect with no rules = %v, %v", found, problems)
	}
}

func TestDetectSymlinksAndSpecialFiles(t *testing.T) {
	root := writeTree(t, map[string][]byte{"opt/real/VERSION": []byte("version=8.0")})
	for link, target := range map[string]string{
		"opt/a-link":   "real/VERSION",
		"opt/b-broken": "nowhere",
		"opt/c-dir":    "real",
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Skipf("no symbolic links: %v", err)
		}
	}
	rules := mustRules(t,
		`{"product": "link", "path": "opt/a-link", "regexp": "version=(\\S+)"}`,
		`{"product": "broken", "path": "opt/b-broken", "regexp": "(.+)"}`,
		`{"product": "dir", "path": "opt/c-dir", "regexp": "(.+)"}`,
		`{"product": "any", "path": "opt/[bc]-*", "regexp": "(.+)"}`,
	)
	found, problems := Detect(os.DirFS(root), rules)
	if want := map[string]string{"link": "8.0"}; !reflect.DeepEqual(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	if problems != nil {
		t.Errorf("problems: %v", problems)
	}
}

func TestDetectUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	root := writeTree(t, map[string][]byte{"opt/VERSION": []byte("version=1")})
	if err := os.Chmod(filepath.Join(root, "opt", "VERSION"), 0); err != nil {
		t.Fatal(err)
	}
	found, problems := Detect(os.DirFS(root), mustRules(t, `{"product": "a", "path": "opt/VERSION", "regexp": "(.+)"}`))
	if len(found) != 0 || len(problems) != 1 || !errors.Is(problems[0], fs.ErrPermission) {
		t.Errorf("Detect = %v, %v; want a permission problem", found, problems)
	}
}
