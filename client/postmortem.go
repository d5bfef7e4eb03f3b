package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Post-mortems, tenets and training reports.

// PostMortem is a case's post-mortem as the API returns it: the stored
// one, or (Exists false) a draft started from the case's triage.
type PostMortem struct {
	Case              PostMortemCase      `json:"case"`
	Exists            bool                `json:"exists"`
	Complete          bool                `json:"complete"`
	Revision          int                 `json:"revision"` // 0 until first saved
	RootCause         string              `json:"root_cause"`
	CWE               string              `json:"cwe"` // "CWE-787", or ""
	CWEName           string              `json:"cwe_name,omitempty"`
	Component         string              `json:"component"`
	Team              string              `json:"team"`
	IntroducedVersion string              `json:"introduced_version"`
	IntroducedCommit  string              `json:"introduced_commit"`
	HowFound          string              `json:"how_found"` // a method key, e.g. "fuzzing"
	WhyMissed         string              `json:"why_missed"`
	Tenet             *Tenet              `json:"tenet"` // nil when none is named
	Actions           []PostMortemAction  `json:"actions"`
	Author            string              `json:"author,omitempty"`
	EditedBy          string              `json:"edited_by,omitempty"`
	CreatedAt         time.Time           `json:"created_at,omitzero"`
	UpdatedAt         time.Time           `json:"updated_at,omitzero"`
	Missing           []PostMortemGap     `json:"missing"` // what it lacks to be complete
	Comments          []PostMortemComment `json:"comments"`
}

// PostMortemCase is the case a post-mortem belongs to.
type PostMortemCase struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	State    string    `json:"state"`
	Product  string    `json:"product,omitempty"`
	Severity string    `json:"severity,omitempty"`
	Released time.Time `json:"released,omitzero"`
}

// PostMortemAction is a follow-up action; Due is YYYY-MM-DD.
type PostMortemAction struct {
	What  string `json:"what"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
	Done  bool   `json:"done"`
}

// PostMortemGap is one thing a post-mortem lacks: the field and what is
// wanted there.
type PostMortemGap struct {
	Field string `json:"field"`
	What  string `json:"what"`
}

// PostMortemComment is a reviewer's comment.
type PostMortemComment struct {
	ID     int64     `json:"id"`
	Author string    `json:"author"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// PostMortemDraft is what a save sends: the whole post-mortem (fields
// left empty are stored empty). Revision is the revision edited, 0 for
// the first save; saving over a newer one is refused with 409.
type PostMortemDraft struct {
	RootCause         string             `json:"root_cause"`
	CWE               string             `json:"cwe"` // "CWE-787" or "787"
	Component         string             `json:"component"`
	Team              string             `json:"team"`
	IntroducedVersion string             `json:"introduced_version"`
	IntroducedCommit  string             `json:"introduced_commit"`
	HowFound          string             `json:"how_found"`
	WhyMissed         string             `json:"why_missed"`
	TenetID           int64              `json:"tenet"` // 0 for none
	Actions           []PostMortemAction `json:"actions"`
	Revision          int                `json:"revision"`
}

func postMortemPath(caseID string) string {
	return "/api/v1/cases/" + url.PathEscape(caseID) + "/postmortem"
}

// PostMortem returns a case's post-mortem.
func (c *Client) PostMortem(ctx context.Context, caseID string) (PostMortem, error) {
	var out PostMortem
	err := c.do(ctx, http.MethodGet, postMortemPath(caseID), nil, &out)
	return out, err
}

// SavePostMortem saves a new revision of a case's post-mortem. A draft
// that is not well-formed is refused with an *Error whose Fields name
// every problem ("cwe", "actions.0.due").
func (c *Client) SavePostMortem(ctx context.Context, caseID string, d PostMortemDraft) (PostMortem, error) {
	if d.Actions == nil {
		d.Actions = []PostMortemAction{}
	}
	var out PostMortem
	err := c.do(ctx, http.MethodPut, postMortemPath(caseID), d, &out)
	return out, err
}

// CommentPostMortem adds a review comment to a case's post-mortem.
func (c *Client) CommentPostMortem(ctx context.Context, caseID, body string) (PostMortemComment, error) {
	in := struct {
		Body string `json:"body"`
	}{body}
	var out PostMortemComment
	err := c.do(ctx, http.MethodPost, postMortemPath(caseID)+"/comments", in, &out)
	return out, err
}

// Tenet is a secure-coding tenet.
type Tenet struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Retired     bool      `json:"retired"`
	CreatedAt   time.Time `json:"created_at"`
}

