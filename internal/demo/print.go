package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// printer writes the demo's steps, each with the wall time since the
// start, and a progress line while the demo waits on the server.
type printer struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
	tty   bool // progress rewrites one line; else it prints now and then
	live  bool // a progress line is on screen (tty)
}

func newPrinter(out io.Writer) *printer {
	p := &printer{out: out, start: time.Now()}
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *printer) stamp() string {
	return fmt.Sprintf("[%5.1fs]", time.Since(p.start).Seconds())
}

// step prints one thing done.
func (p *printer) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.out, "%s %s\n", p.stamp(), fmt.Sprintf(format, args...))
}

// note prints an indented detail line under a step.
func (p *printer) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.out, "         %s\n", fmt.Sprintf(format, args...))
}

// plain prints text as it is.
func (p *printer) plain(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	io.WriteString(p.out, s)
}

func (p *printer) clear() {
	if p.live {
		fmt.Fprint(p.out, "\r\x1b[2K")
		p.live = false
	}
}

func (p *printer) progress(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.out, "\r\x1b[2K%s … %s", p.stamp(), s)
		p.live = true
		return
	}
	fmt.Fprintf(p.out, "%s … %s\n", p.stamp(), s)
}

// wait polls check every interval until it says done, showing its status
// as progress, for at most within. On a terminal the progress line is
// rewritten at each poll; elsewhere it is printed every few seconds.
func (p *printer) wait(ctx context.Context, what string, within, every time.Duration, check func() (done bool, status string, err error)) error {
	deadline := time.Now().Add(within)
	var lastShown time.Time
	var lastStatus string
	for {
		done, status, err := check()
		if err != nil {
			return err
		}
		if done {
			p.mu.Lock()
			p.clear()
			p.mu.Unlock()
			return nil
		}
		if status == "" {
			status = what
		}
		// Off a terminal, a line every 10s, or when the status changes in
		// more than its numbers.
		if p.tty || lastShown.IsZero() || time.Since(lastShown) >= 10*time.Second || digits.ReplaceAllString(status, "") != digits.ReplaceAllString(lastStatus, "") {
			p.progress(status)
			lastShown, lastStatus = time.Now(), status
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done within %s (last: %s)", what, within, strings.TrimSpace(status))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

var digits = regexp.MustCompile(`[0-9]+`)

// size writes a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
