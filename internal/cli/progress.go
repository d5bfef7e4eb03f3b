package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar shows how far a long run is: redrawn in place on a
// terminal, a line every tenth of the way otherwise (a log, a pipe).
type progressBar struct {
	w       io.Writer
	label   string
	tty     bool
	shown   int
	started time.Time
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, tty: isTerminal(w), shown: -1, started: time.Now()}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Set shows pct percent done (0–100). Not safe for concurrent use.
func (p *progressBar) Set(pct int) {
	pct = min(max(pct, 0), 100)
	if pct == p.shown || (!p.tty && p.shown >= 0 && pct/10 == p.shown/10) {
		return
	}
	p.shown = pct
	const width = 30
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat(".", width-pct*width/100)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s [%s] %3d%%", p.label, bar, pct)
	} else {
		fmt.Fprintf(p.w, "%s [%s] %3d%% %.1fs\n", p.label, bar, pct, time.Since(p.started).Seconds())
	}
}

// Done ends the bar with the time taken.
func (p *progressBar) Done() {
	p.Set(100)
	if p.tty {
		fmt.Fprintf(p.w, " in %.1fs\n", time.Since(p.started).Seconds())
	}
}
