// Package client is the public Go client of patchday's JSON API. The
// operator CLI, the agent and end-to-end tests use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Client talks to one patchday server with one API token.
type Client struct {
	BaseURL string // e.g. https://security.example.com
	Token   string // pdt_…
	HTTP    *http.Client
}

// New returns a client with a sensible timeout.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: time.Minute}}
}

// Error is a refusal from the server: its status, message, and the
// problems by field.
type Error struct {
	Status  int
	Message string            `json:"error"`
	Fields  map[string]string `json:"fields"`
	ID      string            `json:"id"`
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// The server's message usually lists them already.
			if p := fmt.Sprintf("%s: %s", k, e.Fields[k]); !strings.Contains(e.Message, p) {
				msg += "; " + p
			}
		}
	}
	if e.ID != "" {
		msg += " (error id " + e.ID + ")"
	}
	return msg
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.send(ctx, method, path, "application/json", bytes.NewReader(b), out)
}

// send makes one request with a body of the given type and decodes the
// JSON answer into out, or the error answer into *Error.
func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("patchday API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("reach the patchday server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("patchday API %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s %s answered %s", method, path, resp.Status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("patchday API %s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// Case is a case as listed.
type Case struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// Cases lists every case, newest first.
func (c *Client) Cases(ctx context.Context) ([]Case, error) {
	var out struct {
		Cases []Case `json:"cases"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/cases", nil, &out)
	return out.Cases, err
}

// CaseDetail is one case with its reports, as the API returns it.
type CaseDetail struct {
	Case
	Reports []json.RawMessage `json:"reports"`
}

// Case returns one case.
func (c *Client) Case(ctx context.Context, id string) (CaseDetail, error) {
	var out CaseDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/cases/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Move asks to move a case.
type Move struct {
	To          string `json:"to"`
	Reason      string `json:"reason,omitempty"`
	DuplicateOf string `json:"duplicate_of,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// Moved is a case's state after a move and the moves allowed next.
type Moved struct {
	ID      string   `json:"id"`
	State   string   `json:"state"`
	Allowed []string `json:"allowed"`
}

// MoveCase moves a case.
func (c *Client) MoveCase(ctx context.Context, id string, m Move) (Moved, error) {
	var out Moved
	err := c.do(ctx, http.MethodPost, "/api/v1/cases/"+url.PathEscape(id)+"/transitions", m, &out)
	return out, err
}

// Fix is an uploaded fix as the API returns it.
type Fix struct {
	ID        int64  `json:"id"`
	VersionID int64  `json:"version_id"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	SourceRef string `json:"source_ref"`
	Brings    string `json:"brings"`
	Author    string `json:"author"`
}

// FixUpload describes a build uploaded as a fix.
type FixUpload struct {
	VersionID int64  // the affected version it fixes
	SourceRef string // commit, tag or change id
	Brings    string // the version the build is
	Notes     string
}

// UploadFix uploads a build as a fix of a case for one of its affected
// versions. The build is streamed, not held in memory.
func (c *Client) UploadFix(ctx context.Context, caseID string, u FixUpload, name string, build io.Reader) (Fix, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for k, v := range map[string]string{"version": strconv.FormatInt(u.VersionID, 10), "source_ref": u.SourceRef, "brings": u.Brings, "release_notes": u.Notes} {
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("payload", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, build); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	var out Fix
	err := c.send(ctx, http.MethodPost, "/api/v1/cases/"+url.PathEscape(caseID)+"/fixes", mw.FormDataContentType(), pr, &out)
	return out, err
}

// Run is a recorded test run as the API returns it.
type Run struct {
	ID          int64    `json:"id"`
	FixID       int64    `json:"fix_id"`
	Passed      bool     `json:"passed"`
	Tests       int      `json:"tests"`
	Failed      int      `json:"failed"`
	Skipped     int      `json:"skipped"`
	Failing     []string `json:"failing"`
	Regressions []string `json:"regressions"`
}

// PostJUnit records a test run of a fix from a JUnit XML report.
func (c *Client) PostJUnit(ctx context.Context, fixID int64, report io.Reader, notes string) (Run, error) {
	path := "/api/v1/fixes/" + strconv.FormatInt(fixID, 10) + "/test-runs"
	if notes != "" {
		path += "?notes=" + url.QueryEscape(notes)
	}
	var out Run
	err := c.send(ctx, http.MethodPost, path, "application/xml", report, &out)
	return out, err
}