// TenetIn is a tenet as added or edited. An edit replaces all three
// fields.
type TenetIn struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Retired     bool   `json:"retired"`
}

// Tenets lists every tenet, retired ones too, by id.
func (c *Client) Tenets(ctx context.Context) ([]Tenet, error) {
	var out []Tenet
	err := c.do(ctx, http.MethodGet, "/api/v1/tenets", nil, &out)
	return out, err
}

// AddTenet adds a tenet; a new tenet cannot start retired.
func (c *Client) AddTenet(ctx context.Context, t TenetIn) (Tenet, error) {
	var out Tenet
	err := c.do(ctx, http.MethodPost, "/api/v1/tenets", t, &out)
	return out, err
}

// EditTenet renames, redescribes, retires or restores a tenet.
func (c *Client) EditTenet(ctx context.Context, id int64, t TenetIn) (Tenet, error) {
	var out Tenet
	err := c.do(ctx, http.MethodPut, "/api/v1/tenets/"+strconv.FormatInt(id, 10), t, &out)
	return out, err
}

// TrainingOptions choose a training report's team and window.
type TrainingOptions struct {
	Team   string // "" for the whole organisation
	Months int    // 1–60; 0 for the server's default (12)
}

func (o TrainingOptions) path(format string) string {
	q := url.Values{}
	if o.Team != "" {
		q.Set("team", o.Team)
	}
	if o.Months != 0 {
		q.Set("months", strconv.Itoa(o.Months))
	}
	if format != "" {
		q.Set("format", format)
	}
	p := "/api/v1/training"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// TrainingReport is what the organisation's complete post-mortems teach.
type TrainingReport struct {
	Team       string              `json:"team"` // "" = organisation-wide
	From       time.Time           `json:"from"`
	To         time.Time           `json:"to"`
	Months     []string            `json:"months"` // "2026-01", …
	Lessons    int                 `json:"lessons"`
	Teams      []string            `json:"teams"`
	Worst      []TrainingRow       `json:"worst"`      // rising rows of every dimension, worst first
	Dimensions []TrainingDimension `json:"dimensions"` // tenet, cwe, component, how_found
}

// TrainingDimension is one way lessons are counted.
type TrainingDimension struct {
	Key   string        `json:"key"`
	Title string        `json:"title"`
	Rows  []TrainingRow `json:"rows"` // worst trend first
}

// TrainingRow is one tenet, weakness, component or method.
type TrainingRow struct {
	Dimension string   `json:"dimension"`
	Key       string   `json:"key"`
	Label     string   `json:"label"`
	Path      []string `json:"path,omitempty"` // CWE only: the ancestors, top first
	Own       int      `json:"own"`
	Total     int      `json:"total"`
	Counts    []int    `json:"counts"` // per month of TrainingReport.Months
	Trend     float64  `json:"trend"`  // lessons per month
	Direction string   `json:"direction"`
}

// Training returns the training report.
func (c *Client) Training(ctx context.Context, o TrainingOptions) (TrainingReport, error) {
	var out TrainingReport
	err := c.do(ctx, http.MethodGet, o.path(""), nil, &out)
	return out, err
}

// TrainingExport returns the training report as the server writes it,
// byte for byte: format is "csv" or "json".
func (c *Client) TrainingExport(ctx context.Context, o TrainingOptions, format string) ([]byte, error) {
	accept := "application/json"
	if format == "csv" {
		accept = "text/csv"
	}
	return c.raw(ctx, http.MethodGet, o.path(format), accept)
}

// raw makes a request without a body and returns the answer's body as
// it is; a refusal is an *Error as with do.
func (c *Client) raw(ctx context.Context, method, path, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("patchday API: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", accept)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the patchday server at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("patchday API %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s %s answered %s", method, path, resp.Status)
		}
		return nil, e
	}
	return b, nil
}
