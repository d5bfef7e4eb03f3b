package e2e_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserCaseToVerified takes one case from received to ready to
// schedule with three different people in three browsers — a triager, a
// developer (who is also a tester, and still cannot pass their own fix)
// and an independent tester — and the researcher's private link.
func TestBrowserCaseToVerified(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	for _, args := range [][]string{
		{"product", "add", "Gateway", "--vendor", "Example Corp"},
		{"product", "version", "add", "Gateway", "2.4.1"},
	} {
		if _, err := s.CLI(t, "", args...); err != nil {
			t.Fatal(err)
		}
	}
	const pw = "a long enough password"
	for _, u := range [][2]string{{"tri@example.com", "triager"}, {"dev@example.com", "developer,tester"}, {"qa@example.com", "tester"}} {
		if _, err := s.CLI(t, pw+"\n", "user", "add", "--email", u[0], "--role", u[1], "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"Heap overflow in the header parser","product":"Gateway","version":"2.4.1","description":"A 70 KB header overflows.","steps":"Send it.","email":"ada@example.org"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("report: %v", err)
	}
	var rc struct{ ID, Link string }
	json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()
	caseURL := s.URL + "/staff/cases/" + rc.ID
	move := func(b *e2e.Browser, to string) {
		t.Helper()
		b.Do(chromedp.SetValue(chromedp.CSS("#to"), to))
		b.Follow(chromedp.Click(chromedp.CSS(`form[action$="/moves"] button`)))
		if got := b.Text("#case-state"); got != to {
			t.Fatalf("after moving to %s the case is %q: %s", to, got, b.Text(".flash"))
		}
	}

	// The triager triages and accepts.
	tri := e2e.NewBrowser(t)
	tri.SignIn(s.URL, "tri@example.com", pw)
	tri.Follow(chromedp.Navigate(caseURL))
	move(tri, "triage")
	tri.Do(
		chromedp.SendKeys(chromedp.CSS("#t-cvss"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
		chromedp.SendKeys(chromedp.CSS("#t-cwe"), "CWE-122"),
		chromedp.Click(chromedp.CSS(`input[name="affected"]`)),
	)
	tri.Follow(chromedp.Click(chromedp.CSS(`form[action$="/triage"] button`)))
	move(tri, "accepted")

	// The developer fixes.
	build := filepath.Join(t.TempDir(), "gateway-2.4.2.tar.zst")
	os.WriteFile(build, []byte("the fixed build"), 0o600)
	dev := e2e.NewBrowser(t)
	dev.SignIn(s.URL, "dev@example.com", pw)
	dev.Follow(chromedp.Navigate(caseURL))
	move(dev, "fixing")
	dev.Do(
		chromedp.SetUploadFiles(chromedp.CSS("#fix-payload"), []string{build}),
		chromedp.SendKeys(chromedp.CSS("#fix-brings"), "2.4.2"),
		chromedp.SendKeys(chromedp.CSS("#fix-ref"), "git:4f2a9c1"),
	)
	dev.Follow(chromedp.Click(chromedp.CSS(`form[action$="/fixes"] button`)))
	move(dev, "testing")
	// A tester too, but the author: no run form, no way to verifying.
	if n := e2e.Eval[int](dev, `document.querySelectorAll('form[action*="/runs"]').length`); n != 0 {
		t.Errorf("the author is offered the run form of their own fix")
	}
	if got := dev.Text("#fixes"); !strings.Contains(got, "You wrote this fix, so someone else must test it.") {
		t.Errorf("the author is not told why they cannot test: %s", got)
	}

	// The independent tester passes it.
	qa := e2e.NewBrowser(t)
	qa.SignIn(s.URL, "qa@example.com", pw)
	qa.Follow(chromedp.Navigate(caseURL))
	qa.Do(chromedp.Click(chromedp.CSS(`input[name="outcome"][value="passed"]`)))
	qa.Follow(chromedp.Click(chromedp.CSS(`form[action*="/runs"] button`)))
	move(qa, "verifying")
	screenshot(qa, "case-verifying")

	// The researcher verifies.
	researcher := e2e.NewBrowser(t)
	researcher.Follow(chromedp.Navigate(rc.Link))
	if got := researcher.Text("#verify"); !strings.Contains(got, "gateway-2.4.2.tar.zst") {
		t.Fatalf("the private page does not offer the fix: %s", got)
	}
	researcher.Do(
		chromedp.Click(chromedp.CSS(`input[name="verdict"][value="fixed"]`)),
		chromedp.SendKeys(chromedp.CSS("#verdict-comment"), "Confirmed fixed on 2.4.2."),
	)
	researcher.Follow(chromedp.Click(chromedp.CSS(`#verify form button`)))
	if got := researcher.Text("#case-state"); got != "scheduled" {
		t.Errorf("after the researcher's answer the case is %q", got)
	}
	screenshot(researcher, "researcher-verified")

	tri.Follow(chromedp.Navigate(caseURL))
	history := tri.Text(".history")
	for _, want := range []string{"received → triage by tri@example.com", "accepted → fixing by dev@example.com",
		"testing → verifying by qa@example.com", "verifying → scheduled by reporter"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q:\n%s", want, history)
		}
	}
}
