// Package agent is patchday-agent's logic: it enrolls with an update
// server, checks in on an interval with jitter, downloads what it is
// assigned by the smallest route (a delta from what it has, else the full
// payload), verifies every byte against the vendor's TUF-signed catalog,
// and installs a month's updates as one batch — services stopped once, at
// most one restart, taken with the server's lease — that either completes
// or is rolled back, even across a crash.
package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
)

// Config says how the agent runs.
type Config struct {
	Server      string // the update server's base URL
	EnrollToken string // exchanged for a credential at first start
	Name        string // the computer's name [host name]
	Labels      []string
	Root        string // the install root
	State       string // the agent's own state
	Trust       []byte // the vendor's TUF root.json; nil trusts the server's on first contact
	Rules       []Rule // detection rules for what was installed before the agent
	Commands    Commands
	// MaxWait caps the wait between check-ins the server asks for (0: no
	// cap). Demos and tests use it; fleets leave it to the server.
	MaxWait  time.Duration
	HTTP     *http.Client
	Log      *slog.Logger
	Now      func() time.Time
	Progress func(target string, done, total int64) // downloads' progress, if set
}

// Agent is one endpoint's agent.
type Agent struct {
	cfg  Config
	st   state
	root *os.Root
	http *http.Client
	log  *slog.Logger
	now  func() time.Time

	id        Identity
	wantLease bool // the staged batch needs a restart lease
	leaseDone bool // a lease is held and the batch is over: give it back
	reported  map[int64]string

	// step, if set, is called at each step of a batch; tests stop the
	// agent there (runtime.Goexit) as a crash or power loss would.
	step func(name string)
}

