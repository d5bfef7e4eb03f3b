package delta

import (
	"fmt"
	"math/bits"

	"github.com/klauspost/compress/zstd"
)

// dictID names the raw dictionary (the old file) inside this package only; raw-content
// dictionaries are not named in the frames, so the value never reaches a delta.
const dictID = 1

// windowFor returns the zstd window for compressing size bytes with a dictionary of dictSize
// bytes: the smallest power of two that covers both, within zstd's limits. Encoders and decoders derive
// it from the same sizes, so a decoder never accepts a window its encoder would not use.
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

// newEncoder returns a zstd encoder at the strongest level with a window for inputs of up to
// size bytes, using dict (if not empty) as raw-content dictionary.
func newEncoder(size int, dict []byte) (*zstd.Encoder, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(windowFor(len(dict), size)),
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

// compress returns src as one zstd frame, using dict (if not empty) as dictionary.
func compress(src, dict []byte) ([]byte, error) {
	e, err := newEncoder(len(src), dict)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.EncodeAll(src, nil), nil
}

// newDecoder returns a zstd decoder for frames of at most maxSize bytes made by an encoder from
// newEncoder with the same dict. Its limits keep hostile input from making it allocate more.
func newDecoder(maxSize int, dict []byte) (*zstd.Decoder, error) {
	opts := []zstd.DOption{
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(max(maxSize, 1))),
		zstd.WithDecoderMaxWindow(uint64(windowFor(len(dict), maxSize))),
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

func encodePatchFrom(old, new []byte) ([]byte, error) { return compress(new, old) }

func decodePatchFrom(old, body []byte, newSize int) ([]byte, error) {
	return decompress(body, newSize, old)
}

func encodeLiteral(_, new []byte) ([]byte, error) { return compress(new, nil) }

func decodeLiteral(_, body []byte, newSize int) ([]byte, error) {
	return decompress(body, newSize, nil)
}
