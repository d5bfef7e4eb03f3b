// Package loadgen simulates a fleet of agents against an update server:
// enrolling them, then checking in with realistic inventories as fast as
// the server answers (or at a set rate), measuring throughput and
// latency. It runs in its own process, so the server's figures are not
// flattered by sharing its heap.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
)

// Options configure one run.
type Options struct {
	Server      string
	Agents      int
	Token       string // enrollment token for agents not in Credentials yet
	Credentials string // file of enrolled agents' credentials, reused across runs
	Concurrency int
	Rate        float64 // check-ins per second in all; 0 = as fast as answered
	Duration    time.Duration
	Warmup      time.Duration
	Products    int // inventory size per agent
	Progress    io.Writer
	Bare        bool // the server is a bare handler: no enrollment
}

// Result is what a run measured.
type Result struct {
	Requests  int64
	Errors    map[string]int64
	Elapsed   time.Duration
	PerSecond float64
	P50, P90  time.Duration
	P99, Max  time.Duration
}

func (r Result) String() string {
	var errs []string
	for k, v := range r.Errors {
		errs = append(errs, fmt.Sprintf("%s: %d", k, v))
	}
	slices.Sort(errs)
	e := "none"
	if len(errs) > 0 {
		e = strings.Join(errs, ", ")
	}
	return fmt.Sprintf("%d check-ins in %s: %.0f/s, latency p50 %s p90 %s p99 %s max %s; errors: %s",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P90, r.P99, r.Max, e)
}

// products is a realistic inventory: names and versions of the kind the
// Debian security updates in the test corpus carry.
var products = []agentapi.Item{
	{Product: "libssl3", Version: "3.0.15-1~deb12u1"}, {Product: "libcurl4", Version: "7.88.1-10+deb12u8"},
	{Product: "libxml2", Version: "2.9.14+dfsg-1.3~deb12u1"}, {Product: "nginx", Version: "1.22.1-9+deb12u1"},
	{Product: "openssh-server", Version: "1:9.2p1-2+deb12u3"}, {Product: "libc6", Version: "2.36-9+deb12u9"},
	{Product: "systemd", Version: "252.33-1~deb12u1"}, {Product: "sudo", Version: "1.9.13p3-1+deb12u1"},
	{Product: "bash", Version: "5.2.15-2+b7"}, {Product: "tzdata", Version: "2024b-0+deb12u1"},
	{Product: "libexpat1", Version: "2.5.0-1+deb12u1"}, {Product: "zlib1g", Version: "1:1.2.13.dfsg-1"},
	{Product: "libsqlite3-0", Version: "3.40.1-2+deb12u1"}, {Product: "python3.11", Version: "3.11.2-6+deb12u4"},
	{Product: "openssl", Version: "3.0.15-1~deb12u1"}, {Product: "linux-image-amd64", Version: "6.1.119-1"},
}

type agent struct {
	id   int64
	cred string
	body []byte
	req  []byte // the whole HTTP request, built once before the workers start
}

// build fills in the raw request. It runs before any worker does:
// workers share agents when there are fewer agents than workers, so a
// lazily built request would be a data race.
func (a *agent) build(host string) {
	if a.req == nil {
		a.req = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			agentapi.CheckinPath, host, a.cred, len(a.body), a.body)
	}
}

func hostOf(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("--server %q: give an http:// URL (the measuring client speaks plain HTTP/1.1)", server)
	}
	return u.Host, nil
}

// rawConn is a lean HTTP/1.1 keep-alive client: it writes prebuilt
// requests and reads just enough of each answer, so the measuring process
// takes as little of the machine's CPU as it can (like wrk), leaving the
// rest to the server under test.
type rawConn struct {
	host string
	c    net.Conn
	r    *bufio.Reader
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

func (rc *rawConn) post(ctx context.Context, req []byte) error {
	if rc.c == nil {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", rc.host)
		if err != nil {
			return err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := rc.c.Write(req); err != nil {
		rc.close()
		return err
	}
	status, length, closeAfter := 0, -1, false
	for first := true; ; first = false {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			rc.close()
			return err
		}
		if first {
			if len(line) < 12 {
				rc.close()
				return errors.New("malformed status line")
			}
			status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
			continue
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok {
			switch {
			case bytes.EqualFold(k, []byte("Content-Length")):
				n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
				if err != nil {
					rc.close()
					return err
				}
				length = n
			case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(bytes.TrimSpace(v), []byte("close")):
				closeAfter = true
			case bytes.EqualFold(k, []byte("Transfer-Encoding")):
				rc.close()
				return errors.New("chunked answers are not expected")
			}
		}
	}
	if length < 0 {
		rc.close()
		return errors.New("answer without Content-Length")
	}
	if _, err := rc.r.Discard(length); err != nil {
		rc.close()
		return err
	}
	if closeAfter {
		rc.close()
	}
	if status/100 != 2 {
		return &statusError{code: status}
	}
	return nil
}

// Run enrolls what is missing, then checks in until the duration ends.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Products <= 0 || o.Products > len(products) {
		o.Products = 12
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency * 2, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	agents, err := enrollAll(ctx, client, o)
	if err != nil {
		return Result{}, err
	}
	if !o.Bare {
		// A server that has run for a while has seen every computer:
		// their inventories are stored and their credentials cached.
		// Measure that, not the first contact.
		fmt.Fprintf(o.Progress, "checking in each of %d agents once before measuring\n", len(agents))
		if err := pass(ctx, client, o, agents); err != nil {
			return Result{}, err
		}
	}
	if o.Warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.Warmup)
		fmt.Fprintf(o.Progress, "warming up for %s\n", o.Warmup)
		_, _ = hammer(wctx, client, o, agents)
		cancel()
	}
	rctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	return hammer(rctx, client, o, agents)
}

