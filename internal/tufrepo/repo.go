package tufrepo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	patchday "github.com/patchday/patchday"
)

// Store keeps signed metadata, every version of every role, so that
// clients reading an older consistent snapshot still find it and the
// history stays auditable. Pending is the role name under which targets
// waiting for offline signatures are kept.
type Store interface {
	// PutTUF stores one version of a role's metadata; it fails with
	// patchday.ErrConflict if that version is stored already.
	PutTUF(ctx context.Context, role string, version int64, body []byte, at time.Time) error
	// TUF returns one version of a role's metadata, the newest for version
	// 0; patchday.ErrNotFound if there is none.
	TUF(ctx context.Context, role string, version int64) ([]byte, error)
}

// Pending is the store's role name for unsigned targets.
const Pending = "targets-pending"

// Expiry is how long each online role's metadata stays valid. Metadata is
// re-signed when less than half its life is left.
type Expiry struct {
	Targets, Snapshot, Timestamp time.Duration
}

// DefaultExpiry: targets three months (the release train re-signs them
// monthly), snapshot a week, timestamp a day.
var DefaultExpiry = Expiry{Targets: 90 * 24 * time.Hour, Snapshot: 7 * 24 * time.Hour, Timestamp: 24 * time.Hour}

// ErrNeedsSignature says targets metadata was prepared but the server
// does not hold enough targets keys: it waits for `patchday keys sign`.
var ErrNeedsSignature = errors.New("the new targets metadata waits for offline signatures")

// Repo is the online side of the repository.
type Repo struct {
	store  Store
	keys   []Key
	expiry Expiry
	now    func() time.Time
}

// New returns a Repo signing with the given online keys (those the current
// root does not name are ignored). now may be nil for time.Now.
func New(s Store, keys []Key, e Expiry, now func() time.Time) *Repo {
	if now == nil {
		now = time.Now
	}
	return &Repo{store: s, keys: keys, expiry: e, now: now}
}

// Signs reports whether the server holds any signing keys: one without
// serves the metadata others sign.
func (r *Repo) Signs() bool { return len(r.keys) > 0 }

// ImportRoot adds a root version: the first must be version 1 and signed
// by its own threshold of root keys; each later one must be the next
// version, signed by the threshold of the previous root's keys and its
// own. Importing a version that is stored already, byte for byte, is a
// no-op; different bytes under a stored version are refused.
func (r *Repo) ImportRoot(ctx context.Context, body []byte) (bool, error) {
	next, err := metadata.Root().FromBytes(body)
	if err != nil {
		return false, patchday.Errorf(patchday.ErrInvalid, "not root metadata: %v", err)
	}
	v := next.Signed.Version
	if stored, err := r.store.TUF(ctx, Root, v); err == nil {
		if !bytes.Equal(stored, body) {
			return false, patchday.Errorf(patchday.ErrConflict, "root version %d is stored already with different content", v)
		}
		return false, nil
	} else if !errors.Is(err, patchday.ErrNotFound) {
		return false, err
	}
	cur, err := r.root(ctx)
	switch {
	case errors.Is(err, patchday.ErrNotFound):
		if v != 1 {
			return false, patchday.Errorf(patchday.ErrInvalid, "the first root must be version 1, not %d; import the versions before it first", v)
		}
	case err != nil:
		return false, err
	default:
		if v != cur.Signed.Version+1 {
			return false, patchday.Errorf(patchday.ErrInvalid, "root version %d does not follow the current version %d", v, cur.Signed.Version)
		}
		if err := cur.VerifyDelegate(Root, next); err != nil {
			return false, patchday.Errorf(patchday.ErrInvalid, "root version %d is not signed by enough keys of version %d: %v", v, cur.Signed.Version, err)
		}
	}
	if err := next.VerifyDelegate(Root, next); err != nil {
		return false, patchday.Errorf(patchday.ErrInvalid, "root version %d is not signed by enough of its own root keys: %v", v, err)
	}
	if err := r.store.PutTUF(ctx, Root, v, body, r.now()); err != nil {
		return false, err
	}
	return true, nil
}

