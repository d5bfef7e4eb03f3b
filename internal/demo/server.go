package demo

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"
)

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
