package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/tufrepo"
)

func keysCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, rotate and use the catalog's TUF signing keys",
		Long: `The update catalog is a TUF repository: four roles (root, targets,
snapshot, timestamp), each with its own ed25519 keys. 'keys init' makes them
and the first root; 'keys rotate' replaces a role's keys in a new root
version; 'keys sign' adds signatures to root or targets metadata on the
machine that holds the offline keys.

The server needs only the snapshot and timestamp keys (and the targets keys
if targets are signed online): give it a directory holding those key files
and every N.root.json with --tuf-keys. Keep the root keys offline.`,
	}
	cmd.AddCommand(keysInitCmd(e), keysRotateCmd(e), keysSignCmd(e))
	return cmd
}

func keysInitCmd(e *env) *cobra.Command {
	keys, thresholds := map[string]*int{}, map[string]*int{}
	var dir string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "init --dir DIR",
		Short: "Create the four roles' keys and the first root metadata",
		Example: `  patchday keys init --dir ./tuf-keys --root-keys 3 --root-threshold 2
  # then move root-*.key offline and start: patchday serve --tuf-keys ./tuf-keys`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("--dir is required")}
			}
			l := tufrepo.DefaultLayout()
			for _, r := range tufrepo.Roles {
				l.Keys[r], l.Threshold[r] = *keys[r], *thresholds[r]
			}
			until := time.Now().Add(expires)
			if err := tufrepo.Init(dir, l, until); err != nil {
				return usageError{err}
			}
			_, err := fmt.Fprintf(e.stdout, `created the catalog's keys and 1.root.json in %s
  root:      %d key(s), threshold %d: keep these offline
  targets:   %d key(s), threshold %d: offline too if you sign targets with 'patchday keys sign'
  snapshot:  %d key(s), threshold %d: the server needs these
  timestamp: %d key(s), threshold %d: the server needs these
the root expires %s; renew it before then with 'patchday keys rotate'
`, dir, l.Keys[tufrepo.Root], l.Threshold[tufrepo.Root], l.Keys[tufrepo.Targets], l.Threshold[tufrepo.Targets],
				l.Keys[tufrepo.Snapshot], l.Threshold[tufrepo.Snapshot], l.Keys[tufrepo.Timestamp], l.Threshold[tufrepo.Timestamp],
				until.UTC().Format(time.DateOnly))
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the key files and root metadata (created, 0700)")
	cmd.Flags().DurationVar(&expires, "root-expires", tufrepo.RootExpiry, "how long the root stays valid")
	for _, r := range tufrepo.Roles {
		keys[r] = cmd.Flags().Int(r+"-keys", 1, "number of "+r+" keys")
		thresholds[r] = cmd.Flags().Int(r+"-threshold", 1, "signatures "+r+" metadata needs")
	}
	return cmd
}

func keysRotateCmd(e *env) *cobra.Command {
	var dir, role string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "rotate --dir DIR [--role ROLE]",
		Short: "Write the next root version, with a role's keys replaced (or only a later expiry)",
		Long: `Rotate writes N+1.root.json in DIR, signed by the current root keys found
there (and by the new ones, when the root keys rotate). With --role, that
role's keys are replaced by new ones (<role>-<N+1>.<i>.key) and the old key
files renamed *.key.revoked; without, only the expiry moves.

Then copy the new N+1.root.json (and the new key files of online roles) into
the server's --tuf-keys directory and restart it: it checks the new root
against the old, stores it, and re-signs what the new keys must sign.
Clients follow the chain of roots on their next refresh.`,
		Example: `  patchday keys rotate --dir ./tuf-keys --role timestamp`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("--dir is required")}
			}
			path, err := tufrepo.Rotate(dir, role, time.Now().Add(expires))
			if err != nil {
				return err
			}
			what := "the same keys, a later expiry"
			if role != "" {
				what = "new " + role + " keys"
			}
			_, err = fmt.Fprintf(e.stdout, "wrote %s (%s); copy it to the server's --tuf-keys directory and restart the server\n", path, what)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory holding the root keys and root metadata")
	cmd.Flags().StringVar(&role, "role", "", "role whose keys to replace: root, targets, snapshot or timestamp")
	cmd.Flags().DurationVar(&expires, "root-expires", tufrepo.RootExpiry, "how long the new root stays valid")
	return cmd
}

func keysSignCmd(e *env) *cobra.Command {
	var keyFiles []string
	cmd := &cobra.Command{
		Use:   "sign FILE --key KEYFILE [--key KEYFILE…]",
		Short: "Add signatures to root or targets metadata (offline signing)",
		Long: `Sign adds the given keys' signatures to a root or targets metadata file,
in place. Use it on the machine that keeps the offline keys: fetch pending
targets with 'patchday catalog pending', sign, and hand the file back with
'patchday catalog submit'.`,
		Example: `  patchday keys sign targets.json --key /media/offline/targets-1.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(keyFiles) == 0 {
				return usageError{fmt.Errorf("--key is required")}
			}
			var keys []tufrepo.Key
			for _, f := range keyFiles {
				k, err := tufrepo.ReadKeyFile(f)
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
			n, err := tufrepo.SignFile(args[0], keys)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "added %d signature(s) to %s\n", n, filepath.Clean(args[0]))
			return err
		},
	}
	cmd.Flags().StringArrayVar(&keyFiles, "key", nil, "key file to sign with (repeatable)")
	return cmd
}
