package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store"
)

// Bench runs the store benchmarks: the reads every signed-in request makes
// (session, then account), the smallest audited write, and the agents'
// check-ins as the fleet service commits them (a batch of plain check-ins
// per transaction; the figure is per check-in).
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("SessionLookup", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ctx := context.Background()
		u := staff.User{Email: "bench@example.com", Roles: staff.Roles{staff.RoleAdmin}, PasswordHash: "x"}
		if err := s.CreateUser(ctx, &u, entry("user.create", "bench")); err != nil {
			b.Fatal(err)
		}
		const sessions = 1000
		for i := range sessions {
			ss := staff.Session{Hash: fmt.Sprintf("h%d", i), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(1e12)}
			if err := s.CreateSession(ctx, ss, entry("session.create", "bench")); err != nil {
				b.Fatal(err)
			}
		}
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ss, err := s.SessionByHash(ctx, fmt.Sprintf("h%d", n.Add(1)%sessions))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.UserByID(ctx, ss.UserID); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("AppendAudit", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ctx := context.Background()
		e := audit.New(audit.Actor{Who: "bench", From: "127.0.0.1"}, t0, "bench.step", "bench:1", "a short detail")
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.AppendAudit(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("SaveCheckins", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		ctx := context.Background()
		const batch = 64
		if _, err := s.CreateEnrollToken(ctx, fleet.EnrollToken{MaxUses: batch, Expires: t0.Add(time.Hour), Created: t0}, hash("pde_bench")); err != nil {
			b.Fatal(err)
		}
		cs := make([]fleet.Checkin, batch)
		for i := range cs {
			c, err := s.Enroll(ctx, hash("pde_bench"), fleet.Computer{Name: fmt.Sprintf("c%d", i), OS: "linux", Arch: "amd64", Enrolled: t0}, hash(fmt.Sprint(i)))
			if err != nil {
				b.Fatal(err)
			}
			cs[i] = fleet.Checkin{Computer: c.ID, At: t0}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += batch {
			for j := range cs {
				cs[j].At = t0.Add(time.Duration(i+j) * time.Millisecond)
			}
			n := min(batch, b.N-i)
			if _, err := s.SaveCheckins(ctx, cs[:n], func(*fleet.Approval, fleet.Report) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
