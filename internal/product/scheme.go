// Package product holds the vendor's products and their versions, and how
// versions of each product are ordered (its scheme).
package product

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	debversion "github.com/knqyf263/go-deb-version"
	"golang.org/x/mod/semver"

	"github.com/patchday/patchday"
)

// Scheme says how a product's versions are written and ordered.
type Scheme string

// The schemes. Opaque versions have no order of their own: they order by
// when they were added.
const (
	SchemeSemver Scheme = "semver"
	SchemeDebian Scheme = "debian"
	SchemeOpaque Scheme = "opaque"
)

// Schemes lists every scheme.
var Schemes = []Scheme{SchemeSemver, SchemeDebian, SchemeOpaque}

// ParseScheme reads a scheme name; empty means semver, the default.
func ParseScheme(s string) (Scheme, error) {
	switch sc := Scheme(strings.ToLower(strings.TrimSpace(s))); sc {
	case "":
		return SchemeSemver, nil
	case SchemeSemver, SchemeDebian, SchemeOpaque:
		return sc, nil
	}
	return "", patchday.Errorf(patchday.ErrInvalid, "unknown version scheme %q (schemes: semver, debian, opaque)", s)
}

// debianChars is Debian policy §5.6.12: [epoch:]upstream[-revision], the
// upstream part starting with a digit.
var debianChars = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*(-[A-Za-z0-9.+~]+)?$`)

// maxVersion bounds a version string.
const maxVersion = 128

// CheckVersion returns why v is not a valid version in the scheme, or nil.
func (sc Scheme) CheckVersion(v string) error {
	if v == "" {
		return patchday.Errorf(patchday.ErrInvalid, "a version is required")
	}
	if len(v) > maxVersion {
		return patchday.Errorf(patchday.ErrInvalid, "a version is at most %d characters", maxVersion)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return patchday.Errorf(patchday.ErrInvalid, "version %q contains a space or an unprintable character", v)
		}
	}
	switch sc {
	case SchemeSemver:
		// x/mod/semver also takes "v1" and "v1.2" as shorthands; a
		// vendor's release names all three parts.
		core, _, _ := strings.Cut(v, "-")
		core, _, _ = strings.Cut(core, "+")
		if !semver.IsValid(canonicalSemver(v)) || strings.Count(core, ".") != 2 {
			return patchday.Errorf(patchday.ErrInvalid, "%q is not a semantic version (write MAJOR.MINOR.PATCH, e.g. 1.4.2 or 2.0.0-rc.1)", v)
		}
	case SchemeDebian:
		// The library is laxer than dpkg (it takes "1.0-" and "1_0"), so
		// the characters Debian policy allows are checked here too.
		if !debversion.Valid(v) || !debianChars.MatchString(v) || strings.HasSuffix(v, "-") {
			return patchday.Errorf(patchday.ErrInvalid, "%q is not a Debian version (e.g. 1:2.9.14+dfsg-1.3+deb12u4)", v)
		}
	case SchemeOpaque:
	default:
		return fmt.Errorf("check version: unknown scheme %q", sc)
	}
	return nil
}

// canonicalSemver adds the "v" that golang.org/x/mod/semver expects.
func canonicalSemver(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// Compare orders two valid versions of the scheme: -1, 0 or +1. Opaque
// versions compare equal; callers order them by when they were added.
func (sc Scheme) Compare(a, b string) int {
	switch sc {
	case SchemeSemver:
		return semver.Compare(canonicalSemver(a), canonicalSemver(b))
	case SchemeDebian:
		va, errA := debversion.NewVersion(a)
		vb, errB := debversion.NewVersion(b)
		if errA != nil || errB != nil {
			return strings.Compare(a, b)
		}
		return cmp.Compare(va.Compare(vb), 0) // it returns a difference, not a sign
	}
	return 0
}
