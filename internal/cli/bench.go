package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/loadgen"
)

func benchCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server: simulated agents checking in, or a bare handler to compare with",
	}
	var o loadgen.Options
	checkin := &cobra.Command{
		Use:   "checkin",
		Short: "Enroll simulated agents and check them in as fast as the server answers",
		Long: `Run this in its own process (on another machine for the truest figures):
it enrolls --agents computers with --token (an enrollment token with enough
uses, from 'patchday fleet token'), keeps their credentials in --credentials
for later runs, then checks them in with realistic inventories for
--duration and prints throughput, latency percentiles and errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Server == "" || o.Agents <= 0 || o.Duration <= 0 {
				return usageError{errors.New("give --server, --agents and --duration")}
			}
			o.Progress = e.stderr
			r, err := loadgen.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, r)
			return nil
		},
	}
	f := checkin.Flags()
	f.StringVar(&o.Server, "server", "", "the server's base URL, e.g. http://127.0.0.1:8080")
	f.IntVar(&o.Agents, "agents", 100_000, "distinct computers")
	f.StringVar(&o.Token, "token", "", "enrollment token for agents not enrolled yet")
	f.StringVar(&o.Credentials, "credentials", "", "file keeping the agents' credentials across runs")
	f.IntVar(&o.Concurrency, "concurrency", 64, "requests in flight")
	f.Float64Var(&o.Rate, "rate", 0, "check-ins per second in all (0: as fast as answered)")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "how long to measure")
	f.DurationVar(&o.Warmup, "warmup", 3*time.Second, "check-ins before measuring")
	f.IntVar(&o.Products, "products", 12, "products in each agent's inventory")
	f.BoolVar(&o.Bare, "bare", false, "the server is 'patchday bench bare': skip enrollment")

	var addr string
	bare := &cobra.Command{
		Use:   "bare",
		Short: "Serve a bare handler that answers every check-in with a fixed body",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "bare check-in handler on http://%s\n", ln.Addr())
			srv := &http.Server{Handler: loadgen.Bare(), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	bare.Flags().StringVar(&addr, "http", "127.0.0.1:8099", "address to listen on")
	cmd.AddCommand(checkin, bare)
	return cmd
}
