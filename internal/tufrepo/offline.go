package tufrepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Layout says how many keys each role has and how many must sign.
type Layout struct {
	Keys      map[string]int // per role; at least 1
	Threshold map[string]int // per role; 1 ≤ threshold ≤ keys
}

// DefaultLayout is one key per role, each its own threshold.
func DefaultLayout() Layout {
	l := Layout{Keys: map[string]int{}, Threshold: map[string]int{}}
	for _, r := range Roles {
		l.Keys[r], l.Threshold[r] = 1, 1
	}
	return l
}

func (l Layout) check() error {
	for _, r := range Roles {
		n, t := l.Keys[r], l.Threshold[r]
		if n < 1 || n > 16 {
			return fmt.Errorf("%s: between 1 and 16 keys, not %d", r, n)
		}
		if t < 1 || t > n {
			return fmt.Errorf("%s: the threshold must be between 1 and the number of keys (%d), not %d", r, n, t)
		}
	}
	return nil
}

// RootExpiry is how long a root version stays valid by default.
const RootExpiry = 365 * 24 * time.Hour

// Init creates a new repository's keys and its first root in dir:
// <role>-<n>.key files (0600) and 1.root.json, signed by every root key.
// It refuses a directory that already holds keys or root metadata.
func Init(dir string, l Layout, expires time.Time) error {
	if err := l.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "*.key")); len(old) > 0 {
		return fmt.Errorf("%s already holds keys (%s); use `patchday keys rotate` to change them", dir, filepath.Base(old[0]))
	}
	if _, _, err := LatestRoot(dir); err == nil {
		return fmt.Errorf("%s already holds root metadata", dir)
	}
	root := metadata.Root(expires.UTC().Truncate(time.Second))
	var rootKeys []Key
	for _, role := range Roles {
		for i := 1; i <= l.Keys[role]; i++ {
			k, err := GenerateKey(role)
			if err != nil {
				return err
			}
			if err := root.Signed.AddKey(k.Public(), role); err != nil {
				return err
			}
			if err := WriteKeyFile(filepath.Join(dir, fmt.Sprintf("%s-%d.key", role, i)), k); err != nil {
				return err
			}
			if role == Root {
				rootKeys = append(rootKeys, k)
			}
		}
		root.Signed.Roles[role].Threshold = l.Threshold[role]
	}
	for _, k := range rootKeys {
		if _, err := root.Sign(k.signer()); err != nil {
			return err
		}
	}
	return writeNew(filepath.Join(dir, "1.root.json"), root)
}

var rootFile = regexp.MustCompile(`^([1-9][0-9]*)\.root\.json$`)

// LatestRoot returns the newest N.root.json in dir and its version.
func LatestRoot(dir string) (*metadata.Metadata[metadata.RootType], string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	best, name := int64(0), ""
	for _, e := range ents {
		if m := rootFile.FindStringSubmatch(e.Name()); m != nil {
			if v, _ := strconv.ParseInt(m[1], 10, 64); v > best {
				best, name = v, e.Name()
			}
		}
	}
	if name == "" {
		return nil, "", fmt.Errorf("%s holds no N.root.json; run `patchday keys init` first", dir)
	}
	path := filepath.Join(dir, name)
	r, err := metadata.Root().FromFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return r, path, nil
}

// RootFiles returns dir's N.root.json files in version order.
func RootFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type rf struct {
		v    int64
		path string
	}
	var fs []rf
	for _, e := range ents {
		if m := rootFile.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			fs = append(fs, rf{v, filepath.Join(dir, e.Name())})
		}
	}
	slices.SortFunc(fs, func(a, b rf) int { return int(a.v - b.v) })
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out, nil
}

