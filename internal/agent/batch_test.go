package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/payload"
)

const corpus = "../../../shared/testdata/releases"

// Real trees: nginx and libxml2, each at two versions.
var (
	nginxOld, nginxNew = "1.22.1-9+deb12u9", "1.22.1-9+deb12u11"
	xmlOld, xmlNew     = "2.9.14+dfsg-1.3+deb12u4", "2.9.14+dfsg-1.3+deb12u6"
)

// bench is an agent on a fresh root and state, with commands that record
// what they did.
type bench struct {
	a     *Agent
	root  string
	state string
	log   string
}

func newBench(t testing.TB, root, state string) *bench {
	t.Helper()
	if root == "" {
		root, state = t.TempDir(), t.TempDir()
	}
	b := &bench{root: root, state: state, log: filepath.Join(state, "commands.log")}
	rec := func(what string) string { return fmt.Sprintf(`echo "%s {service}" >> %q`, what, b.log) }
	cmds := Commands{StopService: rec("stop"), StartService: rec("start"), Reboot: rec("reboot"), Health: rec("healthy")}
	a, err := New(Config{Server: "http://127.0.0.1:1", Root: root, State: state, Commands: cmds,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b.a = a
	return b
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// stage builds a payload of a corpus tree and stages it as an update.
func (b *bench) stage(t testing.TB, id int64, product, version, from, restart string, post ...payload.Action) Staged {
	t.Helper()
	var buf bytes.Buffer
	if _, err := payload.Build(context.Background(), filepath.Join(corpus, product, version),
		payload.Meta{Product: product, Version: version, Restart: restart, Post: post}, &buf); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s/%d.payload", stageDir, id)
	if err := os.WriteFile(b.a.st.path(name), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return Staged{Update: id, Action: agentapi.ActionInstall, Product: product, Version: version, From: from, Restart: restart, Payload: name, Route: "full"}
}

// installed runs a batch that must succeed.
func (b *bench) install(t testing.TB, items ...Staged) []agentapi.Report {
	t.Helper()
	rs := b.a.install(context.Background(), items, false)
	for _, r := range rs {
		if r.State != agentapi.Installed && r.State != agentapi.Removed {
			t.Fatalf("update %d: %s: %s", r.Update, r.State, r.Detail)
		}
	}
	return rs
}

func (b *bench) commands(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(b.log)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

// snapshot describes every entry under root but the batch's working tree:
// type, permission bits, and a file's sha256 or a link's target.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == batchDir {
			return fs.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case rel == ".":
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link " + target
		case fi.IsDir():
			out[rel] = fmt.Sprintf("dir %o", fi.Mode().Perm())
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out[rel] = fmt.Sprintf("file %o %s", fi.Mode().Perm(), hex.EncodeToString(sum[:8]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// upgrade is the batch the crash tests interrupt: nginx (a service
// restart) and libxml2 (a reboot) from versions the agent installed.
func upgrade(t testing.TB, b *bench) []Staged {
	return []Staged{
		b.stage(t, 3, "nginx", nginxNew, nginxOld, "service:nginx"),
		b.stage(t, 4, "libxml2", xmlNew, xmlOld, "reboot"),
	}
}

// withOld is a bench whose agent installed the old versions.
func withOld(t testing.TB) *bench {
	b := newBench(t, "", "")
	b.install(t, b.stage(t, 1, "nginx", nginxOld, "", "service:nginx"), b.stage(t, 2, "libxml2", xmlOld, "", "none"))
	os.Remove(b.log)
	return b
}

func TestBatchInstallsEverythingOnce(t *testing.T) {
	b := withOld(t)
	old := snapshot(t, b.root)
	rs := b.install(t, upgrade(t, b)...)
	if got := b.commands(t); !slices.Equal(got, []string{"stop nginx", "start nginx", "reboot", "healthy"}) {
		t.Errorf("commands: %q; want nginx stopped and started once, one restart, one health check", got)
	}
	restarts := 0
	for _, r := range rs {
		restarts += r.Restarts
	}
	if restarts != 1 || rs[1].Restarts != 1 || rs[1].Downtime < 1 {
		t.Errorf("reports %+v: want the one restart and the downtime on the update that needed the restart", rs)
	}
	want := newBench(t, "", "")
	want.install(t, want.stage(t, 1, "nginx", nginxNew, "", "none"), want.stage(t, 2, "libxml2", xmlNew, "", "none"))
	if diff := cmp.Diff(snapshot(t, want.root), snapshot(t, b.root)); diff != "" {
		t.Errorf("the upgraded root differs from a fresh install of the new versions (-fresh +upgraded):\n%s", diff)
	}
	if cmp.Equal(old, snapshot(t, b.root)) {
		t.Error("nothing changed")
	}
	in, _ := b.a.st.installed()
	if in.Products["nginx"].Version != nginxNew || !slices.Equal(in.History["nginx"], []string{nginxOld, nginxNew}) {
		t.Errorf("installed records %+v", in.Products["nginx"])
	}
	if _, err := os.Stat(filepath.Join(b.root, batchDir)); !os.IsNotExist(err) {
		t.Error("the batch's working tree is left behind")
	}
}

// sampled picks the steps the crash test stops at: every phase, and of
// the many renames of the swap the first, the last and a few between
// (every rename is alike; under the race detector all of them take
// minutes).
func sampled(steps []string, i int) bool {
	rename := func(s string) bool { return strings.HasPrefix(s, "aside ") || strings.HasPrefix(s, "in ") }
	if !rename(steps[i]) {
		return true
	}
	first, last := slices.IndexFunc(steps, rename), 0
	for j, s := range steps {
		if rename(s) {
			last = j
		}
	}
	return i == first || i == first+1 || i == last || i == last-1 || (i-first)%7 == 3
}

// crashAt runs the upgrade batch and stops the agent dead at the named
// step (the n-th time it is reached), as a power cut would. It reports
// whether the step was reached.
func crashAt(t *testing.T, b *bench, step string, n int) bool {
	items := upgrade(t, b)
	reached := false
	b.a.step = func(s string) {
		if s == step {
			if n--; n == 0 {
				reached = true
				runtime.Goexit()
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { b.a.install(context.Background(), items, true) })
	wg.Wait()
	b.a.step = nil
	return reached
}

// TestBatchCrashAtEveryStep stops the agent at every step of a batch and
// starts it again: recovery must leave exactly the old versions (before
// the restart) or exactly the new ones (after it), never a mix.
func TestBatchCrashAtEveryStep(t *testing.T) {
	var steps []string
	{
		b := withOld(t)
		b.a.step = func(s string) { steps = append(steps, s) }
		b.install(t, upgrade(t, b)...)
	}
	ref := withOld(t)
	oldTree := snapshot(t, ref.root)
	ref.install(t, upgrade(t, ref)...)
	newTree := snapshot(t, ref.root)

	seen := map[string]int{}
	for i, step := range steps {
		seen[step]++
		n := seen[step]
		if !sampled(steps, i) {
			continue
		}
		t.Run(fmt.Sprintf("%s#%d", step, n), func(t *testing.T) {
			b := withOld(t)
			if !crashAt(t, b, step, n) {
				t.Fatalf("step %q was not reached", step)
			}
			// A new agent process on the same root and state.
			after := newBench(t, b.root, b.state)
			rs, lease, err := after.a.recover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !lease {
				t.Error("the batch's restart lease was forgotten")
			}
			afterRestart := slices.Index(steps, "restarted") <= slices.Index(steps, step)
			want, state := oldTree, agentapi.Failed
			if afterRestart {
				want, state = newTree, agentapi.Installed
			}
			if diff := cmp.Diff(want, snapshot(t, b.root)); diff != "" {
				t.Errorf("after recovery the root is neither all old nor all new (-want +got):\n%s", diff)
			}
			if len(rs) != 2 || rs[0].State != state || rs[1].State != state {
				t.Errorf("reports %+v, want both %s", rs, state)
			}
			in, _ := after.a.st.installed()
			if v := in.Products["nginx"].Version; (v == nginxNew) != afterRestart {
				t.Errorf("the agent records nginx %s", v)
			}
			if _, err := os.Stat(filepath.Join(b.root, batchDir)); !os.IsNotExist(err) {
				t.Error("the batch's working tree is left behind")
			}
			if _, err := os.Stat(after.a.st.path(journalFile)); !os.IsNotExist(err) {
				t.Error("the journal is left behind")
			}
			if cmds := after.commands(t); !afterRestart && !slices.Contains(cmds, "start nginx") {
				t.Errorf("rolled back without starting nginx again: %q", cmds)
			}
		})
	}
}

func TestBatchFailureRollsBackEverything(t *testing.T) {
	for _, tt := range []struct {
		name   string
		post   []payload.Action
		health string
		want   string
	}{
		{"post action fails", []payload.Action{{Name: "configtest", Command: []string{"sh", "-c", "echo bad config >&2; exit 3"}}}, "", "configtest"},
		{"health check fails", nil, "exit 1", "health check"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := withOld(t)
			old := snapshot(t, b.root)
			if tt.health != "" {
				b.a.cfg.Commands.Health = tt.health
			}
			items := []Staged{
				b.stage(t, 3, "nginx", nginxNew, nginxOld, "service:nginx", tt.post...),
				b.stage(t, 4, "libxml2", xmlNew, xmlOld, "none"),
			}
			rs := b.a.install(context.Background(), items, false)
			if diff := cmp.Diff(old, snapshot(t, b.root)); diff != "" {
				t.Errorf("the failed batch was not rolled back whole (-old +now):\n%s", diff)
			}
			if len(rs) != 2 || rs[0].State != agentapi.Failed || rs[1].State != agentapi.Failed {
				t.Fatalf("reports %+v", rs)
			}
			if !strings.Contains(rs[0].Detail, tt.want) && !strings.Contains(rs[1].Detail, tt.want) {
				t.Errorf("no report says why (%q): %+v", tt.want, rs)
			}
			if cmds := b.commands(t); cmds[len(cmds)-1] != "start nginx" {
				t.Errorf("nginx is not running again after the rollback: %q", cmds)
			}
			in, _ := b.a.st.installed()
			if in.Products["nginx"].Version != nginxOld {
				t.Errorf("the agent records nginx %s after the rollback", in.Products["nginx"].Version)
			}
		})
	}
}

// TestBatchCrashDuringRollback: a rollback interrupted anywhere is
// finished at the next start.
func TestBatchCrashDuringRollback(t *testing.T) {
	for _, at := range []int{1, 2, 3, 6, 11} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			b := withOld(t)
			old := snapshot(t, b.root)
			items := []Staged{
				b.stage(t, 3, "nginx", nginxNew, nginxOld, "service:nginx", payload.Action{Name: "fail", Command: []string{"false"}}),
				b.stage(t, 4, "libxml2", xmlNew, xmlOld, "none"),
			}
			var steps int
			b.a.step = func(s string) {
				if strings.HasPrefix(s, "restored ") || strings.HasPrefix(s, "took back ") {
					if steps++; steps == at {
						runtime.Goexit()
					}
				}
			}
			var wg sync.WaitGroup
			wg.Go(func() { b.a.install(context.Background(), items, false) })
			wg.Wait()
			if steps != at {
				t.Fatalf("only %d rollback steps", steps)
			}
			after := newBench(t, b.root, b.state)
			rs, _, err := after.a.recover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(old, snapshot(t, b.root)); diff != "" {
				t.Errorf("the interrupted rollback was not finished (-old +now):\n%s", diff)
			}
			if len(rs) != 2 || rs[0].State != agentapi.Failed || !strings.Contains(rs[0].Detail, "fail") {
				t.Errorf("reports %+v", rs)
			}
		})
	}
}

func TestBatchRefusesBeforeTouchingAnything(t *testing.T) {
	b := withOld(t)
	old := snapshot(t, b.root)
	good := b.stage(t, 3, "nginx", nginxNew, nginxOld, "service:nginx")
	bad := b.stage(t, 4, "libxml2", xmlNew, xmlOld, "none")
	// A staged payload damaged on disk after it was verified.
	data, _ := os.ReadFile(b.a.st.path(bad.Payload))
	data[len(data)/2] ^= 0xff
	os.WriteFile(b.a.st.path(bad.Payload), data, 0o600)
	rs := b.a.install(context.Background(), []Staged{good, bad}, false)
	if diff := cmp.Diff(old, snapshot(t, b.root)); diff != "" {
		t.Errorf("a refused batch changed the root:\n%s", diff)
	}
	if len(rs) != 2 || rs[1].State != agentapi.Failed || !strings.Contains(rs[1].Detail, "libxml2") ||
		!strings.Contains(rs[0].Detail, "another update") {
		t.Errorf("reports %+v", rs)
	}
	if cmds := b.commands(t); len(cmds) != 0 {
		t.Errorf("services were touched for a batch refused while preparing: %q", cmds)
	}
}

func TestBatchRemove(t *testing.T) {
	b := withOld(t)
	rs := b.install(t, Staged{Update: 9, Action: agentapi.ActionRemove, Product: "libxml2", Version: xmlOld, From: xmlOld, Restart: "none"})
	if rs[0].State != agentapi.Removed {
		t.Fatalf("reports %+v", rs)
	}
	for p := range snapshot(t, b.root) {
		if strings.Contains(p, "libxml2") {
			t.Errorf("%s is still there", p)
		}
	}
	if _, err := os.Stat(filepath.Join(b.root, "usr/sbin/nginx")); err != nil {
		t.Errorf("removing libxml2 touched nginx: %v", err)
	}
	in, _ := b.a.st.installed()
	if _, ok := in.Products["libxml2"]; ok {
		t.Error("libxml2 is still recorded")
	}
}

func BenchmarkBatch(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := withOld(b)
		items := upgrade(b, w)
		b.StartTimer()
		w.install(b, items...)
	}
}
