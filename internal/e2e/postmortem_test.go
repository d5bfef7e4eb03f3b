package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserPostMortemCounted: a developer fills in a case's post-mortem
// in the browser, from the link on the case page, and sees its lesson
// counted in the training report — by tenet, by weakness rolled up the
// CWE hierarchy, and in the team's own report.
func TestBrowserPostMortemCounted(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	const pw = "a long enough password"
	rc, as := newCase(t, s, pw, "", [][2]string{{"tri@example.com", "triager"}, {"dev@example.com", "developer"}})
	acceptInBrowser(t, s, pw, rc.ID, as)

	dev := e2e.NewBrowser(t)
	dev.SignIn(s.URL, "dev@example.com", pw)
	dev.Follow(chromedp.Navigate(s.URL + "/staff/cases/" + rc.ID))
	if got := dev.Text("#postmortem"); !strings.Contains(got, "Not written yet") {
		t.Errorf("the case page's post-mortem box: %q", got)
	}
	dev.Follow(chromedp.Click(chromedp.CSS(`#postmortem a`)))
	if got := e2e.Eval[string](dev, `document.querySelector("#cwe").value`); got != "CWE-122" {
		t.Errorf("the form does not start from triage's CWE: %q", got)
	}
	dev.Do(
		chromedp.SendKeys(chromedp.CSS("#root_cause"), "The parser copied the header into a fixed buffer using the length the client sent."),
		chromedp.SetValue(chromedp.CSS("#cwe"), "CWE-787"),
		chromedp.SendKeys(chromedp.CSS("#component"), "http/header"),
		chromedp.SendKeys(chromedp.CSS("#team"), "Edge"),
		chromedp.SendKeys(chromedp.CSS("#introduced_version"), "2.1.0"),
		chromedp.SetValue(chromedp.CSS("#how_found"), "fuzzing"),
		chromedp.SendKeys(chromedp.CSS("#why_missed"), "No fuzz target reached the header parser."),
		chromedp.SetValue(chromedp.CSS("#tenet"), "2"),
		chromedp.SendKeys(chromedp.CSS(`input[name="actions.0.what"]`), "Add a header fuzz target to CI"),
		chromedp.SendKeys(chromedp.CSS(`input[name="actions.0.owner"]`), "dev@example.com"),
		chromedp.SetValue(chromedp.CSS(`input[name="actions.0.due"]`), "2026-12-15"),
	)
	dev.Follow(chromedp.Click(chromedp.CSS(`form[action$="/postmortem"] button[type="submit"]`)))
	if got := dev.Text(".flash"); !strings.Contains(got, "It is complete") {
		t.Fatalf("after saving: %q\n%s", got, dev.Text("main"))
	}
	screenshot(dev, "postmortem")

	dev.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/training"]`)))
	if got := dev.Text("#lessons"); got != "1" {
		t.Fatalf("lessons counted: %q\n%s", got, dev.Text("main"))
	}
	if got := dev.Text("#table-tenet"); !strings.Contains(got, "Bound every memory access") {
		t.Errorf("by tenet: %q", got)
	}
	if got := dev.Text("#table-cwe"); !strings.Contains(got, "CWE-787 Out-of-bounds Write") || !strings.Contains(got, "CWE-119") {
		t.Errorf("by weakness, rolled up: %q", got)
	}
	if got := dev.Text("#table-how_found"); !strings.Contains(got, "Fuzzing") {
		t.Errorf("by how found: %q", got)
	}
	if n := e2e.Eval[int](dev, `document.querySelectorAll("svg.chart").length`); n < 5 {
		t.Errorf("%d charts drawn on the server, want one per dimension, the monthly one and sparklines", n)
	}
	screenshot(dev, "training")
	dev.Do(chromedp.SetValue(chromedp.CSS("#team"), "Edge"))
	dev.Follow(chromedp.Click(chromedp.CSS(`form.filters button`)))
	if got := dev.Text("h1"); got != "Training report: Edge" {
		t.Errorf("the team's report: %q", got)
	}
	if got := dev.Text("#lessons"); got != "1" {
		t.Errorf("the team's lessons: %q", got)
	}
}