func (r *Repo) root(ctx context.Context) (*metadata.Metadata[metadata.RootType], error) {
	b, err := r.store.TUF(ctx, Root, 0)
	if err != nil {
		return nil, err
	}
	return metadata.Root().FromBytes(b)
}

func (r *Repo) targets(ctx context.Context) (*metadata.Metadata[metadata.TargetsType], []byte, error) {
	b, err := r.store.TUF(ctx, Targets, 0)
	if err != nil {
		return nil, nil, err
	}
	md, err := metadata.Targets().FromBytes(b)
	return md, b, err
}

// Publish makes the given targets the repository's next targets version,
// then a snapshot and a timestamp that name it. If the server holds fewer
// targets keys than the threshold, the metadata is kept as pending and
// ErrNeedsSignature returned: sign it offline and Submit it.
func (r *Repo) Publish(ctx context.Context, targets map[string]*metadata.TargetFiles) error {
	root, err := r.root(ctx)
	if err != nil {
		return fmt.Errorf("no root metadata (run `patchday keys init` and start the server with --tuf-keys): %w", err)
	}
	version := int64(1)
	if cur, _, err := r.targets(ctx); err == nil {
		version = cur.Signed.Version + 1
	} else if !errors.Is(err, patchday.ErrNotFound) {
		return err
	}
	md := metadata.Targets(r.now().UTC().Add(r.expiry.Targets).Truncate(time.Second))
	md.Signed.Version = version
	md.Signed.Targets = targets
	signers := authorized(root, Targets, r.keys)
	for _, k := range signers {
		if _, err := md.Sign(k.signer()); err != nil {
			return err
		}
	}
	if len(signers) < root.Signed.Roles[Targets].Threshold {
		pv := int64(1)
		if b, err := r.store.TUF(ctx, Pending, 0); err == nil {
			if p, err := metadata.Targets().FromBytes(b); err == nil {
				pv = pendingVersion(p) + 1
			}
		}
		setPendingVersion(md, pv)
		body, err := md.ToBytes(false)
		if err != nil {
			return err
		}
		if err := r.store.PutTUF(ctx, Pending, pv, body, r.now()); err != nil {
			return err
		}
		return ErrNeedsSignature
	}
	if err := r.putTargets(ctx, md); err != nil {
		return err
	}
	_, err = r.Refresh(ctx)
	return err
}

// The pending counter rides in the unsigned part of the metadata, so
// signatures made offline over the signed part stay valid.
func pendingVersion(md *metadata.Metadata[metadata.TargetsType]) int64 {
	if v, ok := md.UnrecognizedFields["pending"].(float64); ok {
		return int64(v)
	}
	return 0
}

func setPendingVersion(md *metadata.Metadata[metadata.TargetsType], v int64) {
	if md.UnrecognizedFields == nil {
		md.UnrecognizedFields = map[string]any{}
	}
	md.UnrecognizedFields["pending"] = v
}

// PendingTargets returns the newest targets metadata waiting for offline
// signatures, or patchday.ErrNotFound.
func (r *Repo) PendingTargets(ctx context.Context) ([]byte, error) {
	b, err := r.store.TUF(ctx, Pending, 0)
	if err != nil {
		return nil, err
	}
	md, err := metadata.Targets().FromBytes(b)
	if err != nil {
		return nil, err
	}
	if cur, _, err := r.targets(ctx); err == nil && cur.Signed.Version >= md.Signed.Version {
		return nil, patchday.Errorf(patchday.ErrNotFound, "no targets metadata waits for signatures")
	}
	delete(md.UnrecognizedFields, "pending")
	return md.ToBytes(true)
}

