// Package payload is the installable payload format of the patchday update
// catalog: what an endpoint agent downloads, verifies and installs.
//
// # Format "patchday-payload/1"
//
// A payload is one zstd stream (RFC 8878; one or more frames, with content
// checksums) holding one POSIX tar archive (PAX format). It is named by the
// SHA-256 of those packed bytes, so it is immutable and content-addressed.
//
// The archive holds, in this order and nothing else:
//
//  1. a regular file "manifest.json": the manifest, at most
//     Limits.MaxManifest bytes (default 16 MiB);
//  2. for each manifest entry of type "file", in manifest order, a regular
//     file "files/<path>" with exactly the entry's size and SHA-256;
//  3. the tar end-of-archive marker. Nothing may follow it.
//
// Directories and symbolic links exist only in the manifest. Tar metadata
// (mode, owner, times) is not read: the manifest alone says what is
// installed. Payloads built here have zero times, uid and gid, empty user and
// group names, and the entry's mode as the tar mode, so that the same tree
// and metadata always give the same bytes with the same version of the zstd
// encoder. (A different encoder version may compress differently: the
// catalog keeps the bytes it built and never rebuilds to match a hash.)
//
// The manifest is a JSON object (UTF-8, no duplicate or unknown keys; keys
// match exactly, including case):
//
//	format   "patchday-payload/1"
//	product  the product's name: 1 to 100 bytes, printable
//	version  the version this payload installs: 1 to 100 bytes, printable
//	restart  "none", "reboot", or "service:<name>" where <name> matches
//	         [A-Za-z0-9@._-]{1,255} and starts with neither "." nor "-"
//	pre      optional actions run before the files are swapped in
//	post     optional actions run after
//	entries  the tree, sorted by path (byte order), each path once; it may
//	         be empty (a payload of actions only)
//
// An action is {"name", "command", "timeout_seconds"}: a name (1 to 100
// bytes, printable, unique within its list), the command as argv (at least
// one element, the first not empty, no NUL bytes) and an optional timeout
// from 1 to 86400 seconds (absent or 0: the agent's default).
//
// An entry is {"path", "type", "mode", "size", "sha256", "target"}:
//
//	path    relative to the install root, slash-separated, clean (no "",
//	        ".", ".." or empty elements, no leading or trailing slash), no
//	        NUL, at most 4096 bytes with elements of at most 255 bytes.
//	        Its parent is the root or a "dir" entry of the manifest, so no
//	        entry lies below a file or a symbolic link.
//	type    "file", "dir" or "symlink"
//	mode    the permission bits, including setuid (04000), setgid (02000)
//	        and sticky (01000): at most 07777, as a JSON number (so 0755
//	        is written 493); 0 for a symlink
//	size    a file's length in bytes; absent (0) for the others
//	sha256  a file's SHA-256, 64 lowercase hex digits; absent for the others
//	target  a symlink's target, kept as is (absolute targets are legal):
//	        1 to 4095 bytes, no NUL; absent for the others
//
// The install root itself is not an entry. Owners are not recorded: the
// installer owns what it unpacks. The canonical encoding (what Build writes
// and Manifest.Encode returns) is compact JSON in the field order above,
// without HTML escaping, absent fields omitted, ending in one newline.
package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/jsontok"
)

// Format is the value of a manifest's "format" field for this version of
// the payload format.
const Format = "patchday-payload/1"

// Entry types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
)

// Manifest says what a payload installs and how.
type Manifest struct {
	Format  string   `json:"format"`
	Product string   `json:"product"`
	Version string   `json:"version"`
	Restart string   `json:"restart"`
	Pre     []Action `json:"pre,omitempty"`
	Post    []Action `json:"post,omitempty"`
	Entries []Entry  `json:"entries"`
}

// Entry is one file, directory or symbolic link of a payload's tree.
type Entry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   uint32 `json:"mode"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"`
}

// Action is a command the agent runs before or after swapping files in.
type Action struct {
	Name           string   `json:"name"`
	Command        []string `json:"command"`
	TimeoutSeconds int      `json:"timeout_seconds,omitempty"`
}

// Meta is what Build needs beyond the tree: the manifest's other fields.
type Meta struct {
	Product string
	Version string
	Restart string
	Pre     []Action
	Post    []Action
}

