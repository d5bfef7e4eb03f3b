package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	patchday "github.com/patchday/patchday"

	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/tufrepo"
)

// Products is what the catalog needs of products: their version order.
type Products interface {
	ProductByName(ctx context.Context, name string) (product.Product, error)
}

// DefaultDeltas is how many earlier versions get a direct delta.
const DefaultDeltas = 3

// Service builds the catalog from published updates.
type Service struct {
	store    Store
	products Products
	blobs    *blob.Store
	repo     *tufrepo.Repo // nil: entries are recorded but nothing is signed
	deltas   int
	log      *slog.Logger
	now      func() time.Time
}

// NewService returns a Service that makes direct deltas from the previous
// k versions of a product. repo may be nil (no keys: nothing is signed),
// now nil for time.Now.
func NewService(s Store, p Products, blobs *blob.Store, repo *tufrepo.Repo, k int, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, products: p, blobs: blobs, repo: repo, deltas: k, log: log, now: now}
}

// Synced says what one Sync did.
type Synced struct {
	Added   []Entry // new entries, ready or refused
	Signed  bool    // a new targets version was signed and published
	Pending bool    // new targets wait for offline signatures
}

// Sync adds an entry for every published update that has none — its
// payload checked, its deltas built — and, if the signed targets no longer
// match the ready entries, publishes new targets. It is idempotent; the
// server runs it under a lease after each publication round.
func (s *Service) Sync(ctx context.Context) (Synced, error) {
	var out Synced
	updates, err := s.store.ListUpdates(ctx)
	if err != nil {
		return out, err
	}
	entries, err := s.store.CatalogEntries(ctx)
	if err != nil {
		return out, err
	}
	have := map[int64]bool{}
	for _, e := range entries {
		have[e.Update.ID] = true
	}
	for _, u := range updates {
		if have[u.ID] {
			continue
		}
		e, err := s.entry(ctx, u, entries)
		if err != nil {
			return out, fmt.Errorf("catalog entry for %s %s: %w", u.Product, u.Brings, err)
		}
		if err := s.store.PutCatalogEntry(ctx, e); err != nil {
			return out, err
		}
		if e.State == Refused {
			s.log.Warn("update not distributed", "product", u.Product, "version", u.Brings, "reason", e.Reason)
		}
		entries = append(entries, e)
		out.Added = append(out.Added, e)
	}
	if s.repo == nil {
		return out, nil
	}
	want, err := Targets(entries)
	if err != nil {
		return out, err
	}
	if s.signed(ctx, tufrepo.Targets, want) || s.signed(ctx, tufrepo.Pending, want) {
		return out, nil
	}
	switch err := s.repo.Publish(ctx, want); {
	case errors.Is(err, tufrepo.ErrNeedsSignature):
		out.Pending = true
		s.log.Warn("new catalog targets wait for offline signatures: run 'patchday catalog pending', 'patchday keys sign' and 'patchday catalog submit'")
	case err != nil:
		return out, err
	default:
		out.Signed = true
	}
	return out, nil
}

// signed reports whether the newest metadata stored under role lists
// exactly the wanted targets.
func (s *Service) signed(ctx context.Context, role string, want map[string]*metadata.TargetFiles) bool {
	b, err := s.store.TUF(ctx, role, 0)
	if err != nil {
		return false
	}
	md, err := metadata.Targets().FromBytes(b)
	if err != nil {
		return false
	}
	if role == tufrepo.Pending {
		if cur, err := s.store.TUF(ctx, tufrepo.Targets, 0); err == nil {
			if c, err := metadata.Targets().FromBytes(cur); err == nil && c.Signed.Version >= md.Signed.Version {
				return false // that pending version was signed or overtaken
			}
		}
	}
	return maps.EqualFunc(md.Signed.Targets, want, func(a, b *metadata.TargetFiles) bool {
		return a.Equal(*b) && bytes.Equal(rawOf(a.Custom), rawOf(b.Custom))
	})
}

func rawOf(m *json.RawMessage) []byte {
	if m == nil {
		return nil
	}
	var v any
	if json.Unmarshal(*m, &v) != nil {
		return *m
	}
	b, _ := json.Marshal(v) // normalise spacing and key order
	return b
}

// entry checks an update's build and builds its deltas.
func (s *Service) entry(ctx context.Context, u release.Update, earlier []Entry) (Entry, error) {
	e := Entry{Update: u, State: Refused, Restart: "none", Created: s.now().UTC()}
	e.Full = Target{Path: targetPath(u.Product, u.ProductID, u.Brings, "payload.tar.zst"), SHA256: u.Payload.SHA256, Size: u.Payload.Size}
	restart, problem := s.Check(u)
	if problem != "" {
		e.Reason = problem
		return e, nil
	}
	e.State, e.Restart = Ready, restart
	bases, err := s.bases(ctx, u, earlier)
	if err != nil {
		return e, err
	}
	for _, b := range bases {
		d, err := s.delta(ctx, b, u)
		if errors.Is(err, errNotSmaller) {
			continue // the full payload is the smaller route
		}
		if err != nil {
			// A missing delta costs bandwidth, not correctness.
			s.log.Warn("delta not built; clients download the full payload", "product", u.Product,
				"from", b.Update.Brings, "to", u.Brings, "err", err)
			continue
		}
		e.Deltas = append(e.Deltas, d)
	}
	return e, nil
}

