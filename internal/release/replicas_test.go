package release_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/postgres"
	"github.com/patchday/patchday/internal/store/postgres/pgtest"
)

// TestReplicasPublishOnce: two servers, each with its own connection pool
// to one PostgreSQL database, run the publish job at release time
// together: the release goes out once and its case moves once.
func TestReplicasPublishOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	type replica struct {
		st       *postgres.Store
		releases *release.Service
	}
	var rs []replica
	for range 2 {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		handling := cases.NewService(st, clock)
		sched, _ := release.ParseSchedule(release.DefaultRule, false, now)
		svc := release.NewService(st, handling, st, sched, clock)
		handling.UseReleases(svc)
		rs = append(rs, replica{st, svc})
	}
	a := rs[0]
	reports := intake.NewService(a.st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, clock)
	rc, err := reports.Submit(ctx, intake.Submission{Title: "t", Product: "p", Version: "1", Description: "d", Steps: "s", Email: "ada@example.org"}, intake.SourceWeb, "x")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := a.st.CaseByRef(ctx, rc.Ref)
	prev := cases.Received
	for _, to := range []cases.State{cases.Triage, cases.Accepted, cases.Fixing, cases.Testing, cases.Verifying, cases.Scheduled} {
		if err := a.st.MoveCase(ctx, c.ID, cases.Move{From: prev, To: to, Actor: "test", At: now}, audit.New(audit.System, now, "x", "", "")); err != nil {
			t.Fatal(err)
		}
		prev = to
	}
	up, err := a.releases.Upcoming(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	rm := release.Manager{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	if err := a.releases.Assign(ctx, rm, up[0].ID, rc.Ref); err != nil {
		t.Fatal(err)
	}
	if err := a.releases.Approve(ctx, rm, up[0].ID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = up[0].At.Add(time.Second)
	mu.Unlock()
	var wg sync.WaitGroup
	got := make([][]release.Published, len(rs))
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := r.releases.Publish(ctx)
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			got[i] = p
		}()
	}
	wg.Wait()
	if n := len(got[0]) + len(got[1]); n != 1 {
		t.Fatalf("the release was published %d times, want once: %+v", n, got)
	}
	moves, _ := a.st.CaseMoves(ctx, c.ID)
	released := 0
	for _, m := range moves {
		if m.To == cases.Released {
			released++
		}
	}
	if released != 1 {
		t.Errorf("the case moved to released %d times", released)
	}
}
