//go:build unix

package payload

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestBuildRefusesFIFO(t *testing.T) {
	src := tempDir(t)
	if err := syscall.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Skip(err)
	}
	_, err := Build(context.Background(), src, Meta{Product: "p", Version: "1", Restart: "none"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "pipe: a named pipe") {
		t.Errorf("err = %v, want one naming the pipe", err)
	}
}
