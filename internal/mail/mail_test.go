package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/mail"
	"github.com/patchday/patchday/internal/store/sqlite"
)

const maxBytes = 64 << 10

// receiver records what it is given and answers as told.
type receiver struct {
	mu   sync.Mutex
	got  []intake.Email
	err  error
	hold chan struct{} // when set, ReceiveEmail waits for it to close
	held chan struct{} // closed when ReceiveEmail starts to wait
}

func (r *receiver) ReceiveEmail(ctx context.Context, e intake.Email) (string, bool, string, error) {
	if r.hold != nil {
		close(r.held)
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", false, "", r.err
	}
	r.got = append(r.got, e)
	return "PD-2026-0001", false, "pdr_secret", nil
}

func (r *receiver) emails() []intake.Email {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]intake.Email(nil), r.got...)
}

type server struct {
	addr  string
	blobs *blob.Store
	stop  func() error // ends the serve context and waits for Serve
}

func start(t *testing.T, rcv mail.Receiver, tlsConfig *tls.Config) *server {
	t.Helper()
	return startConfig(t, rcv, mail.Config{TLS: tlsConfig}, t.Output())
}

// startConfig starts a server with cfg's TLS and PGP, logging to logTo.
func startConfig(t *testing.T, rcv mail.Receiver, cfg mail.Config, logTo io.Writer) *server {
	t.Helper()
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	cfg.Domain, cfg.Addresses, cfg.MaxBytes = "mx.example.com", []string{"security@example.com", "PSIRT@example.net"}, maxBytes
	srv, err := mail.New(cfg, rcv, blobs, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &server{addr: ln.Addr().String(), blobs: blobs, stop: stop}
}

// send has one SMTP conversation with net/smtp and returns the first
// refusal. msg's line ends may be "\n": net/smtp sends them as CRLF.
func send(t *testing.T, addr, from string, to []string, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	return transact(c, from, to, msg)
}

func transact(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	c.Quit()
	return nil
}

// code returns the SMTP reply code of err, 0 if it is not a reply.
func code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// text returns the text of an SMTP reply.
func text(err error) string {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Msg
	}
	return fmt.Sprint(err)
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func (s *server) blob(t *testing.T, a intake.Attachment) []byte {
	t.Helper()
	f, err := s.blobs.Open(a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != a.Size {
		t.Errorf("%s: %d bytes stored, attachment says %d", a.Name, len(b), a.Size)
	}
	return b
}

const plain = `From: Ada Lovelace <ada@example.org>
To: security@example.com
Subject: Heap overflow in the parser
Date: Tue, 24 Nov 2026 10:00:00 +0000
Message-ID: <1@example.org>

A long header overflows a fixed buffer.
.and a line that starts with a dot.
`

func TestPlainText(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	c, err := smtp.Dial(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a certificate")
	}
	if ok, size := c.Extension("SIZE"); !ok || size == "" {
		t.Errorf("SIZE %q not offered", size)
	}
	if err := transact(c, "bounce-123@mta.example.org", []string{"Security@Example.COM"}, plain); err != nil {
		t.Fatal(err)
	}
	got := rcv.emails()
	if len(got) != 1 {
		t.Fatalf("%d e-mails received, want 1", len(got))
	}
	e := got[0]
	want := intake.Email{
		From: "ada@example.org", To: []string{"Security@Example.COM"}, Subject: "Heap overflow in the parser",
		Text: "A long header overflows a fixed buffer.\n.and a line that starts with a dot.\n", Remote: "127.0.0.1",
		Raw: intake.Attachment{Name: "message.eml", ContentType: "message/rfc822", SHA256: e.Raw.SHA256, Size: e.Raw.Size},
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("e-mail (-want +got):\n%s", diff)
	}
	if raw, want := string(s.blob(t, e.Raw)), crlf(plain); raw != want {
		t.Errorf("raw message stored:\n%q\nwant\n%q", raw, want)
	}
}

func TestEnvelopeSenderWhenNoFromHeader(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, "Subject: hi\n\nbody\n"); err != nil {
		t.Fatal(err)
	}
	if got := rcv.emails(); len(got) != 1 || got[0].From != "ada@example.org" {
		t.Errorf("got %+v, want From ada@example.org (MAIL FROM)", got)
	}
}

// The script is sent as ISO-8859-1 text: its bytes must be stored as
// sent, not converted to UTF-8 as the body is.
var script = []byte("#!/bin/sh\n# caf\xe9\nprintf '\\x41%.0s' $(seq 70000) | nc gw 80\n")

func multipart(b64script string) string {
	return `From: "Ada" <ada@example.org>
To: security@example.com
Subject: PoC attached
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

This is a multi-part message in MIME format.
--BOUNDARY
Content-Type: text/plain; charset=utf-8
Content-Disposition: inline

See the attached script.
--BOUNDARY
Content-Type: text/x-sh; charset=iso-8859-1; name="x.sh"
Content-Disposition: attachment; filename="../../x.sh"
Content-Transfer-Encoding: base64

` + b64script + `
--BOUNDARY
Content-Type: image/png
Content-Disposition: inline; filename="C:\\shots\\crash.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--BOUNDARY
Content-Type: message/rfc822

From: someone@example.net
Subject: forwarded

forwarded text
--BOUNDARY--
`
}

func TestAttachments(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, multipart(b64(script))); err != nil {
		t.Fatal(err)
	}
	got := rcv.emails()
	if len(got) != 1 {
		t.Fatalf("%d e-mails received, want 1", len(got))
	}
	e := got[0]
	if e.Text != "See the attached script." || e.Subject != "PoC attached" {
		t.Errorf("text %q, subject %q", e.Text, e.Subject)
	}
	type file struct{ Name, ContentType, Data string }
	var files []file
	for _, a := range e.Attachments {
		files = append(files, file{a.Name, a.ContentType, string(s.blob(t, a))})
	}
	want := []file{
		{"x.sh", "text/x-sh", string(script)},
		{"crash.png", "image/png", "\x89PNG\r\n\x1a\n"},
		{"attached.eml", "message/rfc822", "From: someone@example.net\r\nSubject: forwarded\r\n\r\nforwarded text"},
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}
}

