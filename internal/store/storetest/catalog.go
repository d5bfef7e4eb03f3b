package storetest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	patchday "github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/store"
)

// testCatalog: TUF metadata is kept per role and version, written once
// (two servers racing to sign the same version: one wins); catalog entries
// come with their deltas, and only ready entries' content is served.
func testCatalog(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()
	_, err := s.TUF(ctx, "timestamp", 0)
	wantKind(t, "metadata of an empty store", err, patchday.ErrNotFound)
	for v := int64(1); v <= 3; v++ {
		if err := s.PutTUF(ctx, "timestamp", v, []byte{byte(v)}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.TUF(ctx, "timestamp", 0); err != nil || !bytes.Equal(b, []byte{3}) {
		t.Fatalf("newest: %v %v", b, err)
	}
	if b, err := s.TUF(ctx, "timestamp", 2); err != nil || !bytes.Equal(b, []byte{2}) {
		t.Fatalf("version 2: %v %v", b, err)
	}
	_, err = s.TUF(ctx, "snapshot", 2)
	wantKind(t, "another role's version", err, patchday.ErrNotFound)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = s.PutTUF(ctx, "snapshot", 1, []byte{byte(i)}, t0) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantKind(t, "a second writer of one version", err, patchday.ErrConflict)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers of snapshot version 1 succeeded", won)
	}

	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := s.CreateProduct(ctx, &gw, entry("product.create", "Gateway")); err != nil {
		t.Fatal(err)
	}
	r := release.Release{At: t0, Kind: release.OutOfBand, Justification: "x", CreatedAt: t0}
	if err := s.CreateRelease(ctx, &r, entry("release.create", "x")); err != nil {
		t.Fatal(err)
	}
	pay := func(c string) intake.Attachment {
		return intake.Attachment{Name: "p", ContentType: "application/zstd", SHA256: strings.Repeat(c, 64), Size: 100}
	}
	us := []release.Update{
		{ProductID: gw.ID, Brings: "1.0.1", AppliesTo: []string{"1.0.0"}, Classification: "security", Severity: "High", Payload: pay("a"), CreatedAt: t0},
		{ProductID: gw.ID, Brings: "2.0.1", AppliesTo: []string{"2.0.0"}, Classification: "security", Severity: "High", Payload: pay("b"), CreatedAt: t0},
	}
	if _, err := s.MarkPublished(ctx, r.ID, t0, us, entry("release.publish", "x")); err != nil {
		t.Fatal(err)
	}
	ready := catalog.Entry{Update: us[0], State: catalog.Ready, Restart: "reboot", Created: t0,
		Full:   catalog.Target{Path: "1-Gateway/1.0.1/payload.tar.zst", SHA256: pay("a").SHA256, Size: 100},
		Deltas: []catalog.Delta{{From: "1.0.0", Target: catalog.Target{Path: "1-Gateway/1.0.1/from-1.0.0.delta", SHA256: strings.Repeat("c", 64), Size: 10}, Build: 1500 * time.Millisecond}}}
	refused := catalog.Entry{Update: us[1], State: catalog.Refused, Reason: "not a payload", Restart: "none", Created: t0,
		Full: catalog.Target{Path: "1-Gateway/2.0.1/payload.tar.zst", SHA256: pay("b").SHA256, Size: 100}}
	for _, e := range []catalog.Entry{ready, refused} {
		if err := s.PutCatalogEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "a second entry for one update", s.PutCatalogEntry(ctx, ready), patchday.ErrConflict)
	got, err := s.CatalogEntries(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("entries: %v %v", got, err)
	}
	if got[0].Update.Product != "Gateway" || got[0].Update.Brings != "1.0.1" || got[0].Restart != "reboot" || !got[0].Created.Equal(t0.Truncate(time.Microsecond)) ||
		len(got[0].Deltas) != 1 || got[0].Deltas[0] != ready.Deltas[0] || got[1].Reason != "not a payload" || len(got[1].Deltas) != 0 {
		t.Fatalf("entries read back: %+v", got)
	}
	for sha, want := range map[string]int64{pay("a").SHA256: 100, strings.Repeat("c", 64): 10, pay("b").SHA256: -1, strings.Repeat("d", 64): -1} {
		size, ok, err := s.CatalogContent(ctx, sha)
		if err != nil || ok != (want >= 0) || (ok && size != want) {
			t.Errorf("content %s…: %d %v %v, want %d", sha[:4], size, ok, err, want)
		}
	}
}
