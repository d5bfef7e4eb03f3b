package agent

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/patchday/patchday/internal/jsontok"
)

// Rule detects a product that was installed before the agent: a file under
// the install root whose content names the version.
type Rule struct {
	Product string `json:"product"`        // 1..100 bytes, printable UTF-8, no leading/trailing space
	Path    string `json:"path"`           // slash-separated, relative to the root, fs.ValidPath-clean; may hold glob metacharacters (path.Match syntax); the first match in lexical order is read
	Gzip    bool   `json:"gzip,omitempty"` // the file is gzip-compressed (e.g. Debian's changelog.Debian.gz)
	Regexp  string `json:"regexp"`         // RE2 (Go regexp) with at least one capture group; the first group's text is the version. Multi-line mode is NOT implied; authors use (?m) themselves.
	re      *regexp.Regexp
}

// MaxRules bounds a rules file.
const MaxRules = 1000

// MaxRead bounds the bytes of one file (after gzip decompression) a rule reads.
const MaxRead = 1 << 20

// Bounds of the text fields of a rule and of a detected version, in bytes.
const (
	maxProduct = 100
	maxPath    = 1024
	maxRegexp  = 1024
	maxVersion = 100
)

// ruleKeys are the keys a rule object may hold, spelled exactly: encoding/json
// would also accept "Product" or "PATH", which would hide duplicates.
var ruleKeys = []string{"product", "path", "gzip", "regexp"}

// ruleErrors is every problem found in a rules file; its text joins them with "; ".
type ruleErrors []error

