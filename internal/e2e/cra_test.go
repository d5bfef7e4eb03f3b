package e2e_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

// TestBrowserExploitedCase: a triager flags a case "attacks-observed" in
// the browser, saying when the organisation became aware; the reporting
// clocks start; a release manager approves the early warning and records
// its submission, which stops its clock.
func TestBrowserExploitedCase(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{Args: []string{"--cra-timezone", "Europe/Berlin", "--cra-org", "Example Corp", "--cra-member-state", "DE",
		"--cra-csirt", "CERT-Bund", "--cra-markets", "Gateway=DE,FR"}})
	const pw = "a long enough password"
	for _, u := range [][2]string{{"rm@example.com", "release-manager"}, {"tri@example.com", "triager"}} {
		if _, err := s.CLI(t, pw+"\n", "user", "add", "--email", u[0], "--role", u[1], "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	s.CLI(t, "", "product", "add", "Gateway", "--vendor", "Example Corp")
	s.CLI(t, "", "product", "version", "add", "Gateway", "2.4.1")
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"Overflow exploited in the wild","product":"Gateway","version":"2.4.1","description":"d","steps":"s","email":"ada@example.org"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rc struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()

	berlin, _ := time.LoadLocation("Europe/Berlin")
	aware := time.Now().Add(-3 * time.Hour).In(berlin).Format("2006-01-02T15:04")
	tri := e2e.NewBrowser(t)
	tri.SignIn(s.URL, "tri@example.com", pw)
	tri.Follow(chromedp.Navigate(s.URL + "/staff/cases/" + rc.ID))
	tri.Do(
		chromedp.SetValue(chromedp.CSS("#flag"), "attacks-observed"),
		chromedp.SetValue(chromedp.CSS("#aware-at"), aware),
		chromedp.SetValue(chromedp.CSS("#malicious"), "suspected"),
	)
	tri.Follow(chromedp.Click(chromedp.CSS(`form[action$="/flags"] button`)))
	if loc := tri.Location(); !strings.Contains(loc, "/staff/regulatory/") {
		t.Fatalf("after flagging: %s\n%s", loc, tri.Text("main"))
	}
	report := tri.Location()[:strings.Index(tri.Location(), "?")]
	if ew := tri.Text("#early-warning"); !regexp.MustCompile(`(20h 5\dm|21h 0m) left`).MatchString(ew) {
		t.Errorf("the early warning's clock: %q", ew)
	}

	rm := e2e.NewBrowser(t)
	rm.SignIn(s.URL, "rm@example.com", pw)
	rm.Follow(chromedp.Navigate(report))
	rm.Follow(chromedp.Click(chromedp.CSS(`form[action$="/early-warning/approve"] button`)))
	rm.Do(chromedp.SendKeys(chromedp.CSS("#early-warning-ref"), "SRP-2026-000123"))
	rm.Follow(chromedp.Click(chromedp.CSS(`form[action$="/early-warning/submit"] button`)))
	if ew := rm.Text("#early-warning"); !strings.Contains(ew, "SRP-2026-000123") || !strings.Contains(ew, "submitted") {
		t.Errorf("after recording the submission: %q", ew)
	}
	if n := rm.Text("#notification"); !strings.Contains(n, "left") {
		t.Errorf("the notification's clock must still run: %q", n)
	}
}
