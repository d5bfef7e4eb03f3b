package cra

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// Records is what reports read of cases, products, people and releases;
// the store holds all of it.
type Records interface {
	ListCases(ctx context.Context) ([]intake.Case, error)
	CaseTriage(ctx context.Context, caseID int64) (cases.Assessment, error)
	ListProducts(ctx context.Context) ([]product.Product, error)
	ListVersions(ctx context.Context) ([]product.Version, error)
	UserByID(ctx context.Context, id int64) (staff.User, error)
	ReleaseOfCase(ctx context.Context, caseID int64) (release.Release, error)
	ListAdvisories(ctx context.Context) ([]release.Draft, error)
}

// FromRecords reads a report's sources from records.
func FromRecords(r Records) Sources { return recordSources{r} }

type recordSources struct{ Records }

func (r recordSources) ProductName(ctx context.Context, productID int64) (string, error) {
	ps, err := r.ListProducts(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.ID == productID {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("product %d is missing", productID)
}

func (r recordSources) CaseForReport(ctx context.Context, caseID int64) (Case, error) {
	all, err := r.ListCases(ctx)
	if err != nil {
		return Case{}, err
	}
	i := slices.IndexFunc(all, func(c intake.Case) bool { return c.ID == caseID })
	if i < 0 {
		return Case{}, patchday.Errorf(patchday.ErrNotFound, "there is no case %d", caseID)
	}
	ic := all[i]
	c := Case{ID: ic.ID, Ref: ic.Ref, Title: ic.Title, ProductID: ic.ProductID}
	t, err := r.CaseTriage(ctx, caseID)
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return Case{}, err
	}
	c.CVSSRating, c.CVSSVector = t.CVSSRating, t.CVSSVector
	if w, ok := cwe.Lookup(t.CWE); ok {
		c.CWE = fmt.Sprintf("CWE-%d %s", t.CWE, w.Name)
	}
	vs, err := r.ListVersions(ctx)
	if err != nil {
		return Case{}, err
	}
	for _, v := range vs {
		if slices.Contains(t.Affected, v.ID) {
			c.Versions = append(c.Versions, v.Version)
			if c.ProductID == 0 {
				c.ProductID = v.ProductID
			}
		}
	}
	if c.ProductID != 0 {
		if c.Product, err = r.ProductName(ctx, c.ProductID); err != nil {
			return Case{}, err
		}
	}
	if t.Assignee != 0 {
		if u, err := r.UserByID(ctx, t.Assignee); err == nil {
			c.Assignee = u.Email
		}
	}
	rel, err := r.ReleaseOfCase(ctx, caseID)
	if err != nil && !errors.Is(err, patchday.ErrNotFound) {
		return Case{}, err
	}
	c.Published = rel.PublishedAt
	ds, err := r.ListAdvisories(ctx)
	if err != nil {
		return Case{}, err
	}
	for _, d := range ds {
		if slices.Contains(d.CaseIDs, caseID) {
			if c.Workaround == "" {
				c.Workaround = d.Workaround
			}
			if rel.Published() {
				c.Advisories = append(c.Advisories, d.Ref)
			}
		}
	}
	return c, nil
}
