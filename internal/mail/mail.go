// Package mail is the SMTP intake listener: it accepts e-mail for the
// security addresses, decodes it, stores the message and its files, and
// files it with intake. It answers 250 only once the report is committed,
// so a message is either filed or still the sender's to retry.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/intake"
)

// Receiver files a decoded e-mail (implemented by *intake.Service).
type Receiver interface {
	ReceiveEmail(ctx context.Context, e intake.Email) (ref string, threaded bool, link string, err error)
}

// Blobs stores content (implemented by *blob.Store).
type Blobs interface {
	Put(ctx context.Context, r io.Reader, limit int64) (blob.Ref, error)
}

var (
	_ Receiver = (*intake.Service)(nil)
	_ Blobs    = (*blob.Store)(nil)
)

// Config is how the listener is set up.
type Config struct {
	Addr   string // listen address for ListenAndServe, e.g. 127.0.0.1:2525
	Domain string // our host name, for the greeting
	// Addresses are the recipients accepted, e.g. security@example.com,
	// compared without regard to case; a plus tag is accepted too:
	// security+PD-2026-0001@example.com reaches security@example.com.
	Addresses []string
	MaxBytes  int64       // the largest message accepted
	TLS       *tls.Config // when set, STARTTLS is offered
	// PGP, when set, decrypts mail encrypted to the vendor's OpenPGP key,
	// PGP/MIME or inline; the raw message is kept encrypted.
	PGP Decrypter
}

// Timeouts and limits. RFC 5321 (4.5.3.2) has servers wait at least five
// minutes for a command and clients wait ten for the reply to a message.
const (
	idleTimeout   = 5 * time.Minute  // between commands, and between reads of a message
	writeTimeout  = time.Minute      // for a reply to be taken
	dataTimeout   = 30 * time.Minute // for a whole message to arrive
	fileTimeout   = 5 * time.Minute  // to store and file a message that arrived
	shutdownGrace = time.Minute      // for messages in flight when the server stops
	maxRecipients = 10
)

// Server is the SMTP intake listener.
type Server struct {
	cfg   Config
	addrs []address
	rcv   Receiver
	blobs Blobs
	log   *slog.Logger

	served   atomic.Bool
	work     context.Context // for filing messages; outlives the serve context by shutdownGrace
	draining atomic.Bool

	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopped  bool           // no more messages may start
	inflight sync.WaitGroup // messages being read or filed

	// slots bound how many messages are held in memory at once: each
	// costs a few times MaxBytes while it is parsed.
	slots chan struct{}
}

// maxInMemory is how many messages may be read and parsed at once; more
// senders wait their turn (SMTP clients wait minutes for a reply).
const maxInMemory = 4

// address is an accepted recipient, in lower case.
type address struct{ local, domain string }

// New checks cfg and returns a server; log may be nil.
func New(cfg Config, rcv Receiver, blobs Blobs, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var problems []string
	if cfg.Domain == "" {
		problems = append(problems, "a domain to greet with is required")
	}
	if cfg.MaxBytes <= 0 {
		problems = append(problems, "the largest message size must be positive")
	}
	if len(cfg.Addresses) == 0 {
		problems = append(problems, "at least one address to accept mail for is required")
	}
	s := &Server{cfg: cfg, rcv: rcv, blobs: blobs, log: log, conns: map[*conn]struct{}{}, slots: make(chan struct{}, maxInMemory)}
	for _, a := range cfg.Addresses {
		pa, err := netmail.ParseAddress(a)
		local, domain, ok := split(a)
		if err != nil || pa.Address != strings.TrimSpace(a) || !ok {
			problems = append(problems, fmt.Sprintf("%q is not an e-mail address (e.g. security@example.com)", a))
			continue
		}
		s.addrs = append(s.addrs, address{local, domain})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("smtp intake: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// split returns an address's local part and domain in lower case.
func split(a string) (local, domain string, ok bool) {
	a = strings.ToLower(strings.TrimSpace(a))
	i := strings.LastIndexByte(a, '@')
	if i <= 0 || i == len(a)-1 {
		return "", "", false
	}
	return a[:i], a[i+1:], true
}

// accepts reports whether mail to rcpt is ours.
func (s *Server) accepts(rcpt string) bool {
	local, domain, ok := split(rcpt)
	if !ok {
		return false
	}
	for _, a := range s.addrs {
		if domain == a.domain && (local == a.local || strings.HasPrefix(local, a.local+"+")) {
			return true
		}
	}
	return false
}

// ListenAndServe listens on cfg.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp intake: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then stops gracefully:
// it accepts no more connections, closes idle ones, and lets messages
// already arriving be filed and answered, for up to a minute. A server
// serves once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("smtp intake: the server was already started")
	}
	srv := smtp.NewServer(backend{s})
	srv.Domain = s.cfg.Domain
	// go-smtp refuses a message of exactly MaxMessageBytes (its reader
	// fails once the budget reaches zero, before it sees the end), so it
	// gets one byte more; the limit itself is enforced in Data.
	srv.MaxMessageBytes = s.cfg.MaxBytes + 1
	srv.MaxRecipients = maxRecipients
	srv.ReadTimeout = idleTimeout
	srv.WriteTimeout = writeTimeout
	srv.TLSConfig = s.cfg.TLS
	srv.ErrorLog = errorLog{s.log}

	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	s.work = work

	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener{ln, s}) }()
	select {
	case err := <-served:
		stopWork()
		srv.Close()
		s.stop()
		return fmt.Errorf("smtp intake: %w", err)
	case <-ctx.Done():
	}

	s.drain()
	grace, cancel := context.WithTimeout(work, shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		// Their senders get no 250, so they send again later.
		s.log.Warn("smtp intake: messages still arriving at shutdown were cut off", "err", err)
		stopWork()
		s.closeAll() // go-smtp's Close does nothing once Shutdown has begun
	}
	<-served
	s.stop()
	return nil
}

