package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// build assembles the public record of an advisory from what it says and
// what its cases know: the worst severity, the weakness, the affected
// products and versions, and the researchers who asked to be credited —
// including the reporters of duplicates merged into its cases.
func (s *Server) build(r *http.Request, d release.Draft, rel release.Release) (advisory.Advisory, error) {
	ctx := r.Context()
	a := advisory.Advisory{ID: d.Ref, Title: d.Title, Summary: d.Summary, CVEs: d.CVEs, URL: s.base(r) + "/advisories/" + d.Ref}
	all, err := s.Intake.List(ctx)
	if err != nil {
		return a, err
	}
	byID := map[int64]intake.Case{}
	for _, c := range all {
		byID[c.ID] = c
	}
	ps, err := s.Products.List(ctx)
	if err != nil {
		return a, err
	}
	type pv struct{ product, vendor, scheme, version string }
	versions := map[int64]pv{}
	for _, p := range ps {
		for _, v := range p.Versions {
			versions[v.ID] = pv{p.Name, p.Vendor, string(p.Scheme), v.Version}
		}
	}
	credited := map[string]bool{}
	credit := func(rep intake.Report) {
		name := strings.TrimSpace(strings.TrimSpace(rep.Credit.Name + " " + rep.Credit.Handle))
		if rep.Credit.Anonymous || name == "" || credited[name] {
			return
		}
		credited[name] = true
		a.Credits = append(a.Credits, advisory.Credit{Name: name, Type: advisory.Finder})
	}
	byProduct := map[string]*advisory.Product{}
	for _, id := range d.CaseIDs {
		c := byID[id]
		t, err := s.Cases.TriageOf(ctx, id)
		if err != nil {
			return a, err
		}
		if cvss.Rank(t.CVSSRating) > cvss.Rank(a.CVSSRating) {
			a.CVSSVector, a.CVSSVersion, a.CVSSScore, a.CVSSRating = t.CVSSVector, t.CVSSVersion, t.CVSSScore, t.CVSSRating
			if t.CWE != 0 {
				a.CWE = t.CWE
			}
		}
		if a.CWE == 0 && t.CWE != 0 {
			a.CWE = t.CWE
		}
		fs, err := s.Fixes.Fixes(ctx, id)
		if err != nil {
			return a, err
		}
		latest := fixes.Latest(fs)
		for _, v := range t.Affected {
			x := versions[v]
			p := byProduct[x.product]
			if p == nil {
				p = &advisory.Product{Vendor: x.vendor, Name: x.product, Scheme: x.scheme}
				byProduct[x.product] = p
			}
			p.Affected = append(p.Affected, x.version)
			if b := latest[v].Brings; b != "" && !slices.Contains(p.Fixed, b) {
				p.Fixed = append(p.Fixed, b)
			}
		}
		flags, err := s.Cases.FlagsOf(ctx, id)
		if err != nil {
			return a, err
		}
		for _, f := range flags {
			a.Exploited = a.Exploited || f.Flag == cases.AttacksObserved
		}
		_, reps, err := s.Intake.Get(ctx, c.Ref)
		if err != nil {
			return a, err
		}
		for _, rep := range reps {
			credit(rep)
		}
		for _, other := range all {
			if other.State != string(cases.Duplicate) {
				continue
			}
			if orig, ok, err := s.Cases.MergedInto(ctx, other); err != nil {
				return a, err
			} else if ok && orig.ID == c.ID {
				_, dreps, err := s.Intake.Get(ctx, other.Ref)
				if err != nil {
					return a, err
				}
				for _, rep := range dreps {
					credit(rep)
				}
			}
		}
	}
	if w, ok := cwe.Lookup(a.CWE); ok {
		a.CWEName = w.Name
	}
	var names []string
	for n := range byProduct {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := byProduct[n]
		sc := product.Scheme(p.Scheme)
		slices.SortStableFunc(p.Affected, sc.Compare)
		slices.SortStableFunc(p.Fixed, sc.Compare)
		a.Products = append(a.Products, *p)
	}
	fix := "Install the security update of " + rel.At.Format("2 January 2006")
	var brings []string
	for _, p := range a.Products {
		if len(p.Fixed) > 0 {
			brings = append(brings, p.Name+" "+strings.Join(p.Fixed, ", "))
		}
	}
	if len(brings) > 0 {
		fix += ", which brings " + strings.Join(brings, "; ")
	}
	a.Remediations = append(a.Remediations, advisory.Remediation{Category: advisory.VendorFix,
		Details: fix + ".", URL: s.base(r) + "/advisories/" + d.Ref})
	if d.Workaround != "" {
		a.Remediations = append(a.Remediations, advisory.Remediation{Category: advisory.Workaround, Details: d.Workaround})
	}
	when := rel.PublishedAt
	if when.IsZero() {
		when = rel.At
	}
	a.Revisions = []advisory.Revision{{Number: "1", Date: when, Summary: "Initial release"}}
	for _, rv := range d.Revisions {
		a.Revisions = append(a.Revisions, advisory.Revision{Number: strconv.Itoa(rv.Number), Date: rv.At, Summary: rv.Summary})
	}
	return a, nil
}

