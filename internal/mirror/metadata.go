package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	patchday "github.com/patchday/patchday"

	"github.com/patchday/patchday/internal/tufrepo"
)

// refusal is upstream metadata that does not verify. It wraps go-tuf's
// error, when there is one, so callers can tell a rollback from an expiry.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string {
	return "upstream metadata refused: " + r.reason + "; the mirror keeps serving what it had"
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...)}
}

// rawMeta is one version of a role's metadata, the bytes as signed.
type rawMeta struct {
	role    string
	version int64
	body    []byte
	stored  bool // the store holds these very bytes already
}

// verified is what go-tuf verified, ready to store: root versions not
// stored yet, oldest first, then targets, snapshot and timestamp — the
// order in which they are stored, so a client of the mirror never reads a
// timestamp naming a snapshot the mirror lacks.
type verified struct {
	roots       []rawMeta
	rootVersion int64
	meta        []rawMeta // targets, snapshot, timestamp
	targets     *metadata.Metadata[metadata.TargetsType]
	snapshot    *metadata.Metadata[metadata.SnapshotType]
	timestamp   *metadata.Metadata[metadata.TimestampType]
}

// How long one metadata request may take: metadata is small, so a slow
// one is a broken (or stalling) upstream.
const metadataTimeout = 2 * time.Minute

// rootMaxLength bounds a root version fetched outside go-tuf, as go-tuf's
// own default bounds those it fetches.
const rootMaxLength = 512000

