package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/payload"
)

// batchDir holds a batch's staged trees and backups. It lives inside the
// install root, so every swap is a rename within one file system.
const batchDir = ".patchday-batch"

// Phases of a batch, as its journal records them. Recovery after a crash
// rolls back from any phase before the restart, resumes with the health
// check after it, and finishes a commit.
const (
	phasePrepared    = "prepared"   // payloads unpacked and checked beside the root; nothing installed changed
	phaseSwapping    = "swapping"   // services stopped, files being swapped
	phaseSwapped     = "swapped"    // every file swapped; post actions and service starts under way
	phaseRestarting  = "restarting" // the restart was asked for
	phaseCommitting  = "committing" // healthy: records being updated
	phaseRollingBack = "rolling-back"
)

// journal is the batch in progress, kept in the state dir. Every step is
// recorded before it is taken, and each step can be redone or undone from
// what is on disk, so recovery needs nothing but the journal.
type journal struct {
	ID        string                       `json:"id"`
	Phase     string                       `json:"phase"`
	Started   time.Time                    `json:"started"`
	Items     []Staged                     `json:"items"`
	Old       map[string]*payload.Manifest `json:"old"` // by product: the installed version's manifest (nil: not installed by the agent)
	New       map[string]*payload.Manifest `json:"new"` // by product: the manifest being installed
	Changes   []change                     `json:"changes"`
	MakeDirs  []dirEntry                   `json:"make_dirs"` // directories the batch creates, parents first
	DropDirs  []dirEntry                   `json:"drop_dirs"` // directories of old versions no new one has, children first
	Services  []string                     `json:"services"`  // stopped once, started once
	Reboot    bool                         `json:"reboot"`
	DownSince time.Time                    `json:"down_since,omitzero"`
	Restarted bool                         `json:"restarted"`
	Lease     bool                         `json:"lease"`
	Cause     string                       `json:"cause,omitempty"`
	Culprit   int64                        `json:"culprit,omitempty"` // the update that failed, if one did
}

// change swaps one path under the root: whatever is there moves to the
// backup, and Src (a staged file or link, relative to the root) moves in.
// An empty Src removes the path.
type change struct {
	Path string `json:"path"`
	Src  string `json:"src,omitempty"`
}

type dirEntry struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
}

func (j *journal) dir() string            { return batchDir + "/" + j.ID }
func (j *journal) backup(p string) string { return j.dir() + "/old/" + p }
func (j *journal) staged(i int) string    { return fmt.Sprintf("%s/new/%d", j.dir(), i) }

// needsLease reports whether the batch takes the computer (or one of its
// services) down, which only a restart lease allows.
func needsLease(items []Staged) bool {
	for _, it := range items {
		if it.Restart != payload.RestartNone && it.Restart != "" {
			return true
		}
	}
	return false
}

// batchError is a failed batch: the update that caused it (0 if none
// did) and why.
type batchError struct {
	update int64
	cause  string
}

func (e *batchError) Error() string { return e.cause }

func fail(update int64, format string, args ...any) error {
	return &batchError{update: update, cause: fmt.Sprintf(format, args...)}
}

// install runs one batch: every staged update at once, with services
// stopped once and at most one restart. It returns the reports to send.
func (a *Agent) install(ctx context.Context, items []Staged, lease bool) []agentapi.Report {
	start := a.now()
	j := &journal{ID: start.UTC().Format("20060102T150405.000000000Z"), Started: start, Items: items, Lease: lease,
		Old: map[string]*payload.Manifest{}, New: map[string]*payload.Manifest{}}
	a.log.Info("installing a batch", "updates", len(items), "batch", j.ID)
	if err := a.prepare(ctx, j); err != nil {
		a.discard(j)
		return a.failed(j, err)
	}
	return a.apply(ctx, j)
}

