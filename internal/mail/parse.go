package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"slices"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// message is what an e-mail says, decoded to UTF-8: what intake needs.
type message struct {
	From    string // the address in the From header; empty if there is none
	Subject string
	Text    string // plain text; HTML-only mail converted
	Files   []file
	// Encrypted is set when the message held OpenPGP-encrypted content
	// (and a Decrypter was given); DecryptErr says why some of it could
	// not be decrypted.
	Encrypted  bool
	DecryptErr error
}

// file is an attachment or inline file as the sender sent it.
type file struct {
	Name        string // as given, not yet sanitised
	ContentType string // without parameters
	Data        []byte
}

// Text must come out of any message, however broken: one malformed part
// must not lose the others, and nothing is ever refused for its MIME.
var (
	parser = newParser(false)
	// rawParser leaves parts as sent: a file's bytes must not be charset
	// converted (a proof of concept may depend on every byte).
	rawParser = newParser(true)
)

func newParser(raw bool) *enmime.Parser {
	return enmime.NewParser(
		enmime.SkipMalformedParts(true),
		enmime.MultipartWOBoundaryAsSinglePart(true),
		enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
		enmime.MaxStoredPartErrors(10),
		// Trust a declared charset: enmime otherwise overrides it with a
		// guess from the text, which can turn "Grüße" into mojibake.
		enmime.DisableCharacterDetection(true),
		enmime.RawContent(raw),
	)
}

// parse decodes a raw message, and with dec decrypts what is encrypted
// with OpenPGP. It never fails: what cannot be decoded or decrypted stays
// in the raw message, which is kept beside the report.
func parse(raw []byte, dec Decrypter) message {
	env, err := parser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return parseHeader(raw)
	}
	m := message{Subject: oneLine(env.GetHeader("Subject")), Text: text(env.Text)}
	if as, err := env.AddressList("From"); err == nil && len(as) > 0 {
		m.From = oneLine(as[0].Address)
	}
	m.Files = files(env, raw)
	if dec != nil {
		decrypt(&m, env, dec)
	}
	return m
}

// parseHeader is the fallback for a message enmime cannot read at all.
func parseHeader(raw []byte) message {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return message{}
	}
	var m message
	subject := msg.Header.Get("Subject")
	if s, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = s
	}
	m.Subject = oneLine(subject)
	if as, err := msg.Header.AddressList("From"); err == nil && len(as) > 0 {
		m.From = oneLine(as[0].Address)
	}
	return m
}

// files returns every leaf part that is not the body enmime took the text
// from, and any part with a file name even if it is.
func files(env *enmime.Envelope, raw []byte) []file {
	root := env.Root
	body := map[*enmime.Part]bool{}
	if root.FirstChild == nil {
		// A single part is the body, unless enmime found it to be a file.
		body[root] = !slices.Contains(env.Attachments, root) && !slices.Contains(env.Inlines, root)
	} else {
		// The parts enmime's Envelope takes its Text and HTML from.
		isText := func(p *enmime.Part) bool { return p.ContentType == "text/plain" && p.Disposition != "attachment" }
		isHTML := func(p *enmime.Part) bool { return p.ContentType == "text/html" && p.Disposition != "attachment" }
		if root.ContentType == "multipart/alternative" {
			if p := root.BreadthMatchFirst(isText); p != nil {
				body[p] = true
			}
		} else {
			for _, p := range root.DepthMatchAll(isText) {
				body[p] = true
			}
		}
		if p := root.DepthMatchFirst(isHTML); p != nil {
			body[p] = true
		}
	}
	leaves := root.DepthMatchAll(func(p *enmime.Part) bool { return p.FirstChild == nil })
	var fs []file
	var rawParts map[string]*enmime.Part
	for _, p := range leaves {
		if p.FileName == "" && (body[p] || len(p.Content) == 0) {
			continue
		}
		data := p.Content
		if strings.HasPrefix(p.ContentType, "text/") { // the only parts enmime converts
			if rawParts == nil {
				rawParts = partsByID(raw)
			}
			if rp := rawParts[p.PartID]; rp != nil {
				if b, ok := decodeTransfer(rp.Header.Get("Content-Transfer-Encoding"), rp.Content); ok {
					data = b
				}
			}
		}
		name := p.FileName
		if name == "" {
			name = defaultNames[p.ContentType]
		}
		fs = append(fs, file{Name: name, ContentType: p.ContentType, Data: data})
	}
	return fs
}

// defaultNames name unnamed files, so they open with the right program.
var defaultNames = map[string]string{
	"message/rfc822": "attached.eml",
	"text/plain":     "attachment.txt",
	"text/html":      "attachment.html",
}

// partsByID parses the message again without decoding its parts.
func partsByID(raw []byte) map[string]*enmime.Part {
	ps := map[string]*enmime.Part{}
	root, err := rawParser.ReadParts(bytes.NewReader(raw))
	if err != nil {
		return ps
	}
	for _, p := range root.DepthMatchAll(func(*enmime.Part) bool { return true }) {
		ps[p.PartID] = p
	}
	return ps
}

// decodeTransfer undoes a part's transfer encoding, and nothing else.
func decodeTransfer(encoding string, b []byte) ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		// Like enmime: ignore line breaks, stray characters and padding.
		clean := make([]byte, 0, len(b))
		for _, c := range b {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1]
		}
		out, err := base64.RawStdEncoding.AppendDecode(nil, clean)
		return out, err == nil
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		return out, err == nil
	default:
		return b, true
	}
}

// text makes a body valid UTF-8 with Unix line ends, whatever a sender's
// charset declaration promised.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// oneLine makes a header value one line of valid UTF-8.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.TrimSpace(s)
}
