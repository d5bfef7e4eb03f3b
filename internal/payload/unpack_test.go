package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/patchday/patchday"
)

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name string
	body string
	typ  byte   // tar.TypeReg if 0
	size int64  // the header's size; len(body) if 0
	link string // for links
}

// hostile packs entries into tar + zstd exactly as given, then appends
// after (inside the zstd stream, after the tar end marker) and raw (after
// the zstd stream). Nothing is checked, so tests can make any payload.
func hostile(t testing.TB, entries []tarEntry, after, raw []byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Mode: 0o644, Size: e.size, Linkname: e.link, ModTime: epoch}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Size == 0 && h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		// A body that differs from the header's size: write what fits, pad
		// with zeros, and let the tar writer complain about nothing.
		body := []byte(e.body)
		if int64(len(body)) > h.Size {
			body = body[:h.Size]
		}
		if _, err := tw.Write(body); err != nil && h.Typeflag == tar.TypeReg {
			t.Fatal(err)
		}
		if pad := h.Size - int64(len(body)); pad > 0 && h.Typeflag == tar.TypeReg {
			tw.Write(make([]byte, pad))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tb.Write(after)
	var zb bytes.Buffer
	zw, err := zstd.NewWriter(&zb)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(tb.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zb.Write(raw)
	return zb.Bytes()
}

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// small is a valid manifest: a directory, a file in it and a link to it.
func small(t testing.TB, fileBody string) []byte {
	t.Helper()
	m := Manifest{
		Format: Format, Product: "p", Version: "1", Restart: "none",
		Entries: []Entry{
			{Path: "d", Type: TypeDir, Mode: 0o755},
			{Path: "d/f", Type: TypeFile, Mode: 0o644, Size: int64(len(fileBody)), SHA256: sumOf(fileBody)},
			{Path: "d/g", Type: TypeFile, Mode: 0o600, Size: 0, SHA256: sumOf("")},
			{Path: "l", Type: TypeSymlink, Target: "d/f"},
		},
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot describes everything under dir, to check that a failed Unpack
// left it as it was.
func snapshot(t *testing.T, dir string) map[string]node {
	t.Helper()
	return readTree(t, dir)
}

func TestUnpackHostile(t *testing.T) {
	good := string(small(t, "hello"))
	cases := []struct {
		name    string
		payload func(t *testing.T) []byte
		lim     Limits
		want    string // in the error
	}{
		{"extra entry", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}, {name: "files/d/h", body: "extra"}}, nil, nil)
		}, Limits{}, `"files/d/h" is not a file of the manifest`},
		{"entry for a directory", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d", body: "x"}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `"files/d" is not a file of the manifest`},
		{"sha256 mismatch", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "jello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `file "d/f": its sha256 is`},
		{"traversal name", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/../../evil", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `"files/../../evil" is not a file of the manifest`},
		{"absolute name", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "/etc/evil", body: "hello"}}, nil, nil)
		}, Limits{}, `"/etc/evil" is not a file of the manifest`},
		{"traversal in manifest", func(t *testing.T) []byte {
			m := strings.Replace(good, `"path":"l"`, `"path":"../l"`, 1)
			return hostile(t, []tarEntry{{name: "manifest.json", body: m}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `entries[3].path: "../l": the path has a ".." element`},
		{"write through a symlink", func(t *testing.T) []byte {
			m := strings.Replace(good, `{"path":"l","type":"symlink","mode":0,"target":"d/f"}`,
				`{"path":"l","type":"symlink","mode":0,"target":"/tmp"},{"path":"l/evil","type":"file","mode":420,"size":5,"sha256":"`+sumOf("hello")+`"}`, 1)
			return hostile(t, []tarEntry{{name: "manifest.json", body: m}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}, {name: "files/l/evil", body: "hello"}}, nil, nil)
		}, Limits{}, `its parent "l" is a symlink`},
		{"larger than declared", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello, world"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `file "d/f" holds 12 bytes; the manifest says 5`},
		{"smaller than declared", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hell"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `file "d/f" holds 4 bytes; the manifest says 5`},
		{"missing file", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}}, nil, nil)
		}, Limits{}, `file "d/g" of the manifest is missing`},
		{"file twice", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `"files/d/f" comes twice`},
		{"out of order", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/g"}, {name: "files/d/f", body: "hello"}}, nil, nil)
		}, Limits{}, `"files/d/g" is out of manifest order`},
		{"symlink entry", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", typ: tar.TypeSymlink, link: "/etc/passwd"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `"files/d/f" is not a regular file`},
		{"hard link entry", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", typ: tar.TypeLink, link: "manifest.json"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{}, `"files/d/f" is not a regular file`},
		{"manifest not first", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "files/d/f", body: "hello"}, {name: "manifest.json", body: good}}, nil, nil)
		}, Limits{}, `the first tar entry is "files/d/f"`},
		{"manifest a directory", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", typ: tar.TypeDir}}, nil, nil)
		}, Limits{}, `manifest.json is not a regular file`},
		{"manifest invalid", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: `{"format":"patchday-payload/1"}`}}, nil, nil)
		}, Limits{}, `product: a product is required`},
		{"manifest too large", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{MaxManifest: 100}, `manifest.json is 4`},
		{"too many entries", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{MaxEntries: 3}, `the manifest has 4 entries; the limit is 3`},
		{"too large", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
		}, Limits{MaxSize: 4}, `more than the limit of 4 bytes (at "d/f")`},
		{"data after the archive", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, []byte("surprise"), nil)
		}, Limits{}, `8 bytes follow the end of the tar archive`},
		{"decompresses to too much", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, make([]byte, 1<<20), nil)
		}, Limits{MaxManifest: 4096}, `decompresses to more than its manifest accounts for`},
		{"garbage after zstd", func(t *testing.T) []byte {
			return hostile(t, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, []byte("garbage!"))
		}, Limits{}, `invalid payload`},
		{"truncated zstd, end", func(t *testing.T) []byte {
			b := validSmall(t)
			return b[:len(b)-1]
		}, Limits{}, `truncated`},
		{"truncated zstd, middle", func(t *testing.T) []byte {
			b := validSmall(t)
			return b[:len(b)/2]
		}, Limits{}, `truncated`},
		{"real payload without its last byte", func(t *testing.T) []byte {
			b := realPayload(t)
			return b[:len(b)-1]
		}, Limits{}, `truncated`},
		{"real payload without its checksum", func(t *testing.T) []byte {
			b := realPayload(t)
			return b[:len(b)-4]
		}, Limits{}, `truncated`},
		{"real payload cut in a file", func(t *testing.T) []byte {
			b := realPayload(t)
			return b[:len(b)*2/3]
		}, Limits{}, `truncated`},
		{"real payload with a flipped checksum", func(t *testing.T) []byte {
			b := bytes.Clone(realPayload(t))
			b[len(b)-1] ^= 1
			return b
		}, Limits{}, `CRC check failed`},
		{"corrupted zstd", func(t *testing.T) []byte {
			b := bytes.Clone(validSmall(t))
			b[len(b)-6] ^= 0xff // in the last block or the checksum
			return b
		}, Limits{}, `invalid payload`},
		{"not zstd", func(t *testing.T) []byte {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(good)), Mode: 0o644})
			tw.Write([]byte(good))
			tw.Close()
			return b.Bytes()
		}, Limits{}, `invalid payload`},
		{"empty", func(t *testing.T) []byte { return nil }, Limits{}, `truncated`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			payload := c.payload(t)
			for _, exists := range []bool{false, true} {
				parent := tempDir(t)
				dest := filepath.Join(parent, "dest")
				if exists {
					if err := os.Mkdir(dest, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				before := snapshot(t, parent)
				_, err := Unpack(context.Background(), bytes.NewReader(payload), dest, c.lim)
				// Without dest: the temporary directory is named for the test.
				if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dest, "DEST"), c.want) {
					t.Errorf("err = %v, want one containing %q", err, c.want)
				} else if !exists {
					t.Log(err)
				}
				if !errors.Is(err, patchday.ErrInvalid) {
					t.Errorf("err = %v, not ErrInvalid", err)
				}
				if diff := cmp.Diff(before, snapshot(t, parent)); diff != "" {
					t.Errorf("Unpack changed %s (-before +after):\n%s", parent, diff)
				}
			}
		})
	}
}

