package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/audit"
)

func TestCaseMovesAPIAndPage(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	tri, dev := h.token("tri@example.com"), h.token("dev@example.com")
	id, _ := h.report("Heap overflow")
	move := func(token, body string) (int, string) {
		rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", token, "application/json", body))
		return rec.Code, rec.Body.String()
	}

	if code, body := move(dev, `{"to":"triage"}`); code != 403 || !strings.Contains(body, "only a triager may") {
		t.Errorf("developer: %d %s", code, body)
	}
	code, body := move(tri, `{"to":"triage"}`)
	var out struct {
		State   string
		Allowed []string
	}
	json.Unmarshal([]byte(body), &out)
	if code != 200 || out.State != "triage" || strings.Join(out.Allowed, ",") != "needs-info,invalid,duplicate,accepted-risk" {
		t.Errorf("triage: %d %s", code, body)
	}
	if code, body := move(tri, `{"to":"released"}`); code != 409 || !strings.Contains(body, "you may move it to: needs-info, invalid, duplicate, accepted-risk") {
		t.Errorf("skipping ahead: %d %s", code, body)
	}
	if code, body := move(tri, `{"to":"invalid","reason":"boring"}`); code != 422 || !strings.Contains(body, `"reason"`) {
		t.Errorf("invalid with a bad reason: %d %s", code, body)
	}
	if code, body := move(tri, `{"to":"needs-info","comment":"Which build?","extra":1}`); code != 422 || !strings.Contains(body, "unknown field") {
		t.Errorf("unknown field: %d %s", code, body)
	}

	// The page: triage, then accept through the form.
	h.addUser("tri2@example.com", "triager", "a long enough password")
	session := h.signIn("tri2@example.com", "a long enough password")
	page := h.do(get("/staff/cases/"+id, session)).Body.String()
	if !strings.Contains(page, `<option >needs-info</option>`) || strings.Contains(page, `<option >accepted</option>`) {
		t.Errorf("the move form should offer needs-info and not yet accepted")
	}
	rec := h.do(post("/staff/cases/"+id+"/triage", url.Values{"cvss_vector": {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, "cwe": {"CWE-122"}, "affected": {"x"}}, session))
	if rec.Code != 422 {
		t.Errorf("triage with a bad version id: %d", rec.Code)
	}
	rec = h.do(post("/staff/cases/"+id+"/moves", url.Values{"to": {"accepted"}}, session))
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "a severity (CVSS vector)") {
		t.Errorf("accepting untriaged through the page: %d", rec.Code)
	}
	rec = h.do(post("/staff/cases/"+id+"/moves", url.Values{"to": {"needs-info"}, "comment": {"Which build did you test?"}}, session))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("needs-info through the page: %d %s", rec.Code, rec.Body)
	}
	page = h.do(get("/staff/cases/"+id+"?moved=needs-info", session)).Body.String()
	if !strings.Contains(page, "The case is now needs-info.") || !strings.Contains(page, "triage → <strong>needs-info</strong> by tri2@example.com") {
		t.Errorf("the page after the move lacks the flash or the history")
	}
}

// TestReporterAnswerReturnsToTriage: a case waiting on its reporter goes
// back to triage when the reporter writes on the private page.
func TestReporterAnswerReturnsToTriage(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	tri := h.token("tri@example.com")
	id, link := h.report("Needs more info")
	for _, body := range []string{`{"to":"triage"}`, `{"to":"needs-info","comment":"Which build?"}`} {
		if rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", tri, "application/json", body)); rec.Code != 200 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	ct, b := multipartBody(t, map[string]string{"body": "Build 2.4.1-17."}, nil)
	r := httptest.NewRequest(http.MethodPost, link+"/messages", b)
	r.Header.Set("Content-Type", ct)
	if rec := h.do(r); rec.Code != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(apiGet("/api/v1/cases/"+id, "Bearer "+tri))
	if !strings.Contains(rec.Body.String(), `"state": "triage"`) {
		t.Errorf("after the reporter's answer: %s", rec.Body)
	}
	// Writing again, while in triage, moves nothing.
	ct, b = multipartBody(t, map[string]string{"body": "And a log."}, nil)
	r = httptest.NewRequest(http.MethodPost, link+"/messages", b)
	r.Header.Set("Content-Type", ct)
	if rec := h.do(r); rec.Code != http.StatusSeeOther {
		t.Errorf("second message: %d", rec.Code)
	}
}

// TestInternalNotes: staff see internal notes; the researcher never does.
func TestInternalNotes(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	session := h.signIn("tri@example.com", "a long enough password")
	id, link := h.report("Internal note test")
	rec := h.do(post("/staff/cases/"+id+"/messages", url.Values{"body": {"Probably the same root cause as last month's."}, "internal": {"1"}}, session))
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "sent=note") {
		t.Fatalf("note: %d %v", rec.Code, rec.Header())
	}
	h.do(post("/staff/cases/"+id+"/messages", url.Values{"body": {"Thanks, we are on it."}}, session))
	staffPage := h.do(get("/staff/cases/"+id, session)).Body.String()
	if !strings.Contains(staffPage, "same root cause") || !strings.Contains(staffPage, "internal note") {
		t.Errorf("staff do not see the note")
	}
	researcher := h.do(get(link, "")).Body.String()
	if strings.Contains(researcher, "same root cause") || !strings.Contains(researcher, "Thanks, we are on it.") {
		t.Errorf("the researcher's page: want the message and never the note")
	}
}

