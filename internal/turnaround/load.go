package turnaround

import (
	"context"
	"fmt"

	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
)

// Source is where the figures come from: the cases and their audited
// moves, triage and SLA clocks (cases.Service is one).
type Source interface {
	ListCases(ctx context.Context) ([]intake.Case, error)
	Moves(ctx context.Context, caseID int64) ([]cases.Move, error)
	TriageOf(ctx context.Context, caseID int64) (cases.Assessment, error)
	ClocksOf(ctx context.Context, c intake.Case) ([]cases.Clock, error)
}

// Load reads every case with what the figures need. product names a
// product by its id ("" if unknown). It reads each case's moves, triage
// and clocks separately: fine for the hundreds of cases a year a vendor
// has, not for a million.
func Load(ctx context.Context, src Source, product func(id int64) string) ([]Case, error) {
	list, err := src.ListCases(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(list))
	for _, c := range list {
		tc := Case{Ref: c.Ref, Product: product(c.ProductID), Opened: c.CreatedAt}
		if tc.Moves, err = src.Moves(ctx, c.ID); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Ref, err)
		}
		a, err := src.TriageOf(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Ref, err)
		}
		tc.Severity = a.CVSSRating
		if tc.Clocks, err = src.ClocksOf(ctx, c); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Ref, err)
		}
		out = append(out, tc)
	}
	return out, nil
}
