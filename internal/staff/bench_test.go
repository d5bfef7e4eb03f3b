package staff_test

import (
	"context"
	"testing"

	"github.com/patchday/patchday/internal/staff"
)

// BenchmarkHashDefault measures what one sign-in costs the server with the
// production argon2id parameters (it bounds sign-ins per second per core).
func BenchmarkHashDefault(b *testing.B) {
	h := staff.NewHasher(staff.DefaultParams, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
