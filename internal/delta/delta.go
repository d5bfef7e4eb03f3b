// Package delta makes and applies byte-level binary deltas: given the old and new versions of
// a file, Diff produces a small patch from which Apply rebuilds the new version out of the old.
//
// Diff always runs the suffix-array encoder (unless old is empty), which on executables and
// libraries wins by far: it is bsdiff's algorithm with a stronger coding of its output, smaller
// than bsdiff 4.3's patches and faster to build. Alongside it Diff compresses new on its own at
// zstd's fastest level, which costs little and bounds the result: a delta is never larger than
// the new file compressed on its own at that level, plus the header. Only when the suffix-array
// delta is not clearly smaller than that (see tryStrong) does Diff also compress new at a
// stronger level, on its own and with old as dictionary (like zstd --patch-from), which is what
// wins on files that are compressed already. It keeps the smallest delta it made.
//
// # Format
//
// A delta is a header followed by the body of one encoder. All integers in the header are
// unsigned 64-bit little-endian:
//
//	offset  size  field
//	0       8     magic "PDDELTA1"
//	8       1     encoder id (1, 2 or 3, below)
//	9       8     old size in bytes
//	17      32    SHA-256 of old
//	49      8     new size in bytes
//	57      32    SHA-256 of new
//	89            body, to the end of the delta
//
// Apply refuses a delta whose old size or SHA-256 does not match the old it is given
// (ErrWrongBase) before doing any other work, refuses sizes above MaxOutput, and checks the
// size and SHA-256 of what it rebuilt before returning it (ErrCorrupt otherwise).
//
// In the bodies, uvarint and varint are the variable-length integers of Go's encoding/binary
// (varint is zig-zag signed), and "zstd" is a single Zstandard frame (RFC 8878), without
// checksum. "With old as dictionary" means the old file is a raw-content dictionary with
// dictionary id 0, so no id is written; that is what zstd --patch-from uses. (A frame need
// not refer to its dictionary: one made without decodes the same with it.) A frame's window
// is at most the smallest power of two that holds the dictionary and the frame's content
// (and at least 1 KiB, at most 512 MiB); Apply refuses larger windows.
//
// Encoder 1, suffix-array diff (bsdiff's algorithm). New is described by ops. Each op first
// moves a position in old (starting at 0) by seek, which may be negative; then takes add bytes
// of new as the old bytes from there, each plus the next diff byte (modulo 256), advancing
// the position; then copy bytes of new verbatim from the extra bytes. The body is six
// sections, each
//
//	uvarint raw size, uvarint compressed size, zstd frame of the raw bytes
//
// where an empty section has compressed size 0 and no frame. In this order:
//
//	ctrl   per op: varint seek, uvarint add, uvarint copy (add+copy > 0)
//	gaps   per nonzero run: uvarint count of zero diff bytes before it
//	ranks  per nonzero run: one byte, the rank of its value in a move-to-front list of the
//	       last 64 distinct run values (0 is the most recent), or 64 for a new value
//	lens   per new value: uvarint length (> 0)
//	lits   the bytes of the new values, in order
//	extra  the extra bytes, with old as dictionary (the other sections have none)
//
// The diff bytes (as many as all ops add together) are zero except for the nonzero runs, each
// the given count of bytes after the previous run (or the start), whose values come from the
// move-to-front list or from lens and lits. A value used moves to the front of the list; a new
// value enters at the front, dropping the 64th when the list is full. Zero diff bytes after the
// last run are implied. The raw sizes of all six sections together may not exceed four times
// the new size plus 4 KiB.
//
// Encoder 2, zstd patch-from: the body is new as zstd with old as dictionary. The reference
// tool decodes it: zstd -d --long=31 --patch-from=old.
//
// Encoder 3, literal: the body is new as zstd without dictionary.
package delta

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// MaxOutput is the largest old or new file, in bytes, that Diff accepts and Apply produces.
const MaxOutput = 1 << 30

