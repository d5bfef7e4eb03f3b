package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/fleet"
)

// maxCheckin bounds one check-in's body: a thousand products and five
// hundred reports fit well within it.
const maxCheckin = 256 << 10

// agentBodies are reused request buffers: check-ins are the hot path.
var agentBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// checkinRequests are reused check-in requests whose inventory has room for
// a typical computer's products: the JSON decoder appends to it instead of
// growing a new slice five times. A request goes back cleared, so nothing
// of one computer's check-in can show through in another's.
var checkinRequests = sync.Pool{New: func() any {
	return &agentapi.CheckinRequest{Inventory: make([]agentapi.Item, 0, 64)}
}}

func putCheckinRequest(req *agentapi.CheckinRequest) {
	inv := req.Inventory[:cap(req.Inventory)]
	if len(inv) > 4*64 {
		return
	}
	clear(inv)
	*req = agentapi.CheckinRequest{Inventory: inv[:0]}
	checkinRequests.Put(req)
}

// decodeAgent reads an agent's request. Fields this server does not know
// are ignored, so a newer agent can talk to an older server; a repeated
// field, invalid UTF-8 or anything after the object is refused.
//
// It unmarshals with the encoding/json/v2 prototype (go-json-experiment):
// a 12-item check-in in ~60% of the time of encoding/json's Decoder with
// about half the allocations (BenchmarkDecodeAgent); decoding was a fifth
// of the server's CPU under load (docs/benchmarks.md).
// Names match exactly, as the agent sends them.
func decodeAgent(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return patchday.Errorf(patchday.ErrInvalid, "send a JSON body with Content-Type: application/json")
	}
	buf := agentBodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			agentBodies.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxCheckin)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return patchday.Errorf(patchday.ErrInvalid, "the JSON body is larger than the %d bytes allowed", maxCheckin)
		}
		return patchday.Errorf(patchday.ErrInvalid, "the JSON body could not be read: %v", err)
	}
	if err := jsonv2.Unmarshal(buf.Bytes(), v); err != nil {
		if trailing(buf.Bytes()) {
			return patchday.Errorf(patchday.ErrInvalid, "the JSON body must hold exactly one object")
		}
		return patchday.Errorf(patchday.ErrInvalid, "the JSON body could not be read: %v", err)
	}
	return nil
}

// trailing reports whether b holds one whole JSON value and then more.
// It runs only for a body already refused, to say why; the hot path
// unmarshals the bytes directly, which costs half of a Decoder's time.
func trailing(b []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	if _, err := dec.ReadValue(); err != nil {
		return false
	}
	_, err := dec.ReadToken()
	return err != io.EOF
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
	req := checkinRequests.Get().(*agentapi.CheckinRequest)
	defer putCheckinRequest(req)
	if err := decodeAgent(w, r, req); err != nil {
		return err
	}
	resp, err := s.Fleet.Checkin(r.Context(), cred, *req)
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
