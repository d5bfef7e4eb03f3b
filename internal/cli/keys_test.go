package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/patchday/patchday/internal/store/sqlite"
	"github.com/patchday/patchday/internal/tufrepo"
)

// TestKeysAndCatalogCommands walks an operator through the catalog's key
// commands: init with thresholds, rotation, offline signing of pending
// targets, and payload build/inspect/unpack on a real package tree.
func TestKeysAndCatalogCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, err := run(t, nil, "keys", "init", "--dir", dir, "--root-keys", "3", "--root-threshold", "2", "--targets-keys", "2", "--targets-threshold", "2")
	if err != nil || !strings.Contains(out, "root:      3 key(s), threshold 2") {
		t.Fatalf("init: %v\n%s", err, out)
	}
	root, err := metadata.Root().FromFile(filepath.Join(dir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if root.Signed.Roles["root"].Threshold != 2 || len(root.Signed.Roles["root"].KeyIDs) != 3 || len(root.Signatures) != 3 ||
		root.Signed.Roles["targets"].Threshold != 2 || !root.Signed.ConsistentSnapshot {
		t.Fatalf("root: %+v", root.Signed.Roles)
	}
	if _, err := run(t, nil, "keys", "init", "--dir", dir); err == nil || ExitCode(err) != 2 {
		t.Fatalf("init over existing keys: %v", err)
	}
	if _, err := run(t, nil, "keys", "init", "--dir", t.TempDir(), "--timestamp-threshold", "2"); err == nil {
		t.Fatal("a threshold above the key count")
	}
	out, err = run(t, nil, "keys", "rotate", "--dir", dir, "--role", "snapshot")
	if err != nil || !strings.Contains(out, "2.root.json") {
		t.Fatalf("rotate: %v %s", err, out)
	}
	two, err := metadata.Root().FromFile(filepath.Join(dir, "2.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := root.VerifyDelegate("root", two); err != nil {
		t.Fatalf("version 2 is not signed by version 1's keys: %v", err)
	}
	if two.Signed.Roles["snapshot"].KeyIDs[0] == root.Signed.Roles["snapshot"].KeyIDs[0] {
		t.Fatal("the snapshot key did not change")
	}

	// Offline signing of a root file: a key of another role is refused.
	if _, err := run(t, nil, "keys", "sign", filepath.Join(dir, "2.root.json"), "--key", filepath.Join(dir, "targets-1.key")); err == nil {
		t.Fatal("a targets key signed root metadata")
	}

	// A payload from a real tree, inspected and unpacked.
	tree := "../../../shared/testdata/releases/libxml2/2.9.14+dfsg-1.3+deb12u6"
	p := filepath.Join(t.TempDir(), "libxml2.tar.zst")
	out, err = run(t, nil, "payload", "build", tree, "--product", "libxml2", "--version", "2.9.14+dfsg-1.3+deb12u6", "--restart", "none", "--out", p)
	if err != nil || !strings.Contains(out, "sha256 ") {
		t.Fatalf("payload build: %v %s", err, out)
	}
	out, err = run(t, nil, "payload", "inspect", p)
	if err != nil || !strings.Contains(out, `"product": "libxml2"`) || !strings.Contains(out, "libxml2.so.2.9.14") {
		t.Fatalf("inspect: %v %s", err, out)
	}
	dest := filepath.Join(t.TempDir(), "unpacked")
	if out, err := run(t, nil, "payload", "unpack", p, dest); err != nil {
		t.Fatalf("unpack: %v %s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(dest, "usr/lib/x86_64-linux-gnu/libxml2.so.2")); err != nil {
		t.Fatalf("the symbolic link was not unpacked: %v", err)
	}
	if _, err := run(t, nil, "payload", "build", tree, "--product", "libxml2", "--version", "x", "--restart", "sometimes", "--out", p+".2"); err == nil {
		t.Fatal("a bad restart need accepted")
	}
	if _, err := os.Stat(p + ".2"); err == nil {
		t.Fatal("a refused build left a file")
	}
}

// TestOfflineTargetsCommands: the server holds only the snapshot and
// timestamp keys, so new targets wait; the operator writes them out with
// `catalog pending`, signs them offline with `keys sign`, and hands them
// back with `catalog submit`.
func TestOfflineTargetsCommands(t *testing.T) {
	ctx := t.Context()
	keys := filepath.Join(t.TempDir(), "keys")
	if _, err := run(t, nil, "keys", "init", "--dir", keys); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(data, "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := tufrepo.ReadKeyDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	var online []tufrepo.Key
	for _, k := range all {
		if k.Role == tufrepo.Snapshot || k.Role == tufrepo.Timestamp {
			online = append(online, k)
		}
	}
	repo := tufrepo.New(st, online, tufrepo.DefaultExpiry, nil)
	root, _ := os.ReadFile(filepath.Join(keys, "1.root.json"))
	if _, err := repo.ImportRoot(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := repo.Publish(ctx, map[string]*metadata.TargetFiles{}); !errors.Is(err, tufrepo.ErrNeedsSignature) {
		t.Fatalf("publish without the targets key: %v", err)
	}
	st.Close()

	file := filepath.Join(t.TempDir(), "targets.json")
	if _, err := run(t, nil, "catalog", "pending", "--data", data); err == nil || ExitCode(err) != 2 {
		t.Fatalf("pending without --out: %v", err)
	}
	if out, err := run(t, nil, "catalog", "pending", "--data", data, "--out", file); err != nil || !strings.Contains(out, "patchday keys sign") {
		t.Fatalf("pending: %v %s", err, out)
	}
	if _, err := run(t, nil, "catalog", "submit", file, "--data", data); err == nil || !strings.Contains(err.Error(), "not signed by enough") {
		t.Fatalf("unsigned targets submitted: %v", err)
	}
	if out, err := run(t, nil, "keys", "sign", file, "--key", filepath.Join(keys, "targets-1.key")); err != nil || !strings.Contains(out, "added 1 signature") {
		t.Fatalf("sign: %v %s", err, out)
	}
	if out, err := run(t, nil, "catalog", "submit", file, "--data", data); err != nil || !strings.Contains(out, "accepted") {
		t.Fatalf("submit: %v %s", err, out)
	}
	if _, err := run(t, nil, "catalog", "pending", "--data", data, "--out", file); err == nil {
		t.Fatal("signed targets are still pending")
	}
	if out, err := run(t, nil, "catalog", "list", "--data", data); err != nil || !strings.HasPrefix(out, "UPDATE") {
		t.Fatalf("list: %v %s", err, out)
	}

	// The server, holding the online keys, publishes them in its next round.
	st, err = sqlite.Open(ctx, filepath.Join(data, "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := tufrepo.New(st, online, tufrepo.DefaultExpiry, nil).Refresh(ctx); err != nil || !got.Snapshot || !got.Timestamp {
		t.Fatalf("refresh: %+v %v", got, err)
	}
}
