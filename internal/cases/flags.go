package cases

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
)

// Flag is a dated fact about a case.
type Flag string

// The flags of DESIGN.md §2.
const (
	VendorAware     Flag = "vendor-aware"
	FixReady        Flag = "fix-ready"
	FixDeployed     Flag = "fix-deployed"
	PublicAware     Flag = "public-aware"
	ExploitPublic   Flag = "exploit-public"
	AttacksObserved Flag = "attacks-observed"
)

// Flags lists every flag.
var Flags = []Flag{VendorAware, FixReady, FixDeployed, PublicAware, ExploitPublic, AttacksObserved}

// FlagSet is one flag set on a case, with when it became true.
type FlagSet struct {
	Flag  Flag
	At    time.Time
	SetBy string
}

// ProposesOutOfBand reports whether a flag proposes an out-of-band
// release: the next train is too late once an exploit is public or
// attacks are seen.
func (f Flag) ProposesOutOfBand() bool { return f == ExploitPublic || f == AttacksObserved }

// FlagStore keeps case flags.
type FlagStore interface {
	// SetFlag records a flag; setting it again changes its date.
	SetFlag(ctx context.Context, caseID int64, f FlagSet, e audit.Entry) error
	CaseFlags(ctx context.Context, caseID int64) ([]FlagSet, error)
}

// SetFlag records that a fact about a case became true at a time (now if
// zero; not in the future). "exploit-public" and "attacks-observed" also
// record a proposal for an out-of-band release, in the audit log and on
// the case.
func (s *Service) SetFlag(ctx context.Context, a Actor, from, ref, flag string, at time.Time) (FlagSet, error) {
	if a.Reporter || a.System || !(a.Roles.Has(staff.RoleTriager) || a.Roles.Has(staff.RoleReleaseManager)) {
		return FlagSet{}, patchday.Errorf(patchday.ErrForbidden, "only a triager or a release manager may set case flags")
	}
	f := Flag(strings.TrimSpace(flag))
	if !slices.Contains(Flags, f) {
		names := make([]string, len(Flags))
		for i, x := range Flags {
			names[i] = string(x)
		}
		return FlagSet{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the flag was not set",
			Fields: map[string]string{"flag": fmt.Sprintf("%q is not a flag (flags: %s)", flag, strings.Join(names, ", "))}}
	}
	now := s.now().UTC()
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) {
		return FlagSet{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the flag was not set",
			Fields: map[string]string{"at": "a flag records something that has happened: the date cannot be in the future"}}
	}
	c, err := s.load(ctx, ref)
	if err != nil {
		return FlagSet{}, err
	}
	fs := FlagSet{Flag: f, At: at.UTC(), SetBy: a.Email}
	detail := fmt.Sprintf("%s since %s", f, fs.At.Format(time.RFC3339))
	if f.ProposesOutOfBand() {
		detail += "; an out-of-band release is proposed"
	}
	e := audit.New(audit.Actor{Who: a.Email, From: from}, now, "case.flag", "case:"+c.Ref, detail)
	if err := s.store.SetFlag(ctx, c.ID, fs, e); err != nil {
		return FlagSet{}, fmt.Errorf("flag %s on %s: %w", f, c.Ref, err)
	}
	return fs, nil
}

// FlagsOf returns a case's flags in the order of Flags.
func (s *Service) FlagsOf(ctx context.Context, caseID int64) ([]FlagSet, error) {
	fs, err := s.store.CaseFlags(ctx, caseID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(fs, func(a, b FlagSet) int { return slices.Index(Flags, a.Flag) - slices.Index(Flags, b.Flag) })
	return fs, nil
}

// OutOfBand returns the flag that proposes an out-of-band release for a
// case, if one is set.
func OutOfBand(fs []FlagSet) (FlagSet, bool) {
	for _, f := range fs {
		if f.Flag.ProposesOutOfBand() {
			return f, true
		}
	}
	return FlagSet{}, false
}