// Restart kinds.
const (
	RestartNone    = "none"
	RestartService = "service"
	RestartReboot  = "reboot"
)

// Restart is what must be restarted once a payload is installed.
type Restart struct {
	Kind    string // RestartNone, RestartService or RestartReboot
	Service string // the service's name, for RestartService only
}

// String returns r as a manifest writes it.
func (r Restart) String() string {
	if r.Kind == RestartService {
		return RestartService + ":" + r.Service
	}
	return r.Kind
}

// ParseRestart parses a manifest's restart field: "none", "reboot" or
// "service:<name>".
func ParseRestart(s string) (Restart, error) {
	r, msg := parseRestart(s)
	if msg != "" {
		return Restart{}, patchday.Errorf(patchday.ErrInvalid, "restart %q: %s", s, msg)
	}
	return r, nil
}

// parseRestart parses s, or returns why it is not a restart.
func parseRestart(s string) (Restart, string) {
	switch s {
	case RestartNone, RestartReboot:
		return Restart{Kind: s}, ""
	case "":
		return Restart{}, `required: "none", "reboot" or "service:<name>"`
	}
	name, ok := strings.CutPrefix(s, RestartService+":")
	if !ok {
		return Restart{}, `want "none", "reboot" or "service:<name>"`
	}
	if msg := checkService(name); msg != "" {
		return Restart{}, msg
	}
	return Restart{Kind: RestartService, Service: name}, ""
}

// checkService returns why name is not an acceptable service name. Leading
// dots and dashes are refused because agents pass the name to service
// managers and may join it to paths: "-x" reads as an option, ".." climbs.
func checkService(name string) string {
	switch {
	case name == "":
		return "the service name is empty"
	case len(name) > 255:
		return "the service name is longer than 255 bytes"
	case name[0] == '.' || name[0] == '-':
		return `the service name starts with "." or "-"`
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("@._-", c) >= 0) {
			return fmt.Sprintf("the service name has %q; allowed are letters, digits and @ . _ -", rune(c))
		}
	}
	return ""
}

// ParseManifest parses and validates a manifest. It is strict: the input
// must be valid UTF-8 holding exactly one JSON object, without unknown,
// duplicate or differently cased keys, and every rule of the format must
// hold. The error names each field that is wrong.
func ParseManifest(b []byte) (Manifest, error) {
	if !utf8.Valid(b) {
		return Manifest{}, patchday.Errorf(patchday.ErrInvalid, "invalid payload manifest: not valid UTF-8")
	}
	// encoding/json matches keys case-insensitively and lets the last of two
	// equal keys win; a manifest that means one thing to us and another to a
	// different reader is refused before decoding.
	if err := checkKeys(b); err != nil {
		return Manifest{}, patchday.Errorf(patchday.ErrInvalid, "invalid payload manifest: %s", jsonError(err))
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return Manifest{}, patchday.Errorf(patchday.ErrInvalid, "invalid payload manifest: %s", jsonError(err))
	}
	if _, err := d.Token(); err != io.EOF {
		return Manifest{}, patchday.Errorf(patchday.ErrInvalid, "invalid payload manifest: data after the JSON object")
	}
	m.normalize()
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// normalize gives absent and empty lists one form, so that parsing what
// Encode returns gives back an equal Manifest.
func (m *Manifest) normalize() {
	if len(m.Pre) == 0 {
		m.Pre = nil
	}
	if len(m.Post) == 0 {
		m.Post = nil
	}
	if m.Entries == nil {
		m.Entries = []Entry{}
	}
}

// Encode validates m and returns its canonical JSON encoding, the bytes
// Build stores as manifest.json.
func (m Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	m.normalize()
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(m); err != nil {
		return nil, fmt.Errorf("encode payload manifest: %w", err)
	}
	return b.Bytes(), nil
}

// jsonError turns a decoding error into a message that names the field
// and not our Go types.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s (at byte %d): want %s, not a JSON %s", te.Field, te.Offset, jsonType(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("want an object, not a JSON %s", te.Value)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too soon"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonType says what JSON a Go type of the manifest takes.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint32:
		return "a whole number from 0 to 4294967295"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Keys of the three kinds of JSON object in a manifest.
var (
	manifestKeys = keySet("format", "product", "version", "restart", "pre", "post", "entries")
	actionKeys   = keySet("name", "command", "timeout_seconds")
	entryKeys    = keySet("path", "type", "mode", "size", "sha256", "target")
)

func keySet(keys ...string) map[string]bool {
	s := make(map[string]bool, len(keys))
	for _, k := range keys {
		s[k] = true
	}
	return s
}

// checkKeys walks the JSON in b and refuses a key that is unknown (by exact
// match) or repeated in the manifest object, an action or an entry. Values
// of the wrong JSON type are left for the decoder to report.
func checkKeys(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return walkObject(d, "", manifestKeys, func(key, where string) error {
		switch key {
		case "pre", "post":
			return walkArray(d, where, actionKeys)
		case "entries":
			return walkArray(d, where, entryKeys)
		}
		return jsontok.Skip(d)
	})
}

// walkObject reads one value; if it is an object, it checks its keys and
// calls value for each, which must consume the key's value.
func walkObject(d *json.Decoder, where string, keys map[string]bool, value func(key, where string) error) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return jsontok.SkipRest(d, t)
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		key := t.(string) // object keys are always strings
		in := ""
		if where != "" {
			in = " in " + where
		}
		switch {
		case !keys[key]:
			return fmt.Errorf("unknown field %q%s", key, in)
		case seen[key]:
			return fmt.Errorf("field %q appears twice%s", key, in)
		}
		seen[key] = true
		if err := value(key, key); err != nil {
			return err
		}
	}
	_, err = d.Token() // '}'
	return err
}

