package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
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
	d := Draft{ReleaseID: r.ID, Title: strings.TrimSpace(title), Summary: strings.TrimSpace(summary),
		Workaround: strings.TrimSpace(workaround), CVEs: []string{}, CreatedBy: m.Email}
	if d.Title == "" || len(d.Title) > 200 {
		p.Add("title", "a title of up to 200 characters is required")
	}
	if d.Summary == "" {
		p.Add("summary", "say what is wrong and what it allows, for administrators")
	}
	for _, c := range strings.FieldsFunc(cves, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !cvePattern.MatchString(c) {
			p.Add("cves", fmt.Sprintf("%q is not a CVE id (write CVE-2026-12345)", c))
			continue
		}
		d.CVEs = append(d.CVEs, c)
	}
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
	d, err := s.store.AdvisoryByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return Draft{}, Release{}, errEmbargoed(ref)
	} else if err != nil {
		return Draft{}, Release{}, err
	}
	r, err := s.store.ReleaseByID(ctx, d.ReleaseID)
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
	all, err := s.store.ListAdvisories(ctx)
	if err != nil {
		return nil, nil, err
	}
	rels := map[int64]Release{}
	var out []Draft
	for _, d := range all {
		r, ok := rels[d.ReleaseID]
		if !ok {
			if r, err = s.store.ReleaseByID(ctx, d.ReleaseID); err != nil {
				return nil, nil, err
			}
			rels[d.ReleaseID] = r
		}
		if r.Published() {
			out = append(out, d)
		}
	}
	return out, rels, nil
}
