package secret_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/secret"
	"github.com/patchday/patchday/internal/staff"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{staff.TokenPrefix, staff.SessionPrefix} {
		for range 100 {
			sec, hash := secret.New(prefix)
			rest, ok := strings.CutPrefix(sec, prefix)
			if !ok || len(rest) != 43 {
				t.Fatalf("New(%q) = %q, want the prefix and 43 base64url characters", prefix, sec)
			}
			if b, err := base64.RawURLEncoding.DecodeString(rest); err != nil || len(b) != 32 {
				t.Fatalf("New(%q) = %q: %d bytes, %v; want 32 random bytes", prefix, sec, len(b), err)
			}
			if seen[sec] {
				t.Fatalf("New(%q) returned %q twice", prefix, sec)
			}
			seen[sec] = true
			if hash != secret.Hash(sec) {
				t.Fatalf("New hash %q != Hash(sec) %q", hash, secret.Hash(sec))
			}
			got, err := secret.Parse(prefix, sec)
			if err != nil || got != hash {
				t.Fatalf("Parse(%q, NewSecret) = %q, %v; want %q", prefix, got, err, hash)
			}
		}
	}
}

func TestHash(t *testing.T) {
	sum := sha256.Sum256([]byte("pdt_example"))
	if got, want := secret.Hash("pdt_example"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("HashSecret = %q, want hex SHA-256 %q", got, want)
	}
	if secret.Hash("pdt_a") == secret.Hash("pdt_b") {
		t.Error("HashSecret gives two secrets one hash")
	}
}

func TestParseRejects(t *testing.T) {
	token, _ := secret.New(staff.TokenPrefix)
	session, _ := secret.New(staff.SessionPrefix)
	rest := strings.TrimPrefix(token, staff.TokenPrefix)
	tests := []struct {
		name    string
		prefix  string
		in      string
		wantErr string
	}{
		{"empty", staff.TokenPrefix, "", `starting with "pdt_"`},
		{"session as token", staff.TokenPrefix, session, `starting with "pdt_"`},
		{"token as session", staff.SessionPrefix, token, `starting with "pds_"`},
		{"no prefix", staff.TokenPrefix, rest, `starting with "pdt_"`},
		{"upper-case prefix", staff.TokenPrefix, "PDT_" + rest, `starting with "pdt_"`},
		{"bearer scheme left on", staff.TokenPrefix, "Bearer " + token, `starting with "pdt_"`},
		{"prefix only", staff.TokenPrefix, staff.TokenPrefix, "43 base64url characters"},
		{"one short", staff.TokenPrefix, token[:len(token)-1], "43 base64url characters"},
		{"one long", staff.TokenPrefix, token + "A", "43 base64url characters"},
		{"four long", staff.TokenPrefix, token + "AAAA", "43 base64url characters"},
		{"std base64", staff.TokenPrefix, staff.TokenPrefix + "+" + rest[1:], "43 base64url characters"},
		{"padded", staff.TokenPrefix, staff.TokenPrefix + rest[:42] + "=", "43 base64url characters"},
		{"not base64", staff.TokenPrefix, staff.TokenPrefix + strings.Repeat("!", 43), "43 base64url characters"},
		{"space", staff.TokenPrefix, token + " ", "43 base64url characters"},
	}
	for _, tt := range tests {
		hash, err := secret.Parse(tt.prefix, tt.in)
		if !errors.Is(err, patchday.ErrUnauthenticated) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Parse(%q, %q) = %q, %v; want ErrUnauthenticated containing %q", tt.name, tt.prefix, tt.in, hash, err, tt.wantErr)
		}
		if hash != "" {
			t.Errorf("%s: ParseSecret returned hash %q with an error", tt.name, hash)
		}
	}
}

func FuzzParse(f *testing.F) {
	token, _ := secret.New(staff.TokenPrefix)
	session, _ := secret.New(staff.SessionPrefix)
	for _, s := range []string{token, session, "", "pdt_", "pdt_" + strings.Repeat("A", 43), "pdt_" + strings.Repeat("_", 43),
		token + "=", token[:len(token)-1], "pdt_" + strings.Repeat("A", 42) + "\nA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, prefix := range []string{staff.TokenPrefix, staff.SessionPrefix} {
			hash, err := secret.Parse(prefix, s)
			if err != nil {
				if !errors.Is(err, patchday.ErrUnauthenticated) || hash != "" {
					t.Fatalf("Parse(%q, %q) = %q, %v; want \"\", ErrUnauthenticated", prefix, s, hash, err)
				}
				if strings.Contains(err.Error(), s[min(len(s), len(prefix)):]) && len(s) > len(prefix)+8 {
					t.Fatalf("Parse(%q, %q) error %q repeats the secret", prefix, s, err)
				}
				continue
			}
			// Accepted: the prefix, then 32 bytes in base64url (the
			// decoder skips CR and LF, which cannot reach it in a header
			// or cookie), and the hash is the stored form of s.
			rest, ok := strings.CutPrefix(s, prefix)
			if !ok {
				t.Fatalf("Parse(%q, %q) accepted a secret without the prefix", prefix, s)
			}
			b, derr := base64.RawURLEncoding.DecodeString(rest)
			if derr != nil || len(b) != 32 || len(strings.NewReplacer("\r", "", "\n", "").Replace(rest)) != 43 {
				t.Fatalf("Parse(%q, %q) accepted %d bytes, %v", prefix, s, len(b), derr)
			}
			if hash != secret.Hash(s) {
				t.Fatalf("Parse(%q, %q) = %q, want HashSecret %q", prefix, s, hash, secret.Hash(s))
			}
		}
	})
}