// drain makes idle connections time out at once; one receiving a message
// times out when it next waits for a command.
func (s *Server) drain() {
	s.draining.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.wake()
	}
}

// closeAll closes every connection.
func (s *Server) closeAll() {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// begin registers a message in flight, unless the server has stopped.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.inflight.Add(1)
	return true
}

// stop refuses new messages and waits for those in flight.
func (s *Server) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.inflight.Wait()
}

// listener tracks connections, to close idle ones at shutdown.
type listener struct {
	net.Listener
	srv *Server
}

func (l listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, srv: l.srv}
	l.srv.mu.Lock()
	l.srv.conns[c] = struct{}{}
	l.srv.mu.Unlock()
	return c, nil
}

// conn lets shutdown end a connection that waits for a command without
// cutting off one that is receiving a message: go-smtp sets the read
// deadline before each command, and conn moves that deadline to the past
// once the server drains, unless a message is arriving.
type conn struct {
	net.Conn
	srv *Server

	mu     sync.Mutex
	busy   bool // a message is being received or filed
	closed bool
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv.draining.Load() && !c.busy {
		t = time.Unix(1, 0)
	}
	return c.Conn.SetReadDeadline(t)
}

// wake ends an idle connection's wait for a command.
func (c *conn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.busy {
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}

func (c *conn) setBusy(b bool) {
	c.mu.Lock()
	c.busy = b
	c.mu.Unlock()
}

func (c *conn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
	}
	return c.Conn.Close()
}

// tracked finds our conn under a connection, also after STARTTLS.
func tracked(nc net.Conn) *conn {
	for {
		switch v := nc.(type) {
		case *conn:
			return v
		case interface{ NetConn() net.Conn }:
			nc = v.NetConn()
		default:
			return nil
		}
	}
}

type backend struct{ srv *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := c.Conn().RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	return &session{srv: b.srv, conn: c, remote: remote}, nil
}

// session is one SMTP transaction after another on one connection.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	remote string
	from   string   // MAIL FROM
	to     []string // accepted RCPT TO
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.srv.accepts(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: reply(fmt.Sprintf("<%s>: no such mailbox here; this server takes security reports for %s", to, strings.Join(s.srv.cfg.Addresses, ", ")))}
	}
	for _, t := range s.to {
		if strings.EqualFold(t, to) {
			return nil
		}
	}
	s.to = append(s.to, to)
	return nil
}

// Replies to DATA other than 250. go-smtp matches them by type, so they
// are returned as they are, never wrapped.
var (
	errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "the message could not be filed just now; please try again later"}
	errStopping = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "the server is shutting down; please try again later"}
	errLongLine = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "a line of the message is too long (RFC 5322 allows 998 characters)"}
)

