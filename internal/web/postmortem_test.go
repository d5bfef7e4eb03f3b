package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

func apiPut(path, token, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// released walks a case to released in the next train (the rules that get
// it there are tested elsewhere) and returns the release.
func (h *harness) released(id string) release.Release {
	h.t.Helper()
	h.schedule(id)
	ctx := h.t.Context()
	rels, err := h.srv.Releases.Upcoming(ctx, 3)
	if err != nil {
		h.t.Fatal(err)
	}
	rm := release.Manager{Email: "rm@example.com", Roles: staff.Roles{staff.RoleReleaseManager}}
	if err := h.srv.Releases.Assign(ctx, rm, rels[0].ID, id); err != nil {
		h.t.Fatal(err)
	}
	c, _ := h.db.CaseByRef(ctx, id)
	if err := h.db.MoveCase(ctx, c.ID, cases.Move{From: cases.Scheduled, To: cases.Released, Actor: "system", At: h.clock.Now()},
		audit.New(audit.System, h.clock.Now(), "x", "", "")); err != nil {
		h.t.Fatal(err)
	}
	return rels[0]
}

type pmResponse struct {
	Exists   bool   `json:"exists"`
	Complete bool   `json:"complete"`
	Revision int    `json:"revision"`
	CWE      string `json:"cwe"`
	Author   string `json:"author"`
	EditedBy string `json:"edited_by"`
	Missing  []struct {
		Field string `json:"field"`
	} `json:"missing"`
	Comments []struct {
		Author, Body string
	} `json:"comments"`
}

// TestPostMortemGatesClosing: a released case cannot close until its
// post-mortem is complete. Drafts save as they go; bad input is refused
// field by field and changes nothing; a stale revision is refused rather
// than overwritten; reviewers comment; every save is audited with its
// author; once complete the case closes and its post-mortem must stay
// complete.
func TestPostMortemGatesClosing(t *testing.T) {
	h := newHarness(t)
	const pw = "a long enough password"
	h.addUser("tri@example.com", "triager", pw)
	h.addUser("dev@example.com", "developer", pw)
	h.addUser("rm@example.com", "release-manager", pw)
	h.addUser("fleet@example.com", "fleet-admin", pw)
	tri, dev, rm, fleet := h.token("tri@example.com"), h.token("dev@example.com"), h.token("rm@example.com"), h.token("fleet@example.com")
	id, _ := h.report("Heap overflow in the header parser")
	path := "/api/v1/cases/" + id + "/postmortem"

	// Before release: nothing to learn from a case in triage.
	if rec := h.do(apiPut(path, dev, `{"root_cause":"x"}`)); rec.Code != http.StatusConflict {
		t.Errorf("a post-mortem of a new case: %d %s", rec.Code, rec.Body)
	}
	h.released(id)

	close := func(token string) *httptest.ResponseRecorder {
		return h.do(apiPost("/api/v1/cases/"+id+"/transitions", token, "application/json", `{"to":"closed"}`))
	}
	if rec := close(tri); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "post-mortem") {
		t.Fatalf("closing without a post-mortem: %d %s", rec.Code, rec.Body)
	}
	got := decode[pmResponse](t, h.do(apiGet(path, "Bearer "+dev)))
	if got.Exists || got.CWE != "CWE-122" || len(got.Missing) != 7 {
		t.Errorf("a new post-mortem starts from triage's CWE and how it was found: %+v", got)
	}

	if rec := h.do(apiPut(path, fleet, `{"root_cause":"x"}`)); rec.Code != http.StatusForbidden {
		t.Errorf("a fleet administrator writing it: %d", rec.Code)
	}
	if rec := h.do(apiPut(path, dev, `{"root_cause":"The parser trusted the header's length field.","revision":0}`)); rec.Code != 200 {
		t.Fatalf("a first draft: %d %s", rec.Code, rec.Body)
	}
	got = decode[pmResponse](t, h.do(apiGet(path, "Bearer "+dev)))
	if !got.Exists || got.Complete || got.Revision != 1 || got.Author != "dev@example.com" {
		t.Errorf("after the draft: %+v", got)
	}
	if rec := h.do(apiPut(path, tri, `{"root_cause":"mine","revision":0}`)); rec.Code != http.StatusConflict ||
		!strings.Contains(rec.Body.String(), "revision 1") {
		t.Errorf("saving over a newer revision: %d %s", rec.Code, rec.Body)
	}
	bad := `{"root_cause":"x","cwe":"CWE-999999","how_found":"luck","tenet":999,"actions":[{"what":"fuzz it","owner":"","due":"soon"}],"revision":1}`
	rec := h.do(apiPut(path, dev, bad))
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a bad draft: %d %s", rec.Code, rec.Body)
	}
	for _, f := range []string{"cwe", "how_found", "tenet", "actions.0.owner", "actions.0.due"} {
		if !strings.Contains(rec.Body.String(), `"`+f+`"`) {
			t.Errorf("the refusal does not name %s: %s", f, rec.Body)
		}
	}
	if rec := h.do(apiPut(path, dev, `{"root_cause":"x","colour":"red"}`)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown field: %d", rec.Code)
	}
	if got := decode[pmResponse](t, h.do(apiGet(path, "Bearer "+dev))); got.Revision != 1 {
		t.Errorf("refused saves changed the post-mortem: %+v", got)
	}

	// The page: the tester's form fills in the rest.
	session := h.signIn("tri@example.com", pw)
	form := url.Values{"revision": {"1"}, "root_cause": {"The parser trusted the header's length field."}, "cwe": {"CWE-787"},
		"component": {"http/header"}, "team": {"Edge"}, "introduced_version": {"2.1.0"}, "how_found": {"external-researcher"},
		"why_missed": {"No fuzz target covered the header parser."}, "tenet": {"2"},
		"actions.0.what": {"Add a header fuzz target"}, "actions.0.owner": {"dev@example.com"}, "actions.0.due": {"2026-04-15"},
		"actions.1.what": {""}, "actions.1.owner": {""}, "actions.1.due": {""}}
	if rec := h.do(post("/staff/cases/"+id+"/postmortem", form, session)); rec.Code != http.StatusSeeOther {
		t.Fatalf("the form: %d %s", rec.Code, rec.Body)
	}
	page := h.do(get("/staff/cases/"+id+"/postmortem", session)).Body.String()
	for _, want := range []string{"Complete", "written by dev@example.com, last saved by tri@example.com", "CWE-787 Out-of-bounds Write",
		"Bound every memory access", `value="Add a header fuzz target"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if rec := h.do(post("/staff/cases/"+id+"/postmortem/comments", url.Values{"body": {"Should the fuzz target run in CI?"}},
		h.signIn("rm@example.com", pw))); rec.Code != http.StatusSeeOther {
		t.Fatalf("a comment: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiPost(path+"/comments", fleet, "application/json", `{"body":""}`)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("an empty comment: %d", rec.Code)
	}
	if rec := h.do(apiPost(path+"/comments", fleet, "application/json", `{"body":"Looks right."}`)); rec.Code != http.StatusCreated {
		t.Errorf("any staff member may review: %d %s", rec.Code, rec.Body)
	}
	got = decode[pmResponse](t, h.do(apiGet(path, "Bearer "+rm)))
	if !got.Complete || got.Revision != 2 || got.EditedBy != "tri@example.com" || len(got.Comments) != 2 || got.Comments[0].Author != "rm@example.com" {
		t.Errorf("after the form and comments: %+v", got)
	}
	if case_ := h.do(get("/staff/cases/"+id, session)).Body.String(); !strings.Contains(case_, "<strong>Complete</strong> (revision 2)") {
		t.Errorf("the case page does not show the post-mortem:\n%s", grepLines(case_, "ost-mortem"))
	}

	if rec := close(tri); rec.Code != 200 {
		t.Fatalf("closing with a complete post-mortem: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiPut(path, dev, `{"root_cause":"x","revision":2}`)); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "must stay complete") {
		t.Errorf("emptying a closed case's post-mortem: %d %s", rec.Code, rec.Body)
	}
	var saves []string
	es, _ := h.db.ListAudit(t.Context(), audit.Query{Limit: audit.MaxLimit})
	for _, e := range es {
		if e.Action == "postmortem.save" {
			saves = append(saves, e.Who+" "+e.Detail)
		}
	}
	slices.Sort(saves)
	if len(saves) != 2 || !strings.HasPrefix(saves[0], "dev@example.com revision 1; still missing") || saves[1] != "tri@example.com revision 2; complete" {
		t.Errorf("audited saves: %q", saves)
	}
}

// TestTenetsAndTrainingReport: triagers edit the tenet list; a complete
// post-mortem is counted in the report by tenet, weakness (rolled up),
// component and how found; CSV and JSON exports; the page draws charts.
func TestTenetsAndTrainingReport(t *testing.T) {
	h := newHarness(t)
	const pw = "a long enough password"
	h.addUser("tri@example.com", "triager", pw)
	h.addUser("dev@example.com", "developer", pw)
	tri, dev := h.token("tri@example.com"), h.token("dev@example.com")

	if rec := h.do(apiPost("/api/v1/tenets", dev, "application/json", `{"title":"Fuzz every parser"}`)); rec.Code != http.StatusForbidden {
		t.Errorf("a developer editing the tenets: %d", rec.Code)
	}
	rec := h.do(apiPost("/api/v1/tenets", tri, "application/json", `{"title":"Fuzz every parser","description":"Each parser of outside data has a fuzz target in CI."}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("adding a tenet: %d %s", rec.Code, rec.Body)
	}
	fuzz := decode[struct{ ID int64 }](t, rec)
	if rec := h.do(apiPost("/api/v1/tenets", tri, "application/json", `{"title":"fuzz every PARSER"}`)); rec.Code != http.StatusConflict {
		t.Errorf("a duplicate title: %d", rec.Code)
	}
	if rec := h.do(apiPost("/api/v1/tenets", tri, "application/json", `{"title":""}`)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("an empty title: %d", rec.Code)
	}
	if rec := h.do(apiPut("/api/v1/tenets/1", tri, `{"title":"Validate all input","description":"At every trust boundary.","retired":true}`)); rec.Code != 200 {
		t.Errorf("retiring a tenet: %d %s", rec.Code, rec.Body)
	}
	id, _ := h.report("SQL injection in the search box")
	h.released(id)
	full := `{"root_cause":"The search term was pasted into SQL.","cwe":"CWE-89","component":"search","team":"Web","introduced_commit":"a1b2c3d",
		"how_found":"fuzzing","why_missed":"No test sent quotes.","tenet":1,"actions":[{"what":"Use parameters","owner":"web-lead","due":"2026-04-01"}]}`
	if rec := h.do(apiPut("/api/v1/cases/"+id+"/postmortem", dev, full)); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "retired") {
		t.Errorf("citing a retired tenet: %d %s", rec.Code, rec.Body)
	}
	full = strings.Replace(full, `"tenet":1`, `"tenet":`+itoa(fuzz.ID), 1)
	if rec := h.do(apiPut("/api/v1/cases/"+id+"/postmortem", dev, full)); rec.Code != 200 {
		t.Fatalf("a complete post-mortem: %d %s", rec.Code, rec.Body)
	}

	rec = h.do(apiGet("/api/v1/training", "Bearer "+dev))
	if rec.Code != 200 {
		t.Fatalf("the report: %d %s", rec.Code, rec.Body)
	}
	type report struct {
		Lessons    int
		Teams      []string
		Dimensions []struct {
			Key  string
			Rows []struct {
				Key   string
				Total int
			}
		}
	}
	rep := decode[report](t, rec)
	keys := map[string][]string{}
	for _, d := range rep.Dimensions {
		for _, r := range d.Rows {
			keys[d.Key] = append(keys[d.Key], r.Key)
		}
	}
	if rep.Lessons != 1 || !slices.Equal(rep.Teams, []string{"Web"}) || !slices.Equal(keys["tenet"], []string{"Fuzz every parser"}) ||
		!slices.Contains(keys["cwe"], "CWE-89") || !slices.Contains(keys["cwe"], "CWE-74") || !slices.Equal(keys["component"], []string{"search"}) ||
		!slices.Equal(keys["how_found"], []string{"Fuzzing"}) {
		t.Errorf("the report: %+v", rep)
	}
	if rec := h.do(apiGet("/api/v1/training?team=Mobile", "Bearer "+dev)); !strings.Contains(rec.Body.String(), `"lessons": 0`) {
		t.Errorf("another team's report counts the Web lesson: %s", rec.Body)
	}
	if rec := h.do(apiGet("/api/v1/training?months=0", "Bearer "+dev)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("a zero-month report: %d", rec.Code)
	}
	session := h.signIn("dev@example.com", pw)
	csv := h.do(get("/staff/training.csv?team=Web", session))
	if csv.Code != 200 || csv.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(csv.Body.String(), "tenet,Fuzz every parser,Fuzz every parser,,1,1,") ||
		!strings.Contains(csv.Header().Get("Content-Disposition"), "training-report-Web.csv") {
		t.Errorf("the CSV export: %d %q\n%s", csv.Code, csv.Header(), csv.Body)
	}
	page := h.do(get("/staff/training", session)).Body.String()
	if n := strings.Count(page, "<svg"); n < 5 || !strings.Contains(page, `<strong id="lessons">1</strong>`) {
		t.Errorf("the report page: %d charts\n%s", n, grepLines(page, "lessons"))
	}
	if tenets := h.do(get("/staff/tenets", session)).Body.String(); !strings.Contains(tenets, "Validate all input") || !strings.Contains(tenets, "retired") {
		t.Errorf("the tenet list page:\n%s", grepLines(tenets, "Validate"))
	}
}

