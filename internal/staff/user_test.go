package staff_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/staff"
)

func TestNormalizeEmail(t *testing.T) {
	// A local part long enough that the address is exactly 254 bytes.
	local254 := strings.Repeat("a", 254-len("@example.com"))
	tests := []struct {
		in      string
		want    string
		wantErr string // a substring of the message; "" means no error
	}{
		{in: "alice@example.com", want: "alice@example.com"},
		{in: "Alice@Example.COM", want: "alice@example.com"},
		{in: "  bob@example.org\t\n", want: "bob@example.org"},
		{in: "first.last+tag@sub.example.org", want: "first.last+tag@sub.example.org"},
		{in: "admin@localhost", want: "admin@localhost"},
		{in: "ÅSA@EXAMPLE.SE", want: "åsa@example.se"},
		{in: local254 + "@example.com", want: local254 + "@example.com"},
		{in: "", wantErr: "e-mail is required"},
		{in: "   ", wantErr: "e-mail is required"},
		{in: "Bob <b@x.org>", wantErr: "not a valid e-mail address"},
		{in: "<b@x.org>", wantErr: "not a valid e-mail address"},
		{in: "b@x.org (Bob)", wantErr: "not a valid e-mail address"},
		{in: `"bob"@x.org`, wantErr: "not a valid e-mail address"},
		{in: "bob smith@x.org", wantErr: "not a valid e-mail address"},
		{in: "bob@x.org, eve@x.org", wantErr: "not a valid e-mail address"},
		{in: "bob", wantErr: "not a valid e-mail address"},
		{in: "bob@", wantErr: "not a valid e-mail address"},
		{in: "@x.org", wantErr: "not a valid e-mail address"},
		{in: "bob@@x.org", wantErr: "not a valid e-mail address"},
		{in: "a" + local254 + "@example.com", wantErr: "not a valid e-mail address"},
		// Lowercasing Ⱥ (2 bytes) gives ⱥ (3 bytes): the stored address
		// would be 255 bytes, one more than the limit.
		{in: "\u023a" + local254[2:] + "@example.com", wantErr: "not a valid e-mail address"},
	}
	for _, tt := range tests {
		got, err := staff.NormalizeEmail(tt.in)
		if tt.wantErr != "" {
			if !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalid containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestUserActive(t *testing.T) {
	if !(staff.User{}).Active() {
		t.Error("a new user is not active")
	}
	if (staff.User{Disabled: true}).Active() {
		t.Error("a disabled user is active")
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "Alice@Example.COM", " bob@x.org ", "Bob <b@x.org>", "<b@x.org>",
		`"a b"@x.org`, "b@[192.0.2.1]", "ÅSA@EXAMPLE.SE", "\u023a@x.org", "\u0130@x.org", "a@b",
		"", "@", "a@b@c", "a@x.org (c)", "\xff@x.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := staff.NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Fatalf("NormalizeEmail(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		switch {
		case got != strings.ToLower(strings.TrimSpace(s)):
			t.Fatalf("NormalizeEmail(%q) = %q: not the input trimmed and lowercased", s, got)
		case !utf8.ValidString(got):
			t.Fatalf("NormalizeEmail(%q) = %q: not UTF-8", s, got)
		case got != strings.ToLower(got):
			t.Fatalf("NormalizeEmail(%q) = %q: not lowercase", s, got)
		case len(got) > 254:
			t.Fatalf("NormalizeEmail(%q) = %q: %d bytes, over 254", s, got, len(got))
		case strings.Count(got, "@") < 1 || strings.ContainsAny(got, " <>\t\r\n"):
			t.Fatalf("NormalizeEmail(%q) = %q: not a bare address", s, got)
		}
		if again, err := staff.NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q, which re-normalizes to %q, %v", s, got, again, err)
		}
	})
}
