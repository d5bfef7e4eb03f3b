package delta

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// program imitates an executable: repetitive records holding addresses.
func program(seed uint64, n int, shift uint32) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b []byte
	for len(b) < n {
		b = append(b, 0xe8)
		b = binary.LittleEndian.AppendUint32(b, uint32(rng.IntN(64))*16+shift)
		b = append(b, "\x48\x89\xc7\x31\xc0"[:rng.IntN(6)]...)
	}
	return b[:n]
}

// encodeWith runs one encoder on its own.
func encodeWith(e encoder, old, new []byte) ([]byte, error) {
	j := newJob(old, new)
	defer j.close()
	return e.encode(j)
}

type pair struct {
	name     string
	old, new []byte
}

func testPairs() []pair {
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 200)
	changed := bytes.Clone(text)
	changed[len(changed)/2] ^= 0x20
	rnd := randomBytes(1, 10000)
	return []pair{
		{"both empty", nil, nil},
		{"empty old", nil, text},
		{"empty new", text, nil},
		{"identical", text, text},
		{"one byte changed", text, changed},
		{"appended", text, append(bytes.Clone(text), "and then some more text"...)},
		{"prepended", text, append([]byte("a new first line\n"), text...)},
		{"one byte", []byte{1}, []byte{2}},
		{"random", randomBytes(2, 5000), randomBytes(3, 6000)},
		{"random edited", rnd, append(append(bytes.Clone(rnd[:3000]), randomBytes(4, 100)...), rnd[3100:]...)},
		{"old much larger", bytes.Repeat(rnd, 10), rnd[:500]},
		{"new much larger", rnd[:500], bytes.Repeat(rnd, 10)},
		{"program shifted", program(5, 20000, 0), program(5, 20000, 0x40)},
		{"zeros", make([]byte, 5000), make([]byte, 7000)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, p := range testPairs() {
		t.Run(p.name, func(t *testing.T) {
			for _, e := range encoders {
				body, err := encodeWith(e, p.old, p.new)
				if err != nil {
					t.Fatalf("%s encoder: %v", e.name, err)
				}
				got, err := Apply(p.old, diffWith(e.id, p.old, p.new, body))
				if err != nil {
					t.Fatalf("%s encoder: Apply: %v", e.name, err)
				}
				if !bytes.Equal(got, p.new) {
					t.Fatalf("%s encoder: Apply returned %d wrong bytes", e.name, len(got))
				}
			}
			d, err := Diff(p.old, p.new)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			got, err := Apply(p.old, d)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !bytes.Equal(got, p.new) {
				t.Fatalf("Apply returned %d wrong bytes", len(got))
			}
		})
	}
}

// TestScanPieces checks deltas made from pieces scanned separately, with pieces small enough
// that the test pairs have many: they must round-trip, and cost little over one piece.
func TestScanPieces(t *testing.T) {
	pairs := append(testPairs(),
		pair{"program grown", program(6, 30000, 0), append(program(6, 30000, 0x40)[:15000], program(6, 30000, 0x40)...)},
		pair{"program shrunk", program(6, 30000, 0), program(6, 30000, 0x40)[:17000]},
	)
	whole := make(map[string]int)
	for _, p := range pairs {
		b, err := newSuffixBody(p.old, p.new)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		whole[p.name] = len(b.bytes())
	}
	defer func(n int) { scanChunk = n }(scanChunk)
	scanChunk = 1 << 10
	for _, p := range pairs {
		if len(p.old) == 0 {
			continue
		}
		b, err := newSuffixBody(p.old, p.new)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		body := b.bytes()
		d := diffWith(encSuffix, p.old, p.new, body)
		got, err := Apply(p.old, d)
		if err != nil {
			t.Fatalf("%s: Apply: %v", p.name, err)
		}
		if !bytes.Equal(got, p.new) {
			t.Fatalf("%s: Apply returned %d wrong bytes", p.name, len(got))
		}
		pieces := (len(p.new) + scanChunk - 1) / scanChunk
		if len(body) > whole[p.name]+64*pieces {
			t.Errorf("%s: %d bytes in %d pieces, %d in one", p.name, len(body), pieces, whole[p.name])
		}
	}
}

// TestDiffBounds checks what Diff promises: a delta no larger than the suffix-array encoder's
// or new compressed on its own at zstd's fastest level, and, where tryStrong says the strong
// encoders are worth trying, no larger than any encoder's.
func TestDiffBounds(t *testing.T) {
	for _, p := range testPairs() {
		d, err := Diff(p.old, p.new)
		if err != nil {
			t.Fatalf("%s: Diff: %v", p.name, err)
		}
		fast, err := encodeWith(encoder{encode: encodeLiteralFast}, p.old, p.new)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) > headerSize+len(fast) {
			t.Errorf("%s: Diff gave %d bytes, fast literal %d", p.name, len(d), headerSize+len(fast))
		}
		suffix := -1
		if len(p.old) > 0 {
			body, err := encodeWith(encoders[0], p.old, p.new)
			if err != nil {
				t.Fatalf("%s: suffix encoder: %v", p.name, err)
			}
			if suffix = len(body); len(d) > headerSize+suffix {
				t.Errorf("%s: Diff gave %d bytes, suffix encoder %d", p.name, len(d), headerSize+suffix)
			}
		}
		if !tryStrong(suffix, len(fast)) {
			continue
		}
		for _, e := range encoders {
			body, err := encodeWith(e, p.old, p.new)
			if err != nil {
				t.Fatalf("%s: %s encoder: %v", p.name, e.name, err)
			}
			if len(d) > headerSize+len(body) {
				t.Errorf("%s: Diff gave %d bytes, %s encoder %d", p.name, len(d), e.name, headerSize+len(body))
			}
		}
	}
}