// verify fetches the upstream's metadata and verifies it in memory and in
// a scratch directory; it stores nothing.
func (m *Mirror) verify(ctx context.Context) (*verified, error) {
	v := &verified{}
	anchor, err := m.o.Store.TUF(ctx, tufrepo.Root, 0)
	switch {
	case errors.Is(err, patchday.ErrNotFound):
		// The first sync: the store's roots must start at version 1, so
		// the chain up to the operator's root comes from the upstream.
		anchor = m.o.Root
		if v.roots, err = m.rootChain(ctx); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("read the mirrored root: %w", err)
	default:
		m.compareConfiguredRoot(ctx, anchor)
	}
	anchorRoot, err := metadata.Root().FromBytes(anchor)
	if err != nil {
		return nil, fmt.Errorf("the mirrored root does not parse (%v); the store is damaged", err)
	}

	dir, err := os.MkdirTemp("", "patchday-mirror-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Seed go-tuf's local metadata with what was mirrored before, so its
	// rollback checks compare the upstream's new metadata with ours.
	// go-tuf verifies the seeds against the newest root it trusts (the
	// anchor, or its successors) and ignores those that no longer verify,
	// as after a key rotation.
	for _, role := range []string{tufrepo.Timestamp, tufrepo.Snapshot, tufrepo.Targets} {
		b, err := m.o.Store.TUF(ctx, role, 0)
		if errors.Is(err, patchday.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read the mirrored %s: %w", role, err)
		}
		if err := os.WriteFile(filepath.Join(dir, role+".json"), b, 0o600); err != nil {
			return nil, err
		}
	}
	f := m.fetcher(ctx)
	cfg, err := config.New(m.base+"/tuf/", anchor)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = dir
	cfg.LocalTargetsDir = filepath.Join(dir, "targets")
	cfg.RemoteTargetsURL = m.base + "/tuf/targets/"
	cfg.PrefixTargetsWithHash = true
	cfg.Fetcher = f
	up, err := updater.New(cfg)
	if err != nil {
		return nil, &refusal{reason: "the trusted root: " + err.Error(), err: err}
	}
	up.UnsafeSetRefTime(m.now()) // the mirror's clock, as for everything else it does
	if err := up.Refresh(); err != nil {
		return nil, m.refreshError(ctx, err)
	}
	trusted := up.GetTrustedMetadataSet()

	// go-tuf keeps only the newest root on disk; the versions between come
	// from the fetcher, which saw exactly the bytes go-tuf verified.
	v.rootVersion = trusted.Root.Signed.Version
	for n := anchorRoot.Signed.Version + 1; n <= v.rootVersion; n++ {
		b, ok := f.got[m.rootURL(n)]
		if !ok {
			return nil, fmt.Errorf("go-tuf trusts root version %d but the mirror did not see it fetched; report this as a patchday bug", n)
		}
		v.roots = append(v.roots, rawMeta{role: tufrepo.Root, version: n, body: b})
	}
	if final, err := os.ReadFile(filepath.Join(dir, "root.json")); err != nil {
		return nil, err
	} else if n := len(v.roots); n > 0 && !bytes.Equal(final, v.roots[n-1].body) {
		return nil, fmt.Errorf("the root go-tuf kept is not the one fetched; report this as a patchday bug")
	}

	// The bytes go-tuf persisted are those it verified; check them against
	// the trusted set all the same, since they are what the mirror serves.
	read := func(role string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, role+".json")) }
	tsBody, err := read(tufrepo.Timestamp)
	if err != nil {
		return nil, err
	}
	snapBody, err := read(tufrepo.Snapshot)
	if err != nil {
		return nil, err
	}
	tgBody, err := read(tufrepo.Targets)
	if err != nil {
		return nil, err
	}
	v.timestamp, v.snapshot, v.targets = trusted.Timestamp, trusted.Snapshot, trusted.Targets[tufrepo.Targets]
	if v.timestamp == nil || v.snapshot == nil || v.targets == nil {
		return nil, fmt.Errorf("go-tuf refreshed without trusting all top-level roles; report this as a patchday bug")
	}
	if got, err := metadata.Timestamp().FromBytes(tsBody); err != nil || got.Signed.Version != v.timestamp.Signed.Version {
		return nil, fmt.Errorf("the timestamp go-tuf kept is not the one it trusts; report this as a patchday bug")
	}
	snapMeta := v.timestamp.Signed.Meta["snapshot.json"]
	if snapMeta == nil {
		return nil, refuse("the timestamp names no snapshot")
	}
	// A snapshot mirrored before passes go-tuf as trusted local data when
	// the new timestamp names its version; if the timestamp's hash for that
	// version differs, the upstream signed two snapshots under one number.
	if err := snapMeta.VerifyLengthHashes(snapBody); err != nil {
		return nil, refuse("the timestamp names snapshot version %d with a hash the copy mirrored earlier does not have: the upstream signed two different snapshots under one version (%v)",
			snapMeta.Version, err)
	}
	if got, err := metadata.Snapshot().FromBytes(snapBody); err != nil || got.Signed.Version != v.snapshot.Signed.Version {
		return nil, fmt.Errorf("the snapshot go-tuf kept is not the one it trusts; report this as a patchday bug")
	}
	tgMeta := v.snapshot.Signed.Meta["targets.json"]
	if tgMeta == nil {
		return nil, refuse("the snapshot names no targets")
	}
	if err := tgMeta.VerifyLengthHashes(tgBody); err != nil {
		return nil, refuse("the snapshot names targets version %d with a hash the copy mirrored earlier does not have (%v)", tgMeta.Version, err)
	}
	if got, err := metadata.Targets().FromBytes(tgBody); err != nil || got.Signed.Version != v.targets.Signed.Version {
		return nil, fmt.Errorf("the targets go-tuf kept are not those it trusts; report this as a patchday bug")
	}
	v.meta = []rawMeta{
		{role: tufrepo.Targets, version: v.targets.Signed.Version, body: tgBody},
		{role: tufrepo.Snapshot, version: v.snapshot.Signed.Version, body: snapBody},
		{role: tufrepo.Timestamp, version: v.timestamp.Signed.Version, body: tsBody},
	}

	// Compare with what is stored before writing anything: a version
	// stored already must come back byte for byte.
	for _, list := range [][]rawMeta{v.roots, v.meta} {
		for i := range list {
			r := &list[i]
			stored, err := m.o.Store.TUF(ctx, r.role, r.version)
			switch {
			case errors.Is(err, patchday.ErrNotFound):
			case err != nil:
				return nil, fmt.Errorf("read the mirrored %s version %d: %w", r.role, r.version, err)
			case bytes.Equal(stored, r.body):
				r.stored = true
			default:
				return nil, refuse("the upstream serves %s version %d with content that differs from the copy mirrored earlier: it signed two different versions under one number",
					r.role, r.version)
			}
		}
	}
	return v, nil
}

// refreshError says why go-tuf's refresh failed: the upstream could not be
// reached, or what it served did not verify.
func (m *Mirror) refreshError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("mirror sync stopped: %w", context.Cause(ctx))
	}
	var un *unreachable
	var he *metadata.ErrDownloadHTTP
	if errors.As(err, &un) || errors.As(err, &he) {
		return fmt.Errorf("could not fetch the upstream's metadata (%w); the mirror keeps serving what it had and tries again at the next sync", err)
	}
	return &refusal{reason: err.Error(), err: err}
}

