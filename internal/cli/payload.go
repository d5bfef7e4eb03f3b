package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/payload"
	"github.com/patchday/patchday/internal/tufrepo"
)

func payloadCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "payload",
		Short: "Build and inspect update payloads (tar + zstd with a manifest)",
		Long: `A payload is what endpoints install: a manifest (product, version, files
with mode and sha256, pre/post actions, restart need) and the files, packed
as tar + zstd and named by the sha256 of the packed bytes. The format is
described in docs/payload.md. Upload a payload as a fix's build
('patchday fix upload'); when its release is published, the catalog signs
it and builds deltas from earlier versions.`,
	}
	cmd.AddCommand(payloadBuildCmd(e), payloadInspectCmd(e), payloadUnpackCmd(e))
	return cmd
}

func payloadBuildCmd(e *env) *cobra.Command {
	var meta payload.Meta
	var out, actions string
	cmd := &cobra.Command{
		Use:   "build DIR --product P --version V [--restart none|reboot|service:NAME] [--actions FILE] [--out FILE]",
		Short: "Pack a directory tree into a payload",
		Long: `Build packs DIR (symbolic links kept, file modes kept, the same tree always
giving the same bytes) with a manifest. --actions names a JSON file
{"pre": [...], "post": [...]} of actions {"name", "command": [argv],
"timeout_seconds"} the agent runs around the swap.`,
		Example: `  patchday payload build ./stage/usr --product nginx --version 1.22.1-9+deb12u11 --restart service:nginx`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if meta.Product == "" || meta.Version == "" {
				return usageError{errors.New("--product and --version are required")}
			}
			if actions != "" {
				b, err := os.ReadFile(actions)
				if err != nil {
					return usageError{fmt.Errorf("--actions: %w", err)}
				}
				var a struct {
					Pre  []payload.Action `json:"pre"`
					Post []payload.Action `json:"post"`
				}
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&a); err != nil {
					return usageError{fmt.Errorf("--actions %s: %w", actions, err)}
				}
				meta.Pre, meta.Post = a.Pre, a.Post
			}
			if out == "" {
				out = fmt.Sprintf("%s-%s.tar.zst", safeName(meta.Product), safeName(meta.Version))
			}
			f, err := os.CreateTemp(filepath.Dir(out), ".payload-*")
			if err != nil {
				return err
			}
			defer os.Remove(f.Name())
			built, err := payload.Build(cmd.Context(), args[0], meta, f)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(f.Name(), out); err != nil {
				return err
			}
			files := 0
			for _, en := range built.Manifest.Entries {
				if en.Type == "file" {
					files++
				}
			}
			_, err = fmt.Fprintf(e.stdout, "wrote %s: %s %s, %d entries (%d files), %d bytes\nsha256 %s\n",
				out, meta.Product, meta.Version, len(built.Manifest.Entries), files, built.Size, built.SHA256)
			return err
		},
	}
	cmd.Flags().StringVar(&meta.Product, "product", "", "the product's name, as the vendor's server knows it")
	cmd.Flags().StringVar(&meta.Version, "version", "", "the version the payload installs")
	cmd.Flags().StringVar(&meta.Restart, "restart", "none", "what installing it needs: none, reboot, or service:NAME")
	cmd.Flags().StringVar(&actions, "actions", "", "JSON file of pre and post actions")
	cmd.Flags().StringVar(&out, "out", "", "where to write the payload (default: PRODUCT-VERSION.tar.zst)")
	return cmd
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

func payloadInspectCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Print a payload's manifest (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			m, err := payload.ReadManifest(f, payload.Limits{})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
}

func payloadUnpackCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "unpack FILE DEST",
		Short: "Check every file of a payload and unpack it into a new directory",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			m, err := payload.Unpack(cmd.Context(), f, args[1], payload.Limits{})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(e.stdout, "unpacked %s %s (%d entries) into %s\n", m.Product, m.Version, len(m.Entries), args[1])
			return err
		},
	}
}

func catalogCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "See the signed update catalog; sign its targets offline",
		Long: `The catalog holds one entry per published update: its payload, restart
need and direct deltas from earlier versions, all named in TUF targets
metadata. When the server does not hold the targets keys, new targets wait:
'catalog pending' writes them out, 'patchday keys sign' signs them on the
offline machine, 'catalog submit' hands them back.`,
	}
	var c config.Store
	list := &cobra.Command{
		Use:   "list",
		Short: "List catalog entries, their deltas, or why an update is not distributed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer st.Close()
			entries, err := st.CatalogEntries(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "UPDATE\tPRODUCT\tVERSION\tSTATE\tRESTART\tBYTES\tDELTAS")
			for _, en := range entries {
				var ds []string
				for _, d := range en.Deltas {
					ds = append(ds, fmt.Sprintf("from %s: %d", d.From, d.Size))
				}
				detail := strings.Join(ds, ", ")
				if en.State == catalog.Refused {
					detail = en.Reason
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", en.Update.ID, en.Update.Product, en.Update.Brings, en.State, en.Restart, en.Full.Size, detail)
			}
			return tw.Flush()
		},
	}
	c.Flags(list.Flags())
	var pc config.Store
	var out string
	pending := &cobra.Command{
		Use:   "pending --out FILE",
		Short: "Write the targets metadata waiting for offline signatures",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out is required")}
			}
			st, err := openStore(cmd.Context(), pc)
			if err != nil {
				return err
			}
			defer st.Close()
			b, err := tufrepo.New(st, nil, tufrepo.DefaultExpiry, nil).PendingTargets(cmd.Context())
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "wrote %s; sign it with 'patchday keys sign %s --key targets-N.key', then 'patchday catalog submit %s'\n", out, out, out)
			return err
		},
	}
	pc.Flags(pending.Flags())
	pending.Flags().StringVar(&out, "out", "", "file to write")
	var sc config.Store
	submit := &cobra.Command{
		Use:   "submit FILE",
		Short: "Hand back targets metadata signed offline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), sc)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := tufrepo.New(st, nil, tufrepo.DefaultExpiry, nil).Submit(cmd.Context(), b); err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, "accepted; the server signs the snapshot and timestamp that publish it within --sweep-interval")
			return err
		},
	}
	sc.Flags(submit.Flags())
	cmd.AddCommand(list, pending, submit)
	return cmd
}
