//go:build !windows

package main

import (
	"context"
	"runtime"

	"github.com/patchday/patchday/internal/agent"
)

// serve runs the agent in the foreground: systemd and launchd manage it as
// they would any long-running process.
func serve(ctx context.Context, a *agent.Agent) error { return a.Run(ctx) }

func defaultRoot() string { return "/" }

func defaultState() string {
	if runtime.GOOS == "darwin" {
		return "/Library/Application Support/patchday-agent"
	}
	return "/var/lib/patchday-agent"
}
