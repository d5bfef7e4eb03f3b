// Package agentapi is the wire protocol between patchday-agent and the
// update server: enrollment, then one compact JSON round trip per
// check-in. Both sides import it, so it has no dependencies.
package agentapi

import "time"

// Paths of the agent endpoints.
const (
	EnrollPath  = "/api/v1/agent/enroll"
	CheckinPath = "/api/v1/agent/checkin"
)

// EnrollRequest exchanges an enrollment token for a credential.
type EnrollRequest struct {
	Token  string   `json:"token"`
	Name   string   `json:"name"` // the computer's host name
	OS     string   `json:"os"`   // GOOS
	Arch   string   `json:"arch"` // GOARCH
	Labels []string `json:"labels,omitempty"`
}

// EnrollResponse carries the computer's own credential. It is shown once:
// the server keeps only its hash.
type EnrollResponse struct {
	Computer   int64  `json:"computer"`
	Credential string `json:"credential"` // sent as "Authorization: Bearer <credential>"
}

// Item is one installed product.
type Item struct {
	Product string `json:"product"`
	Version string `json:"version"`
}

// Report states: what happened to one update on the computer.
const (
	Downloaded = "downloaded" // staged, verified, waiting for the window
	Installing = "installing" // the batch began; a report must follow
	Installed  = "installed"
	Failed     = "failed" // rolled back; Detail says why
	Removed    = "removed"
)

// Report is the outcome of one update on the computer. Reports are
// idempotent: an agent resends them until a check-in succeeds.
type Report struct {
	Update   int64     `json:"update"`
	State    string    `json:"state"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
	Restarts int       `json:"restarts,omitempty"`   // restarts the batch took (0 or 1)
	Downtime int64     `json:"downtime_s,omitempty"` // seconds the computer's service was down
}

// CheckinRequest is what an agent says at each check-in.
type CheckinRequest struct {
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	Inventory []Item   `json:"inventory"`
	Reports   []Report `json:"reports,omitempty"`
	// Lease asks for a restart lease: the batch is staged and needs a
	// restart, and the window is open (or a deadline passed).
	Lease bool `json:"lease,omitempty"`
	// Done returns the restart lease: the restart happened and the
	// computer is healthy again.
	Done bool `json:"done,omitempty"`
}

// Window is a maintenance window: the current one if open, else the next.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Open  bool      `json:"open"`
}

// Assignment actions.
const (
	ActionInstall = "install"
	ActionRemove  = "remove"
)

// Assignment is one thing the computer should do.
type Assignment struct {
	Update   int64      `json:"update"`
	Action   string     `json:"action"` // install | remove
	Product  string     `json:"product"`
	Version  string     `json:"version"`
	From     string     `json:"from,omitempty"` // the installed version it goes over
	Target   string     `json:"target"`         // TUF target to fetch: a delta from From where one exists
	Full     string     `json:"full"`           // the full payload's TUF target
	Restart  string     `json:"restart"`        // none | service:<name> | reboot
	Deadline *time.Time `json:"deadline,omitempty"`
}

// Lease is a restart lease: restart before Until, then check in with Done.
type Lease struct {
	Until time.Time `json:"until"`
}

// CheckinResponse is the server's answer: what to do and when to return.
type CheckinResponse struct {
	Computer int64        `json:"computer"`
	Group    string       `json:"group"`
	Next     int          `json:"next"` // seconds until the next check-in; the agent adds jitter
	Window   *Window      `json:"window,omitempty"`
	Install  bool         `json:"install"` // install the staged batch now: the window is open or a deadline passed
	Updates  []Assignment `json:"updates"`
	Lease    *Lease       `json:"lease,omitempty"`
	// Retired tells the agent its credential no longer counts: enroll again.
	Retired bool `json:"retired,omitempty"`
}

// TargetMeta is the custom metadata of a TUF target in the signed catalog:
// what the file is, stated by the vendor's signature rather than by the
// server that relays it. Agents trust these fields, not an Assignment's.
type TargetMeta struct {
	Product        string   `json:"product"`
	Version        string   `json:"version"`
	Kind           string   `json:"kind"` // payload | delta
	From           string   `json:"from,omitempty"`
	AppliesTo      []string `json:"applies_to"`
	Classification string   `json:"classification"`
	Severity       string   `json:"severity,omitempty"`
	Supersedes     []string `json:"supersedes"`
	Restart        string   `json:"restart"`
	Update         int64    `json:"update"`
	// Rollback is the vendor's signed rollback directive: this version may
	// be installed over the versions in AppliesTo even though an agent had
	// it before and moved past it. Agents refuse such a downgrade without it.
	Rollback bool `json:"rollback,omitempty"`
}
