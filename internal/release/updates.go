package release

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
)

// Classification of an update; releases of vulnerability fixes are
// security updates (the catalog adds the others).
const Security = "security"

// Update is what a release hands the catalog for one version a product
// moves to: one build, installed over the versions it applies to. It is
// cumulative: it carries every earlier update's fixes for those versions
// and says which earlier updates it supersedes.
type Update struct {
	ID             int64
	ReleaseID      int64
	ProductID      int64
	Product        string
	Brings         string
	AppliesTo      []string // versions it installs over, oldest first (opaque: as found)
	Classification string
	Severity       string       // the worst CVSS rating of what it fixes
	Cases          []string     // every case it fixes, earlier updates' included
	Supersedes     []Superseded // the earlier updates it replaces
	Payload        intake.Attachment
	CreatedAt      time.Time
}

// Superseded names an earlier update: by id for the catalog, by the
// version it brought for people.
type Superseded struct {
	ID     int64  `json:"id"`
	Brings string `json:"brings"`
}

// Shipped is one fix a release ships: a case's latest fix for one of its
// affected versions.
type Shipped struct {
	Case      string // ref
	Rating    string // the case's CVSS rating
	ProductID int64
	Product   string
	Scheme    product.Scheme
	From      string // the version it fixes
	Fix       fixes.Fix
}