// TestLiteralFastLarge checks the fast literal of an input larger than its encoder's window.
func TestLiteralFastLarge(t *testing.T) {
	new := program(10, 3*maxPooledWindow, 0)
	body, err := encodeWith(encoder{encode: encodeLiteralFast}, nil, new)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Apply(nil, diffWith(encLiteral, nil, new, body))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !bytes.Equal(got, new) {
		t.Fatal("Apply returned wrong bytes")
	}
}

// TestDiffWhereSuffixLoses checks that pairs on which bsdiff's scan finds little get one of the
// zstd encoders, no larger than any encoder's result.
func TestDiffWhereSuffixLoses(t *testing.T) {
	text := wordText(1, 3000)
	tests := []pair{
		{"unrelated random", randomBytes(2, 5000), randomBytes(3, 6000)},
		{"compressed text, edited", compressedText(t, text), compressedText(t, append([]byte("new first line\n"), text...))},
		{"unrelated text", wordText(2, 3000), text},
	}
	for _, tt := range tests {
		d, err := Diff(tt.old, tt.new)
		if err != nil {
			t.Fatalf("%s: Diff: %v", tt.name, err)
		}
		if d[len(magic)] == encSuffix {
			t.Errorf("%s: the suffix-array encoder won", tt.name)
		}
		for _, e := range encoders {
			body, err := encodeWith(e, tt.old, tt.new)
			if err != nil {
				t.Fatalf("%s: %s encoder: %v", tt.name, e.name, err)
			}
			if len(d) > headerSize+len(body) {
				t.Errorf("%s: Diff gave %d bytes, %s encoder %d", tt.name, len(d), e.name, headerSize+len(body))
			}
		}
		if got, err := Apply(tt.old, d); err != nil || !bytes.Equal(got, tt.new) {
			t.Errorf("%s: Apply: %v", tt.name, err)
		}
	}
}

