package payload

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
)

const (
	sumA = "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"
	sumE = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// validManifest uses every field.
const validManifest = `{"format":"patchday-payload/1","product":"nginx","version":"1.22.1-9+deb12u11","restart":"service:nginx.service",` +
	`"pre":[{"name":"stop","command":["systemctl","stop","nginx"],"timeout_seconds":60}],` +
	`"post":[{"name":"check","command":["/usr/sbin/nginx","-t"]}],` +
	`"entries":[` +
	`{"path":"etc","type":"dir","mode":493},` +
	`{"path":"etc/nginx.conf","type":"file","mode":420,"size":11,"sha256":"` + sumA + `"},` +
	`{"path":"usr","type":"dir","mode":493},` +
	`{"path":"usr/bin","type":"dir","mode":493},` +
	`{"path":"usr/bin/tool","type":"file","mode":2541,"sha256":"` + sumE + `"},` +
	`{"path":"usr/lib","type":"symlink","mode":0,"target":"/lib"}]}` + "\n"

// manifestCases are ParseManifest's table and FuzzParseManifest's seeds:
// each edit of validManifest breaks one rule, reported under field (or, for
// JSON-level problems, in an error containing field).
var manifestCases = []struct {
	name, old, new, field string
}{
	{"valid", "", "", ""},
	{"bad format", `"patchday-payload/1"`, `"patchday-payload/2"`, "format"},
	{"no format", `"format":"patchday-payload/1",`, ``, "format"},
	{"empty product", `"product":"nginx"`, `"product":""`, "product"},
	{"control in product", `"product":"nginx"`, `"product":"ng\u0007inx"`, "product"},
	{"long product", `"product":"nginx"`, `"product":"` + strings.Repeat("n", 101) + `"`, "product"},
	{"empty version", `"version":"1.22.1-9+deb12u11"`, `"version":""`, "version"},
	{"no restart", `"restart":"service:nginx.service",`, ``, "restart"},
	{"bad restart", `"service:nginx.service"`, `"sometimes"`, "restart"},
	{"empty service", `"service:nginx.service"`, `"service:"`, "restart"},
	{"bad service char", `"service:nginx.service"`, `"service:nginx service"`, "restart"},
	{"service like an option", `"service:nginx.service"`, `"service:-nginx"`, "restart"},
	{"service like a path", `"service:nginx.service"`, `"service:.."`, "restart"},
	{"restart case", `"service:nginx.service"`, `"Reboot"`, "restart"},
	{"action without name", `"name":"stop",`, ``, "pre[0].name"},
	{"action without command", `"command":["systemctl","stop","nginx"],`, ``, "pre[0].command"},
	{"action empty command", `["systemctl","stop","nginx"]`, `[]`, "pre[0].command"},
	{"action empty program", `["systemctl","stop","nginx"]`, `["","stop"]`, "pre[0].command"},
	{"action NUL", `["systemctl","stop","nginx"]`, `["systemctl","st\u0000op"]`, "pre[0].command"},
	{"action negative timeout", `"timeout_seconds":60`, `"timeout_seconds":-1`, "pre[0].timeout_seconds"},
	{"action long timeout", `"timeout_seconds":60`, `"timeout_seconds":86401`, "pre[0].timeout_seconds"},
	{"action names twice", `{"name":"check"`, `{"name":"check","command":["true"]},{"name":"check"`, "post[1].name"},
	{"action unknown field", `"timeout_seconds":60`, `"timeout_seconds":60,"shell":true`, `unknown field "shell" in pre[0]`},
	{"absolute path", `"path":"etc/nginx.conf"`, `"path":"/etc/nginx.conf"`, "entries[1].path"},
	{"dotdot path", `"path":"etc/nginx.conf"`, `"path":"etc/../../nginx.conf"`, "entries[1].path"},
	{"dotdot only", `"path":"etc/nginx.conf"`, `"path":"etc/.."`, "entries[1].path"},
	{"dot path", `"path":"etc/nginx.conf"`, `"path":"etc/./nginx.conf"`, "entries[1].path"},
	{"root path", `"path":"etc","type":"dir"`, `"path":".","type":"dir"`, "entries[0].path"},
	{"empty path", `"path":"etc/nginx.conf"`, `"path":""`, "entries[1].path"},
	{"double slash", `"path":"etc/nginx.conf"`, `"path":"etc//nginx.conf"`, "entries[1].path"},
	{"trailing slash", `"path":"usr/bin","type"`, `"path":"usr/bin/","type"`, "entries[3].path"},
	{"NUL in path", `"path":"etc/nginx.conf"`, `"path":"etc/ng\u0000inx.conf"`, "entries[1].path"},
	{"long element", `"path":"etc/nginx.conf"`, `"path":"etc/` + strings.Repeat("x", 256) + `"`, "entries[1].path"},
	{"duplicate path", `"path":"usr","type":"dir"`, `"path":"etc","type":"dir"`, "entries[2].path"},
	{"unsorted", `"path":"usr","type":"dir"`, `"path":"a","type":"dir"`, "entries[2].path"},
	{"no parent", `{"path":"usr/bin","type":"dir","mode":493},`, ``, "entries[3].path"},
	{"under a symlink", `"target":"/lib"}`, `"target":"/lib"},{"path":"usr/lib/evil","type":"file","mode":420,"sha256":"` + sumE + `"}`, "entries[6].path"},
	{"under a file", `{"path":"usr","type":"dir"`, `{"path":"etc/nginx.conf/x","type":"dir","mode":493},{"path":"usr","type":"dir"`, "entries[2].path"},
	{"bad type", `"type":"symlink"`, `"type":"hardlink"`, "entries[5].type"},
	{"no type", `"type":"symlink",`, ``, "entries[5].type"},
	{"mode too big", `"mode":420`, `"mode":8192`, "entries[1].mode"},
	{"mode negative", `"mode":420`, `"mode":-1`, "entries.mode"},
	{"mode not a number", `"mode":420`, `"mode":"0644"`, "entries.mode"},
	{"mode fraction", `"mode":420`, `"mode":420.5`, "entries.mode"},
	{"symlink mode", `"mode":0,"target"`, `"mode":511,"target"`, "entries[5].mode"},
	{"file without sha", `,"sha256":"` + sumA + `"`, ``, "entries[1].sha256"},
	{"short sha", sumA, sumA[:63], "entries[1].sha256"},
	{"uppercase sha", sumA, strings.ToUpper(sumA), "entries[1].sha256"},
	{"negative size", `"size":11`, `"size":-11`, "entries[1].size"},
	{"dir with size", `"path":"etc","type":"dir","mode":493`, `"path":"etc","type":"dir","mode":493,"size":1`, "entries[0].size"},
	{"dir with sha", `"path":"etc","type":"dir","mode":493`, `"path":"etc","type":"dir","mode":493,"sha256":"` + sumE + `"`, "entries[0].sha256"},
	{"dir with target", `"path":"etc","type":"dir","mode":493`, `"path":"etc","type":"dir","mode":493,"target":"x"`, "entries[0].target"},
	{"symlink without target", `,"target":"/lib"`, ``, "entries[5].target"},
	{"symlink NUL target", `"target":"/lib"`, `"target":"/l\u0000ib"`, "entries[5].target"},
	{"unknown field", `"restart"`, `"reboot_after":true,"restart"`, `unknown field "reboot_after"`},
	{"unknown entry field", `"mode":493}`, `"mode":493,"uid":0}`, `unknown field "uid" in entries[0]`},
	{"field case", `"product":"nginx"`, `"Product":"nginx"`, `unknown field "Product"`},
	{"field twice", `"product":"nginx"`, `"product":"nginx","product":"apache"`, `field "product" appears twice`},
	{"field twice by case", `"version"`, `"VERSION":"1","version"`, `unknown field "VERSION"`},
	{"trailing data", "}]}\n", "}]}{}", "data after"},
	{"not an object", validManifest, `[]`, "want an object"},
	{"not JSON", validManifest, `{"format":`, "ends too soon"},
	{"not UTF-8", `"product":"nginx"`, "\"product\":\"ng\xffinx\"", "UTF-8"},
	{"entries not a list", validManifest[strings.Index(validManifest, `"entries":`):], `"entries":{}}`, "entries"},
}

func edit(c struct{ name, old, new, field string }) string {
	if c.old == "" {
		return validManifest
	}
	if !strings.Contains(validManifest, c.old) {
		panic("case " + c.name + ": " + c.old + " not in the manifest")
	}
	return strings.Replace(validManifest, c.old, c.new, 1)
}

func TestParseManifest(t *testing.T) {
	for _, c := range manifestCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(edit(c)))
			if c.field == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if err := m.Validate(); err != nil {
					t.Errorf("Validate of a parsed manifest: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one about %s", c.field)
			}
			t.Log(err)
			if !errors.Is(err, patchday.ErrInvalid) {
				t.Errorf("err = %v, not ErrInvalid", err)
			}
			if fields := patchday.FieldErrors(err); fields != nil {
				if fields[c.field] == "" {
					t.Errorf("err = %v, want a problem with %s", err, c.field)
				}
			} else if !strings.Contains(err.Error(), c.field) {
				t.Errorf("err = %v, want it to mention %s", err, c.field)
			}
		})
	}
}