// Submit accepts targets metadata signed offline: it must be the next
// version, unexpired, and carry the threshold of targets signatures under
// the current root. The snapshot and timestamp that name it follow at the
// next Refresh, by whoever holds those keys (the server, within a sweep).
func (r *Repo) Submit(ctx context.Context, body []byte) error {
	root, err := r.root(ctx)
	if err != nil {
		return err
	}
	md, err := metadata.Targets().FromBytes(body)
	if err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "not targets metadata: %v", err)
	}
	want := int64(1)
	if cur, _, err := r.targets(ctx); err == nil {
		want = cur.Signed.Version + 1
	}
	if md.Signed.Version != want {
		return patchday.Errorf(patchday.ErrConflict, "targets version %d is not the next one (%d); sign the newest pending targets", md.Signed.Version, want)
	}
	if md.Signed.IsExpired(r.now()) {
		return patchday.Errorf(patchday.ErrInvalid, "these targets expired at %s", md.Signed.Expires.Format(time.RFC3339))
	}
	if err := root.VerifyDelegate(Targets, md); err != nil {
		return patchday.Errorf(patchday.ErrInvalid, "targets are not signed by enough targets keys: %v", err)
	}
	delete(md.UnrecognizedFields, "pending")
	return r.putTargets(ctx, md)
}

func (r *Repo) putTargets(ctx context.Context, md *metadata.Metadata[metadata.TargetsType]) error {
	body, err := md.ToBytes(false)
	if err != nil {
		return err
	}
	return r.store.PutTUF(ctx, Targets, md.Signed.Version, body, r.now())
}

// Refreshed says what Refresh re-signed.
type Refreshed struct {
	Targets, Snapshot, Timestamp bool
}

// Refresh re-signs what needs it: targets (if the server holds their keys)
// when more than half their life has passed or the root's targets keys
// changed; a snapshot when targets changed or it is half expired or its
// keys changed; a timestamp when the snapshot changed or it is half
// expired or its keys changed. Call it periodically (the server does, under
// a lease) so online metadata never expires.
func (r *Repo) Refresh(ctx context.Context) (Refreshed, error) {
	var done Refreshed
	root, err := r.root(ctx)
	if err != nil {
		return done, err
	}
	now := r.now().UTC()
	tg, tgBody, err := r.targets(ctx)
	if errors.Is(err, patchday.ErrNotFound) {
		// Nothing published yet: an empty catalog is still a valid one.
		tg = metadata.Targets(now)
		tg.Signed.Version = 0
		tgBody = nil
	} else if err != nil {
		return done, err
	}
	if tgBody == nil || stale(root, Targets, tg, tg.Signed.Expires, r.expiry.Targets, now) {
		if signers := authorized(root, Targets, r.keys); len(signers) >= root.Signed.Roles[Targets].Threshold {
			next := metadata.Targets(now.Add(r.expiry.Targets).Truncate(time.Second))
			next.Signed.Version = tg.Signed.Version + 1
			next.Signed.Targets = tg.Signed.Targets
			if err := signOnline(root, Targets, next, r.keys); err != nil {
				return done, err
			}
			if err := r.putTargets(ctx, next); err != nil {
				return done, err
			}
			tg, done.Targets = next, true
			if tgBody, err = next.ToBytes(false); err != nil {
				return done, err
			}
		} else if tgBody == nil {
			return done, nil // nothing to snapshot until targets are signed
		}
	}

	snap, snapBody, err := r.latest(ctx, Snapshot)
	var snapMD *metadata.Metadata[metadata.SnapshotType]
	if err == nil {
		snapMD, err = metadata.Snapshot().FromBytes(snapBody)
	}
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return done, err
	}
	if snapMD == nil || snapMD.Signed.Meta["targets.json"] == nil || snapMD.Signed.Meta["targets.json"].Version != tg.Signed.Version ||
		stale(root, Snapshot, snapMD, snapMD.Signed.Expires, r.expiry.Snapshot, now) {
		next := metadata.Snapshot(now.Add(r.expiry.Snapshot).Truncate(time.Second))
		next.Signed.Version = snap + 1
		next.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": metaFile(tg.Signed.Version, tgBody)}
		if err := signOnline(root, Snapshot, next, r.keys); err != nil {
			return done, err
		}
		if snapBody, err = next.ToBytes(false); err != nil {
			return done, err
		}
		if err := r.store.PutTUF(ctx, Snapshot, next.Signed.Version, snapBody, now); err != nil {
			return done, err
		}
		snapMD, done.Snapshot = next, true
	}

	ts, tsBody, err := r.latest(ctx, Timestamp)
	var tsMD *metadata.Metadata[metadata.TimestampType]
	if err == nil {
		tsMD, err = metadata.Timestamp().FromBytes(tsBody)
	}
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return done, err
	}
	if tsMD == nil || tsMD.Signed.Meta["snapshot.json"].Version != snapMD.Signed.Version ||
		stale(root, Timestamp, tsMD, tsMD.Signed.Expires, r.expiry.Timestamp, now) {
		next := metadata.Timestamp(now.Add(r.expiry.Timestamp).Truncate(time.Second))
		next.Signed.Version = ts + 1
		next.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": metaFile(snapMD.Signed.Version, snapBody)}
		if err := signOnline(root, Timestamp, next, r.keys); err != nil {
			return done, err
		}
		body, err := next.ToBytes(false)
		if err != nil {
			return done, err
		}
		if err := r.store.PutTUF(ctx, Timestamp, next.Signed.Version, body, now); err != nil {
			return done, err
		}
		done.Timestamp = true
	}
	return done, nil
}