// wordText returns n words of text drawn from a small vocabulary.
func wordText(seed uint64, n int) []byte {
	words := strings.Fields("the of and to in is was for on with as by at from that this it be are or an which")
	rng := rand.New(rand.NewPCG(seed, 2))
	var b []byte
	for i := range n {
		b = append(b, words[rng.IntN(len(words))]...)
		if i%12 == 11 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b
}

// compressedText returns text compressed with gzip, like the changelogs of a Debian package.
func compressedText(t *testing.T, text []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTryStrong(t *testing.T) {
	tests := []struct {
		suffix, fast int
		want         bool
	}{
		{-1, 100, true}, // no suffix-array body
		{-1, 0, true},
		{12, 0, true}, // empty new: the literal body is empty
		{25, 100, false},
		{26, 100, true},
		{100, 90, true},
		{4000, 40000, false},
	}
	for _, tt := range tests {
		if got := tryStrong(tt.suffix, tt.fast); got != tt.want {
			t.Errorf("tryStrong(%d, %d) = %v, want %v", tt.suffix, tt.fast, got, tt.want)
		}
	}
}

// TestSuffixExtraWithOld checks that a suffix-array body whose extra bytes were compressed with
// old as dictionary decodes, for every test pair, and that the dictionary is used where the
// extra bytes repeat old.
func TestSuffixExtraWithOld(t *testing.T) {
	for _, p := range append(testPairs(), pair{"reshuffled text", wordText(3, 2000), wordText(4, 2000)}) {
		if len(p.old) == 0 {
			continue
		}
		b, err := newSuffixBody(p.old, p.new)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		plain := len(b.comp[secExtra])
		c := newDictCompressor(p.old, len(p.new))
		err = b.extraWithOld(c)
		c.close()
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if len(b.comp[secExtra]) > plain {
			t.Errorf("%s: extra grew from %d to %d bytes", p.name, plain, len(b.comp[secExtra]))
		}
		if p.name == "reshuffled text" && len(b.comp[secExtra]) == plain {
			t.Errorf("%s: old as dictionary did not help the extra bytes (%d bytes)", p.name, plain)
		}
		got, err := Apply(p.old, diffWith(encSuffix, p.old, p.new, b.bytes()))
		if err != nil {
			t.Fatalf("%s: Apply: %v", p.name, err)
		}
		if !bytes.Equal(got, p.new) {
			t.Fatalf("%s: Apply returned %d wrong bytes", p.name, len(got))
		}
	}
}

// smallDeltas returns a delta of each encoder for a small edit, with its old and new.
func smallDeltas(t testing.TB) (old, new []byte, deltas map[string][]byte) {
	old = program(7, 300, 0)
	new = append(program(7, 280, 0x10), "tail"...)
	deltas = make(map[string][]byte)
	for _, e := range encoders {
		body, err := encodeWith(e, old, new)
		if err != nil {
			t.Fatalf("%s encoder: %v", e.name, err)
		}
		deltas[e.name] = diffWith(e.id, old, new, body)
	}
	return old, new, deltas
}

// checkApply applies a damaged delta: it must fail with one of the package's errors, or (if the
// damage did not matter) return exactly new. It reports whether Apply failed.
func checkApply(t *testing.T, old, new, delta []byte, what string) bool {
	t.Helper()
	got, err := Apply(old, delta)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongBase) {
			t.Fatalf("%s: error %v wraps neither ErrCorrupt nor ErrWrongBase", what, err)
		}
		return true
	}
	if !bytes.Equal(got, new) {
		t.Fatalf("%s: Apply returned wrong output without an error", what)
	}
	return false
}

func TestApplyTruncated(t *testing.T) {
	old, new, deltas := smallDeltas(t)
	for name, d := range deltas {
		for n := range len(d) {
			if !checkApply(t, old, new, d[:n], fmt.Sprintf("%s delta cut to %d of %d bytes", name, n, len(d))) {
				t.Errorf("%s delta cut to %d of %d bytes was accepted", name, n, len(d))
			}
		}
		if !checkApply(t, old, new, append(bytes.Clone(d), 0), name+" delta with a byte appended") {
			t.Errorf("%s delta with a byte appended was accepted", name)
		}
	}
}

func TestApplyFlipped(t *testing.T) {
	old, new, deltas := smallDeltas(t)
	for name, d := range deltas {
		accepted := 0
		for i := range d {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(d)
				bad[i] ^= mask
				if !checkApply(t, old, new, bad, fmt.Sprintf("%s delta with byte %d ^ %#x", name, i, mask)) {
					accepted++
				}
			}
		}
		// Some bits do not change the result (zstd header fields, for instance), and then
		// getting new back is right; almost every change must be caught, though.
		t.Logf("%s: %d of %d accepted", name, accepted, 3*len(d))
		if accepted > len(d)/10 {
			t.Errorf("%s delta: %d of %d damaged versions were accepted", name, accepted, 3*len(d))
		}
	}
}

func TestApplyWrongBase(t *testing.T) {
	old, _, deltas := smallDeltas(t)
	other := bytes.Clone(old)
	other[10] ^= 1
	for name, d := range deltas {
		for _, base := range [][]byte{other, old[:len(old)-1], nil} {
			if _, err := Apply(base, d); !errors.Is(err, ErrWrongBase) {
				t.Errorf("%s delta on a %d-byte wrong base: error %v, want ErrWrongBase", name, len(base), err)
			}
		}
	}
}

func TestApplyUnknownEncoder(t *testing.T) {
	old, _, deltas := smallDeltas(t)
	d := bytes.Clone(deltas["literal"])
	d[len(magic)] = 0
	if _, err := Apply(old, d); !errors.Is(err, ErrCorrupt) {
		t.Errorf("error %v, want ErrCorrupt", err)
	}
}

