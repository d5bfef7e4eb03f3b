package web

import (
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/junit"
	"github.com/patchday/patchday/internal/staff"
)

// Fixes on the staff case page and in the API.

type fixView struct {
	fixes.Fix
	Version string // the product version it is for, e.g. "Gateway 2.4.1"
	Runs    []fixes.Run
}

type fixesView struct {
	Fixes     []fixView
	Versions  map[int64]string // the case's affected versions by id
	CanUpload bool
	CanTest   bool
	UserID    int64
}

func fixAuthor(r *http.Request) fixes.Author {
	u := userFrom(r.Context())
	return fixes.Author{ID: u.ID, Email: u.Email, Roles: u.Roles, From: remote(r)}
}

// versionNames names every product version by id.
func (s *Server) versionNames(r *http.Request) (map[int64]string, error) {
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, p := range ps {
		for _, v := range p.Versions {
			out[v.ID] = p.Name + " " + v.Version
		}
	}
	return out, nil
}

func (s *Server) loadFixes(r *http.Request, c intake.Case, affected []int64) (fixesView, error) {
	names, err := s.versionNames(r)
	if err != nil {
		return fixesView{}, err
	}
	fs, err := s.Fixes.Fixes(r.Context(), c.ID)
	if err != nil {
		return fixesView{}, err
	}
	u := userFrom(r.Context())
	v := fixesView{Versions: map[int64]string{}, UserID: u.ID,
		CanUpload: c.State == "fixing" && u.Roles.Has(staff.RoleDeveloper), CanTest: c.State == "testing" && u.Roles.Has(staff.RoleTester)}
	for _, id := range affected {
		v.Versions[id] = names[id]
	}
	for _, f := range fs {
		runs, err := s.Fixes.Runs(r.Context(), f.ID)
		if err != nil {
			return fixesView{}, err
		}
		v.Fixes = append(v.Fixes, fixView{Fix: f, Version: names[f.VersionID], Runs: runs})
	}
	return v, nil
}

// uploadFix takes a fix from the case page (multipart: version, payload,
// source_ref, brings, release_notes).
func (s *Server) uploadFix(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readFix(w, r)
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) || errors.Is(err, patchday.ErrForbidden) {
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, cases.Request{})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?fix="+strconv.FormatInt(f.ID, 10)+"#fixes", http.StatusSeeOther)
	return nil
}

func (s *Server) readFix(w http.ResponseWriter, r *http.Request) (fixes.Fix, error) {
	lim := intake.Limits{MaxAttachments: 1, MaxTotalBytes: s.MaxFixBytes}
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes+1<<20)
	c, _, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return fixes.Fix{}, err
	}
	values := map[string]string{}
	files, err := s.readMultipart(r, lim, values)
	if err != nil {
		return fixes.Fix{}, err
	}
	var payload intake.Attachment
	if len(files) == 1 {
		payload = files[0]
	}
	version, _ := strconv.ParseInt(values["version"], 10, 64)
	t, err := s.Cases.TriageOf(r.Context(), c.ID)
	if err != nil {
		return fixes.Fix{}, err
	}
	return s.Fixes.Upload(r.Context(), fixAuthor(r), c.Ref, t.Affected, fixes.Build{VersionID: version, Payload: payload,
		SourceRef: values["source_ref"], Brings: values["brings"], Notes: values["release_notes"]})
}

func (s *Server) apiUploadFix(w http.ResponseWriter, r *http.Request) error {
	f, err := s.readFix(w, r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiFix(f))
	return nil
}

type apiFixOut struct {
	ID        int64  `json:"id"`
	VersionID int64  `json:"version_id"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	SourceRef string `json:"source_ref"`
	Brings    string `json:"brings"`
	Author    string `json:"author"`
}

func apiFix(f fixes.Fix) apiFixOut {
	return apiFixOut{ID: f.ID, VersionID: f.VersionID, SHA256: f.Payload.SHA256, Size: f.Payload.Size, SourceRef: f.SourceRef, Brings: f.Brings, Author: f.Author}
}

// maxJUnit bounds a posted JUnit report.
const maxJUnit = 32 << 20

// runFromJUnit turns a JUnit report into a run's outcome: it passed when
// nothing failed or errored.
func runFromJUnit(res junit.Result) (bool, fixes.Counts, []string, []string) {
	c := fixes.Counts{Passed: res.Passed, Failed: res.Failed, Skipped: res.Skipped, Errors: res.Errors}
	return res.Failed == 0 && res.Errors == 0, c, res.Failing, res.Passing
}

// recordRun records a test run from the case page: by hand (passed or
// failed, with notes) or from an attached JUnit report.
func (s *Server) recordRun(w http.ResponseWriter, r *http.Request) error {
	lim := intake.Limits{MaxAttachments: 1, MaxTotalBytes: maxJUnit}
	r.Body = http.MaxBytesReader(w, r.Body, maxJUnit+1<<20)
	values := map[string]string{}
	files, err := s.readMultipart(r, lim, values)
	fixID, _ := strconv.ParseInt(r.PathValue("fix"), 10, 64)
	if err == nil {
		passed := values["outcome"] == "passed"
		var counts fixes.Counts
		var failing, passing []string
		if len(files) == 1 {
			f, oerr := s.Blobs.Open(files[0].SHA256)
			if oerr != nil {
				return oerr
			}
			res, perr := junit.Parse(f, maxJUnit)
			f.Close()
			if perr != nil {
				err = perr
			} else {
				passed, counts, failing, passing = runFromJUnit(res)
			}
		}
		if err == nil {
			_, err = s.Fixes.RecordRun(r.Context(), fixAuthor(r), fixID, passed, counts, failing, passing, values["notes"])
		}
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrForbidden) || errors.Is(err, patchday.ErrNotFound) {
		return s.renderStaffCaseMove(w, r, status(err), page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, cases.Request{})
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?tested=1#fixes", http.StatusSeeOther)
	return nil
}

type apiRunOut struct {
	ID          int64    `json:"id"`
	FixID       int64    `json:"fix_id"`
	Passed      bool     `json:"passed"`
	Tests       int      `json:"tests"`
	Failed      int      `json:"failed"`
	Skipped     int      `json:"skipped"`
	Failing     []string `json:"failing"`
	Regressions []string `json:"regressions"`
}

// apiRecordRun takes a JUnit XML report as the body: CI posts its results.
func (s *Server) apiRecordRun(w http.ResponseWriter, r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/xml" && mt != "text/xml" {
		return patchday.Errorf(patchday.ErrInvalid, "post the JUnit XML report as the body with Content-Type: application/xml")
	}
	fixID, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return patchday.Errorf(patchday.ErrNotFound, "there is no fix %q", r.PathValue("id"))
	}
	res, err := junit.Parse(http.MaxBytesReader(w, r.Body, maxJUnit+1), maxJUnit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return patchday.Errorf(patchday.ErrInvalid, "the report is larger than %s", intake.Size(maxJUnit))
		}
		return err
	}
	passed, counts, failing, passing := runFromJUnit(res)
	run, err := s.Fixes.RecordRun(r.Context(), fixAuthor(r), fixID, passed, counts, failing, passing, r.URL.Query().Get("notes"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiRunOut{ID: run.ID, FixID: run.FixID, Passed: run.Passed,
		Tests: counts.Passed + counts.Failed + counts.Skipped + counts.Errors, Failed: counts.Failed + counts.Errors, Skipped: counts.Skipped,
		Failing: nonNil(run.Failing), Regressions: nonNil(run.Regressions)})
	return nil
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