func TestValidManifest(t *testing.T) {
	m, err := ParseManifest([]byte(validManifest))
	if err != nil {
		t.Fatal(err)
	}
	want := Manifest{
		Format: Format, Product: "nginx", Version: "1.22.1-9+deb12u11", Restart: "service:nginx.service",
		Pre:  []Action{{Name: "stop", Command: []string{"systemctl", "stop", "nginx"}, TimeoutSeconds: 60}},
		Post: []Action{{Name: "check", Command: []string{"/usr/sbin/nginx", "-t"}}},
		Entries: []Entry{
			{Path: "etc", Type: TypeDir, Mode: 0o755},
			{Path: "etc/nginx.conf", Type: TypeFile, Mode: 0o644, Size: 11, SHA256: sumA},
			{Path: "usr", Type: TypeDir, Mode: 0o755},
			{Path: "usr/bin", Type: TypeDir, Mode: 0o755},
			{Path: "usr/bin/tool", Type: TypeFile, Mode: 0o4755, SHA256: sumE},
			{Path: "usr/lib", Type: TypeSymlink, Target: "/lib"},
		},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("ParseManifest (-want +got):\n%s", diff)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != validManifest {
		t.Errorf("Encode =\n%s\nwant the canonical\n%s", b, validManifest)
	}
}

// TestValidateAll checks that every problem is reported at once.
func TestValidateAll(t *testing.T) {
	m := Manifest{
		Format: "x", Restart: "later",
		Entries: []Entry{
			{Path: "/abs", Type: TypeFile},
			{Path: "ok", Type: "fifo", Mode: 0o10000},
		},
	}
	fields := patchday.FieldErrors(m.Validate())
	for _, f := range []string{"format", "product", "version", "restart", "entries[0].path", "entries[0].sha256", "entries[1].type", "entries[1].mode"} {
		if fields[f] == "" {
			t.Errorf("no problem reported for %s; got %v", f, fields)
		}
	}
	if !strings.Contains(fields["entries[0].path"], `"/abs"`) {
		t.Errorf("entries[0].path: %q does not name the path", fields["entries[0].path"])
	}
}

func TestManyProblems(t *testing.T) {
	m := Manifest{Format: Format, Product: "p", Version: "1", Restart: "none"}
	for i := 0; i < 10000; i++ {
		m.Entries = append(m.Entries, Entry{Path: "/x", Type: TypeFile})
	}
	err := m.Validate()
	if n := len(patchday.FieldErrors(err)); n > maxProblems+1 {
		t.Errorf("%d problems reported, want at most %d", n, maxProblems+1)
	}
}

func TestParseRestart(t *testing.T) {
	for s, want := range map[string]Restart{
		"none":                   {Kind: RestartNone},
		"reboot":                 {Kind: RestartReboot},
		"service:nginx":          {Kind: RestartService, Service: "nginx"},
		"service:getty@tty1.svc": {Kind: RestartService, Service: "getty@tty1.svc"},
		"service:a_b-c.d":        {Kind: RestartService, Service: "a_b-c.d"},
	} {
		got, err := ParseRestart(s)
		if err != nil || got != want {
			t.Errorf("ParseRestart(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), s)
		}
	}
	for _, s := range []string{"", "None", "service", "service:", "service:a/b", "service:-x", "service:.x", "service:" + strings.Repeat("s", 256), "restart"} {
		if _, err := ParseRestart(s); !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("ParseRestart(%q): err = %v, want ErrInvalid", s, err)
		}
	}
}
