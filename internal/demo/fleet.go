package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchday/patchday/internal/agent"
	"github.com/patchday/patchday/internal/fstree"
	"github.com/patchday/patchday/internal/serveproc"
)

const agents = 3

// agentRun is one in-process agent on its own install root.
type agentRun struct {
	name, root, state string
	log               *serveproc.Lines
	content           atomic.Int64 // bytes of payloads and deltas received
	cancel            context.CancelFunc
	done              chan error
}

// compliance is the part of /api/v1/fleet/compliance the demo reads.
type compliance struct {
	Computers []struct {
		Name   string           `json:"name"`
		Group  string           `json:"group"`
		States map[int64]string `json:"states"`
		Why    map[int64]string `json:"why"`
		All    struct {
			Installed int `json:"installed"`
			Failed    int `json:"failed"`
			Restarts  int `json:"restarts"`
		} `json:"all"`
	} `json:"computers"`
}

// fleet has the fleet administrator make an enrollment token and a group
// whose maintenance window is open now and approve the update for it;
// then three agents, each on a computer with the older version, enroll,
// check in, download and install it, until the compliance view says all
// three have it.
func (d *demo) fleet(ctx context.Context) error {
	fa := d.staff["fleet-admin"]
	var tok struct {
		Token string `json:"token"`
	}
	if err := api(ctx, d.srv.URL, fa.token, "POST", "/api/v1/fleet/enroll-tokens", map[string]any{
		"note": "patchday demo", "labels": []string{"ring=demo"}, "uses": agents, "ttl": "24h"}, &tok); err != nil {
		return err
	}
	// A daily window that opened on the hour before last, for three hours:
	// open now, whatever the time.
	start := time.Now().UTC().Add(-time.Hour)
	rule := fmt.Sprintf("FREQ=DAILY;BYHOUR=%d;BYMINUTE=0", start.Hour())
	var g struct {
		NextWindow *time.Time `json:"next_window"`
	}
	if err := api(ctx, d.srv.URL, fa.token, "PUT", "/api/v1/fleet/groups/demo", map[string]any{
		"labels": []string{"ring=demo"},
		"window": map[string]string{"rule": rule, "duration": "3h", "tz": "UTC"},
		"policy": map[string]any{"waves": []float64{100}, "bake": "0s", "max_unavailable": agents, "brake_failures": 1,
			"brake_rate": 0.5, "brake_min_results": agents, "install_timeout": "30m", "cooldown": "0s"},
	}, &g); err != nil {
		return err
	}
	if err := api(ctx, d.srv.URL, fa.token, "POST", "/api/v1/fleet/approvals", map[string]any{
		"update": d.update.ID, "group": "demo", "action": "install", "why": d.form.advisory + ": " + d.form.cve.ID + ", " + d.form.rating}, nil); err != nil {
		return err
	}
	d.p.step("%s: enrollment token for 3 computers (label ring=demo), group demo (window %s for 3h UTC: open now; one wave, all 3 may restart at once), approved update %d for it",
		fa.email, rule, d.update.ID)

	trust, err := os.ReadFile(filepath.Join(d.data, "tuf-keys", "1.root.json"))
	if err != nil {
		return fmt.Errorf("the vendor's root.json for the agents: %w", err)
	}
	rules, err := agent.ParseRules([]byte(detectRules()))
	if err != nil {
		return err
	}
	restarts := filepath.Join(d.data, "agents", "restarts.log")
	for i := range agents {
		name := fmt.Sprintf("pc%d", i+1)
		a := &agentRun{name: name, root: filepath.Join(d.data, "agents", name, "root"), state: filepath.Join(d.data, "agents", name, "state"),
			log: &serveproc.Lines{}, done: make(chan error, 1)}
		if err := os.MkdirAll(a.root, 0o755); err != nil {
			return err
		}
		if err := fstree.Copy(d.c.oldDir, a.root); err != nil {
			return err
		}
		rec := func(what string) string {
			return fmt.Sprintf(`echo "%s %s {service} $(date +%%s)" >> %q`, what, name, restarts)
		}
		cmds := agent.DefaultCommands(runtime.GOOS)
		cmds.StopService, cmds.StartService, cmds.Reboot, cmds.Health = rec("stop"), rec("start"), rec("reboot"), rec("healthy")
		cmds.RebootWait = 0 // the "restart" only records; nothing will stop the agent
		cfg := agent.Config{Server: d.srv.URL, EnrollToken: tok.Token, Name: name, Root: a.root, State: a.state, Trust: trust, Rules: rules,
			Commands: cmds, MaxWait: 500 * time.Millisecond,
			HTTP: &http.Client{Timeout: 10 * time.Minute, Transport: &counting{next: http.DefaultTransport, n: &a.content}},
			Log:  slog.New(slog.NewTextHandler(io.MultiWriter(a.log, prefixed(d.log, name)), nil))}
		ag, err := agent.New(cfg)
		if err != nil {
			return fmt.Errorf("agent %s: %w", name, err)
		}
		actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		a.cancel = cancel
		go func() {
			defer ag.Close()
			a.done <- ag.Run(actx)
		}()
		d.agents = append(d.agents, a)
	}
	d.p.step("started %d agents in this process (pc1…pc%d), each on its own root holding %s %s, checking in every 0.5s; restarts only write to %s",
		agents, agents, productName, d.c.old, restarts)

	var c compliance
	err = d.p.wait(ctx, "the fleet", 3*time.Minute, 250*time.Millisecond, func() (bool, string, error) {
		for _, a := range d.agents {
			select {
			case err := <-a.done:
				return false, "", fmt.Errorf("agent %s stopped: %v\n%s", a.name, err, lastLines(a.log.String(), 20))
			default:
			}
		}
		if err := api(ctx, d.srv.URL, fa.token, "GET", "/api/v1/fleet/compliance", nil, &c); err != nil {
			return false, "", err
		}
		done := len(c.Computers) == agents
		var states []string
		for _, cc := range c.Computers {
			st := cc.States[d.update.ID]
			if st == "failed" {
				return false, "", fmt.Errorf("%s failed to install the update: %s", cc.Name, cc.Why[d.update.ID])
			}
			done = done && st == "installed" && cc.All.Restarts == 1
			states = append(states, cc.Name+" "+or(st, "checking in"))
		}
		slices.Sort(states)
		return done, fmt.Sprintf("compliance: %d of %d enrolled; %s", len(c.Computers), agents, strings.Join(states, ", ")), nil
	})
	if err != nil {
		return err
	}
	d.res.Compliance = map[string]ComputerState{}
	for _, cc := range c.Computers {
		d.res.Compliance[cc.Name] = ComputerState{State: cc.States[d.update.ID], Restarts: cc.All.Restarts}
	}
	d.p.step("GET /api/v1/fleet/compliance: all %d computers have %s %s installed, 1 restart each", agents, productName, d.c.cur)

	// What each agent did, from its own log, its traffic and its commands.
	events, _ := os.ReadFile(restarts)
	for _, a := range d.agents {
		r := AgentResult{Name: a.name}
		if err := d.waitLog(ctx, a, `msg="batch installed"`); err != nil {
			return err
		}
		for _, line := range strings.Split(a.log.String(), "\n") {
			if strings.Contains(line, "msg=staged") && strings.Contains(line, "product="+productName) {
				r.Route = field(line, "route")
				r.Full, _ = strconv.ParseInt(field(line, "full"), 10, 64)
			}
			if strings.Contains(line, `msg="batch installed"`) {
				r.Took, _ = time.ParseDuration(field(line, "took"))
			}
		}
		r.Fetched = a.content.Load() // over the wire, as received
		for _, l := range strings.Split(string(events), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "reboot" && f[1] == a.name {
				r.Restarts++
			}
		}
		if err := sameTree(d.c.newDir, a.root); err != nil {
			return fmt.Errorf("%s: the install root is not %s %s: %w", a.name, productName, d.c.cur, err)
		}
		if r.Restarts != 1 {
			return fmt.Errorf("%s restarted %d times; one batch takes exactly one restart", a.name, r.Restarts)
		}
		d.res.Agents = append(d.res.Agents, r)
		d.p.note("%s: downloaded %s (%s; the full payload is %s: %.0f%%), restarts: %d, batch took %s; its files are now %s's, byte for byte",
			a.name, size(r.Fetched), r.Route, size(r.Full), 100*float64(r.Fetched)/float64(max(r.Full, 1)), r.Restarts, r.Took.Round(time.Millisecond), d.c.cur)
	}
	return nil
}

// waitLog waits for a line in an agent's log (the compliance view may
// learn of a batch a moment before its log line is written).
func (d *demo) waitLog(ctx context.Context, a *agentRun, s string) error {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.log.String(), s) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s's log lacks %s:\n%s", a.name, s, lastLines(a.log.String(), 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// stopAll stops the agents, then the server.
func (d *demo) stopAll() error {
	for _, a := range d.agents {
		a.cancel()
		<-a.done
	}
	d.agents = nil
	return d.srv.Stop()
}

// field returns key's value in a slog text line.
func field(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		if s, err := strconv.QuotedPrefix(v); err == nil {
			u, _ := strconv.Unquote(s)
			return u
		}
	}
	return strings.Fields(v)[0]
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// counting counts the bytes of payloads and deltas (/tuf/targets/…) an
// agent receives.
type counting struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(req.URL.Path, "/tuf/targets/") {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: c.n}
	}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// prefixed writes each line to w with a prefix (the agents' logs go to
// the demo's log file with the server's).
func prefixed(w io.Writer, prefix string) io.Writer {
	return &prefixWriter{w: w, prefix: "agent " + prefix + ": "}
}

type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.w.Write(append([]byte(p.prefix), b...))
	return len(b), err
}
