package staff_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/staff"
)

// testParams keep argon2 cheap enough for -race; the cost is not under test.
var testParams = staff.Params{Memory: 64, Time: 1, Threads: 1}

func mustHash(t *testing.T, h *staff.Hasher, password string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestHasherRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := staff.NewHasher(testParams, 2)
	for _, pw := range []string{"correct horse battery staple", "", "ünïcödé pässwörd ✓", strings.Repeat("x", 1024)} {
		enc := mustHash(t, h, pw)
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Errorf("Hash(%q) = %q, want an argon2id PHC string with the hasher's params", pw, enc)
		}
		if ok, err := h.Verify(ctx, enc, pw); err != nil || !ok {
			t.Errorf("Verify(Hash(%q), %q) = %t, %v; want true", pw, pw, ok, err)
		}
		if ok, err := h.Verify(ctx, enc, pw+"!"); err != nil || ok {
			t.Errorf("Verify(Hash(%q), %q) = %t, %v; want false", pw, pw+"!", ok, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	h := staff.NewHasher(testParams, 1)
	a, b := mustHash(t, h, "same password here"), mustHash(t, h, "same password here")
	if a == b {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", a)
	}
}

func TestVerifyUsesStoredParams(t *testing.T) {
	// A hash made under other (e.g. older, cheaper or dearer) params keeps
	// verifying after the server's params change.
	ctx := context.Background()
	old := staff.NewHasher(staff.Params{Memory: 128, Time: 2, Threads: 2}, 1)
	enc := mustHash(t, old, "an older password")
	if !strings.Contains(enc, "$m=128,t=2,p=2$") {
		t.Fatalf("Hash = %q, want m=128,t=2,p=2", enc)
	}
	h := staff.NewHasher(testParams, 1)
	if ok, err := h.Verify(ctx, enc, "an older password"); err != nil || !ok {
		t.Errorf("Verify with other params = %t, %v; want true", ok, err)
	}
	if ok, err := h.Verify(ctx, enc, "another password"); err != nil || ok {
		t.Errorf("Verify wrong password with other params = %t, %v; want false", ok, err)
	}
}

func TestVerifyRejectsTamperedHash(t *testing.T) {
	h := staff.NewHasher(testParams, 1)
	good := mustHash(t, h, "the password")
	parts := strings.Split(good, "$") // "", alg, version, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct {
		name    string
		encoded string
		wantErr string
	}{
		{"empty", "", "not an argon2id PHC string"},
		{"argon2i", with(1, "argon2i"), "not an argon2id PHC string"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "not an argon2id PHC string"},
		{"missing field", strings.Join(parts[:5], "$"), "not an argon2id PHC string"},
		{"extra field", good + "$x", "not an argon2id PHC string"},
		{"no leading $", strings.TrimPrefix(good, "$"), "not an argon2id PHC string"},
		{"version 16", with(2, "v=16"), "unsupported argon2 version"},
		{"version missing", with(2, "19"), "unsupported argon2 version"},
		{"version junk", with(2, "v=19x"), "unsupported argon2 version"},
		{"params missing", with(3, ""), "bad parameters"},
		{"params reordered", with(3, "t=1,m=64,p=1"), "bad parameters"},
		{"params junk", with(3, "m=64,t=1,p=1,x=5"), "bad parameters"},
		{"params negative", with(3, "m=-64,t=1,p=1"), "bad parameters"},
		{"threads overflow", with(3, "m=64,t=1,p=256"), "bad parameters"},
		{"memory overflow", with(3, "m=4294967296,t=1,p=1"), "bad parameters"},
		{"memory zero", with(3, "m=0,t=1,p=1"), "out of range"},
		{"memory 4 GiB + 1 KiB", with(3, "m=4194305,t=1,p=1"), "out of range"},
		{"time zero", with(3, "m=64,t=0,p=1"), "out of range"},
		{"time 101", with(3, "m=64,t=101,p=1"), "out of range"},
		{"threads zero", with(3, "m=64,t=1,p=0"), "out of range"},
		{"salt not base64", with(4, "!!!!!!!!!!!!"), "bad salt"},
		{"salt padded", with(4, parts[4]+"=="), "bad salt"},
		{"salt with newline", with(4, parts[4][:10]+"\n"+parts[4][10:]), "bad salt"},
		{"salt short", with(4, "AAAAAAAAAA"), "bad salt"}, // 7 bytes
		{"key not base64", with(5, "~"+parts[5][1:]), "bad key"},
		{"key short", with(5, "AAAAAAAAAAAAAAAAAAAA"), "bad key"}, // 15 bytes
		{"key long", with(5, strings.Repeat("A", 88)), "bad key"}, // 66 bytes
		{"key empty", with(5, ""), "bad key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.encoded, "the password")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Verify(%q) = %t, %v; want an error containing %q", tt.encoded, ok, err, tt.wantErr)
			}
			if ok {
				t.Errorf("Verify(%q) = true with an error", tt.encoded)
			}
		})
	}
}

