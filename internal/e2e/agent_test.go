package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/agent"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/e2e"
	"github.com/patchday/patchday/internal/fstree"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/store/sqlite"
)

const releases = "../../../shared/testdata/releases"

// A month's release: three real Debian security updates, one needing a
// reboot, one a service restart and one nothing.
var monthly = []struct{ product, restart string }{
	{"libssl3", "reboot"},
	{"nginx", "service:nginx"},
	{"libxml2", "none"},
}

// versions returns a product's two corpus versions, oldest first.
func versions(t testing.TB, name string) (old, cur string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(releases, name))
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, e := range entries {
		if e.IsDir() {
			vs = append(vs, e.Name())
		}
	}
	slices.SortFunc(vs, product.SchemeDebian.Compare)
	return vs[0], vs[len(vs)-1]
}

// debianVersion is the version a corpus tree's Debian changelog names —
// what a detection rule finds on a computer that has it (the directory
// names write "~deb12u" as "+deb12u" for some products).
func debianVersion(t testing.TB, product, dir string) string {
	t.Helper()
	rules, err := agent.ParseRules([]byte(detectRules(product)))
	if err != nil {
		t.Fatal(err)
	}
	found, problems := agent.Detect(os.DirFS(filepath.Join(releases, product, dir)), rules)
	if len(problems) > 0 || found[product] == "" {
		t.Fatalf("no version detected in %s %s: %v", product, dir, problems)
	}
	return found[product]
}

// detectRules are detection rules for corpus products: the version from
// the first line of the Debian changelog.
func detectRules(products ...string) string {
	var rules strings.Builder
	rules.WriteString(`{"rules": [`)
	for i, p := range products {
		if i > 0 {
			rules.WriteString(",")
		}
		fmt.Fprintf(&rules, `{"product": %q, "path": "usr/share/doc/%s/changelog.Debian.gz", "gzip": true, "regexp": "^\\S+ \\(([^)]+)\\)"}`, p, p)
	}
	rules.WriteString("]}")
	return rules.String()
}

// seedMonthly records two published releases in a vendor's data directory:
// the products' older versions, then the monthly release that updates all
// three (and any extra corpus products, needing no restart).
func seedMonthly(t testing.TB, dir string, extra ...string) {
	t.Helper()
	items := []seedItem{}
	for _, m := range monthly {
		items = append(items, seedItem{m.product, m.restart})
	}
	for _, p := range extra {
		items = append(items, seedItem{p, "none"})
	}
	seedReleases(t, dir, items...)
}

// seedItem is a corpus product and its restart need.
type seedItem struct{ product, restart string }

// seedReleases records two published releases of corpus products in a
// vendor's data directory, as release publication does: their older
// versions (installed where the product is absent), then the newer ones
// (over the older). The server signs them into its catalog, with deltas
// from the older versions, when it starts.
func seedReleases(t testing.TB, dir string, items ...seedItem) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "patchday.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	products := product.NewService(db, nil)
	sys := audit.Actor{Who: "test"}
	ids := map[string]int64{}
	for _, it := range items {
		pr, err := products.Add(ctx, sys, it.product, "Debian", "debian")
		if err != nil {
			t.Fatal(err)
		}
		ids[it.product] = pr.ID
	}
	now := time.Now()
	for round := range 2 {
		r := release.Release{At: now, Kind: release.OutOfBand, Justification: "test", CreatedAt: now}
		e := audit.New(sys, now, "test", "", "")
		if err := db.CreateRelease(ctx, &r, e); err != nil {
			t.Fatal(err)
		}
		var us []release.Update
		for _, it := range items {
			oldDir, curDir := versions(t, it.product)
			old, cur := debianVersion(t, it.product, oldDir), debianVersion(t, it.product, curDir)
			// The older versions install where the product is absent.
			dir, v, applies := oldDir, old, []string{""}
			if round == 1 {
				dir, v, applies = curDir, cur, []string{old}
			}
			if _, err := products.AddVersion(ctx, sys, it.product, v); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := payload.Build(ctx, filepath.Join(releases, it.product, dir), payload.Meta{Product: it.product, Version: v, Restart: it.restart}, &buf); err != nil {
				t.Fatal(err)
			}
			ref, err := blobs.Put(ctx, &buf, 0)
			if err != nil {
				t.Fatal(err)
			}
			us = append(us, release.Update{ReleaseID: r.ID, ProductID: ids[it.product], Product: it.product, Brings: v, AppliesTo: applies,
				Classification: "security", Severity: "High", Cases: []string{"PD-1"}, CreatedAt: now,
				Payload: intake.Attachment{Name: it.product + ".tar.zst", ContentType: "application/zstd", SHA256: ref.SHA256, Size: ref.Size}})
		}
		if ok, err := db.MarkPublished(ctx, r.ID, now, us, e); err != nil || !ok {
			t.Fatalf("publish: %v %v", ok, err)
		}
	}
}

