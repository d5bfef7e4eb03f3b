package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 only while the database answers, so a load balancer
// stops sending traffic to a replica that lost its database.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("readiness check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return nil
	}
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

type dashboardData struct {
	Version string
	Engine  string
	Recent  []audit.Entry
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	u := userFrom(r.Context())
	d := dashboardData{Version: s.Version, Engine: s.Engine}
	if u.Roles.Has(staff.RoleAdmin) {
		recent, err := s.Audit.ListAudit(r.Context(), audit.Query{Limit: 10})
		if err != nil {
			return err
		}
		d.Recent = recent
	}
	p := page{Title: "Dashboard", Data: d}
	if r.URL.Query().Get("changed") == "password" {
		p.Flash = "Your password has been changed."
	}
	s.render(w, r, http.StatusOK, "dashboard.html", p)
	return nil
}

type auditData struct {
	Entries []audit.Entry
	Next    int64 // the Before value of the next (older) page; 0 if none
}

func auditQuery(r *http.Request) (audit.Query, error) {
	var q audit.Query
	p := patchday.Problems{}
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			p.Add("before", "must be a positive entry id")
		}
		q.Before = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > audit.MaxLimit {
			p.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(audit.MaxLimit))
		}
		q.Limit = n
	}
	return q, p.Err("bad audit query")
}

func (s *Server) listAudit(r *http.Request) (auditData, error) {
	q, err := auditQuery(r)
	if err != nil {
		return auditData{}, err
	}
	es, err := s.Audit.ListAudit(r.Context(), q)
	if err != nil {
		return auditData{}, err
	}
	d := auditData{Entries: es}
	if len(es) == q.Clamp() {
		d.Next = es[len(es)-1].ID
	}
	return d, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.listAudit(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "audit.html", page{Title: "Audit log", Data: d})
	return nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) error {
	users, err := s.Staff.ListUsers(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "users.html", page{Title: "Staff accounts", Data: users})
	return nil
}
