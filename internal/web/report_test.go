package web

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const reportJSON = `{"title":"Heap overflow in the parser","product":"Gateway","version":"2.4.1",
	"description":"A long header overflows a fixed buffer.","steps":"1. send a 70 KB header",
	"cvss_vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","cwe":"CWE-787","email":"ada@example.org","credit_name":"Ada","credit_handle":"@ada",
	"attachments":[{"name":"../../poc.py","content_type":"text/x-python","data":"cHJpbnQoMSkK"}]}`

func TestReportAPI(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	token := h.token("tri@example.com")

	rec := h.do(apiPost("/api/v1/reports", "", "application/json", reportJSON))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/reports: %d %s", rec.Code, rec.Body)
	}
	var rc struct{ ID, Link string }
	json.Unmarshal(rec.Body.Bytes(), &rc)
	if !strings.HasPrefix(rc.ID, "PD-2026-") || !strings.Contains(rc.Link, "/r/pdr_") {
		t.Fatalf("receipt %+v", rc)
	}

	if rec := h.do(apiGet("/api/v1/cases", "")); rec.Code != http.StatusUnauthorized {
		t.Errorf("cases without a token: %d, want 401", rec.Code)
	}
	rec = h.do(apiGet("/api/v1/cases", "Bearer "+token))
	if !strings.Contains(rec.Body.String(), `"id": "`+rc.ID+`"`) || !strings.Contains(rec.Body.String(), `"state": "received"`) {
		t.Errorf("GET /api/v1/cases: %s", rec.Body)
	}
	rec = h.do(apiGet("/api/v1/cases/"+strings.ToLower(rc.ID), "Bearer "+token))
	var c struct {
		ID      string
		Reports []struct {
			CWE         string  `json:"cwe"`
			CVSSScore   float64 `json:"cvss_score"`
			Source      string
			Attachments []struct {
				Name   string
				SHA256 string
				Size   int64
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || rec.Code != 200 || len(c.Reports) != 1 {
		t.Fatalf("GET /api/v1/cases/{id}: %d %s", rec.Code, rec.Body)
	}
	r := c.Reports[0]
	if r.CWE != "CWE-787" || r.CVSSScore != 9.8 || r.Source != "api" || len(r.Attachments) != 1 ||
		r.Attachments[0].Name != "poc.py" || r.Attachments[0].Size != 9 {
		t.Errorf("case report %+v", r)
	}
	if rec := h.do(apiGet("/api/v1/cases/PD-2026-9999", "Bearer "+token)); rec.Code != 404 {
		t.Errorf("unknown case: %d", rec.Code)
	}
	// The private link from the API opens the case page.
	link := rc.Link[strings.Index(rc.Link, "/r/"):]
	if rec := h.do(get(link, "")); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Heap overflow in the parser") {
		t.Errorf("private link: %d", rec.Code)
	}

	refusals := []struct {
		name, ctype, body, want string
	}{
		{"missing fields", "application/json", `{"title":"x"}`, `"steps"`},
		{"unknown field", "application/json", `{"title":"x","severity":"high"}`, "unknown field"},
		{"bad cvss", "application/json", strings.Replace(reportJSON, "AV:N", "AV:Q", 1), `"cvss_vector"`},
		{"not base64", "application/json", strings.Replace(reportJSON, "cHJpbnQoMSkK", "***", 1), "could not be read"},
		{"wrong type", "text/plain", "hello", "application/json or multipart/form-data"},
	}
	for _, tt := range refusals {
		rec := h.do(apiPost("/api/v1/reports", "", tt.ctype, tt.body))
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %s; want 422 containing %q", tt.name, rec.Code, rec.Body, tt.want)
		}
	}
}