var real struct {
	once sync.Once
	b    []byte
}

// realPayload is the payload of a corpus tree, large enough to span many
// zstd blocks.
func realPayload(t *testing.T) []byte {
	real.once.Do(func() {
		var tree string
		for _, d := range releaseTrees(t) {
			if filepath.Base(filepath.Dir(d)) == "libcurl4" {
				tree = d
			}
		}
		_, real.b = build(t, tree, metaFor(tree))
	})
	if real.b == nil {
		t.Fatal("no corpus payload")
	}
	return real.b
}

func validSmall(t testing.TB) []byte {
	return hostile(t, []tarEntry{{name: "manifest.json", body: string(small(t, "hello"))}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}}, nil, nil)
}

// TestUnpackSmall checks that the hand-made payload the hostile cases start
// from is valid, so that each case fails for its own reason.
func TestUnpackSmall(t *testing.T) {
	dest := filepath.Join(tempDir(t), "dest")
	if _, err := Unpack(context.Background(), bytes.NewReader(validSmall(t)), dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]node{
		"d":   {Type: TypeDir, Mode: 0o755},
		"d/f": {Type: TypeFile, Mode: 0o644, SHA256: sumOf("hello")},
		"d/g": {Type: TypeFile, Mode: 0o600, SHA256: sumOf("")},
		"l":   {Type: TypeSymlink, Target: "d/f"},
	}
	if diff := cmp.Diff(want, readTree(t, dest)); diff != "" {
		t.Errorf("unpacked (-want +got):\n%s", diff)
	}
}

