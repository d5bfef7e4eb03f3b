package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/blob"
)

func TestPutOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	content := []byte("proof of concept\x00\xff")
	sum := sha256.Sum256(content)
	want := blob.Ref{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}

	for range 2 { // the same content twice is stored once
		got, err := s.Put(ctx, bytes.NewReader(content), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Put = %+v, want %+v", got, want)
		}
	}
	f, err := s.Open(want.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if !bytes.Equal(b, content) {
		t.Errorf("read back %q, want %q", b, content)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("%d temporary files left behind", len(tmp))
	}
}

func TestPutLimit(t *testing.T) {
	dir := t.TempDir()
	s, _ := blob.Open(dir)
	_, err := s.Put(context.Background(), strings.NewReader("12345"), 4)
	if !errors.Is(err, patchday.ErrInvalid) {
		t.Fatalf("Put over the limit: %v, want ErrInvalid", err)
	}
	if _, err := s.Put(context.Background(), strings.NewReader("1234"), 4); err != nil {
		t.Fatalf("Put at the limit: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(entries) != 0 {
		t.Errorf("refused blob left %d temporary files", len(entries))
	}
}

func TestOpenBadOrMissing(t *testing.T) {
	s, _ := blob.Open(t.TempDir())
	tests := []struct {
		sum  string
		kind error
	}{
		{"../../etc/passwd", patchday.ErrInvalid},
		{strings.Repeat("A", 64), patchday.ErrInvalid},
		{strings.Repeat("a", 64), patchday.ErrNotFound},
	}
	for _, tt := range tests {
		if _, err := s.Open(tt.sum); !errors.Is(err, tt.kind) {
			t.Errorf("Open(%q) = %v, want %v", tt.sum, err, tt.kind)
		}
	}
}

func TestPutCancelled(t *testing.T) {
	s, _ := blob.Open(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, strings.NewReader("x"), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled", err)
	}
}
