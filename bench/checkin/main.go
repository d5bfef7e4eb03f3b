// Command checkin measures agent check-ins per second against a real
// 'patchday serve', on SQLite and on PostgreSQL, beside a bare handler
// answering the same request with a fixed body, all in one run. The load
// generator ('patchday bench checkin') runs in its own process; so does
// each server.
//
//	go run ./bench/checkin [-agents 100000] [-duration 20s] [-concurrency 64] [-pg URL]
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
	flag.Parse()
	if err := run(*agents, *duration, *concurrency, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/checkin:", err)
		os.Exit(1)
	}
}

type row struct{ name, result string }

func run(agents int, duration time.Duration, concurrency int, pg string) error {
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
	common := []string{"--agents", fmt.Sprint(agents), "--duration", duration.String(), "--concurrency", fmt.Sprint(concurrency)}
	var rows []row

	bare, addr, err := start(bin, "bench", "bare", "--http", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r, err := load(bin, append([]string{"--bare", "--server", "http://" + addr}, common...)...)
	stop(bare)
	if err != nil {
		return err
	}
	rows = append(rows, row{"bare handler, fixed body", r})

	engines := []struct{ name, db string }{{"SQLite (embedded default)", ""}}
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
		stop(srv)
		if err != nil {
			return err
		}
		rows = append(rows, row{e.name, r})
	}
	fmt.Printf("\n%d distinct computers, %d in flight, %s each, on %d CPUs (%s); server and load generator in separate processes on the same machine\n\n",
		agents, concurrency, duration, runtime.NumCPU(), runtime.GOARCH)
	fmt.Println("| server | result |\n|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s |\n", r.name, r.result)
	}
	return nil
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

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
	}
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