var (
	// ErrCorrupt reports a delta that is malformed, truncated or does not rebuild the new file.
	ErrCorrupt = errors.New("corrupt delta")
	// ErrWrongBase reports a delta made against a different old file.
	ErrWrongBase = errors.New("delta made against a different base")
)

const (
	magic      = "PDDELTA1"
	headerSize = len(magic) + 1 + 2*(8+sha256.Size)
)

// Encoder ids, as stored in the header.
const (
	encSuffix    byte = 1
	encPatchFrom byte = 2
	encLiteral   byte = 3
)

// header is the fixed part of a delta.
type header struct {
	encoder          byte
	oldSize, newSize int
	oldSum, newSum   [sha256.Size]byte
}

// append appends the encoded header to dst.
func (h header) append(dst []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, h.encoder)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.oldSize))
	dst = append(dst, h.oldSum[:]...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.newSize))
	return append(dst, h.newSum[:]...)
}

// parseHeader checks the header of delta against old and returns it with the body.
func parseHeader(old, delta []byte) (header, []byte, error) {
	var h header
	if len(delta) < headerSize || string(delta[:len(magic)]) != magic {
		return h, nil, fmt.Errorf("%w: no delta header", ErrCorrupt)
	}
	p := delta[len(magic):]
	h.encoder = p[0]
	oldSize := binary.LittleEndian.Uint64(p[1:])
	copy(h.oldSum[:], p[9:])
	newSize := binary.LittleEndian.Uint64(p[41:])
	copy(h.newSum[:], p[49:])
	if oldSize > MaxOutput || newSize > MaxOutput {
		return h, nil, fmt.Errorf("%w: sizes %d and %d exceed the limit of %d bytes", ErrCorrupt, oldSize, newSize, MaxOutput)
	}
	h.oldSize, h.newSize = int(oldSize), int(newSize)
	if h.oldSize != len(old) {
		return h, nil, fmt.Errorf("%w: delta is for a %d-byte base, got %d bytes", ErrWrongBase, h.oldSize, len(old))
	}
	if sha256.Sum256(old) != h.oldSum {
		return h, nil, fmt.Errorf("%w: base checksum mismatch", ErrWrongBase)
	}
	return h, delta[headerSize:], nil
}

// An encoder turns old and new into a body; its decoder rebuilds new (of the given size).
type encoder struct {
	id     byte
	name   string
	encode func(*job) ([]byte, error)
	decode func(old, body []byte, newSize int) ([]byte, error)
}

// A job is one Diff: the inputs and what its encoders share.
type job struct {
	old, new []byte
	withOld  *dictCompressor // old as dictionary, for anything up to len(new) bytes
}

// newJob prepares a Diff of old and new; close releases its resources.
func newJob(old, new []byte) *job {
	return &job{old: old, new: new, withOld: newDictCompressor(old, len(new))}
}

func (j *job) close() { j.withOld.close() }

// encoders lists every encoder, which is also Diff's order of preference when sizes tie.
var encoders = []encoder{
	{encSuffix, "suffix", encodeSuffix, decodeSuffix},
	{encPatchFrom, "patch-from", encodePatchFrom, decodePatchFrom},
	{encLiteral, "literal", encodeLiteral, decodeLiteral},
}

// tryStrong reports whether Diff should try the zstd encoders at a strong level, given the
// size of the suffix-array body (or -1 if there is none) and of new compressed on its own at the
// fastest level.
//
// Those encoders cost up to as much as the rest of a Diff (with old as dictionary, zstd has to
// hash all of old first) and rarely pay: on the executables of the test corpus the suffix-array
// body is 1-10% of the fast literal, and patch-from at zstd's strongest level is 2-3 times
// larger than it. They win only where old is of little use to bsdiff's scan, as in compressed
// files (suffix-array body over 90% of the fast literal), and by some 30 bytes on libraries
// where only a build id changed, which is not worth the time.
func tryStrong(suffix, fast int) bool {
	return suffix < 0 || suffix > fast/4
}

