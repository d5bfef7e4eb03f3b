package e2e_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/patchday/patchday/internal/e2e"
)

// TestCatalogOnFirstStart: one `patchday serve` on a fresh data directory
// makes the catalog's keys, signs an (empty) catalog at once, and go-tuf's
// client trusts it; a restart keeps the same keys and root.
func TestCatalogOnFirstStart(t *testing.T) {
	engines(t, func(t *testing.T, db func(t *testing.T) string) {
		s := e2e.Start(t, e2e.Options{DB: db(t)})
		if !strings.Contains(s.Stdout(), "Created the update catalog's TUF keys") {
			t.Fatalf("first start does not say it made keys:\n%s", s.Stdout())
		}
		root := waitFor(t, s.URL+"/tuf/1.root.json")
		waitFor(t, s.URL+"/tuf/timestamp.json") // the first sweep signs at start
		local := t.TempDir()
		cfg, err := config.New(s.URL+"/tuf/", root)
		if err != nil {
			t.Fatal(err)
		}
		cfg.LocalMetadataDir, cfg.LocalTargetsDir, cfg.RemoteTargetsURL = local, local, s.URL+"/tuf/targets/"
		up, err := updater.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := up.Refresh(); err != nil {
			t.Fatalf("go-tuf refresh against a fresh server: %v", err)
		}
		if n := len(up.GetTopLevelTargets()); n != 0 {
			t.Fatalf("a fresh catalog has %d targets", n)
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		again := e2e.Start(t, e2e.Options{Data: s.Data, DB: s.DB})
		if strings.Contains(again.Stdout(), "Created the update catalog's TUF keys") {
			t.Fatal("a restart made new keys")
		}
		if got := waitFor(t, again.URL+"/tuf/1.root.json"); string(got) != string(root) {
			t.Fatal("a restart changed the root")
		}
		if keys, _ := filepath.Glob(filepath.Join(s.Data, "tuf-keys", "*.key")); len(keys) != 4 {
			t.Fatalf("key files: %v", keys)
		}
		if fi, err := os.Stat(filepath.Join(s.Data, "tuf-keys")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("key directory: %v %v", fi, err)
		}
	})
}

// waitFor polls url until it answers 200 (the server's first sweep may
// still be running) and returns the body.
func waitFor(t *testing.T, url string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within 30s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
