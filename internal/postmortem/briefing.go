package postmortem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/release"
)

// BriefingView is a release's briefing with what its page shows beside it.
type BriefingView struct {
	Release  release.Release
	Briefing Briefing
	// Generated is true while nobody has saved the briefing: it is drawn
	// afresh from the post-mortems and advisories on every view.
	Generated bool
	// Pending lists the release's cases whose post-mortem is not complete
	// yet, so an editor knows the briefing lacks their lessons.
	Pending []string
}

// Briefing returns a release's briefing: the saved one, or one generated
// from its post-mortems and advisories.
func (s *Service) Briefing(ctx context.Context, releaseID int64) (BriefingView, error) {
	gen, err := s.generate(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	saved, err := s.store.BriefingOf(ctx, releaseID)
	switch {
	case errors.Is(err, patchday.ErrNotFound):
		gen.Generated = true
		return gen, nil
	case err != nil:
		return BriefingView{}, err
	}
	gen.Briefing = saved
	return gen, nil
}

func (s *Service) generate(ctx context.Context, releaseID int64) (BriefingView, error) {
	r, err := s.rec.ReleaseByID(ctx, releaseID)
	if errors.Is(err, patchday.ErrNotFound) {
		return BriefingView{}, patchday.Errorf(patchday.ErrNotFound, "there is no release %d", releaseID)
	} else if err != nil {
		return BriefingView{}, err
	}
	ids, err := s.rec.ReleaseCases(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	ads, err := s.rec.ReleaseAdvisories(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	all, err := s.rec.ListCases(ctx)
	if err != nil {
		return BriefingView{}, err
	}
	tenets, err := s.store.ListTenets(ctx)
	if err != nil {
		return BriefingView{}, err
	}
	v := BriefingView{Release: r}
	b := Briefing{ReleaseID: releaseID, Title: "Security briefing: " + ReleaseName(r)}
	severities := map[string]int{}
	products := map[string]bool{}
	cited := map[int64]int{}
	weaknesses := map[int]int{}
	for _, c := range all {
		if !slices.Contains(ids, c.ID) {
			continue
		}
		view, err := s.view(ctx, c)
		if err != nil {
			return BriefingView{}, err
		}
		severities[cmp.Or(view.Case.Severity, "unrated")]++
		if view.Case.Product != "" {
			products[view.Case.Product] = true
		}
		if !view.Complete() {
			v.Pending = append(v.Pending, c.Ref)
		}
		item := briefingItem(view, ads)
		if view.Exists {
			if pm := view.PostMortem; pm.TenetID != 0 {
				cited[pm.TenetID]++
			}
			if view.PostMortem.CWE != 0 {
				weaknesses[view.PostMortem.CWE]++
			}
		}
		b.Items = append(b.Items, item)
	}
	slices.SortFunc(b.Items, func(x, y BriefingItem) int { return strings.Compare(x.Case, y.Case) })
	b.Intro = intro(len(b.Items), len(products), severities)
	b.Takeaways = takeaways(cited, weaknesses, tenets)
	v.Briefing = b
	return v, nil
}

// ReleaseName names a release for people: "the December 2026 release",
// "the out-of-band release of 3 December 2026".
func ReleaseName(r release.Release) string {
	if r.Kind == release.OutOfBand {
		return "the out-of-band release of " + r.At.UTC().Format("2 January 2006")
	}
	return "the " + r.At.UTC().Format("January 2006") + " release"
}

func intro(n, products int, severities map[string]int) string {
	if n == 0 {
		return "This release fixed no vulnerabilities."
	}
	var parts []string
	for _, sev := range []string{"critical", "high", "medium", "low", "none", "unrated"} {
		for k, c := range severities {
			if strings.EqualFold(k, sev) && c > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c, strings.ToLower(k)))
			}
		}
	}
	return fmt.Sprintf("This release fixed %s in %s (%s). For each: what was fixed, why it happened, and what we will do differently.",
		plural(n, "vulnerability", "vulnerabilities"), plural(products, "product", "products"), strings.Join(parts, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func briefingItem(v View, ads []release.Draft) BriefingItem {
	it := BriefingItem{Case: v.Case.Ref, Heading: v.Case.Title}
	var refs []string
	var summary string
	for _, d := range ads {
		if slices.Contains(d.CaseIDs, v.Case.ID) {
			ref := d.Ref
			if len(d.CVEs) > 0 {
				ref += " (" + strings.Join(d.CVEs, ", ") + ")"
			}
			refs = append(refs, ref)
			it.Heading, summary = d.Title, d.Summary
		}
	}
	it.Advisory = strings.Join(refs, "; ")
	fixed := []string{}
	if v.Case.Product != "" {
		where := v.Case.Product
		if len(v.Case.Versions) > 0 {
			where += " " + strings.Join(v.Case.Versions, ", ")
		}
		fixed = append(fixed, where+".")
	}
	if v.Case.Severity != "" {
		fixed = append(fixed, "Severity: "+v.Case.Severity+".")
	}
	if summary != "" {
		fixed = append(fixed, summary)
	} else {
		fixed = append(fixed, v.Case.Title)
	}
	it.Fixed = strings.Join(fixed, " ")
	if !v.Exists {
		it.Why = "No post-mortem yet."
		return it
	}
	pm := v.PostMortem
	var why []string
	if pm.RootCause != "" {
		why = append(why, pm.RootCause)
	}
	if pm.CWE != 0 {
		why = append(why, "Weakness: "+CWEName(pm.CWE)+".")
	}
	switch {
	case pm.IntroducedVersion != "" && pm.IntroducedCommit != "":
		why = append(why, fmt.Sprintf("Introduced in %s (commit %s).", pm.IntroducedVersion, pm.IntroducedCommit))
	case pm.IntroducedVersion != "":
		why = append(why, "Introduced in "+pm.IntroducedVersion+".")
	case pm.IntroducedCommit != "":
		why = append(why, "Introduced by commit "+pm.IntroducedCommit+".")
	}
	if pm.HowFound != "" {
		why = append(why, "Found by: "+strings.ToLower(MethodTitle(pm.HowFound)[:1])+MethodTitle(pm.HowFound)[1:]+".")
	}
	if pm.WhyMissed != "" {
		why = append(why, "Why earlier checks missed it: "+pm.WhyMissed)
	}
	it.Why = strings.Join(why, "\n")
	var diff []string
	if v.Tenet.ID != 0 {
		t := "Tenet: " + v.Tenet.Title + "."
		if v.Tenet.Description != "" {
			t += " " + v.Tenet.Description
		}
		diff = append(diff, t)
	}
	for _, a := range pm.Actions {
		diff = append(diff, fmt.Sprintf("• %s (%s, due %s)", a.What, a.Owner, a.Due.Format("2 Jan 2006")))
	}
	it.Differently = strings.Join(diff, "\n")
	return it
}

func takeaways(cited map[int64]int, weaknesses map[int]int, tenets []Tenet) string {
	var lines []string
	ids := make([]int64, 0, len(cited))
	for id := range cited {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cited[b]-cited[a], cmp.Compare(a, b)) })
	for _, id := range ids {
		if i := slices.IndexFunc(tenets, func(t Tenet) bool { return t.ID == id }); i >= 0 {
			lines = append(lines, fmt.Sprintf("• %s — %s", tenets[i].Title, plural(cited[id], "case", "cases")))
		}
	}
	ws := make([]int, 0, len(weaknesses))
	for w := range weaknesses {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b int) int { return cmp.Or(weaknesses[b]-weaknesses[a], cmp.Compare(a, b)) })
	for _, w := range ws {
		lines = append(lines, fmt.Sprintf("• %s — %s", CWEName(w), plural(weaknesses[w], "case", "cases")))
	}
	if len(lines) == 0 {
		return "No post-mortems yet."
	}
	return "The lessons of this release:\n" + strings.Join(lines, "\n")
}

