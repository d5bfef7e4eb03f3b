// Command delta measures the catalog's payload deltas on real updates:
// for each product in a corpus of old/new trees (default
// ../shared/testdata/releases), the full payload, patchday's direct delta
// (size, ratio to the payload, build and apply time, peak memory), and —
// when bsdiff is installed — bsdiff 4.3 run on every changed file, summed,
// as the reference. Each measurement runs in its own child process, so
// peak memory (max RSS) is that step's alone.
//
//	go run ./bench/delta [-corpus DIR] [-runs N]
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/product"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	corpus := flag.String("corpus", "../shared/testdata/releases", "directory of <product>/<version>/ trees")
	runs := flag.Int("runs", 3, "runs per measurement; the fastest is reported")
	flag.Parse()
	if err := run(*corpus, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "delta:", err)
		os.Exit(1)
	}
}

type result struct {
	elapsed time.Duration
	rssKB   int64
	out     string
}

// measure runs this program as a child doing one step, runs times, and
// keeps the fastest run (and the largest peak memory seen).
func measure(runs int, args ...string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	best := result{elapsed: time.Hour}
	for range runs {
		cmd := exec.Command(self, append([]string{"-child"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return result{}, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, errb.String())
		}
		el := time.Since(start)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if el < best.elapsed {
			best.elapsed, best.out = el, strings.TrimSpace(out.String())
		}
		best.rssKB = max(best.rssKB, ru.Maxrss)
	}
	return best, nil
}

// child does one step: build a payload, build a delta, or apply one. It
// reports its own duration (without process start) on stdout.
func child(args []string) error {
	ctx := context.Background()
	start := time.Now()
	switch args[0] {
	case "payload": // payload TREE PRODUCT VERSION OUT
		f, err := os.Create(args[4])
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := payload.Build(ctx, args[1], payload.Meta{Product: args[2], Version: args[3], Restart: "none"}, f); err != nil {
			return err
		}
	case "diff": // diff OLD.payload NEW.payload OUT
		o, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer o.Close()
		n, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer n.Close()
		var buf bytes.Buffer
		if err := payload.BuildDelta(ctx, o, n, &buf, payload.Limits{}); err != nil {
			return err
		}
		if err := os.WriteFile(args[3], buf.Bytes(), 0o644); err != nil {
			return err
		}
	case "apply": // apply DELTA OLDTREE
		d, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer d.Close()
		var buf bytes.Buffer
		if _, err := payload.ApplyDelta(ctx, d, os.DirFS(args[2]), &buf, payload.Limits{}); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown step %q", args[0])
	}
	fmt.Println(time.Since(start).Microseconds())
	return nil
}

// changedFiles returns the regular files whose bytes differ between the
// trees, as (old, new) path pairs, and files only in new.
func changedFiles(oldDir, newDir string) ([][2]string, error) {
	var pairs [][2]string
	err := filepath.WalkDir(newDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(newDir, p)
		nb, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ob, err := os.ReadFile(filepath.Join(oldDir, rel))
		if err == nil && sha256.Sum256(ob) == sha256.Sum256(nb) {
			return nil
		}
		old := filepath.Join(oldDir, rel)
		if err != nil {
			old = os.DevNull
		}
		pairs = append(pairs, [2]string{old, p})
		return nil
	})
	return pairs, err
}

func run(corpus string, runs int) error {
	products, err := filepath.Glob(filepath.Join(corpus, "*"))
	if err != nil {
		return err
	}
	sort.Strings(products)
	tmp, err := os.MkdirTemp("", "patchday-delta-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bsdiff, _ := exec.LookPath("bsdiff")
	host, _ := os.Hostname()
	fmt.Printf("delta benchmark on %s, %s; fastest of %d runs; peak memory is the child's max RSS\n\n", host, time.Now().UTC().Format(time.DateOnly), runs)
	fmt.Println("| product | old → new | payload | delta | delta/payload | build | apply | build peak RSS | apply peak RSS | bsdiff (sum of changed files) | bsdiff time | bsdiff peak RSS | delta/bsdiff |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range products {
		name := filepath.Base(p)
		// Two versions per product, ordered as Debian orders them
		// (deb12u9 < deb12u11, which names do not sort).
		vs, _ := filepath.Glob(filepath.Join(p, "*"))
		var versions []string
		for _, v := range vs {
			if fi, err := os.Stat(v); err == nil && fi.IsDir() {
				versions = append(versions, filepath.Base(v))
			}
		}
		if len(versions) != 2 {
			continue
		}
		slices.SortFunc(versions, product.SchemeDebian.Compare)
		ov, nv := versions[0], versions[1]
		oldTree, newTree := filepath.Join(p, ov), filepath.Join(p, nv)
		oldP, newP, d := filepath.Join(tmp, name+".old"), filepath.Join(tmp, name+".new"), filepath.Join(tmp, name+".delta")
		fmt.Fprintf(os.Stderr, "%s: payloads…\n", name)
		if _, err := measure(1, "payload", oldTree, name, ov, oldP); err != nil {
			return err
		}
		if _, err := measure(1, "payload", newTree, name, nv, newP); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: delta…\n", name)
		b, err := measure(runs, "diff", oldP, newP, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: apply…\n", name)
		a, err := measure(runs, "apply", d, oldTree)
		if err != nil {
			return err
		}
		ps, ds := size(newP), size(d)
		bsCell, bsTime, bsRSS, ratio := "not installed", "", "", ""
		if bsdiff != "" {
			fmt.Fprintf(os.Stderr, "%s: bsdiff…\n", name)
			pairs, err := changedFiles(oldTree, newTree)
			if err != nil {
				return err
			}
			var total int64
			var el time.Duration
			var rss int64
			for i, pr := range pairs {
				out := filepath.Join(tmp, fmt.Sprintf("%s.bsdiff.%d", name, i))
				cmd := exec.Command(bsdiff, pr[0], pr[1], out)
				start := time.Now()
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("bsdiff %s: %v: %s", pr[1], err, b)
				}
				el += time.Since(start)
				rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
				total += size(out)
			}
			bsCell, bsTime, bsRSS = comma(total), el.Round(time.Millisecond).String(), mb(rss)
			ratio = fmt.Sprintf("%.2f", float64(ds)/float64(total))
		}
		fmt.Printf("| %s | %s → %s | %s | %s | %.1f%% | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, ov, nv, comma(ps), comma(ds),
			100*float64(ds)/float64(ps), us(b.out), us(a.out), mb(b.rssKB), mb(a.rssKB), bsCell, bsTime, bsRSS, ratio)
	}
	return nil
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func us(s string) string {
	n, _ := strconv.ParseInt(s, 10, 64)
	return (time.Duration(n) * time.Microsecond).Round(time.Millisecond).String()
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

func comma(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
