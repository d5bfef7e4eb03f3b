package web

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cwe"
	"github.com/patchday/patchday/internal/intake"
)

// The researcher's private case page, /r/{link}. The link is the only key.

type casePage struct {
	Case    intake.Case
	Reports []intake.Report
	CWEName map[int]string
}

func (s *Server) privateCase(w http.ResponseWriter, r *http.Request) error {
	from := remote(r)
	if wait := s.misses.wait(from, time.Now()); wait > 0 {
		return patchday.Errorf(patchday.ErrTooManyRequests, "too many wrong links from your address; try again in %s", wait.Round(time.Second))
	}
	c, rs, err := s.Intake.Open(r.Context(), r.PathValue("link"))
	if errors.Is(err, patchday.ErrNotFound) {
		s.misses.add(from, time.Now())
		return err
	} else if err != nil {
		return err
	}
	names := map[int]string{}
	for _, rep := range rs {
		if w, ok := cwe.Lookup(rep.CWE); ok {
			names[rep.CWE] = w.Name
		}
	}
	s.render(w, r, http.StatusOK, "case.html", page{Title: "Case " + c.Ref, Data: casePage{Case: c, Reports: rs, CWEName: names}})
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
