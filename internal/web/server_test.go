package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/store/sqlite"
	"github.com/patchday/patchday/internal/tufrepo"
)

// harness is a real Server on a real SQLite file and staff service, with
// a clock the test moves and a log it can read.
type harness struct {
	t     testing.TB
	srv   *Server
	db    *sqlite.Store
	staff *staff.Service
	clock *clock
	log   *logBuffer
	links map[string]string // private links of the reports made, by case id
	blobs string            // the blob store's directory
	keys  string            // the catalog's TUF keys and root
	repo  *tufrepo.Repo
}

// sessionTTL is short so a test can step past it.
const sessionTTL = time.Hour

func newHarness(t testing.TB) *harness {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	blobDir := filepath.Join(t.TempDir(), "blobs")
	blobs, err := blob.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	buf := &logBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := &clock{now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	// Tiny argon2 parameters keep -race fast; the rules are the same.
	svc := staff.NewService(db, staff.NewHasher(staff.Params{Memory: 64, Time: 1, Threads: 1}, 2), clk.Now, sessionTTL, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector()) // as internal/cli/serve.go does
	reports := intake.NewService(db, intake.DefaultChecks, intake.DefaultLimits, intake.DefaultRateLimit, clk.Now)
	handling := cases.NewService(db, clk.Now)
	builds := fixes.NewService(db, db, clk.Now)
	handling.UseGates(builds)
	sched, err := release.ParseSchedule(release.DefaultRule, false, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	releases := release.NewService(db, handling, db, sched, clk.Now)
	handling.UseReleases(releases)
	lessons := postmortem.NewService(db, db, clk.Now)
	handling.UsePostMortems(lessons)
	handling.OnMoved(func(ctx context.Context, c intake.Case, m cases.Move) {
		if m.To == cases.Verifying {
			reports.Notify(ctx, c.Ref, "A fix is ready for you to verify.")
		}
	})
	reports.OnReporterMessage(handling.ReporterAnswered)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	points, _ := cra.ParsePoints(cra.DefaultPoints)
	regulatory := cra.NewService(db, cra.FromRecords(db), cra.Organisation{Name: "Example Corp", MemberState: "DE", CSIRT: "CERT-Bund",
		Contact: "psirt@example.com", TimeZone: berlin, MemberStates: map[string][]string{"Gateway": {"DE", "FR"}}, Points: points}, clk.Now)
	keys := filepath.Join(t.TempDir(), "tuf-keys")
	if err := tufrepo.Init(keys, tufrepo.DefaultLayout(), clk.Now().Add(tufrepo.RootExpiry)); err != nil {
		t.Fatal(err)
	}
	signing, err := tufrepo.ReadKeyDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	repo := tufrepo.New(db, signing, tufrepo.DefaultExpiry, clk.Now)
	if root, err := os.ReadFile(filepath.Join(keys, "1.root.json")); err != nil {
		t.Fatal(err)
	} else if _, err := repo.ImportRoot(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	// The fleet answers check-ins from a view it refreshes often, and
	// writes them in batches while Run runs.
	fl := fleet.NewService(db, &fleet.TargetsCatalog{Metadata: db}, db, fleet.Config{Refresh: 50 * time.Millisecond}, log, clk.Now)
	fleetCtx, stopFleet := context.WithCancel(context.Background())
	fleetDone := make(chan struct{})
	go func() {
		defer close(fleetDone)
		_ = fl.Run(fleetCtx)
	}()
	t.Cleanup(func() { stopFleet(); <-fleetDone })
	srv, err := NewServer(Deps{
		Catalog: catalog.NewService(db, db, blobs, repo, catalog.DefaultDeltas, log, clk.Now),
		Fleet:   fl,
		CRA:     regulatory,
		Log:     log, Staff: svc, Products: product.NewService(db, clk.Now), Audit: db, Blobs: blobs,
		Intake:   reports,
		Cases:    handling,
		Fixes:    builds,
		Releases: releases, PostMortems: lessons, DB: db, Engine: db.Engine(), Version: "v0.0.0-test",
		Registry: reg, Gatherer: reg, SessionTTL: sessionTTL, Now: clk.Now,
	})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return &harness{t: t, srv: srv, db: db, staff: svc, clock: clk, log: buf, links: map[string]string{},
		blobs: blobDir, keys: keys, repo: repo}
}

// do serves one request.
func (h *harness) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, r)
	return rec
}

// get builds a GET carrying the session cookie, if any. The cookie is set
// by hand: it is Secure, so a cookiejar would not send it over http.
func get(path, session string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if session != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	}
	return r
}

// post builds a form POST with no fetch metadata, as a CLI client sends it.
func post(path string, form url.Values, session string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if session != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	}
	return r
}

