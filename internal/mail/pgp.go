package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	"github.com/jhillyerd/enmime/v2"

	"github.com/patchday/patchday/internal/pgp"
)

// Decrypter decrypts an OpenPGP message, armored or binary, sent to the
// vendor's key (implemented by *pgp.Key).
type Decrypter interface {
	Decrypt(ciphertext io.Reader) ([]byte, error)
}

var _ Decrypter = (*pgp.Key)(nil)

// maxInline is how many inline-encrypted blocks of one message are
// decrypted: each may inflate to pgp.MaxPlaintext.
const maxInline = 4

const (
	beginPGP = "-----BEGIN PGP MESSAGE-----"
	endPGP   = "-----END PGP MESSAGE-----"
)

// decrypt replaces what is encrypted in m by its plaintext. A PGP/MIME
// message (RFC 3156) is decrypted and the MIME entity inside read like
// any e-mail: its text, HTML and files. Armored blocks in a plain body
// ("inline PGP") are replaced by their plaintext. Whatever cannot be
// decrypted gets a note in the text saying why; the encrypted original
// stays in the raw message, which is kept.
func decrypt(m *message, env *enmime.Envelope, dec Decrypter) {
	if isPGPMIME(env.Root) {
		m.Encrypted = true
		decryptMIME(m, env.Root, dec)
		return
	}
	decryptInline(m, dec)
}

// isPGPMIME reports whether p is multipart/encrypted with OpenPGP.
func isPGPMIME(p *enmime.Part) bool {
	if p == nil || p.ContentType != "multipart/encrypted" {
		return false
	}
	// enmime leaves ContentTypeParams empty for multipart parts.
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(strings.TrimSpace(params["protocol"]), "application/pgp-encrypted")
}

// decryptMIME decrypts the second part of a multipart/encrypted message.
func decryptMIME(m *message, root *enmime.Part, dec Decrypter) {
	var enc *enmime.Part
	for p := root.FirstChild; p != nil; p = p.NextSibling {
		if p.ContentType != "application/pgp-encrypted" && len(p.Content) > 0 {
			enc = p
			break
		}
	}
	if enc == nil {
		m.DecryptErr = errors.New("the multipart/encrypted message has no encrypted part")
		m.Text = undecrypted("this e-mail is encrypted with OpenPGP", m.DecryptErr) + "\n\n" + m.Text
		return
	}
	plain, err := dec.Decrypt(bytes.NewReader(enc.Content))
	if err != nil {
		// The encrypted part stays among the files, for triage to decrypt
		// by hand; the "Version: 1" part says nothing.
		m.Files = slices.DeleteFunc(m.Files, func(f file) bool { return f.ContentType == "application/pgp-encrypted" })
		m.DecryptErr = err
		m.Text = undecrypted("this e-mail is encrypted with OpenPGP", err) + "\n\n" + m.Text
		return
	}
	inner := parse(plain, nil) // no deeper: what is encrypted twice stays so
	if inner.Text == "" && len(inner.Files) == 0 {
		// Not a MIME entity, as RFC 3156 wants, or an empty one: the
		// plaintext as it is says most.
		inner.Text = text(string(plain))
	}
	m.Text, m.Files = inner.Text, inner.Files
	// A protected Subject (the encrypted entity's own header) is the real
	// one; the outer may be a placeholder such as "...".
	if inner.Subject != "" {
		m.Subject = inner.Subject
	}
}

// decryptInline replaces armored blocks that start a line of the text
// with their plaintext, or with a note saying why they could not be
// decrypted. A quoted block ("> -----BEGIN …") is left as it is.
func decryptInline(m *message, dec Decrypter) {
	var out strings.Builder
	var errs []error
	rest := m.Text
	for n := 0; n < maxInline; n++ {
		i := blockStart(rest)
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], endPGP)
		if j < 0 {
			break
		}
		j += i + len(endPGP)
		m.Encrypted = true
		out.WriteString(rest[:i])
		plain, err := dec.Decrypt(strings.NewReader(rest[i:j]))
		if err != nil {
			errs = append(errs, err)
			out.WriteString(undecrypted("an OpenPGP-encrypted block of this e-mail", err))
		} else {
			out.WriteString(strings.TrimRight(text(string(plain)), "\n"))
		}
		rest = rest[j:]
	}
	if !m.Encrypted {
		return
	}
	out.WriteString(rest)
	m.Text = out.String()
	m.DecryptErr = errors.Join(errs...)
}

// blockStart returns where the first armor line that starts a line of s
// (after blanks) begins, or -1.
func blockStart(s string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], beginPGP)
		if i < 0 {
			return -1
		}
		i += off
		line := strings.LastIndexByte(s[:i], '\n') + 1
		if strings.Trim(s[line:i], " \t") == "" {
			return line
		}
		off = i + len(beginPGP)
	}
}

// undecrypted is the note that takes the place of what could not be
// decrypted, so triage sees it.
func undecrypted(what string, err error) string {
	return fmt.Sprintf("[patchday: %s could not be decrypted: %v. The message as received is attached as message.eml.]", what, err)
}
