package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/staff"
)

// Cases is what releases need of case handling.
type Cases interface {
	CaseByRef(ctx context.Context, ref string) (intake.Case, error)
	ListCases(ctx context.Context) ([]intake.Case, error)
	TriageOf(ctx context.Context, caseID int64) (cases.Assessment, error)
	// Release moves a scheduled case to released, as the release job.
	Release(ctx context.Context, ref string) error
}

// Service plans, approves and publishes releases.
type Service struct {
	store  Store
	cases  Cases
	builds Builds
	sched  Schedule
	now    func() time.Time
}

// NewService returns a Service for a train schedule; now may be nil.
func NewService(s Store, c Cases, b Builds, sched Schedule, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, cases: c, builds: b, sched: sched, now: now}
}

// Schedule returns the train's rule.
func (s *Service) Schedule() Schedule { return s.sched }

// Manager is a staff member acting on releases.
type Manager struct {
	Email string
	Roles staff.Roles
	From  string
}

func (m Manager) actor() audit.Actor { return audit.Actor{Who: m.Email, From: m.From} }

func (m Manager) require() error {
	if !m.Roles.Has(staff.RoleReleaseManager) {
		return patchday.Errorf(patchday.ErrForbidden, "only a release manager may plan, fill or approve releases")
	}
	return nil
}