type advisoryPage struct {
	Advisory   advisory.Advisory
	Release    release.Release
	CVERecords bool // the server is a CNA and publishes CVE JSON 5 records
}

// publicAdvisory serves /advisories/{id}: only once its release is out.
func (s *Server) publicAdvisory(w http.ResponseWriter, r *http.Request) error {
	d, rel, err := s.Releases.Public(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := s.build(r, d, rel)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "advisory.html", page{Title: a.ID + ": " + a.Title, Data: advisoryPage{Advisory: a, Release: rel, CVERecords: s.Publisher.OrgID != ""}})
	return nil
}

type advisoryIndex struct {
	Advisories []advisory.Advisory
}

// advisories serves the public index of published advisories.
func (s *Server) advisories(w http.ResponseWriter, r *http.Request) error {
	ds, rels, err := s.Releases.PublicList(r.Context())
	if err != nil {
		return err
	}
	var idx advisoryIndex
	for _, d := range ds {
		a, err := s.build(r, d, rels[d.ReleaseID])
		if err != nil {
			return err
		}
		idx.Advisories = append(idx.Advisories, a)
	}
	s.render(w, r, http.StatusOK, "advisories.html", page{Title: "Security advisories", Data: idx})
	return nil
}

// writeAdvisory takes a release manager's advisory for some of a
// release's cases.
func (s *Server) writeAdvisory(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	id, _ := strconv.ParseInt(f.Get("release"), 10, 64)
	_, err := s.Releases.CreateAdvisory(r.Context(), manager(r), id, f["cases"], f.Get("title"), f.Get("summary"), f.Get("cves"), f.Get("workaround"))
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderReleases(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/releases?done="+urlQuery("The advisory is written; it is published with its release."), http.StatusSeeOther)
	return nil
}

// publisher is who signs the advisories, from configuration.
func (s *Server) publisher(r *http.Request) advisory.Publisher {
	p := s.Publisher
	if p.Name == "" {
		p.Name = "patchday"
	}
	if p.Namespace == "" {
		p.Namespace = s.base(r)
	}
	if p.ContactDetails == "" {
		p.ContactDetails = s.base(r) + "/report"
	}
	return p
}

// publicBuilt returns a published advisory, built.
func (s *Server) publicBuilt(r *http.Request) (advisory.Advisory, error) {
	d, rel, err := s.Releases.Public(r.Context(), r.PathValue("id"))
	if err != nil {
		return advisory.Advisory{}, err
	}
	return s.build(r, d, rel)
}

func writeDoc(w http.ResponseWriter, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(b)
	return err
}

// advisoryCSAF serves an advisory as CSAF 2.0.
func (s *Server) advisoryCSAF(w http.ResponseWriter, r *http.Request) error {
	a, err := s.publicBuilt(r)
	if err != nil {
		return err
	}
	b, err := advisory.CSAF(a, s.publisher(r))
	if err != nil {
		return err
	}
	return writeDoc(w, "application/json", b)
}

// advisoryOSV serves an advisory as OSV.
func (s *Server) advisoryOSV(w http.ResponseWriter, r *http.Request) error {
	a, err := s.publicBuilt(r)
	if err != nil {
		return err
	}
	b, err := advisory.OSV(a)
	if err != nil {
		return err
	}
	return writeDoc(w, "application/json", b)
}

// advisoryCVE serves the CVE JSON 5 record of one of an advisory's CVEs.
func (s *Server) advisoryCVE(w http.ResponseWriter, r *http.Request) error {
	if s.Publisher.OrgID == "" {
		return patchday.Errorf(patchday.ErrNotFound, "this server publishes no CVE records: they need the CNA organisation id (--cna-org-id)")
	}
	a, err := s.publicBuilt(r)
	if err != nil {
		return err
	}
	recs, err := advisory.CVE5(a, s.publisher(r))
	if err != nil {
		return err
	}
	b, ok := recs[strings.ToUpper(strings.TrimSuffix(r.PathValue("cve"), ".json"))]
	if !ok {
		return patchday.Errorf(patchday.ErrNotFound, "advisory %s has no %s", a.ID, r.PathValue("cve"))
	}
	return writeDoc(w, "application/json", b)
}

// feed serves the Atom feed of published advisories.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) error {
	ds, rels, err := s.Releases.PublicList(r.Context())
	if err != nil {
		return err
	}
	var as []advisory.Advisory
	updated := time.Unix(0, 0).UTC()
	for _, d := range ds {
		a, err := s.build(r, d, rels[d.ReleaseID])
		if err != nil {
			return err
		}
		if a.CurrentRelease().After(updated) {
			updated = a.CurrentRelease()
		}
		as = append(as, a)
	}
	b, err := advisory.Atom(s.publisher(r).Name+" security advisories", s.base(r)+"/feed.atom", updated, as)
	if err != nil {
		return err
	}
	return writeDoc(w, "application/atom+xml", b)
}

