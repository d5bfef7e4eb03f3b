package tufrepo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"github.com/patchday/patchday/internal/store/sqlite"
	"github.com/patchday/patchday/internal/tufrepo"
)

// repoServer serves a Repo's metadata under /tuf/ and target files by
// their consistent-snapshot names under /tuf/targets/.
type repoServer struct {
	repo  *tufrepo.Repo
	mu    sync.Mutex
	files map[string][]byte // sha256 hex → content
}

func (s *repoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/tuf/")
	if t, ok := strings.CutPrefix(name, "targets/"); ok {
		base := t[strings.LastIndex(t, "/")+1:]
		sum, _, _ := strings.Cut(base, ".")
		s.mu.Lock()
		b, ok := s.files[sum]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
		return
	}
	b, err := s.repo.Get(r.Context(), name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func (s *repoServer) add(t *testing.T, path string, content []byte, targets map[string]*metadata.TargetFiles) {
	t.Helper()
	tf, err := metadata.TargetFile().FromBytes(path, content, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	targets[path] = tf
	s.mu.Lock()
	s.files[string(hexOf(tf))] = content
	s.mu.Unlock()
}

func hexOf(tf *metadata.TargetFiles) string {
	return tf.Hashes["sha256"].String()
}

type fixture struct {
	dir   string
	store *sqlite.Store
	srv   *repoServer
	http  *httptest.Server
	clock *time.Time
}

func newFixture(t *testing.T, l tufrepo.Layout) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)
	if err := tufrepo.Init(dir, l, now.Add(tufrepo.RootExpiry)); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{dir: dir, store: st, clock: &now}
	f.srv = &repoServer{files: map[string][]byte{}}
	f.srv.repo = f.repo(t, tufrepo.Targets, tufrepo.Snapshot, tufrepo.Timestamp)
	root, err := os.ReadFile(filepath.Join(dir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.srv.repo.ImportRoot(ctx, root); err != nil || !ok {
		t.Fatalf("import root: %v %v", ok, err)
	}
	f.http = httptest.NewServer(f.srv)
	t.Cleanup(f.http.Close)
	return f
}

// repo returns a Repo holding the keys of the given roles found in dir.
func (f *fixture) repo(t *testing.T, roles ...string) *tufrepo.Repo {
	t.Helper()
	all, err := tufrepo.ReadKeyDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []tufrepo.Key
	for _, k := range all {
		for _, r := range roles {
			if k.Role == r {
				keys = append(keys, k)
			}
		}
	}
	return tufrepo.New(f.store, keys, tufrepo.DefaultExpiry, func() time.Time { return *f.clock })
}

// client is a fresh go-tuf updater that trusts 1.root.json.
func (f *fixture) client(t *testing.T) *updater.Updater {
	t.Helper()
	root, err := os.ReadFile(filepath.Join(f.dir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f.clientWith(t, root, t.TempDir())
}

func (f *fixture) clientWith(t *testing.T, root []byte, local string) *updater.Updater {
	t.Helper()
	cfg, err := config.New(f.http.URL+"/tuf/", root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMetadataDir = local
	cfg.LocalTargetsDir = filepath.Join(local, "targets")
	cfg.RemoteTargetsURL = f.http.URL + "/tuf/targets/"
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	up.UnsafeSetRefTime(*f.clock)
	return up
}

func download(t *testing.T, up *updater.Updater, path string) []byte {
	t.Helper()
	if err := up.Refresh(); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	info, err := up.GetTargetInfo(path)
	if err != nil {
		t.Fatalf("target %s: %v", path, err)
	}
	_, b, err := up.DownloadTarget(info, filepath.Join(t.TempDir(), "out"), "")
	if err != nil {
		t.Fatalf("download %s: %v", path, err)
	}
	return b
}

func TestPublishAndDownload(t *testing.T) {
	f := newFixture(t, tufrepo.DefaultLayout())
	ctx := context.Background()
	targets := map[string]*metadata.TargetFiles{}
	f.srv.add(t, "1-nginx/1.22.1/nginx.tar.zst", []byte("payload one"), targets)
	if err := f.srv.repo.Publish(ctx, targets); err != nil {
		t.Fatal(err)
	}
	if got := download(t, f.client(t), "1-nginx/1.22.1/nginx.tar.zst"); string(got) != "payload one" {
		t.Fatalf("downloaded %q", got)
	}
	// A second publication adds a target; versions advance together.
	f.srv.add(t, "1-nginx/1.22.2/nginx.tar.zst", []byte("payload two"), targets)
	if err := f.srv.repo.Publish(ctx, targets); err != nil {
		t.Fatal(err)
	}
	up := f.client(t)
	if got := download(t, up, "1-nginx/1.22.2/nginx.tar.zst"); string(got) != "payload two" {
		t.Fatalf("downloaded %q", got)
	}
	trusted := up.GetTrustedMetadataSet()
	if trusted.Targets[metadata.TARGETS].Signed.Version != 2 || trusted.Snapshot.Signed.Version != 2 || trusted.Timestamp.Signed.Version != 2 {
		t.Fatalf("versions: targets %d snapshot %d timestamp %d", trusted.Targets[metadata.TARGETS].Signed.Version,
			trusted.Snapshot.Signed.Version, trusted.Timestamp.Signed.Version)
	}
	if !trusted.Root.Signed.ConsistentSnapshot {
		t.Fatal("the root does not declare consistent snapshots")
	}
}

func TestTimestampIsResignedBeforeItExpires(t *testing.T) {
	f := newFixture(t, tufrepo.DefaultLayout())
	ctx := context.Background()
	if err := f.srv.repo.Publish(ctx, map[string]*metadata.TargetFiles{}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    tufrepo.Refreshed
	}{
		{time.Hour, tufrepo.Refreshed{}},                                         // 23 h left of 24
		{11 * time.Hour, tufrepo.Refreshed{}},                                    // 12 h left: not yet under half
		{2 * time.Hour, tufrepo.Refreshed{Timestamp: true}},                      // 10 h left: re-signed
		{time.Hour, tufrepo.Refreshed{}},                                         // fresh again
		{4 * 24 * time.Hour, tufrepo.Refreshed{Snapshot: true, Timestamp: true}}, // snapshot past half its week
	}
	for i, s := range steps {
		*f.clock = f.clock.Add(s.advance)
		got, err := f.srv.repo.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("step %d: refreshed %+v, want %+v", i, got, s.want)
		}
	}
	// A client whose clock reads the same time accepts the result.
	download := f.client(t)
	if err := download.Refresh(); err != nil {
		t.Fatalf("refresh after re-signing: %v", err)
	}
	// Targets re-signed online too, once past half their 90 days.
	*f.clock = f.clock.Add(50 * 24 * time.Hour)
	got, err := f.srv.repo.Refresh(ctx)
	if err != nil || !got.Targets || !got.Snapshot || !got.Timestamp {
		t.Fatalf("after 50 days: %+v %v", got, err)
	}
}

func TestOfflineTargetsSigning(t *testing.T) {
	l := tufrepo.DefaultLayout()
	l.Keys[tufrepo.Targets], l.Threshold[tufrepo.Targets] = 2, 2
	f := newFixture(t, l)
	ctx := context.Background()
	// The server holds only the online keys.
	f.srv.repo = f.repo(t, tufrepo.Snapshot, tufrepo.Timestamp)
	targets := map[string]*metadata.TargetFiles{}
	f.srv.add(t, "1-curl/8.0/curl.tar.zst", []byte("curl"), targets)
	if err := f.srv.repo.Publish(ctx, targets); !errors.Is(err, tufrepo.ErrNeedsSignature) {
		t.Fatalf("publish without targets keys: %v", err)
	}
	pending, err := f.srv.repo.PendingTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "targets.json")
	if err := os.WriteFile(file, pending, 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := tufrepo.ReadKeyDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var targetsKeys []tufrepo.Key
	for _, k := range keys {
		if k.Role == tufrepo.Targets {
			targetsKeys = append(targetsKeys, k)
		}
	}
	// One of two signatures is not enough.
	if n, err := tufrepo.SignFile(file, targetsKeys[:1]); err != nil || n != 1 {
		t.Fatalf("sign: %d %v", n, err)
	}
	half, _ := os.ReadFile(file)
	if err := f.srv.repo.Submit(ctx, half); err == nil || !strings.Contains(err.Error(), "not signed by enough") {
		t.Fatalf("half-signed targets accepted: %v", err)
	}
	// Signing again with the same key adds nothing.
	if _, err := tufrepo.SignFile(file, targetsKeys[:1]); err == nil {
		t.Fatal("the same key signed twice")
	}
	if _, err := tufrepo.SignFile(file, targetsKeys[1:]); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(file)
	// Tampering after signing breaks the signatures.
	if err := f.srv.repo.Submit(ctx, bytes.Replace(full, []byte(`"length": 4`), []byte(`"length": 5`), 1)); err == nil {
		t.Fatal("tampered targets accepted")
	}
	if err := f.srv.repo.Submit(ctx, full); err != nil {
		t.Fatal(err)
	}
	if got, err := f.srv.repo.Refresh(ctx); err != nil || got != (tufrepo.Refreshed{Snapshot: true, Timestamp: true}) {
		t.Fatalf("refresh after submit: %+v %v", got, err)
	}
	if got := download(t, f.client(t), "1-curl/8.0/curl.tar.zst"); string(got) != "curl" {
		t.Fatalf("downloaded %q", got)
	}
	if _, err := f.srv.repo.PendingTargets(ctx); err == nil {
		t.Fatal("signed targets still pending")
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t, tufrepo.DefaultLayout())
	ctx := context.Background()
	targets := map[string]*metadata.TargetFiles{}
	f.srv.add(t, "1-xml/2.9/xml.tar.zst", []byte("xml"), targets)
	if err := f.srv.repo.Publish(ctx, targets); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	root1, _ := os.ReadFile(filepath.Join(f.dir, "1.root.json"))
	if got := download(t, f.clientWith(t, root1, local), "1-xml/2.9/xml.tar.zst"); string(got) != "xml" {
		t.Fatal("before rotation")
	}

	// Rotate the timestamp key, then the root keys themselves.
	for i, role := range []string{tufrepo.Timestamp, tufrepo.Root, tufrepo.Targets} {
		path, err := tufrepo.Rotate(f.dir, role, f.clock.Add(tufrepo.RootExpiry))
		if err != nil {
			t.Fatalf("rotate %s: %v", role, err)
		}
		if want := filepath.Join(f.dir, fmt.Sprintf("%d.root.json", 2+i)); path != want {
			t.Fatalf("rotation wrote %s, want %s", path, want)
		}
		body, _ := os.ReadFile(path)
		// The server learns the new root and the new keys, and re-signs.
		f.srv.repo = f.repo(t, tufrepo.Targets, tufrepo.Snapshot, tufrepo.Timestamp)
		if ok, err := f.srv.repo.ImportRoot(ctx, body); err != nil || !ok {
			t.Fatalf("import %s: %v %v", path, ok, err)
		}
		got, err := f.srv.repo.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]tufrepo.Refreshed{
			tufrepo.Timestamp: {Timestamp: true},
			tufrepo.Root:      {},
			tufrepo.Targets:   {Targets: true, Snapshot: true, Timestamp: true},
		}[role]
		if got != want {
			t.Fatalf("after rotating %s: refreshed %+v, want %+v", role, got, want)
		}
		// A client that trusted version 1 follows the chain.
		up := f.clientWith(t, root1, local)
		if got := download(t, up, "1-xml/2.9/xml.tar.zst"); string(got) != "xml" {
			t.Fatalf("after rotating %s", role)
		}
		if v := up.GetTrustedMetadataSet().Root.Signed.Version; v != int64(2+i) {
			t.Fatalf("client trusts root %d, want %d", v, 2+i)
		}
	}
	// The revoked key files are kept aside, not used.
	if revoked, _ := filepath.Glob(filepath.Join(f.dir, "*.key.revoked")); len(revoked) != 3 {
		t.Fatalf("revoked key files: %v", revoked)
	}
}

func TestImportRootRefusals(t *testing.T) {
	f := newFixture(t, tufrepo.DefaultLayout())
	other := newFixture(t, tufrepo.DefaultLayout())
	ctx := context.Background()
	// Another repository's next root is not signed by our root keys.
	path, err := tufrepo.Rotate(other.dir, "", other.clock.Add(tufrepo.RootExpiry))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := os.ReadFile(path)
	if _, err := f.srv.repo.ImportRoot(ctx, foreign); err == nil || !strings.Contains(err.Error(), "not signed by enough keys of version 1") {
		t.Fatalf("foreign root: %v", err)
	}
	// A version that skips one is refused.
	if _, err := tufrepo.Rotate(f.dir, "", f.clock.Add(tufrepo.RootExpiry)); err != nil {
		t.Fatal(err)
	}
	p3, err := tufrepo.Rotate(f.dir, "", f.clock.Add(tufrepo.RootExpiry))
	if err != nil {
		t.Fatal(err)
	}
	skip, _ := os.ReadFile(p3)
	if _, err := f.srv.repo.ImportRoot(ctx, skip); err == nil || !strings.Contains(err.Error(), "does not follow") {
		t.Fatalf("skipped version: %v", err)
	}
	// Re-importing version 1 is a no-op; different bytes under it are not.
	one, _ := os.ReadFile(filepath.Join(f.dir, "1.root.json"))
	if ok, err := f.srv.repo.ImportRoot(ctx, one); ok || err != nil {
		t.Fatalf("re-import: %v %v", ok, err)
	}
	otherOne, _ := os.ReadFile(filepath.Join(other.dir, "1.root.json"))
	if _, err := f.srv.repo.ImportRoot(ctx, otherOne); err == nil {
		t.Fatal("a different version 1 was accepted")
	}
	if _, err := f.srv.repo.ImportRoot(ctx, []byte(`{"signed":{}}`)); err == nil {
		t.Fatal("garbage accepted")
	}
	// Rotation needs the root keys.
	for _, k := range mustGlob(t, filepath.Join(f.dir, "root-*.key")) {
		os.Remove(k)
	}
	if _, err := tufrepo.Rotate(f.dir, tufrepo.Timestamp, f.clock.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "root keys") {
		t.Fatalf("rotation without root keys: %v", err)
	}
}

func TestInitRefusesExistingKeys(t *testing.T) {
	dir := t.TempDir()
	if err := tufrepo.Init(dir, tufrepo.DefaultLayout(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := tufrepo.Init(dir, tufrepo.DefaultLayout(), time.Now().Add(time.Hour)); err == nil {
		t.Fatal("init over existing keys")
	}
	bad := tufrepo.DefaultLayout()
	bad.Threshold[tufrepo.Root] = 2
	if err := tufrepo.Init(t.TempDir(), bad, time.Now()); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Fatalf("threshold above key count: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "root-1.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
