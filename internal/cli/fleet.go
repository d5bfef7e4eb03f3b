package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/mirror"
	"github.com/patchday/patchday/internal/store"
)

// newMirror sets up syncing from the upstream server.
func newMirror(c config.Store, u config.Upstream, st store.Store, blobs *blob.Store, fl *fleet.Service, progress func(mirror.Progress), log *slog.Logger) (*mirror.Mirror, error) {
	root, err := os.ReadFile(u.UpstreamRoot)
	if err != nil {
		return nil, usageError{fmt.Errorf("--upstream-root: %w", err)}
	}
	o := mirror.Options{Upstream: strings.TrimRight(u.Upstream, "/"), Root: root, Store: st, Blobs: blobs,
		Partial: filepath.Join(c.Data, "partial"), Progress: progress, Log: log}
	if u.UpstreamContent == "approved" {
		o.Want = func(_ string, cu catalog.Custom) bool { return fl.Approved(cu.Update) }
	}
	m, err := mirror.New(o)
	if err != nil {
		return nil, usageError{err}
	}
	return m, nil
}

func syncCmd(e *env) *cobra.Command {
	var c config.Store
	var u config.Upstream
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync the signed catalog from the upstream server now",
		Long: `Fetch the upstream's TUF metadata, verify it against the root you trust
(--upstream-root, then every newer root the upstream signed), mirror it as
is, and fetch the payloads and deltas it names (all, or only approved
updates). An interrupted sync resumes where it stopped. 'patchday serve
--upstream' does the same every --sync-interval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if u.Upstream == "" {
				return usageError{errors.New("--upstream: give the URL of the server to sync from")}
			}
			if errs := u.Validate(); len(errs) > 0 {
				return usageError{errors.New(strings.Join(errs, "\n"))}
			}
			ctx := cmd.Context()
			st, err := openStore(ctx, c)
			if err != nil {
				return err
			}
			defer st.Close()
			blobs, err := blob.Open(filepath.Join(c.Data, "blobs"))
			if err != nil {
				return err
			}
			log := e.logger()
			var fl *fleet.Service
			if u.UpstreamContent == "approved" {
				fl = fleet.NewService(st, &fleet.TargetsCatalog{Metadata: st}, st, fleet.Config{}, log, nil)
			}
			m, err := newMirror(c, u, st, blobs, fl, progressPrinter(e.stderr), log)
			if err != nil {
				return err
			}
			if fl != nil {
				// The approvals decide what is fetched: the catalog must be
				// known first, so sync the metadata, then fetch.
				if err := fl.Reload(ctx); err != nil {
					return err
				}
			}
			r, err := m.Sync(ctx)
			if err != nil {
				return fmt.Errorf("%w\nrun 'patchday sync' again to resume", err)
			}
			fmt.Fprintf(e.stdout, "synced: root v%d, targets v%d, snapshot v%d, timestamp v%d; %d targets, %d fetched (%d bytes, %d resumed), %d not wanted\n",
				r.Root, r.Targets, r.Snapshot, r.Timestamp, r.Known, r.Fetched, r.Bytes, r.Resumed, r.Skipped)
			return nil
		},
	}
	c.Flags(cmd.Flags())
	u.Flags(cmd.Flags())
	return cmd
}

// progressPrinter shows a sync's progress: a line per file and every
// tenth of a large one.
func progressPrinter(w io.Writer) func(mirror.Progress) {
	last := ""
	lastTenth := -1
	return func(p mirror.Progress) {
		if p.File != last {
			last, lastTenth = p.File, -1
		}
		tenth := 10
		if p.FileSize > 0 {
			tenth = int(10 * p.FileDone / p.FileSize)
		}
		if tenth == lastTenth {
			return
		}
		lastTenth = tenth
		fmt.Fprintf(w, "file %d of %d %s: %d%% of %s; all: %s of %s\n", p.FilesDone+1, p.Files, p.File, tenth*10,
			intake.Size(p.FileSize), intake.Size(p.Done), intake.Size(p.Total))
	}
}

func fleetCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Administer the fleet: enrollment tokens (the rest is at /fleet/ and /api/v1/fleet/)",
	}
	var c config.Store
	var uses int
	var ttl time.Duration
	var labels, note string
	token := &cobra.Command{
		Use:   "token",
		Short: "Make an enrollment token for patchday-agent --enroll-token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer st.Close()
			fl := fleet.NewService(st, &fleet.TargetsCatalog{Metadata: st}, st, fleet.Config{}, e.logger(), nil)
			var ls []string
			for _, l := range strings.Split(labels, ",") {
				if l = strings.TrimSpace(l); l != "" {
					ls = append(ls, l)
				}
			}
			t, info, err := fl.CreateEnrollToken(cmd.Context(), audit.Actor{Who: "cli:" + e.osUser(), From: "cli"}, note, ls, uses, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, t)
			fmt.Fprintf(e.stderr, "enrolls up to %d computers until %s; shown only now\n", info.MaxUses, info.Expires.Format(time.RFC3339))
			return nil
		},
	}
	c.Flags(token.Flags())
	token.Flags().IntVar(&uses, "uses", 1, "how many computers may enroll with it")
	token.Flags().DurationVar(&ttl, "ttl", 72*time.Hour, "how long it stays valid")
	token.Flags().StringVar(&labels, "labels", "", "labels given to its computers, comma-separated, e.g. site=berlin,role=web")
	token.Flags().StringVar(&note, "note", "", "what it is for")
	cmd.AddCommand(token)
	return cmd
}