func body(i int, n int) []byte {
	inv := make([]agentapi.Item, n)
	for j := range n {
		inv[j] = products[(i+j)%len(products)]
	}
	b, _ := json.Marshal(agentapi.CheckinRequest{OS: "linux", Arch: "amd64", Inventory: inv})
	return b
}

func enrollAll(ctx context.Context, client *http.Client, o Options) ([]agent, error) {
	agents := make([]agent, 0, o.Agents)
	if o.Bare {
		for i := range o.Agents {
			agents = append(agents, agent{id: int64(i + 1), cred: "pdc_bare", body: body(i, o.Products)})
		}
		return agents, nil
	}
	if o.Credentials != "" {
		f, err := os.Open(o.Credentials)
		if err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() && len(agents) < o.Agents {
				if line := strings.TrimSpace(sc.Text()); line != "" {
					agents = append(agents, agent{cred: line, body: body(len(agents), o.Products)})
				}
			}
			f.Close()
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	missing := o.Agents - len(agents)
	if missing <= 0 {
		fmt.Fprintf(o.Progress, "%d agents enrolled before\n", len(agents))
		return agents, nil
	}
	if o.Token == "" {
		return nil, fmt.Errorf("%d agents are not enrolled yet: give an enrollment token with at least that many uses (--token)", missing)
	}
	var out *os.File
	if o.Credentials != "" {
		var err error
		if out, err = os.OpenFile(o.Credentials, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err != nil {
			return nil, err
		}
		defer out.Close()
	}
	var mu sync.Mutex
	var next atomic.Int64
	next.Store(int64(len(agents)))
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(o.Concurrency, 32) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(o.Agents) || ctx.Err() != nil {
					return
				}
				req, _ := json.Marshal(agentapi.EnrollRequest{Token: o.Token, Name: fmt.Sprintf("bench-%07d", i), OS: "linux", Arch: "amd64"})
				var resp agentapi.EnrollResponse
				if err := post(ctx, client, o.Server+agentapi.EnrollPath, "", req, &resp); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("enroll agent %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				mu.Lock()
				agents = append(agents, agent{id: resp.Computer, cred: resp.Credential, body: body(int(i), o.Products)})
				if out != nil {
					fmt.Fprintln(out, resp.Credential)
				}
				if n := len(agents); n%10000 == 0 {
					fmt.Fprintf(o.Progress, "enrolled %d of %d (%.0f/s)\n", n, o.Agents, float64(n-o.Agents+missing)/time.Since(start).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return agents, ctx.Err()
}

func post(ctx context.Context, client *http.Client, url, cred string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// pass checks every agent in once.
func pass(ctx context.Context, client *http.Client, o Options, agents []agent) error {
	var next, done atomic.Int64
	started := time.Now()
	report := func(n int64) {
		el := time.Since(started)
		fmt.Fprintf(o.Progress, "checked in %d of %d (%.0f/s)\n", n, len(agents), float64(n)/el.Seconds())
	}
	var wg sync.WaitGroup
	errc := make(chan error, o.Concurrency)
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(agents)) || ctx.Err() != nil {
					return
				}
				a := agents[i]
				if err := post(ctx, client, o.Server+agentapi.CheckinPath, a.cred, a.body, nil); err != nil {
					errc <- fmt.Errorf("first check-in of agent %d: %w", i, err)
					return
				}
				if n := done.Add(1); n%100_000 == 0 && n < int64(len(agents)) {
					report(n)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	report(done.Load())
	return nil
}

// hammer checks in until ctx ends, each worker taking agents in turn.
func hammer(ctx context.Context, client *http.Client, o Options, agents []agent) (Result, error) {
	if len(agents) == 0 {
		return Result{}, errors.New("no agents")
	}
	var next atomic.Int64
	next.Store(rand.Int64N(int64(len(agents))))
	var mu sync.Mutex
	errs := map[string]int64{}
	lat := make([][]time.Duration, o.Concurrency)
	var tick <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer t.Stop()
		tick = t.C
	}
	host, err := hostOf(o.Server)
	if err != nil {
		return Result{}, err
	}
	for i := range agents {
		agents[i].build(host)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<16)
			conn := &rawConn{host: host}
			defer conn.close()
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						continue
					}
				}
				a := &agents[next.Add(1)%int64(len(agents))]
				t0 := time.Now()
				err := conn.post(ctx, a.req)
				d := time.Since(t0)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					key := "transport"
					var se *statusError
					if errors.As(err, &se) {
						key = fmt.Sprintf("HTTP %d", se.code)
					}
					mu.Lock()
					errs[key]++
					mu.Unlock()
					continue
				}
				mine = append(mine, d)
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Requests: int64(len(all)), Errors: errs, Elapsed: elapsed, PerSecond: float64(len(all)) / elapsed.Seconds()}
	if n := len(all); n > 0 {
		q := func(p float64) time.Duration { return all[min(n-1, int(p*float64(n)))].Round(10 * time.Microsecond) }
		r.P50, r.P90, r.P99, r.Max = q(0.50), q(0.90), q(0.99), all[n-1].Round(10*time.Microsecond)
	}
	return r, nil
}

// Bare answers every check-in with a fixed body after reading the
// request: the ceiling HTTP and JSON transport alone allow on this
// machine, to compare the real server with.
func Bare() http.Handler {
	resp, _ := json.Marshal(agentapi.CheckinResponse{Computer: 1, Group: "broad", Next: 3600, Updates: []agentapi.Assignment{}})
	resp = append(resp, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
	})
}
