package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"
)

// server is the running `patchday serve`.
type server struct {
	URL           string // http://127.0.0.1:PORT
	SMTP          string // the intake listener's address
	AdminEmail    string
	AdminPassword string
	out           *lines
	cancel        context.CancelFunc
	done          chan error
}

var (
	servingRE = regexp.MustCompile(`serving (http://\S+)`)
	smtpRE    = regexp.MustCompile(`takes e-mail for \S+ on smtp://(\S+)`)
	emailRE   = regexp.MustCompile(`e-mail:\s+(\S+)`)
	passRE    = regexp.MustCompile(`one-time password:\s+(\S+)`)
)

// startServer runs `patchday serve` with args, as the binary would, and
// waits until it serves.
func startServer(ctx context.Context, run RunFunc, args []string, log io.Writer) (*server, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &server{out: &lines{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, strings.NewReader(""), s.out, log) }()
	deadline := time.After(time.Minute)
	for {
		if m := servingRE.FindStringSubmatch(s.out.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case err := <-s.done:
			cancel()
			return nil, fmt.Errorf("patchday serve exited before serving: %v\n%s", err, s.out)
		case <-deadline:
			cancel()
			return nil, fmt.Errorf("patchday serve did not start within a minute\n%s", s.out)
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

// stop shuts the server down as SIGTERM does and returns what it returned.
func (s *server) stop() error {
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

// lines is a buffer safe for concurrent use.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// freeAddr returns addr if it can be listened on, else a free port on
// the same host; port 0 is resolved to a free port.
func freeAddr(addr string) (got string, busy bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port != "0" {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err == nil {
			ln.Close()
			return net.JoinHostPort(host, port), false, nil
		}
		busy = true
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", busy, err
	}
	defer ln.Close()
	return ln.Addr().String(), busy, nil
}

// mailbox is the researchers' mail server: the relay the patchday server
// sends its outbound mail through. It keeps every message it is given.
type mailbox struct {
	Addr string
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []mailMsg
}

// mailMsg is one delivered message.
type mailMsg struct {
	From    string
	To      []string
	Subject string
	Text    string
}

func startMailbox() (*mailbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &mailbox{Addr: ln.Addr().String()}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }))
	m.srv.Domain = "mail.example.org"
	m.srv.ReadTimeout, m.srv.WriteTimeout = time.Minute, time.Minute
	m.srv.MaxMessageBytes = 16 << 20
	go m.srv.Serve(ln)
	return m, nil
}

func (m *mailbox) close() {
	if m != nil {
		m.srv.Close()
	}
}

// to returns the messages delivered to addr.
func (m *mailbox) to(addr string) []mailMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mailMsg
	for _, msg := range m.msgs {
		for _, t := range msg.To {
			if strings.EqualFold(t, addr) {
				out = append(out, msg)
			}
		}
	}
	return out
}

type mailSession struct {
	box  *mailbox
	from string
	to   []string
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	env, err := enmime.ReadEnvelope(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.msgs = append(s.box.msgs, mailMsg{From: s.from, To: append([]string(nil), s.to...), Subject: env.GetHeader("Subject"), Text: env.Text})
	return nil
}
