// Package mirror keeps a customer's patchday server in step with its
// upstream (the vendor's server, or another mirror): it fetches the
// upstream's signed TUF metadata, verifies it with go-tuf's client against
// the root the operator trusts, stores it byte for byte — so the mirror
// serves the vendor's signatures and its agents trust the vendor, never
// the mirror — and downloads the content the targets name, resuming
// interrupted downloads and refusing anything that does not match its
// signed length and hash.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/catalog"
)

// Options configure a mirror.
type Options struct {
	// Upstream is the base URL of the upstream patchday server, e.g.
	// "https://updates.vendor.example".
	Upstream string
	// Root is the trusted root metadata (the operator's root.json), used
	// when the store holds no root yet; afterwards the newest stored root
	// is the trust anchor.
	Root []byte
	// Store keeps the mirrored metadata and the targets' records.
	Store Store
	// Blobs receives the targets' content, once verified.
	Blobs *blob.Store
	// Partial is the directory for partial downloads, kept across syncs so
	// an interrupted download resumes; created 0700 if missing.
	Partial string
	// HTTP is the client for the upstream; nil: one with connection and
	// response-header timeouts but no overall limit, since payloads can
	// be large (a stalled body is cut off separately).
	HTTP *http.Client
	// Want says whether to fetch a target's content now (nil: all). The
	// customer server passes "only approved updates" here when so
	// configured; targets not wanted are recorded all the same.
	Want func(path string, c catalog.Custom) bool
	// Progress, if set, is called at least every 256 KiB of content and at
	// the end of each file.
	Progress func(Progress)
	// Log receives the sync's start, end and refusals; nil: slog.Default().
	Log *slog.Logger
	// Now is the clock metadata expiry is judged by; nil: time.Now.
	Now func() time.Time
}

// Progress is how far a sync has come: the file being downloaded and the
// whole batch of files this sync fetches.
type Progress struct {
	File               string // target path
	FileDone, FileSize int64
	Files, FilesDone   int
	Done, Total        int64 // bytes, over all files this sync fetches
}

// Result sums up one sync.
type Result struct {
	// Versions now mirrored.
	Root, Targets, Snapshot, Timestamp int64
	// Known is the number of targets the upstream's targets name (those
	// with a sha256, as patchday signs them all); Fetched
	// how many were downloaded by this sync; Skipped how many Want
	// declined and are not here yet.
	Known, Fetched, Skipped int
	Bytes                   int64 // content bytes received
	Resumed                 int   // downloads that continued a partial file
}

// Mirror syncs one upstream into a store and a blob store.
type Mirror struct {
	o    Options
	base string // upstream URL without a trailing slash
	log  *slog.Logger
	now  func() time.Time
	http *http.Client
	// Syncs of one Mirror run one at a time: they share partial files.
	mu sync.Mutex
}

// New checks the options and returns a Mirror.
func New(o Options) (*Mirror, error) {
	base, err := checkUpstream(o.Upstream)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(o.Root); err != nil {
		return nil, err
	}
	switch {
	case o.Store == nil:
		return nil, errors.New("mirror: no store given")
	case o.Blobs == nil:
		return nil, errors.New("mirror: no blob store given")
	case o.Partial == "":
		return nil, errors.New("mirror: no directory for partial downloads given")
	}
	if err := os.MkdirAll(o.Partial, 0o700); err != nil {
		return nil, fmt.Errorf("mirror: the directory for partial downloads: %w", err)
	}
	m := &Mirror{o: o, base: base, log: o.Log, now: o.Now, http: o.HTTP}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.http == nil {
		m.http = defaultClient()
	}
	return m, nil
}

func checkUpstream(s string) (string, error) {
	if s == "" {
		return "", errors.New("no upstream URL given; pass the upstream patchday server's address, e.g. https://updates.vendor.example")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("upstream %q is not a URL: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("upstream %q: the URL must start with https:// (or http://)", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("upstream %q names no host", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("upstream %q: give the server's base URL, without credentials, query or fragment", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// checkRoot makes sure the operator's root is TUF root metadata signed by
// its own threshold of root keys: anything else could never anchor trust.
func checkRoot(b []byte) error {
	if len(b) == 0 {
		return errors.New("no trusted root given; pass the root.json the upstream's vendor published")
	}
	r, err := metadata.Root().FromBytes(b)
	if err != nil {
		return fmt.Errorf("the trusted root is not TUF root metadata: %v", err)
	}
	if r.Signed.Version < 1 {
		return fmt.Errorf("the trusted root has version %d; root versions start at 1", r.Signed.Version)
	}
	if err := r.VerifyDelegate(metadata.ROOT, r); err != nil {
		return fmt.Errorf("the trusted root is not signed by enough of its own root keys (%v); get an intact copy from the vendor", err)
	}
	return nil
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
}

// Sync brings the mirror up to date: it verifies the upstream's metadata,
// stores what is new, records the targets and downloads the wanted content
// not here yet. Metadata the upstream serves that does not verify is
// refused and nothing of it stored; a file whose content does not match its
// target ends the sync with an error (the verified metadata stays stored,
// and the next sync carries on). On an error, the Result says what was
// done before it.
func (m *Mirror) Sync(ctx context.Context) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log.Info("mirror sync started", "upstream", m.base)
	var res Result
	v, err := m.verify(ctx)
	if err != nil {
		var r *refusal
		if errors.As(err, &r) {
			m.log.Warn("upstream metadata refused", "upstream", m.base, "reason", r.reason)
		}
		return res, err
	}
	if err := m.store(ctx, v); err != nil {
		return res, err
	}
	res.Root, res.Targets = v.rootVersion, v.targets.Signed.Version
	res.Snapshot, res.Timestamp = v.snapshot.Signed.Version, v.timestamp.Signed.Version
	if err := m.content(ctx, v.targets, &res); err != nil {
		return res, err
	}
	m.log.Info("mirror sync done", "upstream", m.base, "root", res.Root, "targets", res.Targets, "snapshot", res.Snapshot,
		"timestamp", res.Timestamp, "known", res.Known, "fetched", res.Fetched, "skipped", res.Skipped, "bytes", res.Bytes, "resumed", res.Resumed)
	return res, nil
}
