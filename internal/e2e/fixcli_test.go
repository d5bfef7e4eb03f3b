package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/e2e"
)

// TestFixCLI: a developer uploads a fix and a tester's CI posts a JUnit
// report, both with the operator CLI over the JSON API; the author's own
// report is refused.
func TestFixCLI(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	const pw = "a long enough password"
	tokens := map[string]string{}
	for _, u := range [][2]string{{"tri@example.com", "triager"}, {"dev@example.com", "developer,tester"}, {"qa@example.com", "tester"}} {
		if _, err := s.CLI(t, pw+"\n", "user", "add", "--email", u[0], "--role", u[1], "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		tok, err := s.CLI(t, "", "token", "create", "--email", u[0], "--name", "cli")
		if err != nil {
			t.Fatal(err)
		}
		tokens[u[0]] = strings.TrimSpace(tok)
	}
	s.CLI(t, "", "product", "add", "Gateway", "--vendor", "Example")
	s.CLI(t, "", "product", "version", "add", "Gateway", "2.4.1")
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"Overflow","product":"Gateway","version":"2.4.1","description":"d","steps":"s","email":"ada@example.org"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rc struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()
	as := func(email string, args ...string) (string, error) {
		return e2e.Run(t, "", append(args, "--server", s.URL, "--token", tokens[email])...)
	}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}

	must(as("tri@example.com", "case", "move", rc.ID, "--to", "triage"))
	// Triage through the page, as the triager signed in.
	cookie, _ := signIn(t, s.URL, "tri@example.com", pw)
	form := url.Values{"cvss_vector": {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, "cwe": {"CWE-122"}, "affected": {"1"}}
	req, _ := http.NewRequest("POST", s.URL+"/staff/cases/"+rc.ID+"/triage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("triage: %v %v", resp.StatusCode, err)
	}
	must(as("tri@example.com", "case", "move", rc.ID, "--to", "accepted"))
	must(as("dev@example.com", "case", "move", rc.ID, "--to", "fixing"))

	build := filepath.Join(t.TempDir(), "gateway-2.4.2.tar.zst")
	os.WriteFile(build, []byte("the fixed build"), 0o600)
	out := must(as("dev@example.com", "fix", "upload", rc.ID, build, "--version", "1", "--brings", "2.4.2", "--source-ref", "git:4f2a9c1"))
	m := regexp.MustCompile(`fix (\d+) uploaded \(brings 2\.4\.2, 15 bytes`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("upload said %q", out)
	}
	must(as("dev@example.com", "case", "move", rc.ID, "--to", "testing"))

	report := filepath.Join(t.TempDir(), "report.xml")
	os.WriteFile(report, []byte(`<testsuites><testsuite name="gw"><testcase classname="gw" name="TestHeader" time="0.2"/>`+
		`<testcase classname="gw" name="TestBody" time="0.1"/></testsuite></testsuites>`), 0o600)
	if out, err := as("dev@example.com", "fix", "test-run", m[1], report); err == nil || !strings.Contains(err.Error(), "you wrote this fix") {
		t.Errorf("the author's report: %v %s", err, out)
	}
	out = must(as("qa@example.com", "fix", "test-run", m[1], report))
	if !strings.Contains(out, "passed (2 tests, 0 failed, 0 skipped)") {
		t.Errorf("test-run said %q", out)
	}
	if out := must(as("qa@example.com", "case", "move", rc.ID, "--to", "verifying")); !strings.Contains(out, "is now verifying") {
		t.Errorf("move said %q", out)
	}
}
