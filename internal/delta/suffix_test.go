package delta

import (
	"bytes"
	"index/suffixarray"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSuffixArray sorts the suffixes of data by comparing them.
func naiveSuffixArray(data []byte) []int32 {
	sa := make([]int32, len(data))
	for i := range sa {
		sa[i] = int32(i)
	}
	slices.SortFunc(sa, func(a, b int32) int { return bytes.Compare(data[a:], data[b:]) })
	return sa
}

// testInputs returns inputs with the shapes suffix sorting gets wrong most easily: empty, one
// symbol repeated, periodic, small and full alphabets.
func testInputs() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	in := [][]byte{
		nil,
		{0},
		{255},
		[]byte("banana"),
		[]byte("mississippi"),
		[]byte("abracadabra abracadabra"),
		bytes.Repeat([]byte{0}, 1000),
		bytes.Repeat([]byte("ab"), 500),
		bytes.Repeat([]byte("abc\x00"), 333),
	}
	for _, n := range []int{2, 3, 17, 100, 1000, 5000} {
		for _, alphabet := range []int{2, 4, 256} {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.IntN(alphabet))
			}
			in = append(in, b)
		}
	}
	return in
}

func TestSuffixArray(t *testing.T) {
	for _, data := range testInputs() {
		got, err := suffixArray(data)
		if err != nil {
			t.Fatalf("suffixArray(%d bytes): %v", len(data), err)
		}
		if want := naiveSuffixArray(data); !slices.Equal(got, want) {
			t.Errorf("suffixArray(%q) = %v, want %v", data, got, want)
		}
	}
}

// TestSuffixArrayLarge checks a real file: long enough that the index serialisation is split
// into many chunks, and full of the repeats executables have.
func TestSuffixArrayLarge(t *testing.T) {
	data := readCorpus(t, "libcurl4/7.88.1-10+deb12u5/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0")
	sa, err := suffixArray(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) != len(data) {
		t.Fatalf("got %d entries for %d bytes", len(sa), len(data))
	}
	seen := make([]bool, len(data))
	for i, p := range sa {
		if seen[p] {
			t.Fatalf("suffix %d listed twice", p)
		}
		seen[p] = true
		if i > 0 && bytes.Compare(data[sa[i-1]:], data[p:]) >= 0 {
			t.Fatalf("suffixes %d and %d out of order", sa[i-1], p)
		}
	}
}

// TestSaWriterPieces feeds the index serialisation in pieces of every size up to 11 bytes, so
// entries are split across writes in every way.
func TestSaWriterPieces(t *testing.T) {
	data := program(3, 50000, 0)
	var ser bytes.Buffer
	if err := suffixarray.New(data).Write(&ser); err != nil {
		t.Fatal(err)
	}
	want := naiveSuffixArray(data)
	for size := 1; size <= 11; size++ {
		w := &saWriter{}
		for in := ser.Bytes(); len(in) > 0; {
			n := min(size, len(in))
			if _, err := w.Write(in[:n]); err != nil {
				t.Fatalf("pieces of %d bytes: %v", size, err)
			}
			in = in[n:]
		}
		if w.state != saChunkHeader || !slices.Equal(w.sa, want) {
			t.Fatalf("pieces of %d bytes: wrong suffix array", size)
		}
	}
}

func TestSaWriterRejectsGarbage(t *testing.T) {
	// A chunk header claiming less than its own size.
	w := &saWriter{}
	in := make([]byte, 21)
	in[0] = 2 // varint 1: one data byte
	in[10] = 'x'
	in[11] = 2 // chunk size 1
	if _, err := w.Write(in); err == nil {
		t.Error("Write accepted a chunk smaller than its header")
	}
}

func TestSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, old := range testInputs() {
		sa, err := suffixArray(old)
		if err != nil {
			t.Fatal(err)
		}
		bk := newBuckets(old)
		for k := range 50 {
			// Probe with pieces of old, some altered, and random bytes.
			var probe []byte
			if len(old) > 0 && k%3 != 0 {
				i := rng.IntN(len(old))
				probe = slices.Clone(old[i:min(len(old), i+rng.IntN(40)+1)])
				if k%3 == 2 {
					probe[rng.IntN(len(probe))] ^= 1
				}
			} else {
				probe = []byte{byte(rng.IntN(256)), byte(rng.IntN(256)), 'a'}
			}
			pos, n := search(sa, bk, old, probe)
			want := 0
			for i := range old {
				want = max(want, matchLen(old[i:], probe))
			}
			if n != want || !bytes.Equal(old[pos:pos+n], probe[:n]) {
				t.Fatalf("search(%q in %d bytes) = %d, %d; want length %d", probe, len(old), pos, n, want)
			}
		}
	}
}

func TestBuckets(t *testing.T) {
	for _, old := range testInputs() {
		sa := naiveSuffixArray(old)
		bk := newBuckets(old)
		var count [1 << 16]int32
		for i, p := range sa {
			if int(p)+2 > len(old) {
				continue
			}
			k := int(old[p])<<8 | int(old[p+1])
			count[k]++
			if lo := int(bk.first[k]); i < lo || i >= lo+int(bk.count[k]) {
				t.Fatalf("%d bytes: suffix %d (rank %d) outside its bucket %d+%d", len(old), p, i, lo, bk.count[k])
			}
		}
		if count != bk.count {
			t.Fatalf("%d bytes: bucket sizes differ", len(old))
		}
	}
}

func TestMatchLen(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 0},
		{"abc", "abd", 2},
		{"0123456789abcdef", "0123456789abcdef", 16},
		{"0123456789abcdef", "0123456789abcdeX", 15},
		{"0123456789", "0123456X89", 7},
	}
	for _, tt := range tests {
		if got := matchLen([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("matchLen(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
