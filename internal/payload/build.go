package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/patchday/patchday"
)

// Built describes a payload Build wrote.
type Built struct {
	Manifest Manifest
	SHA256   string // of the packed bytes, lowercase hex: the payload's name
	Size     int64  // of the packed bytes
}

// epoch is the modification time of every tar entry, so that the bytes do
// not depend on when or from which checkout a payload is built.
var epoch = time.Unix(0, 0)

// Build packs the tree in dir with meta into a payload written to w. It
// walks dir without following symbolic links and refuses anything but
// regular files, directories and symbolic links. The same tree and meta
// always give the same bytes. Each file is read twice (once to hash it for
// the manifest, which comes first, once to pack it); a file that changes in
// between is an error. On error, what was written to w is not a payload.
func Build(ctx context.Context, dir string, meta Meta, w io.Writer) (Built, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Built{}, fmt.Errorf("build payload: %w", err)
	}
	defer root.Close()
	entries, err := scan(ctx, root)
	if err != nil {
		return Built{}, fmt.Errorf("build payload from %s: %w", dir, err)
	}
	m := Manifest{
		Format:  Format,
		Product: meta.Product,
		Version: meta.Version,
		Restart: meta.Restart,
		Pre:     slices.Clone(meta.Pre),
		Post:    slices.Clone(meta.Post),
		Entries: entries,
	}
	m.normalize()
	js, err := m.Encode()
	if err != nil {
		return Built{}, fmt.Errorf("build payload from %s: %w", dir, err)
	}

	sum := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, sum)}
	// One encoder goroutine: the output does not depend on the number of
	// CPUs, and Build owns no goroutine once it returns.
	zw, err := zstd.NewWriter(cw,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(1),
	)
	if err != nil {
		return Built{}, fmt.Errorf("build payload: %w", err)
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	if err := writeHeader(tw, "manifest.json", 0o644, int64(len(js))); err != nil {
		return Built{}, err
	}
	if _, err := tw.Write(js); err != nil {
		return Built{}, fmt.Errorf("build payload: %w", err)
	}
	for _, e := range m.Entries {
		if e.Type != TypeFile {
			continue
		}
		if err := ctx.Err(); err != nil {
			return Built{}, fmt.Errorf("build payload: %w", err)
		}
		if err := writeHeader(tw, "files/"+e.Path, int64(e.Mode), e.Size); err != nil {
			return Built{}, err
		}
		if err := packFile(root, tw, e); err != nil {
			return Built{}, fmt.Errorf("build payload from %s: %w", dir, err)
		}
	}
	if err := tw.Close(); err != nil {
		return Built{}, fmt.Errorf("build payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Built{}, fmt.Errorf("build payload: %w", err)
	}
	return Built{Manifest: m, SHA256: hex.EncodeToString(sum.Sum(nil)), Size: cw.n}, nil
}

func writeHeader(tw *tar.Writer, name string, mode, size int64) error {
	err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	})
	if err != nil {
		return fmt.Errorf("build payload: %s: %w", name, err)
	}
	return nil
}

// scan walks the tree under root and returns its entries sorted by path,
// with each file's size and sha256.
func scan(ctx context.Context, root *os.Root) ([]Entry, error) {
	var entries []Entry
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Path: p, Mode: unixMode(info.Mode())}
		switch info.Mode().Type() {
		case fs.ModeDir:
			e.Type = TypeDir
		case fs.ModeSymlink:
			e.Type, e.Mode = TypeSymlink, 0
			if e.Target, err = root.Readlink(p); err != nil {
				return err
			}
		case 0:
			e.Type = TypeFile
			if e.Size, e.SHA256, err = hashFile(root, p, info); err != nil {
				return err
			}
		default:
			return patchday.Errorf(patchday.ErrInvalid, "%s: %s; a payload holds only files, directories and symbolic links", p, kind(info.Mode()))
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir sorts each directory's names, but "a-b" sorts before "a/b"
	// as a whole path: the manifest's order is the paths' byte order.
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return entries, nil
}

// kind names a file type that a payload cannot hold.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "an irregular file"
}

// openFile opens the regular file p that a walk saw as info, refusing it if
// it has been replaced since.
func openFile(root *os.Root, p string, info fs.FileInfo) (*os.File, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, err
	}
	now, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !now.Mode().IsRegular() || (info != nil && !os.SameFile(info, now)) {
		f.Close()
		return nil, fmt.Errorf("%s: replaced while the payload was built", p)
	}
	return f, nil
}

func hashFile(root *os.Root, p string, info fs.FileInfo) (int64, string, error) {
	f, err := openFile(root, p, info)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// packFile copies file e from root to tw, checking it still has the size
// and sha256 the manifest says.
func packFile(root *os.Root, tw *tar.Writer, e Entry) error {
	f, err := openFile(root, e.Path, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	changed := fmt.Errorf("%s: changed while the payload was built", e.Path)
	if _, err := io.CopyN(io.MultiWriter(tw, h), f, e.Size); err == io.EOF {
		return changed
	} else if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 || !bytes.Equal(h.Sum(nil), mustHex(e.SHA256)) {
		return changed
	}
	return nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