// PlanUpdates computes a release's updates from what it ships and every
// update published before it. A version is one build: two different
// builds claiming one version, or two builds in one release for one
// version, are refused with what to do, as is a build that does not come
// after the update it would supersede.
func PlanUpdates(ship []Shipped, earlier []Update) ([]Update, error) {
	type key struct {
		product int64
		brings  string
	}
	groups := map[key][]Shipped{}
	var order []key
	fromBuild := map[int64]map[string]Shipped{} // product → fixed version → its build
	for _, s := range ship {
		if s.Fix.Brings == "" {
			return nil, patchday.Errorf(patchday.ErrConflict, "the fix of %s for %s %s does not say which version it brings; upload it again naming the version",
				s.Case, s.Product, s.From)
		}
		k := key{s.ProductID, s.Fix.Brings}
		if g := groups[k]; len(g) > 0 && g[0].Fix.Payload.SHA256 != s.Fix.Payload.SHA256 {
			return nil, patchday.Errorf(patchday.ErrConflict, "%s %s is two different builds here (%s's and %s's); one version is one build: upload the build carrying both fixes to both cases",
				s.Product, s.Fix.Brings, g[0].Case, s.Case)
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
		if fromBuild[s.ProductID] == nil {
			fromBuild[s.ProductID] = map[string]Shipped{}
		}
		if o, ok := fromBuild[s.ProductID][s.From]; ok && o.Fix.Brings != s.Fix.Brings {
			return nil, patchday.Errorf(patchday.ErrConflict, "%s %s is fixed by two builds in this release, %s (%s) and %s (%s); ship one build carrying both fixes, or the cases in different releases",
				s.Product, s.From, o.Fix.Brings, o.Case, s.Fix.Brings, s.Case)
		}
		fromBuild[s.ProductID][s.From] = s
	}
	heads := headsOf(earlier)
	var out []Update
	for _, k := range order {
		g := groups[k]
		sc := g[0].Scheme
		u := Update{ProductID: k.product, Product: g[0].Product, Brings: k.brings, Classification: Security, Payload: g[0].Fix.Payload}
		for _, s := range g {
			u.AppliesTo = appendNew(u.AppliesTo, s.From)
			u.Cases = appendNew(u.Cases, s.Case)
			u.Severity = worse(u.Severity, s.Rating)
		}
		fixed := slices.Clone(u.AppliesTo)
		for _, e := range heads {
			// An earlier update is carried forward when this build fixes a
			// version it applied to or brought.
			if e.ProductID != k.product || !slices.ContainsFunc(fixed, func(v string) bool {
				return v == e.Brings || slices.Contains(e.AppliesTo, v)
			}) {
				continue
			}
			if sc != product.SchemeOpaque && sc.Compare(k.brings, e.Brings) <= 0 || k.brings == e.Brings {
				return nil, patchday.Errorf(patchday.ErrConflict, "%s %s does not come after %s, which an earlier release brings (published, or approved to publish first); the build must be a later version",
					u.Product, k.brings, e.Brings)
			}
			u.Supersedes = append(u.Supersedes, Superseded{ID: e.ID, Brings: e.Brings})
			for _, v := range append(slices.Clone(e.AppliesTo), e.Brings) {
				u.AppliesTo = appendNew(u.AppliesTo, v)
			}
			for _, c := range e.Cases {
				u.Cases = appendNew(u.Cases, c)
			}
			u.Severity = worse(u.Severity, e.Severity)
		}
		u.AppliesTo = slices.DeleteFunc(u.AppliesTo, func(v string) bool { return v == k.brings })
		slices.SortStableFunc(u.AppliesTo, sc.Compare)
		sort.Strings(u.Cases)
		out = append(out, u)
	}
	return out, nil
}

// headsOf returns the updates no other update supersedes.
func headsOf(us []Update) []Update {
	gone := map[int64]bool{}
	for _, u := range us {
		for _, x := range u.Supersedes {
			gone[x.ID] = true
		}
	}
	var out []Update
	for _, u := range us {
		if !gone[u.ID] {
			out = append(out, u)
		}
	}
	return out
}

func appendNew(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

func worse(a, b string) string {
	if cvss.Rank(b) > cvss.Rank(a) {
		return b
	}
	return a
}

// Builds is what releases read of fixes and products to plan the updates
// a release hands the catalog.
type Builds interface {
	CaseFixes(ctx context.Context, caseID int64) ([]fixes.Fix, error)
	ListProducts(ctx context.Context) ([]product.Product, error)
	ListVersions(ctx context.Context) ([]product.Version, error)
}

// shipped lists the latest fix of each of a release's cases for each of
// its affected versions.
func (s *Service) shipped(ctx context.Context, releaseID int64) ([]Shipped, error) {
	ids, err := s.store.ReleaseCases(ctx, releaseID)
	if err != nil {
		return nil, err
	}
	ps, err := s.builds.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.builds.ListVersions(ctx)
	if err != nil {
		return nil, err
	}
	products := map[int64]product.Product{}
	for _, p := range ps {
		products[p.ID] = p
	}
	versions := map[int64]product.Version{}
	for _, v := range vs {
		versions[v.ID] = v
	}
	refs, err := s.caseRefs(ctx)
	if err != nil {
		return nil, err
	}
	var out []Shipped
	for _, id := range ids {
		t, err := s.cases.TriageOf(ctx, id)
		if err != nil {
			return nil, err
		}
		fs, err := s.builds.CaseFixes(ctx, id)
		if err != nil {
			return nil, err
		}
		latest := fixes.Latest(fs)
		for _, v := range t.Affected {
			f, ok := latest[v]
			if !ok {
				return nil, patchday.Errorf(patchday.ErrConflict, "case %s has no fix for one of its affected versions", refs[id])
			}
			p := products[versions[v].ProductID]
			out = append(out, Shipped{Case: refs[id], Rating: t.CVSSRating, ProductID: p.ID, Product: p.Name, Scheme: p.Scheme,
				From: versions[v].Version, Fix: f})
		}
	}
	return out, nil
}

// Updates returns a release's updates: as recorded once it is published,
// as they would be recorded now before.
func (s *Service) Updates(ctx context.Context, r Release) ([]Update, error) {
	if r.Published() {
		return s.store.ReleaseUpdates(ctx, r.ID)
	}
	return s.plan(ctx, r, true)
}

// plan computes r's updates over every published update and, with
// pending, over those of approved releases due before r: so approving
// a release refuses what would conflict with one approved earlier.
func (s *Service) plan(ctx context.Context, r Release, pending bool) ([]Update, error) {
	earlier, err := s.store.ListUpdates(ctx)
	if err != nil {
		return nil, err
	}
	if pending {
		rs, err := s.store.ListReleases(ctx, time.Time{})
		if err != nil {
			return nil, err
		}
		next := int64(-1) // planned updates have no id yet
		for _, p := range rs {
			if p.ID == r.ID || p.Published() || !p.Approved() || !p.At.Before(r.At) {
				continue
			}
			ship, err := s.shipped(ctx, p.ID)
			if err != nil {
				return nil, err
			}
			us, err := PlanUpdates(ship, earlier)
			if err != nil {
				return nil, fmt.Errorf("the release of %s, approved before this one: %w", p.At.Format("2 January 2006"), err)
			}
			for i := range us {
				us[i].ID, us[i].ReleaseID = next, p.ID
				next--
			}
			earlier = append(earlier, us...)
		}
	}
	ship, err := s.shipped(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return PlanUpdates(ship, earlier)
}

// describeUpdates is an update list for the audit log.
func describeUpdates(us []Update) string {
	var parts []string
	for _, u := range us {
		parts = append(parts, fmt.Sprintf("%s %s over %s", u.Product, u.Brings, strings.Join(u.AppliesTo, ",")))
	}
	return strings.Join(parts, "; ")
}
