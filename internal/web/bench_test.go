package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/intake"
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

// BenchmarkReportSubmit measures a web-form report with one small file to
// a committed case on SQLite (fsync included), and reports p50 and p99 of
// the whole request. The per-address limit is lifted for the run.
func BenchmarkReportSubmit(b *testing.B) {
	for _, c := range []struct {
		name  string
		files map[string]string
	}{
		{"form-1KiB-file", map[string]string{"poc.py": strings.Repeat("x", 1<<10)}},
		{"form-1MiB-file", map[string]string{"poc.pcap": strings.Repeat("y", 1<<20)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(b)
			h.srv.Intake = intake.NewService(h.db, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, nil)
			fields := validForm()
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				fields["title"] = fmt.Sprintf("Report %d", i)
				b.StopTimer()
				ct, body := multipartBody(b, fields, c.files)
				r := httptest.NewRequest(http.MethodPost, "/report", body)
				r.Header.Set("Content-Type", ct)
				b.StartTimer()
				start := time.Now()
				rec := h.do(r)
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusCreated {
					b.Fatalf("status %d", rec.Code)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
