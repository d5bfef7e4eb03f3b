package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserReport is a researcher's first visit: the form is refused for
// a missing field but keeps what was typed and the attached file; fixed and
// sent, it shows the case id and private link; the link opens the case with
// the file; a browser without the link sees nothing of it.
func TestBrowserReport(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	if _, err := s.CLI(t, "", "product", "add", "Gateway", "--vendor", "Example Corp"); err != nil {
		t.Fatal(err)
	}
	poc := filepath.Join(t.TempDir(), "poc.html")
	if err := os.WriteFile(poc, []byte("<script>alert(1)</script>\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	b := e2e.NewBrowser(t)
	b.Do(
		chromedp.Navigate(s.URL+"/report"),
		chromedp.SetValue(chromedp.CSS("#product"), "Gateway"),
		chromedp.SendKeys(chromedp.CSS("#title"), "Stored XSS in the admin console"),
		chromedp.SendKeys(chromedp.CSS("#version"), "2.4.1"),
		chromedp.SendKeys(chromedp.CSS("#description"), "The console echoes the device name unescaped."),
		chromedp.SendKeys(chromedp.CSS("#cvss_vector"), "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N"),
		chromedp.SendKeys(chromedp.CSS("#cwe"), "CWE-79"),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.org"),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{poc}),
	)
	// With JavaScript, the score appears as the vector is typed.
	deadline := time.Now().Add(10 * time.Second)
	for b.Text("#cvss-score") != "Score: 5.4 Medium (CVSS 3.1)" {
		if time.Now().After(deadline) {
			t.Fatalf("live CVSS score = %q, want 5.4 Medium", b.Text("#cvss-score"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The steps to reproduce are missing.
	if code := b.Follow(chromedp.Click(chromedp.CSS(`form.report button[type="submit"]`))); code != 422 {
		t.Fatalf("incomplete report answered %d, want 422", code)
	}
	if got := b.Text("#steps-error"); got != "steps to reproduce is required" {
		t.Errorf("steps error = %q", got)
	}
	if got := e2e.Eval[string](b, `document.querySelector("#title").value`); got != "Stored XSS in the admin console" {
		t.Errorf("the title was not kept: %q", got)
	}
	if got := b.Text(".kept"); !strings.Contains(got, "poc.html") {
		t.Errorf("the attached file was not kept: %q", got)
	}
	screenshot(b, "report-refused")

	b.Do(chromedp.SendKeys(chromedp.CSS("#steps"), "1. Rename a device to <script>alert(1)</script>\n2. Open the console"))
	if code := b.Follow(chromedp.Click(chromedp.CSS(`form.report button[type="submit"]`))); code != 201 {
		t.Fatalf("complete report answered %d, want 201", code)
	}
	screenshot(b, "report-received")
	ref := b.Text("#case-ref")
	if !strings.HasPrefix(ref, "PD-") || len(ref) != len("PD-2026-0001") {
		t.Errorf("case id %q", ref)
	}
	link := b.Text("#case-link")
	if !strings.Contains(link, "/r/pdr_") {
		t.Fatalf("private link %q", link)
	}

	b.Follow(chromedp.Click(chromedp.CSS("#case-link")))
	screenshot(b, "case")
	if got := b.Text("main h1"); got != "Case "+ref {
		t.Errorf("private page heading %q, want Case %s", got, ref)
	}
	page := b.Text("main")
	for _, want := range []string{"received", "Gateway 2.4.1", "5.4 Medium", "CWE-79", "poc.html", "<script>alert(1)</script>"} {
		if !strings.Contains(page, want) {
			t.Errorf("private page lacks %q:\n%s", want, page)
		}
	}
	// The researcher's own text is shown as text, never run.
	if n := e2e.Eval[int](b, `document.querySelectorAll("main script").length`); n != 0 {
		t.Errorf("%d script elements in the case page: the report's text was not escaped", n)
	}

	other := e2e.NewBrowser(t)
	guess := link[:len(link)-3] + "abc"
	if guess == link {
		guess = link[:len(link)-3] + "abd"
	}
	if code := other.Follow(chromedp.Navigate(guess)); code != 404 {
		t.Errorf("a wrong link answered %d, want 404", code)
	}
	if got := other.Text("main"); strings.Contains(got, ref) || strings.Contains(got, "Stored XSS") {
		t.Errorf("a wrong link shows the case:\n%s", got)
	}
}
