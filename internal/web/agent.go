package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/fleet"
)

// maxCheckin bounds one check-in's body: a thousand products and five
// hundred reports fit well within it.
const maxCheckin = 256 << 10

// decodeAgent reads an agent's request. Fields this server does not know
// are ignored, so a newer agent can talk to an older server.
func decodeAgent(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, maxCheckin, false)
}

// agentEnroll exchanges an enrollment token for a computer's credential.
func (s *Server) agentEnroll(w http.ResponseWriter, r *http.Request) error {
	if s.Fleet == nil {
		return patchday.Errorf(patchday.ErrNotFound, "this server does not serve a fleet")
	}
	var req agentapi.EnrollRequest
	if err := decodeAgent(w, r, &req); err != nil {
		return err
	}
	resp, err := s.Fleet.Enroll(r.Context(), req)
	if err != nil {
		return err
	}
	writeCompact(w, http.StatusCreated, resp)
	return nil
}

// agentCheckin is the hot path: one round trip per computer per interval.
// The answer is written only after the check-in is durable.
func (s *Server) agentCheckin(w http.ResponseWriter, r *http.Request) error {
	if s.Fleet == nil {
		return patchday.Errorf(patchday.ErrNotFound, "this server does not serve a fleet")
	}
	cred, ok := bearer(r)
	if !ok {
		return patchday.Errorf(patchday.ErrUnauthenticated, "send the computer's credential: \"Authorization: Bearer pdc_…\"")
	}
	var req agentapi.CheckinRequest
	if err := decodeAgent(w, r, &req); err != nil {
		return err
	}
	resp, err := s.Fleet.Checkin(r.Context(), cred, req)
	if errors.Is(err, fleet.ErrOverloaded) {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.Fleet.RetryAfter(resp.Computer).Seconds())))
		return patchday.Errorf(patchday.ErrTooManyRequests, "the server is busy; check in again after the Retry-After seconds")
	}
	if err != nil {
		return err
	}
	writeCompact(w, http.StatusOK, resp)
	return nil
}

func bearer(r *http.Request) (string, bool) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(secret), true
}

// writeCompact writes JSON without indentation: agents read it, not people.
func writeCompact(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
