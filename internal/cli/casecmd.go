package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/client"
)

// apiFlags are how the commands that work over the JSON API reach it.
type apiFlags struct {
	server, token string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", "http://127.0.0.1:8080", "URL of the patchday server")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "API token (pdt_…, from 'patchday token create'); prefer the environment variable")
}

func (f *apiFlags) client() (*client.Client, error) {
	if f.token == "" {
		return nil, usageError{fmt.Errorf("--token: an API token is needed (create one with 'patchday token create', then set PATCHDAY_TOKEN)")}
	}
	return client.New(f.server, f.token), nil
}

func caseCmd(e *env) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "case",
		Short: "Work with cases over the JSON API (list, show, move)",
		Long: `Work with cases on a running server, through its JSON API, as the
account the token belongs to. Moves follow the same rules as in the web
pages: a refused move says why and lists the moves allowed now.`,
	}
	api.register(cmd)

	list := &cobra.Command{
		Use: "list", Short: "List cases, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			cs, err := c.Cases(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tOPENED\tTITLE")
			for _, x := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.ID, x.State, x.CreatedAt.Format("2006-01-02"), x.Title)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show a case", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			x, err := c.Case(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s  %s\nstate:   %s\nopened:  %s\nreports: %d\n", x.ID, x.Title, x.State,
				x.CreatedAt.Format("2006-01-02 15:04 UTC"), len(x.Reports))
			return err
		},
	}
	var m client.Move
	move := &cobra.Command{
		Use:   "move ID --to STATE [--reason R] [--duplicate-of ID] [--comment C]",
		Short: "Move a case to another state",
		Example: `  patchday case move PD-2026-0001 --to triage
  patchday case move PD-2026-0001 --to invalid --reason not-reproducible
  patchday case move PD-2026-0002 --to duplicate --duplicate-of PD-2026-0001`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			out, err := c.MoveCase(cmd.Context(), args[0], m)
			if err != nil {
				return err
			}
			next := "none"
			if len(out.Allowed) > 0 {
				next = strings.Join(out.Allowed, ", ")
			}
			_, err = fmt.Fprintf(e.stdout, "%s is now %s (next: %s)\n", out.ID, out.State, next)
			return err
		},
	}
	move.Flags().StringVar(&m.To, "to", "", "the state to move to (required)")
	move.Flags().StringVar(&m.Reason, "reason", "", "why: invalid needs not-reproducible, not-a-vulnerability, out-of-scope or spam")
	move.Flags().StringVar(&m.DuplicateOf, "duplicate-of", "", "the original case, for --to duplicate")
	move.Flags().StringVar(&m.Comment, "comment", "", "the question (needs-info) or the failures (back to fixing)")
	_ = move.MarkFlagRequired("to")
	cmd.AddCommand(list, show, move)
	return cmd
}

func fixCmd(e *env) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Upload fixes and record their test runs over the JSON API",
	}
	api.register(cmd)
	var version int64
	var sourceRef, brings, notes string
	upload := &cobra.Command{
		Use:     "upload CASE FILE --version VERSION_ID --brings VERSION --source-ref REF [--notes N]",
		Short:   "Upload a build as a fix for one of a case's affected versions (developer)",
		Example: `  patchday fix upload PD-2026-0001 gateway-2.4.3.tar.zst --version 3 --brings 2.4.3 --source-ref git:4f2a9c1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[1])
			if err != nil {
				return fmt.Errorf("the build: %w", err)
			}
			defer f.Close()
			fix, err := c.UploadFix(cmd.Context(), args[0], client.FixUpload{VersionID: version, SourceRef: sourceRef, Brings: brings, Notes: notes},
				filepath.Base(args[1]), f)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "fix %d uploaded (brings %s, %d bytes, sha256 %s)\n", fix.ID, fix.Brings, fix.Size, fix.SHA256)
			return err
		},
	}
	upload.Flags().Int64Var(&version, "version", 0, "the product version id the fix is for (required)")
	upload.Flags().StringVar(&sourceRef, "source-ref", "", "commit, tag or change id of the fix (required)")
	upload.Flags().StringVar(&brings, "brings", "", "the version the build is, later than the one it fixes (required)")
	upload.Flags().StringVar(&notes, "notes", "", "release notes")
	_ = upload.MarkFlagRequired("version")
	_ = upload.MarkFlagRequired("source-ref")
	_ = upload.MarkFlagRequired("brings")

	var runNotes string
	test := &cobra.Command{
		Use:     "test-run FIX_ID JUNIT_XML",
		Short:   "Record a test run of a fix from a JUnit XML report (tester; never the fix's author)",
		Example: `  go test -v ./... 2>&1 | go-junit-report > report.xml && patchday fix test-run 12 report.xml`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("FIX_ID: %q is not a number", args[0])}
			}
			f, err := os.Open(args[1])
			if err != nil {
				return fmt.Errorf("the report: %w", err)
			}
			defer f.Close()
			run, err := c.PostJUnit(cmd.Context(), id, f, runNotes)
			if err != nil {
				return err
			}
			verdict := "FAILED"
			if run.Passed {
				verdict = "passed"
			}
			fmt.Fprintf(e.stdout, "run %d of fix %d: %s (%d tests, %d failed, %d skipped)\n", run.ID, run.FixID, verdict, run.Tests, run.Failed, run.Skipped)
			if len(run.Regressions) > 0 {
				fmt.Fprintf(e.stdout, "regressions: %s\n", strings.Join(run.Regressions, ", "))
			}
			return nil
		},
	}
	test.Flags().StringVar(&runNotes, "notes", "", "notes on the run")
	cmd.AddCommand(upload, test)
	return cmd
}