func TestVerifyDetectsChangedHash(t *testing.T) {
	// A well-formed hash with one changed byte of salt or key is not an
	// error, just a mismatch.
	h := staff.NewHasher(testParams, 1)
	good := mustHash(t, h, "the password")
	parts := strings.Split(good, "$")
	flip := func(s string) string {
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	for _, i := range []int{4, 5} {
		p := append([]string(nil), parts...)
		p[i] = flip(p[i])
		enc := strings.Join(p, "$")
		if ok, err := h.Verify(context.Background(), enc, "the password"); err != nil || ok {
			t.Errorf("Verify(%q) = %t, %v; want false, nil", enc, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw      string
		wantErr string
	}{
		{pw: "twelve chars", wantErr: ""},
		{pw: "eleven char", wantErr: "at least 12 characters"},
		{pw: "", wantErr: "at least 12 characters"},
		{pw: strings.Repeat("é", 12), wantErr: ""},                       // 12 characters, 24 bytes
		{pw: strings.Repeat("é", 11), wantErr: "at least 12 characters"}, // 22 bytes, but 11 characters
		{pw: strings.Repeat("x", 1024), wantErr: ""},                     // the limit
		{pw: strings.Repeat("x", 1025), wantErr: "at most 1024 bytes"},   // over it
		{pw: strings.Repeat("€", 342), wantErr: "at most 1024 bytes"},    // 1026 bytes
		{pw: staff.GeneratePassword(), wantErr: ""},                      // a one-time password is acceptable
		{pw: "correct horse battery staple", wantErr: ""},
	}
	for _, tt := range tests {
		err := staff.CheckPassword(tt.pw)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckPassword(%.20q…) = %v, want nil", tt.pw, err)
			}
			continue
		}
		if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CheckPassword(%.20q…) = %v, want ErrInvalid containing %q", tt.pw, err, tt.wantErr)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	// The documented alphabet: no l/1/o/0/i.
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	if len(alphabet) != 31 {
		t.Fatalf("test alphabet has %d symbols, want 31", len(alphabet))
	}
	group := "[" + alphabet + "]{5}"
	format := regexp.MustCompile("^" + group + "-" + group + "-" + group + "-" + group + "$")
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 1000 {
		pw := staff.GeneratePassword()
		if !format.MatchString(pw) {
			t.Fatalf("GeneratePassword() = %q, want 4 groups of 5 from %q", pw, alphabet)
		}
		if seen[pw] {
			t.Fatalf("GeneratePassword() returned %q twice in 1000 calls", pw)
		}
		seen[pw] = true
		for _, r := range strings.ReplaceAll(pw, "-", "") {
			used[r] = true
		}
	}
	// 20,000 draws from 31 symbols: every symbol turns up (a missing one
	// would mean a broken sampler, with odds below 1e-280 otherwise).
	if len(used) != len(alphabet) {
		t.Errorf("1000 passwords used %d of the %d symbols", len(used), len(alphabet))
	}
}
