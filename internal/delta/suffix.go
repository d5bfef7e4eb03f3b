package delta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"index/suffixarray"
	"math"
)

// suffixArray returns the suffix array of data: the start offsets of all non-empty suffixes of
// data in ascending lexicographic order.
//
// The sorting is done by the standard library's SA-IS implementation (linear time). Its array is
// not exported, so we read it back from the serialised form (*suffixarray.Index).Write emits; see
// saWriter for that format (the tests compare the result with a naive sort, so a change of
// format cannot go unnoticed). Inputs above math.MaxInt32 bytes are refused because the standard
// library switches to int64 entries there, and int32 keeps memory at 4 bytes per input byte.
func suffixArray(data []byte) ([]int32, error) {
	if len(data) > math.MaxInt32 {
		return nil, fmt.Errorf("suffix array: %d bytes is too large", len(data))
	}
	w := &saWriter{sa: make([]int32, 0, len(data))}
	if err := suffixarray.New(data).Write(w); err != nil {
		return nil, fmt.Errorf("suffix array: %w", err)
	}
	if w.state != saChunkHeader || w.n != len(data) || len(w.sa) != len(data) {
		return nil, errors.New("suffix array: unexpected index serialisation")
	}
	return w.sa, nil
}

// saWriter decodes the output of (*suffixarray.Index).Write (Go 1.x, index/suffixarray) as it
// is written, without keeping it. The format is:
//
//	varint(len(data)) padded to binary.MaxVarintLen64 bytes
//	data
//	chunks, each: varint(chunk size, counting this header) padded to MaxVarintLen64 bytes,
//	              then uvarint suffix array entries filling the rest of the chunk
//
// The decoder is a byte-at-a-time state machine so it does not depend on how Write splits its
// output into calls.
type saWriter struct {
	state int
	hdr   []byte // the padded varint being collected
	n     int    // length of data, from the first header
	skip  int    // data bytes still to skip
	left  int    // entry bytes still to come in the current chunk
	x     uint64 // uvarint being decoded
	shift uint
	sa    []int32
}

const (
	saLength      = iota // reading the padded data length
	saData               // skipping the data
	saChunkHeader        // reading a padded chunk size
	saEntries            // reading uvarint entries
)

var errBadIndex = errors.New("suffix array: malformed index serialisation")

// Write implements io.Writer.
func (w *saWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		switch w.state {
		case saLength, saChunkHeader:
			k := min(binary.MaxVarintLen64-len(w.hdr), len(p))
			w.hdr = append(w.hdr, p[:k]...)
			p = p[k:]
			if len(w.hdr) < binary.MaxVarintLen64 {
				continue
			}
			v, k := binary.Varint(w.hdr)
			w.hdr = w.hdr[:0]
			if k <= 0 || v < 0 {
				return 0, errBadIndex
			}
			if w.state == saLength {
				if v > math.MaxInt32 {
					return 0, errBadIndex
				}
				w.n, w.skip, w.state = int(v), int(v), saData
				continue
			}
			if v < binary.MaxVarintLen64 {
				return 0, errBadIndex
			}
			w.left, w.state = int(v)-binary.MaxVarintLen64, saEntries
		case saData:
			k := min(w.skip, len(p))
			w.skip -= k
			p = p[k:]
			if w.skip == 0 {
				w.state = saChunkHeader
			}
		case saEntries:
			k := min(w.left, len(p))
			for _, c := range p[:k] {
				w.x |= uint64(c&0x7f) << w.shift
				if c >= 0x80 {
					if w.shift += 7; w.shift > 63 {
						return 0, errBadIndex
					}
					continue
				}
				if w.x >= uint64(w.n) || len(w.sa) == w.n {
					return 0, errBadIndex
				}
				w.sa = append(w.sa, int32(w.x))
				w.x, w.shift = 0, 0
			}
			w.left -= k
			p = p[k:]
			if w.left == 0 {
				if w.shift != 0 {
					return 0, errBadIndex // an entry split across chunks
				}
				w.state = saChunkHeader
			}
		}
	}
	// An empty data section never sees a byte, so leave saData here.
	if w.state == saData && w.skip == 0 {
		w.state = saChunkHeader
	}
	return total, nil
}
