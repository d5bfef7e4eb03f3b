package serveproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// fake prints what `patchday serve` prints on a first start, then serves
// until cancelled, and returns errStopped.
var errStopped = errors.New("stopped")

func fake(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if args[0] != "serve" {
		return fmt.Errorf("unknown command %q", args[0])
	}
	fmt.Fprintln(stderr, "a log line")
	fmt.Fprintln(stdout, "first start: an administrator was created")
	fmt.Fprintln(stdout, "  e-mail:             admin@example.com")
	fmt.Fprintln(stdout, "  one-time password:  s3cret-Pass")
	fmt.Fprintln(stdout, "takes e-mail for security@example.com on smtp://127.0.0.1:2525")
	fmt.Fprintln(stdout, "patchday 1.0 serving http://127.0.0.1:8080")
	<-ctx.Done()
	return errStopped
}

func TestStart(t *testing.T) {
	var log strings.Builder
	s, err := Start(t.Context(), fake, []string{"serve"}, &log, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://127.0.0.1:8080" || s.SMTP != "127.0.0.1:2525" || s.AdminEmail != "admin@example.com" || s.AdminPassword != "s3cret-Pass" {
		t.Fatalf("read %+v", s)
	}
	if !strings.Contains(s.Stdout(), "serving http://") || log.String() != "a log line\n" {
		t.Fatalf("stdout %q, log %q", s.Stdout(), log.String())
	}
	if err := s.Stop(); !errors.Is(err, errStopped) {
		t.Fatalf("Stop: %v, want what the server returned", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	var none *Server
	if err := none.Stop(); err != nil {
		t.Fatalf("nil Stop: %v", err)
	}
}

func TestStartRestart(t *testing.T) {
	// A later start of the same data prints no administrator.
	s, err := Start(t.Context(), func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "serving http://127.0.0.1:9")
		<-ctx.Done()
		return nil
	}, []string{"serve"}, io.Discard, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.URL != "http://127.0.0.1:9" || s.SMTP != "" || s.AdminEmail != "" || s.AdminPassword != "" {
		t.Fatalf("read %+v", s)
	}
}

func TestStartFails(t *testing.T) {
	_, err := Start(t.Context(), fake, []string{"sreve"}, io.Discard, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exited before serving") || !strings.Contains(err.Error(), `unknown command "sreve"`) {
		t.Fatalf("a server that exits: %v", err)
	}
	silent := func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "still migrating")
		<-ctx.Done()
		return nil
	}
	_, err = Start(t.Context(), silent, []string{"serve"}, io.Discard, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not start within 100ms") || !strings.Contains(err.Error(), "still migrating") {
		t.Fatalf("a server that never serves: %v", err)
	}
}
