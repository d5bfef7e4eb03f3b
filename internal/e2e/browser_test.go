package e2e_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/patchday/patchday/internal/e2e"
)

const newPassword = "a much better password"

// screenshot keeps a picture of the page when PATCHDAY_SCREENSHOTS names a
// directory, so a person can look at what the test saw.
func screenshot(b *e2e.Browser, name string) {
	if dir := os.Getenv("PATCHDAY_SCREENSHOTS"); dir != "" {
		b.Screenshot(filepath.Join(dir, name+".png"))
	}
}

// TestBrowserFirstStart is the newcomer's path: start, sign in with the
// printed one-time password, choose a password, see the dashboard and the
// audit log, sign out.
func TestBrowserFirstStart(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	b := e2e.NewBrowser(t)

	b.Do(chromedp.Navigate(s.URL + "/staff/"))
	if loc := b.Location(); !strings.Contains(loc, "/staff/signin?next=") {
		t.Fatalf("unsigned visit to the dashboard went to %s, want the sign-in page", loc)
	}
	screenshot(b, "signin")
	b.SignInAsNewAdmin(s, newPassword)
	screenshot(b, "dashboard")
	if got := b.Text("main"); !strings.Contains(got, s.AdminEmail) || !strings.Contains(got, "admin") {
		t.Errorf("dashboard does not name the account and role:\n%s", got)
	}

	b.Follow(chromedp.Click(chromedp.CSS(`a[href="/staff/audit"]`)))
	audit := b.Text("table")
	for _, want := range []string{"user.create", "session.create", "user.password"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log page lacks %q:\n%s", want, audit)
		}
	}
	screenshot(b, "audit")

	b.Follow(chromedp.Click(chromedp.CSS(`form.signout button`)))
	b.Do(chromedp.Navigate(s.URL + "/staff/"))
	if loc := b.Location(); !strings.Contains(loc, "/staff/signin") {
		t.Errorf("after signing out the dashboard is at %s, want the sign-in page", loc)
	}
}

func TestBrowserWrongPassword(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	b := e2e.NewBrowser(t)
	b.SignIn(s.URL, s.AdminEmail, "not the password")
	if got := b.Text(".flash"); got != "wrong e-mail or password" {
		t.Errorf("flash = %q, want the sign-in refusal", got)
	}
	if got := e2e.Eval[string](b, `document.querySelector("#email").value`); got != s.AdminEmail {
		t.Errorf("the e-mail field was not kept: %q", got)
	}
}

// TestBrowserCrossSiteForgery signs in, then visits another origin whose
// page posts a form to patchday. The browser sends the session cookie (the
// origins are same-site), so only the cross-origin check stands between the
// attacker and the change: the post must be refused and change nothing.
func TestBrowserCrossSiteForgery(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	b := e2e.NewBrowser(t)
	b.SignInAsNewAdmin(s, newPassword)

	evil := fmt.Sprintf(`<!doctype html><form id="f" method="post" action="%s/staff/password">
<input name="current" value="%s"><input name="password" value="attacker-chosen-pw"><input name="confirm" value="attacker-chosen-pw">
</form><script>document.getElementById("f").submit()</script>`, s.URL, newPassword)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, evil)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	b.Do(chromedp.Navigate("http://"+ln.Addr().String()+"/"), chromedp.WaitVisible(chromedp.CSS(".problem")))
	if got := b.Text(".problem"); !strings.Contains(got, "cross-origin request refused") {
		t.Errorf("forged post answered %q, want a cross-origin refusal", got)
	}

	// The password is unchanged: the real one still signs in.
	b.Do(chromedp.Navigate(s.URL + "/staff/"))
	b.Follow(chromedp.Click(chromedp.CSS(`form.signout button`)))
	b.SignIn(s.URL, s.AdminEmail, newPassword)
	if h := b.Text("main h1"); h != "Dashboard" {
		t.Errorf("after the forged post the real password leads to %q, want the Dashboard", h)
	}
}
