package delta

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// An op is one bsdiff control triple, reordered so every op makes progress: first the old
// position moves by seek; then add bytes of new are the old bytes there plus the next add diff
// bytes; then copy bytes of new come verbatim from the extra stream.
type op struct {
	seek, add, copy int
}

// script is what the scan produces: the ops and the two byte streams they consume.
type script struct {
	ops   []op
	diff  []byte // new - old, bytewise, for every add
	extra []byte // new bytes not derived from old
}

// scanChunk is the size of the pieces of new that scanAll scans concurrently.
var scanChunk = 128 << 10

// Where scanAll may start a piece: at the first position, among the syncTries after a multiple
// of scanChunk (and before the next), where at least syncLen bytes match old exactly.
const (
	syncLen   = 32
	syncTries = 4096
)

// scanAll is scan over all of new, in pieces of about scanChunk bytes scanned concurrently (by
// up to GOMAXPROCS goroutines). The pieces depend on the inputs only, so the result is the same
// on every machine.
//
// bsdiff's scan is sequential: at every position it compares the best match with continuing
// at the offset between old and new that it has followed so far. A piece has to start with an
// offset of its own, and a wrong one can last: in a table of pointers that all moved, no exact
// match is long enough to leave it, and the diff bytes become noise (a delta of libcrypto.so.3
// grew by a third with pieces that assumed old and new line up). So a piece starts where a
// long exact match fixes the offset, which is most likely the one the sequential scan follows
// there too. Each boundary still costs a few bytes of delta (some 100 bytes over the 60 pieces
// of the corpus's largest files).
func scanAll(old, new []byte, sa []int32, bk *buckets) script {
	type piece struct{ from, start int }
	pieces := []piece{{0, 0}}
	for from := scanChunk; from < len(new); from += scanChunk {
		for p := from; p < min(from+syncTries, from+scanChunk, len(new)); p++ {
			if pos, n := search(sa, bk, old, new[p:]); n >= syncLen {
				pieces = append(pieces, piece{p, pos})
				break
			}
		}
	}
	if len(pieces) == 1 {
		return scan(old, new, sa, bk, 0)
	}

	parts := make([]script, len(pieces))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pieces)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(pieces); k = int(next.Add(1) - 1) {
				to := len(new)
				if k+1 < len(pieces) {
					to = pieces[k+1].from
				}
				parts[k] = scan(old, new[pieces[k].from:to], sa, bk, pieces[k].start)
			}
		})
	}
	wg.Wait()

	// Each piece's first seek is from position 0; make it from where the previous piece ended.
	var s script
	var ops, diff, extra int
	for _, p := range parts {
		ops, diff, extra = ops+len(p.ops), diff+len(p.diff), extra+len(p.extra)
	}
	s.ops, s.diff, s.extra = make([]op, 0, ops), make([]byte, 0, diff), make([]byte, 0, extra)
	pos := 0
	for _, p := range parts {
		p.ops[0].seek -= pos
		for _, o := range p.ops {
			pos += o.seek + o.add
		}
		s.ops = append(s.ops, p.ops...)
		s.diff = append(s.diff, p.diff...)
		s.extra = append(s.extra, p.extra...)
	}
	return s
}