// prepare unpacks and checks every payload beside the root and plans
// every change. Nothing installed changes; on error the batch is dropped.
func (a *Agent) prepare(ctx context.Context, j *journal) error {
	in, err := a.st.installed()
	if err != nil {
		return err
	}
	if err := a.root.MkdirAll(j.dir()+"/old", 0o700); err != nil {
		return fmt.Errorf("prepare the batch under %s: %w", a.cfg.Root, err)
	}
	if err := a.root.MkdirAll(j.dir()+"/new", 0o700); err != nil {
		return err
	}
	owner := map[string]string{} // path → product bringing it
	for i, it := range j.Items {
		if old := in.Products[it.Product]; old.Version == it.From || it.Action == agentapi.ActionRemove {
			j.Old[it.Product] = old.Manifest
		}
		if it.Action == agentapi.ActionRemove {
			if j.Old[it.Product] == nil || in.Products[it.Product].Version != it.Version {
				return fail(it.Update, "%s %s cannot be removed: the agent did not install it, so it does not know its files", it.Product, it.Version)
			}
			continue
		}
		f, err := os.Open(a.st.path(it.Payload))
		if err != nil {
			return fail(it.Update, "the staged payload of %s %s is gone: %v", it.Product, it.Version, err)
		}
		m, err := payload.Unpack(ctx, f, filepath.Join(a.cfg.Root, filepath.FromSlash(j.staged(i))), payload.Limits{})
		f.Close()
		if err != nil {
			return fail(it.Update, "%s %s: %v", it.Product, it.Version, err)
		}
		if m.Product != it.Product || m.Version != it.Version {
			return fail(it.Update, "the payload staged for %s %s holds %s %s", it.Product, it.Version, m.Product, m.Version)
		}
		j.New[it.Product] = &m
		for _, e := range m.Entries {
			if e.Path == batchDir || strings.HasPrefix(e.Path, batchDir+"/") {
				return fail(it.Update, "%s %s would write into the agent's own %s", it.Product, it.Version, batchDir)
			}
			if e.Type == payload.TypeDir {
				continue
			}
			if o, ok := owner[e.Path]; ok {
				return fail(it.Update, "%s and %s both bring %s; they cannot be installed together", o, it.Product, e.Path)
			}
			owner[e.Path] = it.Product
		}
	}
	// What the new versions bring, then what the old ones leave behind.
	wanted := map[string]bool{}
	for i, it := range j.Items {
		m := j.New[it.Product]
		if m == nil {
			continue
		}
		for _, e := range m.Entries {
			wanted[e.Path] = true
			fi, err := a.root.Lstat(e.Path)
			switch {
			case e.Type == payload.TypeDir && err != nil:
				j.MakeDirs = append(j.MakeDirs, dirEntry{e.Path, e.Mode})
			case e.Type == payload.TypeDir && !fi.IsDir():
				return fail(it.Update, "%s: a directory is wanted where a file is", e.Path)
			case e.Type != payload.TypeDir && err == nil && fi.IsDir():
				return fail(it.Update, "%s: a file is wanted where a directory is", e.Path)
			case e.Type != payload.TypeDir:
				j.Changes = append(j.Changes, change{Path: e.Path, Src: j.staged(i) + "/" + e.Path})
			}
		}
	}
	for _, it := range j.Items {
		old := j.Old[it.Product]
		if old == nil {
			continue
		}
		for _, e := range old.Entries {
			switch {
			case wanted[e.Path]:
			case e.Type == payload.TypeDir:
				j.DropDirs = append(j.DropDirs, dirEntry{e.Path, e.Mode})
			default:
				j.Changes = append(j.Changes, change{Path: e.Path})
			}
		}
	}
	slices.SortFunc(j.MakeDirs, func(x, y dirEntry) int { return strings.Compare(x.Path, y.Path) })
	slices.SortFunc(j.DropDirs, func(x, y dirEntry) int { return strings.Compare(y.Path, x.Path) })
	for _, it := range j.Items {
		r, _ := payload.ParseRestart(it.Restart)
		switch r.Kind {
		case payload.RestartReboot:
			j.Reboot = true
		case payload.RestartService:
			if !slices.Contains(j.Services, r.Service) {
				j.Services = append(j.Services, r.Service)
			}
		}
	}
	j.Phase = phasePrepared
	return a.st.write(journalFile, j)
}

