package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/release"
)

const releasesDir = "../../../shared/testdata/releases/nginx"

const (
	nginxOld = "1.22.1-9+deb12u9"
	nginxNew = "1.22.1-9+deb12u11"
)

// storePayload builds a payload of the corpus tree for version and puts
// it in the blob store, as a developer's upload of the fix build does.
func (h *harness) storePayload(version, restart string) intake.Attachment {
	h.t.Helper()
	var buf bytes.Buffer
	if _, err := payload.Build(h.t.Context(), filepath.Join(releasesDir, version), payload.Meta{Product: "nginx", Version: version, Restart: restart}, &buf); err != nil {
		h.t.Fatal(err)
	}
	ref, err := h.srv.Blobs.Put(h.t.Context(), &buf, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return intake.Attachment{Name: "nginx-" + version + ".tar.zst", ContentType: "application/zstd", SHA256: ref.SHA256, Size: ref.Size}
}

// publish records a published release that brings version, as release
// publication does (the rules that plan updates are tested in release).
func (h *harness) publish(version string, appliesTo []string, supersedes []release.Superseded, p intake.Attachment) release.Update {
	h.t.Helper()
	ctx := h.t.Context()
	pr, err := h.srv.Products.ByName(ctx, "nginx")
	if err != nil {
		h.t.Fatal(err)
	}
	r := release.Release{At: h.clock.Now(), Kind: release.OutOfBand, Justification: "test", CreatedAt: h.clock.Now()}
	e := audit.New(audit.System, h.clock.Now(), "x", "", "")
	if err := h.db.CreateRelease(ctx, &r, e); err != nil {
		h.t.Fatal(err)
	}
	u := release.Update{ReleaseID: r.ID, ProductID: pr.ID, Product: "nginx", Brings: version, AppliesTo: appliesTo, Classification: "security",
		Severity: "High", Cases: []string{"PD-1"}, Supersedes: supersedes, Payload: p, CreatedAt: h.clock.Now()}
	us := []release.Update{u}
	if ok, err := h.db.MarkPublished(ctx, r.ID, h.clock.Now(), us, e); err != nil || !ok {
		h.t.Fatalf("publish: %v %v", ok, err)
	}
	return us[0]
}

// proxy sits between go-tuf's client and the real server, so a test can
// play the attacker: replace what one path answers.
type proxy struct {
	h        http.Handler
	mu       sync.Mutex
	override map[string][]byte
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	b, ok := p.override[r.URL.Path]
	p.mu.Unlock()
	if ok {
		w.Write(b)
		return
	}
	p.h.ServeHTTP(w, r)
}

func (p *proxy) set(path string, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b == nil {
		delete(p.override, path)
		return
	}
	p.override[path] = b
}

func (h *harness) tufClient(base, local string, at time.Time) *updater.Updater {
	h.t.Helper()
	root, err := os.ReadFile(filepath.Join(h.keys, "1.root.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	cfg, err := config.New(base+"/tuf/", root)
	if err != nil {
		h.t.Fatal(err)
	}
	cfg.LocalMetadataDir, cfg.LocalTargetsDir = local, filepath.Join(local, "targets")
	cfg.RemoteTargetsURL = base + "/tuf/targets/"
	up, err := updater.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	up.UnsafeSetRefTime(at)
	return up
}

func (h *harness) metadata(name string) []byte {
	h.t.Helper()
	rec := h.do(get("/tuf/"+name, ""))
	if rec.Code != 200 {
		h.t.Fatalf("/tuf/%s: %d", name, rec.Code)
	}
	return rec.Body.Bytes()
}

func TestCatalogSignedAndServed(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.srv.Products.Add(ctx, audit.System, "nginx", "Debian", "debian"); err != nil {
		t.Fatal(err)
	}
	cat := h.srv.Catalog
	oldP := h.storePayload(nginxOld, "service:nginx")
	first := h.publish(nginxOld, []string{"1.22.1-9+deb12u8"}, nil, oldP)
	if got, err := cat.Sync(ctx); err != nil || !got.Signed || len(got.Added) != 1 || got.Added[0].State != catalog.Ready {
		t.Fatalf("first sync: %+v %v", got, err)
	}

	// Embargo: the next build is in the blob store (uploaded, tested,
	// approved) but unpublished, so neither the catalog nor /content has it.
	newP := h.storePayload(nginxNew, "service:nginx")
	if rec := h.do(get("/content/"+newP.SHA256, "")); rec.Code != 404 {
		t.Fatalf("an unpublished build is served: %d", rec.Code)
	}
	if got, err := cat.Sync(ctx); err != nil || got.Signed || len(got.Added) != 0 {
		t.Fatalf("a sync with nothing published: %+v %v", got, err)
	}
	if strings.Contains(string(h.metadata("targets.json")), nginxNew) {
		t.Fatal("the targets name an unpublished version")
	}
	second := h.publish(nginxNew, []string{nginxOld}, []release.Superseded{{ID: first.ID, Brings: nginxOld}}, newP)
	got, err := cat.Sync(ctx)
	if err != nil || !got.Signed || len(got.Added) != 1 || len(got.Added[0].Deltas) != 1 {
		t.Fatalf("second sync: %+v %v", got, err)
	}
	d := got.Added[0].Deltas[0]
	if d.From != nginxOld || d.Size >= newP.Size/4 {
		t.Fatalf("delta from %s is %d bytes of a %d-byte payload", d.From, d.Size, newP.Size)
	}

	srv := httptest.NewServer(h.srv)
	defer srv.Close()
	up := h.tufClient(srv.URL, t.TempDir(), h.clock.Now())
	if err := up.Refresh(); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	targets := up.GetTopLevelTargets()
	if len(targets) != 3 {
		t.Fatalf("targets: %v", mapKeys(targets))
	}
	full := got.Added[0].Full.Path
	info, err := up.GetTargetInfo(full)
	if err != nil {
		t.Fatal(err)
	}
	var c catalog.Custom
	if err := json.Unmarshal(*info.Custom, &c); err != nil {
		t.Fatal(err)
	}
	want := catalog.Custom{Product: "nginx", Version: nginxNew, Kind: "payload", AppliesTo: []string{nginxOld}, Classification: "security",
		Severity: "High", Supersedes: []string{nginxOld}, Restart: "service:nginx", Update: second.ID}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("custom metadata %+v, want %+v", c, want)
	}
	_, body, err := up.DownloadTarget(info, filepath.Join(t.TempDir(), "p"), "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := payload.ReadManifest(bytes.NewReader(body), payload.Limits{}); err != nil || m.Version != nginxNew {
		t.Fatalf("downloaded payload: %+v %v", m.Version, err)
	}
	// The delta, applied to the old version as installed, gives the new.
	dinfo, err := up.GetTargetInfo(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	_, db, err := up.DownloadTarget(dinfo, filepath.Join(t.TempDir(), "d"), "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := payload.ApplyDelta(ctx, bytes.NewReader(db), os.DirFS(filepath.Join(releasesDir, nginxOld)), io.Discard, payload.Limits{}); err != nil || m.Version != nginxNew {
		t.Fatalf("apply the downloaded delta: %v", err)
	}

	// /content: Range, a strong ETag, immutable caching.
	req := get("/content/"+newP.SHA256, "")
	req.Header.Set("Range", "bytes=4-11")
	rec := h.do(req)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), body[4:12]) {
		t.Fatalf("range: %d %x", rec.Code, rec.Body.Bytes())
	}
	if rec.Header().Get("ETag") != `"`+newP.SHA256+`"` || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("headers: %v", rec.Header())
	}
	req = get("/content/"+newP.SHA256, "")
	req.Header.Set("If-None-Match", `"`+newP.SHA256+`"`)
	if rec := h.do(req); rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", rec.Code)
	}
	// Only catalog content: a researcher's attachment shares the blob
	// store but is never reachable by its hash.
	att, err := h.srv.Blobs.Put(ctx, strings.NewReader("proof of concept"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec := h.do(get("/content/"+att.SHA256, "")); rec.Code != 404 {
		t.Fatalf("an attachment is served as content: %d", rec.Code)
	}
	if rec := h.do(get("/tuf/targets/x/"+att.SHA256+".payload.tar.zst", "")); rec.Code != 404 {
		t.Fatalf("an attachment is served as a target: %d", rec.Code)
	}
}

// TestCatalogAttacks: go-tuf's client, talking to the real server through
// an attacker in the middle, refuses each of TUF's classic attacks.
func TestCatalogAttacks(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.srv.Products.Add(ctx, audit.System, "nginx", "Debian", "debian"); err != nil {
		t.Fatal(err)
	}
	cat := h.srv.Catalog
	oldP := h.storePayload(nginxOld, "none")
	h.publish(nginxOld, nil, nil, oldP)
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	v1 := map[string][]byte{"snapshot": h.metadata("1.snapshot.json"), "targets": h.metadata("1.targets.json"), "timestamp": h.metadata("timestamp.json")}
	h.clock.Advance(time.Hour)
	newP := h.storePayload(nginxNew, "none")
	h.publish(nginxNew, []string{nginxOld}, nil, newP)
	if _, err := cat.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p := &proxy{h: h.srv, override: map[string][]byte{}}
	srv := httptest.NewServer(p)
	defer srv.Close()
	now := h.clock.Now()
	fresh := func() *updater.Updater { return h.tufClient(srv.URL, t.TempDir(), now) }
	download := func(up *updater.Updater, path string) error {
		if err := up.Refresh(); err != nil {
			return err
		}
		info, err := up.GetTargetInfo(path)
		if err != nil {
			return err
		}
		_, _, err = up.DownloadTarget(info, filepath.Join(t.TempDir(), "t"), "")
		return err
	}
	entries, _ := cat.Entries(ctx)
	newPath := entries[1].Full.Path
	if err := download(fresh(), newPath); err != nil {
		t.Fatalf("honest server: %v", err)
	}

	t.Run("tampered payload", func(t *testing.T) {
		// The server's own copy is altered on disk (a compromised mirror).
		blobFile := filepath.Join(h.blobs, newP.SHA256[:2], newP.SHA256)
		orig, err := os.ReadFile(blobFile)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(blobFile, orig, 0o644)
		os.Chmod(blobFile, 0o644)
		bad := bytes.Clone(orig)
		bad[len(bad)/2] ^= 0xff
		if err := os.WriteFile(blobFile, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		err = download(fresh(), newPath)
		var lh *metadata.ErrLengthOrHashMismatch
		if !errors.As(err, &lh) {
			t.Fatalf("a tampered payload: %v", err)
		}
	})

	t.Run("tampered metadata", func(t *testing.T) {
		tg := h.metadata("2.targets.json")
		p.set("/tuf/2.targets.json", bytes.Replace(tg, []byte(`"length":`), []byte(`"length":1`), 1))
		defer p.set("/tuf/2.targets.json", nil)
		if err := download(fresh(), newPath); err == nil {
			t.Fatal("tampered targets accepted")
		}
	})

	t.Run("freeze: an expired timestamp", func(t *testing.T) {
		// Nobody re-signs; a day and a bit later the client refuses what
		// the server (or an attacker replaying it) still serves.
		up := h.tufClient(srv.URL, t.TempDir(), now.Add(25*time.Hour))
		var exp *metadata.ErrExpiredMetadata
		if err := up.Refresh(); !errors.As(err, &exp) {
			t.Fatalf("expired timestamp: %v", err)
		}
		// Once the server re-signs, the same client time is fine.
		h.clock.Advance(25 * time.Hour)
		defer func() { h.clock.Advance(-25 * time.Hour) }()
		if _, err := h.repo.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.tufClient(srv.URL, t.TempDir(), now.Add(25*time.Hour)).Refresh(); err != nil {
			t.Fatalf("after re-signing: %v", err)
		}
	})

	t.Run("rolled-back snapshot", func(t *testing.T) {
		// A client that saw the current state is served the older one.
		local := t.TempDir()
		up := h.tufClient(srv.URL, local, now.Add(25*time.Hour))
		if err := up.Refresh(); err != nil {
			t.Fatal(err)
		}
		p.set("/tuf/timestamp.json", v1["timestamp"])
		defer p.set("/tuf/timestamp.json", nil)
		var bad *metadata.ErrBadVersionNumber
		if err := h.tufClient(srv.URL, local, now).Refresh(); !errors.As(err, &bad) {
			t.Fatalf("rolled-back timestamp: %v", err)
		}
		// The current timestamp with the old snapshot behind its name.
		p.set("/tuf/timestamp.json", nil)
		cur := h.metadata("timestamp.json")
		var ts metadata.Metadata[metadata.TimestampType]
		if err := json.Unmarshal(cur, &ts); err != nil {
			t.Fatal(err)
		}
		p.set(fmt.Sprintf("/tuf/%d.snapshot.json", ts.Signed.Meta["snapshot.json"].Version), v1["snapshot"])
		defer p.set(fmt.Sprintf("/tuf/%d.snapshot.json", ts.Signed.Meta["snapshot.json"].Version), nil)
		if err := h.tufClient(srv.URL, t.TempDir(), now.Add(25*time.Hour)).Refresh(); err == nil {
			t.Fatal("an old snapshot under the new name accepted")
		}
	})

	t.Run("mix and match", func(t *testing.T) {
		// Current timestamp and snapshot, targets from another version.
		p.set("/tuf/2.targets.json", v1["targets"])
		defer p.set("/tuf/2.targets.json", nil)
		if err := fresh().Refresh(); err == nil {
			t.Fatal("targets version 1 served as version 2 accepted")
		}
	})
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
