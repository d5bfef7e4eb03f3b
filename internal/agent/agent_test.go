package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/agentapi"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name string
		h    string
		want time.Duration
	}{
		{name: "zero seconds", h: "0", want: 0},
		{name: "seconds", h: "7", want: 7 * time.Second},
		{name: "seconds with spaces", h: " 30 ", want: 30 * time.Second},
		{name: "exactly one hour", h: "3600", want: time.Hour},
		{name: "a day is capped", h: "86400", want: time.Hour},
		{name: "date in the future", h: date(90 * time.Second), want: 90 * time.Second},
		{name: "far future date is capped", h: date(48 * time.Hour), want: time.Hour},
		// A date already past (or a clock behind the server's) gets the
		// default rather than an immediate retry.
		{name: "date in the past", h: date(-time.Minute), want: 30 * time.Second},
		{name: "date now", h: date(0), want: 30 * time.Second},
		{name: "garbage", h: "soon", want: 30 * time.Second},
		{name: "empty", h: "", want: 30 * time.Second},
		{name: "negative", h: "-5", want: 30 * time.Second},
		{name: "fraction", h: "1.5", want: 30 * time.Second},
		{name: "huge seconds overflowing time.Duration", h: "10000000000", want: time.Hour},
		{name: "huge seconds overflowing int", h: "99999999999999999999", want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.h, now); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.h, got, tt.want)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 40 * time.Second, time.Hour, 3 * time.Millisecond} {
		lo, hi := time.Duration(float64(d)*0.75), time.Duration(float64(d)*1.25)
		seen := map[time.Duration]bool{}
		for range 2000 {
			j := jitter(d)
			if j < lo || j > hi {
				t.Fatalf("jitter(%v) = %v, outside [%v, %v]", d, j, lo, hi)
			}
			seen[j] = true
		}
		if len(seen) < 2 {
			t.Errorf("jitter(%v) gave the same value %d times: no jitter", d, 2000)
		}
	}
	for _, d := range []time.Duration{0, -time.Nanosecond, -time.Hour} {
		if got := jitter(d); got != time.Second {
			t.Errorf("jitter(%v) = %v, want 1s", d, got)
		}
	}
}

