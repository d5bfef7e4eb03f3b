package delta

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// dictID is the id of the raw dictionary (the old file). Zero is not written to frames and is
// what zstd --patch-from uses too.
const dictID = 0

// windowFor returns the zstd window for compressing size bytes with a dictionary of dictSize
// bytes: the smallest power of two that covers both, within zstd's limits. Decoders derive their
// limit from the same sizes.
func windowFor(dictSize, size int) int {
	n := uint64(dictSize) + uint64(size)
	switch {
	case n <= zstd.MinWindowSize:
		return zstd.MinWindowSize
	case n >= zstd.MaxWindowSize:
		return zstd.MaxWindowSize
	}
	return 1 << bits.Len64(n-1)
}

// maxPooledWindow is the largest window for which encoders are reused. An encoder allocates
// match tables of a size fixed by its level whatever its input (see levelFor): that would
// dominate compressing small inputs. For larger windows the compression work dwarfs it.
//
// Pooled encoders all have this window: for an input (and dictionary) that fits a smaller
// window, a larger one changes neither the frame (its header states the content size, not the
// window; see newEncoder) nor the matches (none can reach further back than the input and
// dictionary go), so the output is the same, and one pool per level holds no more encoders
// than run at once.
const maxPooledWindow = 1 << 20

// encoderPools holds idle encoders by level and whether they have a dictionary. An idle
// encoder keeps a reference to its last dictionary.
var encoderPools [zstd.SpeedBestCompression + 1][2]sync.Pool

// getEncoder returns a zstd encoder at the given level with (at least) the given window, using
// dict (if not empty) as raw-content dictionary, and the function that releases it.
func getEncoder(level zstd.EncoderLevel, window int, dict []byte) (*zstd.Encoder, func(), error) {
	if window > maxPooledWindow {
		e, err := newEncoder(level, window, dict)
		if err != nil {
			return nil, nil, err
		}
		return e, func() { e.Close() }, nil
	}
	hasDict := 0
	if len(dict) > 0 {
		hasDict = 1
	}
	pool := &encoderPools[level][hasDict]
	e, _ := pool.Get().(*zstd.Encoder)
	var err error
	switch {
	case e == nil:
		e, err = newEncoder(level, maxPooledWindow, dict)
	case len(dict) > 0:
		err = e.ResetWithOptions(nil, zstd.WithEncoderDictRaw(dictID, dict))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return e, func() { pool.Put(e) }, nil
}

// newEncoder returns a new encoder for getEncoder.
func newEncoder(level zstd.EncoderLevel, window int, dict []byte) (*zstd.Encoder, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(level),
		zstd.WithWindowSize(window),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // Apply checks SHA-256 of the result instead
		// Always state the content size instead of a window. The encoder does so anyway for
		// inputs above 1 KiB; for smaller ones it would write a window that depends on its
		// own, and a pooled encoder's is larger than the input needs.
		zstd.WithSingleSegment(true),
	}
	if len(dict) > 0 {
		opts = append(opts, zstd.WithEncoderDictRaw(dictID, dict))
	}
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return e, nil
}

// levelFor returns the zstd level for compressing n bytes of input and dictionary together
// where the compressed size matters (the suffix-array sections, the strong trials).
//
// An encoder's match tables do not depend on its input: 1 MiB at the default level, 4 MiB at
// the second strongest, 34 MiB at the strongest (68 MiB with a dictionary, which it also
// clears and copies at every use). A fresh encoder's tables are new memory that has to be
// faulted in, which on small inputs takes longer than compressing them, and they were most of a
// delta build's peak memory when every file used the strongest level. The sizes they buy:
//
//   - below 64 KiB (small files, compressed changelogs, the sections of tiny deltas) the
//     default level makes the same sizes within a few dozen bytes; using it instead of the
//     second strongest for the changelogs cut the delta build of libcurl4 by a fifth;
//   - the strongest level makes the sections of a suffix-array body 2-4% smaller than the
//     second strongest. That is worth its tables above 256 KiB (libcrypto.so.3: 450 KB of
//     sections, 6 KB saved in a Diff of half a second), not below (the other executables of
//     the corpus: 1-2 KB saved on 36-52 KB, in Diffs of 45-105 ms);
//   - with a dictionary, the strongest level saved under 1% where the test corpus uses one
//     (1.6 KB on a 250 KB changelog.gz, for some 100 MB more memory).
func levelFor(n int, dict bool) zstd.EncoderLevel {
	switch {
	case n < 64<<10:
		return zstd.SpeedDefault
	case dict || n < 256<<10:
		return zstd.SpeedBetterCompression
	}
	return zstd.SpeedBestCompression
}

// compress returns each of srcs as one zstd frame without dictionary, at the level levelFor
// picks for their total size, or nothing for an empty one. They share one encoder, as its
// match tables are large.
func compress(srcs ...[]byte) ([][]byte, error) {
	total, maxLen := 0, 0
	for _, src := range srcs {
		total += len(src)
		maxLen = max(maxLen, len(src))
	}
	out := make([][]byte, len(srcs))
	if maxLen == 0 {
		return out, nil
	}
	e, release, err := getEncoder(levelFor(total, false), windowFor(0, maxLen), nil)
	if err != nil {
		return nil, err
	}
	defer release()
	for i, src := range srcs {
		if len(src) > 0 {
			out[i] = e.EncodeAll(src, nil)
		}
	}
	return out, nil
}

