package staff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/argon2"
)

func TestParsePHC(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := bytes.Repeat([]byte{0xa5}, 32)
	enc := fmt.Sprintf("$argon2id$v=19$m=65536,t=2,p=4$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	p, gotSalt, gotKey, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC(%q): %v", enc, err)
	}
	if diff := cmp.Diff(Params{Memory: 65536, Time: 2, Threads: 4}, p); diff != "" {
		t.Errorf("params mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(gotSalt, salt) || !bytes.Equal(gotKey, key) {
		t.Errorf("parsePHC(%q) salt, key = %x, %x; want %x, %x", enc, gotSalt, gotKey, salt, key)
	}
}

func TestHasherWaitsForSlot(t *testing.T) {
	// With every slot taken, Hash and Verify give up when the context ends
	// rather than run one more argon2 (and allocate its memory).
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 1)
	enc, err := h.Hash(context.Background(), "the password")
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{}
	defer h.release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "the password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash with no free slot: %v, want context.DeadlineExceeded", err)
	}
	if ok, err := h.Verify(ctx, enc, "the password"); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify with no free slot = %t, %v; want false, context.DeadlineExceeded", ok, err)
	}
}

// FuzzVerifyPHC feeds arbitrary stored hashes to the parser and, when they
// are cheap enough to run, to Verify.
func FuzzVerifyPHC(f *testing.F) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 1)
	// A fixed salt: every fuzzing worker must agree on which hash is good.
	salt := []byte("a fixed salt....")
	good := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString(salt),
		b64.EncodeToString(argon2.IDKey([]byte("the password"), salt, 1, 64, 1, 32)))
	if ok, err := h.Verify(context.Background(), good, "the password"); err != nil || !ok {
		f.Fatalf("Verify(%q) = %t, %v", good, ok, err)
	}
	for _, s := range []string{
		good,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1junk$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=255$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$c2Fsd\nHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"", "$", "$$$$$",
	} {
		f.Add(s, "the password")
	}
	f.Fuzz(func(t *testing.T, enc, password string) {
		p, salt, key, err := parsePHC(enc)
		if err != nil {
			if salt != nil || key != nil {
				t.Fatalf("parsePHC(%q) returned salt or key with error %v", enc, err)
			}
			// Verify must fail the same way, before any hashing.
			if ok, verr := h.Verify(context.Background(), enc, password); ok || verr == nil {
				t.Fatalf("Verify(%q) = %t, %v after parse error %v", enc, ok, verr, err)
			}
			return
		}
		// What parses is in range …
		if p.Memory == 0 || p.Memory > 4*1024*1024 || p.Time == 0 || p.Time > 100 || p.Threads == 0 ||
			len(salt) < 8 || len(key) < 16 || len(key) > 64 {
			t.Fatalf("parsePHC(%q) accepted out-of-range values %+v, salt %d bytes, key %d bytes", enc, p, len(salt), len(key))
		}
		// … and well-formed: exactly the canonical encoding of its values,
		// so nothing but a PHC string we could have written is accepted.
		canon := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
			b64.EncodeToString(salt), b64.EncodeToString(key))
		if enc != canon {
			t.Fatalf("parsePHC accepted %q, which is not the canonical %q", enc, canon)
		}
		if p.Memory > 256 || p.Time > 2 || p.Threads > 4 {
			return // well-formed but too dear to run here
		}
		ok, err := h.Verify(context.Background(), enc, password)
		if err != nil {
			t.Fatalf("Verify(%q): %v", enc, err)
		}
		if ok && (enc != good || password != "the password") {
			t.Fatalf("Verify(%q, %q) = true", enc, password)
		}
		if enc == good && ok != (password == "the password") {
			t.Fatalf("Verify(good, %q) = %t", password, ok)
		}
	})
}
