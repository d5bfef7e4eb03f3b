package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Commands are how the agent acts on the computer beyond its files. Each
// is a command line for the platform's shell (sh -c, or cmd /C on
// Windows); {service} stands for a service's name, which the payload
// format limits to [A-Za-z0-9@._-], so it needs no quoting.
type Commands struct {
	StopService  string
	StartService string
	Reboot       string
	Health       string // optional; run after the swap (and the restart)
	// RebootWait is how long the agent waits for a restart to take it
	// down before it goes on to the health check itself.
	RebootWait time.Duration
	// CommandTimeout bounds each of the commands above [10m].
	CommandTimeout time.Duration
	// ActionTimeout bounds a payload's action that sets no timeout [10m].
	ActionTimeout time.Duration
}

// DefaultCommands are the commands for goos's usual service manager.
func DefaultCommands(goos string) Commands {
	c := Commands{RebootWait: 10 * time.Minute, CommandTimeout: 10 * time.Minute, ActionTimeout: 10 * time.Minute}
	switch goos {
	case "windows":
		c.StopService, c.StartService, c.Reboot = "sc.exe stop {service}", "sc.exe start {service}", "shutdown.exe /r /t 0 /d p:2:17"
	case "darwin":
		c.StopService, c.StartService, c.Reboot = "launchctl stop {service}", "launchctl start {service}", "shutdown -r now"
	default:
		c.StopService, c.StartService, c.Reboot = "systemctl stop {service}", "systemctl start {service}", "systemctl reboot"
	}
	return c
}

// run runs one of the commands through the shell.
func (c Commands) run(ctx context.Context, what, line, service string, env []string) error {
	if strings.TrimSpace(line) == "" {
		return fmt.Errorf("no command is configured to %s", what)
	}
	line = strings.ReplaceAll(line, "{service}", service)
	argv := []string{"/bin/sh", "-c", line}
	if runtime.GOOS == "windows" {
		argv = []string{"cmd.exe", "/C", line}
	}
	return runArgv(ctx, c.CommandTimeout, argv, "", env)
}

// runArgv runs a command with a timeout; its error carries the end of
// what the command printed.
func runArgv(ctx context.Context, timeout time.Duration, argv []string, dir string, env []string) error {
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	if tail := strings.TrimSpace(lastBytes(out.Bytes(), 512)); tail != "" {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, tail)
	}
	return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.ToValidUTF8(b, nil))
}