func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var lines []string
	for len(s) > 76 {
		lines, s = append(lines, s[:76]), s[76:]
	}
	return strings.Join(append(lines, s), "\n")
}

func TestDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, msg, subject, from string
		text                     []string // in the text
		not                      []string // not in the text
	}{{
		name: "ISO-8859-1, quoted-printable",
		msg: "From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.de>\n" +
			"Subject: =?ISO-8859-1?Q?S=E9curit=E9?= =?ISO-8859-1?Q?_du_serveur?=\n" +
			"MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"Gr=FC=DFe aus M=FCnchen. Die Sicherheitsl=FCcke betrifft Version 2.4 und =\nalle fr=FCheren.\n",
		subject: "Sécurité du serveur", from: "juergen@example.de",
		text: []string{"Grüße aus München. Die Sicherheitslücke betrifft Version 2.4 und alle früheren."},
	}, {
		name: "ISO-8859-1, 8bit",
		msg: "From: juergen@example.de\nSubject: =?iso-8859-1?b?R3L832U=?=\nMIME-Version: 1.0\n" +
			"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nGr\xfc\xdfe\n",
		subject: "Grüße", from: "juergen@example.de", text: []string{"Grüße"},
	}, {
		name: "HTML only",
		msg: "From: ada@example.org\nSubject: html\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" +
			"<html><head><title>T</title><style>body { color: red }</style><script>alert('head')</script></head>" +
			"<body><script type=\"text/javascript\">document.write('body script')</script><noscript>enable js</noscript>" +
			"<p>The <b>parser</b> crashes &amp; burns.</p><div>Second <a href=\"https://example.org/poc\">link</a></div></body></html>\n",
		subject: "html", from: "ada@example.org",
		text: []string{"The *parser* crashes & burns.", "Second link", "https://example.org/poc"},
		not:  []string{"alert", "color", "body script", "document.write", "<", "&amp;"},
	}, {
		name: "HTML alternative to no text",
		msg: "From: ada@example.org\nSubject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n" +
			"--b\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"<style>p{}</style><p>Gr=FC=DFe</p>\n--b--\n",
		subject: "alt", from: "ada@example.org", text: []string{"Grüße"}, not: []string{"p{}", "<p>"},
	}, {
		name: "plain text preferred to HTML",
		msg: "From: ada@example.org\nSubject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n" +
			"--b\nContent-Type: text/plain; charset=utf-8\n\nplain version\n" +
			"--b\nContent-Type: text/html; charset=utf-8\n\n<p>html version</p>\n--b--\n",
		subject: "alt", from: "ada@example.org", text: []string{"plain version"}, not: []string{"html version"},
	}, {
		name: "base64",
		msg: "From: ada@example.org\nSubject: =?utf-8?B?8J+UkCBrZXk=?=\nMIME-Version: 1.0\n" +
			"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
			b64([]byte("Überlauf im Parser — 日本語 too.\n")) + "\n",
		subject: "🔐 key", from: "ada@example.org", text: []string{"Überlauf im Parser — 日本語 too."},
	}, {
		name: "unknown charset",
		msg: "From: ada@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=x-martian\n\n" +
			"caf\xe9 ok\n",
		subject: "x", from: "ada@example.org", text: []string{"caf\uFFFD ok"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &receiver{}
			s := start(t, rcv, nil)
			if err := send(t, s.addr, "envelope@example.org", []string{"security@example.com"}, tc.msg); err != nil {
				t.Fatal(err)
			}
			got := rcv.emails()
			if len(got) != 1 {
				t.Fatalf("%d e-mails received, want 1", len(got))
			}
			e := got[0]
			if e.Subject != tc.subject || e.From != tc.from {
				t.Errorf("subject %q from %q, want %q from %q", e.Subject, e.From, tc.subject, tc.from)
			}
			if !utf8.ValidString(e.Text) {
				t.Errorf("text is not UTF-8: %q", e.Text)
			}
			for _, w := range tc.text {
				if !strings.Contains(e.Text, w) {
					t.Errorf("text %q lacks %q", e.Text, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(e.Text, w) {
					t.Errorf("text %q has %q", e.Text, w)
				}
			}
			if len(e.Attachments) != 0 {
				t.Errorf("attachments %+v, want none", e.Attachments)
			}
		})
	}
}

func TestRecipients(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	for _, to := range []string{"nobody@example.com", "security@example.net", "security@evil.example.com",
		"securityx@example.com", "x-security@example.com"} {
		err := send(t, s.addr, "ada@example.org", []string{to}, plain)
		if code(err) != 550 || !strings.Contains(err.Error(), "5.1.1") || !strings.Contains(err.Error(), "security@example.com") {
			t.Errorf("RCPT TO:<%s>: %v, want 550 5.1.1 naming the address to use", to, err)
		}
	}
	if got := rcv.emails(); len(got) != 0 {
		t.Fatalf("%d e-mails received for unknown recipients", len(got))
	}
	to := []string{"security+PD-2026-0001@example.com", "psirt@EXAMPLE.net", "SECURITY@example.com", "security@example.com"}
	if err := send(t, s.addr, "ada@example.org", to, plain); err != nil {
		t.Fatal(err)
	}
	got := rcv.emails()
	if len(got) != 1 {
		t.Fatalf("%d e-mails received, want 1", len(got))
	}
	if want := to[:3]; !cmp.Equal(got[0].To, want) {
		t.Errorf("To %q, want %q (as given, once each)", got[0].To, want)
	}
}

// sized returns a message of exactly size bytes, in lines of 80.
func sized(size int) string {
	head := crlf("From: ada@example.org\nSubject: big\n\n")
	n := size - len(head) - 2
	line := strings.Repeat("x", 78) + "\r\n"
	b := strings.Repeat(line, n/len(line))
	return head + b + strings.Repeat("y", n-len(b)) + "\r\n"
}

func TestSizeLimit(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, sized(maxBytes+1)); code(err) != 552 {
		t.Errorf("a message one byte too large: %v, want 552", err)
	}
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, sized(3*maxBytes)); code(err) != 552 {
		t.Errorf("a message three times too large: %v, want 552", err)
	}
	if got := rcv.emails(); len(got) != 0 {
		t.Fatalf("%d e-mails received that were too large", len(got))
	}
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, sized(maxBytes)); err != nil {
		t.Errorf("a message of exactly the limit: %v", err)
	}
	if got := rcv.emails(); len(got) != 1 || got[0].Raw.Size != maxBytes {
		t.Errorf("got %d e-mails, want one of %d bytes", len(got), maxBytes)
	}
}