// scan runs bsdiff 4.3's matching over new against old, whose suffix array is sa.
//
// For each position of new it finds the longest exact match in old (by binary search of the
// suffix array) and compares it with simply continuing at the previous offset ("oldscore"). A
// match that is no better than continuing, or better by more than 8 bytes, ends the current
// approximate match. The approximate match is then extended forwards from its start and
// backwards from the next match, each as far as at least half the bytes agree, and where the
// two extensions overlap the split point that keeps most agreeing bytes wins. What lies between
// is extra. The result is long "add" runs whose diff bytes are mostly zero, which is what makes
// bsdiff output compress so well.
//
// The first op reads old from start on (its seek is start), and new is assumed to line up with
// old from there until a match says otherwise.
func scan(old, new []byte, sa []int32, bk *buckets, start int) script {
	// Nearly all of new is usually diff bytes.
	s := script{diff: make([]byte, 0, len(new))}
	var (
		scan, length    int
		lastScan        int
		lastPos, lastOf = start, start
		pos             int
		seek            = start // old position change not yet put in an op
	)
	for scan < len(new) {
		oldScore := 0
		scan += length
		for scsc := scan; scan < len(new); scan++ {
			pos, length = search(sa, bk, old, new[scan:])
			for ; scsc < scan+length; scsc++ {
				if scsc+lastOf < len(old) && old[scsc+lastOf] == new[scsc] {
					oldScore++
				}
			}
			if (length == oldScore && length != 0) || length > oldScore+8 {
				break
			}
			if scan+lastOf < len(old) && old[scan+lastOf] == new[scan] {
				oldScore--
			}
		}
		if length == oldScore && scan != len(new) {
			continue
		}

		// Extend the previous match forwards while at least half the bytes agree.
		lenF := 0
		for i, sc, best := 0, 0, 0; lastScan+i < scan && lastPos+i < len(old); {
			if old[lastPos+i] == new[lastScan+i] {
				sc++
			}
			i++
			if sc*2-i > best*2-lenF {
				best, lenF = sc, i
			}
		}

		// Extend the new match backwards the same way.
		lenB := 0
		if scan < len(new) {
			for i, sc, best := 1, 0, 0; scan >= lastScan+i && pos >= i; i++ {
				if old[pos-i] == new[scan-i] {
					sc++
				}
				if sc*2-i > best*2-lenB {
					best, lenB = sc, i
				}
			}
		}

		// Where the extensions overlap, split where the most bytes agree.
		if lastScan+lenF > scan-lenB {
			overlap := (lastScan + lenF) - (scan - lenB)
			sc, best, lenS := 0, 0, 0
			for i := 0; i < overlap; i++ {
				if new[lastScan+lenF-overlap+i] == old[lastPos+lenF-overlap+i] {
					sc++
				}
				if new[scan-lenB+i] == old[pos-lenB+i] {
					sc--
				}
				if sc > best {
					best, lenS = sc, i+1
				}
			}
			lenF += lenS - overlap
			lenB -= lenS
		}

		for i := 0; i < lenF; i++ {
			s.diff = append(s.diff, new[lastScan+i]-old[lastPos+i])
		}
		nExtra := (scan - lenB) - (lastScan + lenF)
		s.extra = append(s.extra, new[lastScan+lenF:scan-lenB]...)
		// bsdiff emits ops that only seek (its first op usually does); fold those into the next.
		if lenF+nExtra > 0 {
			s.ops = append(s.ops, op{seek: seek, add: lenF, copy: nExtra})
			seek = 0
		}
		seek += (pos - lenB) - (lastPos + lenF)

		lastScan = scan - lenB
		lastPos = pos - lenB
		lastOf = pos - scan
	}
	return s
}

// buckets records where in the suffix array the suffixes starting with each pair of bytes
// are, so a search can skip the first ~16 steps of its binary search.
type buckets struct {
	first, count [1 << 16]int32
}

// newBuckets counts the two-byte prefixes of old's suffixes to find their ranges in the suffix
// array without reading it.
func newBuckets(old []byte) *buckets {
	bk := new(buckets)
	if len(old) < 2 {
		return bk
	}
	for i := 0; i+1 < len(old); i++ {
		bk.count[int(old[i])<<8|int(old[i+1])]++
	}
	// The one-byte suffix at the end sorts just before the suffixes that start with its byte.
	short := int(old[len(old)-1]) << 8
	var n int32
	for k := range bk.first {
		if k == short {
			n++
		}
		bk.first[k] = n
		n += bk.count[k]
	}
	return bk
}

// search returns the position and length of the longest match for the start of new among the
// suffixes of old, by binary search of old's suffix array sa.
func search(sa []int32, bk *buckets, old, new []byte) (pos, n int) {
	if len(sa) == 0 {
		return 0, 0
	}
	st, en := 0, len(sa)-1
	if len(new) >= 2 {
		k := int(new[0])<<8 | int(new[1])
		if c := int(bk.count[k]); c > 0 {
			st = int(bk.first[k])
			en = st + c - 1
		}
	}
	// ls and le are the common prefix lengths of new with the suffixes at st and en. Every
	// suffix sorted between them shares at least the smaller of the two with new, so the
	// comparisons can skip that much (Manber and Myers' refinement).
	ls := matchLen(old[sa[st]:], new)
	le := matchLen(old[sa[en]:], new)
	for en-st >= 2 {
		x := st + (en-st)/2
		p := int(sa[x])
		m := min(ls, le)
		m += matchLen(old[p+m:], new[m:])
		// Unlike bsdiff, count a suffix that is a proper prefix of new as smaller, or a longer
		// match right after it would be missed.
		if m < len(new) && (p+m == len(old) || old[p+m] < new[m]) {
			st, ls = x, m
		} else {
			en, le = x, m
		}
	}
	if ls > le {
		return int(sa[st]), ls
	}
	return int(sa[en]), le
}

// matchLen returns the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
