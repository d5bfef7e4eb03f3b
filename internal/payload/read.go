package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/patchday/patchday"
)

// Limits bound what reading a payload may cost. A zero field takes its
// default.
type Limits struct {
	MaxManifest int64 // bytes of manifest.json; default 16 MiB
	MaxEntries  int   // entries in the manifest; default 100,000
	MaxSize     int64 // bytes of all files together; default 2 GiB
}

// Defaults for Limits.
const (
	DefaultMaxManifest = 16 << 20
	DefaultMaxEntries  = 100_000
	DefaultMaxSize     = 2 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxManifest <= 0 {
		l.MaxManifest = DefaultMaxManifest
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	return l
}

// maxWindow bounds the zstd window a payload may ask for, and so the memory
// a decoder holds. Build's encoder uses 8 MiB.
const maxWindow = 32 << 20

// tarOverhead bounds the tar bytes around one entry: the header block, a
// PAX header with records for a long path, and padding. It lets the reader
// refuse a stream that decompresses to more than its manifest accounts for.
const tarOverhead = 16 << 10

// Reader reads a payload: its manifest first, then the files one by one,
// each checked against the manifest as it is read. Like tar.Reader, Next
// moves to the next file and Read reads its bytes.
type Reader struct {
	src   *srcReader
	zr    *zstd.Decoder
	lr    *budgetReader
	tr    *tar.Reader
	m     Manifest
	files []int // indexes in m.Entries of the files, in order
	next  int   // index in files of the next file to come

	cur  *Entry    // the file being read, or nil
	sum  hash.Hash // of cur's bytes so far
	err  error     // sticky: once wrong, always wrong
	done bool      // the end was reached and checked
}

// Open reads the payload in r up to and including its manifest, which it
// validates and checks against lim. The caller reads the files with Next
// and Read, and must Close the Reader.
func Open(r io.Reader, lim Limits) (*Reader, error) {
	lim = lim.withDefaults()
	src := &srcReader{r: r}
	zr, err := zstd.NewReader(src,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(maxWindow),
		zstd.WithDecoderMaxMemory(maxWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("open payload: %w", err)
	}
	lr := &budgetReader{r: zr, left: lim.MaxManifest + tarOverhead}
	pr := &Reader{src: src, zr: zr, lr: lr, tr: tar.NewReader(lr)}
	if err := pr.readManifest(lim); err != nil {
		zr.Close()
		return nil, err
	}
	return pr, nil
}

func (r *Reader) readManifest(lim Limits) error {
	hdr, err := r.tr.Next()
	if err != nil {
		return r.readError("read payload manifest", err)
	}
	switch {
	case hdr.Name != "manifest.json":
		return invalid("the first tar entry is %q, not manifest.json", hdr.Name)
	case hdr.Typeflag != tar.TypeReg:
		return invalid("manifest.json is not a regular file (tar type %q)", hdr.Typeflag)
	case hdr.Size > lim.MaxManifest:
		return invalid("manifest.json is %d bytes; the limit is %d", hdr.Size, lim.MaxManifest)
	}
	b, err := io.ReadAll(r.tr)
	if err != nil {
		return r.readError("read payload manifest", err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return err
	}
	if len(m.Entries) > lim.MaxEntries {
		return invalid("the manifest has %d entries; the limit is %d", len(m.Entries), lim.MaxEntries)
	}
	var total int64
	for i, e := range m.Entries {
		if e.Type != TypeFile {
			continue
		}
		if e.Size > lim.MaxSize-total {
			return invalid("the files add up to more than the limit of %d bytes (at %q)", lim.MaxSize, e.Path)
		}
		total += e.Size
		r.files = append(r.files, i)
	}
	r.m = m
	r.lr.left += total + int64(len(r.files)+1)*tarOverhead
	return nil
}

// Manifest returns the payload's manifest.
func (r *Reader) Manifest() Manifest { return r.m }

// Next skips the rest of the current file, checking it all the same, and
// returns the entry of the next file. At the end of the payload it checks
// that every file of the manifest came and nothing follows, and returns
// io.EOF. Any other error is final.
func (r *Reader) Next() (Entry, error) {
	if r.err != nil {
		return Entry{}, r.err
	}
	if r.done {
		return Entry{}, io.EOF
	}
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return Entry{}, err
		}
	}
	e, err := r.next1()
	if err != nil {
		if err != io.EOF {
			r.err = err
		}
		return Entry{}, err
	}
	return e, nil
}

func (r *Reader) next1() (Entry, error) {
	hdr, err := r.tr.Next()
	if err == io.EOF {
		if r.next < len(r.files) {
			return Entry{}, invalid("file %q of the manifest is missing", r.m.Entries[r.files[r.next]].Path)
		}
		// Reading to the end of the zstd stream also checks its checksum.
		n, err := io.Copy(io.Discard, r.lr)
		if err != nil {
			return Entry{}, r.readError("read payload", err)
		}
		if n > 0 {
			return Entry{}, invalid("%d bytes follow the end of the tar archive", n)
		}
		r.done = true
		return Entry{}, io.EOF
	}
	if err != nil {
		return Entry{}, r.readError("read payload", err)
	}
	if r.next == len(r.files) || hdr.Name != "files/"+r.m.Entries[r.files[r.next]].Path {
		return Entry{}, r.unexpected(hdr.Name)
	}
	e := r.m.Entries[r.files[r.next]]
	switch {
	case hdr.Typeflag != tar.TypeReg:
		return Entry{}, invalid("tar entry %q is not a regular file (tar type %q)", hdr.Name, hdr.Typeflag)
	case hdr.Size != e.Size:
		return Entry{}, invalid("file %q holds %d bytes; the manifest says %d", e.Path, hdr.Size, e.Size)
	}
	r.next++
	r.cur = &e
	r.sum = sha256.New()
	return e, nil
}

// unexpected explains why a tar entry named name is not the one expected.
func (r *Reader) unexpected(name string) error {
	want := "the end of the archive"
	if r.next < len(r.files) {
		want = fmt.Sprintf("%q", "files/"+r.m.Entries[r.files[r.next]].Path)
	}
	for i := range r.files {
		if name == "files/"+r.m.Entries[r.files[i]].Path {
			if i < r.next {
				return invalid("tar entry %q comes twice", name)
			}
			return invalid("tar entry %q is out of manifest order: %s comes first", name, want)
		}
	}
	return invalid("tar entry %q is not a file of the manifest (expected %s)", name, want)
}

// Read reads the current file's bytes. At the file's end, it returns io.EOF
// only if the bytes match the manifest's sha256.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.cur == nil {
		return 0, io.EOF
	}
	n, err := r.tr.Read(p)
	r.sum.Write(p[:n])
	switch {
	case err == io.EOF:
		if got := hex.EncodeToString(r.sum.Sum(nil)); got != r.cur.SHA256 {
			r.err = invalid("file %q: its sha256 is %s; the manifest says %s", r.cur.Path, got, r.cur.SHA256)
			return n, r.err
		}
		r.cur = nil
	case err != nil:
		r.err = r.readError(fmt.Sprintf("read file %q of payload", r.cur.Path), err)
		return n, r.err
	}
	return n, err
}

