package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestRegulatoryReporting: flagging a case "attacks-observed" asks when
// the organisation became aware and starts the clocks; the case page and
// the dashboard show them; the early warning is approved, exported,
// printed and its submission recorded, which stops its clock.
func TestRegulatoryReporting(t *testing.T) {
	h := newHarness(t) // Tuesday 2026-03-10 09:00 UTC, 10:00 in Berlin
	h.addUser("tri@example.com", "triager", "a long enough password")
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	h.addUser("dev@example.com", "developer", "a long enough password")
	tri := h.signIn("tri@example.com", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	dev := h.signIn("dev@example.com", "a long enough password")
	id, _ := h.report("Heap overflow")
	h.schedule(id)

	flag := func(session string, v url.Values) *http.Response {
		return h.do(post("/staff/cases/"+id+"/flags", v, session)).Result()
	}
	// Bad input changes nothing: neither the flag nor the clocks.
	res := flag(tri, url.Values{"flag": {"attacks-observed"}, "aware_at": {"last night"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a bad awareness time: %d", res.StatusCode)
	}
	if fs, _ := h.srv.Cases.FlagsOf(t.Context(), 1); len(fs) != 0 {
		t.Errorf("a refused flag was set: %+v", fs)
	}
	if vs, _ := h.srv.CRA.List(t.Context()); len(vs) != 0 {
		t.Errorf("refused input started clocks")
	}
	res = flag(tri, url.Values{"flag": {"attacks-observed"}, "aware_at": {"2026-03-10T08:30"}, "malicious": {"suspected"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/staff/regulatory/") {
		t.Fatalf("flagging attacks-observed: %d %s", res.StatusCode, loc)
	}
	report := regexp.MustCompile(`^/staff/regulatory/\d+`).FindString(loc)

	// 08:30 in Berlin is 07:30 UTC: the early warning is due 07:30 UTC
	// tomorrow, 08:30 Berlin time; it is 09:00 UTC now.
	page := h.do(get("/staff/cases/"+id, dev)).Body.String()
	for _, want := range []string{"Regulatory reporting (EU CRA Article 14)", "due Wed 11 Mar 2026 08:30 CET · 22h 30m left", "Final report</strong>: starts when the fix or a mitigation is published"} {
		if !strings.Contains(page, want) {
			t.Errorf("the case page lacks %q", want)
		}
	}
	if inbox := h.do(get("/staff/cases", tri)).Body.String(); !strings.Contains(inbox, "CRA Early warning: <strong>22h 30m left</strong>") {
		t.Errorf("the inbox does not show the regulatory deadline:\n%s", inbox)
	}
	dash := h.do(get("/staff/regulatory", dev)).Body.String()
	if !strings.Contains(dash, "Gateway · "+id) || !strings.Contains(dash, "22h 30m left") || strings.Contains(dash, "Declare a severe incident") {
		t.Errorf("the dashboard (a developer sees it, cannot act):\n%s", dash)
	}

	// The early warning: generated, approved by a release manager,
	// exported, submitted.
	if rec := h.do(post(report+"/early-warning/approve", nil, tri)); rec.Code != http.StatusForbidden {
		t.Errorf("a triager approving: %d", rec.Code)
	}
	if rec := h.do(post(report+"/early-warning/approve", nil, rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	export := h.do(get(strings.Replace(report, "/staff/regulatory/", "/staff/regulatory/", 1)+"/export/early-warning", rm))
	var x struct {
		Stage        string
		Manufacturer struct{ Name, CSIRT string } `json:"manufacturer"`
		Deadline     string
		Report       struct {
			Product      string
			MemberStates []string `json:"member_states"`
			Malicious    string   `json:"malicious_act"`
			Versions     []string
		} `json:"report"`
	}
	if err := json.Unmarshal(export.Body.Bytes(), &x); err != nil || x.Stage != "early-warning" || x.Manufacturer.Name != "Example Corp" ||
		x.Deadline != "2026-03-11T07:30:00Z" || x.Report.Product != "Gateway" || strings.Join(x.Report.MemberStates, ",") != "DE,FR" ||
		x.Report.Malicious != "suspected" || x.Report.Versions != nil {
		t.Errorf("export: %v\n%s", err, export.Body)
	}
	if p := h.do(get(report+"/print/early-warning", rm)).Body.String(); !strings.Contains(p, "Regulation (EU) 2024/2847, Article 14") || !strings.Contains(p, "CERT-Bund") {
		t.Errorf("printable page:\n%s", p)
	}
	if rec := h.do(post(report+"/early-warning/submit", url.Values{"submitted_at": {"2026-03-10T09:55"}, "channel": {"ENISA single reporting platform"}}, tri)); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "give the reference number") {
		t.Errorf("a submission without a reference: %d", rec.Code)
	}
	if rec := h.do(post(report+"/early-warning/submit", url.Values{"submitted_at": {"2026-03-10T09:55"}, "channel": {"ENISA single reporting platform"},
		"reference": {"SRP-2026-000123"}}, tri)); rec.Code != http.StatusSeeOther {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	page = h.do(get(report, tri)).Body.String()
	if !strings.Contains(page, "submitted 10 Mar 09:55 CET") || !strings.Contains(page, "SRP-2026-000123") {
		t.Errorf("the report page after submission:\n%s", page)
	}

	// Flagging again does not restart the clocks.
	flag(tri, url.Values{"flag": {"attacks-observed"}, "aware_at": {"2026-03-10T09:45"}})
	if vs, _ := h.srv.CRA.List(t.Context()); len(vs) != 1 || vs[0].AwareAt.Format("15:04") != "07:30" {
		t.Errorf("reports after flagging again: %+v", vs)
	}

	// A severe incident is declared on the dashboard.
	if rec := h.do(post("/staff/regulatory", url.Values{"product": {"Gateway"}, "aware_at": {"2026-03-10T09:00"}, "summary": {""}}, rm)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("an incident without a description: %d", rec.Code)
	}
	if rec := h.do(post("/staff/regulatory", url.Values{"product": {"Gateway"}, "aware_at": {"2026-03-10T09:00"}, "malicious": {"suspected"},
		"summary": {"The update server's signing host was accessed by an unknown party."}}, rm)); rec.Code != http.StatusSeeOther {
		t.Fatalf("declare an incident: %d %s", rec.Code, rec.Body)
	}
	if dash := h.do(get("/staff/regulatory", rm)).Body.String(); !strings.Contains(dash, "severe incident") {
		t.Errorf("the dashboard does not list the incident")
	}
}

// TestCompliancePage: the requirement map reads the live configuration.
func TestCompliancePage(t *testing.T) {
	h := newHarness(t)
	h.addUser("rm@example.com", "release-manager", "a long enough password")
	rm := h.signIn("rm@example.com", "a long enough password")
	page := h.do(get("/staff/compliance", rm)).Body.String()
	for _, want := range []string{"Annex I, Part II (5)", "set --security-policy", "Article 14(1)–(4)", "not provided by patchday yet"} {
		if !strings.Contains(page, want) {
			t.Errorf("the compliance page lacks %q", want)
		}
	}
	h.srv.Disclosure.PolicyURL = "https://example.com/disclosure"
	page = h.do(get("/staff/compliance", rm)).Body.String()
	if strings.Contains(page, "set --security-policy") {
		t.Errorf("a configured policy is still reported missing")
	}
	if rec := h.do(get("/staff/compliance", "")); rec.Code == http.StatusOK {
		t.Errorf("the compliance page is public")
	}
}
