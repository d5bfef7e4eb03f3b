package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	pdmail "github.com/patchday/patchday/internal/mail"
)

// relay is a real SMTP server on loopback that keeps what it is sent, as a
// mail relay would accept it.
type relay struct {
	mu     sync.Mutex
	got    []relayed
	user   string // with pass: AUTH PLAIN required
	pass   string
	authed bool
}

type relayed struct {
	from string
	to   []string
	data string
	tls  bool
}

func (r *relay) NewSession(c *smtp.Conn) (smtp.Session, error) { return &relaySession{r: r, c: c}, nil }

type relaySession struct {
	r      *relay
	c      *smtp.Conn
	m      relayed
	authed bool
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "authenticate first"}
	}
	s.m.from = from
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.to = append(s.m.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.data = string(b)
	_, s.m.tls = s.c.TLSConnectionState()
	s.r.mu.Lock()
	s.r.got = append(s.r.got, s.m)
	s.r.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

func startRelay(t *testing.T, r *relay, cfg *tls.Config) string {
	t.Helper()
	srv := smtp.NewServer(r)
	srv.Domain = "mx.example.com"
	srv.TLSConfig = cfg
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestRelaySend(t *testing.T) {
	r := &relay{}
	addr := startRelay(t, r, nil)
	out := &pdmail.Relay{Addr: addr, From: "security@example.com"}
	err := out.Send(context.Background(), "ada@example.org", "security+PD-2026-0001@example.com",
		"[PD-2026-0001] Grüße from the security team", "Thank you.\nCase PD-2026-0001.\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 {
		t.Fatalf("the relay got %d messages", len(r.got))
	}
	m := r.got[0]
	if m.from != "security@example.com" || len(m.to) != 1 || m.to[0] != "ada@example.org" {
		t.Errorf("envelope %q → %q", m.from, m.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[PD-2026-0001] Grüße from the security team" || msg.Header.Get("Reply-To") != "<security+PD-2026-0001@example.com>" ||
		msg.Header.Get("Date") == "" || !strings.Contains(msg.Header.Get("From"), "security@example.com") {
		t.Errorf("headers: subject %q, %v", subject, msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "Case PD-2026-0001.") {
		t.Errorf("body %q", body)
	}
}

func TestRelayAuthOnlyOverTLS(t *testing.T) {
	cfg, pool := certificate(t)
	r := &relay{user: "patchday", pass: "s3cret"}
	addr := startRelay(t, r, cfg)
	out := &pdmail.Relay{Addr: addr, From: "security@example.com", Username: "patchday", Password: "s3cret",
		TLS: &tls.Config{RootCAs: pool, ServerName: "mx.example.com"}}
	if err := out.Send(context.Background(), "ada@example.org", "", "hello", "hi"); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 || !r.got[0].tls {
		t.Errorf("want one message sent over TLS, got %+v", r.got)
	}

	plain := &relay{user: "patchday", pass: "s3cret"}
	out.Addr = startRelay(t, plain, nil)
	err := out.Send(context.Background(), "ada@example.org", "", "hello", "hi")
	if err == nil || !strings.Contains(err.Error(), "refusing to send the password") || len(plain.got) != 0 {
		t.Errorf("a relay without TLS: %v, %d sent; want a refusal before any password is sent", err, len(plain.got))
	}

	out.Addr, out.Password = addr, "wrong"
	if err := out.Send(context.Background(), "ada@example.org", "", "hello", "hi"); err == nil {
		t.Errorf("wrong password: sent anyway")
	}
	out.Addr = "127.0.0.1:1"
	if err := out.Send(context.Background(), "ada@example.org", "", "hello", "hi"); err == nil || !strings.Contains(err.Error(), "reach the mail relay") {
		t.Errorf("unreachable relay: %v", err)
	}
}

func TestPlusAddress(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"security@example.com", "PD-2026-0001"}: "security+PD-2026-0001@example.com",
		{"security@example.com", ""}:             "security@example.com",
		{"nonsense", "PD-2026-0001"}:             "nonsense",
	} {
		if got := pdmail.PlusAddress(in[0], in[1]); got != want {
			t.Errorf("PlusAddress(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
