package intake

import (
	"mime"
	"path"
	"strings"
	"unicode/utf8"
)

// FileName keeps only the base name a sender gave a file (a browser's
// upload, an e-mail attachment), without path or control characters, so
// it is safe to show and to offer as a download.
func FileName(s string) string {
	s = path.Base(strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), `\`, "/"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." || s == "/" {
		s = "attachment"
	}
	for len(s) > 200 { // in bytes, cut at a character boundary
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// ContentType keeps a well-formed media type, else a generic one: it is
// only ever used to label a download.
func ContentType(s string) string {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || strings.ContainsAny(mt, " ") {
		return "application/octet-stream"
	}
	return mt
}
