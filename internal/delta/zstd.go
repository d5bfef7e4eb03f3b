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

// maxPooledWindowLog is log2 of the largest window for which encoders are reused. An encoder
// at the best level allocates 34 MiB of match tables whatever its input (twice that with a
// dictionary), which Go has to zero: that would dominate compressing small inputs. For larger
// windows the compression work dwarfs it.
const maxPooledWindowLog = 20

// encoderPools holds idle encoders by whether they have a dictionary and log2 of their window
// (which cannot change). An idle encoder keeps a reference to its last dictionary.
var encoderPools [2][maxPooledWindowLog + 1]sync.Pool

// getEncoder returns a zstd encoder at the strongest level with the given window, using dict
// (if not empty) as raw-content dictionary, and the function that releases it.
func getEncoder(window int, dict []byte) (*zstd.Encoder, func(), error) {
	if window > 1<<maxPooledWindowLog {
		e, err := newEncoder(window, dict)
		if err != nil {
			return nil, nil, err
		}
		return e, func() { e.Close() }, nil
	}
	hasDict := 0
	if len(dict) > 0 {
		hasDict = 1
	}
	pool := &encoderPools[hasDict][bits.Len(uint(window))-1]
	e, _ := pool.Get().(*zstd.Encoder)
	var err error
	switch {
	case e == nil:
		e, err = newEncoder(window, dict)
	case len(dict) > 0:
		err = e.ResetWithOptions(nil, zstd.WithEncoderDictRaw(dictID, dict))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return e, func() { pool.Put(e) }, nil
}

// newEncoder returns a new encoder for getEncoder.
func newEncoder(window int, dict []byte) (*zstd.Encoder, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(window),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // Apply checks SHA-256 of the result instead
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

// compress returns each of srcs as one zstd frame at the strongest level without dictionary,
// or nothing for an empty one. They share one encoder, as its match tables are large.
func compress(srcs ...[]byte) ([][]byte, error) {
	maxLen := 0
	for _, src := range srcs {
		maxLen = max(maxLen, len(src))
	}
	out := make([][]byte, len(srcs))
	if maxLen == 0 {
		return out, nil
	}
	e, release, err := getEncoder(windowFor(0, maxLen), nil)
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

// dictCompressor compresses with a fixed raw-content dictionary. Preparing a dictionary costs
// about as much as compressing a small file (the encoder hashes all of it and copies its
// tables), so a Diff prepares old once for all its encoders. Concurrent uses take turns.
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
	c.once.Do(func() { c.enc, c.release, c.err = getEncoder(windowFor(len(c.dict), c.maxSize), c.dict) })
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
