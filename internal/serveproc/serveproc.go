// Package serveproc runs `patchday serve` inside the calling process, as
// the demo and the end-to-end tests do, and learns from what the server
// prints where it serves and who its first administrator is.
package serveproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Server is a running `patchday serve`.
type Server struct {
	URL           string // http://127.0.0.1:PORT
	SMTP          string // the e-mail intake's address, if it listens
	AdminEmail    string // set on the first start of a data directory
	AdminPassword string // the one-time password printed at first start
	out           *Lines
	cancel        context.CancelFunc
	done          chan error
}

var (
	servingRE = regexp.MustCompile(`serving (http://\S+)`)
	smtpRE    = regexp.MustCompile(`takes e-mail for \S+ on smtp://(\S+)`)
	emailRE   = regexp.MustCompile(`e-mail:\s+(\S+)`)
	passRE    = regexp.MustCompile(`one-time password:\s+(\S+)`)
)

// Start runs run(ctx, args, …) — the program's own entry point with args
// beginning "serve" — with an empty stdin, its standard error to log, and
// waits up to wait until it says where it serves. A server that exits or
// does not serve in time is an error carrying what it printed.
func Start(ctx context.Context, run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error,
	args []string, log io.Writer, wait time.Duration) (*Server, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{out: &Lines{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, strings.NewReader(""), s.out, log) }()
	deadline := time.After(wait)
	for {
		if m := servingRE.FindStringSubmatch(s.out.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case err := <-s.done:
			cancel()
			return nil, fmt.Errorf("patchday serve exited before serving: %v\nstdout:\n%s", err, s.out)
		case <-deadline:
			cancel()
			<-s.done
			return nil, fmt.Errorf("patchday serve did not start within %s\nstdout:\n%s", wait, s.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	out := s.out.String()
	if m := smtpRE.FindStringSubmatch(out); m != nil {
		s.SMTP = m[1]
	}
	if m := passRE.FindStringSubmatch(out); m != nil {
		s.AdminPassword = m[1]
		if m := emailRE.FindStringSubmatch(out); m != nil {
			s.AdminEmail = m[1]
		}
	}
	return s, nil
}

// Stop shuts the server down as SIGTERM does and returns what it returned.
// Stopping twice, or a nil server, is harmless.
func (s *Server) Stop() error {
	if s == nil || s.cancel == nil {
		return nil
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		return errors.New("the server did not stop within a minute")
	}
}

// Stdout returns everything the server printed on standard output.
func (s *Server) Stdout() string { return s.out.String() }

// Lines is a buffer safe for concurrent use, for the output of something
// running in this process (a server, an agent) that is read while it runs.
type Lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *Lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