// dictCompressor compresses with a fixed raw-content dictionary, at the level levelFor picks
// for the dictionary and the largest input together. Preparing a dictionary costs about as
// much as compressing a small file (the encoder hashes all of it and copies its tables), so a
// Diff prepares old once for all its encoders. Concurrent uses take turns.
type dictCompressor struct {
	dict    []byte
	maxSize int

	once    sync.Once // creates enc on first use
	enc     *zstd.Encoder
	release func()
	err     error
}

// newDictCompressor returns a compressor with dict as dictionary for inputs of up to maxSize
// bytes.
func newDictCompressor(dict []byte, maxSize int) *dictCompressor {
	return &dictCompressor{dict: dict, maxSize: maxSize}
}

// compress returns src as one zstd frame with the dictionary, or nothing if src is empty.
func (c *dictCompressor) compress(src []byte) ([]byte, error) {
	if len(c.dict) == 0 {
		out, err := compress(src) // the format defines an empty dictionary as none
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	if len(src) == 0 {
		return nil, nil
	}
	if len(src) > c.maxSize {
		return nil, fmt.Errorf("zstd: %d bytes exceed the planned %d", len(src), c.maxSize)
	}
	c.once.Do(func() {
		level := levelFor(len(c.dict)+c.maxSize, true)
		c.enc, c.release, c.err = getEncoder(level, windowFor(len(c.dict), c.maxSize), c.dict)
	})
	if c.err != nil {
		return nil, c.err
	}
	return c.enc.EncodeAll(src, nil), nil
}

// close releases the encoder.
func (c *dictCompressor) close() {
	if c.release != nil {
		c.release()
	}
}

// newDecoder returns a zstd decoder for frames of at most maxSize bytes made with the same
// dict (if not empty) as raw-content dictionary. Its limits keep hostile input from making it allocate more.
func newDecoder(maxSize int, dict []byte) (*zstd.Decoder, error) {
	// The memory limit also caps the window, so it cannot be below it; what a single
	// DecodeAll may produce is capped by its destination's capacity instead.
	window := uint64(windowFor(len(dict), maxSize))
	opts := []zstd.DOption{
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(window),
		zstd.WithDecoderMaxWindow(window),
		zstd.WithDecodeAllCapLimit(true),
	}
	if len(dict) > 0 {
		opts = append(opts, zstd.WithDecoderDictRaw(dictID, dict))
	}
	d, err := zstd.NewReader(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return d, nil
}

// decodeExact decompresses src, which must hold exactly size bytes; an empty src stands for
// zero bytes. It allocates size bytes at most.
func decodeExact(d *zstd.Decoder, src []byte, size int) ([]byte, error) {
	if size == 0 || len(src) == 0 {
		if size != 0 || len(src) != 0 {
			return nil, fmt.Errorf("%w: %d compressed bytes for %d bytes", ErrCorrupt, len(src), size)
		}
		return nil, nil
	}
	// Check the size the frame declares before allocating for it.
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	if h.Skippable || h.HasFCS && h.FrameContentSize != uint64(size) {
		return nil, fmt.Errorf("%w: zstd frame does not hold %d bytes", ErrCorrupt, size)
	}
	out, err := d.DecodeAll(src, make([]byte, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("%w: zstd frame holds %d bytes, want %d", ErrCorrupt, len(out), size)
	}
	return out, nil
}

// decompress decodes a body that is one zstd frame of size bytes with the given dictionary.
func decompress(src []byte, size int, dict []byte) ([]byte, error) {
	d, err := newDecoder(size, dict)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return decodeExact(d, src, size)
}

func encodePatchFrom(j *job) ([]byte, error) { return j.withOld.compress(j.new) }

func decodePatchFrom(old, body []byte, newSize int) ([]byte, error) {
	return decompress(body, newSize, old)
}

func encodeLiteral(j *job) ([]byte, error) {
	out, err := compress(j.new)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func decodeLiteral(_, body []byte, newSize int) ([]byte, error) {
	return decompress(body, newSize, nil)
}

// encodeLiteralFast is the literal encoder at zstd's fastest level: a bound on what any delta
// needs, at a small fraction of the cost of the other encoders.
//
// Its window is at most maxPooledWindow, whatever the size of new. The fastest level finds its
// matches in a table of recent positions, so a larger window made no difference to the sizes
// on the test corpus, but the encoder keeps a history as large as its window.
func encodeLiteralFast(j *job) ([]byte, error) {
	if len(j.new) == 0 {
		return nil, nil
	}
	e, release, err := getEncoder(zstd.SpeedFastest, min(windowFor(0, len(j.new)), maxPooledWindow), nil)
	if err != nil {
		return nil, err
	}
	defer release()
	return e.EncodeAll(j.new, nil), nil
}
