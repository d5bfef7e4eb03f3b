package fleet

import (
	"cmp"
	"slices"
	"time"
)

// Target is a file a computer downloads to install an update.
type Target struct {
	Path, SHA256 string
	Size         int64
}

// Update is one version of a product that computers may install.
type Update struct {
	ID                       int64
	Product, Version         string
	AppliesTo                []string // versions it installs over; "" = installs where the product is absent
	Classification, Severity string
	Supersedes               []string // versions it replaces
	Restart                  string   // none | reboot | service:<name>
	Full                     Target
	Deltas                   map[string]Target // by the version they patch
	FirstSeen                time.Time
}

// Item is one product installed on a computer, as it reports it.
type Item struct {
	Product string `json:"product"`
	Version string `json:"version"`
}

// The states of one update on one computer, for compliance.
const (
	StateInstalled     = "installed"
	StateNeeded        = "needed"
	StateDownloaded    = "downloaded"
	StateFailed        = "failed"
	StateNotApplicable = "not_applicable"
)

// Applicable reports whether u installs over installed, the computer's
// version of u.Product ("" = not installed).
func Applicable(u Update, installed string) bool {
	return slices.Contains(u.AppliesTo, installed)
}

// State is u's compliance state on a computer with installed, its version
// of u.Product, and reported, the state its agent last reported for u.
// supersededBy reports whether a version was brought by an update that
// supersedes u: having it counts as having u.
func State(u Update, installed string, supersededBy func(version string) bool, reported string) string {
	switch {
	case installed != "" && installed == u.Version:
		return StateInstalled
	case installed != "" && supersededBy != nil && supersededBy(installed):
		return StateInstalled
	case Applicable(u, installed):
		if reported == StateDownloaded || reported == StateFailed {
			return reported
		}
		return StateNeeded
	}
	return StateNotApplicable
}

// Offer returns what a computer with inventory inv (version by product)
// should install: for each product, among the approved updates applicable
// to its installed version, the latest, sorted by product. An update is
// later than another if it supersedes it; otherwise the larger ID is
// later. A nil approved approves nothing. It runs on every check-in, so it
// allocates only its result.
func Offer(updates []Update, inv map[string]string, approved func(Update) bool) []Update {
	if approved == nil {
		return nil
	}
	var out []Update
	for i := range updates {
		u := &updates[i]
		if !Applicable(*u, inv[u.Product]) || !approved(*u) {
			continue
		}
		j := slices.IndexFunc(out, func(o Update) bool { return o.Product == u.Product })
		switch {
		case j < 0:
			out = append(out, *u)
		case later(*u, out[j]):
			out[j] = *u
		}
	}
	slices.SortFunc(out, func(a, b Update) int { return cmp.Compare(a.Product, b.Product) })
	return out
}

// later reports whether a comes after b: it supersedes b, or neither
// supersedes the other and a's ID is larger.
func later(a, b Update) bool {
	switch {
	case slices.Contains(a.Supersedes, b.Version):
		return true
	case slices.Contains(b.Supersedes, a.Version):
		return false
	}
	return a.ID > b.ID
}

// Route returns what a computer with installed downloads for u: the delta
// from that version if u has one, else the full package.
func (u Update) Route(installed string) (t Target, delta bool) {
	if t, ok := u.Deltas[installed]; ok && installed != "" {
		return t, true
	}
	return u.Full, false
}