var (
	agentOnce sync.Once
	agentBin  string
	agentErr  error
)

// agentBinary builds patchday-agent once per test run: the agents run as
// real processes, so they can be killed.
func agentBinary(t testing.TB) string {
	t.Helper()
	agentOnce.Do(func() {
		dir, err := os.MkdirTemp("", "patchday-agent-bin-")
		if err != nil {
			agentErr = err
			return
		}
		agentBin = filepath.Join(dir, "patchday-agent")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-o", agentBin, "github.com/patchday/patchday/cmd/patchday-agent").CombinedOutput()
		if err != nil {
			agentErr = fmt.Errorf("go build patchday-agent: %v\n%s", err, out)
		}
	})
	if agentErr != nil {
		t.Fatal(agentErr)
	}
	return agentBin
}

// lab is a server with the monthly release in its catalog, a group to
// enroll into, and what agents need to talk to it.
type lab struct {
	srv    *e2e.Server
	staff  string // a staff API token
	enroll string // an enrollment token
	trust  string // the vendor's root.json
	rules  string // detection rules for the corpus products
	shared string // where every agent's commands record what they did
	via    string // if set, the URL agents use instead of the server's (a proxy)
	news   map[string]apiUpdate
	olds   map[string]apiUpdate
}

type apiUpdate struct {
	ID        int64    `json:"id"`
	Product   string   `json:"product"`
	Version   string   `json:"version"`
	AppliesTo []string `json:"applies_to"`
	Restart   string   `json:"restart"`
	Deltas    int      `json:"deltas"`
	Size      int64    `json:"size"`
}

