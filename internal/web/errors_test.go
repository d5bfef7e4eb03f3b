package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
)

var errorIDPattern = regexp.MustCompile(`error id: ([0-9a-f]{12})\b`)

// TestFail drives the one error renderer with an error of every kind, on an
// API path (JSON) and on a page path (HTML).
func TestFail(t *testing.T) {
	const secret = "open /var/lib/patchday/db-password.txt: permission denied"
	tests := []struct {
		name       string
		err        error
		code       int
		wantMsg    string // "" for a 500, whose message carries a fresh id
		wantFields map[string]string
	}{
		{
			name: "invalid",
			err: &patchday.Error{Kind: patchday.ErrInvalid, Message: "the case was not saved",
				Fields: map[string]string{"title": "a title is required", "severity": "unknown severity"}},
			code:       http.StatusUnprocessableEntity,
			wantMsg:    "the case was not saved: severity: unknown severity; title: a title is required",
			wantFields: map[string]string{"title": "a title is required", "severity": "unknown severity"},
		},
		{
			name:    "not found",
			err:     patchday.Errorf(patchday.ErrNotFound, "no case 42"),
			code:    http.StatusNotFound,
			wantMsg: "no case 42",
		},
		{
			name:    "conflict, wrapped",
			err:     fmt.Errorf("save case 42: %w", patchday.Errorf(patchday.ErrConflict, "the case changed meanwhile")),
			code:    http.StatusConflict,
			wantMsg: "the case changed meanwhile",
		},
		{
			name:    "forbidden",
			err:     patchday.Errorf(patchday.ErrForbidden, "this needs the admin role"),
			code:    http.StatusForbidden,
			wantMsg: "this needs the admin role",
		},
		{
			name:    "unauthenticated",
			err:     patchday.Errorf(patchday.ErrUnauthenticated, "please sign in first"),
			code:    http.StatusUnauthorized,
			wantMsg: "please sign in first",
		},
		{
			name:    "too many requests",
			err:     patchday.Errorf(patchday.ErrTooManyRequests, "slow down"),
			code:    http.StatusTooManyRequests,
			wantMsg: "slow down",
		},
		{
			name: "internal",
			err:  fmt.Errorf("load case 42: %w", errors.New(secret)),
			code: http.StatusInternalServerError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/api", func(t *testing.T) {
			h := newHarness(t)
			rec := httptest.NewRecorder()
			h.srv.handle(func(http.ResponseWriter, *http.Request) error { return tt.err }).
				ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/cases/42", nil))

			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			wantAuth := ""
			if tt.code == http.StatusUnauthorized {
				wantAuth = `Bearer realm="patchday"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}

			// Only the documented keys, and fields only when there are some.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
				t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
			}
			for k := range raw {
				if k != "error" && k != "fields" && k != "id" {
					t.Errorf("unexpected key %q in %s", k, rec.Body)
				}
			}
			var got errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if tt.code != http.StatusInternalServerError {
				want := errorBody{Error: tt.wantMsg, Fields: tt.wantFields}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				if strings.Contains(h.log.String(), "request failed") {
					t.Errorf("a %d was logged as a failure:\n%s", tt.code, h.log)
				}
				return
			}
			checkInternal(t, h, got.Error, secret)
			if m := errorIDPattern.FindStringSubmatch(got.Error); m == nil || m[1] != got.ID {
				t.Errorf("error %q does not show the id %q", got.Error, got.ID)
			}
			if got.Fields != nil {
				t.Errorf("fields = %v on a 500, want none", got.Fields)
			}
		})

		t.Run(tt.name+"/page", func(t *testing.T) {
			h := newHarness(t)
			rec := httptest.NewRecorder()
			h.srv.handle(func(http.ResponseWriter, *http.Request) error { return tt.err }).
				ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/staff/cases/42", nil))

			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html", got)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate = %q on a page, want none", got)
			}
			body := rec.Body.String()
			if want := "<h1>" + http.StatusText(tt.code) + "</h1>"; !strings.Contains(body, want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
			if tt.code != http.StatusInternalServerError {
				if want := `<p class="problem" role="alert">` + html.EscapeString(tt.wantMsg) + "</p>"; !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
				for k, v := range tt.wantFields {
					if want := "<li><strong>" + k + "</strong>: " + v + "</li>"; !strings.Contains(body, want) {
						t.Errorf("page lacks the field problem %q:\n%s", want, body)
					}
				}
				return
			}
			checkInternal(t, h, body, secret)
		})
	}
}

// checkInternal checks that a 500 shows the user an id, that the id is in
// the log line with the real error, and that the real error is not shown.
func checkInternal(t *testing.T, h *harness, shown, secret string) {
	t.Helper()
	m := errorIDPattern.FindStringSubmatch(shown)
	if m == nil {
		t.Fatalf("no error id shown in:\n%s", shown)
	}
	if strings.Contains(shown, "permission denied") || strings.Contains(shown, "db-password") || strings.Contains(shown, "load case") {
		t.Errorf("the internal error reached the user:\n%s", shown)
	}
	line := grepLines(h.log.String(), "id="+m[1])
	if line == "" {
		t.Fatalf("no log line with id=%s in:\n%s", m[1], h.log)
	}
	for _, want := range []string{"level=ERROR", `msg="request failed"`, "load case 42: " + secret} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}

// TestFailIDsDiffer checks that each failure gets its own id, so one report
// matches one log line.
func TestFailIDsDiffer(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for range 20 {
		rec := httptest.NewRecorder()
		h.srv.fail(rec, httptest.NewRequest(http.MethodGet, "/api/v1/x", nil), errors.New("boom"))
		var b errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if seen[b.ID] {
			t.Fatalf("id %q given twice", b.ID)
		}
		seen[b.ID] = true
	}
}
