package web

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/patchday/patchday/internal/staff"
)

// TestFixGateOverAPI takes a case from triage through a fix uploaded by a
// developer and a JUnit run posted by CI as a tester, to verifying; the
// author cannot record a run of their own fix.
func TestFixGateOverAPI(t *testing.T) {
	h := newHarness(t)
	for _, u := range [][2]string{{"tri@example.com", "triager"}, {"dev@example.com", "developer,tester"}, {"qa@example.com", "tester"}, {"rm@example.com", "release-manager"}} {
		h.addUser(u[0], u[1], "a long enough password")
	}
	tri, dev, qa, rm := h.token("tri@example.com"), h.token("dev@example.com"), h.token("qa@example.com"), h.token("rm@example.com")
	const js = "application/json"
	h.do(apiPost("/api/v1/products", rm, js, `{"name":"Gateway","vendor":"Example"}`))
	h.do(apiPost("/api/v1/products/Gateway/versions", rm, js, `{"version":"2.4.1"}`))
	id, _ := h.report("Heap overflow")
	versions, _ := h.srv.Products.List(t.Context())
	vid := versions[0].Versions[0].ID

	move := func(token, to string) {
		t.Helper()
		if rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", token, js, `{"to":"`+to+`"}`)); rec.Code != 200 {
			t.Fatalf("move to %s: %d %s", to, rec.Code, rec.Body)
		}
	}
	move(tri, "triage")
	if _, err := h.srv.Cases.SetTriage(t.Context(), caseActor(mustUser(t, h, "tri@example.com")), "x", id,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-122", []int64{vid}, 0); err != nil {
		t.Fatal(err)
	}
	move(tri, "accepted")
	move(dev, "fixing")

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("version", itoa(vid))
	mw.WriteField("source_ref", "git:4f2a9c1")
	mw.WriteField("brings", "2.4.2")
	fw, _ := mw.CreateFormFile("payload", "gateway-2.4.2.tar.zst")
	fw.Write([]byte("the build"))
	mw.Close()
	rec := h.do(apiPost("/api/v1/cases/"+id+"/fixes", dev, mw.FormDataContentType(), body.String()))
	var fix struct{ ID int64 }
	if json.Unmarshal(rec.Body.Bytes(), &fix); rec.Code != 201 || fix.ID == 0 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	move(dev, "testing")

	report, err := os.ReadFile("../junit/testdata/go-junit-report.xml")
	if err != nil {
		t.Fatal(err)
	}
	runs := "/api/v1/fixes/" + itoa(fix.ID) + "/test-runs"
	if rec := h.do(apiPost(runs, dev, "application/xml", string(report))); rec.Code != 403 || !strings.Contains(rec.Body.String(), "you wrote this fix") {
		t.Errorf("the author posting a run: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiPost(runs, qa, "application/xml", "<not junit")); rec.Code != 422 {
		t.Errorf("a broken report: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(apiPost(runs, qa, "application/xml", string(report)))
	var run struct {
		Passed  bool
		Failing []string
	}
	if json.Unmarshal(rec.Body.Bytes(), &run); rec.Code != 201 {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	if run.Passed {
		// The fixture has failures: the gate stays closed and the case goes back.
		t.Fatalf("a report with failures passed: %s", rec.Body)
	}
	if rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", qa, js, `{"to":"verifying"}`)); rec.Code != 409 {
		t.Errorf("verifying after a failed run: %d", rec.Code)
	}
	passing := `<testsuites><testsuite name="gw"><testcase classname="gw" name="TestHeader" time="0.1"/></testsuite></testsuites>`
	if rec := h.do(apiPost(runs, qa, "application/xml", passing)); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"passed": true`) {
		t.Fatalf("passing run: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", dev, js, `{"to":"verifying"}`)); rec.Code != 409 || !strings.Contains(rec.Body.String(), "own patch") {
		t.Errorf("the author passing the gate by the API: %d %s", rec.Code, rec.Body)
	}
	move(qa, "verifying")

	// The researcher is told, downloads the fix, and answers.
	link := reportLink(t, h, id)
	page := h.do(get(link, "")).Body.String()
	if !strings.Contains(page, "Please verify the fix") || !strings.Contains(page, "A fix is ready for you to verify.") {
		t.Fatalf("the private page does not offer the fix")
	}
	i := strings.Index(page, link+"/fixes/")
	href := page[i : i+len(link+"/fixes/")+64]
	if rec := h.do(get(href, "")); rec.Code != 200 || rec.Body.String() != "the build" || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("fix download: %d %q", rec.Code, rec.Body)
	}
	verdict := func(fields map[string]string) int {
		ct, b := multipartBody(t, fields, nil)
		r := httptest.NewRequest(http.MethodPost, link+"/verdict", b)
		r.Header.Set("Content-Type", ct)
		return h.do(r).Code
	}
	if code := verdict(map[string]string{"verdict": "still-vulnerable"}); code != 422 {
		t.Errorf("still vulnerable without a comment: %d", code)
	}
	if code := verdict(map[string]string{"verdict": "maybe"}); code != 422 {
		t.Errorf("an unknown verdict: %d", code)
	}
	if code := verdict(map[string]string{"verdict": "fixed", "comment": "Confirmed on 2.4.2."}); code != http.StatusSeeOther {
		t.Fatalf("fixed: %d", code)
	}
	rec = h.do(apiGet("/api/v1/cases/"+id, "Bearer "+tri))
	if !strings.Contains(rec.Body.String(), `"state": "scheduled"`) {
		t.Errorf("after the researcher's \"fixed\": %s", rec.Body)
	}
	if rec := h.do(get(href, "")); rec.Code != 404 {
		t.Errorf("the fix is still offered after verification: %d", rec.Code)
	}

	// The case page shows the fix and both runs.
	session := h.signIn("tri@example.com", "a long enough password")
	page = h.do(get("/staff/cases/"+id, session)).Body.String()
	if !strings.Contains(page, "git:4f2a9c1") || strings.Count(page, "Test run by qa@example.com") != 2 {
		t.Errorf("the case page does not show the fix and its runs")
	}
}

func mustUser(t *testing.T, h *harness, email string) staff.User {
	t.Helper()
	u, err := h.db.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// reportLink finds a case's private link the way the researcher got it:
// the harness keeps the links it was given.
func reportLink(t *testing.T, h *harness, id string) string {
	t.Helper()
	link, ok := h.links[id]
	if !ok {
		t.Fatalf("no link recorded for %s", id)
	}
	return link
}
