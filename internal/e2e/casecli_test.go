package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/e2e"
)

// TestCaseCLI drives case handling from the operator CLI over the JSON
// API of a running server, as the token's account.
func TestCaseCLI(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, e2e.Options{})
	resp, err := http.Post(s.URL+"/api/v1/reports", "application/json", strings.NewReader(
		`{"title":"XXE in the importer","product":"Portal","version":"2.0","description":"d","steps":"s","email":"ada@example.org"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("report: %v %v", resp.StatusCode, err)
	}
	var rc struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&rc)
	resp.Body.Close()
	id := rc.ID // PD-<this year>-0001
	if _, err := s.CLI(t, "", "user", "add", "--email", "tri@example.com", "--role", "triager"); err != nil {
		t.Fatal(err)
	}
	token, err := s.CLI(t, "", "token", "create", "--email", "tri@example.com", "--name", "cli")
	if err != nil {
		t.Fatal(err)
	}
	api := []string{"--server", s.URL, "--token", strings.TrimSpace(token)}
	run := func(args ...string) (string, error) {
		out, err := e2e.Run(t, "", append(args, api...)...)
		return out, err
	}

	if out, err := run("case", "list"); err != nil || !strings.Contains(out, "PD-") || !strings.Contains(out, "received") {
		t.Fatalf("case list: %v\n%s", err, out)
	}
	if out, err := run("case", "move", id, "--to", "accepted"); err == nil || !strings.Contains(err.Error(), "you may move it to: triage") {
		t.Errorf("an illegal move: %v %s", err, out)
	}
	out, err := run("case", "move", id, "--to", "triage")
	if err != nil || !strings.Contains(out, id+" is now triage (next: needs-info, invalid, duplicate, accepted-risk)") {
		t.Errorf("case move: %v\n%s", err, out)
	}
	if out, err := run("case", "move", id, "--to", "invalid"); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("invalid without a reason: %v %s", err, out)
	}
	if out, err := run("case", "show", strings.ToLower(id)); err != nil || !strings.Contains(out, "state:   triage") {
		t.Errorf("case show: %v\n%s", err, out)
	}
	if _, err := e2e.Run(t, "", "case", "list", "--server", s.URL); err == nil || !strings.Contains(err.Error(), "PATCHDAY_TOKEN") {
		t.Errorf("without a token: %v", err)
	}
}