func TestUnpackDest(t *testing.T) {
	payload := validSmall(t)
	ctx := context.Background()
	t.Run("not empty", func(t *testing.T) {
		parent := tempDir(t)
		dest := filepath.Join(parent, "dest")
		os.Mkdir(dest, 0o755)
		os.WriteFile(filepath.Join(dest, "keep"), []byte("mine"), 0o644)
		before := snapshot(t, parent)
		if _, err := Unpack(ctx, bytes.NewReader(payload), dest, Limits{}); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("err = %v, want one saying dest is not empty", err)
		}
		if diff := cmp.Diff(before, snapshot(t, parent)); diff != "" {
			t.Errorf("Unpack changed %s:\n%s", parent, diff)
		}
	})
	t.Run("a file", func(t *testing.T) {
		parent := tempDir(t)
		dest := filepath.Join(parent, "dest")
		os.WriteFile(dest, []byte("mine"), 0o644)
		if _, err := Unpack(ctx, bytes.NewReader(payload), dest, Limits{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v, want one saying dest is not a directory", err)
		}
	})
	t.Run("a symlink", func(t *testing.T) {
		parent := tempDir(t)
		dest := filepath.Join(parent, "dest")
		os.Mkdir(filepath.Join(parent, "real"), 0o755)
		os.Symlink("real", dest)
		if _, err := Unpack(ctx, bytes.NewReader(payload), dest, Limits{}); err == nil {
			t.Error("Unpack through a symlinked dest succeeded")
		}
		if names, _ := os.ReadDir(filepath.Join(parent, "real")); len(names) != 0 {
			t.Errorf("Unpack wrote through the symlink: %v", names)
		}
	})
	t.Run("no parent", func(t *testing.T) {
		dest := filepath.Join(tempDir(t), "a", "dest")
		if _, err := Unpack(ctx, bytes.NewReader(payload), dest, Limits{}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		parent := tempDir(t)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := Unpack(ctx, bytes.NewReader(payload), filepath.Join(parent, "dest"), Limits{})
		if !errors.Is(err, context.Canceled) || errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("err = %v, want context.Canceled and not ErrInvalid", err)
		}
		if names, _ := os.ReadDir(parent); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
	})
	t.Run("failing reader", func(t *testing.T) {
		boom := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(payload[:len(payload)/2]), errReader{boom})
		_, err := Unpack(ctx, r, filepath.Join(tempDir(t), "dest"), Limits{})
		if !errors.Is(err, boom) || errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("err = %v, want the reader's error, not ErrInvalid", err)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestReaderSkipChecks checks that a file skipped with Next is still
// checked against its sha256.
func TestReaderSkipChecks(t *testing.T) {
	bad := hostile(t, []tarEntry{{name: "manifest.json", body: string(small(t, "hello"))}, {name: "files/d/f", body: "jello"}, {name: "files/d/g"}}, nil, nil)
	r, err := Open(bytes.NewReader(bad), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if e, err := r.Next(); err != nil || e.Path != "d/f" {
		t.Fatalf("Next = %v, %v; want d/f", e, err)
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("Next after a bad file = %v, want a sha256 mismatch", err)
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after an error = %v, want the error again", err)
	}
	if _, err := ReadFile(context.Background(), bytes.NewReader(bad), Limits{}, "d/f"); err == nil {
		t.Error("ReadFile returned a file whose sha256 does not match")
	}
	if _, _, err := ReadAll(context.Background(), bytes.NewReader(bad), Limits{}); err == nil {
		t.Error("ReadAll returned a payload with a bad file")
	}
}

// TestReadAllClaimedSize checks that a payload declaring a huge file costs
// memory only for the bytes that actually come.
func TestReadAllClaimedSize(t *testing.T) {
	const claimed = 1 << 30
	m := Manifest{Format: Format, Product: "p", Version: "1", Restart: "none",
		Entries: []Entry{{Path: "big", Type: TypeFile, Mode: 0o644, Size: claimed, SHA256: sumOf("")}}}
	js, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(js))})
	tw.Write(js)
	tw.WriteHeader(&tar.Header{Name: "files/big", Mode: 0o644, Size: claimed})
	tw.Write([]byte("only this much"))
	tw.Flush() // fails: the archive stops here, as a hostile one may
	var zb bytes.Buffer
	zw, _ := zstd.NewWriter(&zb)
	zw.Write(tb.Bytes())
	zw.Close()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = ReadAll(context.Background(), bytes.NewReader(zb.Bytes()), Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v, want a truncated payload", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("ReadAll allocated %d bytes for a payload of %d", n, zb.Len())
	}
}
