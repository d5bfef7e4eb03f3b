package web

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// Releases: the staff planning page and the public calendar.

type releaseRow struct {
	release.Release
	Cases    []intake.Case
	Products []string
	Highest  string // the highest CVSS rating of its cases
}

// describe gathers what a release ships: its cases, the products of their
// affected versions (or the product reported) and the highest severity.
// names maps product ids, and versions version ids, to product names.
func (s *Server) describe(r *http.Request, rel release.Release, byID map[int64]intake.Case, names, versions map[int64]string) (releaseRow, error) {
	row := releaseRow{Release: rel}
	ids, err := s.Releases.CaseIDs(r.Context(), rel.ID)
	if err != nil {
		return row, err
	}
	for _, id := range ids {
		c := byID[id]
		row.Cases = append(row.Cases, c)
		t, err := s.Cases.TriageOf(r.Context(), id)
		if err != nil {
			return row, err
		}
		products := []string{names[c.ProductID]}
		for _, v := range t.Affected {
			products = append(products, versions[v])
		}
		for _, n := range products {
			if n != "" && !slices.Contains(row.Products, n) {
				row.Products = append(row.Products, n)
			}
		}
		if cvss.Rank(t.CVSSRating) > cvss.Rank(row.Highest) {
			row.Highest = t.CVSSRating
		}
	}
	sort.Strings(row.Products)
	return row, nil
}

func (s *Server) releaseRows(r *http.Request) ([]releaseRow, []intake.Case, error) {
	rels, err := s.Releases.Upcoming(r.Context(), 3)
	if err != nil {
		return nil, nil, err
	}
	return s.rowsOf(r, rels)
}

// rowsOf describes releases, and lists the scheduled cases in none.
func (s *Server) rowsOf(r *http.Request, rels []release.Release) ([]releaseRow, []intake.Case, error) {
	all, err := s.Intake.List(r.Context())
	if err != nil {
		return nil, nil, err
	}
	byID := map[int64]intake.Case{}
	for _, c := range all {
		byID[c.ID] = c
	}
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return nil, nil, err
	}
	names, versions := map[int64]string{}, map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
		for _, v := range p.Versions {
			versions[v.ID] = p.Name
		}
	}
	var rows []releaseRow
	assigned := map[int64]bool{}
	for _, rel := range rels {
		row, err := s.describe(r, rel, byID, names, versions)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range row.Cases {
			assigned[c.ID] = true
		}
		rows = append(rows, row)
	}
	var ready []intake.Case
	for _, c := range all {
		if c.State == string(cases.Scheduled) && !assigned[c.ID] {
			if _, err := s.Releases.OfCase(r.Context(), c.ID); errors.Is(err, patchday.ErrNotFound) {
				ready = append(ready, c)
			}
		}
	}
	return rows, ready, nil
}

type releasesPage struct {
	Advisories map[int64][]release.Draft // by release id
	Updates    map[int64]releaseUpdates  // by release id
	Rows       []releaseRow
	Ready      []intake.Case // scheduled cases in no release
	CanManage  bool
	Rule       string
}

// releaseUpdates is what a release hands the catalog, or why it cannot
// be worked out (approval is refused until that is resolved).
type releaseUpdates struct {
	List    []plannedUpdate
	Problem string
}

// plannedUpdate is an update with what the catalog makes of it: its
// restart need, or why its build will not be distributed.
type plannedUpdate struct {
	release.Update
	Restart     string
	Undelivered string
}

func (s *Server) releasesPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderReleases(w, r, http.StatusOK, page{})
}