// apiGet builds an API GET with the given Authorization header, if any.
func apiGet(path, authz string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

// addUser creates an account; with an empty password it returns the
// one-time password.
func (h *harness) addUser(email, roles, password string) string {
	h.t.Helper()
	_, pw, err := h.staff.AddUser(h.t.Context(), audit.System, email, roles, password)
	if err != nil {
		h.t.Fatalf("AddUser(%s): %v", email, err)
	}
	if pw != "" {
		return pw
	}
	return password
}

// token creates an API token for an account and returns its secret.
func (h *harness) token(email string) string {
	h.t.Helper()
	secret, _, err := h.staff.CreateToken(h.t.Context(), audit.System, email, "test")
	if err != nil {
		h.t.Fatalf("CreateToken(%s): %v", email, err)
	}
	return secret
}

// signIn signs in over HTTP and returns the session secret.
func (h *harness) signIn(email, password string) string {
	h.t.Helper()
	rec := h.do(post("/staff/signin", url.Values{"email": {email}, "password": {password}}, ""))
	if rec.Code != http.StatusSeeOther {
		h.t.Fatalf("sign in %s: status %d, want 303; body:\n%s", email, rec.Code, rec.Body)
	}
	c := responseCookie(rec, sessionCookie)
	if c == nil || c.Value == "" {
		h.t.Fatalf("sign in %s: no session cookie in %q", email, rec.Header().Values("Set-Cookie"))
	}
	return c.Value
}

// auditActions returns the actions in the audit log, oldest first.
func (h *harness) auditActions() []string {
	h.t.Helper()
	es, err := h.db.ListAudit(h.t.Context(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		h.t.Fatalf("ListAudit: %v", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e.Action
	}
	return out
}

func responseCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// clock is a settable time source for the staff service.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer is a log sink safe for a server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	h.addUser("admin@example.com", "admin", "correct horse battery")
	tok := h.token("admin@example.com")
	crossSite := post("/staff/signin", url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}}, "")
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")

	tests := []struct {
		name string
		req  *http.Request
		code int
	}{
		{"page", get("/staff/signin", ""), http.StatusOK},
		{"redirect to sign-in", get("/staff/", ""), http.StatusSeeOther},
		{"API", apiGet("/api/v1/me", "Bearer "+tok), http.StatusOK},
		{"API error", apiGet("/api/v1/me", ""), http.StatusUnauthorized},
		{"API not found", apiGet("/api/v1/nope", ""), http.StatusNotFound},
		{"unrouted path", get("/nope", ""), http.StatusNotFound},
		{"cross-origin refusal", crossSite, http.StatusForbidden},
		{"static file", get("/static/style.css", ""), http.StatusOK},
		{"healthz", get("/healthz", ""), http.StatusOK},
		{"metrics", get("/metrics", ""), http.StatusOK},
	}
	want := map[string]string{
		"Content-Security-Policy":    contentSecurityPolicy,
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(tt.req)
			if rec.Code != tt.code {
				t.Fatalf("%s %s: status %d, want %d", tt.req.Method, tt.req.URL, rec.Code, tt.code)
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// The policy itself, spelled out, so a loosened constant fails here.
	for _, directive := range []string{"frame-ancestors 'none'", "default-src 'self'", "object-src 'none'", "form-action 'self'"} {
		if !strings.Contains(contentSecurityPolicy, directive) {
			t.Errorf("Content-Security-Policy %q lacks %q", contentSecurityPolicy, directive)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	h := newHarness(t)
	rec := h.do(get("/static/style.css", ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if got, want := rec.Header().Get("Content-Type"), "text/css; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got, want := rec.Header().Get("Cache-Control"), "public, max-age=3600"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	if rec.Body.Len() == 0 {
		t.Error("empty stylesheet")
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/healthz", "/no/such/page-7f3a", "/api/v1/nope-7f3a", "/static/style.css"} {
		h.do(get(path, ""))
	}
	rec := h.do(get("/metrics", ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`patchday_http_requests_total{code="200",method="GET",route="GET /healthz"} 2`,
		`patchday_http_requests_total{code="404",method="GET",route="unmatched"} 2`,
		`patchday_http_requests_total{code="200",method="GET",route="GET /static/"} 1`,
		`patchday_http_request_duration_seconds_count{method="GET",route="GET /healthz"} 2`,
		"go_goroutines ",
		"go_memstats_alloc_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Raw paths would let any client mint label values without bound.
	if strings.Contains(body, "7f3a") {
		t.Errorf("/metrics carries a raw request path:\n%s", grepLines(body, "7f3a"))
	}
}

func TestMetricsOtherMethod(t *testing.T) {
	h := newHarness(t)
	h.do(httptest.NewRequest("PROPFIND", "/healthz", nil))
	body := h.do(get("/metrics", "")).Body.String()
	if want := `patchday_http_requests_total{code="404",method="other",route="unmatched"} 1`; !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q; got:\n%s", want, grepLines(body, "patchday_http_requests_total"))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	check := func(path string, wantCode int, wantBody string) {
		t.Helper()
		rec := h.do(get(path, ""))
		if rec.Code != wantCode || rec.Body.String() != wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", path, rec.Code, rec.Body, wantCode, wantBody)
		}
	}
	check("/healthz", http.StatusOK, "ok\n")
	check("/readyz", http.StatusOK, "ok\n")

	if err := h.db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check("/healthz", http.StatusOK, "ok\n")
	check("/readyz", http.StatusServiceUnavailable, "database unreachable\n")
	if got := h.log.String(); !strings.Contains(got, `msg="readiness check failed"`) {
		t.Errorf("log lacks the readiness failure:\n%s", got)
	}
}

// TestOverTheWire runs the sign-in round trip through a real listener, so
// the cookie's attributes and the redirects are what a browser would get.
func TestOverTheWire(t *testing.T) {
	h := newHarness(t)
	h.addUser("admin@example.com", "admin", "correct horse battery")
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	send := func(method, path, body, session string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if session != "" {
			req.Header.Set("Cookie", sessionCookie+"="+session)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	resp := send(http.MethodPost, "/staff/signin",
		url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}, "next": {"/staff/users"}}.Encode(), "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/users" {
		t.Fatalf("sign in: %d to %q, want 303 to /staff/users", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session string
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatalf("no session cookie in %q", resp.Header.Values("Set-Cookie"))
	}
	if resp := send(http.MethodGet, "/staff/users", "", session); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /staff/users signed in: %d, want 200", resp.StatusCode)
	}
	if resp := send(http.MethodPost, "/staff/signout", "", session); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out: %d, want 303", resp.StatusCode)
	}
	if resp := send(http.MethodGet, "/staff/users", "", session); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/staff/signin?") {
		t.Errorf("GET /staff/users after sign-out: %d to %q, want 303 to sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
