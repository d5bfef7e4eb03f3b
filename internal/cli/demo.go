package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/demo"
)

func demoCmd(e *env) *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole loop on this machine: report, triage, fix, test, verify, release, install",
		Long: `Start a server on a new data directory (the embedded SQLite, nothing else
needed) and run the whole loop against it through the same requests and
rules as production: staff accounts made with this CLI, a researcher's
report through the web form and another by SMTP, triage on the staff page,
a fix built from the corpus of real releases and uploaded, an independent
test run, the researcher's verification through their private link, an
out-of-band release published by the server's own job into the signed
catalog, and three agents installing the update with one restart each.

Each step is printed with its time. The server then keeps running, to look
at, until interrupted; --exit ends it after the summary.`,
		Example: `  patchday demo
  patchday demo --http 127.0.0.1:9090 --corpus /srv/shared/testdata/releases`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = e.stdout
			// The demo runs patchday commands — serve, user add, fix
			// upload — exactly as this program runs them, with the
			// flags it gives and no environment overrides.
			o.Run = func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
				return Run(ctx, args, func(string) string { return "" }, stdin, stdout, stderr)
			}
			_, err := demo.Run(cmd.Context(), o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Data, "data", "", "data directory for the demo's server, new or empty (default: a new temporary directory)")
	f.StringVar(&o.HTTP, "http", "127.0.0.1:8080", "address to serve on (a free port is used if it is taken)")
	f.StringVar(&o.Corpus, "corpus", "../shared/testdata/releases", "the corpus of real releases (testdata/releases in the shared checkout)")
	f.BoolVar(&o.Exit, "exit", false, "stop after the summary instead of serving until interrupted")
	return cmd
}