// at marks a step of the batch for tests that crash the agent there.
func (a *Agent) at(step string) {
	if a.step != nil {
		a.step(step)
	}
}

// apply takes a prepared batch through to its commit, or rolls it back.
func (a *Agent) apply(ctx context.Context, j *journal) []agentapi.Report {
	if len(j.Services) > 0 || j.Reboot {
		j.DownSince = a.now()
	}
	a.at("prepared")
	j.Phase = phaseSwapping
	if err := a.st.write(journalFile, j); err != nil {
		return a.rollback(ctx, j, err)
	}
	a.at("swapping")
	for _, svc := range j.Services {
		if err := a.cfg.Commands.run(ctx, "stop "+svc, a.cfg.Commands.StopService, svc, a.env(j)); err != nil {
			return a.rollback(ctx, j, fmt.Errorf("stop service %s: %w", svc, err))
		}
	}
	if err := a.actions(ctx, j, func(m *payload.Manifest) []payload.Action { return m.Pre }); err != nil {
		return a.rollback(ctx, j, err)
	}
	if err := a.swap(j); err != nil {
		return a.rollback(ctx, j, err)
	}
	j.Phase = phaseSwapped
	if err := a.st.write(journalFile, j); err != nil {
		return a.rollback(ctx, j, err)
	}
	a.at("swapped")
	if err := a.actions(ctx, j, func(m *payload.Manifest) []payload.Action { return m.Post }); err != nil {
		return a.rollback(ctx, j, err)
	}
	if err := a.startServices(ctx, j); err != nil {
		return a.rollback(ctx, j, err)
	}
	a.at("started")
	if j.Reboot {
		j.Phase, j.Restarted = phaseRestarting, true
		if err := a.st.write(journalFile, j); err != nil {
			return a.rollback(ctx, j, err)
		}
		a.log.Info("restarting the computer: the batch needs it", "batch", j.ID)
		if err := a.cfg.Commands.run(ctx, "restart", a.cfg.Commands.Reboot, "", a.env(j)); err != nil {
			return a.rollback(ctx, j, fmt.Errorf("the restart command failed: %w", err))
		}
		a.at("restarted")
		// A real restart ends this process here; recovery resumes after it.
		select {
		case <-time.After(a.cfg.Commands.RebootWait):
		case <-ctx.Done():
			return nil
		}
	}
	return a.finish(ctx, j)
}

// finish checks the computer's health after the swap (and the restart),
// then commits the batch, or rolls it back.
func (a *Agent) finish(ctx context.Context, j *journal) []agentapi.Report {
	if err := a.healthy(ctx, j); err != nil {
		return a.rollback(ctx, j, err)
	}
	a.at("healthy")
	return a.commit(j)
}

