package demo_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/cli"
	"github.com/patchday/patchday/internal/demo"
	"github.com/patchday/patchday/internal/serveproc"
)

const corpus = "../../../shared/testdata/releases"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return cli.Run(ctx, args, func(string) string { return "" }, stdin, stdout, stderr)
}

// TestDemo runs the whole demo, as `patchday demo --exit` does, on a
// free port and a new data directory.
func TestDemo(t *testing.T) {
	if _, err := os.Stat(filepath.Join(corpus, "libssl3")); err != nil {
		t.Skipf("the corpus of real releases is not at %s (%v); the demo needs it", corpus, err)
	}
	data := t.TempDir()
	var out serveproc.Lines // the demo's output, read while it is written
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := demo.Run(ctx, demo.Options{Data: data, HTTP: "127.0.0.1:0", Corpus: corpus, Out: &out, Exit: true, Run: run})
	t.Logf("demo output (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(data, "demo.log"))
		t.Fatalf("demo: %v\nlog:\n%s", err, tail(string(log), 60))
	}
	text := out.String()
	for _, want := range []string{
		"server up: http://127.0.0.1:",
		"one-time password",
		"patchday user add qa@example.com",
		"patchday product add libssl3",
		"POST /report (the web form",
		"SMTP to 127.0.0.1:",
		"We received your report",
		"triaged " + res.Case + " on its staff page: 9.8 Critical, CWE-787",
		"ran `patchday fix upload`",
		"ran `patchday fix test-run",
		"the developer's own try was refused: \"only a tester who wrote none of the fixes may\"",
		`answered "fixed" → scheduled`,
		"planned an out-of-band release",
		"the server's job published the release of " + res.Case,
		res.Advisory + " public",
		"the catalog signed libssl3",
		"delta from 3.0.20-1~deb12u2",
		"all 3 computers have libssl3 3.0.22-1~deb12u2 installed, 1 restart each",
		"The whole loop ran",
		"/staff/cases", "/staff/releases", "/advisories", "/fleet/",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if res.AdminPassword == "" || res.URL == "" || res.Update == 0 {
		t.Errorf("result: %+v", res)
	}
	if len(res.Agents) != 3 {
		t.Fatalf("%d agents reported; want 3", len(res.Agents))
	}
	for _, a := range res.Agents {
		if a.Restarts != 1 {
			t.Errorf("%s restarted %d times; want exactly 1", a.Name, a.Restarts)
		}
		if a.Route != "delta" || a.Fetched <= 0 || a.Fetched >= a.Full {
			t.Errorf("%s downloaded %d bytes by %q of a %d-byte payload; want a delta, smaller", a.Name, a.Fetched, a.Route, a.Full)
		}
		// The compliance view agrees with what the agent did.
		c, ok := res.Compliance[a.Name]
		if !ok || c.State != "installed" || c.Restarts != a.Restarts {
			t.Errorf("compliance says %s: %+v; the agent installed it with %d restart(s)", a.Name, c, a.Restarts)
		}
	}
	if len(res.Compliance) != 3 {
		t.Errorf("compliance lists %d computers; want 3", len(res.Compliance))
	}
}

// TestDemoWithoutCorpus fails at once, saying where it looked and how to
// point at the corpus.
func TestDemoWithoutCorpus(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	start := time.Now()
	_, err := demo.Run(context.Background(), demo.Options{Data: t.TempDir(), HTTP: "127.0.0.1:0", Corpus: missing, Out: io.Discard, Exit: true, Run: run})
	if err == nil {
		t.Fatal("the demo ran without a corpus")
	}
	for _, want := range []string{missing, "--corpus"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing took %s; it should fail at once", d)
	}
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
