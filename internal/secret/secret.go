// Package secret makes and checks the random secrets patchday hands out
// (API tokens, session cookies, researchers' private links): 256 bits,
// shown once, stored only as a hash.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/patchday/patchday"
)

const secretBytes = 32 // 256 bits of randomness

// New returns a new random secret with the given prefix, and the hash
// under which it is stored. Only the hash is ever kept.
func New(prefix string) (secret, hash string) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret)
}

// Hash returns the stored form of a secret. A fast hash is right here:
// secrets are 256-bit random, so there is nothing to brute-force.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Parse checks that s has the shape of a secret with prefix and
// returns its hash. A malformed secret is ErrUnauthenticated with a message
// that says what is wrong, never which secrets exist.
func Parse(prefix, s string) (string, error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", patchday.Errorf(patchday.ErrUnauthenticated, "malformed credential: expected a token starting with %q", prefix)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != secretBytes {
		return "", patchday.Errorf(patchday.ErrUnauthenticated, "malformed credential: a %s token has %d base64url characters after the prefix", prefix, base64.RawURLEncoding.EncodedLen(secretBytes))
	}
	return Hash(s), nil
}