// A candidate is an encoder's body for the delta being made.
type candidate struct {
	id   byte
	body []byte
}

// Diff returns a self-describing delta that turns old into new.
func Diff(old, new []byte) ([]byte, error) {
	if len(old) > MaxOutput || len(new) > MaxOutput {
		return nil, fmt.Errorf("diff: inputs of %d and %d bytes exceed the limit of %d", len(old), len(new), MaxOutput)
	}
	j := newJob(old, new)
	defer j.close()

	var (
		sb                                                 *suffixBody
		suffix, fast, patch, literal                       []byte
		suffixErr, fastErr, patchErr, extraErr, literalErr error
		wg                                                 sync.WaitGroup
	)
	// bsdiff's scan needs something to match against: with an empty old, every encoder
	// compresses new on its own.
	if len(old) > 0 {
		wg.Go(func() { sb, suffixErr = newSuffixBody(old, new) })
	}
	fast, fastErr = encodeLiteralFast(j)
	wg.Wait()

	suffixSize := -1
	if sb != nil {
		suffix = sb.bytes()
		suffixSize = len(suffix)
	}
	strong := fastErr != nil || tryStrong(suffixSize, len(fast))
	if strong {
		if len(old) > 0 {
			wg.Go(func() {
				patch, patchErr = encodePatchFrom(j)
				if patchErr == nil && sb != nil {
					// The dictionary is ready now: see whether it helps the extra bytes.
					if extraErr = sb.extraWithOld(j.withOld); extraErr == nil {
						suffix = sb.bytes()
					}
				}
			})
		}
		literal, literalErr = encodeLiteral(j)
		wg.Wait()
	}

	// In order of preference when sizes tie.
	var cands []candidate
	if sb != nil {
		cands = append(cands, candidate{encSuffix, suffix})
	}
	if strong && len(old) > 0 && patchErr == nil {
		cands = append(cands, candidate{encPatchFrom, patch})
	}
	if strong && literalErr == nil {
		cands = append(cands, candidate{encLiteral, literal})
	}
	if fastErr == nil {
		cands = append(cands, candidate{encLiteral, fast})
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("diff: %w", errors.Join(suffixErr, fastErr, patchErr, extraErr, literalErr))
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if len(c.body) < len(best.body) {
			best = c
		}
	}
	return diffWith(best.id, old, new, best.body), nil
}

// diffWith assembles a delta from a body made by the encoder with the given id.
func diffWith(id byte, old, new, body []byte) []byte {
	h := header{
		encoder: id,
		oldSize: len(old),
		newSize: len(new),
		oldSum:  sha256.Sum256(old),
		newSum:  sha256.Sum256(new),
	}
	return append(h.append(make([]byte, 0, headerSize+len(body))), body...)
}

// Apply rebuilds new from old and a delta made by Diff. A delta that is corrupt, truncated,
// made against a different old, or that would produce anything but the exact new bytes is an
// error (wrapping ErrCorrupt or ErrWrongBase).
func Apply(old, delta []byte) ([]byte, error) {
	h, body, err := parseHeader(old, delta)
	if err != nil {
		return nil, fmt.Errorf("apply delta: %w", err)
	}
	var e *encoder
	for k := range encoders {
		if encoders[k].id == h.encoder {
			e = &encoders[k]
		}
	}
	if e == nil {
		return nil, fmt.Errorf("apply delta: %w: unknown encoder %d", ErrCorrupt, h.encoder)
	}
	out, err := e.decode(old, body, h.newSize)
	if err != nil {
		return nil, fmt.Errorf("apply %s delta: %w", e.name, err)
	}
	if len(out) != h.newSize || sha256.Sum256(out) != h.newSum {
		return nil, fmt.Errorf("apply %s delta: %w: result does not match the new checksum", e.name, ErrCorrupt)
	}
	return out, nil
}
