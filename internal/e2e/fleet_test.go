package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserFleet: a fleet administrator, in a real browser, sets up a
// ring with a maintenance window in their time zone (a bad rule is refused
// with the reason and the form kept), and makes an enrollment token that
// is shown once.
func TestBrowserFleet(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	b := e2e.NewBrowser(t)
	b.SignInAsNewAdmin(s, newPassword)

	b.Follow(chromedp.Click(chromedp.CSS(`a[href="/fleet/"]`)))
	b.Follow(chromedp.Click(chromedp.CSS(`a[href="/fleet/groups"]`)))
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#name"), "pilot"),
		chromedp.SendKeys(chromedp.CSS("#labels"), "ring=pilot"),
		chromedp.SendKeys(chromedp.CSS("#rule"), "FREQ=WEEKLY;BYDAY=XX"),
		chromedp.SendKeys(chromedp.CSS("#duration"), "4h"),
		chromedp.SendKeys(chromedp.CSS("#tz"), "Europe/Berlin"),
	)
	b.Follow(chromedp.Click(chromedp.CSS(`form[action="/fleet/groups"] button`)))
	if got := e2e.Eval[string](b, `document.querySelector("#rule").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the bad rule is not marked invalid: %q", got)
	}
	if got := b.Text("#rule + p.error"); !strings.Contains(got, "FREQ=") {
		t.Fatalf("a bad rule was not explained with an example: %q", got)
	}
	if got := e2e.Eval[string](b, `document.querySelector("#name").value`); got != "pilot" {
		t.Errorf("the refused form lost its name: %q", got)
	}
	b.Do(chromedp.SetValue(chromedp.CSS("#rule"), "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2"))
	b.Follow(chromedp.Click(chromedp.CSS(`form[action="/fleet/groups"] button`)))
	screenshot(b, "fleet-groups")
	row := b.Text("table#groups tbody")
	for _, want := range []string{"pilot", "ring=pilot", "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2", "Europe/Berlin", "02:00 CE"} {
		if !strings.Contains(row, want) {
			t.Errorf("group row lacks %q:\n%s", want, row)
		}
	}

	b.Follow(chromedp.Click(chromedp.CSS(`a[href="/fleet/"]`)))
	b.Do(chromedp.SetValue(chromedp.CSS("#uses"), "5"), chromedp.SendKeys(chromedp.CSS("#labels"), "ring=pilot"))
	b.Follow(chromedp.Click(chromedp.CSS(`form[action="/fleet/tokens"] button`)))
	if tok := b.Text("#enroll-token"); !strings.HasPrefix(tok, "pde_") {
		t.Fatalf("token shown: %q", tok)
	}
}
