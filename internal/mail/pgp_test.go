package mail_test

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/mail"
	"github.com/patchday/patchday/internal/pgp"
)

// newKey makes an ed25519/cv25519 key, as GnuPG does, and loads it.
func newKey(t *testing.T) (*pgp.Key, *openpgp.Entity) {
	t.Helper()
	e, err := openpgp.NewEntity("Example PSIRT", "", "security@example.com",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, DefaultCompressionAlgo: packet.CompressionZLIB})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	k, err := pgp.Load(b.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k, e
}

// armored encrypts plaintext to e, as a researcher's mail client does.
func armored(t *testing.T, e *openpgp.Entity, plaintext string) string {
	t.Helper()
	var b bytes.Buffer
	aw, err := armor.Encode(&b, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := openpgp.Encrypt(aw, []*openpgp.Entity{e}, nil, nil, &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plaintext)
	w.Close()
	aw.Close()
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}

// pgpMIME is an RFC 3156 message whose encrypted part holds ciphertext.
func pgpMIME(subject, ciphertext string) string {
	return `From: Ada Lovelace <ada@example.org>
To: security@example.com
Subject: ` + subject + `
MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";
 boundary="------------enc"

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--------------enc
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--------------enc
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

` + ciphertext + `
--------------enc--
`
}

// inner is the MIME entity a mail client encrypts: text and a file, with
// the real subject protected inside.
var inner = crlf(`Content-Type: multipart/mixed; boundary="inner"; protected-headers="v1"
Subject: Heap overflow in the parser
From: Ada Lovelace <ada@example.org>

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

A long header overflows a fixed buffer. Gr=C3=BC=C3=9Fe.
--inner
Content-Type: application/octet-stream; name="poc.bin"
Content-Disposition: attachment; filename="poc.bin"
Content-Transfer-Encoding: base64

AAECA/8=
--inner--
`)

// logBuffer collects what the server logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPGP starts a server that decrypts with k.
func startPGP(t *testing.T, k *pgp.Key) (*receiver, *server, *logBuffer) {
	t.Helper()
	rcv, log := &receiver{}, &logBuffer{}
	s := startConfig(t, rcv, mail.Config{PGP: k}, io.MultiWriter(log, t.Output()))
	return rcv, s, log
}

// sendOne sends msg and returns what the receiver got.
func sendOne(t *testing.T, rcv *receiver, s *server, msg string) (e struct {
	Subject, Text string
	Files         map[string]string
	Raw           string
}) {
	t.Helper()
	if err := send(t, s.addr, "ada@example.org", []string{"security@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	got := rcv.emails()
	if len(got) != 1 {
		t.Fatalf("%d e-mails received, want 1", len(got))
	}
	e.Subject, e.Text, e.Files = got[0].Subject, got[0].Text, map[string]string{}
	for _, a := range got[0].Attachments {
		e.Files[a.Name] = string(s.blob(t, a))
	}
	e.Raw = string(s.blob(t, got[0].Raw))
	if got[0].Raw.Name != "message.eml" {
		t.Errorf("raw message named %q", got[0].Raw.Name)
	}
	return e
}

func TestPGPMIME(t *testing.T) {
	k, e := newKey(t)
	rcv, s, log := startPGP(t, k)
	msg := pgpMIME("...", armored(t, e, inner))
	got := sendOne(t, rcv, s, msg)
	if got.Subject != "Heap overflow in the parser" {
		t.Errorf("subject %q, want the protected one", got.Subject)
	}
	if want := "A long header overflows a fixed buffer. Grüße."; got.Text != want {
		t.Errorf("text %q, want %q", got.Text, want)
	}
	if want := map[string]string{"poc.bin": "\x00\x01\x02\x03\xff"}; !cmp.Equal(got.Files, want) {
		t.Errorf("files %q, want %q (the decrypted attachment, not the encrypted part)", got.Files, want)
	}
	if got.Raw != crlf(msg) {
		t.Error("message.eml is not the message as received, encrypted")
	}
	if !strings.Contains(log.String(), "decrypted=true") {
		t.Errorf("log does not say the e-mail was decrypted:\n%s", log)
	}

	// Without a protected subject the outer one stays.
	rcv.mu.Lock()
	rcv.got = nil
	rcv.mu.Unlock()
	got = sendOne(t, rcv, s, pgpMIME("PoC attached", armored(t, e, "Content-Type: text/plain\r\n\r\nSee above.\r\n")))
	if got.Subject != "PoC attached" || got.Text != "See above.\n" {
		t.Errorf("subject %q, text %q", got.Subject, got.Text)
	}
}

func TestPGPInline(t *testing.T) {
	k, e := newKey(t)
	rcv, s, _ := startPGP(t, k)
	body := armored(t, e, "The parser overflows.\r\nVersion 2.4 and earlier; Grüße.\r\n")
	got := sendOne(t, rcv, s, `From: ada@example.org
Subject: Encrypted report
Content-Type: text/plain; charset=us-ascii

Hello,

`+body+`

Ada
> -----BEGIN PGP MESSAGE-----
> (quoted, left alone)
> -----END PGP MESSAGE-----
`)
	want := "Hello,\n\nThe parser overflows.\nVersion 2.4 and earlier; Grüße.\n\nAda\n" +
		"> -----BEGIN PGP MESSAGE-----\n> (quoted, left alone)\n> -----END PGP MESSAGE-----\n"
	if got.Subject != "Encrypted report" || got.Text != want {
		t.Errorf("subject %q, text:\n%s\nwant:\n%s", got.Subject, got.Text, want)
	}
	if strings.Contains(got.Raw, "The parser overflows") {
		t.Error("message.eml holds the plaintext, not the message as received")
	}
}

// Mail that cannot be decrypted is filed all the same, saying why.
func TestPGPUndecryptable(t *testing.T) {
	k, _ := newKey(t)
	_, other := newKey(t)
	for _, tc := range []struct {
		name, msg string
		text      []string // in the text
		files     []string // attachments besides message.eml
	}{{
		name:  "PGP/MIME to another key",
		msg:   pgpMIME("Report", armored(t, other, inner)),
		text:  []string{"could not be decrypted", "not encrypted to this key", k.Fingerprint()},
		files: []string{"encrypted.asc"},
	}, {
		name:  "PGP/MIME, corrupt",
		msg:   pgpMIME("Report", "-----BEGIN PGP MESSAGE-----\n\nhQEMA5xx\n-----END PGP MESSAGE-----"),
		text:  []string{"could not be decrypted"},
		files: []string{"encrypted.asc"},
	}, {
		name: "inline to another key",
		msg:  "From: ada@example.org\nSubject: Report\n\nBefore.\n" + armored(t, other, "secret") + "\nAfter.\n",
		text: []string{"Before.\n[patchday: an OpenPGP-encrypted block of this e-mail could not be decrypted: not encrypted to this key", "]\nAfter.\n"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rcv, s, log := startPGP(t, k)
			got := sendOne(t, rcv, s, tc.msg)
			if got.Subject != "Report" {
				t.Errorf("subject %q", got.Subject)
			}
			for _, w := range tc.text {
				if !strings.Contains(got.Text, w) {
					t.Errorf("text %q lacks %q", got.Text, w)
				}
			}
			if files := slices.Sorted(maps.Keys(got.Files)); !cmp.Equal(files, tc.files) {
				t.Errorf("files %q, want %q", files, tc.files)
			}
			if got.Raw != crlf(tc.msg) {
				t.Error("message.eml is not the message as received")
			}
			if l := log.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "not decrypted") || !strings.Contains(l, "case=PD-2026-0001") {
				t.Errorf("no warning naming the case in the log:\n%s", l)
			}
		})
	}
}

// echo "decrypts" by returning what it is given: the fuzzer then chooses
// the plaintext too.
type echo struct{}

func (echo) Decrypt(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

func FuzzParseDecrypt(f *testing.F) {
	f.Add([]byte(crlf(pgpMIME("...", "-----BEGIN PGP MESSAGE-----\n"+inner+"-----END PGP MESSAGE-----"))))
	f.Add([]byte("Subject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhello\r\n-----END PGP MESSAGE-----\r\n"))
	f.Add([]byte("Subject: x\r\n\r\n  -----BEGIN PGP MESSAGE----------END PGP MESSAGE-----"))
	f.Add([]byte("Content-Type: multipart/encrypted; protocol=application/pgp-encrypted; boundary=b\r\n\r\n--b\r\n\r\n\xff\xfe\r\n--b--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := mail.ParseDecrypt(raw, echo{})
		for name, s := range map[string]string{"from": m.From, "subject": m.Subject, "text": m.Text} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not UTF-8: %q", name, s)
			}
		}
		if strings.ContainsAny(m.Subject+m.From, "\r\n") {
			t.Errorf("header on more than one line: %q, %q", m.Subject, m.From)
		}
	})
}
