package intake_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/store/sqlite"
)

func newService(t *testing.T, clock *time.Time, rate intake.RateLimit) *intake.Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gw := product.Product{Name: "Gateway", Vendor: "Example", Scheme: product.SchemeSemver}
	if err := st.CreateProduct(context.Background(), &gw, audit.New(audit.System, now, "product.create", "Gateway", "")); err != nil {
		t.Fatal(err)
	}
	return intake.NewService(st, checks, intake.DefaultLimits, rate, func() time.Time { return *clock })
}

func TestSubmitAndOpen(t *testing.T) {
	clock := now
	svc := newService(t, &clock, intake.DefaultRateLimit)
	ctx := context.Background()
	rc, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^PD-2026-0001$`).MatchString(rc.Ref) || !strings.HasPrefix(rc.Link, intake.LinkPrefix) {
		t.Fatalf("receipt %+v", rc)
	}
	c, rs, err := svc.Open(ctx, rc.Link)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ref != rc.Ref || c.State != intake.StateReceived || len(rs) != 1 || rs[0].Source != intake.SourceWeb || !rs[0].ReceivedAt.Equal(now) {
		t.Errorf("Open = %+v, %+v", c, rs)
	}
	if c.ProductID == 0 || rs[0].ProductID != c.ProductID {
		t.Errorf("a report naming a listed product: case product %d, report product %d; want the product's id", c.ProductID, rs[0].ProductID)
	}
	other := valid()
	other.Product = "Something we do not list"
	rcOther, err := svc.Submit(ctx, other, intake.SourceWeb, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := svc.Open(ctx, rcOther.Link); c.ProductID != 0 {
		t.Errorf("an unlisted product (\"other\") got product id %d, want 0", c.ProductID)
	}
	last := "A"
	if strings.HasSuffix(rc.Link, "A") {
		last = "B"
	}
	for _, bad := range []string{"", "pdr_short", rc.Link[:len(rc.Link)-1] + last, strings.Replace(rc.Link, "pdr_", "pdt_", 1)} {
		if _, _, err := svc.Open(ctx, bad); !errors.Is(err, patchday.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// A refused submission takes no case number.
	sub := valid()
	sub.Email = ""
	if _, err := svc.Submit(ctx, sub, intake.SourceWeb, "192.0.2.1"); !errors.Is(err, patchday.ErrInvalid) {
		t.Fatalf("invalid submission: %v", err)
	}
	rc2, err := svc.Submit(ctx, valid(), intake.SourceAPI, "192.0.2.1")
	if err != nil || rc2.Ref != "PD-2026-0003" || rc2.Link == rc.Link {
		t.Errorf("second receipt %+v, %v", rc2, err)
	}
}

func TestSubmitRateLimit(t *testing.T) {
	clock := now
	svc := newService(t, &clock, intake.RateLimit{Reports: 2, Per: time.Hour})
	ctx := context.Background()
	for i := range 2 {
		if _, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1"); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		clock = clock.Add(10 * time.Minute)
	}
	_, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1")
	if !errors.Is(err, patchday.ErrTooManyRequests) || !strings.Contains(err.Error(), "try again at 11:00 on 24 November 2026") {
		t.Fatalf("third report within the hour: %v; want a refusal saying when to try again", err)
	}
	if _, err := svc.Submit(ctx, valid(), intake.SourceWeb, "198.51.100.9"); err != nil {
		t.Errorf("another address is not limited: %v", err)
	}
	clock = now.Add(time.Hour + time.Second)
	if _, err := svc.Submit(ctx, valid(), intake.SourceWeb, "192.0.2.1"); err != nil {
		t.Errorf("after the hour: %v", err)
	}
}