func TestOutbox(t *testing.T) {
	dir := t.TempDir()
	s := state{dir: dir}
	if err := s.init(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rs, err := s.outbox()
	if err != nil || len(rs) != 0 {
		t.Fatalf("fresh outbox = %v, %v; want empty", rs, err)
	}
	if err := s.sent(nil); err != nil {
		t.Fatal(err)
	}

	r1 := agentapi.Report{Update: 1, State: agentapi.Downloaded, At: at}
	r2 := agentapi.Report{Update: 2, State: agentapi.Downloaded, At: at}
	r1b := agentapi.Report{Update: 1, State: agentapi.Installed, At: at.Add(time.Minute), Restarts: 1}
	if err := s.queue(r1, r2); err != nil {
		t.Fatal(err)
	}
	if err := s.queue(r1b); err != nil {
		t.Fatal(err)
	}
	want := []agentapi.Report{r2, r1b}
	if got, err := s.outbox(); err != nil || !cmp.Equal(got, want) {
		t.Fatalf("after replacing update 1: %v (%v)\n%s", got, err, cmp.Diff(want, got))
	}

	// A check-in sends the outbox; while it is under way update 2 moves on
	// and update 3 is queued. Only what was sent is acknowledged.
	sentNow, err := s.outbox()
	if err != nil {
		t.Fatal(err)
	}
	r2b := agentapi.Report{Update: 2, State: agentapi.Failed, Detail: "health check failed", At: at.Add(2 * time.Minute)}
	r3 := agentapi.Report{Update: 3, State: agentapi.Downloaded, At: at.Add(3 * time.Minute)}
	if err := s.queue(r2b, r3); err != nil {
		t.Fatal(err)
	}
	if err := s.sent(sentNow); err != nil {
		t.Fatal(err)
	}
	want = []agentapi.Report{r2b, r3}
	if got, err := s.outbox(); err != nil || !cmp.Equal(got, want) {
		t.Fatalf("after sent: %v (%v)\n%s", got, err, cmp.Diff(want, got))
	}

	// The same update and state at another time is not the report sent.
	if err := s.sent([]agentapi.Report{{Update: 3, State: agentapi.Downloaded, At: at}}); err != nil {
		t.Fatal(err)
	}
	// The same update and time in another state is not either.
	if err := s.sent([]agentapi.Report{{Update: 2, State: agentapi.Installed, At: r2b.At}}); err != nil {
		t.Fatal(err)
	}
	// A time in another location is the same instant.
	if err := s.sent([]agentapi.Report{{Update: 3, State: agentapi.Downloaded, At: r3.At.In(time.FixedZone("X", 3600))}}); err != nil {
		t.Fatal(err)
	}
	want = []agentapi.Report{r2b}

	// The file survives: a new state value on the same directory reads it.
	if got, err := (state{dir: dir}).outbox(); err != nil || !cmp.Equal(got, want) {
		t.Fatalf("re-read: %v (%v)\n%s", got, err, cmp.Diff(want, got))
	}
	if fi, err := os.Stat(filepath.Join(dir, outboxFile)); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600", outboxFile, fi.Mode().Perm())
	}
	// No temporary files are left beside it.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestInstalledHistory(t *testing.T) {
	s := state{dir: t.TempDir()}
	if err := s.init(); err != nil {
		t.Fatal(err)
	}
	in, err := s.installed()
	if err != nil {
		t.Fatal(err)
	}
	if in.had("p", "1.0") {
		t.Error("had on an empty history")
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	in.record("p", Product{Version: "1.0", Update: 1, At: at})
	if in.had("p", "1.0") {
		t.Error("had(1.0) is true while 1.0 is installed")
	}
	in.record("p", Product{Version: "2.0", Update: 2, At: at})
	in.record("q", Product{Version: "1.0", Update: 3, At: at})
	for _, c := range []struct {
		product, version string
		want             bool
	}{
		{"p", "1.0", true},  // installed before and replaced: a rollback
		{"p", "2.0", false}, // the current version
		{"p", "3.0", false}, // never seen
		{"q", "1.0", false}, // another product's current version
		{"q", "2.0", false},
		{"r", "1.0", false}, // an unknown product
	} {
		if got := in.had(c.product, c.version); got != c.want {
			t.Errorf("had(%s, %s) = %v, want %v", c.product, c.version, got, c.want)
		}
	}
	if got, want := in.History["p"], []string{"1.0", "2.0"}; !slices.Equal(got, want) {
		t.Errorf("history of p = %v, want %v", got, want)
	}

	// Going back to 1.0 (by a signed rollback) moves it to the end.
	in.record("p", Product{Version: "1.0", Update: 4, At: at})
	if got, want := in.History["p"], []string{"2.0", "1.0"}; !slices.Equal(got, want) {
		t.Errorf("history of p after reinstalling 1.0 = %v, want %v", got, want)
	}
	if in.Products["p"].Version != "1.0" || in.Products["p"].Update != 4 {
		t.Errorf("current p = %+v, want 1.0 from update 4", in.Products["p"])
	}
	if !in.had("p", "2.0") || in.had("p", "1.0") {
		t.Errorf("after going back: had(2.0) = %v, had(1.0) = %v; want true, false", in.had("p", "2.0"), in.had("p", "1.0"))
	}

	// It round-trips through the state file.
	if err := s.write(installedFile, in); err != nil {
		t.Fatal(err)
	}
	back, err := (state{dir: s.dir}).installed()
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(back.History, in.History) || back.Products["p"].Version != "1.0" || !back.had("p", "2.0") {
		t.Errorf("re-read: %+v, want %+v", back, in)
	}
}

// fakeServer is an update server's agent endpoints. Enrollment hands out
// credentials cred-1, cred-2, …; check-ins are answered by checkin.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	enrolls      []agentapi.EnrollRequest
	checkins     []seenCheckin
	enrollStatus int                         // 0: enroll succeeds
	checkin      func(w http.ResponseWriter) // nil: 200 with next 3600
}