// newLab starts the server and makes a group "lab" (window open now, at
// most maxDown computers restarting at once) for computers with the
// token's label.
func newLab(t testing.TB, agents, maxDown int, extra ...string) *lab {
	t.Helper()
	data := t.TempDir()
	seedMonthly(t, data, extra...)
	l := &lab{srv: e2e.Start(t, e2e.Options{Data: data}), trust: filepath.Join(data, "tuf-keys", "1.root.json"),
		shared: filepath.Join(t.TempDir(), "commands.log"), news: map[string]apiUpdate{}, olds: map[string]apiUpdate{}}
	out, err := l.srv.CLI(t, "", "token", "create", "--email", l.srv.AdminEmail, "--name", "e2e")
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	l.staff = strings.TrimSpace(out)
	out, err = l.srv.CLI(t, "", "fleet", "token", "--uses", strconv.Itoa(agents+2), "--labels", "ring=lab", "--note", "e2e")
	if err != nil {
		t.Fatalf("enrollment token: %v", err)
	}
	l.enroll = strings.TrimSpace(out)

	// The catalog is signed in the background at start.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var us []apiUpdate
		l.api(t, "GET", "/api/v1/fleet/updates", nil, &us)
		for _, u := range us {
			if old, _ := versions(t, u.Product); u.Version == debianVersion(t, u.Product, old) {
				l.olds[u.Product] = u
			} else if u.Deltas > 0 {
				l.news[u.Product] = u
			}
		}
		if len(l.news) == len(monthly)+len(extra) && len(l.olds) == len(l.news) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog never listed every update with its delta: %+v", us)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A daily window that opened an hour ago, in Berlin.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Now().In(berlin).Add(-time.Hour)
	l.api(t, "PUT", "/api/v1/fleet/groups/lab", map[string]any{
		"labels": []string{"ring=lab"},
		"window": map[string]string{"rule": fmt.Sprintf("FREQ=DAILY;BYHOUR=%d;BYMINUTE=0", start.Hour()), "duration": "3h", "tz": "Europe/Berlin"},
		"policy": map[string]any{"waves": []float64{100}, "bake": "0s", "max_unavailable": maxDown, "brake_failures": 100,
			"brake_rate": 1, "brake_min_results": 100, "install_timeout": "1h", "cooldown": "0s"},
	}, nil)

	l.rules = filepath.Join(t.TempDir(), "detect.json")
	if err := os.WriteFile(l.rules, []byte(detectRules(append([]string{"libssl3", "nginx", "libxml2"}, extra...)...)), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// release is the monthly release's three updates.
func (l *lab) release() []apiUpdate {
	var us []apiUpdate
	for _, m := range monthly {
		us = append(us, l.news[m.product])
	}
	return us
}

// fleet starts n agents, pc1…pcN, each on a computer with last month's
// versions.
func (l *lab) fleet(t testing.TB, n int) []*agentProc {
	var procs []*agentProc
	for i := range n {
		procs = append(procs, l.start(t, fmt.Sprintf("pc%d", i+1), oldRoot(t, "libssl3", "nginx", "libxml2"), filepath.Join(t.TempDir(), "state")))
	}
	return procs
}

// approve approves updates for the lab group.
func (l *lab) approve(t testing.TB, us ...apiUpdate) {
	t.Helper()
	for _, u := range us {
		l.api(t, "POST", "/api/v1/fleet/approvals", map[string]any{"update": u.ID, "group": "lab", "action": "install", "why": "e2e"}, nil)
	}
}

func (l *lab) api(t testing.TB, method, path string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.srv.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+l.staff)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// compliance is the part of /api/v1/fleet/compliance the tests read.
type compliance struct {
	Updates []struct {
		Update int64 `json:"update"`
		All    tally `json:"all"`
	} `json:"updates"`
	Computers []struct {
		Name   string           `json:"name"`
		States map[int64]string `json:"states"`
		Why    map[int64]string `json:"why"`
		All    tally            `json:"all"`
	} `json:"computers"`
}

type tally struct {
	Installed, Needed, Downloaded, Failed int
	Restarts                              int
	Downtime                              int64 `json:"downtime_minutes"`
}

func (l *lab) compliance(t testing.TB) compliance {
	var c compliance
	l.api(t, "GET", "/api/v1/fleet/compliance", nil, &c)
	return c
}

// waitCompliance polls compliance until ok says so.
func (l *lab) waitCompliance(t testing.TB, what string, within time.Duration, ok func(compliance) bool) compliance {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c := l.compliance(t)
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(c, "", " ")
			t.Fatalf("%s: not within %s; compliance:\n%s", what, within, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// agentProc is one patchday-agent process on its own install root.
type agentProc struct {
	name, root, state string
	log               string
	cmd               *exec.Cmd
	done              chan struct{}
	peak              int64 // KiB of peak resident memory, read before it stops
}

// oldRoot makes an install root holding the older version of each
// product, as a computer has before the monthly release.
func oldRoot(t testing.TB, products ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range products {
		old, _ := versions(t, p)
		if err := fstree.Copy(filepath.Join(releases, p, old), root); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// start runs an agent against the lab. Its commands record into the
// lab's shared log: stops and starts of services, restarts, and the health
// check that ends its downtime.
func (l *lab) start(t testing.TB, name, root, state string, flags ...string) *agentProc {
	t.Helper()
	rec := func(what string) string {
		return fmt.Sprintf(`echo "%s %s {service} $(date +%%s%%N)" >> %q`, what, name, l.shared)
	}
	server := l.srv.URL
	if l.via != "" {
		server = l.via
	}
	args := []string{"--server", server, "--enroll-token", l.enroll, "--root", root, "--state", state, "--name", name,
		"--trust", l.trust, "--detect", l.rules, "--max-wait", "500ms", "--reboot-wait", "0s", "--log-level", "debug",
		"--stop-service", rec("stop"), "--start-service", rec("start"), "--reboot-command", rec("reboot"), "--health-command", rec("healthy")}
	args = append(args, flags...)
	a := &agentProc{name: name, root: root, state: state, log: filepath.Join(state, "..", name+".log"), done: make(chan struct{})}
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(agentBinary(t), args...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.cmd.Wait()
		logf.Close()
		close(a.done)
	}()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			b, _ := os.ReadFile(a.log)
			t.Logf("agent %s log:\n%s", name, lastLines(string(b), 60))
		}
	})
	return a
}

// stop ends the agent as its service manager would (SIGTERM).
func (a *agentProc) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	a.peak = peakMemory(a.cmd.Process.Pid)
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
	}
}

// kill ends the agent as a power cut would.
func (a *agentProc) kill() {
	a.cmd.Process.Kill()
	<-a.done
}

func (a *agentProc) logText() string {
	b, _ := os.ReadFile(a.log)
	return string(b)
}

// peakMemory reads a process's peak resident set (VmHWM, KiB) on Linux.
// (The rusage of a child counts its parent's memory from before exec.)
func peakMemory(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// event is one line of the shared command log.
type event struct {
	what, agent, service string
	at                   int64
}

func (l *lab) events(t testing.TB) []event {
	f, err := os.Open(l.shared)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var es []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		e := event{what: fs[0], agent: fs[1]}
		if len(fs) == 4 {
			e.service = fs[2]
		}
		e.at, _ = strconv.ParseInt(fs[len(fs)-1], 10, 64)
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b event) int { return int(a.at - b.at) })
	return es
}