func (s *Server) renderReleases(w http.ResponseWriter, r *http.Request, code int, p page) error {
	rows, ready, err := s.releaseRows(r)
	if err != nil {
		return err
	}
	advs := map[int64][]release.Draft{}
	updates := map[int64]releaseUpdates{}
	for _, row := range rows {
		ds, err := s.Releases.Advisories(r.Context(), row.ID)
		if err != nil {
			return err
		}
		advs[row.ID] = ds
		us, err := s.Releases.Updates(r.Context(), row.Release)
		if errors.Is(err, patchday.ErrConflict) {
			updates[row.ID] = releaseUpdates{Problem: patchday.Summary(err)}
		} else if err != nil {
			return err
		} else {
			var list []plannedUpdate
			for _, u := range us {
				pu := plannedUpdate{Update: u}
				if s.Catalog != nil {
					pu.Restart, pu.Undelivered = s.Catalog.Check(u)
				}
				list = append(list, pu)
			}
			updates[row.ID] = releaseUpdates{List: list}
		}
	}
	p.Title = "Releases"
	p.Data = releasesPage{Rows: rows, Ready: ready, Rule: s.Releases.Schedule().String(), Advisories: advs, Updates: updates,
		CanManage: userFrom(r.Context()).Roles.Has(staff.RoleReleaseManager)}
	if m := r.URL.Query().Get("done"); m != "" && p.Flash == "" {
		p.Flash = m
	}
	s.render(w, r, code, "releases.html", p)
	return nil
}

func manager(r *http.Request) release.Manager {
	u := userFrom(r.Context())
	return release.Manager{Email: u.Email, Roles: u.Roles, From: remote(r)}
}

// releaseAction handles the planning forms: assign, unassign, approve,
// out of band.
func (s *Server) releaseAction(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	id, _ := strconv.ParseInt(f.Get("release"), 10, 64)
	var done string
	var err error
	switch r.PathValue("action") {
	case "assign":
		err = s.Releases.Assign(r.Context(), manager(r), id, f.Get("case"))
		done = "Case " + f.Get("case") + " is in the release."
	case "unassign":
		err = s.Releases.Unassign(r.Context(), manager(r), id, f.Get("case"))
		done = "Case " + f.Get("case") + " is out of the release."
	case "approve":
		err = s.Releases.Approve(r.Context(), manager(r), id)
		done = "The release is approved; it publishes itself at its time."
	case "out-of-band":
		at, perr := time.Parse("2006-01-02T15:04", f.Get("at"))
		if perr != nil {
			err = &patchday.Error{Kind: patchday.ErrInvalid, Message: "the release was not planned",
				Fields: map[string]string{"at": "write the time as 2026-11-26T17:00 (UTC)"}}
		} else {
			_, err = s.Releases.CreateOutOfBand(r.Context(), manager(r), at, f.Get("justification"))
		}
		done = "The out-of-band release is planned."
	default:
		return patchday.Errorf(patchday.ErrNotFound, "no such release action")
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderReleases(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/releases?done="+urlQuery(done), http.StatusSeeOther)
	return nil
}

func urlQuery(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "%", "%25"), " ", "+")
}

// calendar serves the coming release dates as iCalendar. Embargo: an
// entry names products and highest severity only once advance notice is
// due, and says more only after the release is published.
func (s *Server) calendar(w http.ResponseWriter, r *http.Request) error {
	rows, _, err := s.releaseRows(r)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	base := s.base(r)
	host := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	var entries []release.Entry
	for _, row := range rows {
		e := release.Entry{UID: release.TrainUID(row.At, host), Start: row.At, Summary: "Security release", URL: base + "/advisories"}
		if row.Kind == release.OutOfBand {
			e.UID = "release-oob-" + strconv.FormatInt(row.ID, 10) + "@" + host
			e.Summary = "Out-of-band security release"
		}
		switch s.announced(row, now) {
		case announceBulletin:
			e.Description = strconv.Itoa(len(row.Cases)) + " fixes published; see the advisories."
		case announceNotice:
			e.Description = "Products: " + strings.Join(row.Products, ", ") + ". Highest severity: " + orNone(row.Highest) + "."
		default:
			e.Description = "Contents are announced " + strconv.Itoa(s.NoticeDays) + " business days before."
		}
		entries = append(entries, e)
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write([]byte(release.ICS("Security releases", entries, now)))
	return err
}

func orNone(s string) string {
	if s == "" {
		return "not rated"
	}
	return s
}

// noticeDue is when advance notice of a release goes out: NoticeDays
// business days before it.
func (s *Server) noticeDue(at time.Time) time.Time {
	t := at
	for n := s.NoticeDays; n > 0; {
		t = t.AddDate(0, 0, -1)
		if t.Weekday() != time.Saturday && t.Weekday() != time.Sunday {
			n--
		}
	}
	return t
}