// TestBriefing: a release's briefing is drawn from its post-mortems and
// advisories, edited, then shared and fixed.
func TestBriefing(t *testing.T) {
	h := newHarness(t)
	const pw = "a long enough password"
	h.addUser("rm@example.com", "release-manager", pw)
	h.addUser("dev@example.com", "developer", pw)
	id, _ := h.report("Heap overflow in the header parser")
	rel := h.released(id)
	path := "/staff/releases/" + itoa(rel.ID) + "/briefing"
	dev, rm, devToken := h.signIn("dev@example.com", pw), h.signIn("rm@example.com", pw), h.token("dev@example.com")

	page := h.do(get(path, rm)).Body.String()
	for _, want := range []string{"Security briefing: the March 2026 release", "No post-mortem yet.", "Cases without a complete post-mortem yet", id} {
		if !strings.Contains(page, want) {
			t.Errorf("the generated briefing lacks %q", want)
		}
	}
	full := `{"root_cause":"The parser trusted the header's length field.","cwe":"CWE-787","component":"http","team":"Edge","introduced_version":"2.1.0",
		"how_found":"external-researcher","why_missed":"No fuzz target covered headers.","tenet":2,"actions":[{"what":"Fuzz headers","owner":"edge-lead","due":"2026-04-30"}]}`
	if rec := h.do(apiPut("/api/v1/cases/"+id+"/postmortem", devToken, full)); rec.Code != 200 {
		t.Fatalf("post-mortem: %d %s", rec.Code, rec.Body)
	}
	page = h.do(get(path, rm)).Body.String()
	for _, want := range []string{"The parser trusted the header&#39;s length field.", "Weakness: CWE-787 Out-of-bounds Write.", "Introduced in 2.1.0.",
		"Found by: reported by an outside researcher.", "Tenet: Bound every memory access.", "• Fuzz headers (edge-lead, due 30 Apr 2026)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the briefing lacks %q", want)
		}
	}
	if strings.Contains(page, "Cases without a complete post-mortem") {
		t.Error("the briefing still says a post-mortem is missing")
	}
	edit := url.Values{"action": {"save"}, "title": {"May webcast: trusting lengths"}, "intro": {"One bug, one lesson."},
		"items.0.case": {id}, "items.0.heading": {"Header overflow"}, "items.0.fixed": {"Fixed."}, "items.0.why": {"Lengths."}, "takeaways": {"Fuzz."}}
	if rec := h.do(post(path, edit, dev)); rec.Code != http.StatusForbidden {
		t.Errorf("a developer editing the briefing: %d", rec.Code)
	}
	edit.Set("items.0.heading", "")
	if rec := h.do(post(path, edit, rm)); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "cannot be empty") {
		t.Errorf("an item without a heading: %d", rec.Code)
	}
	edit.Set("items.0.heading", "Header overflow")
	if rec := h.do(post(path, edit, rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("saving the briefing: %d %s", rec.Code, rec.Body)
	}
	if page := h.do(get(path, rm)).Body.String(); !strings.Contains(page, "May webcast: trusting lengths") || !strings.Contains(page, "edited</strong> by rm@example.com") {
		t.Errorf("the edited briefing:\n%s", grepLines(page, "webcast"))
	}
	if rec := h.do(post(path, url.Values{"action": {"share"}}, rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("sharing: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(post(path, edit, rm)); rec.Code != http.StatusConflict {
		t.Errorf("editing a shared briefing: %d", rec.Code)
	}
	rec := h.do(apiGet("/api/v1/releases/"+itoa(rel.ID)+"/briefing", "Bearer "+devToken))
	if !strings.Contains(rec.Body.String(), `"shared": true`) || !strings.Contains(rec.Body.String(), `"shared_by": "rm@example.com"`) {
		t.Errorf("the briefing over the API: %s", rec.Body)
	}
}

// TestDraftFromForm: the form's numbered action rows are read in order
// until the first missing row; a tenet that is not a number is kept as an
// impossible id so the service refuses it rather than silently clearing it.
func TestDraftFromForm(t *testing.T) {
	tests := []struct {
		name    string
		form    string
		tenet   int64
		actions int
		done    []bool
	}{
		{"empty", "", 0, 0, nil},
		{"two rows, second done", "tenet=3&actions.0.what=a&actions.0.owner=o&actions.0.due=2026-01-01&actions.1.what=b&actions.1.done=1", 3, 2, []bool{false, true}},
		{"a gap ends the rows", "actions.0.what=a&actions.2.what=c", 0, 1, []bool{false}},
		{"tenet not a number", "tenet=bound", -1, 0, nil},
		{"tenet empty", "tenet=", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			d := draftFromForm(f)
			if d.TenetID != tt.tenet || len(d.Actions) != tt.actions {
				t.Fatalf("got tenet %d, %d actions: %+v", d.TenetID, len(d.Actions), d)
			}
			for i, want := range tt.done {
				if d.Actions[i].Done != want {
					t.Errorf("action %d done %v", i, d.Actions[i].Done)
				}
			}
		})
	}
}

// FuzzDraftFromForm: any form body reads without panicking, and never
// yields more action rows than the form could name.
func FuzzDraftFromForm(f *testing.F) {
	f.Add("tenet=2&actions.0.what=x&actions.0.due=2026-01-01")
	f.Add("actions.0.what=%ff&revision=-1&tenet=99999999999999999999")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if d := draftFromForm(form); len(d.Actions) > 100 {
			t.Fatalf("%d action rows", len(d.Actions))
		}
	})
}
