package catalog_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/store/sqlite"
)

type fixture struct {
	t     *testing.T
	st    *sqlite.Store
	blobs *blob.Store
	svc   *catalog.Service
	at    time.Time
}

func newFixture(t *testing.T, k int) *fixture {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ps := product.NewService(st, nil)
	if _, err := ps.Add(t.Context(), audit.System, "tool", "Example", "semver"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &fixture{t: t, st: st, blobs: blobs, svc: catalog.NewService(st, st, blobs, nil, k, log, nil), at: time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)}
}

// build makes a payload of a small tree whose main file changes a little
// with each version, and stores it as an uploaded build.
func (f *fixture) build(prod, version, restart string) intake.Attachment {
	dir := f.t.TempDir()
	// 64 KiB that compress poorly, the same in every version, then the
	// version: a delta is far smaller than the payload.
	body := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(body)
	body = append(body, version...)
	if err := os.WriteFile(filepath.Join(dir, "tool"), body, 0o755); err != nil {
		f.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := payload.Build(f.t.Context(), dir, payload.Meta{Product: prod, Version: version, Restart: restart}, &buf); err != nil {
		f.t.Fatal(err)
	}
	return f.put(buf.Bytes(), "tool-"+version+".tar.zst")
}

func (f *fixture) put(b []byte, name string) intake.Attachment {
	ref, err := f.blobs.Put(f.t.Context(), bytes.NewReader(b), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return intake.Attachment{Name: name, ContentType: "application/zstd", SHA256: ref.SHA256, Size: ref.Size}
}

func (f *fixture) publish(version string, p intake.Attachment) {
	ctx := f.t.Context()
	pr, err := f.st.ProductByName(ctx, "tool")
	if err != nil {
		f.t.Fatal(err)
	}
	f.at = f.at.Add(time.Hour)
	r := release.Release{At: f.at, Kind: release.OutOfBand, Justification: "x", CreatedAt: f.at}
	e := audit.New(audit.System, f.at, "x", "", "")
	if err := f.st.CreateRelease(ctx, &r, e); err != nil {
		f.t.Fatal(err)
	}
	u := release.Update{ProductID: pr.ID, Brings: version, Classification: "security", Severity: "Low", Payload: p, CreatedAt: f.at}
	if _, err := f.st.MarkPublished(ctx, r.ID, f.at, []release.Update{u}, e); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sync() []catalog.Entry {
	got, err := f.svc.Sync(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return got.Added
}

// TestDirectDeltasFromPreviousVersions: each new version gets a delta
// from each of the k highest earlier versions (by the product's scheme,
// not by publication order), never from a refused or a later one.
func TestDirectDeltasFromPreviousVersions(t *testing.T) {
	f := newFixture(t, 2)
	for _, v := range []string{"1.0.0", "1.2.0", "1.1.0"} {
		f.publish(v, f.build("tool", v, "none"))
	}
	added := f.sync()
	from := func(e catalog.Entry) []string {
		var out []string
		for _, d := range e.Deltas {
			out = append(out, d.From)
		}
		slices.Sort(out)
		return out
	}
	want := map[string][]string{"1.0.0": nil, "1.2.0": {"1.0.0"}, "1.1.0": {"1.0.0"}}
	for _, e := range added {
		if !slices.Equal(from(e), want[e.Update.Brings]) || e.State != catalog.Ready {
			t.Errorf("%s: %s, deltas from %v, want %v", e.Update.Brings, e.State, from(e), want[e.Update.Brings])
		}
	}
	f.publish("2.0.0", f.build("tool", "2.0.0", "reboot"))
	added = f.sync()
	if len(added) != 1 || !slices.Equal(from(added[0]), []string{"1.1.0", "1.2.0"}) || added[0].Restart != "reboot" {
		t.Fatalf("2.0.0: %+v", added)
	}
	for _, d := range added[0].Deltas {
		if d.Size >= added[0].Full.Size/10 || !strings.HasSuffix(d.Path, "/from-"+d.From+".delta") {
			t.Errorf("delta from %s: %d bytes of %d, at %s", d.From, d.Size, added[0].Full.Size, d.Path)
		}
	}
	if again := f.sync(); len(again) != 0 {
		t.Fatalf("a second sync added %d entries", len(again))
	}
}

// TestBuildsThatCannotBeDistributed are recorded as refused, with the
// reason, and never become a delta base.
func TestBuildsThatCannotBeDistributed(t *testing.T) {
	f := newFixture(t, 3)
	f.publish("1.0.0", f.put([]byte("a source patch, not a payload"), "fix.patch"))
	f.publish("1.1.0", f.build("other", "1.1.0", "none"))
	f.publish("1.2.0", f.build("tool", "1.2.1", "none"))
	f.publish("1.3.0", f.build("tool", "1.3.0", "none"))
	reasons := map[string]string{}
	for _, e := range f.sync() {
		reasons[e.Update.Brings] = e.State + ": " + e.Reason
		if e.Update.Brings == "1.3.0" && len(e.Deltas) != 0 {
			t.Errorf("1.3.0 has deltas from refused builds: %+v", e.Deltas)
		}
	}
	for v, want := range map[string]string{
		"1.0.0": "refused: the build fix.patch is not a patchday payload",
		"1.1.0": `refused: the payload is for product "other", not "tool"`,
		"1.2.0": `refused: the payload installs version "1.2.1", but the fix brings "1.2.0"`,
		"1.3.0": "ready: ",
	} {
		if !strings.HasPrefix(reasons[v], want) {
			t.Errorf("%s: %q, want %q…", v, reasons[v], want)
		}
	}
	targets, err := catalog.Targets(mustEntries(t, f))
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets: %v %v", targets, err)
	}
	if _, err := f.svc.Content(t.Context(), f.put([]byte("a source patch, not a payload"), "x").SHA256); err == nil {
		t.Fatal("a refused build is served as content")
	}
}

func mustEntries(t *testing.T, f *fixture) []catalog.Entry {
	es, err := f.svc.Entries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return es
}