// stale reports whether metadata should be re-signed: less than half its
// life is left, or the current root no longer accepts its signatures.
func stale(root *metadata.Metadata[metadata.RootType], role string, md any, expires time.Time, life time.Duration, now time.Time) bool {
	if expires.Sub(now) < life/2 {
		return true
	}
	return root.VerifyDelegate(role, md) != nil
}

func (r *Repo) latest(ctx context.Context, role string) (int64, []byte, error) {
	b, err := r.store.TUF(ctx, role, 0)
	if err != nil {
		return 0, nil, err
	}
	var v struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, nil, fmt.Errorf("stored %s metadata: %w", role, err)
	}
	return v.Signed.Version, b, nil
}

// signOnline signs md for role with the server's keys, which must reach
// the role's threshold.
func signOnline[T metadata.Roles](root *metadata.Metadata[metadata.RootType], role string, md *metadata.Metadata[T], keys []Key) error {
	signers := authorized(root, role, keys)
	if need := root.Signed.Roles[role].Threshold; len(signers) < need {
		return fmt.Errorf("the server holds %d of the %d %s key(s) root version %d requires; put the current %s key file(s) in the --tuf-keys directory",
			len(signers), need, role, root.Signed.Version, role)
	}
	for _, k := range signers {
		if _, err := md.Sign(k.signer()); err != nil {
			return err
		}
	}
	return nil
}

func metaFile(version int64, body []byte) *metadata.MetaFiles {
	m := metadata.MetaFile(version)
	sum := sha256.Sum256(body)
	m.Length = int64(len(body))
	m.Hashes = metadata.Hashes{"sha256": sum[:]}
	return m
}

var metaName = regexp.MustCompile(`^(?:([1-9][0-9]*)\.)?(root|targets|snapshot|timestamp)\.json$`)

// Get returns a metadata file by the name clients ask for: N.root.json,
// N.targets.json, N.snapshot.json (consistent snapshots), timestamp.json,
// and the unversioned names for the newest.
func (r *Repo) Get(ctx context.Context, name string) ([]byte, error) {
	m := metaName.FindStringSubmatch(name)
	if m == nil {
		return nil, patchday.Errorf(patchday.ErrNotFound, "no metadata file %q", name)
	}
	var v int64
	if m[1] != "" {
		if m[2] == Timestamp {
			return nil, patchday.Errorf(patchday.ErrNotFound, "the timestamp is not versioned")
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, patchday.Errorf(patchday.ErrNotFound, "no metadata file %q", name)
		}
		v = n
	}
	return r.store.TUF(ctx, m[2], v)
}
