package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/patchday/patchday"
)

var errCrossOrigin = patchday.Errorf(patchday.ErrForbidden,
	"cross-origin request refused: this form can only be sent from patchday's own pages")

// handlerFunc is a handler that returns its error for the one renderer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// status maps a domain error kind to an HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, patchday.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, patchday.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, patchday.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, patchday.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, patchday.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, patchday.ErrTooManyRequests):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON form of every API error.
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
	ID     string            `json:"id,omitempty"`
}

// fail renders err: as JSON for the API, as a page otherwise. An unexpected
// error is logged with an id that the user sees, so a report can be matched
// to the log line; its details never reach the user.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away (an agent timed out, a load generator
		// stopped): nobody reads an answer, and nothing failed here.
		s.Log.Debug("client gone before the answer", "method", r.Method, "path", r.URL.Path)
		return
	}
	code := status(err)
	body := errorBody{Error: patchday.Message(err), Fields: patchday.FieldErrors(err)}
	if code == http.StatusInternalServerError {
		body.ID = errorID()
		body.Error = "something went wrong on our side; if it persists, give the operator this error id: " + body.ID
		s.Log.Error("request failed", "id", body.ID, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusUnauthorized && isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="patchday"`)
	}
	if isAPI(r) {
		writeJSON(w, code, body)
		return
	}
	s.render(w, r, code, "error.html", page{Title: http.StatusText(code), Data: body})
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func errorID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
