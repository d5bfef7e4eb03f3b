package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/mail"
	"github.com/patchday/patchday/internal/store/sqlite"
)

// BenchmarkSMTPReport measures an e-mailed report with a 1 KiB attachment,
// from the client's first byte to the 250 that follows the commit, on
// SQLite with fsync: one whole SMTP conversation per report, as a mail
// server delivers. It reports p50 and p99.
func BenchmarkSMTPReport(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "patchday.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	blobs, err := blob.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := intake.NewService(st, intake.DefaultChecks, intake.DefaultLimits, intake.RateLimit{}, nil)
	srv, err := mail.New(mail.Config{Domain: "mx.example.com", Addresses: []string{"security@example.com"}, MaxBytes: 10 << 20},
		svc, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()

	attachment := strings.Repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n", 22) // ~1 KiB decoded
	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		msg := fmt.Sprintf("From: ada@example.org\r\nTo: security@example.com\r\nSubject: Report %d\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe updater runs unsigned code.\r\n"+
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=poc.bin\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\n%s--b--\r\n", i, attachment)
		start := time.Now()
		if err := smtp.SendMail(ln.Addr().String(), nil, "ada@example.org", []string{"security@example.com"}, []byte(msg)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	if cs, _ := svc.List(ctx); len(cs) != len(lat) {
		b.Fatalf("%d cases for %d messages", len(cs), len(lat))
	}
}
