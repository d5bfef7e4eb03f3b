package delta

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The sections of a suffix-array body, in order (see the package documentation).
const (
	secCtrl = iota
	secGaps
	secRanks
	secLens
	secLits
	secExtra
	numSections
)

var sectionNames = [numSections]string{"ctrl", "gaps", "ranks", "lens", "lits", "extra"}

// recentRuns is how many distinct nonzero run values the ranks section can refer back to.
//
// Executables change mostly where an address or offset moved, and a move shifts many such
// values by the same amount: the diff bytes are sparse, short nonzero runs, and the same few
// run values recur with other values in between. zstd finds no repeats of two bytes, but a
// move-to-front rank turns them into a small alphabet it codes well. Measured on the test
// corpus this, with gaps and values in separate streams, makes the diff bytes about 20% smaller
// than zstd on the plain bytes, which is the difference between losing to bsdiff 4.3 (bzip2)
// and beating it.
const recentRuns = 64

// sectionLimit is the most raw bytes all sections of a body for a new file of newSize bytes
// may hold together; it bounds what Apply allocates for a hostile body.
func sectionLimit(newSize int) int {
	return int(min(4*int64(newSize)+4096, MaxOutput))
}

// encodeSuffix is the suffix-array encoder: bsdiff's scan, then the coding described in the
// package documentation.
func encodeSuffix(j *job) ([]byte, error) {
	b, err := newSuffixBody(j.old, j.new)
	if err != nil {
		return nil, err
	}
	return b.bytes(), nil
}

// A suffixBody is a suffix-array body in its sections, raw and compressed.
type suffixBody struct {
	raw, comp [numSections][]byte
}

// newSuffixBody scans new against old and compresses every section, the extra bytes included,
// without dictionary.
//
// The format has the extra section decoded with old as dictionary, but a frame that makes no
// use of the dictionary decodes the same with it. On the executables of the test corpus the
// dictionary saved 150-550 bytes of deltas of 36-183 KB, while preparing old as a dictionary
// (the encoder hashes all of it) took two to four times as long as compressing all the
// sections; Diff tries it with extraWithOld where it can matter.
func newSuffixBody(old, new []byte) (*suffixBody, error) {
	sa, err := suffixArray(old)
	if err != nil {
		return nil, err
	}
	s := scanAll(old, new, sa, newBuckets(old))

	b := &suffixBody{}
	for _, o := range s.ops {
		b.raw[secCtrl] = binary.AppendVarint(b.raw[secCtrl], int64(o.seek))
		b.raw[secCtrl] = binary.AppendUvarint(b.raw[secCtrl], uint64(o.add))
		b.raw[secCtrl] = binary.AppendUvarint(b.raw[secCtrl], uint64(o.copy))
	}
	b.raw[secGaps], b.raw[secRanks], b.raw[secLens], b.raw[secLits] = encodeRuns(s.diff)
	b.raw[secExtra] = s.extra
	total := 0
	for _, r := range b.raw {
		total += len(r)
	}
	if total > sectionLimit(len(new)) {
		return nil, fmt.Errorf("suffix encoder: %d bytes of sections exceed the limit for %d bytes", total, len(new))
	}
	comp, err := compress(b.raw[:]...)
	if err != nil {
		return nil, fmt.Errorf("suffix encoder: %w", err)
	}
	copy(b.comp[:], comp)
	return b, nil
}

// extraWithOld compresses the extra section again with old as dictionary (c), and keeps the
// result if it is smaller.
func (b *suffixBody) extraWithOld(c *dictCompressor) error {
	comp, err := c.compress(b.raw[secExtra])
	if err != nil {
		return fmt.Errorf("suffix encoder: %w", err)
	}
	if len(comp) < len(b.comp[secExtra]) {
		b.comp[secExtra] = comp
	}
	return nil
}

