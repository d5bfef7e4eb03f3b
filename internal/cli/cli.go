// Package cli is the patchday command: the server (`serve`) and the
// operator's subcommands. Run is the whole program, so tests boot exactly
// what a user runs.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/version"
)

// env is what a command may touch of the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    config.Log
}

// usageError marks a mistake in how the command was called (exit code 2).
type usageError struct{ error }

// ExitCode is the process exit code for an error returned by Run: 2 for a
// mistake in the command line, 1 for anything else.
func ExitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// Run runs the patchday command with args (without the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "patchday",
		Short: "patchday: a vendor's security-response loop and the update service for its fleets",
		Long: `patchday takes vulnerability reports, runs them through triage, fixing,
independent testing and the researcher's verification, releases them on a
monthly train with advisories, and distributes signed updates to fleets.

Start the server with 'patchday serve'; the other commands administer it.
Every flag can also be set with an environment variable: --http is
PATCHDAY_HTTP, --session-ttl is PATCHDAY_SESSION_TTL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.BindEnv(cmd.Flags(), getenv); err != nil {
				return usageError{err}
			}
			return e.log.Validate()
		},
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage", err, cmd.CommandPath())}
	})
	e.log.Flags(root.PersistentFlags())
	root.AddCommand(serveCmd(e), versionCmd(e), userCmd(e), tokenCmd(e), productCmd(e), caseCmd(e), fixCmd(e), keysCmd(e), payloadCmd(e), catalogCmd(e), benchCmd(e), syncCmd(e), fleetCmd(e), postMortemCmd(e), tenetCmd(e), trainingCmd(e), simCmd(e))
	root.AddCommand(demoCmd(e))
	describeEnv(root)
	_, err := root.ExecuteContextC(ctx)
	if err != nil && isCobraUsage(err) {
		return usageError{err}
	}
	return err
}

// isCobraUsage recognises cobra's own argument errors, which it returns
// as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "required flag")
}

func describeEnv(c *cobra.Command) {
	config.DescribeEnv(c.LocalNonPersistentFlags())
	config.DescribeEnv(c.PersistentFlags())
	for _, sub := range c.Commands() {
		describeEnv(sub)
	}
}

// logger builds the slog logger from the --log-* flags.
func (e *env) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(e.log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if e.log.Format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(e.stdout, "patchday", version.String())
			return err
		},
	}
}