// Check says whether an update's build can be distributed: it must be a
// patchday payload of the update's product and version. It returns the
// payload's restart need, or the problem.
func (s *Service) Check(u release.Update) (restart, problem string) {
	m, err := s.manifest(u.Payload.SHA256)
	switch {
	case errors.Is(err, patchday.ErrNotFound):
		return "", fmt.Sprintf("the build %s is missing from the blob store", u.Payload.Name)
	case err != nil:
		return "", fmt.Sprintf("the build %s is not a patchday payload (%v); build one with 'patchday payload build'", u.Payload.Name, err)
	case m.Product != u.Product:
		return "", fmt.Sprintf("the payload is for product %q, not %q", m.Product, u.Product)
	case m.Version != u.Brings:
		return "", fmt.Sprintf("the payload installs version %q, but the fix brings %q", m.Version, u.Brings)
	}
	return m.Restart, ""
}

func (s *Service) manifest(sha string) (payload.Manifest, error) {
	f, err := s.blobs.Open(sha)
	if err != nil {
		return payload.Manifest{}, err
	}
	defer f.Close()
	return payload.ReadManifest(f, payload.Limits{})
}

// bases picks the ready entries of the same product with the k highest
// versions below u's.
func (s *Service) bases(ctx context.Context, u release.Update, earlier []Entry) ([]Entry, error) {
	if s.deltas <= 0 {
		return nil, nil
	}
	p, err := s.products.ProductByName(ctx, u.Product)
	if err != nil {
		return nil, err
	}
	var below []Entry
	for _, e := range earlier {
		if e.State == Ready && e.Update.ProductID == u.ProductID && p.Scheme.Compare(e.Update.Brings, u.Brings) < 0 {
			below = append(below, e)
		}
	}
	slices.SortFunc(below, func(a, b Entry) int { return p.Scheme.Compare(b.Update.Brings, a.Update.Brings) })
	return below[:min(len(below), s.deltas)], nil
}

// errNotSmaller says a delta would be no smaller than the full payload.
var errNotSmaller = errors.New("the delta is not smaller than the payload")

func (s *Service) delta(ctx context.Context, from Entry, to release.Update) (Delta, error) {
	start := time.Now()
	oldF, err := s.blobs.Open(from.Full.SHA256)
	if err != nil {
		return Delta{}, err
	}
	defer oldF.Close()
	newF, err := s.blobs.Open(to.Payload.SHA256)
	if err != nil {
		return Delta{}, err
	}
	defer newF.Close()
	var buf bytes.Buffer
	if err := payload.BuildDelta(ctx, oldF, newF, &buf, payload.Limits{}); err != nil {
		return Delta{}, err
	}
	if int64(buf.Len()) >= to.Payload.Size {
		return Delta{}, errNotSmaller
	}
	ref, err := s.blobs.Put(ctx, &buf, int64(buf.Len())+1)
	if err != nil {
		return Delta{}, err
	}
	return Delta{
		From:   from.Update.Brings,
		Target: Target{Path: targetPath(to.Product, to.ProductID, to.Brings, "from-"+safe(from.Update.Brings)+".delta"), SHA256: ref.SHA256, Size: ref.Size},
		Build:  time.Since(start),
	}, nil
}

// Targets returns the TUF targets for the ready entries: each payload and
// each delta, with custom metadata saying what it is.
func Targets(entries []Entry) (map[string]*metadata.TargetFiles, error) {
	out := map[string]*metadata.TargetFiles{}
	for _, e := range entries {
		if e.State != Ready {
			continue
		}
		c := Custom{
			Product: e.Update.Product, Version: e.Update.Brings, Kind: "payload", AppliesTo: e.Update.AppliesTo,
			Classification: e.Update.Classification, Severity: e.Update.Severity, Supersedes: []string{}, Restart: e.Restart, Update: e.Update.ID,
		}
		for _, sup := range e.Update.Supersedes {
			c.Supersedes = append(c.Supersedes, sup.Brings)
		}
		if c.AppliesTo == nil {
			c.AppliesTo = []string{}
		}
		if err := addTarget(out, e.Full, c); err != nil {
			return nil, err
		}
		for _, d := range e.Deltas {
			dc := c
			dc.Kind, dc.From = "delta", d.From
			if err := addTarget(out, d.Target, dc); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func addTarget(out map[string]*metadata.TargetFiles, t Target, c Custom) error {
	sum, err := hexBytes(t.SHA256)
	if err != nil {
		return fmt.Errorf("target %s: %w", t.Path, err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	msg := json.RawMessage(raw)
	tf := metadata.TargetFile()
	tf.Length, tf.Hashes, tf.Custom, tf.Path = t.Size, metadata.Hashes{"sha256": sum}, &msg, t.Path
	out[t.Path] = tf
	return nil
}

// Content opens a file the catalog serves — a ready entry's payload or a
// delta — by its sha256. Anything else in the blob store (reports'
// attachments, builds of unreleased fixes) is not found here: the embargo.
func (s *Service) Content(ctx context.Context, sha string) (*os.File, error) {
	if !blob.ValidSum(sha) {
		return nil, patchday.Errorf(patchday.ErrNotFound, "no such content")
	}
	if _, ok, err := s.store.CatalogContent(ctx, sha); err != nil {
		return nil, err
	} else if !ok {
		return nil, patchday.Errorf(patchday.ErrNotFound, "no such content")
	}
	return s.blobs.Open(sha)
}

// Metadata returns a signed TUF metadata file by name (N.root.json,
// N.targets.json, N.snapshot.json, timestamp.json).
func (s *Service) Metadata(ctx context.Context, name string) ([]byte, error) {
	if s.repo == nil {
		return nil, patchday.Errorf(patchday.ErrNotFound, "this server does not sign a catalog")
	}
	return s.repo.Get(ctx, name)
}

// Repo returns the TUF repository, or nil if the server signs nothing.
func (s *Service) Repo() *tufrepo.Repo { return s.repo }

// Entries returns every catalog entry, oldest first.
func (s *Service) Entries(ctx context.Context) ([]Entry, error) {
	return s.store.CatalogEntries(ctx)
}
