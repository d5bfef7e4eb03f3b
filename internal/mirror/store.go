package mirror

import (
	"context"
	"time"

	"github.com/patchday/patchday/internal/tufrepo"
)

// Target is one file the upstream's signed targets name: its path, the
// hash and length they promise, and whether its content is here yet.
type Target struct {
	Path    string
	SHA256  string
	Size    int64
	Seen    time.Time
	Fetched time.Time // zero until the content is in the blob store
}

// Store keeps what a mirror has: the upstream's signed metadata exactly as
// received (tufrepo.Store), and the targets it names.
type Store interface {
	tufrepo.Store
	// PutMirrorTargets records targets not yet known; known paths keep
	// their first-seen time and fetched state, unless the signed content
	// under the path changed: then it is recorded anew, not fetched.
	PutMirrorTargets(ctx context.Context, ts []Target) error
	// MarkFetched records that a target's content is in the blob store.
	MarkFetched(ctx context.Context, path string, at time.Time) error
	// MirrorTargets returns every known target, by path.
	MirrorTargets(ctx context.Context) ([]Target, error)
}
