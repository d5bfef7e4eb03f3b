// Package tufrepo is the repository side of The Update Framework for the
// patchday catalog: the four top-level roles' keys, the signed metadata
// (root, targets, snapshot, timestamp) with consistent snapshots and expiry
// dates, offline signing, key rotation, and re-signing the online roles
// before they expire. Clients verify what it signs with go-tuf's updater.
//
// Keys are ed25519. The root key(s) — and, if the vendor wishes, the
// targets key(s) — live offline: the server signs only with the keys it is
// given, and metadata that lacks its threshold of signatures waits for
// `patchday keys sign` on the machine that holds them.
package tufrepo

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The top-level roles, as TUF names them.
const (
	Root      = metadata.ROOT
	Targets   = metadata.TARGETS
	Snapshot  = metadata.SNAPSHOT
	Timestamp = metadata.TIMESTAMP
)

// Roles lists the top-level roles, root first.
var Roles = []string{Root, Targets, Snapshot, Timestamp}

// Key is one role's private signing key as kept in a key file.
type Key struct {
	Role    string
	Private ed25519.PrivateKey
}

// keyFile is the on-disk form of a Key: JSON, mode 0600.
type keyFile struct {
	Role    string `json:"role"`
	KeyType string `json:"keytype"`
	KeyID   string `json:"keyid"`
	Public  string `json:"public"`
	Seed    string `json:"private"`
}

// GenerateKey makes a new ed25519 key for a role.
func GenerateKey(role string) (Key, error) {
	if !slices.Contains(Roles, role) {
		return Key{}, fmt.Errorf("unknown role %q (want one of %s)", role, strings.Join(Roles, ", "))
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return Key{Role: role, Private: priv}, nil
}

// Public returns the key in TUF's form.
func (k Key) Public() *metadata.Key {
	pk, err := metadata.KeyFromPublicKey(k.Private.Public())
	if err != nil {
		panic(err) // an ed25519 public key always converts
	}
	return pk
}

// ID returns the TUF key id.
func (k Key) ID() string {
	id, err := k.Public().ID()
	if err != nil {
		panic(err) // canonical JSON of a key always encodes
	}
	return id
}

func (k Key) signer() signature.Signer {
	s, err := signature.LoadSigner(k.Private, crypto.Hash(0))
	if err != nil {
		panic(err) // an ed25519 private key always loads
	}
	return s
}

// WriteKeyFile writes a key to path, readable by its owner only, refusing
// to replace an existing file.
func WriteKeyFile(path string, k Key) error {
	b, err := json.MarshalIndent(keyFile{
		Role: k.Role, KeyType: metadata.KeyTypeEd25519, KeyID: k.ID(),
		Public: hex.EncodeToString(k.Private.Public().(ed25519.PublicKey)),
		Seed:   hex.EncodeToString(k.Private.Seed()),
	}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadKeyFile reads a key written by WriteKeyFile.
func ReadKeyFile(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, err
	}
	k, err := parseKey(b)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func parseKey(b []byte) (Key, error) {
	var f keyFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Key{}, fmt.Errorf("not a patchday key file: %w", err)
	}
	if !slices.Contains(Roles, f.Role) {
		return Key{}, fmt.Errorf("unknown role %q", f.Role)
	}
	if f.KeyType != metadata.KeyTypeEd25519 {
		return Key{}, fmt.Errorf("key type %q: only %s keys are supported", f.KeyType, metadata.KeyTypeEd25519)
	}
	seed, err := hex.DecodeString(f.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Key{}, errors.New("the private key is not a hex ed25519 seed")
	}
	k := Key{Role: f.Role, Private: ed25519.NewKeyFromSeed(seed)}
	if hex.EncodeToString(k.Private.Public().(ed25519.PublicKey)) != f.Public {
		return Key{}, errors.New("the public key does not belong to the private key")
	}
	return k, nil
}

// ReadKeyDir reads every *.key file in dir.
func ReadKeyDir(dir string) ([]Key, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.key"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var keys []Key
	for _, n := range names {
		k, err := ReadKeyFile(n)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
