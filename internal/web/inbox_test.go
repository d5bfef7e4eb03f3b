package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// report submits reportJSON with a title and returns the case id and the
// private link's path.
func (h *harness) report(title string) (id, link string) {
	h.t.Helper()
	body := strings.Replace(reportJSON, "Heap overflow in the parser", title, 1)
	rec := h.do(apiPost("/api/v1/reports", "", "application/json", body))
	var rc struct{ ID, Link string }
	if err := json.Unmarshal(rec.Body.Bytes(), &rc); err != nil || rec.Code != 201 {
		h.t.Fatalf("report: %d %s", rec.Code, rec.Body)
	}
	link = rc.Link[strings.Index(rc.Link, "/r/"):]
	h.links[rc.ID] = link
	return rc.ID, link
}

func TestInboxAndCaseFiles(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	tri := h.signIn("tri@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")
	id1, link1 := h.report("First finding")
	id2, _ := h.report("Second finding")

	body := h.do(get("/staff/cases", dev)).Body.String()
	if !strings.Contains(body, id1) || !strings.Contains(body, id2) || strings.Index(body, id2) > strings.Index(body, id1) {
		t.Errorf("inbox: want both cases, newest first")
	}
	if body := h.do(get("/staff/cases?state=triage", dev)).Body.String(); strings.Contains(body, id1) {
		t.Errorf("state filter let a received case through")
	}
	if body := h.do(get("/staff/cases?product=other&age=1d", dev)).Body.String(); !strings.Contains(body, id1) {
		t.Errorf("product=other&age=1d dropped a new case about an unlisted product")
	}

	h.clock.Advance(25 * time.Hour)
	h.signIn("dev@example.com", "a long enough password") // the old session outlived its hour
	dev = h.signIn("dev@example.com", "a long enough password")
	if body := h.do(get("/staff/cases?age=1d", dev)).Body.String(); strings.Contains(body, id1) {
		t.Errorf("age=1d shows a case opened 25 hours ago")
	}

	// The file from reportJSON, served only as a download and only for its case.
	page := h.do(get("/staff/cases/"+id1, dev)).Body.String()
	i := strings.Index(page, "/staff/cases/"+id1+"/files/")
	if i < 0 {
		t.Fatalf("case page links no file:\n%s", page)
	}
	href := page[i : i+len("/staff/cases/"+id1+"/files/")+64]
	rec := h.do(get(href, dev))
	if rec.Code != 200 || rec.Body.String() != "print(1)\n" ||
		rec.Header().Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("file download: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	sum := href[strings.LastIndex(href, "/")+1:]
	if rec := h.do(get("/staff/cases/"+id2+"/files/"+strings.Repeat("0", 64), dev)); rec.Code != 404 {
		t.Errorf("a file that is not the case's: %d, want 404", rec.Code)
	}
	if rec := h.do(get("/staff/cases/"+id1+"/files/"+sum, "")); rec.Code != http.StatusSeeOther {
		t.Errorf("file without signing in: %d, want a redirect to sign in", rec.Code)
	}

	// Replies: triagers only; an empty one is refused beside the field.
	tri = h.signIn("tri@example.com", "a long enough password")
	if rec := h.do(post("/staff/cases/"+id1+"/messages", url.Values{"body": {"hi"}}, dev)); rec.Code != 403 {
		t.Errorf("developer replying: %d, want 403", rec.Code)
	}
	if rec := h.do(post("/staff/cases/"+id1+"/messages", url.Values{"body": {"  "}}, tri)); rec.Code != 422 || !strings.Contains(rec.Body.String(), "write a message") {
		t.Errorf("empty reply: %d", rec.Code)
	}
	if rec := h.do(post("/staff/cases/"+id1+"/messages", url.Values{"body": {"We reproduced it."}}, tri)); rec.Code != 303 {
		t.Errorf("reply: %d", rec.Code)
	}
	if body := h.do(get(link1, "")).Body.String(); !strings.Contains(body, "We reproduced it.") || strings.Contains(body, "tri@example.com") {
		t.Errorf("the researcher's page: want the reply without the triager's address")
	}

	// The researcher's message form: an empty message is refused and changes nothing.
	ct, b := multipartBody(t, map[string]string{"body": ""}, nil)
	r := httptest.NewRequest(http.MethodPost, link1+"/messages", b)
	r.Header.Set("Content-Type", ct)
	if rec := h.do(r); rec.Code != 422 {
		t.Errorf("empty researcher message: %d", rec.Code)
	}
	ct, b = multipartBody(t, map[string]string{"body": "x"}, nil)
	r = httptest.NewRequest(http.MethodPost, "/r/pdr_"+strings.Repeat("A", 43)+"/messages", b)
	r.Header.Set("Content-Type", ct)
	if rec := h.do(r); rec.Code != 404 {
		t.Errorf("message to a wrong link: %d, want 404", rec.Code)
	}
}

func TestCreditFromPrivatePage(t *testing.T) {
	h := newHarness(t)
	_, link := h.report("Credit me")
	rec := h.do(post(link+"/credit", url.Values{"credit_name": {"Ada"}, "anonymous": {"1"}}, ""))
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), "not both") {
		t.Errorf("anonymous and named: %d", rec.Code)
	}
	rec = h.do(post(link+"/credit", url.Values{"credit_name": {"Ada Lovelace"}, "credit_handle": {"@ada"}}, ""))
	if rec.Code != 303 {
		t.Fatalf("credit: %d %s", rec.Code, rec.Body)
	}
	body := h.do(get(link, "")).Body.String()
	if !strings.Contains(body, `value="Ada Lovelace"`) || !strings.Contains(body, "saved") && !strings.Contains(body, "Ada Lovelace @ada") {
		t.Errorf("the page does not show the new credit")
	}
	if rec := h.do(post("/r/pdr_"+strings.Repeat("B", 43)+"/credit", url.Values{"credit_name": {"x"}}, "")); rec.Code != 404 {
		t.Errorf("credit through a wrong link: %d, want 404", rec.Code)
	}
	if acts := h.auditActions(); acts[len(acts)-1] != "case.credit" {
		t.Errorf("last audit entry %q", acts[len(acts)-1])
	}
}