// sameTree reports the first difference between an install root and a
// corpus tree of the product (every file of the tree must be in the root
// with the same content; the root may hold other products too).
func sameTree(t testing.TB, tree, root string) error {
	t.Helper()
	return filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		if d.Type()&fs.ModeSymlink != 0 {
			want, _ := os.Readlink(p)
			if got, err := os.Readlink(filepath.Join(root, rel)); err != nil || got != want {
				return fmt.Errorf("%s: link %q, want %q (%v)", rel, got, want, err)
			}
			return nil
		}
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("%s differs from %s (%v)", rel, tree, err)
		}
		return nil
	})
}

func TestAgentsInstallMonthlyReleaseAsOneBatch(t *testing.T) {
	const agents, maxDown = 5, 2
	l := newLab(t, agents, maxDown)
	news := l.release()
	l.approve(t, news...)
	procs := l.fleet(t, agents)
	c := l.waitCompliance(t, "every agent installs the monthly release", 3*time.Minute, func(c compliance) bool {
		done := len(c.Computers) == agents
		for _, cc := range c.Computers {
			for _, u := range news {
				done = done && cc.States[u.ID] == "installed"
			}
			// The restart is reported with the batch's results.
			done = done && cc.All.Restarts == 1
		}
		return done
	})
	for _, cc := range c.Computers {
		if cc.All.Restarts != 1 || cc.All.Failed != 0 {
			t.Errorf("%s: %d restarts, %d failed; want exactly one restart and no failure", cc.Name, cc.All.Restarts, cc.All.Failed)
		}
	}
	for _, u := range c.Updates {
		if i := slices.IndexFunc(news, func(n apiUpdate) bool { return n.ID == u.Update }); i >= 0 && u.All.Installed != agents {
			t.Errorf("update %d (%s): installed on %d computers, want %d", u.Update, news[i].Product, u.All.Installed, agents)
		}
	}
	for _, p := range procs {
		p.stop()
	}

	// What each agent did, from its commands' own records.
	es := l.events(t)
	for _, p := range procs {
		count := map[string]int{}
		for _, e := range es {
			if e.agent == p.name {
				count[e.what]++
			}
		}
		if count["reboot"] != 1 || count["stop"] != 1 || count["start"] != 1 {
			t.Errorf("%s: %d restarts, nginx stopped %d and started %d times; want each exactly once (one batch)", p.name, count["reboot"], count["stop"], count["start"])
		}
		log := p.logText()
		if n := strings.Count(log, "route=delta"); n != len(monthly) {
			t.Errorf("%s staged %d of %d updates by delta", p.name, n, len(monthly))
		}
		if n := strings.Count(log, "msg=\"batch installed\""); n != 1 {
			t.Errorf("%s installed %d batches, want 1", p.name, n)
		}
		for _, m := range monthly {
			_, cur := versions(t, m.product)
			if err := sameTree(t, filepath.Join(releases, m.product, cur), p.root); err != nil {
				t.Errorf("%s: %s is not the new version: %v", p.name, m.product, err)
			}
		}
		if entries, _ := os.ReadDir(filepath.Join(p.root, ".patchday-batch")); len(entries) != 0 {
			t.Errorf("%s: the batch's working tree was left behind", p.name)
		}
	}
	// Never more computers down at once than the group allows: a
	// computer is down from its service stop to its health check.
	down, most := map[string]bool{}, 0
	for _, e := range es {
		switch e.what {
		case "stop":
			down[e.agent] = true
		case "healthy":
			delete(down, e.agent)
		}
		most = max(most, len(down))
	}
	if most > maxDown || most == 0 {
		t.Errorf("at most %d computers were down at once; the group allows %d", most, maxDown)
	}
	logAgentFigures(t, l, procs)
}

