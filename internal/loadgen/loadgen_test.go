package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRawConn: the lean client reads real net/http answers — keep-alive,
// error statuses, a server closing the connection — and refuses what it
// cannot measure honestly (no Content-Length).
func TestRawConn(t *testing.T) {
	tests := []struct {
		name   string
		h      http.HandlerFunc
		status int // 0 = success
		err    bool
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"next":3600}`)) }, 0, false},
		{"busy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "10")
			http.Error(w, "busy", http.StatusTooManyRequests)
		}, 429, false},
		{"close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			w.Write([]byte("{}"))
		}, 0, false},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			host, err := hostOf(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			a := agent{cred: "pdc_1.x", body: []byte(`{"os":"linux"}`)}
			a.build(host)
			rc := &rawConn{host: host}
			defer rc.close()
			for i := range 3 { // the same connection, or a new one after a close
				err := rc.post(t.Context(), a.req)
				var se *statusError
				switch {
				case tt.err:
					if err == nil {
						t.Fatal("accepted an answer without Content-Length")
					}
					return
				case tt.status != 0:
					if !errors.As(err, &se) || se.code != tt.status {
						t.Fatalf("round %d: %v, want status %d", i, err, tt.status)
					}
				case err != nil:
					t.Fatalf("round %d: %v", i, err)
				}
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	for _, bad := range []string{"https://x", "x:1", "http://", ":://"} {
		if _, err := hostOf(bad); err == nil {
			t.Errorf("hostOf(%q) accepted", bad)
		}
	}
}

// TestRunAgainstBare: a short run against the bare handler measures
// something and reports no errors.
func TestRunAgainstBare(t *testing.T) {
	srv := httptest.NewServer(Bare())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := Run(ctx, Options{Server: srv.URL, Agents: 10, Bare: true, Concurrency: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || len(r.Errors) != 0 || r.P50 <= 0 || !strings.Contains(r.String(), "errors: none") {
		t.Fatalf("result %+v", r)
	}
}
