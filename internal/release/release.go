package release

import (
	"context"
	"time"

	"github.com/patchday/patchday/internal/audit"
)

// Kind says whether a release rides the train or is out of band.
type Kind string

// The kinds of release.
const (
	Train     Kind = "train"
	OutOfBand Kind = "out-of-band"
)

// Release is one publication of fixes at a set time.
type Release struct {
	ID            int64
	At            time.Time
	Kind          Kind
	Justification string // why an out-of-band release cannot wait
	ApprovedBy    string
	ApprovedAt    time.Time // zero until approved
	PublishedAt   time.Time // zero until published
	CreatedAt     time.Time
}

// Approved reports whether a release manager approved the release.
func (r Release) Approved() bool { return !r.ApprovedAt.IsZero() }

// Published reports whether the release is out.
func (r Release) Published() bool { return !r.PublishedAt.IsZero() }

// Store keeps releases and their advisories. Changes write their audit
// entry with them.
type Store interface {
	AdvisoryStore
	// CreateRelease inserts r; a train release on a date that has one is
	// patchday.ErrConflict.
	CreateRelease(ctx context.Context, r *Release, e audit.Entry) error
	ReleaseByID(ctx context.Context, id int64) (Release, error)
	// TrainAt returns the train release at exactly t, ErrNotFound if none.
	TrainAt(ctx context.Context, t time.Time) (Release, error)
	// ListReleases returns releases from since on, by time.
	ListReleases(ctx context.Context, since time.Time) ([]Release, error)
	// AssignCase puts a case in a release; a case already in one is
	// patchday.ErrConflict.
	AssignCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error
	// RemoveCase takes a case out of a release and its advisories (one
	// left without cases goes); a case not in it is ErrNotFound.
	RemoveCase(ctx context.Context, releaseID, caseID int64, e audit.Entry) error
	ReleaseCases(ctx context.Context, releaseID int64) ([]int64, error)
	ReleaseOfCase(ctx context.Context, caseID int64) (Release, error)
	// ApproveRelease marks a release approved.
	ApproveRelease(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) error
	// MarkPublished marks a release published if it was not yet, with
	// the updates it hands the catalog (setting their ids) and the
	// versions they bring added to their products, and reports whether
	// this call did: of several servers, one publishes.
	MarkPublished(ctx context.Context, id int64, at time.Time, updates []Update, e audit.Entry) (bool, error)
	// ListUpdates returns every published update, oldest first.
	ListUpdates(ctx context.Context) ([]Update, error)
	// ReleaseUpdates returns a release's updates.
	ReleaseUpdates(ctx context.Context, releaseID int64) ([]Update, error)
	// DueReleases returns approved, unpublished releases due by now.
	DueReleases(ctx context.Context, now time.Time) ([]Release, error)
}

// Draft is an advisory as people write it; the rest is read from its
// cases when it is rendered.
type Draft struct {
	ID         int64
	Ref        string // PDSA-YYYY-NNNN
	ReleaseID  int64
	Title      string
	Summary    string
	CVEs       []string
	Workaround string
	CaseIDs    []int64
	CreatedBy  string
	CreatedAt  time.Time
	// Revisions are the corrections after publication, oldest first;
	// the publication itself is revision 1.
	Revisions []Revision
}

// Revision is one correction of a published advisory.
type Revision struct {
	Number  int // 2, 3, …
	Summary string
	By      string
	At      time.Time
}

// AdvisoryStore keeps advisories.
type AdvisoryStore interface {
	// CreateAdvisory numbers d within year, sets d.ID and d.Ref, and links
	// its cases (a case in another advisory is patchday.ErrConflict).
	CreateAdvisory(ctx context.Context, d *Draft, year int, e audit.Entry) error
	AdvisoryByRef(ctx context.Context, ref string) (Draft, error)
	// UpdateAdvisory stores d's title, summary, CVE ids and workaround;
	// with rev, as a new revision numbered after the last (set in rev).
	UpdateAdvisory(ctx context.Context, d Draft, rev *Revision, e audit.Entry) error
	// ReleaseAdvisories returns a release's advisories.
	ReleaseAdvisories(ctx context.Context, releaseID int64) ([]Draft, error)
	// ListAdvisories returns every advisory, newest first.
	ListAdvisories(ctx context.Context) ([]Draft, error)
}
