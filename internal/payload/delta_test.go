package payload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/delta"
	"github.com/patchday/patchday/internal/product"
)

// releasePairs returns, per product of the corpus, its old and new trees
// (the versions sort in release order by name).
func releasePairs(tb testing.TB) [][2]string {
	tb.Helper()
	products, err := filepath.Glob(filepath.Join(releases, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var pairs [][2]string
	for _, p := range products {
		versions, _ := filepath.Glob(filepath.Join(p, "*"))
		var dirs []string
		for _, v := range versions {
			if fi, err := os.Stat(v); err == nil && fi.IsDir() {
				dirs = append(dirs, v)
			}
		}
		if len(dirs) == 2 {
			pairs = append(pairs, [2]string{dirs[0], dirs[1]})
		}
	}
	if len(pairs) != 4 {
		tb.Fatalf("want 4 product pairs under %s, found %d", releases, len(pairs))
	}
	return pairs
}

// oldNew orders a pair as Debian orders versions: deb12u9 < deb12u11,
// which names do not sort.
func oldNew(pair [2]string) (string, string) {
	if product.SchemeDebian.Compare(filepath.Base(pair[0]), filepath.Base(pair[1])) > 0 {
		return pair[1], pair[0]
	}
	return pair[0], pair[1]
}

func TestDeltaRoundTripReleases(t *testing.T) {
	for _, pair := range releasePairs(t) {
		oldDir, newDir := oldNew(pair)
		t.Run(filepath.Base(filepath.Dir(oldDir)), func(t *testing.T) {
			ctx := context.Background()
			_, oldP := build(t, oldDir, metaFor(oldDir))
			newBuilt, newP := build(t, newDir, metaFor(newDir))
			var d bytes.Buffer
			if err := BuildDelta(ctx, bytes.NewReader(oldP), bytes.NewReader(newP), &d, Limits{}); err != nil {
				t.Fatal(err)
			}
			if d.Len() >= len(newP) {
				t.Errorf("delta %d bytes, not smaller than the payload's %d", d.Len(), len(newP))
			}
			t.Logf("payload %d bytes, delta %d bytes (%.1f%%)", len(newP), d.Len(), 100*float64(d.Len())/float64(len(newP)))

			// Applied to the old tree as installed, it gives the new payload's files.
			var out bytes.Buffer
			m, err := ApplyDelta(ctx, bytes.NewReader(d.Bytes()), os.DirFS(oldDir), &out, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(newBuilt.Manifest, m); diff != "" {
				t.Fatalf("manifest (-want +got):\n%s", diff)
			}
			dest := filepath.Join(tempDir(t), "new")
			if _, err := Unpack(ctx, &out, dest, Limits{}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(readTree(t, newDir), readTree(t, dest)); diff != "" {
				t.Fatalf("tree (-want +got):\n%s", diff)
			}

			// Applied to the new tree (the wrong base), it refuses.
			if _, err := ApplyDelta(ctx, bytes.NewReader(d.Bytes()), os.DirFS(newDir), &bytes.Buffer{}, Limits{}); !errors.Is(err, ErrBase) {
				t.Fatalf("wrong base: %v", err)
			}
		})
	}
}

// TestDeltaDeterministic checks that a delta's bytes depend on the payloads only: not on how
// many files are diffed at once, nor on the run.
func TestDeltaDeterministic(t *testing.T) {
	var oldDir, newDir string
	for _, pair := range releasePairs(t) {
		if filepath.Base(filepath.Dir(pair[0])) == "libssl3" { // the most changed files
			oldDir, newDir = oldNew(pair)
		}
	}
	_, oldP := build(t, oldDir, metaFor(oldDir))
	_, newP := build(t, newDir, metaFor(newDir))
	var want []byte
	for _, procs := range []int{1, 4, 4} {
		prev := runtime.GOMAXPROCS(procs)
		var d bytes.Buffer
		err := BuildDelta(context.Background(), bytes.NewReader(oldP), bytes.NewReader(newP), &d, Limits{})
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = d.Bytes()
		} else if !bytes.Equal(d.Bytes(), want) {
			t.Fatalf("GOMAXPROCS %d: a different delta (%d bytes, %d before)", procs, d.Len(), len(want))
		}
	}
}

func TestDeltaCanceled(t *testing.T) {
	oldP, newP, _ := smallPayloads(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := BuildDelta(ctx, bytes.NewReader(oldP), bytes.NewReader(newP), &bytes.Buffer{}, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("BuildDelta: error %v, want context.Canceled", err)
	}
	if _, err := diffAll(ctx, []diffJob{{path: "a", new: []byte("new")}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("diffAll: error %v, want context.Canceled", err)
	}
}

// TestDiffAll checks that the deltas come back in the order of the jobs, whatever order they
// were made in.
func TestDiffAll(t *testing.T) {
	var jobs []diffJob
	for i := range 9 {
		old := bytes.Repeat([]byte(fmt.Sprintf("line %d of the old file\n", i)), 1+i*i*50)
		new := append(bytes.Clone(old), fmt.Sprintf("and one more, %d", i)...)
		if i%3 == 0 {
			old = nil // added
		}
		jobs = append(jobs, diffJob{path: fmt.Sprint(i), old: old, new: new})
	}
	got, err := diffAll(context.Background(), jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs {
		want, err := delta.Diff(j.old, j.new)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], want) {
			t.Errorf("job %d: not its delta", i)
		}
	}
}

func smallPayloads(t testing.TB) (oldP, newP []byte, base fstest.MapFS) {
	dir := t.TempDir()
	write := func(root, name, body string) {
		p := filepath.Join(dir, root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("old", "bin/tool", "version one of the tool, with some shared text")
	write("old", "lib/same.so", "unchanged library")
	write("old", "share/moved.txt", "this file moves")
	write("new", "bin/tool", "version two of the tool, with some shared text and more")
	write("new", "lib/same.so", "unchanged library")
	write("new", "doc/moved.txt", "this file moves")
	write("new", "share/added", "brand new")
	var ob, nb bytes.Buffer
	if _, err := Build(context.Background(), filepath.Join(dir, "old"), Meta{Product: "tool", Version: "1", Restart: "none"}, &ob); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), filepath.Join(dir, "new"), Meta{Product: "tool", Version: "2", Restart: "reboot"}, &nb); err != nil {
		t.Fatal(err)
	}
	base = fstest.MapFS{
		"bin/tool":        {Data: []byte("version one of the tool, with some shared text")},
		"lib/same.so":     {Data: []byte("unchanged library")},
		"share/moved.txt": {Data: []byte("this file moves")},
	}
	return ob.Bytes(), nb.Bytes(), base
}

func TestDeltaOps(t *testing.T) {
	ctx := context.Background()
	oldP, newP, base := smallPayloads(t)
	var d bytes.Buffer
	if err := BuildDelta(ctx, bytes.NewReader(oldP), bytes.NewReader(newP), &d, Limits{}); err != nil {
		t.Fatal(err)
	}
	h := readDeltaHeader(t, d.Bytes())
	got := map[string]DeltaFile{}
	for _, f := range h.Files {
		got[f.Path] = f
	}
	want := map[string]DeltaFile{
		"bin/tool":      {Path: "bin/tool", Op: OpPatch, Base: "bin/tool"},
		"lib/same.so":   {Path: "lib/same.so", Op: OpCopy, Base: "lib/same.so"},
		"doc/moved.txt": {Path: "doc/moved.txt", Op: OpCopy, Base: "share/moved.txt"},
		"share/added":   {Path: "share/added", Op: OpAdd},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ops (-want +got):\n%s", diff)
	}
	if h.From != "1" || h.Manifest.Version != "2" || h.Manifest.Restart != "reboot" {
		t.Fatalf("header: from %s, manifest %s %s", h.From, h.Manifest.Version, h.Manifest.Restart)
	}
	var out bytes.Buffer
	if _, err := ApplyDelta(ctx, bytes.NewReader(d.Bytes()), base, &out, Limits{}); err != nil {
		t.Fatal(err)
	}
	_, files, err := ReadAll(ctx, &out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(files["bin/tool"]) != "version two of the tool, with some shared text and more" || string(files["doc/moved.txt"]) != "this file moves" {
		t.Fatalf("files: %q", files)
	}

	// A base file that changed since (a copy source, a patch base) or is
	// missing is ErrBase: the agent falls back to the full payload.
	for name, change := range map[string]func(fstest.MapFS){
		"copy source changed": func(m fstest.MapFS) { m["lib/same.so"] = &fstest.MapFile{Data: []byte("tampered")} },
		"patch base changed":  func(m fstest.MapFS) { m["bin/tool"] = &fstest.MapFile{Data: []byte("other")} },
		"base missing":        func(m fstest.MapFS) { delete(m, "share/moved.txt") },
	} {
		b := fstest.MapFS{}
		for k, v := range base {
			b[k] = v
		}
		change(b)
		if _, err := ApplyDelta(ctx, bytes.NewReader(d.Bytes()), b, &bytes.Buffer{}, Limits{}); !errors.Is(err, ErrBase) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Every truncation is an error, never a panic or a payload.
	for n := 0; n < d.Len(); n += max(1, d.Len()/200) {
		if _, err := ApplyDelta(ctx, bytes.NewReader(d.Bytes()[:n]), base, &bytes.Buffer{}, Limits{}); err == nil {
			t.Fatalf("truncated at %d of %d: applied", n, d.Len())
		}
	}
	// Different products do not make a delta.
	other, _, _ := smallPayloads(t)
	var ob bytes.Buffer
	if _, err := Build(ctx, t.TempDir(), Meta{Product: "else", Version: "3", Restart: "none"}, &ob); err != nil {
		t.Fatal(err)
	}
	if err := BuildDelta(ctx, bytes.NewReader(other), bytes.NewReader(ob.Bytes()), &bytes.Buffer{}, Limits{}); err == nil {
		t.Fatal("delta between two products")
	}
}

func readDeltaHeader(t testing.TB, d []byte) DeltaHeader {
	t.Helper()
	r, err := openDelta(bytes.NewReader(d), Limits{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	return r.h
}

func FuzzApplyDelta(f *testing.F) {
	oldP, newP, base := smallPayloads(f)
	var d bytes.Buffer
	if err := BuildDelta(context.Background(), bytes.NewReader(oldP), bytes.NewReader(newP), &d, Limits{}); err != nil {
		f.Fatal(err)
	}
	f.Add(d.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		m, err := ApplyDelta(context.Background(), bytes.NewReader(b), base, &out, Limits{MaxSize: 1 << 20, MaxEntries: 100})
		if err != nil {
			return
		}
		// Whatever applies is a payload whose every file matches its manifest.
		got, files, err := ReadAll(context.Background(), &out, Limits{})
		if err != nil {
			t.Fatalf("applied delta made a bad payload: %v", err)
		}
		if !cmp.Equal(m, got) || len(files) > len(m.Entries) {
			t.Fatal("manifest changed in the round")
		}
	})
}