// logAgentFigures logs what the agents downloaded against the full
// payloads, how long their batches took, and their peak memory.
func logAgentFigures(t testing.TB, l *lab, procs []*agentProc) {
	for _, p := range procs {
		f := figures(t, l, p)
		t.Logf("%s: downloaded %d bytes for %d bytes of full payloads (%.1f%%); batch took %s; peak RSS %d KiB",
			p.name, f.fetched, f.full, 100*float64(f.fetched)/float64(f.full), f.took, p.peak)
	}
}

// agentFigures are what one agent's log says its month cost.
type agentFigures struct {
	fetched, full int64 // bytes downloaded; bytes the full payloads would have been
	took          time.Duration
}

func figures(t testing.TB, l *lab, p *agentProc) agentFigures {
	var f agentFigures
	for _, m := range monthly {
		f.full += l.news[m.product].Size
	}
	for _, line := range strings.Split(p.logText(), "\n") {
		if i := strings.Index(line, " fetched="); i >= 0 && strings.Contains(line, "msg=staged") {
			n, _ := strconv.ParseInt(strings.Fields(line[i+9:])[0], 10, 64)
			f.fetched += n
		}
		if j := strings.Index(line, " took="); j >= 0 && strings.Contains(line, "msg=\"batch installed\"") {
			d, err := time.ParseDuration(strings.Fields(line[j+6:])[0])
			if err != nil {
				t.Fatal(err)
			}
			f.took = d
		}
	}
	return f
}

