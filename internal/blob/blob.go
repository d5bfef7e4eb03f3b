// Package blob keeps content-addressed files (attachments, payloads) in a
// directory: each is stored once under its SHA-256, written to a temporary
// file, synced and renamed into place, so a crash never leaves a partial
// blob under a valid name.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/patchday/patchday"
)

// Store is a directory of blobs named by their SHA-256.
type Store struct {
	dir string
}

// Open returns the blob store in dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Ref names a stored blob.
type Ref struct {
	SHA256 string
	Size   int64
}

// ValidSum reports whether s is a lowercase hex SHA-256.
func ValidSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(sum string) string {
	return filepath.Join(s.dir, sum[:2], sum)
}

// Put stores everything read from r, at most limit bytes (limit <= 0: no
// limit), and returns its reference. It returns only once the blob is
// durable on disk. Storing the same content twice keeps one copy.
func (s *Store) Put(ctx context.Context, r io.Reader, limit int64) (Ref, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	defer tmp.Close()

	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	if limit > 0 && n > limit {
		return Ref{}, patchday.Errorf(patchday.ErrInvalid, "too large: the limit is %d bytes", limit)
	}
	if err := tmp.Sync(); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	ref := Ref{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	dst := s.path(ref.SHA256)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Ref{}, fmt.Errorf("store blob: %w", err)
	}
	return ref, nil
}

// Open returns a stored blob for reading; a missing one is ErrNotFound.
func (s *Store) Open(sum string) (*os.File, error) {
	if !ValidSum(sum) {
		return nil, patchday.Errorf(patchday.ErrInvalid, "%q is not a SHA-256 in lowercase hex", sum)
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, patchday.Errorf(patchday.ErrNotFound, "no blob %s", sum)
	}
	return f, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a long copy when its context ends.
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
