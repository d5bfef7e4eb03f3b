package product_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/store/sqlite"
)

func newService(t *testing.T) (*product.Service, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)
	return product.NewService(st, func() time.Time { return now }), st
}

var operator = audit.Actor{Who: "cli:root", From: "cli"}

func TestServiceAddAndList(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	if _, err := svc.Add(ctx, operator, " Gateway ", "Example Corp", "debian"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Add(ctx, operator, "Agent", "Example Corp", ""); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"7.88.1-10+deb12u15", "7.88.1-10+deb12u5"} {
		if _, err := svc.AddVersion(ctx, operator, "Gateway", v); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"1.10.0", "1.9.0"} {
		if _, err := svc.AddVersion(ctx, operator, "Agent", v); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, p := range ps {
		for _, v := range p.Versions {
			got[p.Name] = append(got[p.Name], v.Version)
		}
	}
	if !slices.Equal(got["Gateway"], []string{"7.88.1-10+deb12u5", "7.88.1-10+deb12u15"}) || !slices.Equal(got["Agent"], []string{"1.9.0", "1.10.0"}) {
		t.Errorf("versions by product = %v", got)
	}
	if ps[0].Name != "Agent" || ps[0].Scheme != product.SchemeSemver {
		t.Errorf("first product %+v, want Agent with the default semver scheme", ps[0].Product)
	}
	es, _ := st.ListAudit(ctx, audit.Query{})
	if len(es) != 6 || es[0].Action != "product.version" || es[len(es)-1].Action != "product.create" {
		t.Errorf("audit: %d entries, want 6 (2 products, 4 versions)", len(es))
	}
}

func TestServiceRefuses(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	_, err := svc.Add(ctx, operator, "", "", "calver")
	fields := patchday.FieldErrors(err)
	if !errors.Is(err, patchday.ErrInvalid) || len(fields) != 3 {
		t.Errorf("Add with three problems: %v (fields %v), want all three at once", err, fields)
	}
	if _, err := svc.Add(ctx, operator, "Agent", "Example", "semver"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Add(ctx, operator, "Agent", "Example", "semver"); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("duplicate product: %v, want ErrConflict", err)
	}
	if _, err := svc.AddVersion(ctx, operator, "Agent", "1.4"); !errors.Is(err, patchday.ErrInvalid) || patchday.FieldErrors(err)["version"] == "" {
		t.Errorf("bad semver: %v, want a version problem", err)
	}
	if _, err := svc.AddVersion(ctx, operator, "Nope", "1.0.0"); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("missing product: %v, want ErrNotFound", err)
	}
	if es, _ := st.ListAudit(ctx, audit.Query{}); len(es) != 1 {
		t.Errorf("%d audit entries, want 1: refusals change nothing", len(es))
	}
}
