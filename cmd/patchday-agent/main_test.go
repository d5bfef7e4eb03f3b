package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/agent"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/version"
)

// env is a getenv that knows only the given variables, so the tests do not
// depend on the environment they run in.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// runAgent runs the command with a time limit and returns its output.
func runAgent(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, args, getenv, &out, &errOut)
	if ctx.Err() != nil {
		t.Fatalf("run %q did not return before its time limit", args)
	}
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runAgent(t, env(nil), "version")
	if err != nil {
		t.Fatal(err)
	}
	if want := "patchday-agent " + version.String() + "\n"; out != want {
		t.Errorf("version printed %q, want %q", out, want)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"status", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _, err := runAgent(t, env(nil), args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"usage: patchday-agent", "--enroll-token", "(env PATCHDAY_SERVER)", "--max-wait"} {
				if !strings.Contains(out, want) {
					t.Errorf("help does not mention %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	dirs := []string{"--root", root, "--state", state}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // in the error's text
	}{
		{name: "unknown command", args: []string{"frobnicate"}, want: []string{`unknown command "frobnicate"`, "usage:"}},
		{name: "unknown flag", args: append([]string{"--frobnicate"}, dirs...), want: []string{"unknown flag", "--frobnicate"}},
		{name: "flag without value", args: append(slices.Clone(dirs), "--server"), want: []string{"server"}},
		{name: "bad duration", args: append([]string{"--max-wait", "soon"}, dirs...), want: []string{"max-wait", "soon"}},
		{name: "stray argument", args: append([]string{"--server", "http://127.0.0.1:1"}, append(slices.Clone(dirs), "stray")...),
			want: []string{"unexpected arguments", "stray"}},
		{name: "stray argument to status", args: append([]string{"status", "stray"}, dirs...), want: []string{"unexpected arguments", "stray"}},
		{name: "bad log level", args: append([]string{"--server", "http://127.0.0.1:1", "--log-level", "loud"}, dirs...),
			want: []string{"--log-level", "loud"}},
		{name: "bad log format", args: append([]string{"--server", "http://127.0.0.1:1", "--log-format", "xml"}, dirs...),
			want: []string{"--log-format", "xml"}},
		{name: "bad environment value", args: append([]string{"--server", "http://127.0.0.1:1"}, dirs...),
			env: map[string]string{"PATCHDAY_MAX_WAIT": "soon"}, want: []string{"PATCHDAY_MAX_WAIT", "soon"}},
		{name: "bad environment log level", args: append([]string{"--server", "http://127.0.0.1:1"}, dirs...),
			env: map[string]string{"PATCHDAY_LOG_LEVEL": "loud"}, want: []string{"--log-level", "loud"}},
		{name: "missing server", args: dirs, want: []string{"--server", "PATCHDAY_SERVER"}},
		{name: "missing server with once", args: append([]string{"--once", "--enroll-token", "tok"}, dirs...), want: []string{"--server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runAgent(t, env(tt.env), tt.args...)
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("run %q = %v (%T), want a usage error", tt.args, err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error %q does not mention %q", err, w)
				}
			}
		})
	}
	// None of them touched the state directory.
	if ents, err := os.ReadDir(state); err != nil || len(ents) != 0 {
		t.Errorf("the state directory holds %d entries (%v), want none", len(ents), err)
	}
}

func TestStatus(t *testing.T) {
	t.Run("fresh", func(t *testing.T) {
		root, state := t.TempDir(), t.TempDir()
		out, _, err := runAgent(t, env(nil), "status", "--root", root, "--state", state)
		if err != nil {
			t.Fatal(err)
		}
		var s agent.Status
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("status output does not decode: %v\n%s", err, out)
		}
		if len(s.Inventory) != 0 || len(s.Staged) != 0 || len(s.Outbox) != 0 || s.Batch != "" || s.Identity.Computer != 0 {
			t.Errorf("status of a fresh agent = %+v, want empty", s)
		}
		if _, err := os.Stat(filepath.Join(state, "identity.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("status wrote identity.json (%v)", err)
		}
	})

	t.Run("detect", func(t *testing.T) {
		root, state := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "VERSION"), []byte("1.2.3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rules := filepath.Join(t.TempDir(), "rules.json")
		if err := os.WriteFile(rules, []byte(`{"rules":[{"product":"demo","path":"VERSION","regexp":"^(\\S+)"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, err := runAgent(t, env(nil), "status", "--root", root, "--state", state, "--detect", rules)
		if err != nil {
			t.Fatal(err)
		}
		var s agent.Status
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("status output does not decode: %v\n%s", err, out)
		}
		if want := []agentapi.Item{{Product: "demo", Version: "1.2.3"}}; len(s.Inventory) != 1 || s.Inventory[0] != want[0] {
			t.Errorf("inventory = %+v, want %+v", s.Inventory, want)
		}

		// The same through the environment.
		out, _, err = runAgent(t, env(map[string]string{"PATCHDAY_ROOT": root, "PATCHDAY_STATE": state, "PATCHDAY_DETECT": rules}), "status")
		if err != nil {
			t.Fatal(err)
		}
		s = agent.Status{}
		if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Inventory) != 1 || s.Inventory[0].Version != "1.2.3" {
			t.Errorf("status with the environment = %+v (%v), want demo 1.2.3", s, err)
		}
	})

	t.Run("bad detect file", func(t *testing.T) {
		root, state := t.TempDir(), t.TempDir()
		rules := filepath.Join(t.TempDir(), "broken-rules.json")
		if err := os.WriteFile(rules, []byte(`{"rules": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, err := runAgent(t, env(nil), "status", "--root", root, "--state", state, "--detect", rules)
		if err == nil || !strings.Contains(err.Error(), rules) {
			t.Fatalf("run = %v, want an error naming %s", err, rules)
		}
		if out != "" {
			t.Errorf("printed %q on error", out)
		}
	})

	t.Run("missing detect file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.json")
		_, _, err := runAgent(t, env(nil), "status", "--root", t.TempDir(), "--state", t.TempDir(), "--detect", missing)
		if err == nil || !strings.Contains(err.Error(), "--detect") || !strings.Contains(err.Error(), "nope.json") {
			t.Fatalf("run = %v, want an error naming the --detect file", err)
		}
	})
}

// TestServerFromEnvironment runs the agent once against a server named only
// by PATCHDAY_SERVER, which refuses the enrollment.
func TestServerFromEnvironment(t *testing.T) {
	var mu sync.Mutex
	var enrolls []agentapi.EnrollRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != agentapi.EnrollPath {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		var req agentapi.EnrollRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("enroll request: %v", err)
		}
		mu.Lock()
		enrolls = append(enrolls, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintln(w, `{"error":"unknown enrollment token"}`)
	}))
	defer srv.Close()

	root, state := t.TempDir(), t.TempDir()
	getenv := env(map[string]string{"PATCHDAY_SERVER": srv.URL, "PATCHDAY_NAME": "from-env"})
	_, stderr, err := runAgent(t, getenv, "--once", "--enroll-token", "tok", "--labels", "a,b", "--root", root, "--state", state)
	if err == nil || !strings.Contains(err.Error(), "enrollment refused") {
		t.Fatalf("run = %v, want enrollment refused\n%s", err, stderr)
	}
	var u usageError
	if errors.As(err, &u) {
		t.Errorf("a refused enrollment is a usage error: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(enrolls) != 1 {
		t.Fatalf("the server saw %d enrollments, want 1", len(enrolls))
	}
	if e := enrolls[0]; e.Token != "tok" || e.Name != "from-env" || strings.Join(e.Labels, ",") != "a,b" {
		t.Errorf("enroll request = %+v, want token tok, name from-env, labels a,b", e)
	}
}

// A flag beats the environment.
func TestFlagBeatsEnvironment(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			http.Error(w, `{"error":"no"}`, http.StatusForbidden)
		})
	}
	flagSrv := httptest.NewServer(handler("flag"))
	defer flagSrv.Close()
	envSrv := httptest.NewServer(handler("env"))
	defer envSrv.Close()
	_, _, err := runAgent(t, env(map[string]string{"PATCHDAY_SERVER": envSrv.URL}),
		"--once", "--server", flagSrv.URL, "--enroll-token", "tok", "--root", t.TempDir(), "--state", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "enrollment refused") {
		t.Fatalf("run = %v, want enrollment refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["flag"] != 1 || hits["env"] != 0 {
		t.Errorf("requests: %v, want one to the --server and none to PATCHDAY_SERVER", hits)
	}
}
