package delta

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	debversion "github.com/knqyf263/go-deb-version"
)

// corpusDir holds real security updates, two versions per product (see its README.md).
const corpusDir = "../../../shared/testdata/releases"

func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// largest are the largest file of each product, with bsdiff 4.3's delta sizes from the
// corpus README: ours must not be larger.
var largest = []struct {
	name, old, new string
	bsdiff         int
}{
	{
		"libcrypto.so.3",
		"libssl3/3.0.20-1+deb12u2/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		"libssl3/3.0.22-1+deb12u2/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		204087,
	},
	{
		"libcurl.so.4.8.0",
		"libcurl4/7.88.1-10+deb12u5/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
		"libcurl4/7.88.1-10+deb12u15/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
		42951,
	},
	{
		"nginx",
		"nginx/1.22.1-9+deb12u9/usr/sbin/nginx",
		"nginx/1.22.1-9+deb12u11/usr/sbin/nginx",
		57262,
	},
	{
		"libxml2.so.2.9.14",
		"libxml2/2.9.14+dfsg-1.3+deb12u4/usr/lib/x86_64-linux-gnu/libxml2.so.2.9.14",
		"libxml2/2.9.14+dfsg-1.3+deb12u6/usr/lib/x86_64-linux-gnu/libxml2.so.2.9.14",
		57138,
	},
}

// corpusDeltas caches Diff results: the largest files are diffed by more than one test.
var corpusDeltas sync.Map // old path + "\x00" + new path -> []byte

// corpusDiff returns Diff of the two corpus files (relative paths), computed once per run.
func corpusDiff(t testing.TB, oldPath, newPath string) (old, new, delta []byte) {
	t.Helper()
	old, new = readCorpus(t, oldPath), readCorpus(t, newPath)
	if d, ok := corpusDeltas.Load(oldPath + "\x00" + newPath); ok {
		return old, new, d.([]byte)
	}
	delta, err := Diff(old, new)
	if err != nil {
		t.Fatalf("Diff(%s, %s): %v", oldPath, newPath, err)
	}
	corpusDeltas.Store(oldPath+"\x00"+newPath, delta)
	return old, new, delta
}

// TestCorpus round-trips every regular file that differs between the two versions of each
// product.
func TestCorpus(t *testing.T) {
	products, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for _, p := range products {
		if !p.IsDir() {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(corpusDir, p.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 {
			t.Fatalf("%s: %d versions, want 2", p.Name(), len(versions))
		}
		v0, err0 := debversion.NewVersion(versions[0].Name())
		v1, err1 := debversion.NewVersion(versions[1].Name())
		if err := errors.Join(err0, err1); err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		if v1.LessThan(v0) {
			versions[0], versions[1] = versions[1], versions[0]
		}
		oldRoot := filepath.Join(p.Name(), versions[0].Name())
		newRoot := filepath.Join(p.Name(), versions[1].Name())
		err = filepath.WalkDir(filepath.Join(corpusDir, oldRoot), func(path string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(filepath.Join(corpusDir, oldRoot), path)
			if err != nil {
				return err
			}
			info, err := os.Lstat(filepath.Join(corpusDir, newRoot, rel))
			if errors.Is(err, fs.ErrNotExist) || err == nil && !info.Mode().IsRegular() {
				return nil // no counterpart
			}
			if err != nil {
				return err
			}
			oldPath, newPath := filepath.Join(oldRoot, rel), filepath.Join(newRoot, rel)
			if bytes.Equal(readCorpus(t, oldPath), readCorpus(t, newPath)) {
				return nil
			}
			pairs++
			t.Run(filepath.Join(p.Name(), rel), func(t *testing.T) {
				old, new, delta := corpusDiff(t, oldPath, newPath)
				got, err := Apply(old, delta)
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if !bytes.Equal(got, new) {
					t.Fatal("Apply returned wrong bytes")
				}
				t.Logf("%d -> %d bytes (encoder %d)", len(new), len(delta), delta[len(magic)])
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if pairs < len(largest) {
		t.Fatalf("found %d changed files, want at least %d", pairs, len(largest))
	}
}

// TestSmallerThanBsdiff holds us to the reason this package exists. Deltas are deterministic,
// so this is an exact comparison, not a statistical one.
func TestSmallerThanBsdiff(t *testing.T) {
	for _, f := range largest {
		t.Run(f.name, func(t *testing.T) {
			_, new, delta := corpusDiff(t, f.old, f.new)
			t.Logf("new %d bytes, delta %d bytes (encoder %d), bsdiff 4.3 %d bytes", len(new), len(delta), delta[len(magic)], f.bsdiff)
			if len(delta) > f.bsdiff {
				t.Errorf("delta is %d bytes, bsdiff 4.3 made %d", len(delta), f.bsdiff)
			}
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	for _, f := range largest {
		b.Run(f.name, func(b *testing.B) {
			old, new := readCorpus(b, f.old), readCorpus(b, f.new)
			var delta []byte
			b.SetBytes(int64(len(new)))
			for b.Loop() {
				var err error
				if delta, err = Diff(old, new); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(delta)), "delta-bytes")
			b.ReportMetric(float64(len(delta))/float64(len(new)), "ratio")
			b.ReportMetric(float64(len(delta))/float64(f.bsdiff), "vs-bsdiff")
		})
	}
}

func BenchmarkApply(b *testing.B) {
	for _, f := range largest {
		b.Run(f.name, func(b *testing.B) {
			old, new, delta := corpusDiff(b, f.old, f.new)
			b.SetBytes(int64(len(new)))
			for b.Loop() {
				if _, err := Apply(old, delta); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(delta)), "delta-bytes")
			b.ReportMetric(float64(len(delta))/float64(len(new)), "ratio")
		})
	}
}

// BenchmarkEncoders times each encoder on its own (Diff runs the last two only where
// tryStrong says they could win).
func BenchmarkEncoders(b *testing.B) {
	for _, f := range largest {
		old, new := readCorpus(b, f.old), readCorpus(b, f.new)
		for _, e := range encoders {
			b.Run(f.name+"/"+e.name, func(b *testing.B) {
				var body []byte
				for b.Loop() {
					var err error
					if body, err = encodeWith(e, old, new); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(headerSize+len(body)), "delta-bytes")
			})
		}
	}
}
