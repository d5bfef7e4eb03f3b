package payload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
)

// releases holds real package trees (Debian packages as dpkg-deb -x
// unpacks them), product/version/...
const releases = "../../../shared/testdata/releases"

// releaseTrees returns the trees under releases; the corpus is required,
// since a round trip that silently passed without it would prove nothing.
func releaseTrees(tb testing.TB) []string {
	tb.Helper()
	dirs, err := filepath.Glob(filepath.Join(releases, "*", "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var trees []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			trees = append(trees, d)
		}
	}
	if len(trees) == 0 {
		tb.Fatalf("no release trees under %s", releases)
	}
	return trees
}

func metaFor(tree string) Meta {
	return Meta{
		Product: filepath.Base(filepath.Dir(tree)),
		Version: filepath.Base(tree),
		Restart: "none",
	}
}

// node is what a round trip must keep of a tree entry.
type node struct {
	Type   string
	Mode   uint32
	SHA256 string
	Target string
}

// readTree describes the tree under dir by slash-separated path, the root
// excluded.
func readTree(t *testing.T, dir string) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := node{Mode: unixMode(info.Mode())}
		switch info.Mode().Type() {
		case fs.ModeDir:
			n.Type = TypeDir
		case fs.ModeSymlink:
			n.Type, n.Mode = TypeSymlink, 0
			if n.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case 0:
			n.Type = TypeFile
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			n.SHA256 = hex.EncodeToString(sum[:])
		default:
			n.Type = info.Mode().Type().String()
		}
		tree[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// tempDir is t.TempDir, made removable again even if a test left read-only
// directories in it (as unpacking the corpus does).
func tempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { removeTree(dir) }) // runs before TempDir's own cleanup
	return dir
}

func build(t testing.TB, dir string, meta Meta) (Built, []byte) {
	t.Helper()
	var buf bytes.Buffer
	b, err := Build(context.Background(), dir, meta, &buf)
	if err != nil {
		t.Fatalf("Build(%s): %v", dir, err)
	}
	return b, buf.Bytes()
}

// roundTrip builds a payload from src, unpacks it and compares the trees.
func roundTrip(t *testing.T, src string, meta Meta) (Built, []byte) {
	t.Helper()
	built, packed := build(t, src, meta)
	sum := sha256.Sum256(packed)
	if got := hex.EncodeToString(sum[:]); got != built.SHA256 {
		t.Errorf("Built.SHA256 = %s; the bytes hash to %s", built.SHA256, got)
	}
	if built.Size != int64(len(packed)) {
		t.Errorf("Built.Size = %d; %d bytes were written", built.Size, len(packed))
	}

	dest := filepath.Join(tempDir(t), "root")
	m, err := Unpack(context.Background(), bytes.NewReader(packed), dest, Limits{})
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if diff := cmp.Diff(built.Manifest, m); diff != "" {
		t.Errorf("Unpack's manifest differs from Build's (-built +unpacked):\n%s", diff)
	}
	if diff := cmp.Diff(readTree(t, src), readTree(t, dest)); diff != "" {
		t.Errorf("unpacked tree differs from the source (-source +unpacked):\n%s", diff)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("dest: %v, %v; want a directory with mode 0755", fi, err)
	}

	again, packed2 := build(t, src, meta)
	if again.SHA256 != built.SHA256 || !bytes.Equal(packed, packed2) {
		t.Errorf("a second Build gave sha256 %s, the first %s", again.SHA256, built.SHA256)
	}
	return built, packed
}

func TestRoundTripReleases(t *testing.T) {
	for _, tree := range releaseTrees(t) {
		name := filepath.Base(filepath.Dir(tree)) + "/" + filepath.Base(tree)
		t.Run(name, func(t *testing.T) {
			built, _ := roundTrip(t, tree, metaFor(tree))
			var files, size int64
			for _, e := range built.Manifest.Entries {
				if e.Type == TypeFile {
					files++
					size += e.Size
				}
			}
			t.Logf("%s: %d entries, %d files, %d bytes unpacked, %d bytes packed, sha256 %s",
				name, len(built.Manifest.Entries), files, size, built.Size, built.SHA256)
		})
	}
}