// swap moves every changed path's old file into the backup and the staged
// one into place, creates new directories and drops emptied ones. Each
// step can be undone from the disk alone (see undo).
func (a *Agent) swap(j *journal) error {
	for _, d := range j.MakeDirs {
		if err := a.root.Mkdir(d.Path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	for _, c := range j.Changes {
		if exists(a.root, c.Path) && !exists(a.root, j.backup(c.Path)) {
			if err := a.root.MkdirAll(path.Dir(j.backup(c.Path)), 0o700); err != nil {
				return err
			}
			if err := a.root.Rename(c.Path, j.backup(c.Path)); err != nil {
				return fmt.Errorf("move %s aside: %w", c.Path, err)
			}
			a.at("aside " + c.Path)
		}
		if c.Src != "" && exists(a.root, c.Src) {
			if err := a.root.Rename(c.Src, c.Path); err != nil {
				return fmt.Errorf("swap in %s: %w", c.Path, err)
			}
			a.at("in " + c.Path)
		}
	}
	for _, d := range j.DropDirs {
		a.root.Remove(d.Path) // only if empty: other software's files stay
	}
	// Directories get their modes last, so a read-only one could be filled.
	for i := len(j.MakeDirs) - 1; i >= 0; i-- {
		if err := a.root.Chmod(j.MakeDirs[i].Path, payload.FileMode(j.MakeDirs[i].Mode)); err != nil {
			return err
		}
	}
	return a.syncParents(j)
}

// syncParents makes the swap's renames durable before the journal says
// they happened.
func (a *Agent) syncParents(j *journal) error {
	dirs := map[string]bool{".": true}
	for _, c := range j.Changes {
		dirs[path.Dir(c.Path)] = true
	}
	for d := range dirs {
		if err := syncDir(filepath.Join(a.cfg.Root, filepath.FromSlash(d))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// undo puts back what the batch changed, from the disk alone: a staged
// file that is no longer staged was swapped in, and goes back to the
// stage; then a backup goes back in place. After each rename the disk
// says what is left to do, so undo can be run any number of times, and
// stopped anywhere.
func (a *Agent) undo(j *journal) error {
	var errs []error
	for i := len(j.DropDirs) - 1; i >= 0; i-- {
		d := j.DropDirs[i]
		if !exists(a.root, d.Path) {
			if err := a.root.Mkdir(d.Path, payload.FileMode(d.Mode)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := len(j.Changes) - 1; i >= 0; i-- {
		c := j.Changes[i]
		if c.Src != "" && !exists(a.root, c.Src) {
			if fi, err := a.root.Lstat(c.Path); err == nil && !fi.IsDir() {
				if err := a.root.Rename(c.Path, c.Src); err != nil {
					errs = append(errs, fmt.Errorf("take back %s: %w", c.Path, err))
					continue
				}
				a.at("took back " + c.Path)
			}
		}
		if exists(a.root, j.backup(c.Path)) {
			if fi, err := a.root.Lstat(c.Path); err == nil && fi.IsDir() {
				errs = append(errs, fmt.Errorf("%s is now a directory; it cannot be restored", c.Path))
				continue
			}
			if err := a.root.Rename(j.backup(c.Path), c.Path); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", c.Path, err))
			}
			a.at("restored " + c.Path)
		}
	}
	for i := len(j.MakeDirs) - 1; i >= 0; i-- {
		a.root.Remove(j.MakeDirs[i].Path) // only if empty
	}
	if err := a.syncParents(j); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// rollback undoes the batch, starts the stopped services again, and
// reports every update in it as failed. If the computer already restarted
// into the new versions, it restarts once more into the old ones.
func (a *Agent) rollback(ctx context.Context, j *journal, cause error) []agentapi.Report {
	var be *batchError
	if errors.As(cause, &be) {
		j.Culprit = be.update
	}
	if j.Cause == "" {
		j.Cause = cause.Error()
	}
	a.log.Error("the batch failed; rolling back every update in it", "batch", j.ID, "cause", j.Cause)
	j.Phase = phaseRollingBack
	if err := a.st.write(journalFile, j); err != nil {
		a.log.Error("record the rollback", "err", err)
	}
	// The rollback runs to the end even if the batch's context was cancelled.
	ctx = context.WithoutCancel(ctx)
	a.at("rolling back")
	if err := a.undo(j); err != nil {
		j.Cause += "; the rollback also failed: " + err.Error()
		a.log.Error("rollback", "batch", j.ID, "err", err)
	}
	if err := a.startServices(ctx, j); err != nil {
		j.Cause += "; " + err.Error()
	}
	if j.Restarted {
		if err := a.cfg.Commands.run(ctx, "restart", a.cfg.Commands.Reboot, "", a.env(j)); err != nil {
			j.Cause += "; the restart back into the old versions failed: " + err.Error()
		}
	}
	reports := a.failed(j, errors.New(j.Cause))
	a.discard(j)
	return reports
}

// failed reports every update of the batch as failed.
func (a *Agent) failed(j *journal, cause error) []agentapi.Report {
	var be *batchError
	culprit := j.Culprit
	if errors.As(cause, &be) && be.update != 0 {
		culprit = be.update
	}
	now := a.now()
	var rs []agentapi.Report
	for _, it := range j.Items {
		r := agentapi.Report{Update: it.Update, State: agentapi.Failed, At: now}
		if it.Update == culprit || culprit == 0 {
			r.Detail = "rolled back: " + cause.Error()
		} else {
			r.Detail = "rolled back with its batch: another update in it failed"
		}
		rs = append(rs, r)
	}
	a.attribute(j, rs)
	return rs
}

// attribute puts the batch's restart and downtime on one report, so the
// server's per-computer sums count them once.
func (a *Agent) attribute(j *journal, rs []agentapi.Report) {
	if len(rs) == 0 {
		return
	}
	i := slices.IndexFunc(j.Items, func(it Staged) bool { return it.Restart == payload.RestartReboot })
	if i < 0 {
		i = max(0, slices.IndexFunc(j.Items, func(it Staged) bool { return it.Restart != payload.RestartNone }))
	}
	if j.Restarted {
		rs[i].Restarts = 1
	}
	if !j.DownSince.IsZero() {
		rs[i].Downtime = int64(max(a.now().Sub(j.DownSince), time.Second) / time.Second)
	}
}

// commit records the new versions, then clears the batch away.
func (a *Agent) commit(j *journal) []agentapi.Report {
	j.Phase = phaseCommitting
	if err := a.st.write(journalFile, j); err != nil {
		a.log.Error("record the commit", "err", err)
	}
	a.at("committing")
	in, err := a.st.installed()
	if err != nil {
		a.log.Error("read the installed versions", "err", err)
	}
	now := a.now()
	var rs []agentapi.Report
	for _, it := range j.Items {
		r := agentapi.Report{Update: it.Update, State: agentapi.Installed, At: now}
		if it.Action == agentapi.ActionRemove {
			delete(in.Products, it.Product)
			r.State = agentapi.Removed
		} else {
			in.record(it.Product, Product{Version: it.Version, Update: it.Update, At: now, Manifest: j.New[it.Product]})
		}
		rs = append(rs, r)
	}
	if err := a.st.write(installedFile, in); err != nil {
		// The files are in place and healthy; the journal stays, and the
		// next start finishes the commit.
		a.log.Error("record the installed versions; the next start finishes the commit", "err", err)
		return nil
	}
	a.attribute(j, rs)
	a.log.Info("batch installed", "batch", j.ID, "updates", len(j.Items), "restarted", j.Restarted,
		"took", a.now().Sub(j.Started).Round(time.Millisecond))
	a.discard(j)
	return rs
}

// discard removes the batch's working tree, its staged payloads and its
// journal: what is left is either installed or rolled back.
func (a *Agent) discard(j *journal) {
	if err := a.root.RemoveAll(j.dir()); err != nil {
		a.log.Warn("remove the batch's working tree", "dir", j.dir(), "err", err)
	}
	a.root.Remove(batchDir) // if no other batch's tree is in it
	st, err := a.st.staged()
	if err == nil {
		for _, it := range j.Items {
			a.dropStaged(st, it.Update)
		}
		err = a.st.write(stagedFile, st)
	}
	if err != nil {
		a.log.Warn("clear the staged payloads", "err", err)
	}
	if err := a.st.remove(journalFile); err != nil {
		a.log.Error("remove the journal", "err", err)
	}
}

// startServices starts the batch's stopped services, each once.
func (a *Agent) startServices(ctx context.Context, j *journal) error {
	var errs []error
	for _, svc := range j.Services {
		if err := a.cfg.Commands.run(ctx, "start "+svc, a.cfg.Commands.StartService, svc, a.env(j)); err != nil {
			errs = append(errs, fmt.Errorf("start service %s: %w", svc, err))
		}
	}
	return errors.Join(errs...)
}

// actions runs the declared pre or post actions of every new version, in
// batch order.
func (a *Agent) actions(ctx context.Context, j *journal, list func(*payload.Manifest) []payload.Action) error {
	for _, it := range j.Items {
		m := j.New[it.Product]
		if m == nil {
			continue
		}
		for _, act := range list(m) {
			timeout := a.cfg.Commands.ActionTimeout
			if act.TimeoutSeconds > 0 {
				timeout = time.Duration(act.TimeoutSeconds) * time.Second
			}
			env := append(a.env(j), "PATCHDAY_PRODUCT="+it.Product, "PATCHDAY_VERSION="+it.Version, "PATCHDAY_FROM="+it.From)
			if err := runArgv(ctx, timeout, act.Command, a.cfg.Root, env); err != nil {
				return fail(it.Update, "%s %s: action %q: %v", it.Product, it.Version, act.Name, err)
			}
		}
	}
	return nil
}

func (a *Agent) env(j *journal) []string {
	return []string{"PATCHDAY_ROOT=" + a.cfg.Root, "PATCHDAY_BATCH=" + j.ID, "PATCHDAY_STATE=" + a.cfg.State}
}

// healthy checks that every file of every new version is in place with its
// signed content, then runs the configured health check.
func (a *Agent) healthy(ctx context.Context, j *journal) error {
	for _, it := range j.Items {
		m := j.New[it.Product]
		if m == nil {
			continue
		}
		for _, e := range m.Entries {
			if err := a.check(e); err != nil {
				return fail(it.Update, "health check: %s %s: %v", it.Product, it.Version, err)
			}
		}
	}
	if a.cfg.Commands.Health != "" {
		if err := a.cfg.Commands.run(ctx, "health check", a.cfg.Commands.Health, "", a.env(j)); err != nil {
			return fmt.Errorf("health check: %w", err)
		}
	}
	return nil
}

// check compares one installed entry with its manifest.
func (a *Agent) check(e payload.Entry) error {
	fi, err := a.root.Lstat(e.Path)
	if err != nil {
		return err
	}
	switch e.Type {
	case payload.TypeDir:
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", e.Path)
		}
	case payload.TypeSymlink:
		t, err := a.root.Readlink(e.Path)
		if err != nil || t != e.Target {
			return fmt.Errorf("%s does not link to %s", e.Path, e.Target)
		}
	default:
		if !fi.Mode().IsRegular() || fi.Size() != e.Size {
			return fmt.Errorf("%s is not the file installed", e.Path)
		}
		f, err := a.root.Open(e.Path)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		if hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
			return fmt.Errorf("%s changed after it was installed", e.Path)
		}
	}
	return nil
}

// recover finishes or rolls back a batch that a crash, a power loss or
// the batch's own restart interrupted. It returns the reports to send.
func (a *Agent) recover(ctx context.Context) ([]agentapi.Report, bool, error) {
	var j journal
	ok, err := a.st.read(journalFile, &j)
	if err != nil || !ok {
		return nil, false, err
	}
	a.log.Warn("found an unfinished batch", "batch", j.ID, "phase", j.Phase)
	switch j.Phase {
	case phaseRestarting:
		a.log.Info("the batch's restart happened; checking health", "batch", j.ID)
		return a.finish(ctx, &j), j.Lease, nil
	case phaseCommitting:
		return a.commit(&j), j.Lease, nil
	case phaseRollingBack:
		return a.rollback(ctx, &j, errors.New(j.Cause)), j.Lease, nil
	default:
		return a.rollback(ctx, &j, fmt.Errorf("the agent stopped (crash or power loss) while the batch was %s", j.Phase)), j.Lease, nil
	}
}