// EditBriefing saves an edited briefing. A shared briefing is fixed.
func (s *Service) EditBriefing(ctx context.Context, a Actor, releaseID int64, b Briefing) (BriefingView, error) {
	if err := a.may(BriefingEditors, "editing a briefing"); err != nil {
		return BriefingView{}, err
	}
	v, err := s.Briefing(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	if v.Briefing.Shared() {
		return BriefingView{}, patchday.Errorf(patchday.ErrConflict, "the briefing was shared on %s and can no longer change",
			v.Briefing.SharedAt.Format("2 Jan 2006"))
	}
	p := patchday.Problems{}
	check := func(field, v string, required bool) string {
		v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
		switch {
		case required && v == "":
			p.Add(field, "cannot be empty")
		case !utf8.ValidString(v):
			p.Add(field, "is not valid UTF-8")
		case utf8.RuneCountInString(v) > maxText:
			p.Add(field, fmt.Sprintf("is longer than %d characters", maxText))
		}
		return v
	}
	out := Briefing{ReleaseID: releaseID, Title: check("title", b.Title, true), Intro: check("intro", b.Intro, false),
		Takeaways: check("takeaways", b.Takeaways, false)}
	if len(b.Items) > 200 {
		p.Add("items", "has more than 200 items")
	}
	for i, it := range b.Items {
		at := fmt.Sprintf("items.%d.", i)
		out.Items = append(out.Items, BriefingItem{Case: check(at+"case", it.Case, false), Advisory: check(at+"advisory", it.Advisory, false),
			Heading: check(at+"heading", it.Heading, true), Fixed: check(at+"fixed", it.Fixed, false), Why: check(at+"why", it.Why, false),
			Differently: check(at+"differently", it.Differently, false)})
	}
	if err := p.Err("the briefing was not saved"); err != nil {
		return BriefingView{}, err
	}
	now := s.now().UTC()
	out.EditedBy, out.EditedAt = a.Email, now
	if err := s.store.SaveBriefing(ctx, out, audit.New(a.audit(), now, "briefing.save", fmt.Sprintf("release:%d", releaseID), "")); err != nil {
		return BriefingView{}, err
	}
	return s.Briefing(ctx, releaseID)
}

// RegenerateBriefing replaces a saved (unshared) briefing with one drawn
// afresh from the post-mortems, for when they changed after an edit.
func (s *Service) RegenerateBriefing(ctx context.Context, a Actor, releaseID int64) (BriefingView, error) {
	gen, err := s.generate(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	return s.EditBriefing(ctx, a, releaseID, gen.Briefing)
}

// ShareBriefing fixes the briefing as it stands (saving the generated
// text if nobody edited it) and records who shared it and when.
func (s *Service) ShareBriefing(ctx context.Context, a Actor, releaseID int64) (BriefingView, error) {
	if err := a.may(BriefingEditors, "sharing a briefing"); err != nil {
		return BriefingView{}, err
	}
	v, err := s.Briefing(ctx, releaseID)
	if err != nil {
		return BriefingView{}, err
	}
	if v.Briefing.Shared() {
		return BriefingView{}, patchday.Errorf(patchday.ErrConflict, "the briefing was shared already, on %s", v.Briefing.SharedAt.Format("2 Jan 2006"))
	}
	now := s.now().UTC()
	b := v.Briefing
	if v.Generated {
		b.EditedBy, b.EditedAt = a.Email, now
	}
	b.SharedBy, b.SharedAt = a.Email, now
	if err := s.store.SaveBriefing(ctx, b, audit.New(a.audit(), now, "briefing.share", fmt.Sprintf("release:%d", releaseID), "")); err != nil {
		return BriefingView{}, err
	}
	return s.Briefing(ctx, releaseID)
}
