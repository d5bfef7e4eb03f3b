package main

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows/svc"

	"github.com/patchday/patchday/internal/agent"
)

// serve runs the agent under the Windows service manager when it started
// the agent (see packaging/windows), else in the foreground.
func serve(ctx context.Context, a *agent.Agent) error {
	if ok, err := svc.IsWindowsService(); err != nil || !ok {
		return a.Run(ctx)
	}
	return svc.Run("patchday-agent", &service{ctx: ctx, a: a})
}

type service struct {
	ctx context.Context
	a   *agent.Agent
}

// Execute answers the service manager: running until asked to stop or
// the computer shuts down. A batch in progress is finished or rolled back
// at the next start, from its journal.
func (s *service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.a.Run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			status <- svc.Status{State: svc.StopPending}
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				<-done
				return false, 0
			}
		}
	}
}

func defaultRoot() string { return envOr("ProgramFiles", `C:\Program Files`) }

func defaultState() string {
	return filepath.Join(envOr("ProgramData", `C:\ProgramData`), "patchday-agent")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
