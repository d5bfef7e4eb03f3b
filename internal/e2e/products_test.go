package e2e_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserProducts: an admin adds a Debian-versioned product and two
// versions through the page, out of order, and sees them in Debian order;
// a bad version is refused beside its field with the input kept.
func TestBrowserProducts(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	b := e2e.NewBrowser(t)
	b.SignInAsNewAdmin(s, newPassword)

	b.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/products"]`)))
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#name"), "libcurl4"),
		chromedp.SendKeys(chromedp.CSS("#vendor"), "Debian"),
		chromedp.SetValue(chromedp.CSS("#scheme"), "debian"),
	)
	b.Follow(chromedp.Click(chromedp.CSS(`form[action="/staff/products"] button`)))
	for _, v := range []string{"7.88.1-10+deb12u15", "7.88.1-10+deb12u5", "7.88.1_bad"} {
		b.Do(chromedp.SendKeys(chromedp.CSS("#version"), v))
		b.Follow(chromedp.Click(chromedp.CSS(`form[action="/staff/products/versions"] button`)))
	}
	screenshot(b, "products")
	if got := b.Text("#version-error"); !strings.Contains(got, "is not a Debian version") {
		t.Errorf("bad version error = %q", got)
	}
	if got := e2e.Eval[string](b, `document.querySelector("#version").value`); got != "7.88.1_bad" {
		t.Errorf("the refused version was not kept in the field: %q", got)
	}
	if got := b.Text("table tbody"); !strings.Contains(got, "7.88.1-10+deb12u5, 7.88.1-10+deb12u15") {
		t.Errorf("versions not in Debian order:\n%s", got)
	}
}
