package web

import (
	"net/http"
	"testing"
)

// BenchmarkRequest measures whole requests through the real handler chain
// (metrics, headers, cross-origin check, auth, render) on SQLite, beside a
// bare /healthz as the floor.
func BenchmarkRequest(b *testing.B) {
	h := newHarness(b)
	h.addUser("admin@example.com", "admin", "a long enough password")
	session := h.signIn("admin@example.com", "a long enough password")
	token := h.token("admin@example.com")
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"healthz", func() *http.Request { return get("/healthz", "") }},
		{"dashboard-session", func() *http.Request { return get("/staff/", session) }},
		{"api-me-token", func() *http.Request { return apiGet("/api/v1/me", "Bearer "+token) }},
		{"api-audit-token", func() *http.Request { return apiGet("/api/v1/audit?limit=20", "Bearer "+token) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if rec := h.do(c.req()); rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}
