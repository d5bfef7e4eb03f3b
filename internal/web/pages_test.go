package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
)

func TestStaffPagesByRole(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	h.addUser("dev@example.com", "developer", "another long password")
	admin := h.signIn(adminEmail, adminPass)
	dev := h.signIn("dev@example.com", "another long password")

	tests := []struct {
		session, path string
		code          int
		want          string // in the body
	}{
		{admin, "/staff/", http.StatusOK, "Recent activity"},
		{admin, "/staff/audit", http.StatusOK, "<code>session.create</code>"},
		{admin, "/staff/users", http.StatusOK, "dev@example.com"},
		{admin, "/staff/audit?limit=0", http.StatusUnprocessableEntity, "<strong>limit</strong>: must be a whole number from 1 to 1000"},
		{admin, "/staff/audit?before=x", http.StatusUnprocessableEntity, "<strong>before</strong>: must be a positive entry id"},
		{dev, "/staff/", http.StatusOK, "<strong>dev@example.com</strong>"},
		{dev, "/staff/audit", http.StatusForbidden, "this needs the admin role"},
		{dev, "/staff/users", http.StatusForbidden, "this needs the admin role"},
	}
	for _, tt := range tests {
		who := "admin"
		if tt.session == dev {
			who = "developer"
		}
		t.Run(who+tt.path, func(t *testing.T) {
			rec := h.do(get(tt.path, tt.session))
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d; body:\n%s", rec.Code, tt.code, rec.Body)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("body lacks %q:\n%s", tt.want, rec.Body)
			}
		})
	}
	// A developer's dashboard shows no audit log, and no admin links.
	body := h.do(get("/staff/", dev)).Body.String()
	for _, unwanted := range []string{"Recent activity", `href="/staff/audit"`, `href="/staff/users"`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("developer's dashboard shows %q", unwanted)
		}
	}
}

// seedAudit appends n entries through the store and returns every entry
// id in the log, newest first.
func seedAudit(t *testing.T, h *harness, n int) []int64 {
	t.Helper()
	for i := range n {
		e := audit.New(audit.System, h.clock.Now(), "test.event", fmt.Sprintf("thing:%d", i), "")
		if err := h.db.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	es, err := h.db.ListAudit(t.Context(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func TestAPIAuditPaging(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 7, 100} {
		t.Run("limit="+strconv.Itoa(limit), func(t *testing.T) {
			h := newHarness(t)
			h.addUser(adminEmail, "admin", adminPass)
			tok := h.token(adminEmail)
			want := seedAudit(t, h, 5) // with the two above: 7 entries

			var got []int64
			path := "/api/v1/audit?limit=" + strconv.Itoa(limit)
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("paging does not end; read %v", got)
				}
				rec := h.do(apiGet(path, "Bearer "+tok))
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: status %d, want 200; body:\n%s", path, rec.Code, rec.Body)
				}
				var page apiAuditPage
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					t.Fatalf("GET %s: %v\n%s", path, err, rec.Body)
				}
				if page.Entries == nil {
					t.Fatalf("GET %s: entries is null, want a list:\n%s", path, rec.Body)
				}
				if len(page.Entries) > limit {
					t.Fatalf("GET %s: %d entries, want at most %d", path, len(page.Entries), limit)
				}
				for _, e := range page.Entries {
					got = append(got, e.ID)
				}
				if page.Next == 0 {
					break
				}
				path = fmt.Sprintf("/api/v1/audit?limit=%d&before=%d", limit, page.Next)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids read by paging, newest first (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i] >= got[i-1] {
					t.Fatalf("ids %v are not newest first", got)
				}
			}
		})
	}
}

func TestAPIAuditEntries(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	tok := h.token(adminEmail)
	rec := h.do(apiGet("/api/v1/audit", "Bearer "+tok))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	var page apiAuditPage
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	if page.Next != 0 {
		t.Errorf("next = %d on a log shorter than a page, want none", page.Next)
	}
	for i := range page.Entries {
		page.Entries[i].ID = 0
	}
	at := h.clock.Now()
	want := []apiAuditEntry{
		{At: at, Who: "system", Action: "token.create", Subject: "user:" + adminEmail, Detail: "token test"},
		{At: at, Who: "system", Action: "user.create", Subject: "user:" + adminEmail, Detail: "roles admin"},
	}
	if diff := cmp.Diff(want, page.Entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestAPIAuditBadQuery(t *testing.T) {
	h := newHarness(t)
	h.addUser(adminEmail, "admin", adminPass)
	tok := h.token(adminEmail)
	tests := []struct {
		query string
		want  map[string]string
	}{
		{"limit=0", map[string]string{"limit": "must be a whole number from 1 to 1000"}},
		{"limit=1001", map[string]string{"limit": "must be a whole number from 1 to 1000"}},
		{"limit=ten", map[string]string{"limit": "must be a whole number from 1 to 1000"}},
		{"before=0", map[string]string{"before": "must be a positive entry id"}},
		{"before=-3&limit=-1", map[string]string{
			"before": "must be a positive entry id",
			"limit":  "must be a whole number from 1 to 1000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := h.do(apiGet("/api/v1/audit?"+tt.query, "Bearer "+tok))
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			var b errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzAuditQuery(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"10", "5"}, {"0", "0"}, {"-1", "-1"}, {"x", "y"}, {"9223372036854775807", "1000"},
		{"9223372036854775808", "1001"}, {"+5", "+5"}, {" 5", "5 "}, {"1e3", "0x10"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, before, limit string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/audit", nil)
		r.URL.RawQuery = url.Values{"before": {before}, "limit": {limit}}.Encode()
		q, err := auditQuery(r)
		if err == nil {
			if q.Before < 0 {
				t.Fatalf("before=%q limit=%q accepted with Before %d", before, limit, q.Before)
			}
			if n := q.Clamp(); n < 1 || n > audit.MaxLimit {
				t.Fatalf("before=%q limit=%q accepted with Clamp() %d", before, limit, n)
			}
			if limit != "" && q.Limit != q.Clamp() {
				t.Fatalf("limit=%q accepted as %d but clamped to %d", limit, q.Limit, q.Clamp())
			}
			return
		}
		if !errors.Is(err, patchday.ErrInvalid) {
			t.Fatalf("before=%q limit=%q: %v, want ErrInvalid", before, limit, err)
		}
		fields := patchday.FieldErrors(err)
		if len(fields) == 0 {
			t.Fatalf("before=%q limit=%q: %v without field problems", before, limit, err)
		}
		for k := range fields {
			if k != "before" && k != "limit" {
				t.Fatalf("before=%q limit=%q: problem with unknown field %q", before, limit, k)
			}
		}
	})
}
