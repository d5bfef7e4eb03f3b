package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"
)

// Relay sends patchday's outbound mail (acknowledgements, the team's
// messages to researchers) through an SMTP relay.
type Relay struct {
	Addr     string // host:port of the relay
	From     string // the security address mail comes from
	Username string // with Password: AUTH PLAIN, only over TLS
	Password string
	// TLS configures STARTTLS, used whenever the relay offers it; nil
	// means the defaults with the relay's host name.
	TLS *tls.Config
}

// sendTimeout bounds one delivery to the relay.
const sendTimeout = time.Minute

// Send delivers one plain-text message. replyTo, when set, is where the
// recipient's reply goes.
func (r *Relay) Send(ctx context.Context, to, replyTo, subject, text string) error {
	b := enmime.Builder().From("", r.From).To("", to).Subject(subject).Date(time.Now()).Text([]byte(text))
	if replyTo != "" {
		b = b.ReplyTo("", replyTo)
	}
	part, err := b.Build()
	if err != nil {
		return fmt.Errorf("build mail to %s: %w", to, err)
	}
	var msg bytes.Buffer
	if err := part.Encode(&msg); err != nil {
		return fmt.Errorf("encode mail to %s: %w", to, err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	c, err := r.connect(ctx)
	if err != nil {
		return fmt.Errorf("send mail to %s through %s: %w", to, r.Addr, err)
	}
	defer c.Close()
	if err := r.deliver(c, to, msg.Bytes()); err != nil {
		return fmt.Errorf("send mail to %s through %s: %w", to, r.Addr, err)
	}
	return c.Quit()
}

func (r *Relay) dial(ctx context.Context) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return nil, fmt.Errorf("reach the mail relay: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	return conn, nil
}

// connect opens a session with the relay, upgraded with STARTTLS whenever
// the relay offers it, and required when a password is to be sent.
func (r *Relay) connect(ctx context.Context) (*smtp.Client, error) {
	conn, err := r.dial(ctx)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	tlsOffered, _ := c.Extension("STARTTLS")
	if !tlsOffered {
		if r.Username != "" {
			c.Close()
			return nil, fmt.Errorf("the relay offers no STARTTLS; refusing to send the password in the clear")
		}
		return c, nil
	}
	// go-smtp upgrades only a fresh session, so start again with TLS.
	c.Close()
	if conn, err = r.dial(ctx); err != nil {
		return nil, err
	}
	cfg := r.TLS
	if cfg == nil {
		host, _, _ := net.SplitHostPort(r.Addr)
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return smtp.NewClientStartTLS(conn, cfg)
}

func (r *Relay) deliver(c *smtp.Client, to string, msg []byte) error {
	if r.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", r.Username, r.Password)); err != nil {
			return err
		}
	}
	if err := c.Mail(r.From, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// PlusAddress returns the security address tagged with a case id, so a
// reply reaches that case: security+PD-2026-0001@example.com.
func PlusAddress(addr, ref string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || ref == "" {
		return addr
	}
	return local + "+" + ref + "@" + domain
}
