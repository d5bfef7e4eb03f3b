package fstree

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCopy: files keep their bits, links stay links, and an existing
// directory is merged into.
func TestCopy(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "usr", "bin"), 0o755))
	must(os.WriteFile(filepath.Join(src, "usr", "bin", "tool"), []byte("#!/bin/sh\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, "usr", "data"), []byte("data"), 0o600))
	must(os.Symlink("bin/tool", filepath.Join(src, "usr", "link")))
	must(os.MkdirAll(filepath.Join(dst, "usr"), 0o755))
	must(os.WriteFile(filepath.Join(dst, "usr", "kept"), []byte("kept"), 0o644))

	must(Copy(src, dst))

	for name, mode := range map[string]os.FileMode{"usr/bin/tool": 0o755, "usr/data": 0o600, "usr/kept": 0o644} {
		fi, err := os.Lstat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "usr", "link")); err != nil || target != "bin/tool" {
		t.Errorf("link: %q, %v; want bin/tool", target, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "usr", "data")); string(b) != "data" {
		t.Errorf("data: %q", b)
	}
	if err := Copy(filepath.Join(src, "missing"), dst); err == nil {
		t.Error("copying a missing tree: no error")
	}
}
