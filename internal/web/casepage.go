package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/intake"
)

// The researcher's private case page, /r/{link}. The link is the only key.

type casePage struct {
	Case     intake.Case
	Reports  []intake.Report
	Messages []intake.Message
	CWEName  map[int]string
	Limits   intake.Limits
	// Staff is set on the staff view: it links files and shows reply forms.
	Staff    bool
	CanReply bool
	Body     string // a refused message, kept
	Link     string // the private link's secret, on the researcher's view
	// Handling is the staff view's triage, moves and history.
	Handling *handlingView
	// MergedInto is the case a duplicate was merged into.
	MergedInto *intake.Case
	// ToVerify are the fixes offered to the researcher while the case is
	// verifying.
	ToVerify []fixView
}

// loadCase gathers what both views of a case show; staff also see
// internal notes.
func (s *Server) loadCase(r *http.Request, c intake.Case, rs []intake.Report, staffView bool) (casePage, error) {
	thread := s.Intake.ReporterMessages
	if staffView {
		thread = s.Intake.Messages
	}
	ms, err := thread(r.Context(), c.ID)
	if err != nil {
		return casePage{}, err
	}
	names := map[int]string{}
	for _, rep := range rs {
		if w, ok := cwe.Lookup(rep.CWE); ok {
			names[rep.CWE] = w.Name
		}
	}
	return casePage{Case: c, Reports: rs, Messages: ms, CWEName: names, Limits: s.Intake.Limits(), Link: r.PathValue("link")}, nil
}

// openLink opens the case behind the request's private link, counting
// wrong links per address.
func (s *Server) openLink(r *http.Request) (intake.Case, []intake.Report, error) {
	from := remote(r)
	if wait := s.misses.wait(from, time.Now()); wait > 0 {
		return intake.Case{}, nil, patchday.Errorf(patchday.ErrTooManyRequests, "too many wrong links from your address; try again in %s", wait.Round(time.Second))
	}
	c, rs, err := s.Intake.Open(r.Context(), r.PathValue("link"))
	if errors.Is(err, patchday.ErrNotFound) {
		s.misses.add(from, time.Now())
	}
	return c, rs, err
}

func (s *Server) privateCase(w http.ResponseWriter, r *http.Request) error {
	c, rs, err := s.openLink(r)
	if err != nil {
		return err
	}
	d, err := s.loadCase(r, c, rs, false)
	if err != nil {
		return err
	}
	if orig, ok, err := s.Cases.MergedInto(r.Context(), c); err != nil {
		return err
	} else if ok {
		d.MergedInto = &orig
	}
	if c.State == string(cases.Verifying) {
		if d.ToVerify, err = s.latestFixes(r, c); err != nil {
			return err
		}
	}
	p := page{Title: "Case " + c.Ref, Data: d}
	switch {
	case r.URL.Query().Get("sent") != "":
		p.Flash = "Your message was added to the case."
	case r.URL.Query().Get("credit") != "":
		p.Flash = "Your credit preference was saved."
	case r.URL.Query().Get("verdict") == "fixed":
		p.Flash = "Thank you for verifying the fix. The case is now scheduled for release."
	case r.URL.Query().Get("verdict") == "still-vulnerable":
		p.Flash = "Thank you. The fix goes back to the developers with your notes."
	}
	s.render(w, r, http.StatusOK, "case.html", p)
	return nil
}

// reporterMessage takes the researcher's message and files from the
// private page.
func (s *Server) reporterMessage(w http.ResponseWriter, r *http.Request) error {
	lim := s.Intake.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes+4<<20)
	c, rs, err := s.openLink(r)
	if err != nil {
		return err
	}
	values := map[string]string{}
	files, err := s.readMultipart(r, lim, values)
	if err == nil {
		_, err = s.Intake.ReporterMessage(r.Context(), r.PathValue("link"), values["body"], files, remote(r))
	}
	if errors.Is(err, patchday.ErrInvalid) {
		d, lerr := s.loadCase(r, c, rs, false)
		if lerr != nil {
			return lerr
		}
		d.Body = values["body"]
		s.render(w, r, http.StatusUnprocessableEntity, "case.html", page{Title: "Case " + c.Ref, Data: d,
			Flash: patchday.Summary(err), Fields: formFields(err, "body")})
		return nil
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/r/"+r.PathValue("link")+"?sent=1#thread", http.StatusSeeOther)
	return nil
}

func (s *Server) cweOptions() []cweOption {
	ws := cwe.All()
	out := make([]cweOption, len(ws))
	for i, w := range ws {
		out[i] = cweOption{ID: w.ID, Name: w.Name}
	}
	return out
}

// misses counts wrong private links per address. Links are 256-bit, so
// guessing cannot succeed; the limit keeps the attempt from costing us
// database reads without end.
type misses struct {
	mu    sync.Mutex
	by    map[string][]time.Time
	limit int
	per   time.Duration
}

func newMisses(limit int, per time.Duration) *misses {
	return &misses{by: map[string][]time.Time{}, limit: limit, per: per}
}

