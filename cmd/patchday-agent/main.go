// Command patchday-agent runs on each endpoint: it enrolls with a patchday
// update server, checks in on an interval, and installs approved updates
// as one verified batch with at most one restart. It runs in the
// foreground, for systemd, launchd or the Windows service manager.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/patchday/patchday/internal/agent"
	"github.com/patchday/patchday/internal/envflag"
	"github.com/patchday/patchday/internal/version"
)

const usage = `usage: patchday-agent --server URL --root DIR --state DIR [--enroll-token T] [flags]
       patchday-agent status --state DIR --root DIR [--server URL]
       patchday-agent version

Checks in with the update server until stopped (or once, with --once),
downloads what it is assigned, verifies it against the vendor's signed
catalog and installs it as one batch in the maintenance window.

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		var u usageError
		fmt.Fprintln(os.Stderr, "patchday-agent:", err)
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

// options are the agent's flags.
type options struct {
	server, token, name, root, stateDir, trust, detect string
	labels                                             []string
	once                                               bool
	maxWait                                            time.Duration
	cmds                                               agent.Commands
	logLevel, logFormat, logFile                       string
}

func flags(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("patchday-agent", pflag.ContinueOnError)
	fs.SortFlags = false
	def := agent.DefaultCommands(runtime.GOOS)
	fs.StringVar(&o.server, "server", "", "the update server's URL")
	fs.StringVar(&o.token, "enroll-token", "", "enrollment token, used once to get this computer's credential")
	fs.StringVar(&o.root, "root", defaultRoot(), "the install root updates are installed under")
	fs.StringVar(&o.stateDir, "state", defaultState(), "the agent's state directory (credential, journal, downloads)")
	fs.StringVar(&o.trust, "trust", "", "the vendor's TUF root.json; without it the server's first root is trusted on first contact")
	fs.StringVar(&o.detect, "detect", "", "detection rules (JSON) for software installed before the agent")
	fs.StringVar(&o.name, "name", "", "this computer's name (default: the host name)")
	fs.StringSliceVar(&o.labels, "labels", nil, "labels sent at enrollment (comma-separated), used by group membership")
	fs.BoolVar(&o.once, "once", false, "do what is due now, then exit")
	fs.StringVar(&o.cmds.StopService, "stop-service", def.StopService, "command that stops a service ({service} is its name)")
	fs.StringVar(&o.cmds.StartService, "start-service", def.StartService, "command that starts a service")
	fs.StringVar(&o.cmds.Reboot, "reboot-command", def.Reboot, "command that restarts the computer")
	fs.StringVar(&o.cmds.Health, "health-command", "", "command that must succeed after installing (and restarting)")
	fs.DurationVar(&o.cmds.RebootWait, "reboot-wait", def.RebootWait, "how long to wait for the restart to stop the agent before checking health anyway")
	fs.DurationVar(&o.cmds.CommandTimeout, "command-timeout", def.CommandTimeout, "time limit of each command above")
	fs.DurationVar(&o.cmds.ActionTimeout, "action-timeout", def.ActionTimeout, "time limit of a payload's action that sets none")
	fs.DurationVar(&o.maxWait, "max-wait", 0, "cap on the wait between check-ins the server asks for (0: none; for demos and tests)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&o.logFile, "log-file", "", "append the log to this file instead of standard error (for service managers that keep none)")
	envflag.Describe(fs)
	fs.Usage = func() {}
	return fs
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var o options
	fs := flags(&o)
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "patchday-agent", version.String())
		return nil
	case "help":
		fmt.Fprint(stdout, usage+fs.FlagUsages())
		return nil
	case "run", "status":
	default:
		return usageError{fmt.Errorf("unknown command %q\n\n%s%s", cmd, usage, fs.FlagUsages())}
	}
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, usage+fs.FlagUsages())
		return nil
	} else if err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if err := envflag.Bind(fs, getenv); err != nil {
		return usageError{err}
	}
	cfg, err := o.config(stderr)
	if err != nil {
		return err
	}
	if cmd == "status" {
		a, err := agent.New(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		s, err := a.Status()
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if cfg.Server == "" {
		return usageError{errors.New("--server is required (or PATCHDAY_SERVER)")}
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if o.once {
		return a.Once(ctx)
	}
	return serve(ctx, a)
}

func (o options) config(stderr io.Writer) (agent.Config, error) {
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return agent.Config{}, fmt.Errorf("--log-file: %w", err)
		}
		stderr = f // open until the agent exits
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return agent.Config{}, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})
	switch o.logFormat {
	case "json":
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})
	case "text":
	default:
		return agent.Config{}, usageError{fmt.Errorf("--log-format: %q is neither text nor json", o.logFormat)}
	}
	cfg := agent.Config{Server: o.server, EnrollToken: o.token, Name: o.name, Labels: o.labels, Root: o.root, State: o.stateDir,
		Commands: o.cmds, MaxWait: o.maxWait, Log: slog.New(h)}
	cfg.Progress = progress(cfg.Log)
	var err error
	if o.trust != "" {
		if cfg.Trust, err = os.ReadFile(o.trust); err != nil {
			return cfg, fmt.Errorf("--trust: %w", err)
		}
	}
	if o.detect != "" {
		b, err := os.ReadFile(o.detect)
		if err != nil {
			return cfg, fmt.Errorf("--detect: %w", err)
		}
		if cfg.Rules, err = agent.ParseRules(b); err != nil {
			return cfg, fmt.Errorf("--detect %s: %w", o.detect, err)
		}
	}
	return cfg, nil
}

// progress logs a download's progress about every five seconds, and once
// when it completes.
func progress(log *slog.Logger) func(target string, done, total int64) {
	var last time.Time
	return func(target string, done, total int64) {
		if now := time.Now(); done == total || now.Sub(last) >= 5*time.Second {
			last = now
			log.Info("downloading", "target", target, "done", done, "total", total,
				"percent", fmt.Sprintf("%.0f", 100*float64(done)/float64(max(total, 1))))
		}
	}
}
