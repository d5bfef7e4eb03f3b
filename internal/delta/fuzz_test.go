package delta

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzApply feeds Apply damaged deltas. It must never panic, must fail only with the package's
// errors, and whatever it returns without an error must be what the header promises.
func FuzzApply(f *testing.F) {
	for _, p := range testPairs() {
		if len(p.old)+len(p.new) > 4096 {
			continue
		}
		for _, e := range encoders {
			body, err := encodeWith(e, p.old, p.new)
			if err != nil {
				f.Fatalf("%s: %s encoder: %v", p.name, e.name, err)
			}
			f.Add(p.old, diffWith(e.id, p.old, p.new, body))
		}
	}
	old, _, deltas := smallDeltas(f)
	for _, d := range deltas {
		f.Add(old, d)
	}
	f.Fuzz(func(t *testing.T, old, delta []byte) {
		out, err := Apply(old, delta)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongBase) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrWrongBase", err)
			}
			return
		}
		// Apply succeeded, so the header parsed.
		newSize := binary.LittleEndian.Uint64(delta[len(magic)+1+8+sha256.Size:])
		var newSum [sha256.Size]byte
		copy(newSum[:], delta[len(magic)+1+8+sha256.Size+8:])
		if uint64(len(out)) != newSize || sha256.Sum256(out) != newSum {
			t.Fatalf("Apply returned %d bytes that do not match the header", len(out))
		}
	})
}

// FuzzRoundTrip checks that Apply undoes Diff for any pair of inputs.
func FuzzRoundTrip(f *testing.F) {
	for _, p := range testPairs() {
		if len(p.old)+len(p.new) <= 1<<14 {
			f.Add(p.old, p.new)
		}
	}
	f.Fuzz(func(t *testing.T, old, new []byte) {
		if len(old)+len(new) > 1<<14 {
			t.Skip("inputs too large to fuzz quickly")
		}
		d, err := Diff(old, new)
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		got, err := Apply(old, d)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if !bytes.Equal(got, new) {
			t.Fatal("Apply(Diff(old, new)) != new")
		}
	})
}
