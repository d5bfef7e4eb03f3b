package product_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/product"
)

func TestParseScheme(t *testing.T) {
	tests := []struct {
		in   string
		want product.Scheme
		ok   bool
	}{
		{"", product.SchemeSemver, true},
		{"semver", product.SchemeSemver, true},
		{" Debian ", product.SchemeDebian, true},
		{"opaque", product.SchemeOpaque, true},
		{"calver", "", false},
	}
	for _, tt := range tests {
		got, err := product.ParseScheme(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseScheme(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		scheme product.Scheme
		v      string
		ok     bool
	}{
		{product.SchemeSemver, "1.4.2", true},
		{product.SchemeSemver, "v1.4.2", true},
		{product.SchemeSemver, "2.0.0-rc.1+build.5", true},
		{product.SchemeSemver, "1.4", false},
		{product.SchemeSemver, "1", false},
		{product.SchemeSemver, "01.2.3", false},
		{product.SchemeSemver, "1.2.3.4", false},
		{product.SchemeSemver, "banana", false},
		{product.SchemeDebian, "7.88.1-10+deb12u15", true},
		{product.SchemeDebian, "1:2.9.14+dfsg-1.3+deb12u4", true},
		{product.SchemeDebian, "3.0.22", true},
		{product.SchemeDebian, "a1.0", false},
		{product.SchemeDebian, "1.0-", false},
		{product.SchemeOpaque, "2026 R1", false}, // no spaces in any scheme
		{product.SchemeOpaque, "2026R1", true},
		{product.SchemeOpaque, "", false},
		{product.SchemeSemver, "1.0.0\n", false},
	}
	for _, tt := range tests {
		err := tt.scheme.CheckVersion(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("%s.CheckVersion(%q) = %v, want ok=%v", tt.scheme, tt.v, err, tt.ok)
		}
		if err != nil && !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("%s.CheckVersion(%q): %v is not ErrInvalid", tt.scheme, tt.v, err)
		}
	}
}

func sorted(sc product.Scheme, in ...string) []string {
	vs := make([]product.Version, len(in))
	for i, v := range in {
		vs[i] = product.Version{Version: v, Seq: int64(i)}
	}
	product.Sort(sc, vs)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

func TestSort(t *testing.T) {
	tests := []struct {
		scheme product.Scheme
		in     []string
		want   []string
	}{
		{product.SchemeSemver, []string{"1.10.0", "1.2.0", "1.2.0-rc.1", "v1.9.9"}, []string{"1.2.0-rc.1", "1.2.0", "v1.9.9", "1.10.0"}},
		// Debian: digits compare as numbers, ~ sorts before anything.
		{product.SchemeDebian, []string{"7.88.1-10+deb12u15", "7.88.1-10+deb12u5", "7.88.1-10", "1:1.0", "7.88.1~rc1-1"},
			[]string{"7.88.1~rc1-1", "7.88.1-10", "7.88.1-10+deb12u5", "7.88.1-10+deb12u15", "1:1.0"}},
		// Opaque: the order they were added.
		{product.SchemeOpaque, []string{"Zeta", "Alpha", "2026R1"}, []string{"Zeta", "Alpha", "2026R1"}},
	}
	for _, tt := range tests {
		if got := sorted(tt.scheme, tt.in...); !slices.Equal(got, tt.want) {
			t.Errorf("Sort(%s, %q) = %q, want %q", tt.scheme, tt.in, got, tt.want)
		}
	}
}

// TestDebianAgainstDpkg checks the Debian ordering against dpkg itself on
// the real versions in ../shared/testdata/releases and on tricky cases.
func TestDebianAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	versions := []string{"1.0", "1.0-1", "1.0~rc1", "1.0+b1", "1:0.9", "1.0a", "1.0.0", "2.9.14+dfsg-1.3+deb12u4"}
	dirs, _ := filepath.Glob("../../../shared/testdata/releases/*/*")
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			versions = append(versions, filepath.Base(d))
		}
	}
	if len(dirs) == 0 {
		t.Log("../shared/testdata/releases not found; checking the built-in cases only")
	}
	for _, a := range versions {
		for _, b := range versions {
			got := product.SchemeDebian.Compare(a, b)
			want := 0
			if exec.Command(dpkg, "--compare-versions", a, "lt", b).Run() == nil {
				want = -1
			} else if exec.Command(dpkg, "--compare-versions", a, "gt", b).Run() == nil {
				want = 1
			}
			if got != want {
				t.Errorf("Compare(%q, %q) = %d, dpkg says %d", a, b, got, want)
			}
		}
	}
}

// TestDebianValidAgainstDpkg: what the Debian scheme accepts is what dpkg
// accepts.
func TestDebianValidAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	for _, v := range []string{"1.0", "1.0-", "1.0-1", "a1.0", "1:", ":1.0", "1:1.0", "x:1.0", "1.0~", "1.0-1-2", "1_0", "1.0+dfsg-1.3+deb12u4", "0", "1.0-a.b~c+d"} {
		got := product.SchemeDebian.CheckVersion(v) == nil
		want := exec.Command(dpkg, "--validate-version", v).Run() == nil
		if got != want {
			t.Errorf("CheckVersion(%q) ok=%v, dpkg --validate-version ok=%v", v, got, want)
		}
	}
}

func FuzzCompare(f *testing.F) {
	for _, s := range []string{"1.0.0", "7.88.1-10+deb12u5", "1:2.0~rc1-1", "v2.0.0-rc.1+b"} {
		f.Add(s, "1.0.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, sc := range product.Schemes {
			if sc.CheckVersion(a) != nil || sc.CheckVersion(b) != nil {
				continue
			}
			ab, ba := sc.Compare(a, b), sc.Compare(b, a)
			if ab != -ba {
				t.Errorf("%s: Compare(%q, %q) = %d but Compare(%q, %q) = %d", sc, a, b, ab, b, a, ba)
			}
			if sc.Compare(a, a) != 0 {
				t.Errorf("%s: %q does not equal itself", sc, a)
			}
		}
	})
}
