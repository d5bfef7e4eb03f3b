package intake_test

import (
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/intake"
)

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"poc.py": "poc.py", "../../etc/passwd": "passwd", `C:\Users\ada\poc.html`: "poc.html",
		"": "attachment", "a\"b\r\n.txt": "ab.txt", "/": "attachment", "a/..": "attachment",
		"bad\xffname.txt": "bad\uFFFDname.txt", strings.Repeat("é", 150): strings.Repeat("é", 100),
	} {
		if got := intake.FileName(in); got != want {
			t.Errorf("FileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentType(t *testing.T) {
	for in, want := range map[string]string{
		"text/x-python; charset=utf-8": "text/x-python", "IMAGE/PNG": "image/png",
		"": "application/octet-stream", "not a type": "application/octet-stream",
	} {
		if got := intake.ContentType(in); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", in, got, want)
		}
	}
}
