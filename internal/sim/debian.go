package sim

import (
	"compress/gzip"
	"errors"
	"fmt"
	debversion "github.com/knqyf263/go-deb-version"
	"io"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DebianOptions say how Debian updates become patches.
type DebianOptions struct {
	From, To time.Time         // keep entries released in [From, To); zero means unbounded
	Restart  map[string]string // product (the directory name, e.g. "libssl3") -> none|service|reboot; overrides the default
	FailProb float64           // every patch's failure probability (e.g. 0.005)
	Rollback time.Duration     // every patch's rollback time
}

// DebianEntry is one entry of a Debian changelog.
type DebianEntry struct {
	Source, Version, Distribution, Urgency string
	When                                   time.Time
	CVEs                                   []string // distinct CVE ids named in the entry's body, in first-seen order
}

// Limits of the Debian input.
const (
	maxChangelogBytes = 8 << 20 // a changelog, decompressed
	debMaxProblems    = 50
	debMaxTree        = 1 << 50 // a version directory's size counted up to
)

// Install time of a Debian patch: a fixed part and a part per MiB of the
// package's files.
const (
	debInstallBase   = 10 * time.Second
	debInstallPerMiB = 2 * time.Second
)

// DebianTrace reads fsys laid out as
// <product>/<version>/usr/share/doc/*/changelog.Debian.gz (each version
// directory a package's files as dpkg-deb unpacks them), takes for each
// product the changelog of its newest version directory (Debian version
// order), and returns one Patch per changelog entry released to the same
// stable suite as that newest entry — the codename with any "-security"
// or "-updates" suffix stripped, so "bookworm" and "bookworm-security"
// both count and "unstable" does not — within [From, To), sorted by
// release time (then ID).
//
// A patch's ID is "<product> <version>", the version the entry's; it is
// released at the entry's trailer date; it is critical when the entry's
// urgency is high, critical or emergency; it needs opts.Restart[product],
// by default a service restart (a library's users or the daemon must
// restart); it stops the service unless the product is a library (named
// lib*), since dpkg stops a daemon while it replaces it; it installs in
// 10 s plus 2 s per MiB of the newest version directory's regular files.
// FailProb and Rollback come from opts.
//
// The error names every problem found (up to 50): of opts, and of each
// product by path. A product whose newest entry is for a development
// suite (unstable, sid, experimental, UNRELEASED) is refused, as is a
// restart override for a product that is not in fsys.
func DebianTrace(fsys fs.FS, opts DebianOptions) ([]Patch, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	// The options.
	keys := make([]string, 0, len(opts.Restart))
	for k := range opts.Restart {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch v := opts.Restart[k]; v {
		case RestartNone, RestartService, RestartReboot:
		default:
			add("restart of %q: %q, want none, service or reboot", k, v)
		}
	}
	if !(opts.FailProb >= 0 && opts.FailProb <= 1) {
		add("fail probability %v, want 0 to 1", opts.FailProb)
	}
	if opts.Rollback < 0 || opts.Rollback > maxStep {
		add("rollback %v, want 0 to %v", opts.Rollback, maxStep)
	}
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.To.After(opts.From) {
		add("from %s is not before to %s", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}

	// The products.
	var out []Patch
	products := map[string]bool{}
	if fsys == nil {
		add("no file system")
	} else if top, err := fs.ReadDir(fsys, "."); err != nil {
		add("%v", err)
	} else {
		for _, d := range top {
			if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				continue
			}
			products[d.Name()] = true
			ps, err := debProduct(fsys, d.Name(), opts)
			if err != nil {
				add("%v", err)
				continue
			}
			out = append(out, ps...)
		}
		if len(products) == 0 && len(problems) == 0 {
			add("no product directories")
		}
	}
	if fsys != nil {
		for _, k := range keys {
			if !products[k] {
				add("restart of %q: no such product", k)
			}
		}
	}
	if len(problems) > 0 {
		if n := len(problems); n > debMaxProblems {
			problems = append(problems[:debMaxProblems], fmt.Sprintf("and %d more problems", n-debMaxProblems))
		}
		return nil, errors.New("debian: " + strings.Join(problems, "\n"))
	}
	slices.SortStableFunc(out, func(a, b Patch) int {
		if c := a.Released.Compare(b.Released); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// debProduct turns one product's newest changelog into patches.
func debProduct(fsys fs.FS, product string, opts DebianOptions) ([]Patch, error) {
	if strings.ContainsFunc(product, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%q: a product name may not contain spaces or control characters", product)
	}
	dirs, err := fs.ReadDir(fsys, product)
	if err != nil {
		return nil, err
	}
	var (
		newest     string
		newestV    debversion.Version
		badNames   []string
		sameAsBest []string
	)
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		v, err := debversion.NewVersion(d.Name())
		if err != nil {
			badNames = append(badNames, fmt.Sprintf("%s: not a Debian version: %v", path.Join(product, d.Name()), err))
			continue
		}
		switch c := v.Compare(newestV); {
		case newest == "" || c > 0:
			newest, newestV, sameAsBest = d.Name(), v, nil
		case c == 0:
			sameAsBest = append(sameAsBest, d.Name())
		}
	}
	switch {
	case len(badNames) > 0:
		return nil, errors.New(strings.Join(badNames, "\n"))
	case newest == "":
		return nil, fmt.Errorf("%s: no version directories", product)
	case len(sameAsBest) > 0:
		return nil, fmt.Errorf("%s: versions %q and %q are equal in Debian order", product, newest, sameAsBest[0])
	}
	root := path.Join(product, newest)

	name, err := debFindChangelog(fsys, root, product)
	if err != nil {
		return nil, err
	}
	entries, err := debReadChangelog(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	suite, ok := debStableSuite(entries[0].Distribution)
	if !ok {
		return nil, fmt.Errorf("%s: the newest entry, %s, is for %q, not a stable suite", name, entries[0].Version, entries[0].Distribution)
	}

	size, err := debTreeSize(fsys, root)
	if err != nil {
		return nil, err
	}
	ms := math.Round(float64(size) / (1 << 20) * float64(debInstallPerMiB/time.Millisecond))
	install := debInstallBase + time.Duration(ms)*time.Millisecond
	if install > maxStep {
		return nil, fmt.Errorf("%s: %d bytes make an install time over %v", root, size, maxStep)
	}

	restart := RestartService
	if r, ok := opts.Restart[product]; ok {
		restart = r
	}
	var out []Patch
	seen := map[string]bool{}
	for _, e := range entries {
		if !debInSuite(e.Distribution, suite) {
			continue
		}
		if seen[e.Version] {
			return nil, fmt.Errorf("%s: version %s has two entries", name, e.Version)
		}
		seen[e.Version] = true
		if !opts.From.IsZero() && e.When.Before(opts.From) || !opts.To.IsZero() && !e.When.Before(opts.To) {
			continue
		}
		out = append(out, Patch{
			ID:           product + " " + e.Version,
			Released:     e.When.UTC(),
			Install:      install,
			StopsService: !strings.HasPrefix(product, "lib"),
			Restart:      restart,
			FailProb:     opts.FailProb,
			Rollback:     opts.Rollback,
			Critical:     e.Urgency == "high" || e.Urgency == "critical" || e.Urgency == "emergency",
		})
	}
	return out, nil
}

// debFindChangelog finds root/usr/share/doc/*/changelog.Debian.gz, preferring
// the product's own doc directory when there are several.
func debFindChangelog(fsys fs.FS, root, product string) (string, error) {
	pattern := path.Join(root, "usr/share/doc/*/changelog.Debian.gz")
	docs, err := fs.ReadDir(fsys, path.Join(root, "usr/share/doc"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var found []string
	for _, d := range docs {
		name := path.Join(root, "usr/share/doc", d.Name(), "changelog.Debian.gz")
		if _, err := fs.Stat(fsys, name); err == nil {
			if d.Name() == product {
				return name, nil
			}
			found = append(found, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: no changelog", pattern)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%s: %d changelogs and none in usr/share/doc/%s: %s", pattern, len(found), product, strings.Join(found, ", "))
}

// debReadChangelog reads and parses one gzipped changelog.
func debReadChangelog(fsys fs.FS, name string) ([]DebianEntry, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	defer zr.Close()
	return ParseDebianChangelog(io.LimitReader(zr, maxChangelogBytes+1))
}

// debTreeSize sums the sizes of the regular files under root.
func debTreeSize(fsys fs.FS, root string) (int64, error) {
	var size int64
	err := fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if s := info.Size(); s > debMaxTree-size {
			size = debMaxTree // saturate, far past any install time allowed
		} else if s > 0 {
			size += s
		}
		return nil
	})
	return size, err
}

// debStableSuite is the stable suite of an entry's first distribution:
// the codename without a "-security" or "-updates" suffix. It is false
// for development suites.
func debStableSuite(dist string) (string, bool) {
	first, _, _ := strings.Cut(dist, " ")
	s := debSuiteBase(first)
	switch strings.ToLower(s) {
	case "", "unstable", "sid", "experimental", "unreleased":
		return "", false
	}
	return s, true
}

func debSuiteBase(d string) string {
	for _, suffix := range []string{"-security", "-updates"} {
		if b, ok := strings.CutSuffix(d, suffix); ok {
			return b
		}
	}
	return d
}

// debInSuite reports whether any of an entry's distributions is suite.
func debInSuite(dist, suite string) bool {
	for _, d := range strings.Fields(dist) {
		if debSuiteBase(d) == suite {
			return true
		}
	}
	return false
}

// The lines of a changelog, after dpkg's Dpkg::Changelog::Debian.
var (
	// package (version) dist [dist…]; key=value[, key=value…]
	debHeaderRE = regexp.MustCompile(`^([A-Za-z0-9][-+.A-Za-z0-9]*)[ \t]+\(([^() \t]+)\)((?:[ \t]+[-+.A-Za-z0-9]+)+);(.*)$`)
	// " -- Name <email>  date"; dpkg accepts one space before the date too.
	debTrailerRE = regexp.MustCompile(`^ -- (.*) <([^<>]*)>( {1,2})(\S.*)$`)
	// [Day, ]DD Mon YYYY HH:MM:SS ±HHMM
	debDateRE   = regexp.MustCompile(`^(?:([A-Za-z]+),[ \t]*)?(\d{1,2})[ \t]+([A-Za-z]+)[ \t]+(\d{4})[ \t]+(\d{1,2}):(\d{2}):(\d{2})[ \t]+([-+])(\d{2})(\d{2})$`)
	debOptionRE = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9]*$`)
	debCVERE    = regexp.MustCompile(`(?i)\bCVE-\d{4}-\d{4,19}\b`)
)

// ParseDebianChangelog parses a (decompressed) Debian changelog into its
// entries, newest first as written, after Debian Policy §4.4 and dpkg:
//
//	package (version) distribution(s); urgency=urgency
//
//	  * change details
//
//	 -- Name <email>  Day, DD Mon YYYY HH:MM:SS +ZZZZ
//
// Blank lines between entries and lines starting with "#" are skipped; a
// line starting "Local variables:" or "vim:" (editor settings) or "Old
// Changelog:" ends the changelog, as with dpkg. Urgency is the first word
// of the urgency option, lower-cased ("" if there is none); Distribution
// is the distributions field, space-separated when there are several.
// Input over 8 MiB, a malformed header or trailer line, a bad version or
// date, text outside an entry, an entry without a trailer and input
// without entries are errors naming the line.
func ParseDebianChangelog(r io.Reader) ([]DebianEntry, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxChangelogBytes+1))
	if err != nil {
		return nil, fmt.Errorf("changelog: %w", err)
	}
	if len(data) > maxChangelogBytes {
		return nil, fmt.Errorf("changelog: larger than %d MiB", maxChangelogBytes>>20)
	}
	var (
		out     []DebianEntry
		cur     *DebianEntry
		curLine int // the line of cur's header
		seen    map[string]bool
	)
	fail := func(n int, format string, a ...any) ([]DebianEntry, error) {
		return nil, fmt.Errorf("changelog: line %d: %s", n, fmt.Sprintf(format, a...))
	}
	rest := strings.TrimPrefix(string(data), "\ufeff") // a byte order mark
	for n := 1; rest != ""; n++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		blank := strings.TrimSpace(line) == ""
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		if strings.HasPrefix(line, "#") { // a comment, as dpkg lets pass
			continue
		}

		if cur != nil { // in an entry: change details until the trailer
			switch {
			case strings.HasPrefix(line, " --"):
				m := debTrailerRE.FindStringSubmatch(strings.TrimRight(line, " \t"))
				if m == nil {
					return fail(n, "malformed trailer line %s, want \" -- Name <email>  Day, DD Mon YYYY HH:MM:SS +ZZZZ\"", debQuote(line))
				}
				when, err := parseDebDate(m[4])
				if err != nil {
					return fail(n, "bad date %s: %v", debQuote(m[4]), err)
				}
				cur.When = when
				out = append(out, *cur)
				cur = nil
			case blank || indented:
				for _, id := range debCVERE.FindAllString(line, -1) {
					id = strings.ToUpper(id)
					if !seen[id] {
						seen[id] = true
						cur.CVEs = append(cur.CVEs, id)
					}
				}
			case debHeaderRE.MatchString(line):
				return fail(n, "new entry before the trailer line of the entry at line %d (%s %s)", curLine, cur.Source, cur.Version)
			default:
				return fail(n, "unindented line %s in the entry at line %d", debQuote(line), curLine)
			}
			continue
		}

		// Between entries.
		switch {
		case blank:
			continue
		case debChangelogEnd(line):
			rest = ""
			continue
		case strings.HasPrefix(line, " --"):
			return fail(n, "trailer line outside an entry")
		case indented:
			return fail(n, "text outside an entry: %s", debQuote(line))
		}
		e, err := parseDebHeader(line)
		if err != nil {
			return fail(n, "%v", err)
		}
		cur, curLine, seen = &e, n, map[string]bool{}
	}
	if cur != nil {
		return nil, fmt.Errorf("changelog: the entry at line %d (%s %s) has no trailer line", curLine, cur.Source, cur.Version)
	}
	if len(out) == 0 {
		return nil, errors.New("changelog: no entries")
	}
	return out, nil
}

// debChangelogEnd reports a line after which dpkg stops parsing.
func debChangelogEnd(line string) bool {
	l := strings.ToLower(line)
	l = strings.TrimLeft(strings.TrimPrefix(l, ";;"), " \t")
	return strings.HasPrefix(l, "local variables:") || strings.HasPrefix(l, "vim:") || strings.HasPrefix(l, "old changelog:")
}

// parseDebHeader parses an entry's first line.
func parseDebHeader(line string) (DebianEntry, error) {
	line = strings.TrimRight(line, " \t")
	m := debHeaderRE.FindStringSubmatch(line)
	if m == nil {
		return DebianEntry{}, fmt.Errorf("malformed header line %s, want \"package (version) distribution; urgency=…\"", debQuote(line))
	}
	e := DebianEntry{Source: m[1], Version: m[2], Distribution: strings.Join(strings.Fields(m[3]), " ")}
	if _, err := debversion.NewVersion(e.Version); err != nil {
		return DebianEntry{}, fmt.Errorf("version %s: %v", debQuote(e.Version), err)
	}
	if opts := strings.TrimSpace(m[4]); opts != "" {
		for opt := range strings.SplitSeq(opts, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
			if !ok || !debOptionRE.MatchString(k) {
				return DebianEntry{}, fmt.Errorf("malformed option %s in header line, want key=value", debQuote(opt))
			}
			if strings.EqualFold(k, "urgency") {
				if f := strings.Fields(v); len(f) > 0 {
					e.Urgency = strings.ToLower(f[0])
				}
			}
		}
	}
	return e, nil
}

var debMonths = map[string]time.Month{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

var debWeekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true}

// parseDebDate parses a trailer's RFC 5322 date, "Fri, 08 May 2026
// 07:16:21 -0700". A weekday that does not match the date is let pass, as
// dpkg does; an unknown one is not.
func parseDebDate(s string) (time.Time, error) {
	m := debDateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, errors.New(`want "Day, DD Mon YYYY HH:MM:SS +ZZZZ"`)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n } // at most 4 digits
	if m[1] != "" && !debWeekdays[strings.ToLower(m[1])] {
		return time.Time{}, fmt.Errorf("unknown weekday %q", m[1])
	}
	month, ok := debMonths[strings.ToLower(m[3])]
	if !ok {
		return time.Time{}, fmt.Errorf("unknown month %q", m[3])
	}
	day, year, hh, mm, ss := atoi(m[2]), atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
	zh, zm := atoi(m[9]), atoi(m[10])
	switch {
	case year < 1970:
		return time.Time{}, fmt.Errorf("year %d before 1970", year)
	case day < 1 || day > time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day():
		return time.Time{}, fmt.Errorf("no day %d in %s %d", day, month, year)
	case hh > 23 || mm > 59 || ss > 59:
		return time.Time{}, fmt.Errorf("no time %s:%s:%s", m[5], m[6], m[7])
	case zh > 23 || zm > 59:
		return time.Time{}, fmt.Errorf("bad time zone offset %s%s%s", m[8], m[9], m[10])
	}
	off := zh*3600 + zm*60
	if m[8] == "-" {
		off = -off
	}
	return time.Date(year, month, day, hh, mm, ss, 0, time.FixedZone("", off)), nil
}

// debQuote quotes a line for an error, cut to a readable length.
func debQuote(s string) string {
	if len(s) > 60 {
		i := 60
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return strconv.Quote(s)
}