// BenchmarkAgentMonthlyRelease: one agent process per iteration, on a
// computer with last month's versions of three real products, takes this
// month's release from a real server: bytes downloaded against the full
// payloads, the batch's install time, and the agent's peak memory.
//
//	go test -run XXX -bench AgentMonthlyRelease -benchtime 5x ./internal/e2e
func BenchmarkAgentMonthlyRelease(b *testing.B) {
	l := newLab(b, 1000, 1000)
	l.approve(b, l.release()...)
	var fetched, full, peak int64
	var took time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		name := fmt.Sprintf("bench%d", n)
		root, state := oldRoot(b, "libssl3", "nginx", "libxml2"), filepath.Join(b.TempDir(), "state")
		b.StartTimer()
		p := l.start(b, name, root, state)
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(p.logText(), "msg=\"batch installed\"") {
			if time.Now().After(deadline) {
				b.Fatalf("%s installed nothing:\n%s", name, lastLines(p.logText(), 30))
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		p.stop()
		f := figures(b, l, p)
		fetched, full, took, peak = fetched+f.fetched, full+f.full, took+f.took, max(peak, p.peak)
		b.StartTimer()
	}
	b.ReportMetric(float64(fetched)/float64(n), "fetched-B/op")
	b.ReportMetric(float64(full)/float64(n), "full-B/op")
	b.ReportMetric(100*float64(fetched)/float64(full), "%-of-full")
	b.ReportMetric(float64(took.Milliseconds())/float64(n), "batch-ms/op")
	b.ReportMetric(float64(peak)/1024, "peak-MiB")
}

// proxy stands between agents and the server: it can hold a content
// download after some bytes (until released), rewrite check-in answers,
// and records the Range requests it saw.
type proxy struct {
	rp      *httputil.ReverseProxy
	mu      sync.Mutex
	holdAt  int64         // bytes of a content download after which it is held
	release chan struct{} // closed: held downloads go on
	ranges  []string
	rewrite func(*agentapi.CheckinResponse)
}

func newProxy(t *testing.T, target string) (*proxy, string) {
	u, _ := url.Parse(target)
	p := &proxy{rp: httputil.NewSingleHostReverseProxy(u), release: make(chan struct{})}
	p.rp.ModifyResponse = p.modify
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		p.mu.Lock()
		select {
		case <-p.release:
		default:
			close(p.release)
		}
		p.mu.Unlock()
		srv.Close()
	})
	return p, srv.URL
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/tuf/targets/") && r.Header.Get("Range") != "" {
		p.mu.Lock()
		p.ranges = append(p.ranges, r.Header.Get("Range"))
		p.mu.Unlock()
	}
	p.rp.ServeHTTP(w, r)
}

func (p *proxy) modify(resp *http.Response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	path := resp.Request.URL.Path
	switch {
	case strings.HasPrefix(path, "/tuf/targets/") && p.holdAt > 0:
		resp.Body = &held{r: resp.Body, left: p.holdAt, release: p.release}
	case path == agentapi.CheckinPath && p.rewrite != nil && resp.StatusCode == http.StatusOK:
		var a agentapi.CheckinResponse
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		p.rewrite(&a)
		b, _ = json.Marshal(a)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	}
	return nil
}

// held passes the first bytes of a body, then blocks until released.
type held struct {
	r       io.ReadCloser
	left    int64
	release chan struct{}
}

func (h *held) Read(b []byte) (int, error) {
	if h.left <= 0 {
		<-h.release
		return h.r.Read(b)
	}
	n, err := h.r.Read(b[:min(int64(len(b)), h.left)])
	h.left -= int64(n)
	return n, err
}

func (h *held) Close() error { return h.r.Close() }