type seenCheckin struct {
	auth, contentType string
	req               agentapi.CheckinRequest
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agentapi.EnrollPath, f.enroll)
	mux.HandleFunc("POST "+agentapi.CheckinPath, f.check)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) enroll(w http.ResponseWriter, r *http.Request) {
	var req agentapi.EnrollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("enroll: the request does not decode: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("enroll: Content-Type %q", ct)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		f.t.Errorf("enroll sent Authorization %q", a)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enrolls = append(f.enrolls, req)
	w.Header().Set("Content-Type", "application/json")
	if f.enrollStatus != 0 {
		w.WriteHeader(f.enrollStatus)
		fmt.Fprintln(w, `{"error":"the enrollment token is unknown or expired"}`)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(agentapi.EnrollResponse{Computer: 1, Credential: fmt.Sprintf("cred-%d", len(f.enrolls))})
}

func (f *fakeServer) check(w http.ResponseWriter, r *http.Request) {
	var req agentapi.CheckinRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("check-in: the request does not decode: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkins = append(f.checkins, seenCheckin{auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), req: req})
	w.Header().Set("Content-Type", "application/json")
	if f.checkin != nil {
		f.checkin(w)
		return
	}
	fmt.Fprintln(w, `{"computer":1,"group":"g","next":3600,"install":false,"updates":[]}`)
}

func (f *fakeServer) answer(fn func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkin = fn
}

func (f *fakeServer) refuseEnrollment(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enrollStatus = code
}

func (f *fakeServer) counts() (enrolls, checkins int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.enrolls), len(f.checkins)
}

func (f *fakeServer) lastCheckin(t *testing.T) seenCheckin {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.checkins) == 0 {
		t.Fatal("the server saw no check-in")
	}
	return f.checkins[len(f.checkins)-1]
}

func newCheckinAgent(t *testing.T, server, token string) *Agent {
	t.Helper()
	a, err := New(Config{Server: server, EnrollToken: token, Root: t.TempDir(), State: t.TempDir(), Name: "pc1",
		Labels: []string{"site=lab", "tier=web"}, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func cycleOnce(t *testing.T, a *Agent) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.cycle(ctx)
}

func hasIdentity(t *testing.T, a *Agent) bool {
	t.Helper()
	_, err := os.Stat(a.st.path(identityFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestCheckinEnrollsWaitsAndReports(t *testing.T) {
	f := newFakeServer(t)
	a := newCheckinAgent(t, f.srv.URL+"/", "tok") // a trailing slash is trimmed

	// a. The first cycle enrolls, then checks in with the credential.
	wait, err := cycleOnce(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if wait < 45*time.Minute || wait > 75*time.Minute {
		t.Errorf("wait after next=3600 is %v, want within [45m, 75m]", wait)
	}
	f.mu.Lock()
	enrolls := slices.Clone(f.enrolls)
	f.mu.Unlock()
	wantEnroll := agentapi.EnrollRequest{Token: "tok", Name: "pc1", OS: runtime.GOOS, Arch: runtime.GOARCH, Labels: []string{"site=lab", "tier=web"}}
	if len(enrolls) != 1 || !cmp.Equal(enrolls[0], wantEnroll) {
		t.Fatalf("enroll requests: %+v, want one %+v", enrolls, wantEnroll)
	}
	fi, err := os.Stat(a.st.path(identityFile))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("identity.json has mode %o, want 600", fi.Mode().Perm())
	}
	var id Identity
	if ok, err := (state{dir: a.st.dir}).read(identityFile, &id); !ok || err != nil {
		t.Fatalf("identity.json: %v %v", ok, err)
	}
	if id.Credential != "cred-1" || id.Computer != 1 || id.Server != f.srv.URL || id.Enrolled.IsZero() {
		t.Errorf("identity = %+v, want cred-1 for computer 1 of %s", id, f.srv.URL)
	}
	c := f.lastCheckin(t)
	if c.auth != "Bearer cred-1" {
		t.Errorf("check-in Authorization = %q, want Bearer cred-1", c.auth)
	}
	if c.contentType != "application/json" {
		t.Errorf("check-in Content-Type = %q", c.contentType)
	}
	if c.req.OS != runtime.GOOS || c.req.Arch != runtime.GOARCH || len(c.req.Inventory) != 0 || len(c.req.Reports) != 0 || c.req.Lease || c.req.Done {
		t.Errorf("check-in request = %+v, want an empty one from %s/%s", c.req, runtime.GOOS, runtime.GOARCH)
	}

	// An agent made again on the same state uses the stored credential.
	b, err := New(Config{Server: f.srv.URL, Root: t.TempDir(), State: a.st.dir, Log: a.log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.id.Credential != "cred-1" {
		t.Errorf("a new agent on the same state has credential %q, want cred-1", b.id.Credential)
	}

	// b. A busy server: the agent waits as asked and keeps its reports.
	report := agentapi.Report{Update: 7, State: agentapi.Installed, At: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), Restarts: 1}
	if err := a.st.queue(report); err != nil {
		t.Fatal(err)
	}
	f.answer(func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "40")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintln(w, `{"error":"busy"}`)
	})
	wait, err = cycleOnce(t, a)
	if err != nil {
		t.Fatalf("a busy server is an error: %v", err)
	}
	if wait < 30*time.Second || wait > 50*time.Second {
		t.Errorf("wait after Retry-After: 40 is %v, want within [30s, 50s]", wait)
	}
	if c := f.lastCheckin(t); !cmp.Equal(c.req.Reports, []agentapi.Report{report}) {
		t.Errorf("the busy check-in carried %+v, want the queued report", c.req.Reports)
	}
	if rs, err := a.st.outbox(); err != nil || !cmp.Equal(rs, []agentapi.Report{report}) {
		t.Errorf("outbox after a busy server = %+v (%v), want the report kept", rs, err)
	}

	// 503 is busy too; a bad Retry-After is the default.
	f.answer(func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "later")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	wait, err = cycleOnce(t, a)
	if err != nil || wait < 22500*time.Millisecond || wait > 37500*time.Millisecond {
		t.Errorf("503 with a bad Retry-After: %v, %v; want a wait within [22.5s, 37.5s]", wait, err)
	}

	// c. The server answers: the report is acknowledged.
	f.answer(func(w http.ResponseWriter) {
		fmt.Fprintln(w, `{"computer":1,"group":"g","next":3600,"install":false,"updates":[]}`)
	})
	wait, err = cycleOnce(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if wait < 45*time.Minute || wait > 75*time.Minute {
		t.Errorf("wait after next=3600 is %v, want within [45m, 75m]", wait)
	}
	if c := f.lastCheckin(t); !cmp.Equal(c.req.Reports, []agentapi.Report{report}) || c.auth != "Bearer cred-1" {
		t.Errorf("the check-in carried %+v with %q, want the queued report with Bearer cred-1", c.req.Reports, c.auth)
	}
	if rs, err := a.st.outbox(); err != nil || len(rs) != 0 {
		t.Errorf("outbox after a check-in = %+v (%v), want it empty", rs, err)
	}
	if n, _ := f.counts(); n != 1 {
		t.Errorf("%d enrollments, want 1", n)
	}

	// A server error that is not "busy" is an error, and nothing is lost.
	if err := a.st.queue(report); err != nil {
		t.Fatal(err)
	}
	f.answer(func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, `{"error":"database is down"}`)
	})
	if _, err := cycleOnce(t, a); err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("cycle on 500 = %v, want the server's error", err)
	}
	if rs, err := a.st.outbox(); err != nil || len(rs) != 1 {
		t.Errorf("outbox after a 500 = %+v (%v), want the report kept", rs, err)
	}
	if !hasIdentity(t, a) {
		t.Error("a 500 dropped the identity")
	}
}

// reenrolls checks that an answer to a check-in makes the agent forget its
// credential and enroll again at the next cycle.
func reenrolls(t *testing.T, answer func(w http.ResponseWriter)) {
	f := newFakeServer(t)
	a := newCheckinAgent(t, f.srv.URL, "tok")
	if _, err := cycleOnce(t, a); err != nil {
		t.Fatal(err)
	}
	report := agentapi.Report{Update: 9, State: agentapi.Downloaded, At: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	if err := a.st.queue(report); err != nil {
		t.Fatal(err)
	}
	f.answer(answer)
	wait, err := cycleOnce(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if wait <= 0 || wait > 5*time.Second {
		t.Errorf("wait = %v, want a short one before enrolling again", wait)
	}
	if hasIdentity(t, a) {
		t.Error("identity.json is still there")
	}
	if rs, err := a.st.outbox(); err != nil || len(rs) != 1 {
		t.Errorf("outbox = %+v (%v), want the report kept for the new credential", rs, err)
	}
	f.answer(nil)
	if _, err := cycleOnce(t, a); err != nil {
		t.Fatal(err)
	}
	if enrolls, checkins := f.counts(); enrolls != 2 || checkins != 3 {
		t.Errorf("the server saw %d enrollments and %d check-ins, want 2 and 3", enrolls, checkins)
	}
	if c := f.lastCheckin(t); c.auth != "Bearer cred-2" || !cmp.Equal(c.req.Reports, []agentapi.Report{report}) {
		t.Errorf("the check-in after enrolling again sent %q with %+v, want Bearer cred-2 with the report", c.auth, c.req.Reports)
	}
	if rs, err := a.st.outbox(); err != nil || len(rs) != 0 {
		t.Errorf("outbox = %+v (%v), want it sent", rs, err)
	}
	var id Identity
	if ok, err := a.st.read(identityFile, &id); !ok || err != nil || id.Credential != "cred-2" {
		t.Errorf("identity.json: %+v (%v, %v), want cred-2", id, ok, err)
	}
}

func TestCheckinCredentialRefusedEnrollsAgain(t *testing.T) {
	reenrolls(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintln(w, `{"error":"unknown credential"}`)
	})
}

func TestCheckinRetiredEnrollsAgain(t *testing.T) {
	reenrolls(t, func(w http.ResponseWriter) {
		fmt.Fprintln(w, `{"retired": true}`)
	})
}

func TestCheckinCredentialRefusedWithoutToken(t *testing.T) {
	f := newFakeServer(t)
	a := newCheckinAgent(t, f.srv.URL, "tok")
	if _, err := cycleOnce(t, a); err != nil {
		t.Fatal(err)
	}
	a.cfg.EnrollToken = "" // the token was used up at enrollment
	f.answer(func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) })
	_, err := cycleOnce(t, a)
	var fatal *fatalError
	if !errors.As(err, &fatal) || !strings.Contains(err.Error(), "--enroll-token") {
		t.Fatalf("cycle = %v, want a fatal error asking for --enroll-token", err)
	}
	if hasIdentity(t, a) {
		t.Error("the refused credential was kept")
	}
}

func TestCheckinNotEnrolled(t *testing.T) {
	f := newFakeServer(t)
	a := newCheckinAgent(t, f.srv.URL, "")
	_, err := cycleOnce(t, a)
	var fatal *fatalError
	if !errors.As(err, &fatal) || !strings.Contains(err.Error(), "--enroll-token") {
		t.Fatalf("cycle = %v, want a fatal error mentioning --enroll-token", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("Run kept going instead of stopping on a fatal error")
	}
	if !errors.As(err, &fatal) || !strings.Contains(err.Error(), "--enroll-token") {
		t.Fatalf("Run = %v, want the fatal error", err)
	}
	if enrolls, checkins := f.counts(); enrolls+checkins != 0 {
		t.Errorf("the server saw %d enrollments and %d check-ins, want none", enrolls, checkins)
	}
}

func TestEnrollmentRefused(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFakeServer(t)
			f.refuseEnrollment(code)
			a := newCheckinAgent(t, f.srv.URL, "tok")
			_, err := cycleOnce(t, a)
			var fatal *fatalError
			if err == nil || !strings.Contains(err.Error(), "enrollment refused") || !errors.As(err, &fatal) {
				t.Fatalf("cycle = %v, want a fatal error saying the enrollment was refused", err)
			}
			if !strings.Contains(err.Error(), "unknown or expired") {
				t.Errorf("the error %q does not carry the server's reason", err)
			}
			if hasIdentity(t, a) {
				t.Error("identity.json written for a refused enrollment")
			}
			if enrolls, checkins := f.counts(); enrolls != 1 || checkins != 0 {
				t.Errorf("the server saw %d enrollments and %d check-ins, want 1 and 0", enrolls, checkins)
			}
		})
	}
	// A server error at enrollment is worth retrying: not fatal.
	t.Run("server error", func(t *testing.T) {
		f := newFakeServer(t)
		f.refuseEnrollment(http.StatusInternalServerError)
		a := newCheckinAgent(t, f.srv.URL, "tok")
		_, err := cycleOnce(t, a)
		var fatal *fatalError
		if err == nil || errors.As(err, &fatal) {
			t.Fatalf("cycle = %v, want an error that is not fatal", err)
		}
	})
}

