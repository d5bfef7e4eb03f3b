package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/store"
)

func testPostMortems(t *testing.T, s store.Store, _ Harness) {
	ctx := context.Background()

	// Tenets: the seeded list, then the organisation's edits.
	seeded, err := s.ListTenets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) != 11 || seeded[0].Title != "Validate all input at trust boundaries" {
		t.Fatalf("seeded tenets: %d, first %+v; want 11 starting with input validation", len(seeded), seeded[0])
	}
	for i, tn := range seeded {
		if tn.ID == 0 || tn.Description == "" || tn.Retired || tn.CreatedAt.IsZero() || (i > 0 && tn.ID <= seeded[i-1].ID) {
			t.Errorf("seeded tenet %d: %+v", i, tn)
		}
	}
	tn := postmortem.Tenet{Title: "Parse, don't validate", Description: "Turn input into types that cannot hold bad values.", CreatedAt: t0}
	if err := s.CreateTenet(ctx, &tn, entry("tenet.create", "tenet:parse")); err != nil || tn.ID == 0 {
		t.Fatalf("CreateTenet: %v (id %d)", err, tn.ID)
	}
	dup := postmortem.Tenet{Title: "PARSE, DON'T VALIDATE", Description: "x", CreatedAt: t0}
	err = s.CreateTenet(ctx, &dup, entry("tenet.create", "tenet:dup"))
	wantKind(t, "a tenet title in use (other case)", err, patchday.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "title") {
		t.Errorf("a tenet title in use: %q does not say why", err)
	}
	tn.Description, tn.Retired = "Make bad states unrepresentable.", true
	if err := s.UpdateTenet(ctx, tn, entry("tenet.update", "tenet:parse")); err != nil {
		t.Fatal(err)
	}
	tenets, err := s.ListTenets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(seeded, tn), tenets); diff != "" {
		t.Errorf("ListTenets after create and update (-want +got):\n%s", diff)
	}
	err = s.UpdateTenet(ctx, postmortem.Tenet{ID: 9999, Title: "nothing"}, entry("tenet.update", "tenet:missing"))
	wantKind(t, "UpdateTenet(missing)", err, patchday.ErrNotFound)
	clash := tn
	clash.Title = "validate ALL input at trust boundaries"
	err = s.UpdateTenet(ctx, clash, entry("tenet.update", "tenet:clash"))
	wantKind(t, "UpdateTenet to another's title", err, patchday.ErrConflict)
	same := tn
	same.Title = "Parse, Don't Validate" // its own title, recased
	if err := s.UpdateTenet(ctx, same, entry("tenet.update", "tenet:parse")); err != nil {
		t.Errorf("UpdateTenet to its own title in another case: %v", err)
	}

	// Post-mortems, saved revision by revision.
	var cs []intake.Case
	for i := range 2 {
		c := intake.Case{Year: 2026, Title: "pm", State: intake.StateReceived, CreatedAt: t0}
		if err := s.CreateCase(ctx, &c, sampleReport(t0, "x"), fmt.Sprintf("pm-link-%d", i), entry("case.create", "case")); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	_, err = s.PostMortemOf(ctx, cs[0].ID)
	wantKind(t, "PostMortemOf before any save", err, patchday.ErrNotFound)
	_, err = s.PostMortemOf(ctx, 9999)
	wantKind(t, "PostMortemOf(unknown case)", err, patchday.ErrNotFound)

	cet := time.FixedZone("CET", 3600)
	pm := postmortem.PostMortem{CaseID: cs[0].ID, RootCause: "The record length was trusted — ünïcode too.", CWE: 787, Component: "tls",
		Team: "Platform", IntroducedVersion: "7.2.0", IntroducedCommit: "abc123", HowFound: "fuzzing", WhyMissed: "No fuzzing of the handshake.",
		TenetID: seeded[1].ID, Actions: []postmortem.Action{
			{What: "Fuzz the handshake in CI", Owner: "ada@example.com", Due: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
			{What: "Train the team", Owner: "bob@example.com", Due: time.Date(2027, 3, 1, 1, 0, 0, 0, cet), Done: true},
		},
		Author: "ada@example.com", EditedBy: "ada@example.com", Revision: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := s.SavePostMortem(ctx, pm, entry("postmortem.save", "case:first")); err != nil {
		t.Fatalf("SavePostMortem(revision 1): %v", err)
	}
	got, err := s.PostMortemOf(ctx, pm.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pm, got); diff != "" {
		t.Errorf("PostMortemOf after revision 1 (-want +got):\n%s", diff)
	}
	for i, a := range got.Actions {
		if a.Due.Location() != time.UTC {
			t.Errorf("action %d: due %v is not in UTC", i, a.Due)
		}
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.CreatedAt, got.UpdatedAt)
	}

	again := pm
	again.RootCause = "a second first save"
	err = s.SavePostMortem(ctx, again, entry("postmortem.save", "case:stale"))
	wantKind(t, "a second revision 1", err, patchday.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "revision 1") {
		t.Errorf("stale save: %q does not name the stored revision", err)
	}
	skip := pm
	skip.Revision = 3
	wantKind(t, "revision 3 over revision 1", s.SavePostMortem(ctx, skip, entry("postmortem.save", "case:stale")), patchday.ErrConflict)

	pm2 := pm
	pm2.RootCause, pm2.EditedBy, pm2.Revision, pm2.UpdatedAt = "The record length was trusted.", "bob@example.com", 2, t0.Add(time.Hour)
	pm2.Actions = []postmortem.Action{{What: "Fuzz the handshake in CI", Owner: "ada@example.com", Due: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Done: true}}
	if err := s.SavePostMortem(ctx, pm2, entry("postmortem.save", "case:first")); err != nil {
		t.Fatalf("SavePostMortem(revision 2): %v", err)
	}
	if got, err := s.PostMortemOf(ctx, pm.CaseID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(pm2, got); diff != "" {
		t.Errorf("PostMortemOf after revision 2 (-want +got):\n%s", diff)
	}

	// A bare first draft: no tenet, no actions.
	bare := postmortem.PostMortem{CaseID: cs[1].ID, RootCause: "unknown yet", Author: "bob@example.com", EditedBy: "bob@example.com",
		Revision: 1, CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}
	late := bare
	late.Revision = 2
	wantKind(t, "revision 2 with none stored", s.SavePostMortem(ctx, late, entry("postmortem.save", "case:stale")), patchday.ErrConflict)
	if err := s.SavePostMortem(ctx, bare, entry("postmortem.save", "case:second")); err != nil {
		t.Fatalf("SavePostMortem(no tenet): %v", err)
	}
	if got, err := s.PostMortemOf(ctx, bare.CaseID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(bare, got); diff != "" {
		t.Errorf("PostMortemOf(no tenet, no actions) (-want +got):\n%s", diff)
	}
	nowhere := bare
	nowhere.CaseID = 9999
	wantKind(t, "a post-mortem of a missing case", s.SavePostMortem(ctx, nowhere, entry("postmortem.save", "case:missing")), patchday.ErrNotFound)

	all, err := s.ListPostMortems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]postmortem.PostMortem{pm2, bare}, all); diff != "" {
		t.Errorf("ListPostMortems (-want +got):\n%s", diff)
	}

	// Comments, oldest first.
	comments := []postmortem.Comment{
		{CaseID: cs[0].ID, Author: "rev@example.com", Body: "Which versions?", At: t0.Add(2 * time.Hour)},
		{CaseID: cs[1].ID, Author: "rev@example.com", Body: "Elsewhere.", At: t0.Add(2 * time.Hour)},
		{CaseID: cs[0].ID, Author: "ada@example.com", Body: "From 7.2.0 on.", At: t0.Add(time.Hour)}, // an earlier clock, later added
	}
	for i := range comments {
		if err := s.AddPostMortemComment(ctx, &comments[i], entry("postmortem.comment", "case:x")); err != nil || comments[i].ID == 0 {
			t.Fatalf("AddPostMortemComment #%d: %v (id %d)", i, err, comments[i].ID)
		}
	}
	if got, err := s.PostMortemComments(ctx, cs[0].ID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff([]postmortem.Comment{comments[0], comments[2]}, got); diff != "" {
		t.Errorf("PostMortemComments (-want +got):\n%s", diff)
	}
	if got, err := s.PostMortemComments(ctx, 9999); err != nil || len(got) != 0 {
		t.Errorf("PostMortemComments(unknown case) = %+v, %v; want none", got, err)
	}

	// Briefings.
	r := release.Release{At: t0, Kind: release.Train}
	if err := s.CreateRelease(ctx, &r, entry("release.create", "x")); err != nil {
		t.Fatal(err)
	}
	_, err = s.BriefingOf(ctx, r.ID)
	wantKind(t, "BriefingOf before any save", err, patchday.ErrNotFound)
	b := postmortem.Briefing{ReleaseID: r.ID, Title: "Security briefing: the November 2026 release", Intro: "Two fixes.",
		Items: []postmortem.BriefingItem{
			{Case: cs[0].Ref, Advisory: "PDSA-2026-0001, CVE-2026-0001", Heading: "Heap overflow", Fixed: "bounds", Why: "trusted length", Differently: "fuzz"},
			{Case: cs[1].Ref, Heading: "Something else"},
		},
		Takeaways: "Fuzz parsers.", EditedBy: "ada@example.com", EditedAt: t0}
	if err := s.SaveBriefing(ctx, b, entry("briefing.save", "release:x")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BriefingOf(ctx, r.ID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(b, got); diff != "" || got.Shared() {
		t.Errorf("BriefingOf after a save (shared %v) (-want +got):\n%s", got.Shared(), diff)
	}
	b.Intro, b.Items = "Nothing after all.", nil
	b.SharedBy, b.SharedAt = "rm@example.com", t0.Add(24*time.Hour)
	if err := s.SaveBriefing(ctx, b, entry("briefing.share", "release:x")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BriefingOf(ctx, r.ID); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(b, got); diff != "" || !got.Shared() {
		t.Errorf("BriefingOf after sharing (shared %v) (-want +got):\n%s", got.Shared(), diff)
	}
	racing := b
	racing.Intro, racing.SharedAt, racing.SharedBy = "An edit racing the share.", time.Time{}, ""
	wantKind(t, "changing a shared briefing", s.SaveBriefing(ctx, racing, entry("briefing.save", "release:x")), patchday.ErrConflict)
	if got, _ := s.BriefingOf(ctx, r.ID); got.Intro != b.Intro || !got.Shared() {
		t.Errorf("a refused save changed the shared briefing: %+v", got)
	}
	stray := b
	stray.ReleaseID = 9999
	wantKind(t, "a briefing of a missing release", s.SaveBriefing(ctx, stray, entry("briefing.save", "release:missing")), patchday.ErrNotFound)

	// Each change wrote its audit entry; refused ones wrote none.
	var acts []string
	for _, a := range auditActions(t, s) {
		if !strings.HasPrefix(a, "case.create ") && !strings.HasPrefix(a, "release.create ") {
			acts = append(acts, a)
		}
	}
	want := []string{
		"tenet.create tenet:parse", "tenet.update tenet:parse", "tenet.update tenet:parse",
		"postmortem.save case:first", "postmortem.save case:first", "postmortem.save case:second",
		"postmortem.comment case:x", "postmortem.comment case:x", "postmortem.comment case:x",
		"briefing.save release:x", "briefing.share release:x",
	}
	if diff := cmp.Diff(want, acts); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}

	// Editors saving over one revision at once: one wins, the rest are
	// told to reload.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := bare
			next.Revision, next.RootCause = 2, fmt.Sprintf("editor %d", i)
			errs[i] = s.SavePostMortem(ctx, next, entry("postmortem.save", "case:race"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantKind(t, "a concurrent save of one revision", err, patchday.ErrConflict)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent saves of revision 2 succeeded; want 1", won)
	}
	if got, err := s.PostMortemOf(ctx, bare.CaseID); err != nil || got.Revision != 2 {
		t.Errorf("after the race: revision %d, %v", got.Revision, err)
	}
}