// walkArray reads one value; if it is an array, it checks the keys of each
// object in it.
func walkArray(d *json.Decoder, where string, keys map[string]bool) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		return jsontok.SkipRest(d, t)
	}
	for i := 0; d.More(); i++ {
		at := where + "[" + strconv.Itoa(i) + "]"
		if err := walkObject(d, at, keys, func(string, string) error { return jsontok.Skip(d) }); err != nil {
			return err
		}
	}
	_, err = d.Token() // ']'
	return err
}

// maxProblems bounds the problems one error lists, so that a hostile
// manifest with a million bad entries gives a readable error.
const maxProblems = 50

// Validate checks every rule of the format and returns every problem at
// once, each under the name of its field ("restart", "pre[0].command",
// "entries[3].sha256", ...), the entry's path in the message.
func (m Manifest) Validate() error {
	p := patchday.Problems{}
	add := func(field, format string, args ...any) {
		if len(p) < maxProblems {
			p.Add(field, fmt.Sprintf(format, args...))
		} else {
			p.Add("more", "further problems not shown")
		}
	}
	if m.Format != Format {
		add("format", "%q, want %q", m.Format, Format)
	}
	if msg := checkText("product", m.Product); msg != "" {
		add("product", "%s", msg)
	}
	if msg := checkText("version", m.Version); msg != "" {
		add("version", "%s", msg)
	}
	if _, msg := parseRestart(m.Restart); msg != "" {
		add("restart", "%q: %s", m.Restart, msg)
	}
	checkActions(add, "pre", m.Pre)
	checkActions(add, "post", m.Post)

	types := make(map[string]string, len(m.Entries))
	for i, e := range m.Entries {
		field := func(name string) string { return fmt.Sprintf("entries[%d].%s", i, name) }
		if msg := checkPath(e.Path); msg != "" {
			add(field("path"), "%q: %s", e.Path, msg)
		} else {
			if i > 0 && e.Path <= m.Entries[i-1].Path {
				if _, dup := types[e.Path]; dup {
					add(field("path"), "%q: listed twice", e.Path)
				} else {
					add(field("path"), "%q: not in order; entries are sorted by path", e.Path)
				}
			}
			if dir := path.Dir(e.Path); dir != "." {
				switch t, ok := types[dir]; {
				case !ok:
					add(field("path"), "%q: its parent %q is not a directory entry before it", e.Path, dir)
				case t != TypeDir:
					add(field("path"), "%q: its parent %q is a %s, not a directory", e.Path, dir, t)
				}
			}
			types[e.Path] = e.Type
		}
		checkEntry(add, field, e)
	}
	return p.Err("invalid payload manifest")
}

