package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/turnaround"
)

// TestTurnaround: cases moved over the API at known times give exactly
// the figures those times imply, on the page and in the API, in calendar
// and in business days.
func TestTurnaround(t *testing.T) {
	h := newHarness(t)
	h.addUser("tri@example.com", "triager", "a long enough password")
	tri := h.token("tri@example.com")
	const js = "application/json"
	// Tuesday 10 March 2026, 09:00 UTC: two reports.
	a, _ := h.report("Heap overflow in the parser")
	b, _ := h.report("Path traversal in the uploader")
	move := func(id, to string) {
		t.Helper()
		if rec := h.do(apiPost("/api/v1/cases/"+id+"/transitions", tri, js, `{"to":"`+to+`"}`)); rec.Code != 200 {
			t.Fatalf("move %s to %s: %d %s", id, to, rec.Code, rec.Body)
		}
	}
	h.clock.Advance(24 * time.Hour) // Wednesday
	move(a, "triage")
	h.clock.Advance(3 * 24 * time.Hour) // Saturday
	move(b, "triage")
	h.clock.Advance(2 * 24 * time.Hour) // Monday 16 March

	figures := func(q string) turnaround.Report {
		t.Helper()
		rec := h.do(apiGet("/api/v1/turnaround"+q, "Bearer "+tri))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /api/v1/turnaround%s: %d %s", q, rec.Code, rec.Body)
		}
		var r turnaround.Report
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := func(r turnaround.Report) turnaround.Stats {
		for _, row := range r.Rows {
			if row.Key == (turnaround.Key{}) {
				return row.Milestones["first response"]
			}
		}
		t.Fatalf("no row for all cases: %+v", r.Rows)
		return turnaround.Stats{}
	}
	// First responses after 1 and 4 calendar days; 1 and 3.625 business
	// days (Tuesday 09:00 to Saturday 09:00 holds 15 + 3×24 weekday hours).
	if got, want := first(figures("")), (turnaround.Stats{N: 2, Median: 2.5, P90: 4, Max: 4}); got != want {
		t.Errorf("calendar days: %+v, want %+v", got, want)
	}
	if got, want := first(figures("?days=business")), (turnaround.Stats{N: 2, Median: 2.3125, P90: 3.625, Max: 3.625}); got != want {
		t.Errorf("business days: %+v, want %+v", got, want)
	}
	// Where the days go: both cases have sat in triage since (5 and 2
	// days), longer than they waited for it (1 and 4).
	if r := figures(""); len(r.States) != 2 || r.States[0].State != "triage" || r.States[0].TotalDays != 7 || r.States[1].TotalDays != 5 {
		t.Errorf("where the days go: %+v", r.States)
	}
	if rec := h.do(apiGet("/api/v1/turnaround?days=fortnights", "Bearer "+tri)); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "fortnights") {
		t.Errorf("a bad view: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(apiGet("/api/v1/turnaround", "")); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", rec.Code)
	}

	session := h.signIn("tri@example.com", "a long enough password")
	page := h.do(get("/staff/turnaround", session))
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(body, `id="periods"`) || !strings.Contains(body, "2026-03") ||
		!strings.Contains(body, "2.5 / 4.0") || !strings.Contains(body, `id="states"`) || !strings.Contains(body, "(not rated)") {
		t.Errorf("the page: %d\n%s", page.Code, body)
	}
	if !strings.Contains(body, "<title>Median days from report, by month reported</title>") || !strings.Contains(body, "2026-03: 2.5 days") {
		t.Errorf("the trend chart is missing or wrong:\n%s", grepLines(body, "2026-03"))
	}
	if page := h.do(get("/staff/turnaround?days=business", session)); !strings.Contains(page.Body.String(), "2.3 / 3.6") ||
		!strings.Contains(page.Body.String(), "2026-03: 2.31 business days") {
		t.Errorf("the business-day page:\n%s", page.Body)
	}
}
