package product

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
)

// Product is something the vendor ships.
type Product struct {
	ID        int64
	Name      string
	Vendor    string
	Scheme    Scheme
	CreatedAt time.Time
}

// Version is one released version of a product.
type Version struct {
	ID        int64
	ProductID int64
	Version   string
	// Seq is the order in which versions were added: the order of opaque
	// versions, and a tie-break for the others.
	Seq       int64
	CreatedAt time.Time
}

// WithVersions is a product and its versions, oldest first.
type WithVersions struct {
	Product
	Versions []Version
}

// Store keeps products and versions. Changes write their audit entry in the
// same transaction. A duplicate name or version is patchday.ErrConflict; a
// missing product is patchday.ErrNotFound.
type Store interface {
	// CreateProduct inserts p and sets p.ID and p.CreatedAt.
	CreateProduct(ctx context.Context, p *Product, e audit.Entry) error
	ProductByName(ctx context.Context, name string) (Product, error)
	ListProducts(ctx context.Context) ([]Product, error)
	// AddVersion inserts v, setting v.ID, v.Seq and v.CreatedAt.
	AddVersion(ctx context.Context, v *Version, e audit.Entry) error
	// ListVersions returns every version of every product, in no order.
	ListVersions(ctx context.Context) ([]Version, error)
	// SetProductSLA stores a product's SLA policy as JSON ("" = default).
	SetProductSLA(ctx context.Context, productID int64, policy string, e audit.Entry) error
	ProductSLA(ctx context.Context, productID int64) (string, error)
}

// Sort orders versions oldest first by the product's scheme.
func Sort(sc Scheme, vs []Version) {
	slices.SortStableFunc(vs, func(a, b Version) int {
		if c := sc.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
}

// checkName returns why a product or vendor name is not acceptable.
func checkName(what, s string) string {
	switch {
	case s == "":
		return "a " + what + " is required"
	case len(s) > 100:
		return "a " + what + " is at most 100 characters"
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "a " + what + " cannot contain control characters"
	}
	return ""
}

// Service applies the rules for products.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service; now may be nil for time.Now.
func NewService(s Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

// Add creates a product.
func (s *Service) Add(ctx context.Context, by audit.Actor, name, vendor, scheme string) (Product, error) {
	name, vendor = strings.TrimSpace(name), strings.TrimSpace(vendor)
	p := patchday.Problems{}
	if msg := checkName("name", name); msg != "" {
		p.Add("name", msg)
	}
	if msg := checkName("vendor", vendor); msg != "" {
		p.Add("vendor", msg)
	}
	sc, err := ParseScheme(scheme)
	if err != nil {
		p.Add("scheme", patchday.Message(err))
	}
	if err := p.Err("the product was not added"); err != nil {
		return Product{}, err
	}
	pr := Product{Name: name, Vendor: vendor, Scheme: sc}
	e := audit.New(by, s.now(), "product.create", "product:"+name, fmt.Sprintf("vendor %s, scheme %s", vendor, sc))
	if err := s.store.CreateProduct(ctx, &pr, e); err != nil {
		return Product{}, fmt.Errorf("add product %s: %w", name, err)
	}
	return pr, nil
}

// AddVersion records a released version of a product.
func (s *Service) AddVersion(ctx context.Context, by audit.Actor, name, version string) (Version, error) {
	pr, err := s.store.ProductByName(ctx, strings.TrimSpace(name))
	if errors.Is(err, patchday.ErrNotFound) {
		return Version{}, patchday.Errorf(patchday.ErrNotFound, "there is no product named %q; add it first", name)
	} else if err != nil {
		return Version{}, fmt.Errorf("add version of %s: %w", name, err)
	}
	version = strings.TrimSpace(version)
	if err := pr.Scheme.CheckVersion(version); err != nil {
		return Version{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the version was not added",
			Fields: map[string]string{"version": patchday.Message(err)}}
	}
	v := Version{ProductID: pr.ID, Version: version}
	e := audit.New(by, s.now(), "product.version", "product:"+pr.Name, "version "+version)
	if err := s.store.AddVersion(ctx, &v, e); err != nil {
		return Version{}, fmt.Errorf("add version %s of %s: %w", version, pr.Name, err)
	}
	return v, nil
}

// List returns every product by name with its versions oldest first.
func (s *Service) List(ctx context.Context) ([]WithVersions, error) {
	ps, err := s.store.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.ListVersions(ctx)
	if err != nil {
		return nil, err
	}
	byProduct := map[int64][]Version{}
	for _, v := range vs {
		byProduct[v.ProductID] = append(byProduct[v.ProductID], v)
	}
	out := make([]WithVersions, len(ps))
	for i, p := range ps {
		out[i] = WithVersions{Product: p, Versions: byProduct[p.ID]}
		Sort(p.Scheme, out[i].Versions)
	}
	return out, nil
}

// SetSLA stores a product's SLA policy, given as the JSON the case
// handling reads; "" returns the product to the default policy.
func (s *Service) SetSLA(ctx context.Context, by audit.Actor, name, policy string) error {
	pr, err := s.store.ProductByName(ctx, strings.TrimSpace(name))
	if errors.Is(err, patchday.ErrNotFound) {
		return patchday.Errorf(patchday.ErrNotFound, "there is no product named %q", name)
	} else if err != nil {
		return err
	}
	detail := "SLA policy " + policy
	if policy == "" {
		detail = "SLA policy back to the default"
	}
	return s.store.SetProductSLA(ctx, pr.ID, policy, audit.New(by, s.now(), "product.sla", "product:"+pr.Name, detail))
}

// SLA returns a product's stored SLA policy ("" for the default).
func (s *Service) SLA(ctx context.Context, name string) (string, error) {
	pr, err := s.store.ProductByName(ctx, strings.TrimSpace(name))
	if err != nil {
		return "", err
	}
	return s.store.ProductSLA(ctx, pr.ID)
}

// ByName returns one product.
func (s *Service) ByName(ctx context.Context, name string) (Product, error) {
	return s.store.ProductByName(ctx, strings.TrimSpace(name))
}