// multipartBody builds a form post; files maps a file name to its content.
func multipartBody(t testing.TB, fields map[string]string, files map[string]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, content := range files {
		fw, err := mw.CreateFormFile("attachments", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func validForm() map[string]string {
	return map[string]string{"title": "Open redirect", "product": "other", "product_other": "Portal", "version": "1.0",
		"description": "The next parameter is not checked.", "steps": "Visit /login?next=//evil", "email": "ada@example.org"}
}

func TestReportForm(t *testing.T) {
	h := newHarness(t)
	post := func(fields map[string]string, files map[string]string) *httptest.ResponseRecorder {
		ct, body := multipartBody(t, fields, files)
		r := httptest.NewRequest(http.MethodPost, "/report", body)
		r.Header.Set("Content-Type", ct)
		return h.do(r)
	}
	if rec := post(validForm(), map[string]string{"poc.txt": "x"}); rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), "PD-2026-0001") {
		t.Fatalf("valid form: %d", rec.Code)
	}
	bot := validForm()
	bot["website"] = "http://spam.example"
	if rec := post(bot, nil); rec.Code != 422 || !strings.Contains(rec.Body.String(), "leave this empty") {
		t.Errorf("honeypot: %d", rec.Code)
	}
	many := map[string]string{}
	for i := range 11 {
		many[strings.Repeat("f", i+1)] = "x"
	}
	if rec := post(validForm(), many); rec.Code != 422 || !strings.Contains(rec.Body.String(), "at most 10 files") {
		t.Errorf("eleven files: %d", rec.Code)
	}
	big := map[string]string{"big.bin": strings.Repeat("x", 50<<20+1)}
	if rec := post(validForm(), big); rec.Code != 422 || !strings.Contains(rec.Body.String(), "50 MiB") {
		t.Errorf("over the size limit: %d", rec.Code)
	}
	// A forged kept file (a hash the server does not hold) is refused.
	forged := validForm()
	forged["kept"] = strings.Repeat("ab", 32) + " 10 text/plain secret.txt"
	if rec := post(forged, nil); rec.Code != 422 || !strings.Contains(rec.Body.String(), "could not be found") {
		t.Errorf("forged kept file: %d", rec.Code)
	}
	if rec := h.do(apiGet("/api/v1/cases", "")); rec.Code != 401 {
		t.Errorf("sanity: %d", rec.Code)
	}
	cases, _ := h.db.ListCases(t.Context())
	if len(cases) != 1 {
		t.Errorf("%d cases after one good and four refused forms, want 1", len(cases))
	}
}

// FuzzReportForm: whatever body arrives at /report or /api/v1/reports, the
// server answers 201, 422 or 429, never a 500 or a panic.
func FuzzReportForm(f *testing.F) {
	ct, body := multipartBody(f, validForm(), map[string]string{"poc.txt": "x"})
	f.Add(ct, body.Bytes())
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nT\r\n--x--\r\n"))
	f.Add("application/x-www-form-urlencoded", []byte("title=x"))
	f.Add("application/json", []byte(reportJSON))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		for _, path := range []string{"/report", "/api/v1/reports"} {
			r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			rec := h.do(r)
			switch rec.Code {
			case 201, 422, 429:
			default:
				t.Fatalf("%s: status %d for Content-Type %q: %s", path, rec.Code, ct, rec.Body)
			}
		}
	})
}

func TestCVSSScoreShown(t *testing.T) {
	h := newHarness(t)
	rec := h.do(apiGet("/api/v1/cvss?vector="+url.QueryEscape("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), ""))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"score": 9.8`) || !strings.Contains(rec.Body.String(), `"rating": "Critical"`) {
		t.Errorf("GET /api/v1/cvss: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiGet("/api/v1/cvss?vector=nonsense", "")); rec.Code != 422 {
		t.Errorf("bad vector: %d", rec.Code)
	}
	// Without JavaScript: a refused form shows the typed vector's score.
	form := validForm()
	form["steps"] = ""
	form["cvss_vector"] = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
	ct, body := multipartBody(t, form, nil)
	r := httptest.NewRequest(http.MethodPost, "/report", body)
	r.Header.Set("Content-Type", ct)
	if rec := h.do(r); rec.Code != 422 || !strings.Contains(rec.Body.String(), "Score: 9.3 Critical (CVSS 4.0)") {
		t.Errorf("refused form: %d; want the vector's score shown", rec.Code)
	}
}