// Close releases the decoder. It does not close the underlying reader.
func (r *Reader) Close() error {
	r.zr.Close()
	if r.err == nil {
		r.err = errors.New("payload reader closed")
	}
	return nil
}

// ReadManifest reads only the manifest of the payload in r, for listing.
// The files are not read, so their bytes are not checked.
func ReadManifest(r io.Reader, lim Limits) (Manifest, error) {
	pr, err := Open(r, lim)
	if err != nil {
		return Manifest{}, err
	}
	defer pr.Close()
	return pr.Manifest(), nil
}

// ReadAll reads the whole payload in r into memory, checking every file, and
// returns the manifest and each file's bytes by path. lim.MaxSize bounds the
// memory it takes.
func ReadAll(ctx context.Context, r io.Reader, lim Limits) (Manifest, map[string][]byte, error) {
	pr, err := Open(ctxReader{ctx, r}, lim)
	if err != nil {
		return Manifest{}, nil, err
	}
	defer pr.Close()
	files := make(map[string][]byte, len(pr.files))
	for {
		e, err := pr.Next()
		if err == io.EOF {
			return pr.Manifest(), files, nil
		}
		if err != nil {
			return Manifest{}, nil, err
		}
		b, err := readBody(pr, e)
		if err != nil {
			return Manifest{}, nil, err
		}
		files[e.Path] = b
	}
}

// ReadFile returns the bytes of the file at path p in the payload in r,
// checked against the manifest. It reads no further than that file, so the
// rest of the payload is not checked. A path that is not a file of the
// manifest is an ErrNotFound error.
func ReadFile(ctx context.Context, r io.Reader, lim Limits, p string) ([]byte, error) {
	pr, err := Open(ctxReader{ctx, r}, lim)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	found := false
	for _, i := range pr.files {
		found = found || pr.m.Entries[i].Path == p
	}
	if !found {
		return nil, patchday.Errorf(patchday.ErrNotFound, "payload has no file %q", p)
	}
	for {
		e, err := pr.Next()
		if err != nil {
			return nil, err // io.EOF cannot come first: p is a file of the manifest
		}
		if e.Path != p {
			continue
		}
		return readBody(pr, e)
	}
}

// readBody reads the current file e of pr into memory. It allocates as the
// bytes come, at most maxPrealloc ahead: the size a manifest declares is
// not yet proven, and a tiny payload could otherwise claim gigabytes.
func readBody(pr *Reader, e Entry) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(e.Size, maxPrealloc)))
	if _, err := buf.ReadFrom(pr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const maxPrealloc = 1 << 20

// budgetReader fails once more than left bytes are read.
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, invalid("the payload decompresses to more than its manifest accounts for")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// invalid returns an ErrInvalid error about a payload's content.
func invalid(format string, args ...any) error {
	return patchday.Errorf(patchday.ErrInvalid, "invalid payload: "+format, args...)
}

// readError wraps an error met while reading. An error of the underlying
// reader (a cancelled context, a failing disk or network) passes through
// wrapped; any other means the payload is corrupt (ErrInvalid).
func (r *Reader) readError(op string, err error) error {
	var pe *patchday.Error
	switch {
	case r.src.err != nil && r.src.err != io.EOF:
		return fmt.Errorf("%s: %w", op, r.src.err)
	case errors.As(err, &pe):
		return err
	case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("%s: truncated", op)
	}
	return &patchday.Error{Kind: patchday.ErrInvalid, Message: fmt.Sprintf("invalid payload: %s: %v", op, err)}
}

// srcReader remembers the first error of the reader a payload comes from,
// to tell a failure to read from a corrupt payload.
type srcReader struct {
	r   io.Reader
	err error
}

func (s *srcReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}
