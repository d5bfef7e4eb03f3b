package e2e_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserPlanRelease: a release manager puts a scheduled case into
// the next train, writes its advisory and approves the release, in the
// browser; the advisory stays embargoed.
func TestBrowserPlanRelease(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	const pw = "a long enough password"
	rc, as := newCase(t, s, pw, `,"credit_name":"Ada"`, [][2]string{{"rm@example.com", "release-manager"}, {"tri@example.com", "triager"},
		{"dev@example.com", "developer"}, {"qa@example.com", "tester"}})
	// Walk the case to scheduled through the API and the page, as in the
	// case handling tests.
	acceptInBrowser(t, s, pw, rc.ID, as)
	as("dev@example.com", "case", "move", rc.ID, "--to", "fixing")
	build := t.TempDir() + "/gw.tar.zst"
	writeFile(t, build, "build")
	as("dev@example.com", "fix", "upload", rc.ID, build, "--version", "1", "--brings", "2.4.2", "--source-ref", "git:1")
	as("dev@example.com", "case", "move", rc.ID, "--to", "testing")
	report := t.TempDir() + "/r.xml"
	writeFile(t, report, `<testsuite name="gw"><testcase classname="gw" name="T"/></testsuite>`)
	as("qa@example.com", "fix", "test-run", "1", report)
	as("qa@example.com", "case", "move", rc.ID, "--to", "verifying")
	researcher := e2e.NewBrowser(t)
	researcher.Follow(chromedp.Navigate(rc.Link))
	researcher.Do(chromedp.Click(chromedp.CSS(`input[name="verdict"][value="fixed"]`)))
	researcher.Follow(chromedp.Click(chromedp.CSS(`#verify form button`)))

	// The release manager plans the release.
	rm := e2e.NewBrowser(t)
	rm.SignIn(s.URL, "rm@example.com", pw)
	rm.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/releases"]`)))
	rm.Follow(chromedp.Click(chromedp.CSS(`section.release form[action="/staff/releases/assign"] button`)))
	if got := rm.Text(".flash"); !strings.Contains(got, rc.ID+" is in the release") {
		t.Fatalf("after adding the case: %q", got)
	}
	if got := rm.Text("section.release"); !strings.Contains(got, "Gateway 2.4.2 over 2.4.1") {
		t.Errorf("the release does not show the update it plans:\n%s", got)
	}
	// Taken out, and put back.
	rm.Follow(chromedp.Click(chromedp.CSS(`section.release form[action="/staff/releases/unassign"] button`)))
	if got := rm.Text(".flash"); !strings.Contains(got, rc.ID+" is out of the release") {
		t.Fatalf("after taking the case out: %q", got)
	}
	rm.Follow(chromedp.Click(chromedp.CSS(`section.release form[action="/staff/releases/assign"] button`)))
	rm.Do(
		chromedp.Click(chromedp.CSS(`section.release details summary`)),
		chromedp.SendKeys(chromedp.CSS(`section.release input[name="title"]`), "Heap overflow in Gateway"),
		chromedp.SendKeys(chromedp.CSS(`section.release textarea[name="summary"]`), "A long header overflows a buffer."),
		chromedp.SendKeys(chromedp.CSS(`section.release input[name="cves"]`), "CVE-2026-10001"),
	)
	rm.Follow(chromedp.Click(chromedp.CSS(`section.release form[action="/staff/releases/advisory"] button`)))
	// The draft is corrected on the advisories page before approval.
	rm.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/advisories"]`)))
	rm.Do(
		chromedp.Click(chromedp.CSS(`section[id^="advisory-"] details summary`)),
		chromedp.SetValue(chromedp.CSS(`section[id^="advisory-"] input[name="title"]`), "Heap overflow in the Gateway header parser"),
	)
	rm.Follow(chromedp.Click(chromedp.CSS(`section[id^="advisory-"] form button`)))
	if got := rm.Text("main"); !strings.Contains(got, "is saved") || !strings.Contains(got, "Heap overflow in the Gateway header parser") ||
		!strings.Contains(got, "embargoed") {
		t.Errorf("the advisories page after editing the draft:\n%s", got)
	}
	rm.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/releases"]`)))
	rm.Follow(chromedp.Click(chromedp.CSS(`section.release form[action="/staff/releases/approve"] button`)))
	screenshot(rm, "releases-approved")
	if got := rm.Text("section.release"); !strings.Contains(got, "approved") || !strings.Contains(got, "PDSA-") || !strings.Contains(got, "Heap overflow in the Gateway header parser") {
		t.Errorf("the release after approval:\n%s", got)
	}
	// Embargoed until its time.
	visitor := e2e.NewBrowser(t)
	if code := visitor.Follow(chromedp.Navigate(s.URL + "/advisories")); code != 200 || strings.Contains(visitor.Text("main"), "Heap overflow") {
		t.Errorf("the public index shows the embargoed advisory")
	}
}

// newCase adds staff accounts (e-mail, role) with API tokens and the
// Gateway 2.4.1 product, and files a researcher's report through the API;
// it returns the case and a way to run CLI commands as one of the accounts.
func newCase(t *testing.T, s *e2e.Server, pw, extra string, users [][2]string) (rc struct{ ID, Link string }, as func(who string, args ...string)) {
	t.Helper()
	tokens := map[string]string{}
	for _, u := range users {
		if _, err := s.CLI(t, pw+"\n", "user", "add", "--email", u[0], "--role", u[1], "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		tok, _ := s.CLI(t, "", "token", "create", "--email", u[0], "--name", "t")
		tokens[u[0]] = strings.TrimSpace(tok)
	}
	s.CLI(t, "", "product", "add", "Gateway", "--vendor", "Example Corp")
	s.CLI(t, "", "product", "version", "add", "Gateway", "2.4.1")
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"Overflow in the header parser","product":"Gateway","version":"2.4.1","description":"d","steps":"s","email":"ada@example.org"`+extra+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&rc); err != nil || rc.ID == "" {
		t.Fatalf("the report: %v %+v", err, rc)
	}
	return rc, func(who string, args ...string) {
		t.Helper()
		if out, err := e2e.Run(t, "", append(args, "--server", s.URL, "--token", tokens[who])...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// acceptInBrowser has tri@example.com triage the case in the browser
// (critical, CWE-122, the affected version) and accept it.
func acceptInBrowser(t *testing.T, s *e2e.Server, pw, id string, as func(who string, args ...string)) {
	t.Helper()
	as("tri@example.com", "case", "move", id, "--to", "triage")
	tri := e2e.NewBrowser(t)
	tri.SignIn(s.URL, "tri@example.com", pw)
	tri.Follow(chromedp.Navigate(s.URL + "/staff/cases/" + id))
	tri.Do(
		chromedp.SendKeys(chromedp.CSS("#t-cvss"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
		chromedp.SendKeys(chromedp.CSS("#t-cwe"), "CWE-122"),
		chromedp.Click(chromedp.CSS(`input[name="affected"]`)),
	)
	tri.Follow(chromedp.Click(chromedp.CSS(`form[action$="/triage"] button`)))
	as("tri@example.com", "case", "move", id, "--to", "accepted")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
