package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/patchday/patchday/client"
)

// fakeAPI serves canned answers by "METHOD /path" (the query is not part
// of the key) and records every request it gets.
type fakeAPI struct {
	t       *testing.T
	mu      sync.Mutex
	answers map[string]cannedAnswer
	got     []gotRequest
}

type cannedAnswer struct {
	status      int
	contentType string
	body        string
}

type gotRequest struct {
	method, path, query, auth, contentType, body string
}

func newFakeAPI(t *testing.T, answers map[string]cannedAnswer) (*fakeAPI, map[string]string) {
	t.Helper()
	f := &fakeAPI{t: t, answers: answers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, gotRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		f.mu.Unlock()
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			a = cannedAnswer{http.StatusNotFound, "application/json", `{"error":"no such path in the fake"}`}
		}
		if a.contentType == "" {
			a.contentType = "application/json"
		}
		if a.status == 0 {
			a.status = http.StatusOK
		}
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return f, map[string]string{"PATCHDAY_SERVER": srv.URL, "PATCHDAY_TOKEN": "pdt_test"}
}

func (f *fakeAPI) requests() []gotRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gotRequest(nil), f.got...)
}

// only returns the one request made with method and path.
func (f *fakeAPI) only(method, path string) gotRequest {
	f.t.Helper()
	var out []gotRequest
	for _, r := range f.requests() {
		if r.method == method && r.path == path {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		f.t.Fatalf("%s %s: %d requests, want 1; got %+v", method, path, len(out), f.requests())
	}
	if out[0].auth != "Bearer pdt_test" {
		f.t.Errorf("%s %s: Authorization %q", method, path, out[0].auth)
	}
	return out[0]
}

// runIO runs the command with stdin and returns stdout and stderr apart.
func runIO(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

const pmPath = "/api/v1/cases/PD-2026-0001/postmortem"

// pmShown is a post-mortem as the server answers GET: revision 3, a
// draft, with a tenet, an action, a gap and a comment.
const pmShown = `{
  "case": {"id": "PD-2026-0001", "title": "Heap overflow in the TLV parser", "state": "released", "product": "gateway", "severity": "high", "released": "2026-03-10T00:00:00Z"},
  "exists": true, "complete": false, "revision": 3,
  "root_cause": "The length field was trusted.\nThe copy was unbounded.", "cwe": "CWE-787", "cwe_name": "CWE-787 Out-of-bounds Write",
  "component": "tlv", "team": "edge", "introduced_version": "2.1.0", "introduced_commit": "",
  "how_found": "fuzzing", "why_missed": "",
  "tenet": {"id": 7, "title": "Bound every copy", "description": "", "retired": false, "created_at": "2026-01-01T00:00:00Z"},
  "actions": [{"what": "Fuzz the TLV parser in CI", "owner": "alice", "due": "2026-05-01", "done": true}],
  "author": "bob@example.com", "edited_by": "alice@example.com",
  "created_at": "2026-03-11T09:00:00Z", "updated_at": "2026-03-12T10:30:00Z",
  "missing": [{"field": "why_missed", "what": "why earlier checks missed it"}],
  "comments": [{"id": 1, "author": "carol@example.com", "body": "Why did the fuzzer not reach this?", "at": "2026-03-12T11:00:00Z"}]
}`

// pmSaved is the answer to a save: revision 4, complete.
const pmSaved = `{"case": {"id": "PD-2026-0001", "title": "t", "state": "released"}, "exists": true, "complete": true, "revision": 4,
  "tenet": null, "actions": [], "missing": [], "comments": []}`

func TestPostMortemShow(t *testing.T) {
	f, env := newFakeAPI(t, map[string]cannedAnswer{"GET " + pmPath: {body: pmShown}})
	out, _, err := runIO(t, env, "", "postmortem", "show", "PD-2026-0001")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PD-2026-0001  Heap overflow in the TLV parser",
		"released (product gateway, severity high, released 2026-03-10)",
		"draft, revision 3 (1 part(s) missing)",
		"The length field was trusted.\n                    The copy was unbounded.",
		"cwe:                CWE-787 Out-of-bounds Write\n",
		"Bound every copy (tenet 7)",
		"[x] Fuzz the TLV parser in CI (owner alice, due 2026-05-01)",
		"why_missed: why earlier checks missed it",
		"2026-03-12 11:00 UTC  carol@example.com\n    Why did the fuzzer not reach this?",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	f.only("GET", pmPath)

	out, _, err = runIO(t, env, "", "postmortem", "show", "PD-2026-0001", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var pm client.PostMortem
	if err := json.Unmarshal([]byte(out), &pm); err != nil || pm.Revision != 3 || pm.Tenet == nil || pm.Tenet.ID != 7 || len(pm.Comments) != 1 {
		t.Fatalf("show --json: %v %+v\n%s", err, pm, out)
	}
}

// TestPostMortemEditRoundTrip: the output of show --json, with the
// revision dropped, is saved over the revision the server has now, with
// the tenet sent as its id and the read-only fields left out.
func TestPostMortemEditRoundTrip(t *testing.T) {
	f, env := newFakeAPI(t, map[string]cannedAnswer{"GET " + pmPath: {body: pmShown}, "PUT " + pmPath: {body: pmSaved}})
	var file map[string]any
	if err := json.Unmarshal([]byte(pmShown), &file); err != nil {
		t.Fatal(err)
	}
	delete(file, "revision")
	file["why_missed"] = "The fuzzer had no TLV corpus."
	b, _ := json.Marshal(file)
	name := filepath.Join(t.TempDir(), "pm.json")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIO(t, env, "", "postmortem", "edit", "PD-2026-0001", "--file", name)
	if err != nil || out != "saved revision 4; complete\n" {
		t.Fatalf("edit: %q, %v", out, err)
	}
	put := f.only("PUT", pmPath)
	if put.contentType != "application/json" {
		t.Errorf("PUT Content-Type %q", put.contentType)
	}
	// The server refuses unknown fields, so exactly the draft's are sent.
	dec := json.NewDecoder(strings.NewReader(put.body))
	dec.DisallowUnknownFields()
	var sent client.PostMortemDraft
	if err := dec.Decode(&sent); err != nil {
		t.Fatalf("PUT body %s: %v", put.body, err)
	}
	if sent.Revision != 3 || sent.TenetID != 7 || sent.WhyMissed != "The fuzzer had no TLV corpus." || sent.CWE != "CWE-787" ||
		len(sent.Actions) != 1 || !sent.Actions[0].Done || sent.Actions[0].Due != "2026-05-01" {
		t.Errorf("PUT body: %+v", sent)
	}
	if !strings.Contains(put.body, `"tenet":7`) {
		t.Errorf("tenet not sent as its id: %s", put.body)
	}
}

// TestPostMortemEditRevisionGiven: a revision in the file is sent as it
// is, without fetching; a 409 then says how to go on.
func TestPostMortemEditRevisionGiven(t *testing.T) {
	f, env := newFakeAPI(t, map[string]cannedAnswer{
		"PUT " + pmPath: {status: http.StatusConflict, body: `{"error": "the post-mortem was changed by someone else (now at revision 5); reload it and make your changes again"}`},
	})
	_, _, err := runIO(t, env, `{"root_cause": "x", "tenet": null, "revision": 2}`, "postmortem", "edit", "PD-2026-0001", "--file", "-")
	if err == nil || !strings.Contains(err.Error(), "now at revision 5") || !strings.Contains(err.Error(), "drop \"revision\"") {
		t.Fatalf("edit over a newer revision: %v", err)
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict || ExitCode(err) != 1 {
		t.Errorf("the refusal is not a 409 *client.Error: %v", err)
	}
	if got := f.requests(); len(got) != 1 || got[0].method != "PUT" || !strings.Contains(got[0].body, `"revision":2`) {
		t.Errorf("requests: %+v", got)
	}
}

// TestPostMortemEditRefused: a 422 names every problem, one per line,
// once (the server's message also has them, on one line).
func TestPostMortemEditRefused(t *testing.T) {
	_, env := newFakeAPI(t, map[string]cannedAnswer{
		"GET " + pmPath: {body: pmShown},
		"PUT " + pmPath: {status: http.StatusUnprocessableEntity, body: `{"error": "the post-mortem was not saved: actions.10.due: \"soon\" is not a date like 2026-12-31; actions.2.owner: name who owns it; cwe: CWE-99999 is not a current weakness",
			"fields": {"cwe": "CWE-99999 is not a current weakness", "actions.10.due": "\"soon\" is not a date like 2026-12-31", "actions.2.owner": "name who owns it"}}`},
	})
	out, _, err := runIO(t, env, `{"cwe": "CWE-99999"}`, "postmortem", "edit", "PD-2026-0001", "--file", "-")
	if err == nil || out != "" {
		t.Fatalf("a refused save: %q, %v", out, err)
	}
	want := "the post-mortem was not saved\n" +
		"  actions.2.owner: name who owns it\n" +
		"  actions.10.due: \"soon\" is not a date like 2026-12-31\n" +
		"  cwe: CWE-99999 is not a current weakness"
	if err.Error() != want || ExitCode(err) != 1 {
		t.Errorf("refusal (exit %d):\n%s\nwant:\n%s", ExitCode(err), err, want)
	}
	var ce *client.Error
	if !errors.As(err, &ce) || len(ce.Fields) != 3 {
		t.Errorf("the *client.Error is lost: %v", err)
	}
}

func TestPostMortemEditBadFile(t *testing.T) {
	f, env := newFakeAPI(t, nil)
	for _, in := range []string{`{"root_causes": "typo"}`, `{"tenet": "Bound every copy"}`, `{} {}`, `not json`} {
		_, _, err := runIO(t, env, in, "postmortem", "edit", "PD-2026-0001", "--file", "-")
		if err == nil || ExitCode(err) != 2 {
			t.Errorf("%s: %v (exit %d), want a usage error", in, err, ExitCode(err))
		}
	}
	if got := f.requests(); len(got) != 0 {
		t.Errorf("a bad file reached the server: %+v", got)
	}
}

func TestPostMortemComment(t *testing.T) {
	f, env := newFakeAPI(t, map[string]cannedAnswer{
		"POST " + pmPath + "/comments": {status: http.StatusCreated, body: `{"id": 12, "author": "carol@example.com", "body": "x", "at": "2026-03-12T11:00:00Z"}`},
	})
	out, _, err := runIO(t, env, "", "postmortem", "comment", "PD-2026-0001", "Why", "so", "late?")
	if err != nil || !strings.Contains(out, "comment 12 added") {
		t.Fatalf("comment: %q, %v", out, err)
	}
	if got := f.only("POST", pmPath+"/comments"); got.body != `{"body":"Why so late?"}` {
		t.Errorf("comment body %s", got.body)
	}
}

const tenetsJSON = `[
  {"id": 1, "title": "Validate input at the boundary", "description": "Every field from outside is checked.", "retired": false, "created_at": "2026-01-01T00:00:00Z"},
  {"id": 2, "title": "Bound every copy", "description": "Copies are bounded by the destination.", "retired": true, "created_at": "2026-01-02T00:00:00Z"}
]`

func TestTenetCommands(t *testing.T) {
	f, env := newFakeAPI(t, map[string]cannedAnswer{
		"GET /api/v1/tenets":    {body: tenetsJSON},
		"POST /api/v1/tenets":   {status: http.StatusCreated, body: `{"id": 3, "title": "Fail closed", "description": "", "retired": false}`},
		"PUT /api/v1/tenets/1":  {body: `{"id": 1, "title": "Validate input at the boundary", "description": "Every field from outside is checked.", "retired": true}`},
		"PUT /api/v1/tenets/2":  {body: `{"id": 2, "title": "Bound every copy", "description": "", "retired": true}`},
		"PUT /api/v1/tenets/99": {status: http.StatusNotFound, body: `{"error": "there is no tenet 99"}`},
	})
	out, _, err := runIO(t, env, "", "tenet", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID STATUS TITLE" ||
		strings.Join(strings.Fields(lines[2]), " ") != "2 retired Bound every copy" {
		t.Errorf("list:\n%s", out)
	}

	out, _, err = runIO(t, env, "", "tenet", "add", "Fail closed", "--description", "d")
	if err != nil || out != "tenet 3 added: Fail closed\n" {
		t.Fatalf("add: %q, %v", out, err)
	}
	if got := f.only("POST", "/api/v1/tenets"); got.body != `{"title":"Fail closed","description":"d","retired":false}` {
		t.Errorf("add sent %s", got.body)
	}

	// --retire keeps the title and description the list has.
	out, _, err = runIO(t, env, "", "tenet", "edit", "1", "--retire")
	if err != nil || !strings.Contains(out, "tenet 1 saved: Validate input at the boundary (retired)") {
		t.Fatalf("edit --retire: %q, %v", out, err)
	}
	var in client.TenetIn
	if err := json.Unmarshal([]byte(f.only("PUT", "/api/v1/tenets/1").body), &in); err != nil ||
		in != (client.TenetIn{Title: "Validate input at the boundary", Description: "Every field from outside is checked.", Retired: true}) {
		t.Errorf("edit --retire sent %+v (%v)", in, err)
	}
	// Clearing the description of a retired tenet keeps it retired.
	if _, _, err = runIO(t, env, "", "tenet", "edit", "2", "--description", ""); err != nil {
		t.Fatal(err)
	}
	if got := f.only("PUT", "/api/v1/tenets/2").body; got != `{"title":"Bound every copy","description":"","retired":true}` {
		t.Errorf("edit --description '' sent %s", got)
	}

	for _, args := range [][]string{{"tenet", "edit", "1"}, {"tenet", "edit", "1", "--retire", "--restore"}, {"tenet", "edit", "x", "--retire"}} {
		if _, _, err := runIO(t, env, "", args...); err == nil || ExitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := runIO(t, env, "", "tenet", "edit", "99", "--retire"); err == nil || !strings.Contains(err.Error(), "no tenet 99") {
		t.Errorf("edit of an unknown tenet: %v", err)
	}
	if n := len(f.requests()); n != 7 { // list, add, 2×(list, put), list
		t.Errorf("%d requests, want 7: %+v", n, f.requests())
	}
}

const trainingJSON = `{
  "team": "edge", "from": "2026-01-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "months": ["2026-01", "2026-02", "2026-03"],
  "lessons": 5, "teams": ["edge"],
  "worst": [{"dimension": "cwe", "key": "CWE-787", "label": "CWE-787 Out-of-bounds Write", "path": ["CWE-664", "CWE-119"], "own": 3, "total": 3, "counts": [0, 1, 2], "trend": 1, "direction": "rising"}],
  "dimensions": [
    {"key": "tenet", "title": "Tenets", "rows": [{"dimension": "tenet", "key": "Bound every copy", "label": "Bound every copy", "own": 5, "total": 5, "counts": [2, 2, 1], "trend": -0.5, "direction": "falling"}]},
    {"key": "cwe", "title": "Weaknesses (CWE)", "rows": [
      {"dimension": "cwe", "key": "CWE-119", "label": "CWE-119 Improper Restriction", "path": ["CWE-664"], "own": 0, "total": 3, "counts": [0, 1, 2], "trend": 1, "direction": "rising"},
      {"dimension": "cwe", "key": "CWE-787", "label": "CWE-787 Out-of-bounds Write", "path": ["CWE-664", "CWE-119"], "own": 3, "total": 3, "counts": [0, 1, 2], "trend": 1, "direction": "rising"}]},
    {"key": "component", "title": "Components", "rows": []}
  ]
}`

func TestTraining(t *testing.T) {
	const csv = "dimension,key,label,path,own,total,trend,direction,2026-01\r\ntenet,\"A, B\",\"A, B\",,1,1,0,steady,1\r\n"
	f, env := newFakeAPI(t, map[string]cannedAnswer{"GET /api/v1/training": {body: trainingJSON}})
	out, _, err := runIO(t, env, "", "training", "--team", "edge", "--months", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Training report for team edge, 2026-01 to 2026-03", "lessons: 5", "Worst trends:",
		"Weaknesses (CWE)  CWE-787 Out-of-bounds Write  3      +1/month", "Tenets:", "Bound every copy  5      -0.5/month",
		"  CWE-787 Out-of-bounds Write   3      +1/month  CWE-119\n", "Components:\n  no lessons"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if got := f.only("GET", "/api/v1/training"); got.query != "months=3&team=edge" {
		t.Errorf("query %q", got.query)
	}

	f2, env2 := newFakeAPI(t, map[string]cannedAnswer{"GET /api/v1/training": {contentType: "text/csv; charset=utf-8", body: csv}})
	out, _, err = runIO(t, env2, "", "training", "--format", "csv")
	if err != nil || out != csv {
		t.Fatalf("csv: %q, %v; want the body as it is", out, err)
	}
	if got := f2.only("GET", "/api/v1/training"); got.query != "format=csv&months=12" {
		t.Errorf("csv query %q", got.query)
	}

	f3, env3 := newFakeAPI(t, map[string]cannedAnswer{"GET /api/v1/training": {status: http.StatusUnprocessableEntity,
		body: `{"error": "the report could not be made", "fields": {"months": "\"99\" is not a number of months from 1 to 60"}}`}})
	_, _, err = runIO(t, env3, "", "training", "--months", "99", "--format", "json")
	if err == nil || !strings.Contains(err.Error(), "the report could not be made\n  months: ") {
		t.Errorf("a refused report: %v", err)
	}
	f3.only("GET", "/api/v1/training")
	if _, _, err := runIO(t, env3, "", "training", "--format", "xml"); err == nil || ExitCode(err) != 2 {
		t.Errorf("--format xml: %v, want a usage error", err)
	}
}

func TestPostMortemHelpAndToken(t *testing.T) {
	for _, c := range [][]string{{"postmortem"}, {"postmortem", "show"}, {"postmortem", "edit"}, {"postmortem", "comment"},
		{"tenet"}, {"tenet", "list"}, {"tenet", "add"}, {"tenet", "edit"}, {"training"}} {
		out, err := run(t, nil, append(c, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v --help: %v\n%s", c, err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "-") && !strings.HasPrefix(line, "-h, --help") && !strings.Contains(line, "PATCHDAY_") {
				t.Errorf("%v: flag without its environment variable: %s", c, line)
			}
		}
	}
	if _, err := run(t, nil, "tenet", "list"); err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "--token") {
		t.Errorf("no token: %v", err)
	}
}