// partial returns the size of the agent's partial downloads.
func partial(state string) int64 {
	var n int64
	entries, _ := os.ReadDir(filepath.Join(state, "downloads"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

func waitUntil(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentKilledMidDownloadResumes: an agent killed during a download
// resumes it with Range at its next start, from the bytes it has.
func TestAgentKilledMidDownloadResumes(t *testing.T) {
	l := newLab(t, 1, 1, "libcurl4")
	p, via := newProxy(t, l.srv.URL)
	p.holdAt = 100 << 10
	l.approve(t, l.olds["libcurl4"]) // a fresh install: the full payload
	root, state := t.TempDir(), filepath.Join(t.TempDir(), "state")
	l.via = via // the agent talks through the proxy
	a := l.start(t, "pc1", root, state)
	// (Some of the bytes let through may still be in the proxy's buffers.)
	waitUntil(t, "the download begins and is held", time.Minute, func() bool { return partial(state) >= 64<<10 })
	time.Sleep(200 * time.Millisecond)
	a.kill()
	had := partial(state)

	p.mu.Lock()
	p.holdAt = 0
	close(p.release)
	p.mu.Unlock()
	a = l.start(t, "pc1", root, state)
	l.waitCompliance(t, "the resumed download installs", time.Minute, func(c compliance) bool {
		return len(c.Computers) == 1 && c.Computers[0].States[l.olds["libcurl4"].ID] == "installed"
	})
	a.stop()
	p.mu.Lock()
	ranges := slices.Clone(p.ranges)
	p.mu.Unlock()
	if want := fmt.Sprintf("bytes=%d-", had); !slices.Contains(ranges, want) {
		t.Errorf("Range requests %q; want one from the %d bytes the killed agent had", ranges, had)
	}
	old, _ := versions(t, "libcurl4")
	if err := sameTree(t, filepath.Join(releases, "libcurl4", old), root); err != nil {
		t.Error(err)
	}
}

// TestAgentKilledMidInstallRollsBack: an agent killed after swapping files
// in, but before its batch finished, rolls the whole batch back at its
// next start — even with no server to talk to — and reports it; then it
// installs the batch again.
func TestAgentKilledMidInstallRollsBack(t *testing.T) {
	l := newLab(t, 1, 1)
	news := l.release()
	l.approve(t, news...)
	root, state := oldRoot(t, "libssl3", "nginx", "libxml2"), filepath.Join(t.TempDir(), "state")
	marker := filepath.Join(t.TempDir(), "starting")
	a := l.start(t, "pc1", root, state, "--start-service", fmt.Sprintf("touch %q; sleep 60", marker))
	waitUntil(t, "the batch swaps its files in", 2*time.Minute, func() bool { _, err := os.Stat(marker); return err == nil })
	a.kill()
	_, cur := versions(t, "nginx")
	if err := sameTree(t, filepath.Join(releases, "nginx", cur), root); err != nil {
		t.Fatalf("the batch was killed before its swap: %v", err)
	}

	// The next start, with the server out of reach: recovery needs only
	// the journal.
	out, err := exec.Command(agentBinary(t), "--once", "--server", "http://127.0.0.1:1", "--root", root, "--state", state,
		"--start-service", "true", "--stop-service", "true").CombinedOutput()
	if err == nil {
		t.Fatalf("--once with no server succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "found an unfinished batch") || !strings.Contains(string(out), "phase=swapped") {
		t.Errorf("the agent did not recover the batch:\n%s", out)
	}
	for _, m := range monthly {
		old, _ := versions(t, m.product)
		if err := sameTree(t, filepath.Join(releases, m.product, old), root); err != nil {
			t.Errorf("%s was not rolled back: %v", m.product, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".patchday-batch")); !os.IsNotExist(err) {
		t.Error("the batch's working tree is left behind")
	}
	status, err := exec.Command(agentBinary(t), "status", "--root", root, "--state", state).Output()
	if err != nil || strings.Count(string(status), `"state": "failed"`) != len(monthly) || !strings.Contains(string(status), "crash or power loss") {
		t.Errorf("the failures are not queued for the server: %v\n%s", err, status)
	}

	// Back on line: it reports the failures and installs the batch again.
	l.start(t, "pc1", root, state)
	l.waitCompliance(t, "the batch is installed on the second try", 2*time.Minute, func(c compliance) bool {
		ok := len(c.Computers) == 1
		for _, u := range news {
			ok = ok && c.Computers[0].States[u.ID] == "installed"
		}
		return ok
	})
	var approvals []struct {
		Update int64 `json:"update"`
		Counts struct {
			Failed int `json:"failed"`
		} `json:"counts"`
	}
	// The server counts the rolled-back batch as one failure of each
	// update (its view of the rollouts is refreshed every few seconds).
	waitUntil(t, "each approval counts the failure", 30*time.Second, func() bool {
		l.api(t, "GET", "/api/v1/fleet/approvals", nil, &approvals)
		ok := len(approvals) == len(monthly)
		for _, ap := range approvals {
			ok = ok && ap.Counts.Failed == 1
		}
		return ok
	})
}

// TestAgentsRefuseCorruptPayload: a payload damaged on the server (its
// full payload and its deltas) is refused by every agent, which reports
// why; the rest of the release installs.
func TestAgentsRefuseCorruptPayload(t *testing.T) {
	const agents = 3
	l := newLab(t, agents, agents)
	var targets struct {
		Signed struct {
			Targets map[string]struct {
				Hashes map[string]string `json:"hashes"`
				Custom struct {
					Product, Version string
				} `json:"custom"`
			} `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(waitFor(t, l.srv.URL+"/tuf/targets.json"), &targets); err != nil {
		t.Fatal(err)
	}
	bad := l.news["nginx"]
	damaged := 0
	for _, tf := range targets.Signed.Targets {
		if tf.Custom.Product == "nginx" && tf.Custom.Version == bad.Version {
			sha := tf.Hashes["sha256"]
			f := filepath.Join(l.srv.Data, "blobs", sha[:2], sha)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x55
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged++
		}
	}
	if damaged < 2 {
		t.Fatalf("damaged %d files; want the payload and its delta", damaged)
	}
	l.approve(t, l.release()...)
	procs := l.fleet(t, agents)
	c := l.waitCompliance(t, "the good updates install and the damaged one fails everywhere", 3*time.Minute, func(c compliance) bool {
		ok := len(c.Computers) == agents
		for _, cc := range c.Computers {
			ok = ok && cc.States[bad.ID] == "failed" && cc.States[l.news["libssl3"].ID] == "installed" && cc.States[l.news["libxml2"].ID] == "installed"
		}
		return ok
	})
	for _, cc := range c.Computers {
		if why := cc.Why[bad.ID]; !strings.Contains(why, "does not match the signed catalog") {
			t.Errorf("%s says %q; want the reason it was refused", cc.Name, why)
		}
	}
	oldNginx, _ := versions(t, "nginx")
	for _, p := range procs {
		if err := sameTree(t, filepath.Join(releases, "nginx", oldNginx), p.root); err != nil {
			t.Errorf("%s: nginx changed: %v", p.name, err)
		}
	}
}

// TestAgentRefusesDowngradeFromServer: the server's answer is advice. A
// server (or anything between) that assigns an older version is refused:
// the signed catalog does not let it install over the newer one.
func TestAgentRefusesDowngradeFromServer(t *testing.T) {
	l := newLab(t, 1, 1)
	nginx := l.news["nginx"]
	l.approve(t, nginx)
	p, via := newProxy(t, l.srv.URL)
	root, state := oldRoot(t, "nginx"), filepath.Join(t.TempDir(), "state")
	a := l.start(t, "pc1", root, state)
	l.waitCompliance(t, "nginx is updated", 2*time.Minute, func(c compliance) bool {
		return len(c.Computers) == 1 && c.Computers[0].States[nginx.ID] == "installed"
	})
	a.stop()
	old := l.olds["nginx"]
	var fullOld string
	var us []struct {
		ID     int64  `json:"id"`
		Target string `json:"target"`
	}
	l.api(t, "GET", "/api/v1/fleet/updates", nil, &us)
	for _, u := range us {
		if u.ID == old.ID {
			fullOld = u.Target
		}
	}
	p.mu.Lock()
	p.rewrite = func(r *agentapi.CheckinResponse) {
		r.Install = true
		r.Updates = []agentapi.Assignment{{Update: old.ID, Action: "install", Product: "nginx", Version: old.Version, From: nginx.Version,
			Target: fullOld, Full: fullOld, Restart: "service:nginx"}}
	}
	p.mu.Unlock()
	l.via = via
	a = l.start(t, "pc1", root, state)
	waitUntil(t, "the agent refuses the downgrade", time.Minute, func() bool {
		return strings.Contains(a.logText(), "refused an update")
	})
	a.stop()
	if log := a.logText(); !strings.Contains(log, "does not let nginx "+old.Version+" install over "+nginx.Version) {
		t.Errorf("the refusal does not say why:\n%s", lastLines(log, 20))
	}
	_, cur := versions(t, "nginx")
	if err := sameTree(t, filepath.Join(releases, "nginx", cur), root); err != nil {
		t.Errorf("nginx was downgraded: %v", err)
	}
}
