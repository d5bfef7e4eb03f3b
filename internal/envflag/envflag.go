// Package envflag gives every command-line flag a PATCHDAY_* environment
// override. Both binaries use it: flags beat the environment, which beats
// the defaults.
package envflag

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Prefix starts every environment override.
const Prefix = "PATCHDAY_"

// Name is the environment variable that overrides a flag:
// --session-ttl is PATCHDAY_SESSION_TTL.
func Name(flag string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Describe appends each flag's environment variable to its help text.
func Describe(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, Prefix) {
			return
		}
		f.Usage += " (env " + Name(f.Name) + ")"
	})
}

// Bind sets every flag not given on the command line from its
// environment variable, if set. Flags beat the environment, which beats
// the defaults. A bad value names the variable.
func Bind(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v := getenv(Name(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", Name(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("bad environment override: %w", problems(errs))
	}
	return nil
}

// problems joins every problem found into one error, or returns nil.
func problems(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}
