package web

import (
	"net/http"
	"time"

	"github.com/patchday/patchday"
)

type apiUser struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r.Context())
	roles := make([]string, len(u.Roles))
	for i, role := range u.Roles {
		roles[i] = string(role)
	}
	writeJSON(w, http.StatusOK, apiUser{ID: u.ID, Email: u.Email, Roles: roles, CreatedAt: u.CreatedAt})
	return nil
}

type apiAuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	From    string    `json:"from"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
}

type apiAuditPage struct {
	Entries []apiAuditEntry `json:"entries"`
	// Next is the "before" value for the next, older page; absent at the end.
	Next int64 `json:"next,omitempty"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) error {
	d, err := s.listAudit(r)
	if err != nil {
		return err
	}
	out := apiAuditPage{Entries: make([]apiAuditEntry, len(d.Entries)), Next: d.Next}
	for i, e := range d.Entries {
		out.Entries[i] = apiAuditEntry(e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if isAPI(r) {
		return patchday.Errorf(patchday.ErrNotFound, "no API endpoint %s %s", r.Method, r.URL.Path)
	}
	return patchday.Errorf(patchday.ErrNotFound, "there is no page at %s", r.URL.Path)
}
