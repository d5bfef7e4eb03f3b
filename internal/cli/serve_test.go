package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServeHTTPFinishesInFlight: on shutdown the server stops accepting
// but a request already running completes and gets its answer, and
// serveHTTP returns only after that, so the caller closes the database
// after the last handler.
func TestServeHTTPFinishesInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		if err := r.Context().Err(); err != nil {
			t.Errorf("in-flight request was cancelled by the shutdown: %v", err)
		}
		w.Write([]byte("done"))
		close(finished)
	})
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, ln, h, time.Minute, log) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel() // as SIGTERM does

	select {
	case err := <-served:
		t.Fatalf("serveHTTP returned (%v) while a request was still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("still accepting connections after shutdown began")
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q, want its full answer", body)
	}
	if err := <-served; err != nil {
		t.Errorf("serveHTTP: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Errorf("serveHTTP returned before the handler finished")
	}
}
