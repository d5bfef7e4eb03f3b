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

// TestBrowserThread: a researcher who reported through the API writes on
// their private page with a file; a triager finds the case in the inbox,
// reads the message and answers; the researcher sees the answer.
func TestBrowserThread(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"Path traversal in the backup download","product":"Portal","version":"3.1.0",
		"description":"../ is not stripped.","steps":"GET /backup?file=../../etc/passwd","email":"ada@example.org"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rc struct{ ID, Link string }
	json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("API report: %d", resp.StatusCode)
	}
	log := filepath.Join(t.TempDir(), "server.log")
	os.WriteFile(log, []byte("GET /backup?file=../../etc/passwd 200\n"), 0o600)

	researcher := e2e.NewBrowser(t)
	researcher.Do(
		chromedp.Navigate(rc.Link),
		chromedp.SendKeys(chromedp.CSS("#body"), "Here is the access log showing it."),
		chromedp.SetUploadFiles(chromedp.CSS("#attachments"), []string{log}),
	)
	researcher.Follow(chromedp.Click(chromedp.CSS(`#thread form button`)))
	if got := researcher.Text(".thread"); !strings.Contains(got, "Here is the access log") || !strings.Contains(got, "server.log") {
		t.Errorf("the researcher's thread after sending:\n%s", got)
	}

	triager := e2e.NewBrowser(t)
	triager.SignInAsNewAdmin(s, newPassword)
	triager.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/cases"]`)))
	if got := triager.Text("#inbox"); !strings.Contains(got, rc.ID) || !strings.Contains(got, "Path traversal") {
		t.Fatalf("inbox lacks the case:\n%s", got)
	}
	triager.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/cases/` + rc.ID + `"]`)))
	if got := triager.Text(".thread"); !strings.Contains(got, "The reporter") || !strings.Contains(got, "Here is the access log") {
		t.Errorf("staff view of the thread:\n%s", got)
	}
	if got := triager.Text("main"); !strings.Contains(got, "ada@example.org") {
		t.Errorf("staff view lacks the reporter's address")
	}
	triager.Do(chromedp.SendKeys(chromedp.CSS("#body"), "Thanks, reproduced on 3.1.0. A fix is planned for the next release."))
	triager.Follow(chromedp.Click(chromedp.CSS(`#thread form button`)))
	screenshot(triager, "staff-case")
	if got := triager.Text(".flash"); !strings.Contains(got, "not e-mailed") {
		t.Errorf("staff flash after replying: %q; want it to say the mail was not sent", got)
	}

	researcher.Follow(chromedp.Navigate(rc.Link))
	screenshot(researcher, "researcher-thread")
	got := researcher.Text(".thread")
	if !strings.Contains(got, "The security team") || !strings.Contains(got, "reproduced on 3.1.0") {
		t.Errorf("the researcher does not see the answer:\n%s", got)
	}
	if strings.Contains(got, "admin@localhost") {
		t.Errorf("the researcher sees a staff member's address:\n%s", got)
	}
}