func (p ruleErrors) Error() string {
	s := make([]string, len(p))
	for i, err := range p {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (p ruleErrors) Unwrap() []error { return p }

func (p *ruleErrors) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// ParseRules reads a rules file: {"rules": [Rule, ...]}. Unknown or duplicate keys, a bad
// glob, a regexp that does not compile or has no capture group, an empty or too long field,
// a path that is absolute or holds "..", more than MaxRules rules, trailing data after the object:
// each is an error naming the rule by index and field, e.g. `rules[2].regexp: ...`. All problems
// are reported together (joined with "; "), not just the first.
func ParseRules(b []byte) ([]Rule, error) {
	// encoding/json keeps the last of duplicate keys without a word, so a first
	// pass over the tokens finds them (and checks the syntax) before decoding.
	sc, err := scan(b)
	if err != nil {
		return nil, err
	}
	var probs ruleErrors
	for _, k := range sc.topDups {
		probs.add("duplicate key %q", k)
	}
	if sc.trailing {
		probs.add("trailing data after the object")
	}

	// Decoding into raw values, key by key, instead of straight into []Rule with
	// DisallowUnknownFields lets every unknown key and every bad field be reported,
	// not just the first, and matches keys exactly rather than case-insensitively.
	var top map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&top); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	for _, k := range sortedKeys(top) {
		if k != "rules" {
			probs.add("unknown key %q", k)
		}
	}
	raw, ok := top["rules"]
	var items []json.RawMessage
	switch {
	case !ok:
		probs.add(`rules: missing, want {"rules": [...]}`)
	case kind(raw) == "null":
		probs.add("rules: null, want a list of rules ([] for none)")
	case kind(raw) != "list":
		probs.add("rules: want a list of rules, got %s", kind(raw))
	default:
		if err := json.Unmarshal(raw, &items); err != nil {
			probs.add("rules: %v", err)
		}
	}
	if len(items) > MaxRules {
		probs.add("rules: %d rules, more than %d", len(items), MaxRules)
	}
	rules := make([]Rule, 0, len(items))
	for i, item := range items {
		for _, k := range sc.ruleDups[i] {
			if slices.Contains(ruleKeys, k) {
				probs.add("rules[%d].%s: duplicate key", i, k)
			} else {
				probs.add("rules[%d]: duplicate key %q", i, k)
			}
		}
		r, ok := decodeRule(item, fmt.Sprintf("rules[%d]", i), &probs)
		if ok {
			rules = append(rules, r)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return rules, nil
}

// decodeRule decodes and checks one rule object, adding its problems to probs
// with where ("rules[i]") in front; ok reports whether the rule is sound.
func decodeRule(raw json.RawMessage, where string, probs *ruleErrors) (r Rule, ok bool) {
	n := len(*probs)
	if kind(raw) != "object" {
		probs.add("%s: want an object, got %s", where, kind(raw))
		return Rule{}, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		probs.add("%s: %v", where, err)
		return Rule{}, false
	}
	for _, k := range sortedKeys(fields) {
		if !slices.Contains(ruleKeys, k) {
			probs.add("%s: unknown key %q", where, k)
		}
	}
	// str decodes a required string field; ok is false if it is missing or
	// not a string, which is then the only problem reported for the field.
	str := func(key string) (s string, ok bool) {
		v, ok := fields[key]
		if !ok {
			probs.add("%s.%s: missing", where, key)
			return "", false
		}
		if kind(v) != "string" || json.Unmarshal(v, &s) != nil {
			probs.add("%s.%s: want a string, got %s", where, key, kind(v))
			return "", false
		}
		return s, true
	}
	var s string
	if s, ok = str("product"); ok {
		r.Product = s
		if msg := checkText(s, maxProduct); msg != "" {
			probs.add("%s.product: %s", where, msg)
		}
	}
	if s, ok = str("path"); ok {
		r.Path = s
		if msg := checkPath(s); msg != "" {
			probs.add("%s.path: %s", where, msg)
		}
	}
	if s, ok = str("regexp"); ok {
		r.Regexp = s
		var msg string
		if r.re, msg = compile(s); msg != "" {
			probs.add("%s.regexp: %s", where, msg)
		}
	}
	if v, ok := fields["gzip"]; ok {
		if kind(v) != "boolean" || json.Unmarshal(v, &r.Gzip) != nil {
			probs.add("%s.gzip: want true or false, got %s", where, kind(v))
		}
	}
	return r, len(*probs) == n
}

// check validates the fields of a rule made in code rather than by ParseRules
// and compiles its regexp.
func (r *Rule) check() (*regexp.Regexp, error) {
	var msgs []string
	if msg := checkText(r.Product, maxProduct); msg != "" {
		msgs = append(msgs, "product: "+msg)
	}
	if msg := checkPath(r.Path); msg != "" {
		msgs = append(msgs, "path: "+msg)
	}
	re, msg := compile(r.Regexp)
	if msg != "" {
		msgs = append(msgs, "regexp: "+msg)
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("invalid rule: %s", strings.Join(msgs, "; "))
	}
	return re, nil
}

// compile compiles a rule's regexp, or returns what is wrong with it.
func compile(expr string) (*regexp.Regexp, string) {
	switch {
	case expr == "":
		return nil, "empty"
	case len(expr) > maxRegexp:
		return nil, fmt.Sprintf("%d bytes, more than %d", len(expr), maxRegexp)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err.Error()
	}
	if re.NumSubexp() < 1 {
		return nil, "no capture group (the first group's text is the version)"
	}
	return re, ""
}

// checkText returns what is wrong with s as a product name or version, or "".
func checkText(s string, limit int) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > limit:
		return fmt.Sprintf("%d bytes, more than %d", len(s), limit)
	case !utf8.ValidString(s):
		return fmt.Sprintf("%q is not valid UTF-8", s)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Sprintf("%q holds a character that is not printable", s)
	case strings.TrimSpace(s) != s:
		return fmt.Sprintf("%q has leading or trailing space", s)
	}
	return ""
}

// checkPath returns what is wrong with p as a rule's path pattern, or "".
func checkPath(p string) string {
	switch {
	case p == "":
		return "empty"
	case len(p) > maxPath:
		return fmt.Sprintf("%d bytes, more than %d", len(p), maxPath)
	case !utf8.ValidString(p):
		return fmt.Sprintf("%q is not valid UTF-8", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q is absolute, want a path relative to the install root", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Sprintf("%q holds \"..\"", p)
	case p == ".":
		return `"." is the install root, want a file`
	case !fs.ValidPath(p):
		return fmt.Sprintf("%q is not a clean slash-separated path (no empty or \".\" elements, no trailing slash)", p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Sprintf("%q: bad glob: %v", p, err)
	}
	return ""
}

// kind names the JSON type of a raw value, for error messages.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "list"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// scanned is what the token pass finds that encoding/json lets through.
type scanned struct {
	topDups  []string         // keys repeated in the top object
	ruleDups map[int][]string // keys repeated in rules[i]
	trailing bool             // something follows the top object
}

// scan walks b token by token. It fails on invalid JSON or a top value that is
// not an object; everything else it finds is reported in scanned. It keeps no
// stack of its own, so deep nesting costs no recursion.
func scan(b []byte) (scanned, error) {
	sc := scanned{ruleDups: map[int][]string{}}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // a number such as 1e999 is valid JSON but no float64
	fail := func(err error) (scanned, error) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		line, col := position(b, dec.InputOffset())
		return scanned{}, fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return scanned{}, errors.New(`empty file, want {"rules": [...]}`)
	}
	if err != nil {
		return fail(err)
	}
	if tok != json.Delim('{') {
		return scanned{}, fmt.Errorf(`want a JSON object {"rules": [...]}, got %s`, tokenKind(tok))
	}
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		if seen[key]++; seen[key] == 2 {
			sc.topDups = append(sc.topDups, key)
		}
		if key == "rules" && seen[key] == 1 {
			err = scanRules(dec, sc.ruleDups)
		} else {
			err = jsontok.Skip(dec)
		}
		if err != nil {
			return fail(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		sc.trailing = true
	}
	return sc, nil
}

// scanRules walks the value of "rules", recording the keys repeated in each
// rule object by the rule's index.
func scanRules(dec *json.Decoder, dups map[int][]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return jsontok.SkipRest(dec, tok)
	}
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != json.Delim('{') {
			if err := jsontok.SkipRest(dec, tok); err != nil {
				return err
			}
			continue
		}
		seen := map[string]int{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			if seen[key]++; seen[key] == 2 {
				dups[i] = append(dups[i], key)
			}
			if err := jsontok.Skip(dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// tokenKind names the JSON type of the first token of a value.
func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "list"
		}
		return "object"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "number"
}

// position turns a byte offset in b into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	before := b[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// Detect applies the rules to the tree fsys (the install root) and returns the version of each
// product found. Rules are tried in order; the first rule that yields a version for a product
// wins, later rules for the same product are skipped. A missing file or a regexp that does not
// match is simply "not detected". A file that cannot be read or decompressed, or a version that
// is empty, longer than 100 bytes or not printable, is "not detected" and is returned in problems
// (one error per rule, naming the product and path) so the agent can log it.
func Detect(fsys fs.FS, rules []Rule) (found map[string]string, problems []error) {
	found = map[string]string{}
	for _, r := range rules {
		if _, ok := found[r.Product]; ok {
			continue
		}
		v, name, err := r.detect(fsys)
		switch {
		case err != nil && name != "" && name != r.Path:
			problems = append(problems, fmt.Errorf("detect %q from %s (matching %s): %w", r.Product, name, r.Path, err))
		case err != nil:
			problems = append(problems, fmt.Errorf("detect %q from %s: %w", r.Product, r.Path, err))
		case v != "":
			found[r.Product] = v
		}
	}
	return found, problems
}

// detect returns the version r finds in fsys and the file it read; the version
// is "" if there is none, and err is set if the file is there but cannot be
// read or the version it names is unusable.
func (r Rule) detect(fsys fs.FS) (version, name string, err error) {
	re := r.re
	if re == nil {
		if re, err = r.check(); err != nil {
			return "", "", err
		}
	}
	name, err = firstFile(fsys, r.Path)
	if err != nil || name == "" {
		return "", name, err
	}
	data, err := readFile(fsys, name, r.Gzip)
	if err != nil {
		return "", name, err
	}
	m := re.FindSubmatch(data)
	if m == nil {
		return "", name, nil
	}
	version = string(m[1])
	if msg := checkText(version, maxVersion); msg != "" {
		return "", name, fmt.Errorf("version %s", msg)
	}
	return version, name, nil
}

// firstFile returns the first regular file, in lexical order, that pattern
// matches in fsys, or "" if there is none. An error is returned only when no
// regular file was found and some match could not be examined.
func firstFile(fsys fs.FS, pattern string) (string, error) {
	matches, err := fs.Glob(fsys, pattern)
	if err != nil {
		return "", err
	}
	slices.Sort(matches)
	var firstErr error
	for _, m := range matches {
		fi, err := fs.Stat(fsys, m) // follows symbolic links
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// A dangling link, or the file went away: not there.
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case fi.Mode().IsRegular():
			return m, nil
		}
	}
	return "", firstErr
}

// readFile reads at most MaxRead bytes of name, decompressed if gz is set.
func readFile(fsys fs.FS, name string, gz bool) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rd io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err == io.EOF {
			return nil, errors.New("decompress: empty file")
		}
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	data, err := io.ReadAll(io.LimitReader(rd, MaxRead))
	if err != nil {
		if gz {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return data, nil
}
