// Package client is the public Go client of patchday's JSON API. The
// operator CLI, the agent and end-to-end tests use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
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
			msg += fmt.Sprintf("; %s: %s", k, e.Fields[k])
		}
	}
	if e.ID != "" {
		msg += " (error id " + e.ID + ")"
	}
	return msg
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("patchday API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
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