func (s *session) Data(r io.Reader) error {
	if !s.srv.begin() {
		return errStopping
	}
	defer s.srv.inflight.Done()
	if c := tracked(s.conn.Conn()); c != nil {
		c.setBusy(true)
		defer c.setBusy(false)
	}
	select {
	case s.srv.slots <- struct{}{}:
		defer func() { <-s.srv.slots }()
	case <-s.srv.work.Done():
		return errStopping
	}
	limit := s.srv.cfg.MaxBytes
	body := &deadlineReader{r: r, conn: s.conn.Conn(), until: time.Now().Add(dataTimeout)}
	// The limit is enforced here too: go-smtp's holds only for DATA, not
	// for BDAT.
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge) || err == nil && int64(len(raw)) > limit:
		s.srv.log.Info("e-mail refused: too large", "from", s.from, "remote", s.remote, "limit", limit)
		return smtp.ErrDataTooLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		s.srv.log.Info("e-mail refused: line too long", "from", s.from, "remote", s.remote)
		return errLongLine
	case err != nil:
		s.srv.log.Info("e-mail not received", "from", s.from, "remote", s.remote, "err", err)
		return errTemporary
	}
	ctx, cancel := context.WithTimeout(s.srv.work, fileTimeout)
	defer cancel()
	return s.srv.file(ctx, s.from, s.to, s.remote, raw)
}

// file stores a received message and its files and files it with intake.
func (s *Server) file(ctx context.Context, mailFrom string, to []string, remote string, raw []byte) error {
	m := parse(raw, s.cfg.PGP)
	e := intake.Email{From: m.From, To: to, Subject: m.Subject, Text: m.Text, Remote: remote}
	if e.From == "" {
		e.From = mailFrom
	}
	ref, err := s.blobs.Put(ctx, bytes.NewReader(raw), s.cfg.MaxBytes)
	if err != nil {
		s.log.Error("e-mail not filed: store message", "from", e.From, "remote", remote, "err", err)
		return errTemporary
	}
	e.Raw = intake.Attachment{Name: "message.eml", ContentType: "message/rfc822", SHA256: ref.SHA256, Size: ref.Size}
	for _, f := range m.Files {
		ref, err := s.blobs.Put(ctx, bytes.NewReader(f.Data), s.cfg.MaxBytes)
		if err != nil {
			s.log.Error("e-mail not filed: store attachment", "from", e.From, "remote", remote, "err", err)
			return errTemporary
		}
		e.Attachments = append(e.Attachments, intake.Attachment{Name: intake.FileName(f.Name),
			ContentType: intake.ContentType(f.ContentType), SHA256: ref.SHA256, Size: ref.Size})
	}
	// The link is for an acknowledgement by mail, which does not exist
	// yet; it is a secret, so it is not logged.
	caseRef, threaded, _, err := s.rcv.ReceiveEmail(ctx, e)
	switch {
	case errors.Is(err, patchday.ErrInvalid):
		s.log.Info("e-mail refused", "from", e.From, "remote", remote, "reason", patchday.Message(err))
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: reply(patchday.Message(err))}
	case err != nil:
		s.log.Error("e-mail not filed", "from", e.From, "remote", remote, "err", err)
		return errTemporary
	}
	if m.DecryptErr != nil {
		// Filed all the same, with a note in the text: nothing sent is lost.
		s.log.Warn("e-mail received but not decrypted", "case", caseRef, "threaded", threaded, "from", e.From, "remote", remote,
			"attachments", len(e.Attachments), "bytes", len(raw), "err", m.DecryptErr)
		return nil
	}
	s.log.Info("e-mail received", "case", caseRef, "threaded", threaded, "from", e.From, "remote", remote,
		"attachments", len(e.Attachments), "bytes", len(raw), "decrypted", m.Encrypted)
	return nil
}

// reply makes text fit for an SMTP reply: one line of printable ASCII.
func reply(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// deadlineReader keeps a connection's read deadline moving while a
// message arrives: go-smtp sets it once, when the DATA command is read,
// so a large message on a slow link would otherwise be cut off.
type deadlineReader struct {
	r     io.Reader
	conn  net.Conn
	until time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	t := time.Now().Add(idleTimeout)
	if t.After(d.until) {
		t = d.until
	}
	if err := d.conn.SetReadDeadline(t); err != nil {
		return 0, err
	}
	return d.r.Read(p)
}

// errorLog passes go-smtp's complaints (mostly broken connections) to slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) {
	l.log.Warn("smtp intake", "err", fmt.Sprintf(format, v...))
}

func (l errorLog) Println(v ...any) {
	l.log.Warn("smtp intake", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
