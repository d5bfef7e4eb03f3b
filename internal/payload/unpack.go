package payload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Unpack extracts the payload in r into the directory dest, which must not
// exist or be empty; its parent must exist. It returns the manifest.
//
// Everything is checked before dest changes: the payload is unpacked into a
// new directory beside dest, and renamed to dest only once every file has
// been read and matches the manifest (size and sha256), nothing but the
// manifest's files came, none is missing, and the limits held. On error,
// dest is as it was and the temporary directory is gone.
//
// Files and directories get exactly the manifest's modes (set after
// creation, so the umask does not change them), including setuid, setgid
// and sticky bits; symbolic links get their targets. The unpacking user owns
// everything; dest itself gets mode 0755. Files and directories are synced
// before the rename, so a crash leaves either no dest or a complete one.
// Nothing is ever written through a symbolic link: links are created last,
// and the manifest's rules put no entry below one.
func Unpack(ctx context.Context, r io.Reader, dest string, lim Limits) (Manifest, error) {
	dest = filepath.Clean(dest)
	m, err := unpack(ctx, r, dest, lim)
	if err != nil {
		return Manifest{}, fmt.Errorf("unpack payload to %s: %w", dest, err)
	}
	return m, nil
}

func unpack(ctx context.Context, r io.Reader, dest string, lim Limits) (Manifest, error) {
	if err := checkDest(dest); err != nil {
		return Manifest{}, err
	}
	pr, err := Open(ctxReader{ctx, r}, lim)
	if err != nil {
		return Manifest{}, err
	}
	defer pr.Close()
	m := pr.Manifest()
	for i, e := range m.Entries {
		if !localPath(e.Path) {
			return Manifest{}, invalid("entries[%d].path: %q cannot be created on %s", i, e.Path, runtime.GOOS)
		}
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".unpack-*")
	if err != nil {
		return Manifest{}, err
	}
	done := false
	defer func() {
		if !done {
			removeTree(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return Manifest{}, err
	}
	defer root.Close()

	// Directories stay 0700 until everything is in them, so that a
	// read-only directory can still be filled.
	for _, e := range m.Entries {
		if e.Type == TypeDir {
			if err := root.Mkdir(e.Path, 0o700); err != nil {
				return Manifest{}, err
			}
		}
	}
	for {
		e, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Manifest{}, err
		}
		if err := writeFile(root, pr, e); err != nil {
			return Manifest{}, err
		}
	}
	for _, e := range m.Entries {
		if e.Type == TypeSymlink {
			if err := root.Symlink(e.Target, e.Path); err != nil {
				return Manifest{}, err
			}
		}
	}
	// Children before parents: reverse byte order puts "a/b" before "a".
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if e := m.Entries[i]; e.Type == TypeDir {
			if err := finishDir(root, e.Path, FileMode(e.Mode)); err != nil {
				return Manifest{}, err
			}
		}
	}
	if err := finishDir(root, ".", 0o755); err != nil {
		return Manifest{}, err
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		// os.Rename does not replace a directory: remove dest if it is
		// (still) an empty directory, and try again.
		if fi, lerr := os.Lstat(dest); lerr == nil && fi.IsDir() && os.Remove(dest) == nil {
			err = os.Rename(tmp, dest)
		}
		if err != nil {
			return Manifest{}, err
		}
	}
	done = true
	// The rename is durable once the parent is synced; if that fails the
	// tree is complete all the same, so the error is not reported.
	if d, err := os.Open(filepath.Dir(dest)); err == nil {
		syncDir(d)
		d.Close()
	}
	return m, nil
}

// checkDest refuses a dest that exists and is not an empty directory.
func checkDest(dest string) error {
	fi, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dest)
	}
	d, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer d.Close()
	if names, _ := d.Readdirnames(1); len(names) > 0 {
		return fmt.Errorf("%s is not empty", dest)
	}
	return nil
}

// localPath reports whether the manifest path p names a file below the
// install root on this system. The manifest's rules already exclude
// absolute paths and ".."; on Windows, "\" and ":" would be separators or
// stream names, and names like NUL are devices.
func localPath(p string) bool {
	if runtime.GOOS == "windows" && strings.ContainsAny(p, `\:`) {
		return false
	}
	return filepath.IsLocal(filepath.FromSlash(p))
}

// writeFile creates file e in root with the bytes pr reads for it.
func writeFile(root *os.Root, pr *Reader, e Entry) error {
	f, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, pr); err != nil {
		return err
	}
	// After writing: a write by a non-root user clears setuid and setgid.
	if err := f.Chmod(FileMode(e.Mode)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// finishDir syncs directory p of root and gives it its mode.
func finishDir(root *os.Root, p string, mode fs.FileMode) error {
	d, err := root.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := syncDir(d); err != nil {
		return err
	}
	return d.Chmod(mode)
}

// syncDir makes a directory's entries durable, where the system can.
func syncDir(d *os.File) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there
	}
	return d.Sync()
}

// removeTree removes dir and everything in it, making directories writable
// first so that read-only ones can be emptied.
func removeTree(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
