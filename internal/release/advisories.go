package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
)

var cvePattern = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

// CreateAdvisory writes an advisory for one or more cases of a release (a
// release manager's choice of grouping). CVE ids are entered by hand.
func (s *Service) CreateAdvisory(ctx context.Context, m Manager, releaseID int64, refs []string, title, summary, cves, workaround string) (Draft, error) {
	if err := m.require(); err != nil {
		return Draft{}, err
	}
	r, err := s.release(ctx, releaseID)
	if err != nil {
		return Draft{}, err
	}
	if r.Published() {
		return Draft{}, patchday.Errorf(patchday.ErrConflict, "the release is published; correct its advisories with a revision")
	}
	inRelease, err := s.store.ReleaseCases(ctx, r.ID)
	if err != nil {
		return Draft{}, err
	}
	p := patchday.Problems{}
	d := Draft{ReleaseID: r.ID, CreatedBy: m.Email}
	d.setText(p, title, summary, cves, workaround)
	for _, ref := range refs {
		c, err := s.cases.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
		if err != nil {
			p.Add("cases", fmt.Sprintf("there is no case %s", ref))
			continue
		}
		found := false
		for _, id := range inRelease {
			found = found || id == c.ID
		}
		if !found {
			p.Add("cases", fmt.Sprintf("case %s is not in this release", c.Ref))
			continue
		}
		d.CaseIDs = append(d.CaseIDs, c.ID)
	}
	if len(d.CaseIDs) == 0 && len(refs) == 0 {
		p.Add("cases", "choose the cases the advisory covers")
	}
	if err := p.Err("the advisory was not written"); err != nil {
		return Draft{}, err
	}
	e := audit.New(m.actor(), s.now(), "advisory.create", "advisory", d.Title)
	if err := s.store.CreateAdvisory(ctx, &d, r.At.Year(), e); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// setText sets what people write in an advisory, adding any problem to p.
func (d *Draft) setText(p patchday.Problems, title, summary, cves, workaround string) {
	d.Title, d.Summary, d.Workaround, d.CVEs = strings.TrimSpace(title), strings.TrimSpace(summary), strings.TrimSpace(workaround), []string{}
	if d.Title == "" || len(d.Title) > 200 {
		p.Add("title", "a title of up to 200 characters is required")
	}
	if d.Summary == "" {
		p.Add("summary", "say what is wrong and what it allows, for administrators")
	}
	for _, c := range strings.FieldsFunc(cves, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !cvePattern.MatchString(c) {
			p.Add("cves", fmt.Sprintf("%q is not a CVE id (write CVE-2026-12345)", c))
			continue
		}
		if !slices.Contains(d.CVEs, c) {
			d.CVEs = append(d.CVEs, c)
		}
	}
}

// Edit changes what an advisory says. Until its release is published it
// is a draft and changes in place; after, every correction publishes a
// new revision, with a line saying what changed — the revision history
// that readers and their tools see in every format.
func (s *Service) Edit(ctx context.Context, m Manager, ref, title, summary, cves, workaround, change string) (Draft, error) {
	if err := m.require(); err != nil {
		return Draft{}, err
	}
	d, r, err := s.Advisory(ctx, ref)
	if err != nil {
		return Draft{}, err
	}
	before := d
	p := patchday.Problems{}
	d.setText(p, title, summary, cves, workaround)
	change = strings.TrimSpace(change)
	if r.Published() {
		if change == "" || len(change) > 300 {
			p.Add("change", "say in a line what this revision changes, e.g. Added CVE-2026-10002 (up to 300 characters)")
		}
		if d.Title == before.Title && d.Summary == before.Summary && d.Workaround == before.Workaround && slices.Equal(d.CVEs, before.CVEs) {
			p.Add("summary", "nothing changed; a revision corrects something")
		}
	}
	if err := p.Err("the advisory was not changed"); err != nil {
		return Draft{}, err
	}
	now := s.now().UTC()
	if !r.Published() {
		return d, s.store.UpdateAdvisory(ctx, d, nil, audit.New(m.actor(), now, "advisory.edit", "advisory:"+d.Ref, d.Title))
	}
	rev := Revision{Summary: change, By: m.Email, At: now}
	if err := s.store.UpdateAdvisory(ctx, d, &rev, audit.New(m.actor(), now, "advisory.revise", "advisory:"+d.Ref, change)); err != nil {
		return Draft{}, err
	}
	d.Revisions = append(d.Revisions, rev)
	return d, nil
}

// Advisory returns one advisory and its release (staff: embargo aside).
func (s *Service) Advisory(ctx context.Context, ref string) (Draft, Release, error) {
	d, err := s.store.AdvisoryByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return Draft{}, Release{}, errEmbargoed(ref) // the same answer as for an embargoed one
	} else if err != nil {
		return Draft{}, Release{}, err
	}
	r, err := s.release(ctx, d.ReleaseID)
	return d, r, err
}

// AllAdvisories returns every advisory, newest first, with its release
// (staff: embargo aside).
func (s *Service) AllAdvisories(ctx context.Context) ([]Draft, map[int64]Release, error) {
	all, err := s.store.ListAdvisories(ctx)
	if err != nil {
		return nil, nil, err
	}
	rels := map[int64]Release{}
	for _, d := range all {
		if _, ok := rels[d.ReleaseID]; !ok {
			if rels[d.ReleaseID], err = s.release(ctx, d.ReleaseID); err != nil {
				return nil, nil, err
			}
		}
	}
	return all, rels, nil
}

// Advisories returns a release's advisories (staff).
func (s *Service) Advisories(ctx context.Context, releaseID int64) ([]Draft, error) {
	return s.store.ReleaseAdvisories(ctx, releaseID)
}

// errEmbargoed is what the public is told about an advisory whose release
// is not out: the same as for one that does not exist.
func errEmbargoed(ref string) error {
	return patchday.Errorf(patchday.ErrNotFound, "there is no advisory %s", ref)
}

// Public returns an advisory and its release only if the release is
// published: the embargo rule, decided here and nowhere else.
func (s *Service) Public(ctx context.Context, ref string) (Draft, Release, error) {
	d, r, err := s.Advisory(ctx, ref)
	if err != nil {
		return Draft{}, Release{}, err
	}
	if !r.Published() {
		return Draft{}, Release{}, errEmbargoed(ref)
	}
	return d, r, nil
}

// PublicList returns the published advisories, newest first, each with
// its release.
func (s *Service) PublicList(ctx context.Context) ([]Draft, map[int64]Release, error) {
	all, rels, err := s.AllAdvisories(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []Draft
	for _, d := range all {
		if rels[d.ReleaseID].Published() {
			out = append(out, d)
		}
	}
	return out, rels, nil
}
