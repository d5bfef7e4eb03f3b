package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/patchday/patchday"
)

// FuzzParseManifest: ParseManifest never panics, refuses with ErrInvalid,
// and what it accepts is valid and survives Encode and ParseManifest
// unchanged.
func FuzzParseManifest(f *testing.F) {
	for _, c := range manifestCases {
		f.Add([]byte(edit(c)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("err = %v, not ErrInvalid", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("ParseManifest accepted what Validate refuses: %v", err)
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		again, err := ParseManifest(enc)
		if err != nil {
			t.Fatalf("ParseManifest(Encode(m)): %v\n%s", err, enc)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("not stable (-first +second):\n%s", diff)
		}
		if enc2, _ := again.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("Encode not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzUnpack: Unpack never panics and never writes outside dest. When it
// fails, the parent of dest is as it was (empty); when it succeeds, dest
// holds exactly what the manifest says.
func FuzzUnpack(f *testing.F) {
	good := string(small(f, "hello"))
	f.Add(validSmall(f))
	f.Add(hostile(f, []tarEntry{{name: "manifest.json", body: good}, {name: "files/d/f", body: "jello"}, {name: "files/d/g"}}, nil, nil))
	f.Add(hostile(f, []tarEntry{{name: "manifest.json", body: good}, {name: "files/../../f", body: "hello"}, {name: "files/d/g"}}, nil, nil))
	f.Add(hostile(f, []tarEntry{{name: "manifest.json", body: `{"format":"patchday-payload/1","product":"p","version":"1","restart":"none","entries":[` +
		`{"path":"a","type":"dir","mode":365},{"path":"a/b","type":"dir","mode":3565},{"path":"a/b/c","type":"symlink","mode":0,"target":"/etc"}]}`}}, nil, nil))
	f.Fuzz(checkUnpack)
}

// FuzzUnpackTar is FuzzUnpack with the zstd layer added by the harness, so
// that mutations reach the tar archive, the manifest and the files instead
// of mostly breaking the compression.
func FuzzUnpackTar(f *testing.F) {
	good := string(small(f, "hello"))
	for _, entries := range [][]tarEntry{
		{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}},
		{{name: "manifest.json", body: good}, {name: "files/d/f", body: "hello"}, {name: "files/d/g"}, {name: "files/l", body: "x"}},
		{{name: "manifest.json", body: good}, {name: "files/d/f", typ: tar.TypeSymlink, link: "/etc"}, {name: "files/d/g"}},
	} {
		f.Add(tarOf(f, entries))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		fixTar(b)
		var zb bytes.Buffer
		zw, err := zstd.NewWriter(&zb, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(b)
		zw.Close()
		checkUnpack(t, zb.Bytes())
	})
}

// fixTar recomputes the checksum of each header block of the tar archive
// in b, so that mutations of names, types and sizes get past it.
func fixTar(b []byte) {
	for off := 0; off+512 <= len(b); {
		h := b[off : off+512]
		if bytes.Count(h, []byte{0}) == 512 {
			off += 512
			continue
		}
		copy(h[148:156], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
		size, err := strconv.ParseInt(strings.Trim(string(h[124:136]), " \x00"), 8, 64)
		if err != nil || size < 0 || size > int64(len(b)) {
			return
		}
		off += 512 + int((size+511)/512*512)
	}
}

// tarOf packs entries as hostile does, without compressing them.
func tarOf(t testing.TB, entries []tarEntry) []byte {
	zb := hostile(t, entries, nil, nil)
	zr, err := zstd.NewReader(bytes.NewReader(zb))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkUnpack unpacks payload b and checks that nothing was written beside
// dest, and that dest holds exactly the manifest if Unpack succeeded.
func checkUnpack(t *testing.T, b []byte) {
	lim := Limits{MaxManifest: 1 << 20, MaxEntries: 1000, MaxSize: 8 << 20}
	parent := tempDir(t)
	dest := filepath.Join(parent, "dest")
	m, err := Unpack(context.Background(), bytes.NewReader(b), dest, lim)
	names, rerr := os.ReadDir(parent)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		if len(names) != 0 {
			t.Fatalf("Unpack failed (%v) and left %v behind", err, names)
		}
		return
	}
	if len(names) != 1 || names[0].Name() != "dest" {
		t.Fatalf("Unpack wrote %v beside dest", names)
	}
	want := map[string]node{}
	for _, e := range m.Entries {
		want[e.Path] = node{Type: e.Type, Mode: e.Mode, SHA256: e.SHA256, Target: e.Target}
	}
	if diff := cmp.Diff(want, readTree(t, dest)); diff != "" {
		t.Fatalf("dest differs from the manifest (-manifest +dest):\n%s", diff)
	}
}