// New opens the agent's state and install root.
func New(cfg Config) (*Agent, error) {
	cfg.Server = strings.TrimRight(cfg.Server, "/")
	if cfg.Root == "" || cfg.State == "" {
		return nil, errors.New("the install root and the state directory are required")
	}
	// Without a server the agent can still report its state (status).
	if u, err := url.Parse(cfg.Server); cfg.Server != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "") {
		return nil, fmt.Errorf("the server URL %q is not an http:// or https:// address like https://updates.example.com", cfg.Server)
	}
	a := &Agent{cfg: cfg, st: state{cfg.State}, http: cfg.HTTP, log: cfg.Log, now: cfg.Now, reported: map[int64]string{}}
	if a.http == nil {
		a.http = &http.Client{Timeout: 10 * time.Minute}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if err := a.st.init(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("the install root: %w", err)
	}
	a.root = root
	if _, err := a.st.read(identityFile, &a.id); err != nil {
		root.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the install root.
func (a *Agent) Close() error { return a.root.Close() }

// Run checks in until ctx ends, first finishing or rolling back any
// batch a crash interrupted.
func (a *Agent) Run(ctx context.Context) error {
	if a.id.Server != "" && a.id.Server != a.cfg.Server {
		a.log.Warn("the agent was enrolled with another server; its credential is kept but may be refused", "enrolled", a.id.Server, "server", a.cfg.Server)
	}
	backoff := 5 * time.Second
	for {
		wait, err := a.cycle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			a.log.Error("check-in failed; trying again later", "err", err, "in", backoff)
			wait, backoff = backoff, min(2*backoff, 5*time.Minute)
		} else {
			backoff = 5 * time.Second
		}
		if a.cfg.MaxWait > 0 {
			wait = min(wait, a.cfg.MaxWait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Once recovers any interrupted batch and does what is due now: a
// check-in, the downloads, the batch if the window is open and a lease was
// given, and the check-ins that report it. It does not wait for a lease
// the server refused; a later run asks again.
func (a *Agent) Once(ctx context.Context) error {
	for range 4 {
		wait, err := a.cycle(ctx)
		if err != nil {
			return err
		}
		if wait > time.Second && !a.leaseDone {
			return nil
		}
	}
	return nil
}

// fatalError stops the agent: waiting will not help.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// recoverBatch finishes or rolls back a batch left unfinished — by a crash,
// or by a commit that could not be recorded — and queues its reports.
func (a *Agent) recoverBatch(ctx context.Context) error {
	rs, lease, err := a.recover(ctx)
	if err != nil {
		return err
	}
	if len(rs) > 0 {
		a.leaseDone = a.leaseDone || lease
		return a.st.queue(rs...)
	}
	return nil
}

// cycle is one check-in and what follows it. It returns how long to wait
// before the next. An unfinished batch is settled first, with or without
// a server to talk to.
func (a *Agent) cycle(ctx context.Context) (time.Duration, error) {
	if err := a.recoverBatch(ctx); err != nil {
		return 0, err
	}
	if a.cfg.Server == "" {
		return 0, &fatalError{errors.New("no update server is given: --server URL")}
	}
	if a.id.Credential == "" {
		if err := a.enroll(ctx); err != nil {
			return 0, err
		}
	}
	inv, err := a.inventory()
	if err != nil {
		return 0, err
	}
	reports, err := a.st.outbox()
	if err != nil {
		return 0, err
	}
	req := agentapi.CheckinRequest{OS: runtime.GOOS, Arch: runtime.GOARCH, Inventory: inv, Reports: reports,
		Lease: a.wantLease && !a.leaseDone, Done: a.leaseDone}
	resp, retry, err := a.checkin(ctx, req)
	if err != nil || retry > 0 {
		return retry, err
	}
	if resp.Retired {
		a.log.Warn("the server retired this computer's credential; enrolling again")
		return time.Second, a.forget()
	}
	if err := a.st.sent(reports); err != nil {
		return 0, err
	}
	if req.Done {
		a.leaseDone = false
	}
	next := jitter(time.Duration(resp.Next) * time.Second)

	batch, err := a.stage(ctx, resp.Updates, inv)
	if err != nil {
		return 0, err
	}
	if !resp.Install || len(batch) == 0 {
		a.wantLease = false
		return next, nil
	}
	lease := resp.Lease != nil
	if needsLease(batch) && !lease {
		if !a.wantLease {
			a.wantLease = true
			return 0, nil // ask for the lease at once
		}
		a.log.Info("waiting for a restart lease", "updates", len(batch))
		return next, nil
	}
	a.begin(ctx, req, batch)
	rs := a.install(ctx, batch, lease)
	a.wantLease = false
	a.leaseDone = lease
	if err := a.st.queue(rs...); err != nil {
		return 0, err
	}
	return 0, nil // report at once
}

// begin tells the server the batch is starting, so that a computer that
// never reports back is counted as timed out by the failure brake. It is
// best effort: the batch goes on without it.
func (a *Agent) begin(ctx context.Context, req agentapi.CheckinRequest, batch []Staged) {
	now := a.now()
	req.Reports, req.Lease, req.Done = nil, false, false
	for _, s := range batch {
		req.Reports = append(req.Reports, agentapi.Report{Update: s.Update, State: agentapi.Installing, At: now})
	}
	if _, retry, err := a.checkin(ctx, req); err != nil || retry > 0 {
		a.log.Warn("could not tell the server the batch begins; installing anyway", "err", err)
	}
}

// jitter spreads check-ins: a wait is drawn from [0.75, 1.25] of d, so a
// fleet started together does not keep arriving together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Second
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// enroll exchanges the enrollment token for the computer's credential.
func (a *Agent) enroll(ctx context.Context) error {
	if a.cfg.EnrollToken == "" {
		return &fatalError{errors.New("this computer is not enrolled: give --enroll-token (from `patchday fleet token` or the fleet page)")}
	}
	name := a.cfg.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	var resp agentapi.EnrollResponse
	code, _, err := a.post(ctx, agentapi.EnrollPath, "", agentapi.EnrollRequest{Token: a.cfg.EnrollToken, Name: name,
		OS: runtime.GOOS, Arch: runtime.GOARCH, Labels: a.cfg.Labels}, &resp)
	if err != nil {
		if code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusBadRequest {
			return &fatalError{fmt.Errorf("enrollment refused: %w; ask the fleet administrator for a new token", err)}
		}
		return fmt.Errorf("enroll: %w", err)
	}
	a.id = Identity{Server: a.cfg.Server, Computer: resp.Computer, Credential: resp.Credential, Enrolled: a.now()}
	if err := a.st.write(identityFile, a.id); err != nil {
		return err
	}
	a.log.Info("enrolled", "computer", resp.Computer, "name", name)
	return nil
}

// checkin sends one check-in. A busy server's Retry-After comes back as a
// wait; a refused credential is dropped so the next cycle enrolls again.
func (a *Agent) checkin(ctx context.Context, req agentapi.CheckinRequest) (agentapi.CheckinResponse, time.Duration, error) {
	var resp agentapi.CheckinResponse
	code, hdr, err := a.post(ctx, agentapi.CheckinPath, a.id.Credential, req, &resp)
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		wait := retryAfter(hdr.Get("Retry-After"), a.now())
		a.log.Info("the server is busy; waiting as it asks", "retry_after", wait)
		return resp, jitter(wait), nil
	case code == http.StatusUnauthorized:
		a.log.Warn("the server refused this computer's credential; enrolling again", "err", err)
		if rerr := a.forget(); rerr != nil {
			return resp, 0, rerr
		}
		if a.cfg.EnrollToken == "" {
			return resp, 0, &fatalError{errors.New("the server refused this computer's credential and no --enroll-token is given")}
		}
		return resp, time.Second, nil
	case err != nil:
		return resp, 0, err
	}
	return resp, 0, nil
}

// forget drops the computer's credential, so the next cycle enrolls again.
func (a *Agent) forget() error {
	a.id = Identity{}
	return a.st.remove(identityFile)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if s, err := strconv.ParseUint(h, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// Capped before it is multiplied, so a huge value cannot overflow.
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 30 * time.Second
}

// post sends a JSON request and decodes a JSON answer.
func (a *Agent) post(ctx context.Context, path, credential string, in, out any) (int, http.Header, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Server+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "patchday-agent")
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %s: %s", http.MethodPost, path, resp.Status, lastBytes([]byte(msg), 300))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("%s: the answer does not parse: %w", path, err)
	}
	return resp.StatusCode, resp.Header, nil
}

// inventory is what is installed under the root: what the agent installed
// itself, and what detection rules find of what was there before.
func (a *Agent) inventory() ([]agentapi.Item, error) {
	in, err := a.st.installed()
	if err != nil {
		return nil, err
	}
	found, problems := Detect(a.root.FS(), a.cfg.Rules)
	for _, p := range problems {
		a.log.Warn("detection rule", "err", p)
	}
	for name, p := range in.Products {
		found[name] = p.Version
	}
	items := make([]agentapi.Item, 0, len(found))
	for name, v := range found {
		items = append(items, agentapi.Item{Product: name, Version: v})
	}
	slices.SortFunc(items, func(x, y agentapi.Item) int { return strings.Compare(x.Product, y.Product) })
	return items, nil
}

// Status is what the agent knows of itself, for `patchday-agent status`.
type Status struct {
	Identity  Identity          `json:"identity"`
	Inventory []agentapi.Item   `json:"inventory"`
	Staged    []Staged          `json:"staged"`
	Outbox    []agentapi.Report `json:"outbox"`
	Batch     string            `json:"batch,omitempty"` // the phase of an unfinished batch
}

// Status reads the agent's state.
func (a *Agent) Status() (Status, error) {
	s := Status{Identity: a.id}
	s.Identity.Credential = ""
	var err error
	if s.Inventory, err = a.inventory(); err != nil {
		return s, err
	}
	st, err := a.st.staged()
	if err != nil {
		return s, err
	}
	for _, v := range st {
		s.Staged = append(s.Staged, v)
	}
	slices.SortFunc(s.Staged, func(x, y Staged) int { return cmp.Compare(x.Update, y.Update) })
	if s.Outbox, err = a.st.outbox(); err != nil {
		return s, err
	}
	var j journal
	if ok, _ := a.st.read(journalFile, &j); ok {
		s.Batch = j.Phase
	}
	return s, nil
}