type ackMonth struct {
	Month string // "April 2026"
	Names []string
}

// acknowledgments serves the thanks page: every credited researcher, by
// the month their advisory was published.
func (s *Server) acknowledgments(w http.ResponseWriter, r *http.Request) error {
	ds, rels, err := s.Releases.PublicList(r.Context())
	if err != nil {
		return err
	}
	var months []ackMonth
	index := map[string]int{}
	for _, d := range ds { // newest first
		a, err := s.build(r, d, rels[d.ReleaseID])
		if err != nil {
			return err
		}
		m := a.InitialRelease().UTC().Format("January 2006")
		i, ok := index[m]
		if !ok {
			i = len(months)
			index[m] = i
			months = append(months, ackMonth{Month: m})
		}
		for _, c := range a.Credits {
			if !slices.Contains(months[i].Names, c.Name) {
				months[i].Names = append(months[i].Names, c.Name)
			}
		}
	}
	for i := range months {
		sort.Strings(months[i].Names)
	}
	s.render(w, r, http.StatusOK, "acknowledgments.html", page{Title: "Acknowledgments", Data: months})
	return nil
}

// staffAdvisory is an advisory on the staff page.
type staffAdvisory struct {
	release.Draft
	Release       release.Release
	CVEText       string
	Current, Next int // revision numbers
}

type staffAdvisoriesPage struct {
	Advisories []staffAdvisory
	CanManage  bool
	Open       string // the advisory whose form shows a problem
}

// staffAdvisories lists every advisory, embargoed ones included, with
// forms to edit drafts and publish corrections.
func (s *Server) staffAdvisories(w http.ResponseWriter, r *http.Request) error {
	return s.renderStaffAdvisories(w, r, http.StatusOK, page{}, "")
}

func (s *Server) renderStaffAdvisories(w http.ResponseWriter, r *http.Request, code int, p page, open string) error {
	ds, rels, err := s.Releases.AllAdvisories(r.Context())
	if err != nil {
		return err
	}
	v := staffAdvisoriesPage{CanManage: userFrom(r.Context()).Roles.Has(staff.RoleReleaseManager), Open: open}
	for _, d := range ds {
		cur := 1
		if n := len(d.Revisions); n > 0 {
			cur = d.Revisions[n-1].Number
		}
		v.Advisories = append(v.Advisories, staffAdvisory{Draft: d, Release: rels[d.ReleaseID], CVEText: strings.Join(d.CVEs, ", "),
			Current: cur, Next: cur + 1})
	}
	p.Title, p.Data = "Advisories", v
	if m := r.URL.Query().Get("done"); m != "" && p.Flash == "" {
		p.Flash = m
	}
	s.render(w, r, code, "staff-advisories.html", p)
	return nil
}

// editAdvisory saves a draft or publishes a correction.
func (s *Server) editAdvisory(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	ref := r.PathValue("id")
	d, err := s.Releases.Edit(r.Context(), manager(r), ref, f.Get("title"), f.Get("summary"), f.Get("cves"), f.Get("workaround"), f.Get("change"))
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderStaffAdvisories(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, strings.ToUpper(ref))
	} else if err != nil {
		return err
	}
	done := d.Ref + " is saved."
	if n := len(d.Revisions); n > 0 {
		done = fmt.Sprintf("%s revision %d is published.", d.Ref, d.Revisions[n-1].Number)
	}
	http.Redirect(w, r, "/staff/advisories?done="+urlQuery(done)+"#advisory-"+d.Ref, http.StatusSeeOther)
	return nil
}
