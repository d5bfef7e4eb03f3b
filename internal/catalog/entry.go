// Package catalog turns published updates into the signed update catalog
// endpoints trust: one entry per update with its payload and restart need,
// direct deltas from earlier versions, and TUF targets naming them all.
// Nothing enters before its release is published (the updates it reads
// are recorded only at publication), so the embargo holds by construction.
package catalog

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/tufrepo"
)

// Classifications an update may carry.
const (
	Security   = "security"
	Critical   = "critical"
	Feature    = "feature"
	Mitigation = "mitigation"
)

// Entry states.
const (
	Ready   = "ready"   // signed into the catalog
	Refused = "refused" // the build cannot be distributed; Reason says why
)

// Entry is one update as the catalog carries it.
type Entry struct {
	Update  release.Update
	State   string
	Reason  string
	Restart string // none, service:<name>, reboot
	Full    Target
	Deltas  []Delta
	Created time.Time
}

// Target is one file clients fetch: its TUF target path and content.
type Target struct {
	Path   string
	SHA256 string
	Size   int64
}

// Delta is a direct delta to the entry's version from an earlier one.
type Delta struct {
	From string
	Target
	Build time.Duration
}

// Store keeps the catalog.
type Store interface {
	tufrepo.Store
	// ListUpdates returns every published update, oldest first.
	ListUpdates(ctx context.Context) ([]release.Update, error)
	// PutCatalogEntry records an entry and its deltas, once per update.
	PutCatalogEntry(ctx context.Context, e Entry) error
	// CatalogEntries returns every entry, oldest first.
	CatalogEntries(ctx context.Context) ([]Entry, error)
	// CatalogContent reports whether a sha256 is content the catalog
	// serves (a ready entry's payload or one of its deltas, or content
	// mirrored from an upstream server), and its size.
	CatalogContent(ctx context.Context, sha string) (int64, bool, error)
}

// Custom is the custom metadata a TUF target carries, so a client learns
// from signed data — not from the server's say-so — what a file is. The
// agent reads it too, so it is defined with the agent's wire types.
type Custom = agentapi.TargetMeta

// targetPath names a file in the catalog: product/version/file, each part
// limited to characters that travel unescaped in a URL path.
func targetPath(product string, productID int64, version, file string) string {
	return fmt.Sprintf("%d-%s/%s/%s", productID, safe(product), safe(version), file)
}

func safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._+~-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if out := b.String(); out != "" && url.PathEscape(out) == out {
		return out
	}
	return "_"
}

func hexBytes(s string) ([]byte, error) {
	if !blob.ValidSum(s) {
		return nil, fmt.Errorf("%q is not a sha256", s)
	}
	return hex.DecodeString(s)
}
