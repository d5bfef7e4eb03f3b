package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// browser makes the requests a person's browser makes: it loads pages,
// keeps the session cookie and submits forms as the pages define them.
// Nothing in it knows more than the pages show.
type browser struct {
	base string
	hc   *http.Client
}

func newBrowser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		// Redirects are followed by hand, so a form's answer (303 on
		// success, a page with the problems otherwise) can be told apart.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one answer: its status, where it redirects, and its body.
type page struct {
	Status   int
	Location string
	Body     string
	URL      string
}

func (b *browser) do(req *http.Request) (*page, error) {
	req.Header.Set("User-Agent", "Mozilla/5.0 (patchday demo)")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if req.Method == http.MethodPost {
		// What a browser sends with a form from the same site.
		req.Header.Set("Origin", b.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return &page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body), URL: req.URL.String()}, nil
}

// get loads a page, following redirects.
func (b *browser) get(ctx context.Context, path string) (*page, error) {
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.abs(path), nil)
		if err != nil {
			return nil, err
		}
		p, err := b.do(req)
		if err != nil {
			return nil, err
		}
		if p.Status/100 != 3 || p.Location == "" {
			return p, nil
		}
		path = p.Location
	}
	return nil, fmt.Errorf("GET %s: too many redirects", path)
}

// getBytes downloads a file.
func (b *browser) getBytes(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.abs(path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.base + path
}

// submit posts a url-encoded form, as a browser submits a form without
// files. A 303 is success; its target is loaded, as a browser does.
func (b *browser) submit(ctx context.Context, path string, form url.Values) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.answer(ctx, req)
}

// file is a file chosen in a form's file input.
type file struct {
	field, name, contentType string
	content                  []byte
}

// submitMultipart posts a form with enctype multipart/form-data.
func (b *browser) submitMultipart(ctx context.Context, path string, fields [][2]string, files []file) (*page, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, f.field, f.name)}
		h["Content-Type"] = []string{f.contentType}
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		w.Write(f.content)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.abs(path), &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.answer(ctx, req)
}

func (b *browser) answer(ctx context.Context, req *http.Request) (*page, error) {
	p, err := b.do(req)
	if err != nil {
		return nil, err
	}
	if p.Status == http.StatusSeeOther && p.Location != "" {
		next, err := b.get(ctx, p.Location)
		if err != nil {
			return nil, err
		}
		next.Location = p.Location
		return next, nil
	}
	return p, nil
}

// signIn fills in the sign-in form.
func (b *browser) signIn(ctx context.Context, email, password string) error {
	if _, err := b.get(ctx, "/staff/signin"); err != nil {
		return err
	}
	p, err := b.submit(ctx, "/staff/signin", url.Values{"email": {email}, "password": {password}, "next": {"/staff/"}})
	if err != nil {
		return err
	}
	if p.Location == "" {
		return fmt.Errorf("sign-in as %s refused: %s", email, p.problems())
	}
	if strings.HasSuffix(p.Location, "/staff/password") {
		return fmt.Errorf("sign-in as %s: the server asks for a new password first", email)
	}
	return nil
}

var (
	flashRE = regexp.MustCompile(`(?s)<p class="flash"[^>]*>(.*?)</p>`)
	errorRE = regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`)
	tagRE   = regexp.MustCompile(`<[^>]+>`)
	titleRE = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
)

// text is an HTML fragment's text.
func text(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(s, " "))), " ")
}

// problems is what a refused form's page says: its message and the
// problem beside each field.
func (p *page) problems() string {
	var parts []string
	for _, re := range []*regexp.Regexp{flashRE, errorRE} {
		for _, m := range re.FindAllStringSubmatch(p.Body, -1) {
			if t := text(m[1]); t != "" {
				parts = append(parts, t)
			}
		}
	}
	if len(parts) == 0 {
		if m := titleRE.FindStringSubmatch(p.Body); m != nil {
			parts = append(parts, text(m[1]))
		}
	}
	return fmt.Sprintf("HTTP %d: %s", p.Status, strings.Join(parts, "; "))
}

// flash is the status message a page shows after a form was taken.
func (p *page) flash() string {
	if m := flashRE.FindStringSubmatch(p.Body); m != nil {
		return text(m[1])
	}
	return ""
}

// apiError is a refusal from the JSON API.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	var v struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	msg := strings.TrimSpace(e.Body)
	if json.Unmarshal([]byte(e.Body), &v) == nil && v.Error != "" {
		msg = v.Error
		for k, f := range v.Fields {
			msg += "; " + k + ": " + f
		}
	}
	return fmt.Sprintf("%s %s: the server answered %d: %s", e.Method, e.Path, e.Status, msg)
}

var apiClient = &http.Client{Timeout: time.Minute}

// api calls the JSON API with a staff token.
func api(ctx context.Context, base, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return nil
}