// rootChain fetches root versions 1 to the operator's from the upstream and
// checks, in memory, that each is signed by its predecessor and itself and
// that the last is byte for byte the operator's.
func (m *Mirror) rootChain(ctx context.Context) ([]rawMeta, error) {
	want, err := metadata.Root().FromBytes(m.o.Root)
	if err != nil {
		return nil, err // New checked it
	}
	n := want.Signed.Version
	f := m.fetcher(ctx)
	var chain []rawMeta
	var prev *metadata.Metadata[metadata.RootType]
	for v := int64(1); v <= n; v++ {
		body, err := f.DownloadFile(m.rootURL(v), rootMaxLength, 0)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mirror sync stopped: %w", context.Cause(ctx))
			}
			return nil, fmt.Errorf("could not fetch the upstream's root version %d (%w); the mirror needs versions 1 to %d to begin, and tries again at the next sync", v, err, n)
		}
		next, err := metadata.Root().FromBytes(body)
		if err != nil {
			return nil, refuse("the upstream's root version %d is not root metadata: %v", v, err)
		}
		if next.Signed.Version != v {
			return nil, refuse("the upstream serves version %d as root version %d", next.Signed.Version, v)
		}
		if prev != nil {
			if err := prev.VerifyDelegate(tufrepo.Root, next); err != nil {
				return nil, refuse("the upstream's root version %d is not signed by enough keys of version %d: %v", v, v-1, err)
			}
		}
		if err := next.VerifyDelegate(tufrepo.Root, next); err != nil {
			return nil, refuse("the upstream's root version %d is not signed by enough of its own root keys: %v", v, err)
		}
		chain = append(chain, rawMeta{role: tufrepo.Root, version: v, body: body})
		prev = next
	}
	if !bytes.Equal(chain[n-1].body, m.o.Root) {
		return nil, refuse("upstream root version %d differs from the root you trust; check that --upstream names the vendor whose root.json you were given", n)
	}
	return chain, nil
}

// compareConfiguredRoot warns when the operator's root is not part of the
// chain the mirror follows: the store's chain wins, and the operator
// should know their configuration says otherwise.
func (m *Mirror) compareConfiguredRoot(ctx context.Context, anchor []byte) {
	if bytes.Equal(anchor, m.o.Root) {
		return
	}
	want, err := metadata.Root().FromBytes(m.o.Root)
	if err != nil {
		return
	}
	stored, err := m.o.Store.TUF(ctx, tufrepo.Root, want.Signed.Version)
	if err == nil && !bytes.Equal(stored, m.o.Root) {
		m.log.Warn("the trusted root given differs from the mirrored root of the same version; the mirror keeps following the roots it has stored",
			"version", want.Signed.Version)
	}
}

// store writes verified metadata: roots first (each checked against its
// predecessor again on import), then targets, snapshot and timestamp.
func (m *Mirror) store(ctx context.Context, v *verified) error {
	repo := tufrepo.New(m.o.Store, nil, tufrepo.Expiry{}, m.now)
	for _, r := range v.roots {
		if r.stored {
			continue
		}
		if _, err := repo.ImportRoot(ctx, r.body); err != nil {
			return fmt.Errorf("store the upstream's root version %d: %w", r.version, err)
		}
		m.log.Info("mirrored a new root version", "upstream", m.base, "version", r.version)
	}
	now := m.now()
	for _, r := range v.meta {
		if r.stored {
			continue
		}
		err := m.o.Store.PutTUF(ctx, r.role, r.version, r.body, now)
		if errors.Is(err, patchday.ErrConflict) {
			// Another sync stored that version meanwhile: fine if the same.
			stored, rerr := m.o.Store.TUF(ctx, r.role, r.version)
			if rerr == nil && bytes.Equal(stored, r.body) {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("store the upstream's %s version %d: %w", r.role, r.version, err)
		}
	}
	return nil
}

func (m *Mirror) rootURL(v int64) string {
	return m.base + "/tuf/" + strconv.FormatInt(v, 10) + ".root.json"
}

// fetcher is go-tuf's view of the upstream: it honours the sync's context
// and remembers what it fetched, so the root versions go-tuf verified on
// its way to the newest can be stored as they were.
type fetcher struct {
	ctx    context.Context
	client *http.Client
	got    map[string][]byte
}

func (m *Mirror) fetcher(ctx context.Context) *fetcher {
	return &fetcher{ctx: ctx, client: m.http, got: map[string][]byte{}}
}

// unreachable is a failure to talk to the upstream, as opposed to the
// upstream answering with something that does not verify.
type unreachable struct{ err error }

func (u *unreachable) Error() string { return u.err.Error() }
func (u *unreachable) Unwrap() error { return u.err }

// DownloadFile implements go-tuf's fetcher.Fetcher.
func (f *fetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(f.ctx, metadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, &unreachable{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// go-tuf reads a 404 for the next root version as "no newer root".
		return nil, &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: u}
	}
	if resp.ContentLength > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is %d bytes, more than the %d allowed", u, resp.ContentLength, maxLength)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, &unreachable{fmt.Errorf("%s: %w", u, err)}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is more than the %d bytes allowed", u, maxLength)}
	}
	f.got[u] = b
	return b, nil
}