// bytes assembles the body.
func (b *suffixBody) bytes() []byte {
	var body []byte
	for i := range b.raw {
		body = binary.AppendUvarint(body, uint64(len(b.raw[i])))
		body = binary.AppendUvarint(body, uint64(len(b.comp[i])))
		body = append(body, b.comp[i]...)
	}
	return body
}

// encodeRuns codes the diff bytes as described for the gaps, ranks, lens and lits sections.
func encodeRuns(diff []byte) (gaps, ranks, lens, lits []byte) {
	var recent mtf
	for i := 0; ; {
		start := i
		for i < len(diff) && diff[i] == 0 {
			i++
		}
		if i == len(diff) {
			return gaps, ranks, lens, lits
		}
		gaps = binary.AppendUvarint(gaps, uint64(i-start))
		start = i
		for i < len(diff) && diff[i] != 0 {
			i++
		}
		v := diff[start:i]
		r := recent.find(v)
		ranks = append(ranks, byte(r))
		if r == recentRuns {
			lens = binary.AppendUvarint(lens, uint64(len(v)))
			lits = append(lits, v...)
		}
		recent.use(r, v)
	}
}

// mtf is a move-to-front list of the most recently used run values.
type mtf struct {
	vals [recentRuns][]byte
	n    int
}

// find returns the rank of v, or recentRuns if it is not in the list.
func (m *mtf) find(v []byte) int {
	for r, x := range m.vals[:m.n] {
		if bytes.Equal(x, v) {
			return r
		}
	}
	return recentRuns
}

// use moves v, found at rank r (recentRuns if new), to the front.
func (m *mtf) use(r int, v []byte) {
	if r == recentRuns {
		if m.n < recentRuns {
			m.n++
		}
		r = m.n - 1
	}
	copy(m.vals[1:r+1], m.vals[:r])
	m.vals[0] = v
}

// decodeSuffix rebuilds new from old and a body made by encodeSuffix.
func decodeSuffix(old, body []byte, newSize int) ([]byte, error) {
	// Read the section table and check the sizes before allocating anything.
	var rawSize [numSections]int
	var comp [numSections][]byte
	total := 0
	limit := sectionLimit(newSize)
	for i := range rawSize {
		var r, c uint64
		var n int
		if r, n = binary.Uvarint(body); n > 0 {
			body = body[n:]
			c, n = binary.Uvarint(body)
		}
		if n <= 0 || r > uint64(limit-total) || c > uint64(len(body)-n) {
			return nil, fmt.Errorf("%w: bad %s section header", ErrCorrupt, sectionNames[i])
		}
		rawSize[i], comp[i], body = int(r), body[n:n+int(c)], body[n+int(c):]
		total += rawSize[i]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last section", ErrCorrupt, len(body))
	}

	var raw [numSections][]byte
	maxLen := 0
	for _, n := range rawSize[:secExtra] {
		maxLen = max(maxLen, n)
	}
	d, err := newDecoder(maxLen, nil)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	for i := range raw[:secExtra] {
		if raw[i], err = decodeExact(d, comp[i], rawSize[i]); err != nil {
			return nil, fmt.Errorf("%s section: %w", sectionNames[i], err)
		}
	}
	if raw[secExtra], err = decompress(comp[secExtra], rawSize[secExtra], old); err != nil {
		return nil, fmt.Errorf("%s section: %w", sectionNames[secExtra], err)
	}

	diffSize, err := checkOps(raw[secCtrl], len(old), newSize)
	if err != nil {
		return nil, err
	}
	if newSize-diffSize != len(raw[secExtra]) {
		return nil, fmt.Errorf("%w: ops copy %d extra bytes, section holds %d", ErrCorrupt, newSize-diffSize, len(raw[secExtra]))
	}
	diff := make([]byte, diffSize)
	if err := decodeRuns(diff, raw[secGaps], raw[secRanks], raw[secLens], raw[secLits]); err != nil {
		return nil, err
	}

	out := make([]byte, 0, newSize)
	extra := raw[secExtra]
	pos := 0
	for ctrl := raw[secCtrl]; len(ctrl) > 0; {
		var o op
		o, ctrl, _ = nextOp(ctrl)
		pos += o.seek
		start := len(out)
		out = append(out, old[pos:pos+o.add]...)
		for i, d := range diff[:o.add] {
			out[start+i] += d
		}
		diff = diff[o.add:]
		pos += o.add
		out = append(out, extra[:o.copy]...)
		extra = extra[o.copy:]
	}
	return out, nil
}

