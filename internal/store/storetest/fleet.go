package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/store"
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testFleet(t *testing.T, s store.Store, _ Harness) {
	ctx := t.Context()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok, err := s.CreateEnrollToken(ctx, fleet.EnrollToken{Note: "lab", Labels: []string{"site=lab"}, MaxUses: 2, Expires: now.Add(time.Hour),
		CreatedBy: "admin@example.com", Created: now}, hash("pde_a"))
	if err != nil {
		t.Fatal(err)
	}

	// Enrollment uses the token up, and refuses unknown or expired ones
	// without writing anything.
	var cs []fleet.Computer
	for i, name := range []string{"web-1", "web-2"} {
		c, err := s.Enroll(ctx, hash("pde_a"), fleet.Computer{Name: name, OS: "linux", Arch: "amd64", Labels: []string{"role=web"}, Enrolled: now}, hash("cred"+name))
		if err != nil {
			t.Fatalf("enroll %d: %v", i, err)
		}
		if c.Token != tok.ID || len(c.Labels) != 2 || c.Labels[0] != "site=lab" {
			t.Fatalf("enrolled %+v", c)
		}
		cs = append(cs, c)
	}
	for _, bad := range []struct {
		name string
		hash []byte
		at   time.Time
	}{{"used up", hash("pde_a"), now}, {"unknown", hash("pde_x"), now}} {
		if _, err := s.Enroll(ctx, bad.hash, fleet.Computer{Name: "x", OS: "linux", Arch: "amd64", Enrolled: bad.at}, hash("c")); !errors.Is(err, patchday.ErrUnauthenticated) {
			t.Errorf("%s token: %v", bad.name, err)
		}
	}
	if _, err := s.CreateEnrollToken(ctx, fleet.EnrollToken{MaxUses: 5, Expires: now.Add(time.Minute), Created: now}, hash("pde_b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enroll(ctx, hash("pde_b"), fleet.Computer{Name: "late", OS: "linux", Arch: "amd64", Enrolled: now.Add(time.Hour)}, hash("c")); !errors.Is(err, patchday.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	if all, err := s.Computers(ctx); err != nil || len(all) != 2 {
		t.Fatalf("computers after refusals: %d %v", len(all), err)
	}
	got, cred, err := s.ComputerCredential(ctx, cs[0].ID)
	if err != nil || string(cred) != string(hash("credweb-1")) || got.Name != "web-1" {
		t.Fatalf("credential: %+v %v", got, err)
	}

	// A group, an approval, and check-ins reporting results: each result
	// counts once, however often it is resent.
	g, err := s.PutGroup(ctx, fleet.Group{Name: "pilot", Labels: []string{"role=web"}, Policy: fleet.DefaultPolicy()}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutGroup(ctx, fleet.Group{Name: "pilot", Policy: fleet.DefaultPolicy()}, now); !errors.Is(err, patchday.ErrConflict) {
		t.Errorf("duplicate group name: %v", err)
	}
	a, err := s.PutApproval(ctx, fleet.Approval{Update: 7, Group: g.ID, Action: "install", Deadline: now.Add(48 * time.Hour), By: "admin", At: now})
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	count := func(a *fleet.Approval, r fleet.Report) {
		counted++
		a.Rollout.Succeeded++
	}
	inv := []fleet.Item{{Product: "nginx", Version: "1.0"}}
	batch := []fleet.Checkin{
		{Computer: cs[0].ID, At: now, Group: g.ID, Inventory: inv, InventoryHash: 42, OS: "linux", Arch: "amd64",
			Reports: []fleet.Report{{Update: 7, State: "installed", At: now, Restarts: 1, Downtime: 3 * time.Minute, Counts: true, Outcome: fleet.OutcomeSucceeded}}},
		{Computer: cs[1].ID, At: now, Group: g.ID},
	}
	for range 2 {
		errs, err := s.SaveCheckins(ctx, batch, count)
		if err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("save: %v %v", errs, err)
		}
	}
	if counted != 1 {
		t.Errorf("a resent result was counted %d times", counted)
	}
	as, err := s.Approvals(ctx)
	if err != nil || len(as) != 1 || as[0].Rollout.Succeeded != 1 || !as[0].Deadline.Equal(a.Deadline) {
		t.Fatalf("approvals: %+v %v", as, err)
	}
	rs, err := s.Reports(ctx, "installed")
	if err != nil || len(rs) != 1 || rs[0].Restarts != 1 || rs[0].Downtime != 3*time.Minute {
		t.Fatalf("reports: %+v %v", rs, err)
	}
	if ev, err := s.Events(ctx, cs[0].ID, 10); err != nil || len(ev) != 1 || ev[0].Kind != "installed" {
		t.Fatalf("events: %+v %v", ev, err)
	}

	// A timeout applies only over the state it expects.
	timeout := []fleet.Checkin{{Computer: cs[0].ID, At: now, Group: g.ID, Sweep: true, Reports: []fleet.Report{
		{Update: 7, State: "failed", Detail: "timed out", At: now, IfState: "installing", Counts: true, Outcome: fleet.OutcomeTimedOut}}}}
	if _, err := s.SaveCheckins(ctx, timeout, count); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.Reports(ctx, "installed"); len(rs) != 1 {
		t.Error("a timeout overwrote an installed result")
	}

	// Last seen: folded from the check-in log.
	later := now.Add(10 * time.Minute)
	if _, err := s.SaveCheckins(ctx, []fleet.Checkin{{Computer: cs[1].ID, At: later, Group: g.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FoldCheckins(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := s.Computers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !all[1].LastSeen.Equal(later) || all[0].InventoryHash != 42 || len(all[0].Inventory) != 1 || all[0].Group != g.ID {
		t.Fatalf("after fold: %+v", all)
	}

	// Restart leases: at most max at once; expired ones do not count; a
	// holder's lease is extended; returning it frees the place.
	if ok, err := s.TakeRestartLease(ctx, cs[0].ID, g.ID, 1, now, now.Add(30*time.Minute)); err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	if ok, _ := s.TakeRestartLease(ctx, cs[1].ID, g.ID, 1, now, now.Add(30*time.Minute)); ok {
		t.Error("a second lease beyond max unavailable")
	}
	if ok, _ := s.TakeRestartLease(ctx, cs[0].ID, g.ID, 1, now, now.Add(40*time.Minute)); !ok {
		t.Error("the holder's lease was not extended")
	}
	if ok, _ := s.TakeRestartLease(ctx, cs[1].ID, g.ID, 1, now.Add(41*time.Minute), now.Add(70*time.Minute)); !ok {
		t.Error("an expired lease still counts")
	}
	if _, err := s.SaveCheckins(ctx, []fleet.Checkin{{Computer: cs[1].ID, At: now, Group: g.ID, DropLease: true}}, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RestartLeases(ctx, now.Add(42*time.Minute)); n[g.ID] != 0 {
		t.Errorf("leases after return: %v", n)
	}

	// The brake: a rollout change in a transaction, acknowledged.
	if _, err := s.UpdateRollout(ctx, a.ID, func(a *fleet.Approval) error {
		a.Rollout.Braked, a.Rollout.BrakedAt, a.Rollout.BrakeReason = true, now, "3 failures"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.Approvals(ctx); !as[0].Rollout.Braked || as[0].Rollout.BrakeReason != "3 failures" {
		t.Fatalf("braked: %+v", as[0].Rollout)
	}

	// Retiring: by id, and by last seen; a retired computer's inventory
	// check-in is refused.
	if n, err := s.RetireComputers(ctx, 0, now.Add(5*time.Minute), now); err != nil || n != 1 {
		t.Fatalf("retire stale: %d %v", n, err)
	}
	errs, err := s.SaveCheckins(ctx, []fleet.Checkin{{Computer: cs[0].ID, At: now, Group: g.ID, Inventory: inv, InventoryHash: 1}}, nil)
	if err != nil || !errors.Is(errs[0], patchday.ErrUnauthenticated) {
		t.Errorf("retired computer's check-in: %v %v", errs, err)
	}

	// Updates are first seen once; settings and events expire.
	seen, err := s.SeeUpdates(ctx, []fleet.Seen{{Update: 7, Product: "nginx", Version: "1.1"}}, now)
	if err != nil || len(seen) != 1 || !seen[0].FirstSeen.Equal(now) {
		t.Fatalf("seen: %+v %v", seen, err)
	}
	if seen, _ := s.SeeUpdates(ctx, []fleet.Seen{{Update: 7, Product: "nginx", Version: "1.1"}}, later); !seen[0].FirstSeen.Equal(now) {
		t.Error("first seen moved")
	}
	if err := s.PutSetting(ctx, fleet.RulesSetting, "[]", "admin", now); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, fleet.RulesSetting); err != nil || v != "[]" {
		t.Fatalf("setting: %q %v", v, err)
	}
	if _, err := s.Setting(ctx, "nope"); !errors.Is(err, patchday.ErrNotFound) {
		t.Errorf("missing setting: %v", err)
	}
	if n, err := s.ExpireEvents(ctx, now.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("expire events: %d %v", n, err)
	}
	if err := s.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.Approvals(ctx); len(as) != 0 {
		t.Error("a deleted group's approvals remain")
	}
}
