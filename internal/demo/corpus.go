package demo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/patchday/patchday/internal/agent"
	"github.com/patchday/patchday/internal/product"
)

// The product the demo fixes: the OpenSSL libraries, whose security
// update needs the computer restarted — the case a fleet administrator
// plans downtime for.
const (
	productName   = "libssl3"
	productVendor = "Debian"
	restartNeed   = "reboot"
)

// corpus is the product's two trees in the corpus of real releases, and
// what their Debian changelogs say.
type corpus struct {
	dir            string // the corpus root
	oldDir, newDir string // the trees
	prev, old, cur string // versions: the one before old (from old's changelog), old, new
	oldCVE, newCVE cve    // the first CVE each update names
}

// cve is one CVE a changelog entry names, with its description.
type cve struct{ ID, Title string }

// openCorpus finds the product in the corpus of real releases and reads
// its versions and CVEs from the changelogs, as an agent's detection rule
// and a developer would.
func openCorpus(dir string) (*corpus, error) {
	abs, _ := filepath.Abs(dir)
	pdir := filepath.Join(dir, productName)
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return nil, fmt.Errorf("the corpus of real releases is not at %s (%v): run the demo from the repository's directory next to ../shared/testdata/releases, or point at it with --corpus DIR (PATCHDAY_CORPUS)", abs, errors.Unwrap(err))
	}
	var vs []string
	for _, e := range entries {
		if e.IsDir() {
			vs = append(vs, e.Name())
		}
	}
	if len(vs) < 2 {
		return nil, fmt.Errorf("the corpus at %s has %d version trees of %s; it needs the older and the newer one (see its README.md)", abs, len(vs), productName)
	}
	slices.SortFunc(vs, product.SchemeDebian.Compare)
	c := &corpus{dir: dir, oldDir: filepath.Join(pdir, vs[0]), newDir: filepath.Join(pdir, vs[len(vs)-1])}
	oldEntries, err := changelog(c.oldDir)
	if err != nil {
		return nil, err
	}
	newEntries, err := changelog(c.newDir)
	if err != nil {
		return nil, err
	}
	if len(oldEntries) < 2 {
		return nil, fmt.Errorf("%s: the changelog names no version before %s", c.oldDir, oldEntries[0].version)
	}
	c.prev, c.old, c.cur = oldEntries[1].version, oldEntries[0].version, newEntries[0].version
	// What the agents will find must be what the changelogs say.
	for _, t := range []struct{ dir, want string }{{c.oldDir, c.old}, {c.newDir, c.cur}} {
		got, err := detectVersion(t.dir)
		if err != nil {
			return nil, err
		}
		if got != t.want {
			return nil, fmt.Errorf("%s: the detection rule finds %q, the changelog says %q", t.dir, got, t.want)
		}
	}
	if len(oldEntries[0].cves) == 0 || len(newEntries[0].cves) == 0 {
		return nil, fmt.Errorf("the changelogs of %s name no CVE", productName)
	}
	c.oldCVE, c.newCVE = oldEntries[0].cves[0], newEntries[0].cves[0]
	return c, nil
}

// entry is one changelog entry: its version and the CVEs it fixed.
type entry struct {
	version string
	cves    []cve
}

var (
	headRE = regexp.MustCompile(`^\S+ \(([^)]+)\)`)
	cveRE  = regexp.MustCompile(`(CVE-\d{4}-\d{4,}) \("([^"]+)"\)`)
)

// changelog reads a tree's Debian changelog.
func changelog(tree string) ([]entry, error) {
	path := filepath.Join(tree, "usr/share/doc", productName, "changelog.Debian.gz")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the corpus tree has no changelog: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []entry
	var text strings.Builder
	flush := func() {
		if len(out) == 0 {
			return
		}
		body := strings.Join(strings.Fields(text.String()), " ")
		for _, m := range cveRE.FindAllStringSubmatch(body, -1) {
			out[len(out)-1].cves = append(out[len(out)-1].cves, cve{m[1], m[2]})
		}
		text.Reset()
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() && len(out) <= 3 {
		if m := headRE.FindStringSubmatch(sc.Text()); m != nil {
			flush()
			out = append(out, entry{version: m[1]})
			continue
		}
		text.WriteString(sc.Text() + "\n")
	}
	flush()
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entries", path)
	}
	return out, sc.Err()
}

// detectRules is the agents' detection rule: the version from the first
// line of the product's Debian changelog.
func detectRules() string {
	return fmt.Sprintf(`{"rules": [{"product": %q, "path": "usr/share/doc/%s/changelog.Debian.gz", "gzip": true, "regexp": "^\\S+ \\(([^)]+)\\)"}]}`,
		productName, productName)
}

// detectVersion is what an agent's detection rule finds in a tree.
func detectVersion(tree string) (string, error) {
	rules, err := agent.ParseRules([]byte(detectRules()))
	if err != nil {
		return "", err
	}
	found, problems := agent.Detect(os.DirFS(tree), rules)
	if len(problems) > 0 || found[productName] == "" {
		return "", fmt.Errorf("no %s version detected in %s: %v", productName, tree, problems)
	}
	return found[productName], nil
}

// sameTree reports the first difference between an install root and a
// corpus tree: every file of the tree must be in the root, the same.
func sameTree(tree, root string) error {
	return filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		if d.Type()&fs.ModeSymlink != 0 {
			want, _ := os.Readlink(p)
			if got, err := os.Readlink(filepath.Join(root, rel)); err != nil || got != want {
				return fmt.Errorf("%s: link %q, want %q", rel, got, want)
			}
			return nil
		}
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s differs from the corpus", rel)
		}
		return nil
	})
}