func TestFlagsProposeOutOfBand(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	tri := h.signIn("tri@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")
	id, _ := h.report("Exploited in the wild")
	if rec := h.do(post("/staff/cases/"+id+"/flags", url.Values{"flag": {"attacks-observed"}}, dev)); rec.Code != 403 {
		t.Errorf("developer setting a flag: %d", rec.Code)
	}
	if rec := h.do(post("/staff/cases/"+id+"/flags", url.Values{"flag": {"on-fire"}}, tri)); rec.Code != 422 || !strings.Contains(rec.Body.String(), "is not a flag") {
		t.Errorf("unknown flag: %d", rec.Code)
	}
	if rec := h.do(post("/staff/cases/"+id+"/flags", url.Values{"flag": {"vendor-aware"}, "at": {"2099-01-01T00:00"}}, tri)); rec.Code != 422 || !strings.Contains(rec.Body.String(), "cannot be in the future") {
		t.Errorf("future flag: %d", rec.Code)
	}
	page := h.do(get("/staff/cases/"+id, tri)).Body.String()
	if strings.Contains(page, "Out-of-band release proposed") {
		t.Errorf("proposal shown before any flag")
	}
	if rec := h.do(post("/staff/cases/"+id+"/flags", url.Values{"flag": {"attacks-observed"}, "at": {"2026-03-09T22:15"}}, tri)); rec.Code != http.StatusSeeOther {
		t.Fatalf("flag: %d %s", rec.Code, rec.Body)
	}
	page = h.do(get("/staff/cases/"+id, dev)).Body.String()
	if !strings.Contains(page, "Out-of-band release proposed") || !strings.Contains(page, "attacks-observed since 2026-03-09 22:15:00 UTC") {
		t.Errorf("the case page does not show the proposal")
	}
	acts := h.auditActions()
	if acts[len(acts)-1] != "case.flag" {
		t.Errorf("last audit action %q", acts[len(acts)-1])
	}
	es, _ := h.db.ListAudit(t.Context(), audit.Query{Limit: 1})
	if !strings.Contains(es[0].Detail, "an out-of-band release is proposed") {
		t.Errorf("the audit entry does not record the proposal: %q", es[0].Detail)
	}
}

// TestDuplicates: triage suggests the likely duplicate and says why;
// merged, the duplicate's reporter sees the original's status.
func TestDuplicates(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	session := h.signIn("tri@example.com", "a long enough password")
	tri := h.token("tri@example.com")
	first, _ := h.report("Heap overflow in the parser")
	second, link := h.report("Heap overflow in the header parser")
	h.report("Something else entirely")
	page := h.do(get("/staff/cases/"+second, session)).Body.String()
	if !strings.Contains(page, "Possible duplicates") || !strings.Contains(page, first+"</a>: same product Gateway") {
		t.Fatalf("the case page does not suggest %s", first)
	}
	for _, body := range []string{`{"to":"triage"}`, `{"to":"duplicate","duplicate_of":"` + first + `"}`} {
		if rec := h.do(apiPost("/api/v1/cases/"+second+"/transitions", tri, "application/json", body)); rec.Code != 200 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
	}
	h.do(apiPost("/api/v1/cases/"+first+"/transitions", tri, "application/json", `{"to":"triage"}`))
	researcher := h.do(get(link, "")).Body.String()
	if !strings.Contains(researcher, "case "+first) || !strings.Contains(researcher, `<span class="tag" id="merged-state">triage</span>`) {
		t.Errorf("the duplicate's reporter does not see the original's status")
	}
}

// TestSLAShown: a case nobody answered for three business days is overdue
// in the inbox and on its page; a case waiting on its reporter is paused.
func TestSLAShown(t *testing.T) {
	h := newHarness(t) // the harness clock starts on Tuesday 2026-03-10 09:00
	h.addUser("tri@example.com", "triager", "a long enough password")
	late, _ := h.report("Nobody looked at this")
	waiting, _ := h.report("We asked a question")
	tri := h.token("tri@example.com")
	for _, body := range []string{`{"to":"triage"}`, `{"to":"needs-info","comment":"Which build?"}`} {
		h.do(apiPost("/api/v1/cases/"+waiting+"/transitions", tri, "application/json", body))
	}
	h.clock.Advance(3 * 24 * time.Hour) // Friday
	session := h.signIn("tri@example.com", "a long enough password")
	inbox := h.do(get("/staff/cases", session)).Body.String()
	if !strings.Contains(inbox, "first response <strong>overdue</strong> since 2026-03-12 09:00:00 UTC") {
		t.Errorf("the inbox does not show the overdue first response")
	}
	if strings.Index(inbox, late) > strings.Index(inbox, waiting) {
		t.Errorf("the inbox is not sorted by the deadline that runs out first")
	}
	page := h.do(get("/staff/cases/"+waiting, session)).Body.String()
	if !strings.Contains(page, "paused: waiting on the reporter") {
		t.Errorf("the waiting case's triage clock is not shown paused")
	}
}
