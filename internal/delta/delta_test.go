package delta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
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

// TestDiffPicksSmallest checks that Diff's result is no larger than any encoder's.
func TestDiffPicksSmallest(t *testing.T) {
	for _, p := range testPairs() {
		d, err := Diff(p.old, p.new)
		if err != nil {
			t.Fatalf("%s: Diff: %v", p.name, err)
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
	src := program(8, 5000, 0)
	e, err := newEncoder(windowFor(0, len(src)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := e.EncodeAll(src, nil)
	e.Close()
	for range 3 {
		if _, err := compress(randomBytes(9, len(src))); err != nil {
			t.Fatal(err)
		}
		got, err := compress(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[0], want) {
			t.Fatal("compress with a reused encoder differs from a fresh encoder")
		}
	}
}
