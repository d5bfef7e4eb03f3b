package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/cli"
	"github.com/patchday/patchday/internal/e2e"
	"github.com/patchday/patchday/internal/store/postgres/pgtest"
)

// engines runs a test once on the embedded SQLite and once on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, db func(t *testing.T) string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, func(*testing.T) string { return "" })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T) string { return pgtest.URL(t) })
	})
}

// client does not follow redirects and sends cookies by hand: the session
// cookie is Secure, which Go's cookie jar will not send over plain HTTP.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func signIn(t *testing.T, base, email, password string) (*http.Cookie, int) {
	t.Helper()
	resp, err := client.PostForm(base+"/staff/signin", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "patchday_session" && c.Value != "" {
			return c, resp.StatusCode
		}
	}
	return nil, resp.StatusCode
}

func get(t *testing.T, u string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDataSurvivesRestart: accounts, passwords, tokens and the audit log
// made before a restart all work after it, and no second admin appears.
func TestDataSurvivesRestart(t *testing.T) {
	engines(t, func(t *testing.T, db func(t *testing.T) string) {
		dbURL := db(t)
		s := e2e.Start(t, e2e.Options{DB: dbURL})
		if s.AdminPassword == "" {
			t.Fatalf("first start printed no admin password:\n%s", s.Stdout())
		}
		if _, err := s.CLI(t, "correct horse battery\n", "user", "add", "--email", "Dev@Example.com", "--role", "developer,tester", "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		token, err := s.CLI(t, "", "token", "create", "--email", "dev@example.com", "--name", "ci")
		if err != nil {
			t.Fatal(err)
		}
		token = strings.TrimSpace(token)
		if err := s.Stop(); err != nil {
			t.Fatalf("graceful stop: %v", err)
		}

		s2 := e2e.Start(t, e2e.Options{Data: s.Data, DB: dbURL})
		if s2.AdminPassword != "" || strings.Contains(s2.Stdout(), "one-time password") {
			t.Errorf("restart created another admin:\n%s", s2.Stdout())
		}
		if c, code := signIn(t, s2.URL, "dev@example.com", "correct horse battery"); c == nil || code != http.StatusSeeOther {
			t.Errorf("sign-in after restart: status %d, cookie %v", code, c)
		}
		code, body := get(t, s2.URL+"/api/v1/me", "Authorization", "Bearer "+token)
		if code != http.StatusOK || !strings.Contains(body, `"dev@example.com"`) {
			t.Errorf("token after restart: %d %s", code, body)
		}
		out, err := s2.CLI(t, "", "user", "list")
		if err != nil || !strings.Contains(out, "dev@example.com") || !strings.Contains(out, "developer,tester") {
			t.Errorf("user list after restart: %v\n%s", err, out)
		}
	})
}

// TestAuditAPI: an admin token reads the audit log; every change of state
// made through the CLI and the web is in it, with who and from where.
func TestAuditAPI(t *testing.T) {
	engines(t, func(t *testing.T, db func(t *testing.T) string) {
		s := e2e.Start(t, e2e.Options{DB: db(t)})
		if _, err := s.CLI(t, "a long enough password\n", "user", "add", "--email", "root@example.com", "--role", "admin", "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		token, err := s.CLI(t, "", "token", "create", "--email", "root@example.com", "--name", "audit-reader")
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := signIn(t, s.URL, "root@example.com", "a long enough password"); c == nil {
			t.Fatal("admin could not sign in")
		}
		if _, err := s.CLI(t, "", "user", "disable", "--email", s.AdminEmail); err != nil {
			t.Fatal(err)
		}

		code, body := get(t, s.URL+"/api/v1/audit", "Authorization", "Bearer "+strings.TrimSpace(token))
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/audit: %d %s", code, body)
		}
		var page struct {
			Entries []struct{ Who, From, Action, Subject string }
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(page.Entries) - 1; i >= 0; i-- {
			e := page.Entries[i]
			got = append(got, e.Action+" "+e.Subject+" by "+strings.SplitN(e.Who, ":", 2)[0]+" from "+e.From)
		}
		want := []string{
			"user.create user:admin@localhost by system from ",
			"user.create user:root@example.com by cli from cli",
			"token.create user:root@example.com by cli from cli",
			"session.create user:root@example.com by root@example.com from 127.0.0.1",
			"user.disable user:admin@localhost by cli from cli",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestDisabledAccountLocksOut: disabling an account ends its sessions and
// tokens at once.
func TestDisabledAccountLocksOut(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	if _, err := s.CLI(t, "correct horse battery\n", "user", "add", "--email", "t@example.com", "--role", "triager", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	token, _ := s.CLI(t, "", "token", "create", "--email", "t@example.com", "--name", "x")
	cookie, _ := signIn(t, s.URL, "t@example.com", "correct horse battery")
	if code, _ := get(t, s.URL+"/staff/", "Cookie", cookie.String()); code != http.StatusOK {
		t.Fatalf("dashboard before disabling: %d", code)
	}
	if _, err := s.CLI(t, "", "user", "disable", "--email", "t@example.com"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, s.URL+"/staff/", "Cookie", cookie.String()); code != http.StatusSeeOther {
		t.Errorf("dashboard after disabling: %d, want a redirect to sign in", code)
	}
	if code, _ := get(t, s.URL+"/api/v1/me", "Authorization", "Bearer "+strings.TrimSpace(token)); code != http.StatusUnauthorized {
		t.Errorf("token after disabling: %d, want 401", code)
	}
	if c, code := signIn(t, s.URL, "t@example.com", "correct horse battery"); c != nil || code != http.StatusUnauthorized {
		t.Errorf("sign-in after disabling: %d, cookie %v", code, c)
	}
}

// TestRepeatedFailedSignIns: after a few wrong passwords the account is
// throttled (even the right password waits), and the failures are logged.
func TestRepeatedFailedSignIns(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	codes := []int{}
	for range 4 {
		_, code := signIn(t, s.URL, s.AdminEmail, "wrong password")
		codes = append(codes, code)
	}
	_, code := signIn(t, s.URL, s.AdminEmail, s.AdminPassword)
	codes = append(codes, code)
	want := []int{401, 401, 401, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses %v, want %v", codes, want)
		}
	}
}

// TestBadStart: each mistake in how the server is started gets a clear
// message and exit code, and creates nothing.
func TestBadStart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"serve", "--bogus"}, "unknown flag: --bogus"},
		{"bad db url", []string{"serve", "--db", "mysql://x/y"}, "is not a PostgreSQL URL"},
		{"data dir is a file", []string{"serve", "--data", file}, "cannot be created"},
		{"bad http", []string{"serve", "--http", "nonsense"}, "--http"},
		{"unreachable db", []string{"serve", "--db", "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}, "cannot reach the database server"},
		{"unknown command", []string{"serf"}, "unknown command"},
		{"bad role", []string{"user", "add", "--email", "a@example.com", "--role", "overlord"}, "unknown role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := tt.args
			if !slices.Contains(args, "--data") {
				args = append(args, "--data", data)
			}
			out, err := e2e.Run(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("patchday %s: error %v, want one containing %q (stdout %q)", strings.Join(tt.args, " "), err, tt.want, out)
			}
			if code := cli.ExitCode(err); code != 2 && tt.name != "unreachable db" && tt.name != "data dir is a file" {
				t.Errorf("exit code %d, want 2 for a mistake in the command line", code)
			}
			if _, err := os.Stat(data); err == nil {
				t.Errorf("a refused start created the data directory")
			}
		})
	}
}

// TestReplicasSharePostgres: two serve processes on one PostgreSQL database
// act as one service: one first admin, and a session made on one replica
// is honoured by the other (as behind a load balancer).
func TestReplicasSharePostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	a := e2e.Start(t, e2e.Options{DB: db})
	b := e2e.Start(t, e2e.Options{DB: db})
	if a.AdminPassword == "" || b.AdminPassword != "" {
		t.Fatalf("first admin: replica a printed %q, replica b %q; want exactly a", a.AdminPassword, b.AdminPassword)
	}
	cookie, code := signIn(t, a.URL, a.AdminEmail, a.AdminPassword)
	if cookie == nil {
		t.Fatalf("sign-in on replica a: %d", code)
	}
	// A one-time password leads to the change-password page on either replica.
	for _, s := range []*e2e.Server{a, b} {
		code, _ := get(t, s.URL+"/staff/password", "Cookie", cookie.String())
		if code != http.StatusOK {
			t.Errorf("session from replica a on %s: %d, want 200", s.URL, code)
		}
		if code, _ := get(t, s.URL+"/readyz"); code != http.StatusOK {
			t.Errorf("%s/readyz: %d", s.URL, code)
		}
	}
}