// TestApplyHugeHeader checks that a header claiming a size beyond MaxOutput is refused before
// anything of that size is allocated.
func TestApplyHugeHeader(t *testing.T) {
	old := []byte("old")
	for _, e := range encoders {
		for _, size := range []uint64{MaxOutput + 1, 1 << 40, 1<<64 - 1} {
			h := header{encoder: e.id, oldSize: len(old), oldSum: sha256.Sum256(old)}
			d := h.append(nil)
			binary.LittleEndian.PutUint64(d[len(magic)+1+8+sha256.Size:], size)
			d = append(d, bytes.Repeat([]byte{0}, 64)...)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Apply(old, d)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s, new size %d: error %v, want ErrCorrupt", e.name, size, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("%s, new size %d: Apply allocated %d bytes", e.name, size, n)
			}
		}
	}
}

// TestApplyLargeClaims checks that a body claiming large sections for a small new file is
// refused without allocating for the claim.
func TestApplyLargeClaims(t *testing.T) {
	old := []byte("old")
	var body []byte
	body = binary.AppendUvarint(body, 1<<29) // ctrl raw size
	body = binary.AppendUvarint(body, 4)
	body = append(body, "junk"...)
	d := diffWith(encSuffix, old, []byte("new"), body)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Apply(old, d)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("error %v, want ErrCorrupt", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("Apply allocated %d bytes", n)
	}
}

func TestRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var many []byte // more distinct run values than the move-to-front list holds
	for i := range 300 {
		many = append(many, 0, 0, byte(i%200+1), byte(i%7+1))
	}
	tests := [][]byte{
		nil,
		{0, 0, 0},
		{1},
		{1, 0},
		{0, 1},
		bytes.Repeat([]byte{5}, 1000),
		bytes.Repeat([]byte{0, 0, 0, 0x20, 0, 0, 0, 0}, 100),
		many,
	}
	for range 20 {
		d := make([]byte, rng.IntN(3000))
		for i := range d {
			if rng.IntN(4) == 0 {
				d[i] = byte(rng.IntN(3))
			}
		}
		tests = append(tests, d)
	}
	for _, diff := range tests {
		gaps, ranks, lens, lits := encodeRuns(diff)
		got := make([]byte, len(diff))
		if err := decodeRuns(got, gaps, ranks, lens, lits); err != nil {
			t.Fatalf("decodeRuns(%d bytes): %v", len(diff), err)
		}
		if !bytes.Equal(got, diff) {
			t.Fatalf("runs of %d bytes did not round-trip", len(diff))
		}
	}
}

// TestDeterministic checks that reused encoders give the same output as fresh ones, which the
// size comparison with bsdiff and reproducible builds rely on.
func TestDeterministic(t *testing.T) {
	for _, p := range testPairs() {
		var first []byte
		for i := range 3 {
			d, err := Diff(p.old, p.new)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = d
			} else if !bytes.Equal(d, first) {
				t.Fatalf("%s: Diff gave different deltas", p.name)
			}
		}
	}
	// Pooled encoders have a larger window than a fresh one fitted to the input.
	dict := program(9, 100000, 0)
	for _, size := range []int{100, 1024, 1025, 5000, 200000, 900000} {
		src := program(8, size, 3)
		for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression, zstd.SpeedBestCompression} {
			for _, d := range [][]byte{nil, dict} {
				if len(d)+size > maxPooledWindow {
					continue
				}
				e, err := newEncoder(level, windowFor(len(d), len(src)), d)
				if err != nil {
					t.Fatal(err)
				}
				want := e.EncodeAll(src, nil)
				e.Close()
				for range 3 {
					// Use the pooled encoder on something else first.
					other, release, err := getEncoder(level, windowFor(len(d), 3000), d)
					if err != nil {
						t.Fatal(err)
					}
					other.EncodeAll(randomBytes(9, 3000), nil)
					release()
					pooled, release, err := getEncoder(level, windowFor(len(d), len(src)), d)
					if err != nil {
						t.Fatal(err)
					}
					got := pooled.EncodeAll(src, nil)
					release()
					if !bytes.Equal(got, want) {
						t.Fatalf("%d bytes at %v, %d bytes of dictionary: a reused encoder differs from a fresh one", size, level, len(d))
					}
				}
			}
		}
	}
}