// payloadServer serves one target's bytes as the TUF targets directory
// does, with Range support, and records the Range headers it saw.
type payloadServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	ranges []string
}

func newPayloadServer(t *testing.T, urlPath string, content []byte, status int) *payloadServer {
	p := &payloadServer{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.ranges = append(p.ranges, r.Header.Get("Range"))
		p.mu.Unlock()
		if r.URL.Path != urlPath || status != http.StatusOK {
			code := status
			if r.URL.Path != urlPath {
				t.Errorf("GET %s, want %s", r.URL.Path, urlPath)
				code = http.StatusNotFound
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
		http.ServeContent(w, r, "payload.tar.zst", time.Time{}, bytes.NewReader(content))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *payloadServer) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ranges)
}

func TestDownloadResumesAndVerifies(t *testing.T) {
	const n = 100_003
	content := make([]byte, n)
	for i := range content {
		content[i] = byte(i*7 + i/251)
	}
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	target := signed{Path: "1-p/1.0/payload.tar.zst", Length: n, SHA256: sha}
	urlPath := "/tuf/targets/1-p/1.0/" + sha + ".payload.tar.zst"
	half := int64(n / 2)

	newAgent := func(t *testing.T, server string) (*Agent, *[][2]int64) {
		var progress [][2]int64
		a, err := New(Config{Server: server, Root: t.TempDir(), State: t.TempDir(),
			Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
			Progress: func(p string, done, total int64) {
				if p != target.Path {
					t.Errorf("progress of %q", p)
				}
				progress = append(progress, [2]int64{done, total})
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a, &progress
	}
	download := func(t *testing.T, a *Agent) (string, int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.download(ctx, target)
	}
	gone := func(t *testing.T, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s remains (%v)", filepath.Base(p), err)
			}
		}
	}

	t.Run("resume", func(t *testing.T) {
		srv := newPayloadServer(t, urlPath, content, http.StatusOK)
		a, progress := newAgent(t, srv.srv.URL)
		part := a.st.path(downloadDir, sha+".part")
		if err := os.WriteFile(part, content[:half], 0o600); err != nil {
			t.Fatal(err)
		}
		file, got, err := download(t, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{fmt.Sprintf("bytes=%d-", half)}; !slices.Equal(srv.seen(), want) {
			t.Errorf("Range headers %q, want %q", srv.seen(), want)
		}
		if file != a.st.path(downloadDir, sha) {
			t.Errorf("file = %s, want downloads/<sha256>", file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, content) {
			t.Errorf("the file holds %d bytes that are not the payload", len(b))
		}
		if got != n-half {
			t.Errorf("transferred %d bytes, want %d", got, n-half)
		}
		gone(t, part)
		if p := *progress; len(p) == 0 || p[0] != [2]int64{half, n} || p[len(p)-1] != [2]int64{n, n} {
			t.Errorf("progress = %v…, want from %d to %d of %d", p[:min(len(p), 3)], half, n, n)
		}

		// Done already: no request, nothing transferred.
		file2, got, err := download(t, a)
		if err != nil || file2 != file || got != 0 || len(srv.seen()) != 1 {
			t.Errorf("second download = %s, %d, %v after %d requests; want the file, 0 bytes, no request", file2, got, err, len(srv.seen()))
		}
	})

	t.Run("server ignores Range", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(content) // 200, the whole file
		}))
		defer srv.Close()
		a, _ := newAgent(t, srv.URL)
		part := a.st.path(downloadDir, sha+".part")
		if err := os.WriteFile(part, []byte("stale bytes from elsewhere"), 0o600); err != nil {
			t.Fatal(err)
		}
		file, got, err := download(t, a)
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("transferred %d bytes, want %d", got, n)
		}
		if b, _ := os.ReadFile(file); !bytes.Equal(b, content) {
			t.Error("the file is not the payload")
		}
		gone(t, part)
	})

	t.Run("wrong bytes", func(t *testing.T) {
		other := bytes.Repeat([]byte{0x5a}, n)
		srv := newPayloadServer(t, urlPath, other, http.StatusOK)
		a, _ := newAgent(t, srv.srv.URL)
		_, got, err := download(t, a)
		var r *refusal
		if !errors.As(err, &r) || !strings.Contains(err.Error(), "does not match the signed catalog") {
			t.Fatalf("download = %v, want a refusal: does not match the signed catalog", err)
		}
		if got != n {
			t.Errorf("transferred %d bytes, want %d", got, n)
		}
		if !slices.Equal(srv.seen(), []string{""}) {
			t.Errorf("Range headers %q, want none", srv.seen())
		}
		gone(t, a.st.path(downloadDir, sha+".part"), a.st.path(downloadDir, sha))

		// Resumed onto a half that was fetched from the same wrong source.
		part := a.st.path(downloadDir, sha+".part")
		if err := os.WriteFile(part, other[:half], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := download(t, a); !errors.As(err, &r) {
			t.Fatalf("resumed download = %v, want a refusal", err)
		}
		gone(t, part, a.st.path(downloadDir, sha))
	})

	t.Run("too long", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(append(slices.Clone(content), "and more"...))
		}))
		defer srv.Close()
		a, _ := newAgent(t, srv.URL)
		_, got, err := download(t, a)
		var r *refusal
		if !errors.As(err, &r) {
			t.Fatalf("download = %v, want a refusal", err)
		}
		if got != n+1 {
			t.Errorf("read %d bytes of an over-long answer, want %d (one past the signed length)", got, n+1)
		}
		gone(t, a.st.path(downloadDir, sha+".part"), a.st.path(downloadDir, sha))
	})

	t.Run("not found", func(t *testing.T) {
		srv := newPayloadServer(t, urlPath, content, http.StatusNotFound)
		a, _ := newAgent(t, srv.srv.URL)
		_, _, err := download(t, a)
		var r *refusal
		if err == nil || errors.As(err, &r) {
			t.Fatalf("download = %v, want an error that is not a refusal", err)
		}
		if !strings.Contains(err.Error(), "404") {
			t.Errorf("the error %q does not say what the server answered", err)
		}
		gone(t, a.st.path(downloadDir, sha))
	})

	t.Run("cut short", func(t *testing.T) {
		// The connection drops mid-way: the bytes so far are kept for the
		// next attempt, which resumes from there.
		var mu sync.Mutex
		var ranges []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			ranges = append(ranges, r.Header.Get("Range"))
			first := len(ranges) == 1
			mu.Unlock()
			if first {
				w.Header().Set("Content-Length", fmt.Sprint(n))
				w.Write(content[:1000])
				return // the handler returns early: the client sees an unexpected EOF
			}
			http.ServeContent(w, r, "payload.tar.zst", time.Time{}, bytes.NewReader(content))
		}))
		defer srv.Close()
		a, _ := newAgent(t, srv.URL)
		_, got, err := download(t, a)
		var r *refusal
		if err == nil || errors.As(err, &r) {
			t.Fatalf("download = %v, want an error that is not a refusal", err)
		}
		if got != 1000 {
			t.Errorf("transferred %d bytes before the cut, want 1000", got)
		}
		file, got, err := download(t, a)
		if err != nil {
			t.Fatal(err)
		}
		if got != n-1000 {
			t.Errorf("the resumed download transferred %d bytes, want %d", got, n-1000)
		}
		if b, _ := os.ReadFile(file); !bytes.Equal(b, content) {
			t.Error("the resumed file is not the payload")
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(ranges, []string{"", "bytes=1000-"}) {
			t.Errorf("Range headers %q, want none then bytes=1000-", ranges)
		}
	})
}

// Status never shows the credential.
func TestStatusHidesCredential(t *testing.T) {
	f := newFakeServer(t)
	a := newCheckinAgent(t, f.srv.URL, "tok")
	if _, err := cycleOnce(t, a); err != nil {
		t.Fatal(err)
	}
	s, err := a.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity.Credential != "" || s.Identity.Computer != 1 {
		t.Errorf("status identity = %+v, want computer 1 without its credential", s.Identity)
	}
	if a.id.Credential != "cred-1" {
		t.Error("Status cleared the agent's own credential")
	}
	b, _ := json.Marshal(s)
	if bytes.Contains(b, []byte("cred-1")) {
		t.Errorf("status JSON shows the credential: %s", b)
	}
}
