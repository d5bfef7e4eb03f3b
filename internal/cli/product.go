package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/config"
	"github.com/patchday/patchday/internal/product"
)

// withProducts opens the store named by c and runs fn with a product
// service, acting as the operator at the terminal.
func (e *env) withProducts(ctx context.Context, c config.Store, fn func(*product.Service, audit.Actor) error) error {
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(product.NewService(st, nil), audit.Actor{Who: "cli:" + e.osUser(), From: "cli"})
}

func productCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "product",
		Short: "Manage the products the vendor ships and their versions",
		Long: `Manage products and their released versions directly in the database
named by --data/--db. The report form offers these products. Each product
orders its versions by a scheme: semver (1.4.2, the default), debian
(1:2.9.14+dfsg-1.3+deb12u4) or opaque (the order they were added).`,
	}
	cmd.AddCommand(productAddCmd(e), productListCmd(e), productVersionCmd(e), productSLACmd(e))
	return cmd
}

func productAddCmd(e *env) *cobra.Command {
	var c config.Store
	var vendor, scheme string
	cmd := &cobra.Command{
		Use:     "add NAME --vendor V [--scheme semver|debian|opaque]",
		Short:   "Add a product",
		Example: `  patchday product add Gateway --vendor "Example Corp" --scheme debian`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := product.ParseScheme(scheme); err != nil {
				return usageError{fmt.Errorf("--scheme: %w", err)}
			}
			return e.withProducts(cmd.Context(), c, func(svc *product.Service, by audit.Actor) error {
				p, err := svc.Add(cmd.Context(), by, args[0], vendor, scheme)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "added %s (%s, %s versions)\n", p.Name, p.Vendor, p.Scheme)
				return err
			})
		},
	}
	c.Flags(cmd.Flags())
	cmd.Flags().StringVar(&vendor, "vendor", "", "who ships the product (required)")
	cmd.Flags().StringVar(&scheme, "scheme", "semver", "how versions are written and ordered: semver, debian or opaque")
	_ = cmd.MarkFlagRequired("vendor")
	return cmd
}

func productListCmd(e *env) *cobra.Command {
	var c config.Store
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List products with their versions, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withProducts(cmd.Context(), c, func(svc *product.Service, _ audit.Actor) error {
				ps, err := svc.List(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PRODUCT\tVENDOR\tSCHEME\tVERSIONS")
				for _, p := range ps {
					vs := make([]string, len(p.Versions))
					for i, v := range p.Versions {
						vs[i] = v.Version
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Vendor, p.Scheme, strings.Join(vs, " "))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags(cmd.Flags())
	return cmd
}

func productVersionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Manage a product's versions",
	}
	var c config.Store
	add := &cobra.Command{
		Use:     "add NAME VERSION",
		Short:   "Record a released version of a product",
		Example: `  patchday product version add Gateway 7.88.1-10+deb12u5`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withProducts(cmd.Context(), c, func(svc *product.Service, by audit.Actor) error {
				v, err := svc.AddVersion(cmd.Context(), by, args[0], args[1])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "added %s %s\n", args[0], v.Version)
				return err
			})
		},
	}
	c.Flags(add.Flags())
	cmd.AddCommand(add)
	return cmd
}

func productSLACmd(e *env) *cobra.Command {
	var c config.Store
	var first, triage int
	var fix map[string]int
	var reset bool
	cmd := &cobra.Command{
		Use:   "sla NAME [--first-response DAYS] [--triage DAYS] [--fix RATING=DAYS,…] [--default]",
		Short: "Show or set a product's SLA policy (business days)",
		Long: `Show or set how many business days a product's cases have for the first
response, for triage, and for a fix that passed the test gate, by CVSS rating
(Critical, High, Medium, Low, None). What is not set comes from the default
policy: first response 2, triage 5, fix Critical 7, High 30, Medium 60, Low 90.`,
		Example: `  patchday product sla Gateway --first-response 1 --fix Critical=3,High=14
  patchday product sla Gateway --default`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withProducts(cmd.Context(), c, func(svc *product.Service, by audit.Actor) error {
				raw, err := svc.SLA(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				p, err := cases.ParsePolicy(raw)
				if err != nil {
					return err
				}
				changed := reset || cmd.Flags().Changed("first-response") || cmd.Flags().Changed("triage") || cmd.Flags().Changed("fix")
				if reset {
					p, _ = cases.ParsePolicy("")
				}
				if cmd.Flags().Changed("first-response") {
					p.FirstResponseDays = first
				}
				if cmd.Flags().Changed("triage") {
					p.TriageDays = triage
				}
				for k, v := range fix {
					p.FixDays[k] = v
				}
				if changed {
					if err := p.Check(); err != nil {
						return err
					}
					stored := p.JSON()
					if reset {
						stored = ""
					}
					if err := svc.SetSLA(cmd.Context(), by, args[0], stored); err != nil {
						return err
					}
				}
				fmt.Fprintf(e.stdout, "%s: first response %d, triage %d business days; fix", args[0], p.FirstResponseDays, p.TriageDays)
				for _, r := range cases.Ratings {
					fmt.Fprintf(e.stdout, " %s %d", r, p.FixDays[r])
				}
				_, err = fmt.Fprintln(e.stdout)
				return err
			})
		},
	}
	c.Flags(cmd.Flags())
	cmd.Flags().IntVar(&first, "first-response", 0, "business days to the first response")
	cmd.Flags().IntVar(&triage, "triage", 0, "business days to triage")
	cmd.Flags().StringToIntVar(&fix, "fix", nil, "business days to a tested fix, by rating, e.g. Critical=3,High=14")
	cmd.Flags().BoolVar(&reset, "default", false, "return the product to the default policy")
	return cmd
}
