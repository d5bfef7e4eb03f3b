package sim

import (
	"bytes"
	"cmp"
	"compress/gzip"
	debversion "github.com/knqyf263/go-deb-version"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// debEntry writes one changelog entry.
func debEntry(header, trailerDate string, body ...string) string {
	var b strings.Builder
	b.WriteString(header + "\n\n")
	for _, l := range body {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("\n -- A Maintainer <a@example.org>  " + trailerDate + "\n\n")
	return b.String()
}

var debGood = debEntry("curl (7.88.1-10+deb12u15) bookworm; urgency=medium", "Fri, 08 May 2026 07:16:21 -0700",
	"* Fix 3 CVEs:", "  - CVE-2025-10148", "  - cve-2026-3783 and CVE-2025-10148 again", "  - d/p/fix-CVE-2026-123633.patch") +
	debEntry("curl (7.88.1-10+deb12u5) bookworm-security; urgency=high", "Sun, 10 Dec 2023 06:07:30 +0000", "* Fix CVE-2023-46218") +
	debEntry("curl (7.88.1-10) unstable; urgency=HIGH (security fixes)", "Thu, 18 May 2023 23:43:40 +0100", "* Not a CVE: CVE-12-1, CVE-2023-123") +
	debEntry("curl (7.88.1-9) unstable experimental; binary-only=yes, urgency=critical", "15 Apr 2023 20:03:44 +0100") +
	debEntry("curl (7.88.1-8) unstable; bugs=x", "Sun, 26 Mar 2023 11:36:24 +0100") +
	debEntry("curl (1:7.88.1-7) unstable; urgency=emergency", "Tue, 21 Mar 2023 22:39:05 +0000") +
	"# Older entries have been removed from this changelog.\n# To read the complete changelog use `apt changelog libcurl4`.\n"

func TestParseDebianChangelog(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04:05 -0700", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		in   string
		want []DebianEntry
	}{
		{"several", debGood, []DebianEntry{
			{Source: "curl", Version: "7.88.1-10+deb12u15", Distribution: "bookworm", Urgency: "medium", When: at("2026-05-08 07:16:21 -0700"),
				CVEs: []string{"CVE-2025-10148", "CVE-2026-3783", "CVE-2026-123633"}},
			{Source: "curl", Version: "7.88.1-10+deb12u5", Distribution: "bookworm-security", Urgency: "high", When: at("2023-12-10 06:07:30 +0000"),
				CVEs: []string{"CVE-2023-46218"}},
			{Source: "curl", Version: "7.88.1-10", Distribution: "unstable", Urgency: "high", When: at("2023-05-18 23:43:40 +0100")},
			{Source: "curl", Version: "7.88.1-9", Distribution: "unstable experimental", Urgency: "critical", When: at("2023-04-15 20:03:44 +0100")},
			{Source: "curl", Version: "7.88.1-8", Distribution: "unstable", When: at("2023-03-26 11:36:24 +0100")},
			{Source: "curl", Version: "1:7.88.1-7", Distribution: "unstable", Urgency: "emergency", When: at("2023-03-21 22:39:05 +0000")},
		}},
		{"epoch, CRLF, one space before the date, trailing blanks, editor settings",
			"openssl (1:3.0.22-1~deb12u2) bookworm-security; urgency=low \r\n\r\n  * Fix CVE-2026-1.\r\n\r\n" +
				" -- Someone <s@example.org> Wed, 21 Oct 2026 16:54:24 +0700  \r\n\r\nLocal variables:\nmode: debian-changelog\nEnd:\n",
			[]DebianEntry{{Source: "openssl", Version: "1:3.0.22-1~deb12u2", Distribution: "bookworm-security", Urgency: "low",
				When: at("2026-10-21 16:54:24 +0700")}}},
		{"no body", "x (1.0) stable; urgency=medium\n -- A <a@b>  Mon, 01 Jan 2024 00:00:00 +0000",
			[]DebianEntry{{Source: "x", Version: "1.0", Distribution: "stable", Urgency: "medium", When: at("2024-01-01 00:00:00 +0000")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDebianChangelog(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if !g.When.Equal(w.When) {
					t.Errorf("entry %d: when %v, want %v", i, g.When, w.When)
				}
				g.When, w.When = time.Time{}, time.Time{}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

var debBad = []struct {
	name, in string
	want     []string // every one in the error
}{
	{"empty", "", []string{"changelog: no entries"}},
	{"only blanks and comments", "\n\n# nothing here\n  \n", []string{"no entries"}},
	{"no parentheses", "curl 7.88.1-10 bookworm; urgency=medium\n", []string{"line 1: malformed header line", `"curl 7.88.1-10 bookworm; urgency=medium"`}},
	{"no distribution", "curl (7.88.1-10); urgency=medium\n", []string{"line 1: malformed header line"}},
	{"no semicolon", "curl (7.88.1-10) bookworm urgency=medium\n", []string{"line 1: malformed header line"}},
	{"bad option", "curl (7.88.1-10) bookworm; urgency\n", []string{"line 1: malformed option", "want key=value"}},
	{"bad version", "curl (abc) bookworm; urgency=low\n", []string{"line 1: version \"abc\"", "must start with digit"}},
	{"missing trailer at the end", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 00:00:00 +0000") + "b (2.0) bookworm; urgency=low\n\n  * x\n",
		[]string{"the entry at line 6 (b 2.0) has no trailer line"}},
	{"missing trailer before the next entry", "a (2.0) bookworm; urgency=low\n\n  * x\n\n" + debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 00:00:00 +0000"),
		[]string{"line 5: new entry before the trailer line of the entry at line 1 (a 2.0)"}},
	{"malformed trailer", "a (1.0) bookworm; urgency=low\n\n  * x\n\n -- A Maintainer  Mon, 01 Jan 2024 00:00:00 +0000\n",
		[]string{"line 5: malformed trailer line", "want \" -- Name <email>  Day, DD Mon YYYY HH:MM:SS +ZZZZ\""}},
	{"bad date", debEntry("a (1.0) bookworm; urgency=low", "Mon, 31 Feb 2024 00:00:00 +0000"), []string{"line 4: bad date", "no day 31 in February 2024"}},
	{"bad month", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Mayo 2024 00:00:00 +0000"), []string{"line 4: bad date", `unknown month "Mayo"`}},
	{"bad hour", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 24:00:00 +0000"), []string{"line 4: bad date", "no time 24:00:00"}},
	{"bad zone", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 00:00:00 +0099"), []string{"line 4: bad date", "bad time zone offset +0099"}},
	{"no zone", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 00:00:00"), []string{"line 4: bad date", "want \"Day, DD Mon YYYY HH:MM:SS +ZZZZ\""}},
	{"zero year", debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 0001 00:00:00 +0000"), []string{"line 4: bad date", "year 1 before 1970"}},
	{"bad weekday", debEntry("a (1.0) bookworm; urgency=low", "Xyz, 01 Jan 2024 00:00:00 +0000"), []string{"line 4: bad date", `unknown weekday "Xyz"`}},
	{"text outside an entry", "  * stray\n", []string{"line 1: text outside an entry"}},
	{"trailer outside an entry", " -- A <a@b>  Mon, 01 Jan 2024 00:00:00 +0000\n", []string{"line 1: trailer line outside an entry"}},
	{"unindented body", "a (1.0) bookworm; urgency=low\n\nFixed things.\n", []string{"line 3: unindented line \"Fixed things.\" in the entry at line 1"}},
	{"too large", "a (1.0) bookworm; urgency=low\n" + strings.Repeat("  * x\n", (8<<20)/6+1), []string{"changelog: larger than 8 MiB"}},
}

func TestParseDebianChangelogRefuses(t *testing.T) {
	for _, tt := range debBad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDebianChangelog(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func FuzzParseDebianChangelog(f *testing.F) {
	f.Add(debGood)
	for _, tt := range debBad {
		if len(tt.in) < 4096 {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseDebianChangelog(strings.NewReader(in))
		if err != nil {
			if got != nil {
				t.Errorf("entries with an error: %+v", got)
			}
			return
		}
		if len(got) == 0 {
			t.Error("no entries and no error")
		}
		for i, e := range got {
			if e.Source == "" || e.Version == "" || e.Distribution == "" || e.When.IsZero() {
				t.Errorf("entry %d incomplete: %+v", i, e)
			}
			if _, err := debversion.NewVersion(e.Version); err != nil {
				t.Errorf("entry %d: version %q: %v", i, e.Version, err)
			}
			seen := map[string]bool{}
			for _, c := range e.CVEs {
				if seen[c] || !strings.HasPrefix(c, "CVE-") {
					t.Errorf("entry %d: CVEs %q", i, e.CVEs)
				}
				seen[c] = true
			}
		}
	})
}

// Checked against dpkg --compare-versions.
var debVersionOrder = []struct {
	a, b string
	want int
}{
	{"1.0~rc1", "1.0", -1},
	{"1:0.9", "2.0", 1},
	{"7.88.1-10+deb12u5", "7.88.1-10+deb12u15", -1},
	{"2.9.14+dfsg-1.3~deb12u4", "2.9.14+dfsg-1.3~deb12u6", -1},
	{"2.9.14+dfsg-1.3~deb12u6", "2.9.14+dfsg-1.3", -1}, // a backport sorts before the version it backports
	{"3.0.20-1+deb12u2", "3.0.22-1+deb12u2", -1},       // the upstream version first
	{"1.22.1-9+deb12u9", "1.22.1-9+deb12u11", -1},      // numbers compare as numbers
	{"1.0", "1.0-0", 0},                                // no revision is revision 0
	{"001:1.0", "1:1.0", 0},                            // leading zeros
	{"1.002", "1.2", 0},                                // leading zeros
	{"1.0~~", "1.0~", -1},                              // ~~ before ~
	{"1.0~", "1.0", -1},                                // ~ before the end
	{"1.0", "1.0a", -1},                                // the end before a letter
	{"1.0a", "1.0+", -1},                               // letters before other characters
	{"1.0+", "1.0.", -1},                               // others by ASCII
	{"1.0Z", "1.0a", -1},                               // ASCII case order
	{"1.10", "1.9", 1},                                 // numeric, not lexical
	{"0:1.0", "1.0", 0},                                // epoch 0 is no epoch
	{"1.0-1", "1.0-1.1", -1},                           // revisions compared too
	{"10:1", "9:99", 1},                                // epochs numeric
	{"1.2-3-4", "1.2-3", 1},                            // the revision is after the last hyphen
}

// TestDebianVersionCompare: the library orders versions as dpkg does on
// the cases the trace relies on.
func TestDebianVersionCompare(t *testing.T) {
	for _, tt := range debVersionOrder {
		a, err := debversion.NewVersion(tt.a)
		if err != nil {
			t.Fatalf("%q: %v", tt.a, err)
		}
		b, err := debversion.NewVersion(tt.b)
		if err != nil {
			t.Fatalf("%q: %v", tt.b, err)
		}
		if got := cmp.Compare(a.Compare(b), 0); got != tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := cmp.Compare(b.Compare(a), 0); got != -tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// The real updates: see /work/shared/testdata/releases/README.md.
const debReleases = "../../../shared/testdata/releases"

// The changelogs' facts below were read by hand (zcat … | grep).
func TestDebianChangelogsReal(t *testing.T) {
	if _, err := os.Stat(debReleases); err != nil {
		t.Skip(err)
	}
	entries := map[string]int{ // the entries ( -- lines) of each changelog
		"libcurl4/7.88.1-10+deb12u15": 55, "libcurl4/7.88.1-10+deb12u5": 45,
		"libssl3/3.0.22-1+deb12u2": 55, "libssl3/3.0.20-1+deb12u2": 53,
		"nginx/1.22.1-9+deb12u11": 40, "nginx/1.22.1-9+deb12u9": 38,
		"libxml2/2.9.14+dfsg-1.3+deb12u6": 33, "libxml2/2.9.14+dfsg-1.3+deb12u4": 31,
	}
	for dir, n := range entries {
		product, _, _ := strings.Cut(dir, "/")
		got, err := debReadChangelog(os.DirFS(debReleases), path.Join(dir, "usr/share/doc", product, "changelog.Debian.gz"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if len(got) != n {
			t.Errorf("%s: %d entries, want %d", dir, len(got), n)
		}
		if dir == "libcurl4/7.88.1-10+deb12u15" {
			want := []string{"CVE-2025-10148", "CVE-2025-14524", "CVE-2025-14819", "CVE-2026-3783", "CVE-2026-3784", "CVE-2026-5773", "CVE-2026-7168"}
			if !slices.Equal(got[0].CVEs, want) {
				t.Errorf("%s: newest entry's CVEs %q, want %q", dir, got[0].CVEs, want)
			}
		}
	}
}

func TestDebianTraceReal(t *testing.T) {
	if _, err := os.Stat(debReleases); err != nil {
		t.Skip(err)
	}
	fsys := os.DirFS(debReleases)
	opts := DebianOptions{
		From:     time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		To:       time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Restart:  map[string]string{"libssl3": RestartReboot, "nginx": RestartNone},
		FailProb: 0.005,
		Rollback: 5 * time.Minute,
	}
	got, err := DebianTrace(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Patch{}
	count := map[string]int{}
	critical := map[string][]string{}
	for _, p := range got {
		product, version, _ := strings.Cut(p.ID, " ")
		byID[p.ID] = p
		count[product]++
		if p.Critical {
			critical[product] = append(critical[product], version)
		}
		if p.Released.Location() != time.UTC || p.Released.Before(opts.From) || !p.Released.Before(opts.To) {
			t.Errorf("%s: released %v", p.ID, p.Released)
		}
		if !strings.Contains(version, "deb12u") { // every bookworm entry; unstable ones have none
			t.Errorf("%s: not a bookworm update", p.ID)
		}
		if p.FailProb != 0.005 || p.Rollback != 5*time.Minute {
			t.Errorf("%s: fail prob %v, rollback %v", p.ID, p.FailProb, p.Rollback)
		}
		// 10 s + 2 s per MiB of the newest tree: 842,352, 5,920,651,
		// 1,353,434 and 1,819,668 bytes (ls -l).
		want := map[string]struct {
			install time.Duration
			stops   bool
			restart string
		}{
			"libcurl4": {11607 * time.Millisecond, false, RestartService},
			"libssl3":  {21293 * time.Millisecond, false, RestartReboot},
			"nginx":    {12581 * time.Millisecond, true, RestartNone},
			"libxml2":  {13471 * time.Millisecond, false, RestartService},
		}[product]
		if p.Install != want.install || p.StopsService != want.stops || p.Restart != want.restart {
			t.Errorf("%s: install %v, stops %v, restart %s; want %v, %v, %s", p.ID, p.Install, p.StopsService, p.Restart, want.install, want.stops, want.restart)
		}
	}
	// Entries for bookworm or bookworm-security from 2025-01-01 to
	// 2026-12-01 (UTC) in each product's newest changelog.
	if want := map[string]int{"libcurl4": 7, "libssl3": 12, "nginx": 11, "libxml2": 5}; !reflect.DeepEqual(count, want) {
		t.Errorf("patches per product %v, want %v", count, want)
	}
	if want := map[string][]string{
		"libssl3": {"3.0.22-1~deb12u2"},
		"nginx":   {"1.22.1-9+deb12u11"},
		"libxml2": {"2.9.14+dfsg-1.3~deb12u2", "2.9.14+dfsg-1.3~deb12u3", "2.9.14+dfsg-1.3~deb12u4", "2.9.14+dfsg-1.3~deb12u5", "2.9.14+dfsg-1.3~deb12u6"},
	}; !reflect.DeepEqual(critical, want) {
		t.Errorf("critical %v, want %v", critical, want)
	}
	for id, want := range map[string]time.Time{
		"libcurl4 7.88.1-10+deb12u15": time.Date(2026, 5, 8, 14, 16, 21, 0, time.UTC),  // Fri, 08 May 2026 07:16:21 -0700
		"libcurl4 7.88.1-10+deb12u9":  time.Date(2025, 1, 3, 0, 11, 56, 0, time.UTC),   // Thu, 02 Jan 2025 21:11:56 -0300: in 2025 in UTC
		"nginx 1.22.1-9+deb12u11":     time.Date(2026, 11, 19, 21, 2, 23, 0, time.UTC), // Thu, 19 Nov 2026 22:02:23 +0100
		"libssl3 3.0.22-1~deb12u2":    time.Date(2026, 10, 21, 9, 54, 24, 0, time.UTC), // Wed, 21 Oct 2026 16:54:24 +0700
	} {
		if p, ok := byID[id]; !ok || !p.Released.Equal(want) {
			t.Errorf("%s: released %v (found %v), want %v", id, p.Released, ok, want)
		}
	}
	if !slices.IsSortedFunc(got, func(a, b Patch) int { return a.Released.Compare(b.Released) }) {
		t.Error("not sorted by release")
	}
	if got[0].ID != "libcurl4 7.88.1-10+deb12u9" || got[len(got)-1].ID != "nginx 1.22.1-9+deb12u11" {
		t.Errorf("first %s, last %s", got[0].ID, got[len(got)-1].ID)
	}

	// Unbounded: every bookworm entry, no unstable or experimental one.
	all, err := DebianTrace(fsys, DebianOptions{})
	if err != nil {
		t.Fatal(err)
	}
	count = map[string]int{}
	for _, p := range all {
		product, version, _ := strings.Cut(p.ID, " ")
		count[product]++
		if !strings.Contains(version, "deb12u") {
			t.Errorf("%s: not a bookworm update", p.ID)
		}
		if p.Restart != RestartService {
			t.Errorf("%s: restart %s by default", p.ID, p.Restart)
		}
	}
	if want := map[string]int{"libcurl4": 15, "libssl3": 20, "nginx": 11, "libxml2": 6}; !reflect.DeepEqual(count, want) {
		t.Errorf("patches per product, unbounded, %v, want %v", count, want)
	}
}

// debGzip gzips s.
func debGzip(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDebianTraceSynthetic(t *testing.T) {
	const date = "Mon, 01 Jan 2024 12:00:00 +0000"
	log := func(versions ...string) string {
		var b strings.Builder
		for _, v := range versions {
			b.WriteString(debEntry("foo ("+v+") bookworm-security; urgency=low", date))
		}
		return b.String()
	}
	fsys := fstest.MapFS{
		"README.md": {Data: []byte("not a product")},
		// 1:0.9 is newest: after 1.0 (epoch), which is after 1.0~rc1 (~).
		"food/1.0~rc1/usr/share/doc/food/changelog.Debian.gz": {Data: debGzip(t, log("1.0~rc1"))},
		"food/1.0/usr/share/doc/food/changelog.Debian.gz":     {Data: debGzip(t, log("1.0"))},
		"food/1:0.9/usr/share/doc/food/changelog.Debian.gz": {Data: debGzip(t,
			debEntry("foo (1:0.9) bookworm; urgency=high", "Tue, 02 Jan 2024 00:00:00 +0100")+
				debEntry("foo (1:0.8) trixie; urgency=high", date)+
				debEntry("foo (1:0.7) bookworm-updates; urgency=medium", "Sun, 31 Dec 2023 23:00:00 -0100")+
				debEntry("foo (1:0.6) unstable; urgency=medium", date)+
				debEntry("foo (1:0.5) bookworm-backports; urgency=medium", date)+
				debEntry("foo (1:0.4) bookworm-security; urgency=medium", "Sun, 31 Dec 2023 23:59:59 +0000"))},
		"food/1:0.9/usr/sbin/food": {Data: make([]byte, 3<<19)}, // 1.5 MiB: 3 s
		"food/1:0.9/etc/food.conf": {Data: make([]byte, 1<<19)}, // with the changelog, just over 2 MiB
		"food/1:0.9/usr/lib/link":  {Data: []byte("food"), Mode: 0o777 | os.ModeSymlink},
		// Its changelog is under another package's name.
		"libfoo1/2.0-1/usr/share/doc/libfoo-common/changelog.Debian.gz": {Data: debGzip(t, log("2.0-1"))},
		"libfoo1/2.0-1/usr/share/doc/libfoo1/copyright":                 {Data: []byte("x")},
	}
	got, err := DebianTrace(fsys, DebianOptions{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		FailProb: 0.01, Rollback: time.Minute, Restart: map[string]string{"libfoo1": RestartNone}})
	if err != nil {
		t.Fatal(err)
	}
	size := len(fsys["food/1:0.9/usr/share/doc/food/changelog.Debian.gz"].Data) + 4<<19
	install := 10*time.Second + time.Duration(float64(size)/(1<<20)*2000+0.5)*time.Millisecond
	want := []Patch{
		// 1:0.4 at 23:59:59 on 31 Dec and 1:0.8 (trixie) are out; 1:0.7
		// at 00:00 UTC is in, as From is.
		{ID: "food 1:0.7", Released: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Install: install, StopsService: true, Restart: RestartService, FailProb: 0.01, Rollback: time.Minute},
		{ID: "food 1:0.9", Released: time.Date(2024, 1, 1, 23, 0, 0, 0, time.UTC), Install: install, StopsService: true, Restart: RestartService, FailProb: 0.01, Rollback: time.Minute, Critical: true},
		{ID: "libfoo1 2.0-1", Released: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), Install: 10*time.Second + time.Duration(float64(len(fsys["libfoo1/2.0-1/usr/share/doc/libfoo-common/changelog.Debian.gz"].Data)+1)/(1<<20)*2000+0.5)*time.Millisecond,
			Restart: RestartNone, FailProb: 0.01, Rollback: time.Minute},
	}
	slices.SortFunc(want, func(a, b Patch) int { return a.Released.Compare(b.Released) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if install < 14*time.Second || install > 14100*time.Millisecond {
		t.Errorf("install %v, want just over 14 s", install)
	}

	// To is exclusive: 1:0.9 (at 23:00 UTC on 1 Jan) is out.
	got, err = DebianTrace(fsys, DebianOptions{From: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), To: time.Date(2024, 1, 1, 23, 0, 0, 0, time.UTC)})
	if err != nil || len(got) != 1 || got[0].ID != "libfoo1 2.0-1" {
		t.Errorf("[12:00, 23:00): %+v, %v", got, err)
	}
}

func TestDebianTraceRefuses(t *testing.T) {
	good := func() string {
		return debEntry("a (1.0) bookworm; urgency=low", "Mon, 01 Jan 2024 00:00:00 +0000")
	}
	gz := debGzip(t, good())
	tests := []struct {
		name string
		fsys fstest.MapFS
		opts DebianOptions
		want []string // every one in the error
	}{
		{"options", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz}},
			DebianOptions{Restart: map[string]string{"a": "sometimes", "b": RestartNone}, FailProb: 1.5, Rollback: 25 * time.Hour,
				From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
			[]string{`restart of "a": "sometimes", want none, service or reboot`, `restart of "b": no such product`,
				"fail probability 1.5, want 0 to 1", "rollback 25h0m0s, want 0 to 24h0m0s", "from 2025-01-01T00:00:00Z is not before to 2024-01-01T00:00:00Z"}},
		{"empty", fstest.MapFS{"README.md": {}}, DebianOptions{}, []string{"no product directories"}},
		{"no changelog", fstest.MapFS{"a/1.0/usr/share/doc/a/copyright": {}, "b/2.0/usr/bin/b": {}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/*/changelog.Debian.gz: no changelog", "b/2.0/usr/share/doc/*/changelog.Debian.gz: no changelog"}},
		{"only in an older version", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz}, "a/1.1/usr/share/doc/a/copyright": {}}, DebianOptions{},
			[]string{"a/1.1/usr/share/doc/*/changelog.Debian.gz: no changelog"}},
		{"corrupt gzip", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: []byte("curl (1.0) bookworm; urgency=low\n")}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: not gzip"}},
		{"truncated gzip", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz[:len(gz)-6]}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: changelog: unexpected EOF"}},
		{"bad checksum", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: append(slices.Clone(gz[:len(gz)-8]), 1, 2, 3, 4, 5, 6, 7, 8)}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: changelog: gzip: invalid checksum"}},
		{"gzip bomb", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: debGzip(t, good()+strings.Repeat(" ", 9<<20))}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: changelog: larger than 8 MiB"}},
		{"bad changelog", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: debGzip(t, "a 1.0 bookworm\n")}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: changelog: line 1: malformed header line"}},
		{"not a version", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz}, "a/latest/x": {}}, DebianOptions{},
			[]string{"a/latest: not a Debian version"}},
		{"no versions", fstest.MapFS{"a/README": {}}, DebianOptions{}, []string{"a: no version directories"}},
		{"equal versions", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz}, "a/1.00/usr/share/doc/a/changelog.Debian.gz": {Data: gz}}, DebianOptions{},
			[]string{`a: versions "1.0" and "1.00" are equal in Debian order`}},
		{"several changelogs", fstest.MapFS{"a/1.0/usr/share/doc/x/changelog.Debian.gz": {Data: gz}, "a/1.0/usr/share/doc/y/changelog.Debian.gz": {Data: gz}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/*/changelog.Debian.gz: 2 changelogs and none in usr/share/doc/a"}},
		{"unstable", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: debGzip(t, debEntry("a (1.0) unstable; urgency=low", "Mon, 01 Jan 2024 00:00:00 +0000"))}}, DebianOptions{},
			[]string{`a/1.0/usr/share/doc/a/changelog.Debian.gz: the newest entry, 1.0, is for "unstable", not a stable suite`}},
		{"repeated version", fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: debGzip(t, good()+good())}}, DebianOptions{},
			[]string{"a/1.0/usr/share/doc/a/changelog.Debian.gz: version 1.0 has two entries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DebianTrace(tt.fsys, tt.opts)
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			if !strings.HasPrefix(err.Error(), "debian: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
	if _, err := DebianTrace(nil, DebianOptions{}); err == nil || !strings.Contains(err.Error(), "no file system") {
		t.Errorf("nil fs: %v", err)
	}

	// Files said to be 21,600 MiB each: 10 s + 2 × 43,200 s is over a
	// day; saturating, the sum does not overflow either.
	for _, n := range []int64{21600 << 20, 1 << 62} {
		fsys := debBigFS{fstest.MapFS{"a/1.0/usr/share/doc/a/changelog.Debian.gz": {Data: gz}, "a/1.0/x": {}, "a/1.0/y": {}}, n}
		if _, err := DebianTrace(fsys, DebianOptions{}); err == nil || !strings.Contains(err.Error(), "a/1.0: ") || !strings.Contains(err.Error(), "bytes make an install time over 24h0m0s") {
			t.Errorf("files of %d bytes: %v", n, err)
		}
	}
}

// debBigFS says x and y are size bytes long.
type debBigFS struct {
	fstest.MapFS
	size int64
}

func (f debBigFS) ReadDir(name string) ([]fs.DirEntry, error) {
	ds, err := f.MapFS.ReadDir(name)
	for i, d := range ds {
		if d.Name() == "x" || d.Name() == "y" {
			info, _ := d.Info()
			ds[i] = fs.FileInfoToDirEntry(debBigInfo{info, f.size})
		}
	}
	return ds, err
}

type debBigInfo struct {
	fs.FileInfo
	size int64
}

func (i debBigInfo) Size() int64 { return i.size }