// nextOp decodes the first op of ctrl, reporting whether it was complete and of sane size.
func nextOp(ctrl []byte) (op, []byte, bool) {
	seek, n1 := binary.Varint(ctrl)
	if n1 <= 0 || seek < -MaxOutput || seek > MaxOutput {
		return op{}, nil, false
	}
	add, n2 := binary.Uvarint(ctrl[n1:])
	if n2 <= 0 || add > MaxOutput {
		return op{}, nil, false
	}
	cp, n3 := binary.Uvarint(ctrl[n1+n2:])
	if n3 <= 0 || cp > MaxOutput {
		return op{}, nil, false
	}
	return op{seek: int(seek), add: int(add), copy: int(cp)}, ctrl[n1+n2+n3:], true
}

// checkOps checks that every op in ctrl makes progress and stays inside old, and that together
// they produce exactly newSize bytes. It returns how many diff bytes they use.
func checkOps(ctrl []byte, oldSize, newSize int) (diffSize int, err error) {
	pos, done := 0, 0
	for len(ctrl) > 0 {
		var o op
		var ok bool
		if o, ctrl, ok = nextOp(ctrl); !ok {
			return 0, fmt.Errorf("%w: bad op", ErrCorrupt)
		}
		// Written so that nothing overflows, even with 32-bit ints.
		if o.seek < -pos || o.seek > oldSize-pos {
			return 0, fmt.Errorf("%w: op seeks outside old", ErrCorrupt)
		}
		pos += o.seek
		if o.add > oldSize-pos || o.add > newSize-done || o.copy > newSize-done-o.add || o.add+o.copy == 0 {
			return 0, fmt.Errorf("%w: op out of bounds", ErrCorrupt)
		}
		pos += o.add
		done += o.add + o.copy
		diffSize += o.add
	}
	if done != newSize {
		return 0, fmt.Errorf("%w: ops produce %d bytes, want %d", ErrCorrupt, done, newSize)
	}
	return diffSize, nil
}

// decodeRuns fills the zeroed diff with the nonzero runs coded by encodeRuns.
func decodeRuns(diff, gaps, ranks, lens, lits []byte) error {
	var recent mtf
	i := 0
	for _, rb := range ranks {
		gap, n := binary.Uvarint(gaps)
		if n <= 0 || gap > uint64(len(diff)-i) {
			return fmt.Errorf("%w: bad gap", ErrCorrupt)
		}
		gaps = gaps[n:]
		i += int(gap)
		r := int(rb)
		var v []byte
		switch {
		case r == recentRuns:
			size, n := binary.Uvarint(lens)
			if n <= 0 || size == 0 || size > uint64(len(lits)) {
				return fmt.Errorf("%w: bad run length", ErrCorrupt)
			}
			lens = lens[n:]
			v, lits = lits[:size], lits[size:]
		case r < recent.n:
			v = recent.vals[r]
		default:
			return fmt.Errorf("%w: bad run rank %d", ErrCorrupt, r)
		}
		if len(v) > len(diff)-i {
			return fmt.Errorf("%w: run past the end of the diff bytes", ErrCorrupt)
		}
		i += copy(diff[i:], v)
		recent.use(r, v)
	}
	if len(gaps)+len(lens)+len(lits) != 0 {
		return fmt.Errorf("%w: unused run data", ErrCorrupt)
	}
	return nil
}