// BDAT (CHUNKING), which go-smtp always offers, is held to the limit too.
func TestSizeLimitBDAT(t *testing.T) {
	rcv := &receiver{}
	s := start(t, rcv, nil)
	c, err := textproto.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := func(want int, line string) {
		t.Helper()
		if err := c.PrintfLine("%s", line); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadResponse(want); err != nil {
			t.Fatalf("%.20s: %v", line, err)
		}
	}
	bdat := func(want int, data string) {
		t.Helper()
		cmd(want, fmt.Sprintf("BDAT %d LAST\r\n%s", len(data), strings.TrimSuffix(data, "\r\n")))
	}
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	cmd(250, "EHLO client.example.org")
	for _, size := range []int{maxBytes + 1, maxBytes + 2} {
		cmd(250, "MAIL FROM:<ada@example.org>")
		cmd(250, "RCPT TO:<security@example.com>")
		bdat(552, sized(size))
	}
	if got := rcv.emails(); len(got) != 0 {
		t.Fatalf("%d e-mails received that were too large", len(got))
	}
	cmd(250, "MAIL FROM:<ada@example.org>")
	cmd(250, "RCPT TO:<security@example.com>")
	bdat(250, crlf(plain))
	if got := rcv.emails(); len(got) != 1 || got[0].Subject != "Heap overflow in the parser" {
		t.Errorf("got %+v, want the message sent with BDAT", got)
	}
}

func TestReceiverErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		text string
	}{
		{errors.New("database is locked"), 451, "try again later"},
		{fmt.Errorf("store report: %w", context.DeadlineExceeded), 451, "try again later"},
		{patchday.Errorf(patchday.ErrInvalid, "the sender address %q cannot be written to", "röot@localhost"), 550, `the sender address "r?ot@localhost" cannot be written to`},
	} {
		rcv := &receiver{err: tc.err}
		s := start(t, rcv, nil)
		err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, plain)
		if code(err) != tc.code || !strings.Contains(text(err), tc.text) {
			t.Errorf("receiver failing with %v: %v, want %d %q", tc.err, err, tc.code, tc.text)
		}
		if strings.Contains(err.Error(), "database") || strings.Contains(err.Error(), "deadline") {
			t.Errorf("the reply %q tells internals", err)
		}
	}
}

func TestStartTLS(t *testing.T) {
	cfg, pool := certificate(t)
	rcv := &receiver{}
	s := start(t, rcv, cfg)
	c, err := smtp.Dial(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if err := c.StartTLS(&tls.Config{ServerName: "mx.example.com", RootCAs: pool}); err != nil {
		t.Fatal(err)
	}
	if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete {
		t.Fatal("no TLS after STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again inside TLS")
	}
	if err := transact(c, "ada@example.org", []string{"security@example.com"}, plain); err != nil {
		t.Fatal(err)
	}
	if got := rcv.emails(); len(got) != 1 || got[0].From != "ada@example.org" || got[0].Remote != "127.0.0.1" {
		t.Errorf("got %+v, want the message sent over TLS", got)
	}
}

// certificate makes a self-signed certificate for mx.example.com.
func certificate(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example.com"}, DNSNames: []string{"mx.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// At shutdown a message being filed is still answered 250, and an idle
// connection is closed at once rather than after the idle timeout.
func TestShutdown(t *testing.T) {
	rcv := &receiver{hold: make(chan struct{}), held: make(chan struct{})}
	s := start(t, rcv, nil)
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	idle := textproto.NewConn(nc)
	if _, _, err := idle.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Cmd("EHLO idle.example.org"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := idle.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- send(t, s.addr, "ada@example.org", []string{"security@example.com"}, plain) }()
	<-rcv.held
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := idle.ReadResponse(421); err != nil {
		t.Errorf("an idle connection at shutdown: %v, want 421 at once", err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) before the message in flight was answered", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Error("new connections accepted while stopping")
	}
	close(rcv.hold)
	if err := <-sent; err != nil {
		t.Errorf("the message in flight: %v, want 250", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if got := rcv.emails(); len(got) != 1 {
		t.Errorf("%d e-mails filed, want 1", len(got))
	}
}

func TestNewChecksConfig(t *testing.T) {
	ok := mail.Config{Domain: "mx.example.com", Addresses: []string{"security@example.com"}, MaxBytes: 1 << 20}
	if _, err := mail.New(ok, &receiver{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(c *mail.Config){
		func(c *mail.Config) { c.Domain = "" },
		func(c *mail.Config) { c.MaxBytes = 0 },
		func(c *mail.Config) { c.Addresses = nil },
		func(c *mail.Config) { c.Addresses = []string{"security"} },
		func(c *mail.Config) { c.Addresses = []string{"Security <security@example.com>"} },
	} {
		c := ok
		bad(&c)
		if _, err := mail.New(c, &receiver{}, nil, nil); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// With the real intake service and database: a report opens a case, the
// reporter's reply threads onto it, and someone else quoting its id opens
// a case of their own.
func TestIntake(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.DefaultRateLimit, nil)
	s := start(t, svc, nil)

	if err := send(t, s.addr, "bounces@mta.example.org", []string{"security@example.com"}, multipart(b64(script))); err != nil {
		t.Fatal(err)
	}
	cases, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Title != "PoC attached" {
		t.Fatalf("cases %+v, want one titled %q", cases, "PoC attached")
	}
	c := cases[0]
	if want := intake.FormatRef(time.Now().Year(), 1); c.Ref != want {
		t.Errorf("case %s, want %s", c.Ref, want)
	}
	_, reports, err := svc.Get(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; r.Email != "ada@example.org" || r.Source != intake.SourceEmail || r.Description != "See the attached script." ||
		len(r.Attachments) != 4 || r.Attachments[0].Name != "x.sh" || r.Attachments[3].Name != "message.eml" {
		t.Errorf("report %+v", r)
	}

	reply := func(from, to string) string {
		return fmt.Sprintf("From: %s\nTo: %s\nSubject: Re: [%s] PoC attached\nIn-Reply-To: <1@example.org>\n\nIt also crashes 2.4.2.\n\n> quoted\n", from, to, c.Ref)
	}
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, reply("Ada <ADA@example.org>", "security@example.com")); err != nil {
		t.Fatal(err)
	}
	plus := "security+" + strings.ToLower(c.Ref) + "@example.com"
	if err := send(t, s.addr, "ada@example.org", []string{plus}, strings.Replace(reply("ada@example.org", plus), "["+c.Ref+"] ", "", 1)); err != nil {
		t.Fatal(err)
	}
	msgs, err := svc.Messages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !msgs[0].FromReporter || msgs[0].Body != "It also crashes 2.4.2.\n\n> quoted" || len(msgs[0].Attachments) != 1 {
		t.Errorf("messages %+v, want the two replies from the reporter, each with the raw message", msgs)
	}
	if cases, _ := svc.List(ctx); len(cases) != 1 {
		t.Errorf("%d cases after two replies, want 1", len(cases))
	}

	if err := send(t, s.addr, "mallory@example.net", []string{"security@example.com"}, reply("mallory@example.net", "security@example.com")); err != nil {
		t.Fatal(err)
	}
	cases, err = svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 || cases[0].Ref == c.Ref || cases[0].Title != "Re: ["+c.Ref+"] PoC attached" {
		t.Errorf("cases %+v, want a new one for the other sender", cases)
	}
	if msgs, _ := svc.Messages(ctx, c.ID); len(msgs) != 2 {
		t.Errorf("%d messages on %s after another sender quoted it, want 2", len(msgs), c.Ref)
	}

	err = send(t, s.addr, "", []string{"security@example.com"}, "Subject: no sender\n\ntext\n")
	if code(err) != 550 || !strings.Contains(err.Error(), "sender address") {
		t.Errorf("a message without a sender: %v, want 550", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(crlf(plain)))
	f.Add([]byte(crlf(multipart(b64(script)))))
	f.Add([]byte("Subject: =?ISO-8859-1?Q?S=E9curit=E9?=\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n"))
	f.Add([]byte("Content-Type: text/html\r\n\r\n<script>x</script><p>y"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n//5oAGkA\r\n--x"))
	f.Add([]byte("From: <>\r\nSubject: \xff\xfe\r\n\r\n\xff"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := mail.Parse(raw)
		for name, s := range map[string]string{"from": m.From, "subject": m.Subject, "text": m.Text} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not UTF-8: %q", name, s)
			}
		}
		if strings.ContainsAny(m.Subject+m.From, "\r\n") {
			t.Errorf("header on more than one line: %q, %q", m.Subject, m.From)
		}
		var total int
		for _, f := range m.Files {
			total += len(f.Data)
		}
		if total > 2*len(raw)+1024 {
			t.Errorf("%d bytes of files from %d bytes of message", total, len(raw))
		}
	})
}
