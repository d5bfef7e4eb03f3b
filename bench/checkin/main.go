// Command checkin measures agent check-ins per second against a real
// 'patchday serve', on SQLite and on PostgreSQL, beside a bare handler
// answering the same request with a fixed body, all in one run. The load
// generator ('patchday bench checkin') runs in its own process; so does
// each server.
//
//	go run ./bench/checkin [-agents 100000] [-duration 20s] [-concurrency 64] [-rate R] [-servers bare,sqlite,postgres] [-pg URL]
//
// With -rate, the load generator paces the check-ins (e.g. -agents
// 1000000 -rate 278 is a million computers checking in hourly) instead
// of sending them as fast as they are answered. Each server's peak
// resident memory and, for SQLite, its database's size are reported.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	agents := flag.Int("agents", 100_000, "distinct computers")
	duration := flag.Duration("duration", 20*time.Second, "how long each measurement runs")
	concurrency := flag.Int("concurrency", 64, "requests in flight")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server to create a scratch database on (empty: skip)")
	rate := flag.Float64("rate", 0, "check-ins per second in all (0: as fast as answered)")
	servers := flag.String("servers", "bare,sqlite,postgres", "what to measure, comma-separated: bare, sqlite, postgres")
	flag.Parse()
	want := map[string]bool{}
	for _, s := range strings.Split(*servers, ",") {
		switch s = strings.TrimSpace(s); s {
		case "bare", "sqlite", "postgres":
			want[s] = true
		default:
			fmt.Fprintf(os.Stderr, "bench/checkin: -servers: unknown %q, want bare, sqlite or postgres\n", s)
			os.Exit(2)
		}
	}
	if !want["postgres"] {
		*pg = ""
	}
	if err := run(*agents, *duration, *concurrency, *rate, want, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/checkin:", err)
		os.Exit(1)
	}
}

type row struct{ name, result, rss, size string }

func run(agents int, duration time.Duration, concurrency int, rate float64, want map[string]bool, pg string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "patchday-bench-checkin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "patchday")
	fmt.Fprintln(os.Stderr, "building patchday")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/patchday").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	common := []string{"--agents", fmt.Sprint(agents), "--duration", duration.String(), "--concurrency", fmt.Sprint(concurrency),
		"--rate", fmt.Sprint(rate)}
	var rows []row

	if want["bare"] {
		bare, addr, err := start(bin, "bench", "bare", "--http", "127.0.0.1:0")
		if err != nil {
			return err
		}
		r, err := load(bin, append([]string{"--bare", "--server", "http://" + addr}, common...)...)
		rss := stop(bare)
		if err != nil {
			return err
		}
		rows = append(rows, row{"bare handler, fixed body", r, rss, ""})
	}

	var engines []struct{ name, db string }
	if want["sqlite"] {
		engines = append(engines, struct{ name, db string }{"SQLite (embedded default)", ""})
	}
	if pg != "" {
		u, err := scratch(ctx, pg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "PostgreSQL skipped: %v\n", err)
		} else {
			engines = append(engines, struct{ name, db string }{"PostgreSQL", u})
		}
	}
	for _, e := range engines {
		data := filepath.Join(dir, "data-"+strings.Fields(e.name)[0])
		args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--log-level", "warn"}
		tokenArgs := []string{"fleet", "token", "--data", data, "--uses", fmt.Sprint(agents), "--ttl", "24h"}
		if e.db != "" {
			args = append(args, "--db", e.db)
			tokenArgs = append(tokenArgs, "--db", e.db)
		}
		srv, addr, err := start(bin, args...)
		if err != nil {
			return err
		}
		tok, err := exec.Command(bin, tokenArgs...).Output()
		if err != nil {
			stop(srv)
			return fmt.Errorf("fleet token: %w", err)
		}
		r, err := load(bin, append([]string{"--server", "http://" + addr, "--token", strings.TrimSpace(string(tok)),
			"--credentials", filepath.Join(data, "credentials")}, common...)...)
		rss := stop(srv)
		if err != nil {
			return err
		}
		size := ""
		if e.db == "" {
			size = sizeOf(filepath.Join(data, "patchday.db*"))
		}
		rows = append(rows, row{e.name, r, rss, size})
	}
	pace := "as fast as answered"
	if rate > 0 {
		pace = fmt.Sprintf("paced at %g/s", rate)
	}
	fmt.Printf("\n%d distinct computers, %d in flight, %s, %s each, on %d CPUs (%s); server and load generator in separate processes on the same machine\n\n",
		agents, concurrency, pace, duration, runtime.NumCPU(), runtime.GOARCH)
	fmt.Println("| server | result | server peak memory | database on disk |\n|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.name, r.result, r.rss, r.size)
	}
	return nil
}

// sizeOf sums the sizes of the files matching pattern, in MiB.
func sizeOf(pattern string) string {
	names, _ := filepath.Glob(pattern)
	var n int64
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil {
			n += fi.Size()
		}
	}
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// peakRSS reads a running process's peak resident memory (VmHWM).
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "-"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "-"
}

var serving = regexp.MustCompile(`(?:serving|handler on) http://(\S+)`)

// start runs bin and waits until it says where it serves.
func start(bin string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		return cmd, addr, nil
	case <-time.After(60 * time.Second):
		stop(cmd)
		return nil, "", fmt.Errorf("%s did not start serving", strings.Join(args[:2], " "))
	}
}

// stop ends a server and reports its peak resident memory.
func stop(cmd *exec.Cmd) string {
	rss := peakRSS(cmd.Process.Pid)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
	}
	return rss
}

func load(bin string, args ...string) (string, error) {
	fmt.Fprintf(os.Stderr, "patchday bench checkin %s\n", strings.Join(args, " "))
	cmd := exec.Command(bin, append([]string{"bench", "checkin"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("bench checkin: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// scratch makes an empty database for the run on the given server.
func scratch(ctx context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	const name = "patchday_bench_checkin"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