// checkEntry checks the fields of e that depend on its type.
func checkEntry(add func(string, string, ...any), field func(string) string, e Entry) {
	switch e.Type {
	case TypeFile, TypeDir, TypeSymlink:
	default:
		add(field("type"), "%q: type %q, want \"file\", \"dir\" or \"symlink\"", e.Path, e.Type)
	}
	switch {
	case e.Mode > 0o7777:
		add(field("mode"), "%q: mode %#o has bits beyond 07777", e.Path, e.Mode)
	case e.Type == TypeSymlink && e.Mode != 0:
		add(field("mode"), "%q: a symlink has no mode; want 0", e.Path)
	}
	if e.Type == TypeFile {
		if e.Size < 0 {
			add(field("size"), "%q: negative size %d", e.Path, e.Size)
		}
		if !validSum(e.SHA256) {
			add(field("sha256"), "%q: a file needs a sha256 of 64 lowercase hex digits, not %q", e.Path, e.SHA256)
		}
	} else {
		if e.Size != 0 {
			add(field("size"), "%q: only a file has a size", e.Path)
		}
		if e.SHA256 != "" {
			add(field("sha256"), "%q: only a file has a sha256", e.Path)
		}
	}
	switch {
	case e.Type != TypeSymlink && e.Target != "":
		add(field("target"), "%q: only a symlink has a target", e.Path)
	case e.Type == TypeSymlink && e.Target == "":
		add(field("target"), "%q: a symlink needs a target", e.Path)
	case len(e.Target) > 4095:
		add(field("target"), "%q: the target is longer than 4095 bytes", e.Path)
	case strings.IndexByte(e.Target, 0) >= 0:
		add(field("target"), "%q: the target contains a NUL byte", e.Path)
	}
}

// checkActions checks a list of actions, whose field name is list.
func checkActions(add func(string, string, ...any), list string, as []Action) {
	names := map[string]bool{}
	for i, a := range as {
		field := func(name string) string { return fmt.Sprintf("%s[%d].%s", list, i, name) }
		if msg := checkText("name", a.Name); msg != "" {
			add(field("name"), "%s", msg)
		} else if names[a.Name] {
			add(field("name"), "%q is used twice in %s", a.Name, list)
		}
		names[a.Name] = true
		switch {
		case len(a.Command) == 0:
			add(field("command"), "%q: a command is required", a.Name)
		case a.Command[0] == "":
			add(field("command"), "%q: the program (first element) is empty", a.Name)
		}
		for _, arg := range a.Command {
			if strings.IndexByte(arg, 0) >= 0 {
				add(field("command"), "%q: an argument contains a NUL byte", a.Name)
				break
			}
		}
		if a.TimeoutSeconds < 0 || a.TimeoutSeconds > 86400 {
			add(field("timeout_seconds"), "%q: %d is not between 0 (the agent's default) and 86400", a.Name, a.TimeoutSeconds)
		}
	}
}

// checkText returns why s is not an acceptable product, version or action
// name.
func checkText(what, s string) string {
	switch {
	case s == "":
		return "a " + what + " is required"
	case len(s) > 100:
		return "a " + what + " is at most 100 bytes"
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "a " + what + " cannot contain control characters"
	}
	return ""
}

// checkPath returns why p is not an acceptable entry path.
func checkPath(p string) string {
	switch {
	case p == "":
		return "the path is empty"
	case len(p) > 4096:
		return "the path is longer than 4096 bytes"
	case strings.IndexByte(p, 0) >= 0:
		return "the path contains a NUL byte"
	case !utf8.ValidString(p):
		return "the path is not valid UTF-8"
	case p[0] == '/':
		return "the path is absolute"
	case p == ".":
		return `the install root "." is not an entry`
	}
	for _, el := range strings.Split(p, "/") {
		switch {
		case el == "..":
			return `the path has a ".." element`
		case len(el) > 255:
			return "a path element is longer than 255 bytes"
		}
	}
	if path.Clean(p) != p {
		return "the path is not clean (empty or \".\" elements, or a trailing slash)"
	}
	return ""
}

// validSum reports whether s is a lowercase hex SHA-256.
func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// unixMode returns the permission bits of m in their Unix encoding.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// FileMode returns a manifest's mode (permission bits with setuid, setgid
// and sticky) as an fs.FileMode.
func FileMode(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
