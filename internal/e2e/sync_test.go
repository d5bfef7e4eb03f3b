package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/patchday/patchday/internal/e2e"
)

// seedVendor records published releases of two nginx versions in a
// vendor's data directory, so the vendor's server signs them into its
// catalog (with a delta) on start.
func seedVendor(t *testing.T, dir string) {
	seedReleases(t, dir, seedItem{"nginx", "service:nginx"})
}

// cutter stands between a customer server and its vendor: it can cut a
// content download short once, tamper with one path, and records the
// Range requests it saw.
type cutter struct {
	target  *url.URL
	mu      sync.Mutex
	cutOnce int64 // bytes after which the next content download is cut (at most half of it)
	cutAt   int64 // where it was cut
	tamper  string
	ranges  []string
}

func (c *cutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := http.Get(c.target.String() + r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	c.mu.Lock()
	cut, tamper := int64(0), c.tamper
	isContent := strings.HasPrefix(r.URL.Path, "/tuf/targets/")
	if isContent {
		if rg := r.Header.Get("Range"); rg != "" {
			c.ranges = append(c.ranges, rg)
		}
		if c.cutOnce > 0 && r.Header.Get("Range") == "" {
			cut = min(c.cutOnce, int64(len(body)/2))
			c.cutAt, c.cutOnce = cut, 0
		}
	}
	c.mu.Unlock()
	if tamper != "" && strings.HasSuffix(r.URL.Path, tamper) {
		body = bytes.Clone(body)
		body[len(body)/2] ^= 0xff
	}
	if isContent {
		// Serve with Range support, as the vendor does.
		if cut > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body[:cut])
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		return
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// TestSyncTwoServers: a customer's server mirrors a vendor's catalog over
// loopback. A sync cut off mid-download resumes with Range; the mirrored
// metadata is the vendor's byte for byte, so an agent's go-tuf client that
// trusts only the vendor's root accepts the customer's server; a tampered
// upstream is refused and changes nothing.
func TestSyncTwoServers(t *testing.T) {
	engines(t, func(t *testing.T, db func(t *testing.T) string) {
		vendorData := t.TempDir()
		seedVendor(t, vendorData)
		vendor := e2e.Start(t, e2e.Options{Data: vendorData})
		waitFor(t, vendor.URL+"/tuf/timestamp.json")
		root := filepath.Join(vendorData, "tuf-keys", "1.root.json")
		targets := waitForTargets(t, vendor.URL)

		vu, _ := url.Parse(vendor.URL)
		c := &cutter{target: vu, cutOnce: 200 << 10}
		proxy := httptest.NewServer(c)
		defer proxy.Close()
		custData, custDB := t.TempDir(), db(t)
		sync := func() (string, error) {
			args := []string{"sync", "--data", custData, "--upstream", proxy.URL, "--upstream-root", root}
			if custDB != "" {
				args = append(args, "--db", custDB)
			}
			return e2e.Run(t, "", args...)
		}
		out, err := sync()
		if err == nil {
			t.Fatalf("the first sync was cut off but succeeded: %s", out)
		}
		out, err = sync()
		if err != nil {
			t.Fatalf("the resumed sync: %v\n%s", err, out)
		}
		if !strings.Contains(out, "1 resumed") {
			t.Errorf("the second sync did not resume: %s", out)
		}
		c.mu.Lock()
		ranges, cutAt := append([]string(nil), c.ranges...), c.cutAt
		c.mu.Unlock()
		if len(ranges) == 0 || ranges[0] != fmt.Sprintf("bytes=%d-", cutAt) {
			t.Errorf("Range requests seen: %v, want one from the byte the first sync stopped at", ranges)
		}

		cust := e2e.Start(t, e2e.Options{Data: custData, DB: custDB, Args: []string{"--upstream", proxy.URL, "--upstream-root", root}})
		for _, name := range []string{"1.root.json", "timestamp.json"} {
			if v, m := get(t, vendor.URL+"/tuf/"+name); v != http.StatusOK || m == "" {
				t.Fatalf("vendor %s: %d", name, v)
			}
			_, want := get(t, vendor.URL+"/tuf/"+name)
			_, got := get(t, cust.URL+"/tuf/"+name)
			if got != want {
				t.Errorf("%s differs between vendor and mirror", name)
			}
		}
		// An agent trusting the vendor's root only, talking to the mirror.
		rootBytes, _ := os.ReadFile(root)
		local := t.TempDir()
		cfg, err := config.New(cust.URL+"/tuf/", rootBytes)
		if err != nil {
			t.Fatal(err)
		}
		cfg.LocalMetadataDir, cfg.LocalTargetsDir, cfg.RemoteTargetsURL, cfg.PrefixTargetsWithHash = local, local, cust.URL+"/tuf/targets/", true
		up, err := updater.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := up.Refresh(); err != nil {
			t.Fatalf("go-tuf against the mirror: %v", err)
		}
		if n := len(up.GetTopLevelTargets()); n != targets {
			t.Fatalf("the mirror's signed targets name %d files, the vendor's %d", n, targets)
		}
		for name := range up.GetTopLevelTargets() {
			tf, err := up.GetTargetInfo(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := up.DownloadTarget(tf, "", ""); err != nil {
				t.Fatalf("download %s from the mirror: %v", name, err)
			}
		}
		// The fleet on the mirror sees the vendor's updates.
		if code, body := get(t, cust.URL+"/healthz"); code != http.StatusOK {
			t.Fatalf("healthz %d %s", code, body)
		}

		// Tampered upstream: metadata whose signature no longer holds.
		_, before := get(t, cust.URL+"/tuf/timestamp.json")
		c.mu.Lock()
		c.tamper = "timestamp.json"
		c.mu.Unlock()
		out, err = sync()
		if err == nil || !strings.Contains(out+err.Error(), "refused") {
			t.Fatalf("a tampered timestamp was not refused: %v\n%s", err, out)
		}
		if _, after := get(t, cust.URL+"/tuf/timestamp.json"); after != before {
			t.Fatal("a refused sync changed the mirrored timestamp")
		}
	})
}

// waitForTargets waits until the vendor's signed targets name its
// updates' payloads and deltas, and returns how many.
func waitForTargets(t *testing.T, base string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if code, body := get(t, base+"/tuf/targets.json"); code == http.StatusOK && strings.Contains(body, ".delta") {
			return strings.Count(body, `"length"`)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the vendor never signed its updates into the catalog")
	return 0
}
