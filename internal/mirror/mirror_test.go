package mirror_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	patchday "github.com/patchday/patchday"

	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/mirror"
	"github.com/patchday/patchday/internal/store/sqlite"
	"github.com/patchday/patchday/internal/tufrepo"
)

// The catalog a test vendor publishes: paths as the catalog makes them,
// in the order the mirror fetches them.
const (
	deltaPath = "12-libssl3/3.0.15-1~deb12u1/from-3.0.14-1~deb12u1.delta"
	sslPath   = "12-libssl3/3.0.15-1~deb12u1/payload.tar.zst"
	nginxPath = "7-nginx/1.22.1-9+deb12u11/payload.tar.zst"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server serves a patchday server's TUF endpoints from a Repo and a blob
// store, as internal/web does: /tuf/{name} and the consistent-snapshot
// target files with Range support. Tests play the attacker or the broken
// network through its knobs.
type server struct {
	blobs *blob.Store

	mu       sync.Mutex
	repo     *tufrepo.Repo
	override map[string][]byte   // URL path → body served instead
	cut      map[string]int64    // sha256 → cut the next response after this many bytes
	flip     map[string]bool     // sha256 → serve with one byte flipped
	extra    map[string][]byte   // sha256 → serve with these bytes appended
	ranges   map[string][]string // sha256 → the Range header of each request
}

func newServer(t *testing.T, repo *tufrepo.Repo, blobs *blob.Store) (*server, *httptest.Server) {
	s := &server{repo: repo, blobs: blobs, override: map[string][]byte{}, cut: map[string]int64{}, flip: map[string]bool{},
		extra: map[string][]byte{}, ranges: map[string][]string{}}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, overridden := s.override[r.URL.Path]
	repo := s.repo
	s.mu.Unlock()
	if overridden {
		w.Write(body)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/tuf/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(name, "targets/"); ok {
		s.target(w, r, rest)
		return
	}
	b, err := repo.Get(r.Context(), name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *server) target(w http.ResponseWriter, r *http.Request, path string) {
	base := path[strings.LastIndex(path, "/")+1:]
	sum, _, _ := strings.Cut(base, ".")
	s.mu.Lock()
	s.ranges[sum] = append(s.ranges[sum], r.Header.Get("Range"))
	cut, cutting := s.cut[sum]
	delete(s.cut, sum)
	flip, extra := s.flip[sum], s.extra[sum]
	s.mu.Unlock()
	f, err := s.blobs.Open(sum)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	content := io.ReadSeeker(f)
	if flip || extra != nil {
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if flip {
			b[len(b)/2] ^= 0x01
		}
		content = bytes.NewReader(append(b, extra...))
	}
	if cutting {
		w = &cutWriter{ResponseWriter: w, left: cut}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, content)
}

func (s *server) set(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == nil {
		delete(s.override, path)
		return
	}
	s.override[path] = body
}

func (s *server) setRepo(r *tufrepo.Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo = r
}

func (s *server) rangesOf(sum string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges[sum]...)
}

// cutWriter sends left bytes of the body, then drops the connection, as a
// network failure mid-download does.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	c.ResponseWriter.Write(p[:c.left])
	c.ResponseWriter.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// vendor is an upstream patchday server: keys, a store, a blob store, a
// signing Repo and the HTTP server in front of them.
type vendor struct {
	t       *testing.T
	keys    string
	store   *sqlite.Store
	blobs   *blob.Store
	clock   *clock
	targets map[string]*metadata.TargetFiles
	content map[string][]byte // by target path
	srv     *server
	http    *httptest.Server
}

func newVendor(t *testing.T) *vendor {
	t.Helper()
	ctx := t.Context()
	v := &vendor{t: t, keys: t.TempDir(), clock: &clock{t: time.Date(2026, 12, 8, 17, 0, 0, 0, time.UTC)},
		targets: map[string]*metadata.TargetFiles{}, content: map[string][]byte{}}
	if err := tufrepo.Init(v.keys, tufrepo.DefaultLayout(), v.clock.Now().Add(tufrepo.RootExpiry)); err != nil {
		t.Fatal(err)
	}
	v.store = openStore(t)
	var err error
	if v.blobs, err = blob.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	repo := v.repo()
	if ok, err := repo.ImportRoot(ctx, v.file("1.root.json")); err != nil || !ok {
		t.Fatalf("import root: %v %v", ok, err)
	}
	v.srv, v.http = newServer(t, repo, v.blobs)
	return v
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// repo returns a Repo signing with every key in the key directory.
func (v *vendor) repo() *tufrepo.Repo {
	v.t.Helper()
	keys, err := tufrepo.ReadKeyDir(v.keys)
	if err != nil {
		v.t.Fatal(err)
	}
	return tufrepo.New(v.store, keys, tufrepo.DefaultExpiry, v.clock.Now)
}

func (v *vendor) file(name string) []byte {
	v.t.Helper()
	b, err := os.ReadFile(filepath.Join(v.keys, name))
	if err != nil {
		v.t.Fatal(err)
	}
	return b
}

func (v *vendor) key(role string) tufrepo.Key {
	v.t.Helper()
	keys, err := tufrepo.ReadKeyDir(v.keys)
	if err != nil {
		v.t.Fatal(err)
	}
	for _, k := range keys {
		if k.Role == role {
			return k
		}
	}
	v.t.Fatalf("no %s key", role)
	return tufrepo.Key{}
}

// add puts size bytes of random content in the vendor's blob store and
// names it in the next targets, with custom metadata as the catalog makes.
func (v *vendor) add(path string, size int, c catalog.Custom) {
	v.t.Helper()
	content := make([]byte, size)
	seed := sha256.Sum256([]byte(path))
	mrand.NewChaCha8(seed).Read(content)
	v.addContent(path, content, c)
}

func (v *vendor) addContent(path string, content []byte, c catalog.Custom) {
	v.t.Helper()
	ref, err := v.blobs.Put(v.t.Context(), bytes.NewReader(content), 0)
	if err != nil {
		v.t.Fatal(err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		v.t.Fatal(err)
	}
	msg := json.RawMessage(raw)
	sum, _ := hex.DecodeString(ref.SHA256)
	tf := metadata.TargetFile()
	tf.Path, tf.Length, tf.Hashes, tf.Custom = path, ref.Size, metadata.Hashes{"sha256": sum}, &msg
	v.targets[path] = tf
	v.content[path] = content
}

func (v *vendor) publish() {
	v.t.Helper()
	v.srv.mu.Lock()
	repo := v.srv.repo
	v.srv.mu.Unlock()
	targets := map[string]*metadata.TargetFiles{}
	for p, tf := range v.targets {
		targets[p] = tf
	}
	if err := repo.Publish(v.t.Context(), targets); err != nil {
		v.t.Fatal(err)
	}
}

// catalog publishes the three files most tests use.
func (v *vendor) catalog() {
	v.t.Helper()
	ssl := catalog.Custom{Product: "libssl3", Version: "3.0.15-1~deb12u1", Kind: "payload", AppliesTo: []string{"3.0.14-1~deb12u1"},
		Classification: catalog.Security, Severity: "High", Supersedes: []string{"3.0.14-1~deb12u1"}, Restart: "reboot", Update: 12}
	delta := ssl
	delta.Kind, delta.From = "delta", "3.0.14-1~deb12u1"
	v.add(sslPath, 300<<10, ssl)
	v.add(deltaPath, 200<<10, delta)
	v.add(nginxPath, 150<<10, catalog.Custom{Product: "nginx", Version: "1.22.1-9+deb12u11", Kind: "payload", AppliesTo: []string{},
		Classification: catalog.Security, Severity: "Medium", Supersedes: []string{}, Restart: "service:nginx", Update: 7})
	v.publish()
}

func (v *vendor) sha(path string) string {
	return v.targets[path].Hashes["sha256"].String()
}

func (v *vendor) metadata(role string, version int64) []byte {
	v.t.Helper()
	b, err := v.store.TUF(v.t.Context(), role, version)
	if err != nil {
		v.t.Fatalf("vendor %s version %d: %v", role, version, err)
	}
	return b
}

// downstream is a customer's server mirroring an upstream.
type downstream struct {
	t       *testing.T
	store   *sqlite.Store
	blobs   *blob.Store
	partial string
	m       *mirror.Mirror
}

func newDownstream(t *testing.T, upstream string, root []byte, now func() time.Time, opt func(*mirror.Options)) *downstream {
	t.Helper()
	d := &downstream{t: t, store: openStore(t), partial: filepath.Join(t.TempDir(), "partial")}
	var err error
	if d.blobs, err = blob.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	o := mirror.Options{Upstream: upstream, Root: root, Store: d.store, Blobs: d.blobs, Partial: d.partial, Now: now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if opt != nil {
		opt(&o)
	}
	if d.m, err = mirror.New(o); err != nil {
		t.Fatal(err)
	}
	return d
}

func (v *vendor) downstream(opt func(*mirror.Options)) *downstream {
	v.t.Helper()
	return newDownstream(v.t, v.http.URL, v.file("1.root.json"), v.clock.Now, opt)
}

// latest returns the newest stored version of each role.
func (d *downstream) latest() map[string][]byte {
	d.t.Helper()
	out := map[string][]byte{}
	for _, role := range tufrepo.Roles {
		b, err := d.store.TUF(d.t.Context(), role, 0)
		if errors.Is(err, patchday.ErrNotFound) {
			continue
		} else if err != nil {
			d.t.Fatal(err)
		}
		out[role] = b
	}
	return out
}

func (d *downstream) targets() map[string]mirror.Target {
	d.t.Helper()
	ts, err := d.store.MirrorTargets(d.t.Context())
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[string]mirror.Target{}
	for _, t := range ts {
		out[t.Path] = t
	}
	return out
}

func (d *downstream) blob(sum string) ([]byte, bool) {
	d.t.Helper()
	f, err := d.blobs.Open(sum)
	if errors.Is(err, patchday.ErrNotFound) {
		return nil, false
	} else if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		d.t.Fatal(err)
	}
	return b, true
}

func (d *downstream) parts() []string {
	d.t.Helper()
	m, err := filepath.Glob(filepath.Join(d.partial, "*.part"))
	if err != nil {
		d.t.Fatal(err)
	}
	return m
}

// sameMetadata checks that every version of every role the vendor signed
// is in the mirror's store byte for byte.
func sameMetadata(t *testing.T, v *vendor, d *downstream) {
	t.Helper()
	for _, role := range tufrepo.Roles {
		for n := int64(1); ; n++ {
			want, err := v.store.TUF(t.Context(), role, n)
			if errors.Is(err, patchday.ErrNotFound) {
				if n == 1 {
					t.Fatalf("the vendor has no %s", role)
				}
				break
			} else if err != nil {
				t.Fatal(err)
			}
			got, err := d.store.TUF(t.Context(), role, n)
			if err != nil {
				t.Fatalf("mirror %s version %d: %v", role, n, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("mirror %s version %d differs from the vendor's:\n%s\n%s", role, n, got, want)
			}
		}
	}
}

// allFetched checks that the mirror holds every vendor file, verified.
func allFetched(t *testing.T, v *vendor, d *downstream) {
	t.Helper()
	known := d.targets()
	for p, content := range v.content {
		if got, ok := d.blob(v.sha(p)); !ok || !bytes.Equal(got, content) {
			t.Fatalf("%s is not in the mirror's blob store as signed", p)
		}
		k := known[p]
		if k.Fetched.IsZero() || k.SHA256 != v.sha(p) || k.Size != int64(len(content)) {
			t.Fatalf("%s recorded as %+v", p, k)
		}
	}
}

func wantRefused(t *testing.T, err error) {
	t.Helper()
	t.Logf("sync: %v", err)
	if err == nil || !strings.Contains(err.Error(), "upstream metadata refused") || !strings.Contains(err.Error(), "keeps serving what it had") {
		t.Fatalf("sync: %v, want a refusal", err)
	}
}

func unchanged(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	for _, role := range tufrepo.Roles {
		if !bytes.Equal(before[role], after[role]) {
			t.Fatalf("the mirror's %s changed on a refused sync", role)
		}
	}
}

func TestSyncMirrorsMetadataAsIs(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	var events []mirror.Progress
	d := v.downstream(func(o *mirror.Options) { o.Progress = func(p mirror.Progress) { events = append(events, p) } })
	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	total := int64(650 << 10)
	want := mirror.Result{Root: 1, Targets: 1, Snapshot: 1, Timestamp: 1, Known: 3, Fetched: 3, Bytes: total}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	sameMetadata(t, v, d)
	allFetched(t, v, d)
	if parts := d.parts(); len(parts) != 0 {
		t.Fatalf("partial files left: %v", parts)
	}

	// Progress: never more than 256 KiB apart, each file's end reported,
	// the last report the whole batch.
	var prev int64
	ends := map[string]bool{}
	for _, e := range events {
		if e.Done-prev > 256<<10 {
			t.Fatalf("progress jumped from %d to %d", prev, e.Done)
		}
		prev = e.Done
		if e.Files != 3 || e.Total != total {
			t.Fatalf("progress %+v", e)
		}
		if e.FileDone == e.FileSize {
			ends[e.File] = true
		}
	}
	if last := events[len(events)-1]; last.Done != total || last.FilesDone != 3 || len(ends) != 3 {
		t.Fatalf("last progress %+v, file ends %v", last, ends)
	}

	// Nothing new upstream: nothing fetched.
	res, err = d.m.Sync(t.Context())
	if err != nil || res.Fetched != 0 || res.Bytes != 0 || res.Known != 3 || res.Timestamp != 1 {
		t.Fatalf("second sync: %+v %v", res, err)
	}

	// A new file: new versions of targets, snapshot and timestamp, and
	// only that file fetched.
	v.clock.Advance(time.Hour)
	v.add("7-nginx/1.22.1-9+deb12u12/payload.tar.zst", 10<<10, catalog.Custom{Product: "nginx", Version: "1.22.1-9+deb12u12", Kind: "payload"})
	v.publish()
	res, err = d.m.Sync(t.Context())
	if err != nil || res.Fetched != 1 || res.Known != 4 || res.Targets != 2 || res.Snapshot != 2 || res.Timestamp != 2 {
		t.Fatalf("sync after a publication: %+v %v", res, err)
	}
	sameMetadata(t, v, d)
	allFetched(t, v, d)

	// The mirror's metadata is the vendor's: a client that trusts only
	// the vendor's root downloads from the mirror, and so does a mirror of
	// the mirror.
	repo := tufrepo.New(d.store, nil, tufrepo.Expiry{}, v.clock.Now)
	_, hs := newServer(t, repo, d.blobs)
	up := client(t, hs.URL, v.file("1.root.json"), v.clock.Now())
	info, err := up.GetTargetInfo(nginxPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, b, err := up.DownloadTarget(info, filepath.Join(t.TempDir(), "t"), ""); err != nil || !bytes.Equal(b, v.content[nginxPath]) {
		t.Fatalf("download from the mirror: %v", err)
	}
	d2 := newDownstream(t, hs.URL, v.file("1.root.json"), v.clock.Now, nil)
	if res, err := d2.m.Sync(t.Context()); err != nil || res.Fetched != 4 {
		t.Fatalf("mirror of the mirror: %+v %v", res, err)
	}
	// A mirror holds the versions current when it synced: the newest.
	for _, role := range tufrepo.Roles {
		if got := d2.latest()[role]; !bytes.Equal(got, v.metadata(role, 0)) {
			t.Fatalf("the mirror of the mirror's %s differs from the vendor's", role)
		}
	}
	allFetched(t, v, d2)
}

func client(t *testing.T, base string, root []byte, at time.Time) *updater.Updater {
	t.Helper()
	cfg, err := config.New(base+"/tuf/", root)
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	cfg.LocalMetadataDir, cfg.LocalTargetsDir = local, filepath.Join(local, "targets")
	cfg.RemoteTargetsURL = base + "/tuf/targets/"
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	up.UnsafeSetRefTime(at)
	return up
}

func TestSyncResumes(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	d := v.downstream(nil)
	sum := v.sha(deltaPath) // the first file fetched
	v.srv.mu.Lock()
	v.srv.cut[sum] = 100 << 10
	v.srv.mu.Unlock()
	_, err := d.m.Sync(t.Context())
	t.Logf("sync: %v", err)
	if err == nil || !strings.Contains(err.Error(), deltaPath) || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("a cut download: %v", err)
	}
	parts := d.parts()
	if len(parts) != 1 || filepath.Base(parts[0]) != sum+".part" {
		t.Fatalf("partial files: %v", parts)
	}
	fi, err := os.Stat(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	if size <= 0 || size > 100<<10 {
		t.Fatalf("the partial file holds %d bytes", size)
	}
	if k := d.targets()[deltaPath]; !k.Fetched.IsZero() {
		t.Fatal("a cut download is recorded as fetched")
	}

	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := v.srv.rangesOf(sum); len(got) != 2 || got[0] != "" || got[1] != fmt.Sprintf("bytes=%d-", size) {
		t.Fatalf("requests for the cut file had Range %q, want none then from %d", got, size)
	}
	if res.Resumed != 1 || res.Fetched != 3 || res.Bytes != 650<<10-size {
		t.Fatalf("result %+v", res)
	}
	allFetched(t, v, d)
	if parts := d.parts(); len(parts) != 0 {
		t.Fatalf("partial files left: %v", parts)
	}
}

func TestSyncDiscardsBadPartialFile(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	d := v.downstream(nil)
	// A crash can leave a partial file whose size ran ahead of its data.
	if err := os.MkdirAll(d.partial, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.partial, v.sha(sslPath)+".part"), make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := v.srv.rangesOf(v.sha(sslPath)); len(got) != 2 || got[0] != "bytes=65536-" || got[1] != "" {
		t.Fatalf("requests for the file: Range %q", got)
	}
	if res.Fetched != 3 || res.Resumed != 0 {
		t.Fatalf("result %+v", res)
	}
	allFetched(t, v, d)
}

func TestSyncRefusesTamperedContent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper func(s *server, sum string)
		reason string
	}{
		{"flipped byte", func(s *server, sum string) { s.flip[sum] = true }, "sha256"},
		{"longer", func(s *server, sum string) { s.extra[sum] = []byte("more") }, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVendor(t)
			v.catalog()
			d := v.downstream(nil)
			sum := v.sha(sslPath)
			v.srv.mu.Lock()
			tc.tamper(v.srv, sum)
			v.srv.mu.Unlock()
			for range 2 { // refused again: nothing of it was kept
				_, err := d.m.Sync(t.Context())
				t.Logf("sync: %v", err)
				if err == nil || !strings.Contains(err.Error(), sslPath) || !strings.Contains(err.Error(), "does not match its signed target") ||
					!strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("tampered content: %v", err)
				}
				if _, ok := d.blob(sum); ok {
					t.Fatal("the tampered file is in the blob store under its signed hash")
				}
				bad := bytes.Clone(v.content[sslPath])
				if tc.name == "flipped byte" {
					bad[len(bad)/2] ^= 0x01
				} else {
					bad = append(bad, "more"...)
				}
				badSum := sha256.Sum256(bad)
				if _, ok := d.blob(hex.EncodeToString(badSum[:])); ok {
					t.Fatal("the tampered content is in the blob store")
				}
				known := d.targets()
				if !known[sslPath].Fetched.IsZero() {
					t.Fatal("the tampered file is recorded as fetched")
				}
				// Others: fetched or not, never wrong.
				for p, k := range known {
					if got, ok := d.blob(k.SHA256); !k.Fetched.IsZero() && (!ok || !bytes.Equal(got, v.content[p])) {
						t.Fatalf("%s is recorded as fetched but its content is not as signed", p)
					}
				}
				if parts := d.parts(); len(parts) != 0 {
					t.Fatalf("partial files left: %v", parts)
				}
			}
			// Metadata, verified, stays mirrored.
			sameMetadata(t, v, d)

			v.srv.mu.Lock()
			delete(v.srv.flip, sum)
			delete(v.srv.extra, sum)
			v.srv.mu.Unlock()
			if _, err := d.m.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			allFetched(t, v, d)
		})
	}
}

// tamperTargets changes the first target's hash and re-serialises the
// metadata, its signatures now invalid.
func tamperTargets(t *testing.T, b []byte) []byte {
	t.Helper()
	md, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tf := range md.Signed.Targets {
		tf.Hashes["sha256"][0] ^= 0xff
		break
	}
	out, err := md.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func signer(t *testing.T, priv ed25519.PrivateKey) signature.Signer {
	t.Helper()
	s, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSyncRefusesTamperedMetadata(t *testing.T) {
	t.Parallel()
	t.Run("first sync", func(t *testing.T) {
		v := newVendor(t)
		v.catalog()
		v.srv.set("/tuf/1.targets.json", tamperTargets(t, v.metadata(tufrepo.Targets, 1)))
		d := v.downstream(nil)
		_, err := d.m.Sync(t.Context())
		wantRefused(t, err)
		if got := d.latest(); len(got) != 0 {
			t.Fatalf("a refused first sync stored %d roles", len(got))
		}
		if got := d.targets(); len(got) != 0 {
			t.Fatalf("a refused first sync recorded targets: %v", got)
		}
	})

	t.Run("new targets", func(t *testing.T) {
		v := newVendor(t)
		v.catalog()
		d := v.downstream(nil)
		if _, err := d.m.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		before := d.latest()
		v.add("7-nginx/1.22.1-9+deb12u12/payload.tar.zst", 1<<10, catalog.Custom{Product: "nginx", Kind: "payload"})
		v.publish()
		v.srv.set("/tuf/2.targets.json", tamperTargets(t, v.metadata(tufrepo.Targets, 2)))
		_, err := d.m.Sync(t.Context())
		wantRefused(t, err)
		unchanged(t, before, d.latest())
		if len(d.targets()) != 3 {
			t.Fatal("targets of refused metadata were recorded")
		}
	})

	t.Run("timestamp signed by a stranger", func(t *testing.T) {
		v := newVendor(t)
		v.catalog()
		d := v.downstream(nil)
		if _, err := d.m.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		before := d.latest()
		ts, err := metadata.Timestamp().FromBytes(v.metadata(tufrepo.Timestamp, 0))
		if err != nil {
			t.Fatal(err)
		}
		ts.Signed.Version++
		ts.ClearSignatures()
		_, stranger, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Sign(signer(t, stranger)); err != nil {
			t.Fatal(err)
		}
		b, err := ts.ToBytes(false)
		if err != nil {
			t.Fatal(err)
		}
		v.srv.set("/tuf/timestamp.json", b)
		_, err = d.m.Sync(t.Context())
		wantRefused(t, err)
		var unsigned *metadata.ErrUnsignedMetadata
		if !errors.As(err, &unsigned) {
			t.Fatalf("refusal %v does not carry go-tuf's reason", err)
		}
		unchanged(t, before, d.latest())
	})
}

func TestSyncRefusesRollback(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	old := v.metadata(tufrepo.Timestamp, 1)
	v.clock.Advance(time.Hour)
	v.add("7-nginx/1.22.1-9+deb12u12/payload.tar.zst", 1<<10, catalog.Custom{Product: "nginx", Kind: "payload"})
	v.publish()
	d := v.downstream(nil)
	if res, err := d.m.Sync(t.Context()); err != nil || res.Timestamp != 2 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	before := d.latest()
	v.srv.set("/tuf/timestamp.json", old)
	_, err := d.m.Sync(t.Context())
	wantRefused(t, err)
	var bad *metadata.ErrBadVersionNumber
	if !errors.As(err, &bad) {
		t.Fatalf("rollback refused for another reason: %v", err)
	}
	unchanged(t, before, d.latest())
}

func TestSyncRefusesFrozenUpstream(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	d := v.downstream(nil)
	if _, err := d.m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := d.latest()
	// A day and more later, the upstream still serves the same timestamp.
	v.clock.Advance(25 * time.Hour)
	_, err := d.m.Sync(t.Context())
	wantRefused(t, err)
	var expired *metadata.ErrExpiredMetadata
	if !errors.As(err, &expired) {
		t.Fatalf("a frozen upstream refused for another reason: %v", err)
	}
	unchanged(t, before, d.latest())
	// Once the vendor re-signs, the mirror follows.
	v.srv.mu.Lock()
	repo := v.srv.repo
	v.srv.mu.Unlock()
	if _, err := repo.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	sameMetadata(t, v, d)
}

func TestSyncRefusesEquivocation(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	d := v.downstream(nil)
	if _, err := d.m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := d.latest()
	// The vendor's keys sign a second snapshot under the same version and
	// a new timestamp naming it: the mirror has served the first already.
	snap, err := metadata.Snapshot().FromBytes(v.metadata(tufrepo.Snapshot, 1))
	if err != nil {
		t.Fatal(err)
	}
	snap.Signed.Expires = snap.Signed.Expires.Add(time.Hour)
	snap.ClearSignatures()
	if _, err := snap.Sign(signer(t, v.key(tufrepo.Snapshot).Private)); err != nil {
		t.Fatal(err)
	}
	snapBody, err := snap.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	ts := metadata.Timestamp(v.clock.Now().Add(time.Hour))
	ts.Signed.Version = 2
	sum := sha256.Sum256(snapBody)
	mf := metadata.MetaFile(1)
	mf.Length, mf.Hashes = int64(len(snapBody)), metadata.Hashes{"sha256": sum[:]}
	ts.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": mf}
	if _, err := ts.Sign(signer(t, v.key(tufrepo.Timestamp).Private)); err != nil {
		t.Fatal(err)
	}
	tsBody, err := ts.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	v.srv.set("/tuf/timestamp.json", tsBody)
	v.srv.set("/tuf/1.snapshot.json", snapBody)
	_, err = d.m.Sync(t.Context())
	wantRefused(t, err)
	if !strings.Contains(err.Error(), "two different snapshots") {
		t.Fatalf("equivocation refused for another reason: %v", err)
	}
	unchanged(t, before, d.latest())
}

func TestSyncNewRootVersion(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	d := v.downstream(nil)
	if _, err := d.m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The vendor rotates the timestamp key, imports the new root and
	// re-signs with the new key.
	path, err := tufrepo.Rotate(v.keys, tufrepo.Timestamp, v.clock.Now().Add(tufrepo.RootExpiry))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	repo := v.repo()
	if ok, err := repo.ImportRoot(t.Context(), body); err != nil || !ok {
		t.Fatalf("import %s: %v %v", path, ok, err)
	}
	if got, err := repo.Refresh(t.Context()); err != nil || got != (tufrepo.Refreshed{Timestamp: true}) {
		t.Fatalf("refresh: %+v %v", got, err)
	}
	v.srv.setRepo(repo)

	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != 2 || res.Timestamp != 2 || res.Snapshot != 1 || res.Targets != 1 || res.Fetched != 0 {
		t.Fatalf("result %+v", res)
	}
	sameMetadata(t, v, d)
	if got := d.latest()[tufrepo.Root]; !bytes.Equal(got, body) {
		t.Fatal("the mirror's newest root is not the vendor's version 2")
	}
	// Agents that trust version 1 follow the chain through the mirror.
	_, hs := newServer(t, tufrepo.New(d.store, nil, tufrepo.Expiry{}, v.clock.Now), d.blobs)
	up := client(t, hs.URL, v.file("1.root.json"), v.clock.Now())
	if err := up.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := up.GetTrustedMetadataSet().Root.Signed.Version; got != 2 {
		t.Fatalf("a client of the mirror trusts root %d", got)
	}
}

func TestSyncInitialRootChain(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	path, err := tufrepo.Rotate(v.keys, "", v.clock.Now().Add(tufrepo.RootExpiry))
	if err != nil {
		t.Fatal(err)
	}
	root2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.repo().ImportRoot(t.Context(), root2); err != nil || !ok {
		t.Fatalf("import root 2: %v %v", ok, err)
	}
	v.catalog()

	// The operator was given version 2: the mirror stores 1 and 2.
	d := newDownstream(t, v.http.URL, root2, v.clock.Now, nil)
	res, err := d.m.Sync(t.Context())
	if err != nil || res.Root != 2 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	sameMetadata(t, v, d)

	// A version 2 of another vendor's: refused before anything is stored.
	other := t.TempDir()
	if err := tufrepo.Init(other, tufrepo.DefaultLayout(), v.clock.Now().Add(tufrepo.RootExpiry)); err != nil {
		t.Fatal(err)
	}
	otherPath, err := tufrepo.Rotate(other, "", v.clock.Now().Add(tufrepo.RootExpiry))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(otherPath)
	if err != nil {
		t.Fatal(err)
	}
	d2 := newDownstream(t, v.http.URL, foreign, v.clock.Now, nil)
	_, err = d2.m.Sync(t.Context())
	wantRefused(t, err)
	if !strings.Contains(err.Error(), "upstream root version 2 differs from the root you trust") {
		t.Fatalf("foreign root: %v", err)
	}
	if got := d2.latest(); len(got) != 0 {
		t.Fatalf("a refused root chain stored %d roles", len(got))
	}
}

func TestSyncWant(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	v.catalog()
	asked := map[string]catalog.Custom{}
	d := v.downstream(func(o *mirror.Options) {
		o.Want = func(path string, c catalog.Custom) bool {
			asked[path] = c
			return c.Kind != "delta"
		}
	})
	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Known != 3 || res.Fetched != 2 || res.Skipped != 1 {
		t.Fatalf("result %+v", res)
	}
	if c := asked[deltaPath]; c.Kind != "delta" || c.From != "3.0.14-1~deb12u1" || c.Product != "libssl3" || c.Update != 12 {
		t.Fatalf("Want saw %+v for the delta", c)
	}
	if c := asked[nginxPath]; c.Restart != "service:nginx" || c.Severity != "Medium" {
		t.Fatalf("Want saw %+v for nginx", c)
	}
	known := d.targets()
	if len(known) != 3 {
		t.Fatalf("recorded %d targets", len(known))
	}
	if k := known[deltaPath]; !k.Fetched.IsZero() || k.SHA256 != v.sha(deltaPath) {
		t.Fatalf("the unwanted target is recorded as %+v", k)
	}
	if _, ok := d.blob(v.sha(deltaPath)); ok {
		t.Fatal("the unwanted target was fetched")
	}
	// Skipped again until wanted.
	if res, err := d.m.Sync(t.Context()); err != nil || res.Skipped != 1 || res.Fetched != 0 {
		t.Fatalf("second sync: %+v %v", res, err)
	}
}

func TestSyncSameContentUnderTwoPaths(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	content := bytes.Repeat([]byte("patchday"), 40<<10)
	v.addContent("1-a/1.0/payload.tar.zst", content, catalog.Custom{Product: "a", Kind: "payload"})
	v.addContent("2-b/1.0/payload.tar.zst", content, catalog.Custom{Product: "b", Kind: "payload"})
	v.publish()
	d := v.downstream(nil)
	res, err := d.m.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Known != 2 || res.Fetched != 1 || res.Bytes != int64(len(content)) {
		t.Fatalf("result %+v", res)
	}
	allFetched(t, v, d)
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	root := v.file("1.root.json")
	targets := func() []byte {
		v.catalog()
		return v.metadata(tufrepo.Targets, 1)
	}()
	var unsigned []byte
	{
		md, err := metadata.Root().FromBytes(root)
		if err != nil {
			t.Fatal(err)
		}
		md.Signed.Expires = md.Signed.Expires.Add(time.Hour)
		if unsigned, err = md.ToBytes(true); err != nil {
			t.Fatal(err)
		}
	}
	st := openStore(t)
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good := mirror.Options{Upstream: "https://updates.vendor.example", Root: root, Store: st, Blobs: blobs, Partial: t.TempDir()}
	if _, err := mirror.New(good); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*mirror.Options)
		want string
	}{
		{"no upstream", func(o *mirror.Options) { o.Upstream = "" }, "no upstream"},
		{"ftp", func(o *mirror.Options) { o.Upstream = "ftp://updates.vendor.example" }, "https://"},
		{"no scheme", func(o *mirror.Options) { o.Upstream = "updates.vendor.example" }, "https://"},
		{"no host", func(o *mirror.Options) { o.Upstream = "https://" }, "no host"},
		{"not a URL", func(o *mirror.Options) { o.Upstream = "https://up dates\x7f" }, "not a URL"},
		{"query", func(o *mirror.Options) { o.Upstream = "https://updates.vendor.example/?x=1" }, "base URL"},
		{"credentials", func(o *mirror.Options) { o.Upstream = "https://u:p@updates.vendor.example" }, "base URL"},
		{"no root", func(o *mirror.Options) { o.Root = nil }, "no trusted root"},
		{"garbage root", func(o *mirror.Options) { o.Root = []byte("{not json") }, "not TUF root"},
		{"targets as root", func(o *mirror.Options) { o.Root = targets }, "not TUF root"},
		{"unsigned root", func(o *mirror.Options) { o.Root = unsigned }, "not signed"},
		{"no store", func(o *mirror.Options) { o.Store = nil }, "no store"},
		{"no blobs", func(o *mirror.Options) { o.Blobs = nil }, "no blob store"},
		{"no partial", func(o *mirror.Options) { o.Partial = "" }, "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.mod(&o)
			if _, err := mirror.New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
