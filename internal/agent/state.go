package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/payload"
)

// Files in the state directory. Each is rewritten whole, atomically
// (temporary file, fsync, rename, fsync of the directory), so a crash
// leaves the old or the new version, never a mix.
const (
	identityFile  = "identity.json"  // the computer's credential
	installedFile = "installed.json" // what the agent installed, and every version it ever had
	outboxFile    = "outbox.json"    // reports not yet acknowledged by the server
	stagedFile    = "staged.json"    // verified payloads waiting for the window
	journalFile   = "journal.json"   // the batch in progress, if any
	trustDir      = "tuf"            // go-tuf's trusted metadata
	downloadDir   = "downloads"      // verified targets and partial downloads
	stageDir      = "staged"         // full payloads ready to install
)

// Identity is what enrollment gave the computer.
type Identity struct {
	Server     string    `json:"server"`
	Computer   int64     `json:"computer"`
	Credential string    `json:"credential"`
	Enrolled   time.Time `json:"enrolled"`
}

// Installed is what the agent knows is installed under the root.
type Installed struct {
	Products map[string]Product `json:"products"`
	// History lists, per product, every version the agent has installed,
	// oldest first. Installing one that was left behind is a rollback.
	History map[string][]string `json:"history"`
}

// Product is one product the agent installed.
type Product struct {
	Version  string            `json:"version"`
	Update   int64             `json:"update"`
	At       time.Time         `json:"at"`
	Manifest *payload.Manifest `json:"manifest"`
}

// Staged is a verified payload waiting to be installed.
type Staged struct {
	Update   int64  `json:"update"`
	Action   string `json:"action"` // install | remove
	Product  string `json:"product"`
	Version  string `json:"version"`
	From     string `json:"from,omitempty"`
	Restart  string `json:"restart"`
	Payload  string `json:"payload,omitempty"` // file in the staged dir
	Route    string `json:"route"`             // delta | full | none
	Fetched  int64  `json:"fetched"`           // bytes downloaded for it
	FullSize int64  `json:"full_size"`         // what the full payload would have cost
}

// state is the agent's state directory.
type state struct{ dir string }

func (s state) path(name ...string) string {
	return filepath.Join(append([]string{s.dir}, name...)...)
}

func (s state) init() error {
	for _, d := range []string{"", trustDir, downloadDir, stageDir} {
		if err := os.MkdirAll(s.path(d), 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	return nil
}

// read loads a state file into v; a missing file leaves v as it is.
func (s state) read(name string, v any) (bool, error) {
	b, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s is damaged (%v); move it aside to start over", s.path(name), err)
	}
	return true, nil
}

// write replaces a state file atomically and durably.
func (s state) write(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(name), append(b, '\n'), 0o600)
}

func (s state) remove(name string) error {
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(s.dir)
}

// writeFileAtomic writes b to path through a temporary file beside it.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes renames and removals in dir durable. Windows cannot open
// a directory for syncing; there, NTFS's own journal has to do.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s state) installed() (Installed, error) {
	in := Installed{Products: map[string]Product{}, History: map[string][]string{}}
	_, err := s.read(installedFile, &in)
	if in.Products == nil {
		in.Products = map[string]Product{}
	}
	if in.History == nil {
		in.History = map[string][]string{}
	}
	return in, err
}

// had reports whether version is one the agent installed for product and
// later replaced: installing it again would roll the product back.
func (in Installed) had(product, version string) bool {
	cur := in.Products[product].Version
	return version != cur && slices.Contains(in.History[product], version)
}

func (in *Installed) record(product string, p Product) {
	in.Products[product] = p
	h := slices.DeleteFunc(in.History[product], func(v string) bool { return v == p.Version })
	in.History[product] = append(h, p.Version)
}

func (s state) outbox() ([]agentapi.Report, error) {
	var rs []agentapi.Report
	_, err := s.read(outboxFile, &rs)
	return rs, err
}

// queue adds reports to the outbox, replacing an older report of the
// same update: the server keeps only the latest state of each.
func (s state) queue(rs ...agentapi.Report) error {
	out, err := s.outbox()
	if err != nil {
		return err
	}
	for _, r := range rs {
		out = slices.DeleteFunc(out, func(o agentapi.Report) bool { return o.Update == r.Update })
		out = append(out, r)
	}
	return s.write(outboxFile, out)
}

// sent removes the reports the server acknowledged, keeping any queued
// since they were sent.
func (s state) sent(rs []agentapi.Report) error {
	if len(rs) == 0 {
		return nil
	}
	out, err := s.outbox()
	if err != nil {
		return err
	}
	out = slices.DeleteFunc(out, func(o agentapi.Report) bool {
		return slices.ContainsFunc(rs, func(r agentapi.Report) bool { return r.Update == o.Update && r.State == o.State && r.At.Equal(o.At) })
	})
	return s.write(outboxFile, out)
}

func (s state) staged() (map[int64]Staged, error) {
	st := map[int64]Staged{}
	_, err := s.read(stagedFile, &st)
	return st, err
}