// TestRoundTripTricky covers what the corpus does not: symbolic links
// (absolute, relative, dangling), setuid/setgid/sticky bits, unreadable and
// read-only directories, empty files and directories, long and non-ASCII
// names, and paths whose byte order differs from a directory walk's.
func TestRoundTripTricky(t *testing.T) {
	src := tempDir(t)
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 200)
	files := []struct {
		path string
		mode uint32
		body string
	}{
		{"usr/bin/tool", 0o4755, "#!/bin/sh\necho setuid\n"},
		{"usr/bin/group", 0o2711, "setgid"},
		{"usr/lib/libx.so.1.2.3", 0o644, strings.Repeat("\x7fELF", 5000)},
		{"etc/secret", 0o600, "secret"},
		{"etc/readonly", 0o444, "read only"},
		{"etc/empty", 0o644, ""},
		{"etc/none", 0o000, "no permissions"},
		{"a-b", 0o644, "sorts before a/"},
		{"a/b", 0o644, "sorts after a-b"},
		{"usr/share/doc/ünïcödé – ✓.txt", 0o644, "utf-8"},
		{long, 0o644, "long path"},
	}
	dirs := map[string]uint32{
		"usr": 0o755, "usr/bin": 0o755, "usr/lib": 0o755, "usr/share": 0o755,
		"usr/share/doc": 0o555, "etc": 0o750, "a": 0o755, "tmp": 0o1777,
		"srv": 0o2775, "empty": 0o700, "locked": 0o000, strings.Repeat("d", 120): 0o755,
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		p := filepath.Join(src, filepath.FromSlash(f.path))
		if err := os.WriteFile(p, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, FileMode(f.mode)); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"usr/lib/libx.so.1":   "libx.so.1.2.3",
		"usr/lib/libx.so":     "/usr/lib/libx.so.1",
		"usr/bin/up":          "../../etc/secret",
		"usr/bin/dangling":    "does/not/exist",
		"etc/link-to-dir":     "../usr",
		"usr/share/doc/weird": "a b\\c:d",
	}
	for p, target := range links {
		if err := os.Symlink(target, filepath.Join(src, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	for d, mode := range dirs { // last, so that read-only ones could be filled
		if err := os.Chmod(filepath.Join(src, d), FileMode(mode)); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() != 0 {
		// Only root can read what mode 0 protects; as anyone else, Build
		// must refuse the tree, and the rest is tested without them.
		if _, err := Build(context.Background(), src, Meta{Product: "p", Version: "1", Restart: "none"}, io.Discard); err == nil {
			t.Error("Build read a directory without permissions")
		}
		os.Chmod(filepath.Join(src, "locked"), 0o700)
		os.Chmod(filepath.Join(src, "etc/none"), 0o400)
	}
	meta := Meta{
		Product: "tricky", Version: "1.0", Restart: "service:nginx.service",
		Pre:  []Action{{Name: "stop", Command: []string{"systemctl", "stop", "nginx"}, TimeoutSeconds: 60}},
		Post: []Action{{Name: "check", Command: []string{"/usr/sbin/nginx", "-t"}}},
	}
	built, _ := roundTrip(t, src, meta)

	var paths []string
	for _, e := range built.Manifest.Entries {
		paths = append(paths, e.Path)
	}
	if i, j := indexOf(paths, "a-b"), indexOf(paths, "a/b"); i < 0 || j < 0 || i > j {
		t.Errorf("entries not in byte order of paths: %q", paths)
	}
	if diff := cmp.Diff(meta.Pre, built.Manifest.Pre); diff != "" {
		t.Errorf("pre actions (-want +got):\n%s", diff)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestBuildRefuses(t *testing.T) {
	meta := Meta{Product: "p", Version: "1", Restart: "none"}
	t.Run("not UTF-8", func(t *testing.T) {
		src := tempDir(t)
		if err := os.WriteFile(filepath.Join(src, "bad\xff"), nil, 0o644); err != nil {
			t.Skip(err)
		}
		_, err := Build(context.Background(), src, meta, io.Discard)
		if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), "entries[0].path") {
			t.Errorf("err = %v, want an invalid entries[0].path", err)
		}
	})
	t.Run("bad meta", func(t *testing.T) {
		src := tempDir(t)
		_, err := Build(context.Background(), src, Meta{Restart: "sometimes"}, io.Discard)
		fields := patchday.FieldErrors(err)
		for _, f := range []string{"product", "version", "restart"} {
			if fields[f] == "" {
				t.Errorf("no problem with %s in %v", f, err)
			}
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		_, err := Build(context.Background(), filepath.Join(tempDir(t), "nope"), meta, io.Discard)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Build(ctx, releaseTrees(t)[0], meta, io.Discard)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestReadAllAndReadFile(t *testing.T) {
	tree := releaseTrees(t)[0]
	built, packed := build(t, tree, metaFor(tree))
	ctx := context.Background()

	m, files, err := ReadAll(ctx, bytes.NewReader(packed), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(built.Manifest, m); diff != "" {
		t.Errorf("manifest (-built +read):\n%s", diff)
	}
	listed, err := ReadManifest(bytes.NewReader(packed), Limits{})
	if err != nil || !cmp.Equal(listed, m) {
		t.Errorf("ReadManifest = %v, %v; want the built manifest", listed, err)
	}
	n := 0
	for _, e := range m.Entries {
		if e.Type != TypeFile {
			continue
		}
		n++
		want, err := os.ReadFile(filepath.Join(tree, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[e.Path], want) {
			t.Errorf("ReadAll: %s differs from the source", e.Path)
		}
		got, err := ReadFile(ctx, bytes.NewReader(packed), Limits{}, e.Path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want the source's %d", e.Path, len(got), err, len(want))
		}
	}
	if len(files) != n {
		t.Errorf("ReadAll returned %d files, the manifest has %d", len(files), n)
	}
	if _, err := ReadFile(ctx, bytes.NewReader(packed), Limits{}, "usr"); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("ReadFile of a directory: err = %v, want ErrNotFound", err)
	}
	if _, err := ReadFile(ctx, bytes.NewReader(packed), Limits{}, "nope"); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("ReadFile of a missing path: err = %v, want ErrNotFound", err)
	}
}

// BenchmarkBuild packs the libssl3 tree, the largest of the corpus.
func BenchmarkBuild(b *testing.B) {
	var tree string
	for _, d := range releaseTrees(b) {
		if filepath.Base(filepath.Dir(d)) == "libssl3" {
			tree = d
		}
	}
	if tree == "" {
		b.Fatal("no libssl3 tree in the corpus")
	}
	built, _ := build(b, tree, metaFor(tree))
	var size int64
	for _, e := range built.Manifest.Entries {
		size += e.Size
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(context.Background(), tree, metaFor(tree), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(built.Size), "packed-bytes")
}
