package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String() + errb.String(), err
}

// TestHelp: every command explains itself, and every flag names its
// environment override.
func TestHelp(t *testing.T) {
	cmds := [][]string{{}, {"serve"}, {"version"}, {"user"}, {"user", "add"}, {"user", "list"}, {"user", "disable"}, {"token"}, {"token", "create"}, {"product"}, {"product", "add"}, {"product", "list"}, {"product", "version"}, {"product", "version", "add"}, {"product", "sla"}, {"case"}, {"case", "list"}, {"case", "show"}, {"case", "move"}, {"fix"}, {"fix", "upload"}, {"fix", "test-run"}}
	for _, c := range cmds {
		t.Run(strings.Join(append([]string{"patchday"}, c...), " "), func(t *testing.T) {
			out, err := run(t, nil, append(c, "--help")...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "Usage:") {
				t.Errorf("no usage:\n%s", out)
			}
			for _, line := range strings.Split(out, "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "--") && !strings.HasPrefix(line, "--help") && !strings.Contains(line, "PATCHDAY_") {
					t.Errorf("flag without its environment variable: %s", line)
				}
			}
		})
	}
}

func TestEnvOverride(t *testing.T) {
	// PATCHDAY_DB reaches serve's --db: a bad value is refused with the
	// same message as the flag.
	_, err := run(t, map[string]string{"PATCHDAY_DB": "mysql://x", "PATCHDAY_DATA": t.TempDir()}, "serve")
	if err == nil || !strings.Contains(err.Error(), "not a PostgreSQL URL") {
		t.Errorf("PATCHDAY_DB=mysql://x: %v, want the --db refusal", err)
	}
	// A flag beats the environment.
	_, err = run(t, map[string]string{"PATCHDAY_LOG_LEVEL": "loud"}, "version", "--log-level", "info")
	if err != nil {
		t.Errorf("flag did not override a bad environment value: %v", err)
	}
	_, err = run(t, map[string]string{"PATCHDAY_LOG_LEVEL": "loud"}, "version")
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("PATCHDAY_LOG_LEVEL=loud: %v, want a refusal", err)
	}
	_, err = run(t, map[string]string{"PATCHDAY_SESSION_TTL": "banana"}, "serve", "--data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "PATCHDAY_SESSION_TTL") || ExitCode(err) != 2 {
		t.Errorf("PATCHDAY_SESSION_TTL=banana: %v (exit %d), want a usage error naming the variable", err, ExitCode(err))
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "patchday ") {
		t.Errorf("version: %q, %v", out, err)
	}
}
