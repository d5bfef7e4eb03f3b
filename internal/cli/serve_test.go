package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
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

// TestServeDebugHTTP: --debug-http serves Go's profiler on its own
// address, and a taken address is refused with the flag's name.
func TestServeDebugHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--debug-http", addr, "--log-level", "warn"},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	}()
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(body, "goroutine") {
		t.Fatalf("the profiler's index did not answer: %q", body)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	err = Run(context.Background(), []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--debug-http", busy.Addr().String()},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--debug-http") {
		t.Errorf("a taken --debug-http address: %v, want an error naming the flag", err)
	}
}
