// Package e2e boots the real patchday program (cli.Run, exactly what the
// binary runs) in a temporary directory on a free port, and drives it with
// a real headless Chromium through chromedp. Page tests of every feature
// build on Start and NewBrowser.
package e2e

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/cli"
	"github.com/patchday/patchday/internal/serveproc"
)

// Server is a running `patchday serve`.
type Server struct {
	*serveproc.Server        // URL, AdminEmail, AdminPassword, Stop, Stdout
	Data              string // the --data directory
	DB                string // the --db URL, empty for SQLite
}

// Options say how to start a server.
type Options struct {
	// Data is the data directory; empty means a new temporary one.
	Data string
	// DB is a postgres:// URL; empty means SQLite in Data.
	DB string
	// Args are extra serve flags.
	Args []string
}

// Start runs `patchday serve` and waits until it is serving. The server is
// stopped (gracefully, as by SIGTERM) when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Data == "" {
		o.Data = t.TempDir()
	}
	args := []string{"serve", "--data", o.Data, "--http", "127.0.0.1:0", "--log-level", "warn"}
	if o.DB != "" {
		args = append(args, "--db", o.DB)
	}
	args = append(args, o.Args...)
	run := func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		return cli.Run(ctx, args, noEnv, stdin, stdout, stderr)
	}
	srv, err := serveproc.Start(context.Background(), run, args, testWriter{t}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Server: srv, Data: o.Data, DB: o.DB}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

// CLI runs a patchday subcommand against the same data as the server,
// as an operator at a terminal would, and returns its standard output.
func (s *Server) CLI(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	args = append(args, "--data", s.Data, "--log-level", "warn")
	if s.DB != "" {
		args = append(args, "--db", s.DB)
	}
	var out bytes.Buffer
	err := cli.Run(context.Background(), args, noEnv, strings.NewReader(stdin), &out, testWriter{t})
	return out.String(), err
}

// Run runs a patchday command that needs no server and returns its
// standard output.
func Run(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := cli.Run(context.Background(), args, noEnv, strings.NewReader(stdin), &out, testWriter{t})
	return out.String(), err
}

func noEnv(string) string { return "" }

// testWriter sends the server's log to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// Browser is a headless Chromium tab.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// StepTimeout bounds each browser step, so a wait on an element that never
// appears fails the test instead of hanging it.
const StepTimeout = 20 * time.Second

// chromium finds the browser: $PATCHDAY_CHROMIUM, else chromium on PATH.
func chromium() string {
	if p := os.Getenv("PATCHDAY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// NewBrowser starts headless Chromium for one test. Without a browser the
// test is skipped, unless PATCHDAY_REQUIRE_BROWSER=1 (CI sets it).
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv("PATCHDAY_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium found and PATCHDAY_REQUIRE_BROWSER=1: apt-get install -y chromium, or set PATCHDAY_CHROMIUM")
		}
		t.Skip("no Chromium found (apt-get install -y chromium); skipping browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	return &Browser{t: t, ctx: ctx}
}

// Do runs steps with a time limit, failing the test on error.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (page: %s)", err, b.location())
	}
}

// Follow runs steps that load a new page (a click on a link or a submit
// button) and waits until it has loaded; it returns the page's HTTP status.
func (b *Browser) Follow(steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("browser: %v (page: %s)", err, b.location())
	}
	return int(resp.Status)
}

// Text returns the visible text of the first element matching sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return get(b, chromedp.Text(chromedp.CSS(sel)))
}

// Location returns the current URL.
func (b *Browser) Location() string {
	b.t.Helper()
	return get(b, chromedp.Location())
}

func (b *Browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	return get(b, chromedp.Evaluate[T](expr))
}

func get[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v (page: %s)", err, b.location())
	}
	return v
}

// Screenshot saves a PNG of the page, for a person to look at.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	png := get(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// SignIn fills the sign-in form as a person would and submits it.
func (b *Browser) SignIn(base, email, password string) {
	b.t.Helper()
	b.Do(
		chromedp.Navigate(base+"/staff/signin"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	b.Follow(chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
}

// SignInAsNewAdmin does what a newcomer does after the first start: signs
// in with the printed one-time password, is sent to choose a password,
// chooses newPassword, and lands on the dashboard.
func (b *Browser) SignInAsNewAdmin(s *Server, newPassword string) {
	b.t.Helper()
	if s.AdminPassword == "" {
		b.t.Fatal("the server printed no one-time admin password (not a first start?)")
	}
	b.SignIn(s.URL, s.AdminEmail, s.AdminPassword)
	if loc := b.Location(); !strings.HasSuffix(loc, "/staff/password") {
		b.t.Fatalf("after the first sign-in the browser is at %s, want the change-password page", loc)
	}
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#current"), s.AdminPassword),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#confirm"), newPassword),
	)
	b.Follow(chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
	if h := b.Text("main h1"); h != "Dashboard" {
		b.t.Fatalf("after choosing a password the page is %q (%s), want the Dashboard", h, b.Location())
	}
}

// Quiet is a logger for tests that do not care about logs.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
