package cli

import (
	"bufio"
	"context"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/staff"
)

// withStaff opens the store named by c and runs fn with a staff service,
// acting as the operator at the terminal.
func (e *env) withStaff(ctx context.Context, c config.Store, fn func(*staff.Service, audit.Actor) error) error {
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := staff.NewService(st, staff.NewHasher(staff.DefaultParams, 1), nil, 0, e.logger())
	return fn(svc, audit.Actor{Who: "cli:" + e.osUser(), From: "cli"})
}

func (e *env) osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := e.getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func userCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage staff accounts (add, list, disable)",
		Long: `Manage staff accounts directly in the database named by --data/--db.
Roles: ` + staff.Roles(staff.AllRoles).String() + `. An admin holds every role.`,
	}
	cmd.AddCommand(userAddCmd(e), userListCmd(e), userDisableCmd(e))
	return cmd
}

func userAddCmd(e *env) *cobra.Command {
	var c config.Store
	var email string
	var roles []string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "add --email E --role R [--password-stdin]",
		Short: "Add a staff account",
		Long: `Add a staff account. Without --password-stdin a one-time password is
printed, which must be changed at the first sign-in. With --password-stdin
the first line of standard input is the password (at least 12 characters).`,
		Example: `  patchday user add --email alice@example.com --role triager,tester
  printf '%s\n' "$PW" | patchday user add --email bob@example.com --role admin --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Refuse a bad e-mail or role before touching any data.
			if _, err := staff.NormalizeEmail(email); err != nil {
				return usageError{fmt.Errorf("--email: %w", err)}
			}
			if _, err := staff.ParseRoles(strings.Join(roles, ",")); err != nil {
				return usageError{fmt.Errorf("--role: %w", err)}
			}
			var pw string
			if pwStdin {
				line, err := bufio.NewReader(e.stdin).ReadString('\n')
				pw = strings.TrimRight(line, "\r\n")
				if pw == "" {
					return usageError{fmt.Errorf("--password-stdin: no password on standard input (%v)", err)}
				}
			}
			return e.withStaff(cmd.Context(), c, func(svc *staff.Service, by audit.Actor) error {
				u, oneTime, err := svc.AddUser(cmd.Context(), by, email, strings.Join(roles, ","), pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "added %s (%s)\n", u.Email, u.Roles)
				if oneTime != "" {
					fmt.Fprintf(e.stdout, "one-time password: %s\n(it must be changed at the first sign-in, and is not shown again)\n", oneTime)
				}
				return nil
			})
		},
	}
	c.Flags(cmd.Flags())
	cmd.Flags().StringVar(&email, "email", "", "the account's e-mail address (required)")
	cmd.Flags().StringSliceVar(&roles, "role", nil, "roles, comma-separated or repeated: "+staff.Roles(staff.AllRoles).String()+" (required)")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = cmd.MarkFlagRequired("email")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func userListCmd(e *env) *cobra.Command {
	var c config.Store
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List staff accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStaff(cmd.Context(), c, func(svc *staff.Service, _ audit.Actor) error {
				users, err := svc.ListUsers(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "EMAIL\tROLES\tSTATUS\tCREATED")
				for _, u := range users {
					status := "active"
					switch {
					case u.Disabled:
						status = "disabled"
					case u.MustChangePassword:
						status = "one-time password"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Roles, status, u.CreatedAt.Format("2006-01-02 15:04 UTC"))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags(cmd.Flags())
	return cmd
}

func userDisableCmd(e *env) *cobra.Command {
	var c config.Store
	var email string
	cmd := &cobra.Command{
		Use:   "disable --email E",
		Short: "Disable a staff account; its sessions and API tokens stop working at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStaff(cmd.Context(), c, func(svc *staff.Service, by audit.Actor) error {
				if err := svc.DisableUser(cmd.Context(), by, email); err != nil {
					return err
				}
				_, err := fmt.Fprintf(e.stdout, "disabled %s\n", strings.ToLower(email))
				return err
			})
		},
	}
	c.Flags(cmd.Flags())
	cmd.Flags().StringVar(&email, "email", "", "the account's e-mail address (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func tokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens",
	}
	var c config.Store
	var email, name string
	create := &cobra.Command{
		Use:   "create --email E --name N",
		Short: "Create an API token for a staff account and print it once",
		Long: `Create an API token for a staff account. The token is printed once on
standard output; only its hash is stored. Send it as
"Authorization: Bearer <token>" to /api/v1/…; it acts with the account's roles.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStaff(cmd.Context(), c, func(svc *staff.Service, by audit.Actor) error {
				secret, _, err := svc.CreateToken(cmd.Context(), by, email, name)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, secret)
				fmt.Fprintf(e.stderr, "token %q created for %s; it is not shown again\n", name, strings.ToLower(email))
				return nil
			})
		},
	}
	c.Flags(create.Flags())
	create.Flags().StringVar(&email, "email", "", "the account the token acts as (required)")
	create.Flags().StringVar(&name, "name", "", "a name for the token, e.g. the tool that uses it (required)")
	_ = create.MarkFlagRequired("email")
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(create)
	return cmd
}
