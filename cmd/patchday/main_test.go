package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the patchday binary when re-run
// with PATCHDAY_TEST_AS_MAIN=1, so tests can run the real process (signals,
// exit codes) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PATCHDAY_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"patchday"}, strings.Fields(os.Getenv("PATCHDAY_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func command(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PATCHDAY_TEST_AS_MAIN=1", "PATCHDAY_TEST_ARGS="+strings.Join(args, " "))
	return cmd
}

// TestSIGTERM: the real process serves, and on SIGTERM stops cleanly with
// exit code 0, logging that it finished in-flight work.
func TestSIGTERM(t *testing.T) {
	cmd := command(t, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := make(chan string, 1)
	go func() { b, _ := io.ReadAll(stderr); logs <- string(b) }()

	var base string
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`serving (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("the server printed no address; log:\n%s", <-logs)
	}
	go io.Copy(io.Discard, stdout)
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz: %v %v", resp, err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after SIGTERM")
	}
	if l := <-logs; !strings.Contains(l, "shutting down") || !strings.Contains(l, "msg=stopped") {
		t.Errorf("log lacks the shutdown:\n%s", l)
	}
}

// TestExitCodes: a mistake in the command line exits 2 with a message.
func TestExitCodes(t *testing.T) {
	out, err := command(t, "serve", "--no-such-flag").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "unknown flag: --no-such-flag") {
		t.Errorf("exit %v, output %q; want exit code 2 and the unknown flag named", err, out)
	}
}

// startServe runs `patchday serve` as a real process on data and returns
// its base URL.
func startServe(t *testing.T, data string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, base, _ := startServeOut(t, data, extra...)
	return cmd, base
}

// startServeOut is startServe that also returns the lines printed before
// the serving line (such as the SMTP listener's address).
func startServeOut(t *testing.T, data string, extra ...string) (*exec.Cmd, string, string) {
	t.Helper()
	cmd := command(t, append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--log-level", "warn"}, extra...)...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`serving (http://\S+)`)
	var before strings.Builder
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return cmd, m[1], before.String()
		}
		before.WriteString(sc.Text() + "\n")
	}
	t.Fatal("the server printed no address")
	return nil, "", ""
}

// TestCrashAfterConfirmation: the server is killed (SIGKILL, no chance to
// flush anything) the moment it has confirmed a report; after a restart
// the report is there, behind the link the researcher was given.
func TestCrashAfterConfirmation(t *testing.T) {
	data := t.TempDir()
	cmd, base := startServe(t, data)
	body := `{"title":"Crash-safe intake","product":"Gateway","version":"1.0.0","description":"d","steps":"s",` +
		`"email":"ada@example.org","attachments":[{"name":"poc.txt","data":"cG9j"}]}`
	resp, err := http.Post(base+"/api/v1/reports", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cmd.Process.Kill() // at once, right after the confirmation
	cmd.Wait()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("report answered %d: %s", resp.StatusCode, b)
	}
	link := regexp.MustCompile(`/r/pdr_[A-Za-z0-9_-]+`).FindString(string(b))

	_, base = startServe(t, data)
	resp, err = http.Get(base + link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Crash-safe intake") || !strings.Contains(string(page), "poc.txt") {
		t.Errorf("after the crash the case answered %d:\n%s", resp.StatusCode, page)
	}
}

// TestCrashAfter250: the server is killed the instant it answered 250 to
// an e-mail; after a restart the report is there.
func TestCrashAfter250(t *testing.T) {
	data := t.TempDir()
	cmd, _, out := startServeOut(t, data, "--smtp", "127.0.0.1:0", "--security-address", "security@example.com")
	addr := regexp.MustCompile(`smtp://(\S+)`).FindStringSubmatch(out)
	if addr == nil {
		t.Fatalf("no SMTP address printed:\n%s", out)
	}
	msg := "From: ada@example.org\r\nTo: security@example.com\r\nSubject: Crash-safe mail\r\n\r\nThe updater is unsigned.\r\n"
	if err := smtp.SendMail(addr[1], nil, "ada@example.org", []string{"security@example.com"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err) // SendMail returns only after the 250
	}
	cmd.Process.Kill()
	cmd.Wait()

	_, base := startServe(t, data)
	tok, err := command(t, "token", "create", "--email", "admin@localhost", "--name", "t", "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Crash-safe mail") {
		t.Errorf("after the crash the cases are:\n%s", b)
	}
}