// Upcoming returns the next n train releases and any out-of-band ones
// before the last of them, creating train releases as their dates come
// into view.
func (s *Service) Upcoming(ctx context.Context, n int) ([]Release, error) {
	now := s.now().UTC()
	for _, d := range s.sched.Next(now, n) {
		if _, err := s.store.TrainAt(ctx, d); errors.Is(err, patchday.ErrNotFound) {
			r := Release{At: d, Kind: Train}
			err := s.store.CreateRelease(ctx, &r, audit.New(audit.System, now, "release.plan", "release:"+d.Format(time.RFC3339), "train date"))
			if err != nil && !errors.Is(err, patchday.ErrConflict) { // another server planned it meanwhile
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	return s.store.ListReleases(ctx, now.Add(-24*time.Hour))
}

// CreateOutOfBand plans a release outside the train, for any day, with
// the reason it cannot wait.
func (s *Service) CreateOutOfBand(ctx context.Context, m Manager, at time.Time, justification string) (Release, error) {
	if err := m.require(); err != nil {
		return Release{}, err
	}
	p := patchday.Problems{}
	justification = strings.TrimSpace(justification)
	if justification == "" {
		p.Add("justification", "say why this cannot wait for the next train, e.g. attacks observed on PD-2026-0042")
	}
	now := s.now().UTC()
	if at.Before(now) {
		p.Add("at", "an out-of-band release is planned for a time still to come")
	}
	if err := p.Err("the release was not planned"); err != nil {
		return Release{}, err
	}
	r := Release{At: at.UTC(), Kind: OutOfBand, Justification: justification}
	e := audit.New(m.actor(), now, "release.plan", "release:"+r.At.Format(time.RFC3339), "out of band: "+justification)
	if err := s.store.CreateRelease(ctx, &r, e); err != nil {
		return Release{}, err
	}
	return r, nil
}

// openCase returns a release that is still being filled and one of the
// cases a manager names for it.
func (s *Service) openCase(ctx context.Context, m Manager, releaseID int64, ref string) (Release, intake.Case, error) {
	if err := m.require(); err != nil {
		return Release{}, intake.Case{}, err
	}
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Release{}, intake.Case{}, err
	}
	if r.Approved() || r.Published() {
		return Release{}, intake.Case{}, patchday.Errorf(patchday.ErrConflict, "the release of %s is approved; its content is frozen", r.At.Format("2006-01-02"))
	}
	c, err := s.cases.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return Release{}, intake.Case{}, patchday.Errorf(patchday.ErrNotFound, "there is no case %s", ref)
	}
	return r, c, err
}

// Assign puts a scheduled case into a release that is not yet approved.
func (s *Service) Assign(ctx context.Context, m Manager, releaseID int64, ref string) error {
	r, c, err := s.openCase(ctx, m, releaseID, ref)
	if err != nil {
		return err
	}
	if c.State != "scheduled" {
		return patchday.Errorf(patchday.ErrConflict, "case %s is %s; only scheduled cases (fixed, tested, verified) go into a release", c.Ref, c.State)
	}
	e := audit.New(m.actor(), s.now(), "release.assign", "case:"+c.Ref, "into the release of "+r.At.Format(time.RFC3339))
	return s.store.AssignCase(ctx, r.ID, c.ID, e)
}

// Unassign takes a case out of a release that is not yet approved, and
// out of its advisories, e.g. to ship it in a later one.
func (s *Service) Unassign(ctx context.Context, m Manager, releaseID int64, ref string) error {
	r, c, err := s.openCase(ctx, m, releaseID, ref)
	if err != nil {
		return err
	}
	e := audit.New(m.actor(), s.now(), "release.unassign", "case:"+c.Ref, "out of the release of "+r.At.Format(time.RFC3339))
	if err := s.store.RemoveCase(ctx, r.ID, c.ID, e); errors.Is(err, patchday.ErrNotFound) {
		return patchday.Errorf(patchday.ErrNotFound, "case %s is not in the release of %s", c.Ref, r.At.Format("2006-01-02"))
	} else if err != nil {
		return err
	}
	return nil
}

// LastPublished returns up to n of the latest published releases, newest
// first, from the last year.
func (s *Service) LastPublished(ctx context.Context, n int) ([]Release, error) {
	all, err := s.store.ListReleases(ctx, s.now().UTC().AddDate(-1, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []Release
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		if all[i].Published() {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// ByID returns one release.
func (s *Service) ByID(ctx context.Context, id int64) (Release, error) { return s.release(ctx, id) }

func (s *Service) release(ctx context.Context, id int64) (Release, error) {
	r, err := s.store.ReleaseByID(ctx, id)
	if errors.Is(err, patchday.ErrNotFound) {
		return Release{}, patchday.Errorf(patchday.ErrNotFound, "there is no release %d", id)
	}
	return r, err
}

// Approve approves a release's content; only approved releases publish.
func (s *Service) Approve(ctx context.Context, m Manager, releaseID int64) error {
	if err := m.require(); err != nil {
		return err
	}
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return err
	}
	if r.Published() {
		return patchday.Errorf(patchday.ErrConflict, "the release is already published")
	}
	ids, err := s.store.ReleaseCases(ctx, r.ID)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return patchday.Errorf(patchday.ErrConflict, "the release has no cases to approve")
	}
	// What it will hand the catalog must hold together: one build per
	// version, each after the update it supersedes.
	us, err := s.plan(ctx, r, true)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	e := audit.New(m.actor(), now, "release.approve", "release:"+r.At.Format(time.RFC3339),
		fmt.Sprintf("%d cases; updates: %s", len(ids), describeUpdates(us)))
	return s.store.ApproveRelease(ctx, r.ID, m.Email, now, e)
}

// Approved reports whether the case is in an approved release: what the
// case rules need to let the release job move it to released.
func (s *Service) Approved(ctx context.Context, caseID int64) (bool, error) {
	r, err := s.store.ReleaseOfCase(ctx, caseID)
	if errors.Is(err, patchday.ErrNotFound) {
		return false, nil
	}
	return r.Approved(), err
}

// CaseIDs returns a release's cases.
func (s *Service) CaseIDs(ctx context.Context, releaseID int64) ([]int64, error) {
	return s.store.ReleaseCases(ctx, releaseID)
}

// Published is one release the publish job put out, and how late.
type Published struct {
	Release Release
	Delay   time.Duration // how long after its time it went out (a server was down)
	Cases   []string
}

// Publish puts out every approved release that is due: its cases move to
// released, then the release is marked published — the moment its
// advisories leave embargo. It is safe on several servers at once: case
// moves and the mark are conditional, so each happens once.
func (s *Service) Publish(ctx context.Context) ([]Published, error) {
	now := s.now().UTC()
	due, err := s.store.DueReleases(ctx, now)
	if err != nil {
		return nil, err
	}
	refs, err := s.caseRefs(ctx)
	if err != nil {
		return nil, err
	}
	var out []Published
	for _, r := range due {
		ids, err := s.store.ReleaseCases(ctx, r.ID)
		if err != nil {
			return out, err
		}
		// Planned first: a release whose updates do not hold together
		// is not half published. Later releases wait for it.
		us, err := s.plan(ctx, r, false)
		if err != nil {
			return out, fmt.Errorf("publish release %d: %w", r.ID, err)
		}
		p := Published{Release: r, Delay: now.Sub(r.At)}
		for _, id := range ids {
			if err := s.cases.Release(ctx, refs[id]); err != nil && !errors.Is(err, patchday.ErrConflict) {
				return out, fmt.Errorf("publish release %d: case %s: %w", r.ID, refs[id], err)
			}
			p.Cases = append(p.Cases, refs[id])
		}
		e := audit.New(audit.System, now, "release.publish", "release:"+r.At.Format(time.RFC3339), fmt.Sprintf("%d cases, %s late; updates: %s", len(ids), p.Delay.Round(time.Second), describeUpdates(us)))
		for i := range us {
			us[i].ReleaseID, us[i].CreatedAt = r.ID, now
		}
		done, err := s.store.MarkPublished(ctx, r.ID, now, us, e)
		if err != nil {
			return out, err
		}
		if done {
			p.Release.PublishedAt = now
			out = append(out, p)
		}
	}
	return out, nil
}

// caseRefs maps case ids to their refs.
func (s *Service) caseRefs(ctx context.Context) (map[int64]string, error) {
	all, err := s.cases.ListCases(ctx)
	if err != nil {
		return nil, err
	}
	refs := map[int64]string{}
	for _, c := range all {
		refs[c.ID] = c.Ref
	}
	return refs, nil
}

// OfCase returns the release a case is in (patchday.ErrNotFound if none).
func (s *Service) OfCase(ctx context.Context, caseID int64) (Release, error) {
	return s.store.ReleaseOfCase(ctx, caseID)
}