// Rotate writes the next root version in dir. With a role, that role's
// keys are replaced by as many new ones (the old key files are renamed
// *.key.revoked); without, the keys stay and only the expiry moves. The new
// root is signed by the current root keys found in dir — at least the
// current threshold — and, when the root keys themselves rotate, by the new
// ones too, so clients can follow the chain.
func Rotate(dir, role string, expires time.Time) (string, error) {
	cur, _, err := LatestRoot(dir)
	if err != nil {
		return "", err
	}
	keys, err := ReadKeyDir(dir)
	if err != nil {
		return "", err
	}
	signers := authorized(cur, Root, keys)
	if need := cur.Signed.Roles[Root].Threshold; len(signers) < need {
		return "", fmt.Errorf("%s holds %d of the %d root keys the current root needs to sign its successor", dir, len(signers), need)
	}
	next := metadata.Root(expires.UTC().Truncate(time.Second))
	next.Signed = cur.Signed
	next.Signed.Keys = map[string]*metadata.Key{}
	next.Signed.Roles = map[string]*metadata.Role{}
	for r, ro := range cur.Signed.Roles {
		next.Signed.Roles[r] = &metadata.Role{KeyIDs: slices.Clone(ro.KeyIDs), Threshold: ro.Threshold}
	}
	for _, ro := range next.Signed.Roles {
		for _, id := range ro.KeyIDs {
			next.Signed.Keys[id] = cur.Signed.Keys[id]
		}
	}
	next.Signed.Version = cur.Signed.Version + 1
	next.Signed.Expires = expires.UTC().Truncate(time.Second)
	next.Signatures = nil
	var fresh []Key
	if role != "" {
		if !slices.Contains(Roles, role) {
			return "", fmt.Errorf("unknown role %q", role)
		}
		old := slices.Clone(next.Signed.Roles[role].KeyIDs)
		for _, id := range old {
			if err := next.Signed.RevokeKey(id, role); err != nil {
				return "", err
			}
		}
		for range old {
			k, err := GenerateKey(role)
			if err != nil {
				return "", err
			}
			if err := next.Signed.AddKey(k.Public(), role); err != nil {
				return "", err
			}
			fresh = append(fresh, k)
		}
	}
	for _, k := range signers {
		if _, err := next.Sign(k.signer()); err != nil {
			return "", err
		}
	}
	if role == Root {
		for _, k := range fresh {
			if _, err := next.Sign(k.signer()); err != nil {
				return "", err
			}
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("%d.root.json", next.Signed.Version))
	if err := writeNew(path, next); err != nil {
		return "", err
	}
	if role == "" {
		return path, nil
	}
	// Retire the old key files, then write the new ones.
	for _, k := range keys {
		if k.Role == role {
			name := keyFileName(dir, k)
			if name != "" {
				if err := os.Rename(name, name+".revoked"); err != nil {
					return "", err
				}
			}
		}
	}
	for i, k := range fresh {
		name := filepath.Join(dir, fmt.Sprintf("%s-%d.%d.key", role, next.Signed.Version, i+1))
		if err := WriteKeyFile(name, k); err != nil {
			return "", err
		}
	}
	return path, nil
}

// keyFileName finds the file in dir that holds k.
func keyFileName(dir string, k Key) string {
	names, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	for _, n := range names {
		if got, err := ReadKeyFile(n); err == nil && got.Private.Equal(k.Private) {
			return n
		}
	}
	return ""
}

// authorized returns the keys the root names for role.
func authorized(root *metadata.Metadata[metadata.RootType], role string, keys []Key) []Key {
	ro := root.Signed.Roles[role]
	if ro == nil {
		return nil
	}
	var out []Key
	for _, k := range keys {
		if k.Role == role && slices.Contains(ro.KeyIDs, k.ID()) {
			out = append(out, k)
		}
	}
	return out
}

// SignFile adds the signatures of the given keys to a root or targets
// metadata file, in place — the offline half of signing. Keys of another
// role are skipped; a key that already signed is not added twice. It
// returns how many signatures it added.
func SignFile(path string, keys []Key) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var head struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return 0, fmt.Errorf("%s is not TUF metadata: %w", path, err)
	}
	switch head.Signed.Type {
	case Root:
		md, err := metadata.Root().FromBytes(b)
		if err != nil {
			return 0, err
		}
		return signAndWrite(path, md, Root, keys)
	case Targets:
		md, err := metadata.Targets().FromBytes(b)
		if err != nil {
			return 0, err
		}
		return signAndWrite(path, md, Targets, keys)
	}
	return 0, fmt.Errorf("%s is %q metadata; only root and targets are signed offline", path, head.Signed.Type)
}

func signAndWrite[T metadata.Roles](path string, md *metadata.Metadata[T], role string, keys []Key) (int, error) {
	n := 0
	for _, k := range keys {
		if k.Role != role || slices.ContainsFunc(md.Signatures, func(s metadata.Signature) bool { return s.KeyID == k.ID() }) {
			continue
		}
		if _, err := md.Sign(k.signer()); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("none of the keys given is a %s key that has not signed %s yet", role, path)
	}
	b, err := md.ToBytes(true)
	if err != nil {
		return n, err
	}
	return n, atomicWrite(path, b)
}

func writeNew[T metadata.Roles](path string, md *metadata.Metadata[T]) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists already", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	b, err := md.ToBytes(true)
	if err != nil {
		return err
	}
	return atomicWrite(path, b)
}

func atomicWrite(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