func (m *misses) recent(from string, now time.Time) []time.Time {
	ts := m.by[from]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= m.per {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(m.by, from)
	} else {
		m.by[from] = ts
	}
	return ts
}

// wait returns how long from must wait before trying another link.
func (m *misses) wait(from string, now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.recent(from, now)
	if len(ts) < m.limit {
		return 0
	}
	return m.per - now.Sub(ts[0])
}

func (m *misses) add(from string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.by) > 100000 { // bound memory under a wide scan: forget the oldest state
		clear(m.by)
	}
	m.by[from] = append(m.recent(from, now), now)
}

// reporterCredit saves the researcher's credit preference.
func (s *Server) reporterCredit(w http.ResponseWriter, r *http.Request) error {
	if err := parseSmallForm(w, r); err != nil {
		return err
	}
	c, rs, err := s.openLink(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	err = s.Intake.SetCredit(r.Context(), r.PathValue("link"), f.Get("credit_name"), f.Get("credit_handle"), f.Get("anonymous") != "", remote(r))
	if errors.Is(err, patchday.ErrInvalid) {
		d, lerr := s.loadCase(r, c, rs, false)
		if lerr != nil {
			return lerr
		}
		s.render(w, r, http.StatusUnprocessableEntity, "case.html", page{Title: "Case " + c.Ref, Data: d,
			Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
		return nil
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/r/"+r.PathValue("link")+"?credit=1#credit", http.StatusSeeOther)
	return nil
}

// latestFixes are the fixes the researcher is asked to verify: the newest
// of each version.
func (s *Server) latestFixes(r *http.Request, c intake.Case) ([]fixView, error) {
	all, err := s.Fixes.Fixes(r.Context(), c.ID)
	if err != nil {
		return nil, err
	}
	names, err := s.versionNames(r)
	if err != nil {
		return nil, err
	}
	var out []fixView
	for _, f := range fixes.Latest(all) {
		out = append(out, fixView{Fix: f, Version: names[f.VersionID]})
	}
	slices.SortFunc(out, func(a, b fixView) int { return int(a.ID - b.ID) })
	return out, nil
}

// reporterFix lets the researcher download a fix to verify, only while
// the case is verifying and only its latest fixes.
func (s *Server) reporterFix(w http.ResponseWriter, r *http.Request) error {
	c, _, err := s.openLink(r)
	if err != nil {
		return err
	}
	if c.State != string(cases.Verifying) {
		return patchday.Errorf(patchday.ErrNotFound, "there is no fix to verify on this case now")
	}
	fs, err := s.latestFixes(r, c)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Payload.SHA256 == r.PathValue("sha256") {
			return s.serveFile(w, f.Payload)
		}
	}
	return patchday.Errorf(patchday.ErrNotFound, "this case has no such fix")
}

// verdict takes the researcher's answer: "fixed" moves the case on to be
// scheduled; "still-vulnerable" sends it back to fixing with their words.
func (s *Server) verdict(w http.ResponseWriter, r *http.Request) error {
	lim := s.Intake.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes+4<<20)
	c, rs, err := s.openLink(r)
	if err != nil {
		return err
	}
	values := map[string]string{}
	files, err := s.readMultipart(r, lim, values)
	if err == nil {
		err = s.applyVerdict(r, c, values["verdict"], values["comment"], files)
	}
	if errors.Is(err, patchday.ErrInvalid) || errors.Is(err, patchday.ErrConflict) {
		d, lerr := s.loadCase(r, c, rs, false)
		if lerr != nil {
			return lerr
		}
		d.Body = values["comment"]
		if c.State == string(cases.Verifying) {
			d.ToVerify, _ = s.latestFixes(r, c)
		}
		s.render(w, r, status(err), "case.html", page{Title: "Case " + c.Ref, Data: d, Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)})
		return nil
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/r/"+r.PathValue("link")+"?verdict="+values["verdict"], http.StatusSeeOther)
	return nil
}

func (s *Server) applyVerdict(r *http.Request, c intake.Case, verdict, comment string, files []intake.Attachment) error {
	var to cases.State
	switch verdict {
	case "fixed":
		to = cases.Scheduled
	case "still-vulnerable":
		to = cases.Fixing
		if strings.TrimSpace(comment) == "" {
			return &patchday.Error{Kind: patchday.ErrInvalid, Message: "your answer was not sent",
				Fields: map[string]string{"comment": "tell us what still happens, so the fix can be corrected"}}
		}
	default:
		return &patchday.Error{Kind: patchday.ErrInvalid, Message: "your answer was not sent",
			Fields: map[string]string{"verdict": "choose \"fixed\" or \"still vulnerable\""}}
	}
	text := "Verification: " + map[string]string{"fixed": "fixed", "still-vulnerable": "still vulnerable"}[verdict]
	if c := strings.TrimSpace(comment); c != "" {
		text += "\n\n" + c
	}
	if _, err := s.Cases.Move(r.Context(), cases.Actor{Reporter: true}, remote(r), c.Ref, cases.Request{To: to, Comment: text}); err != nil {
		return err
	}
	_, err := s.Intake.ReporterMessage(r.Context(), r.PathValue("link"), text, files, remote(r))
	return err
}
